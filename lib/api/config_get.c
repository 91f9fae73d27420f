/* Reading configurations: the configuration of a model (fresh or loaded) or trainer as a
 * new handle, and typed, enum-keyed getters that mirror the setters of model_config.c and
 * api/trainer.c. tests/test_config_getters.c checks that getters and setters agree on
 * which options exist for which architecture. */
#include <stdlib.h>

#include "api/check.h"
#include "model/config.h"
#include "model/model.h"
#include "model/trainer.h"

ds_status ds_model_get_config(const ds_model *model, ds_model_config **out) {
  DS_CHECK_NOT_NULL(NULL, model);
  DS_CHECK_NOT_NULL(model->ctx, out);
  ds_model_config *cfg = malloc(sizeof *cfg);
  if (!cfg) return ds__fail(model->ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", __func__);
  *cfg = model->cfg;
  *out = cfg;
  return DS_OK;
}

ds_status ds_model_config_get_arch(const ds_model_config *cfg, int32_t *arch) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  DS_CHECK_NOT_NULL(NULL, arch);
  *arch = cfg->arch;
  return DS_OK;
}

#define ARCH_BIT(a) (1u << (a))
#define ALL_ARCHS (ARCH_BIT(DS_ARCH_MADE) | ARCH_BIT(DS_ARCH_PIXELCNNPP) | ARCH_BIT(DS_ARCH_PIXELCNN))
#define IMAGE_ARCHS (ARCH_BIT(DS_ARCH_PIXELCNNPP) | ARCH_BIT(DS_ARCH_PIXELCNN))

/* Name of every option and the architectures that have it (the setters refuse the others). */
typedef struct option_info {
  const char *name;
  uint32_t archs; /* ARCH_BIT set */
} option_info;

static const option_info int_options[] = {
    [DS_MODEL_DIM] = {"DS_MODEL_DIM", ALL_ARCHS},
    [DS_MODEL_COND_DIM] = {"DS_MODEL_COND_DIM", ALL_ARCHS},
    [DS_MODEL_COMPONENTS] = {"DS_MODEL_COMPONENTS", ALL_ARCHS},
    [DS_MODEL_HEAD] = {"DS_MODEL_HEAD", ALL_ARCHS},
    [DS_MODEL_BINS] = {"DS_MODEL_BINS", ALL_ARCHS},
    [DS_MODEL_ACTIVATION] = {"DS_MODEL_ACTIVATION", ALL_ARCHS},
    [DS_MODEL_RESIDUAL] = {"DS_MODEL_RESIDUAL", ALL_ARCHS},
    [DS_MODEL_CHANNELS] = {"DS_MODEL_CHANNELS", IMAGE_ARCHS},
    [DS_MODEL_HEIGHT] = {"DS_MODEL_HEIGHT", IMAGE_ARCHS},
    [DS_MODEL_WIDTH] = {"DS_MODEL_WIDTH", IMAGE_ARCHS},
    [DS_MODEL_FILTERS] = {"DS_MODEL_FILTERS", IMAGE_ARCHS},
    [DS_MODEL_RESNETS] = {"DS_MODEL_RESNETS", ARCH_BIT(DS_ARCH_PIXELCNNPP)},
    [DS_MODEL_LAYERS] = {"DS_MODEL_LAYERS", ARCH_BIT(DS_ARCH_PIXELCNN)},
    [DS_MODEL_GATED] = {"DS_MODEL_GATED", ARCH_BIT(DS_ARCH_PIXELCNN)},
    [DS_MODEL_COND_LAYOUT] = {"DS_MODEL_COND_LAYOUT", ARCH_BIT(DS_ARCH_PIXELCNNPP)},
    [DS_MODEL_COND_CONVS] = {"DS_MODEL_COND_CONVS", ARCH_BIT(DS_ARCH_PIXELCNNPP)},
    [DS_MODEL_SEED] = {"DS_MODEL_SEED", ALL_ARCHS},
};

static const option_info float_options[] = {
    [DS_MODEL_BIN_LO] = {"DS_MODEL_BIN_LO", ALL_ARCHS},
    [DS_MODEL_BIN_HI] = {"DS_MODEL_BIN_HI", ALL_ARCHS},
    [DS_MODEL_DROPOUT] = {"DS_MODEL_DROPOUT", ARCH_BIT(DS_ARCH_PIXELCNNPP)},
    [DS_MODEL_COND_SHARE] = {"DS_MODEL_COND_SHARE", ARCH_BIT(DS_ARCH_MADE)},
};

static const char *arch_name(int32_t arch) {
  return arch == DS_ARCH_MADE ? "DS_ARCH_MADE"
         : arch == DS_ARCH_PIXELCNNPP ? "DS_ARCH_PIXELCNNPP"
                                      : "DS_ARCH_PIXELCNN";
}

/* DS_OK if `option` names an entry of `table` that cfg's architecture has. */
static ds_status check_option(const ds_model_config *cfg, const option_info *table,
                              int32_t count, int32_t option, const char *fn,
                              const char *enum_name) {
  if (option < 0 || option >= count || !table[option].name)
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: option %d is not a %s", fn,
                    (int)option, enum_name);
  if (!(table[option].archs & ARCH_BIT(cfg->arch)))
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: %s does not apply to %s", fn,
                    table[option].name, arch_name(cfg->arch));
  return DS_OK;
}

/* An option in the table without a case below: a bug in this file, not the caller's. */
static ds_status unreadable(const char *fn, int32_t option) {
  return ds__fail(NULL, DS_ERR_UNSUPPORTED, "%s: option %d has no getter in this build", fn,
                  (int)option);
}

ds_status ds_model_config_get_int(const ds_model_config *cfg, int32_t option, int64_t *value) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  DS_CHECK_NOT_NULL(NULL, value);
  ds_status st = check_option(cfg, int_options, (int32_t)(sizeof int_options / sizeof *int_options),
                              option, __func__, "ds_model_option");
  if (st != DS_OK) return st;
  switch (option) {
    case DS_MODEL_DIM: *value = cfg->dim; break;
    case DS_MODEL_COND_DIM: *value = cfg->cond_dim; break;
    case DS_MODEL_COMPONENTS: *value = cfg->components; break;
    case DS_MODEL_HEAD: *value = cfg->head; break;
    case DS_MODEL_BINS: *value = cfg->bins; break;
    case DS_MODEL_ACTIVATION: *value = cfg->activation; break;
    case DS_MODEL_RESIDUAL: *value = cfg->residual; break;
    case DS_MODEL_CHANNELS: *value = cfg->channels; break;
    case DS_MODEL_HEIGHT: *value = cfg->height; break;
    case DS_MODEL_WIDTH: *value = cfg->width; break;
    case DS_MODEL_FILTERS: *value = cfg->filters; break;
    case DS_MODEL_RESNETS: *value = cfg->resnets; break;
    case DS_MODEL_LAYERS: *value = cfg->layers; break;
    case DS_MODEL_GATED: *value = cfg->gated; break;
    case DS_MODEL_COND_LAYOUT: *value = cfg->cond_layout; break;
    case DS_MODEL_COND_CONVS: *value = cfg->cond_convs; break;
    case DS_MODEL_SEED: *value = (int64_t)cfg->seed; break; /* 0 unless set: derived per model */
    default: return unreadable(__func__, option);
  }
  return DS_OK;
}

ds_status ds_model_config_get_float(const ds_model_config *cfg, int32_t option, double *value) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  DS_CHECK_NOT_NULL(NULL, value);
  ds_status st = check_option(cfg, float_options,
                              (int32_t)(sizeof float_options / sizeof *float_options), option,
                              __func__, "ds_model_float_option");
  if (st != DS_OK) return st;
  switch (option) {
    case DS_MODEL_BIN_LO: *value = cfg->bin_lo; break;
    case DS_MODEL_BIN_HI: *value = cfg->bin_hi; break;
    case DS_MODEL_DROPOUT: *value = cfg->dropout; break;
    case DS_MODEL_COND_SHARE: *value = cfg->cond_share; break;
    default: return unreadable(__func__, option);
  }
  return DS_OK;
}

ds_status ds_model_config_get_hidden(const ds_model_config *cfg, int64_t *widths,
                                     int32_t capacity, int32_t *count) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  DS_CHECK_NOT_NULL(NULL, count);
  if (widths && capacity < cfg->hidden_count)
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                    "%s: capacity = %d is below the %d hidden layers", __func__, (int)capacity,
                    (int)cfg->hidden_count);
  if (widths)
    for (int32_t l = 0; l < cfg->hidden_count; l++) widths[l] = cfg->hidden[l];
  *count = cfg->hidden_count;
  return DS_OK;
}

/* ---- trainer ---- */

ds_status ds_trainer_get_config(const ds_trainer *trainer, ds_trainer_config **out) {
  DS_CHECK_NOT_NULL(NULL, trainer);
  DS_CHECK_NOT_NULL(trainer->model->ctx, out);
  ds_trainer_config *cfg = malloc(sizeof *cfg);
  if (!cfg)
    return ds__fail(trainer->model->ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", __func__);
  *cfg = trainer->cfg;
  *out = cfg;
  return DS_OK;
}

ds_status ds_trainer_config_get_int(const ds_trainer_config *cfg, int32_t option,
                                    int64_t *value) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  DS_CHECK_NOT_NULL(NULL, value);
  switch (option) {
    case DS_TRAIN_BATCH: *value = cfg->batch; return DS_OK;
    case DS_TRAIN_TOTAL_STEPS: *value = cfg->total_steps; return DS_OK;
    case DS_TRAIN_SCHEDULE: *value = cfg->schedule; return DS_OK;
    case DS_TRAIN_SEED: *value = (int64_t)cfg->seed; return DS_OK; /* 0 unless set */
    case DS_TRAIN_DATA_INIT: *value = cfg->data_init; return DS_OK;
    default:
      return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: option %d is not a ds_trainer_option",
                      __func__, (int)option);
  }
}

ds_status ds_trainer_config_get_float(const ds_trainer_config *cfg, int32_t option,
                                      double *value) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  DS_CHECK_NOT_NULL(NULL, value);
  switch (option) {
    case DS_TRAIN_LR: *value = cfg->lr; return DS_OK;
    case DS_TRAIN_BETA1: *value = cfg->beta1; return DS_OK;
    case DS_TRAIN_BETA2: *value = cfg->beta2; return DS_OK;
    case DS_TRAIN_EPSILON: *value = cfg->epsilon; return DS_OK;
    case DS_TRAIN_WEIGHT_DECAY: *value = cfg->weight_decay; return DS_OK;
    case DS_TRAIN_LR_DECAY: *value = cfg->lr_decay; return DS_OK;
    case DS_TRAIN_LR_MIN: *value = cfg->lr_min; return DS_OK;
    case DS_TRAIN_CLIP_NORM: *value = cfg->clip_norm; return DS_OK;
    case DS_TRAIN_EMA_DECAY: *value = cfg->ema_decay; return DS_OK;
    default:
      return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                      "%s: option %d is not a ds_trainer_float_option", __func__, (int)option);
  }
}
