/* Model configuration: the public ds_model_config handle, its setters, getters, defaults
 * and equality (all from the option table, model/model_options.c) and the cross-option
 * validation done at model creation. */
#ifndef DS_MODEL_CONFIG_H
#define DS_MODEL_CONFIG_H

#include <stdint.h>

#include "dsmooth.h"
#include "model/limits.h"

struct ds_model_config {
  int32_t arch;        /* ds_arch */
  int64_t dim;         /* D (0 = unset) */
  int64_t cond_dim;    /* C */
  int32_t components;  /* K */
  int32_t head;        /* ds_head */
  int32_t bins;        /* B, discretized head */
  float bin_lo, bin_hi;
  int32_t activation;  /* ds_activation */
  int32_t residual;    /* 0/1 */
  int32_t hidden_count;
  int64_t hidden[DS__MAX_HIDDEN_LAYERS];
  /* image architectures (dim = channels * height * width, derived) */
  int32_t channels;    /* 1 or 3 */
  int64_t height, width; /* 0 = unset */
  int32_t filters;
  int32_t resnets;     /* DS_ARCH_PIXELCNNPP: gated resnets per level */
  float dropout;       /* DS_ARCH_PIXELCNNPP: in [0, 1) */
  int32_t cond_layout; /* DS_ARCH_PIXELCNNPP: ds_cond_layout */
  int32_t cond_convs;  /* DS_ARCH_PIXELCNNPP: unmasked 3x3 convs over x~ (DS_COND_CHANNELS) */
  int32_t layers;      /* DS_ARCH_PIXELCNN: masked 3x3 blocks */
  int32_t gated;       /* DS_ARCH_PIXELCNN: 1 gated blocks, 0 residual act blocks */
  /* since 0.3 */
  float cond_share;    /* MADE with C > 0: share of hidden units that see only c (0 = the
                          degree cycle of 0.2, i.e. 1/D of them) */
  int32_t seed_set;    /* 1: `seed` was set (DS_MODEL_SEED); else derived per model */
  uint64_t seed;       /* not part of the model's shape: not compared, not saved */
};

/* PixelCNN++ or the masked PixelCNN: the options of images apply. */
static inline int ds__arch_is_image(int32_t arch) {
  return arch == DS_ARCH_PIXELCNNPP || arch == DS_ARCH_PIXELCNN;
}

/* Every option's default (the table's), two hidden layers of 64. */
void ds__model_config_defaults(ds_model_config *cfg, int32_t arch);
/* The setters and getters behind ds_model_config_set_int and friends (the checks of the
 * option table; failures on the NULL context, cfg unchanged). */
ds_status ds__model_config_set_int(ds_model_config *cfg, int32_t option, int64_t value);
ds_status ds__model_config_set_float(ds_model_config *cfg, int32_t option, double value);
ds_status ds__model_config_set_hidden(ds_model_config *cfg, const int64_t *widths,
                                      int32_t count);
ds_status ds__model_config_get_int(const ds_model_config *cfg, int32_t option, int64_t *value);
ds_status ds__model_config_get_float(const ds_model_config *cfg, int32_t option,
                                     double *value);
/* Fill the derived fields (images: dim = channels * height * width when unset). */
void ds__model_config_derive(ds_model_config *cfg);
/* Same model shape and behaviour: every field that matters (not padding, not widths past
 * hidden_count). */
int ds__model_config_equal(const ds_model_config *a, const ds_model_config *b);
/* Cross-option checks done at model creation (after derive); returns DS_OK or fails on ctx. */
ds_status ds__model_config_validate(struct ds_context *ctx, const ds_model_config *cfg);

#endif
