#include "model/config.h"

#include <stdlib.h>
#include <string.h>

#include "core/context.h"
#include "model/options.h"

void ds__model_config_defaults(ds_model_config *cfg, int32_t arch) {
  memset(cfg, 0, sizeof *cfg);
  cfg->arch = arch;
  ds__options_defaults(&ds__model_options, cfg);
  cfg->hidden_count = 2;
  cfg->hidden[0] = cfg->hidden[1] = 64;
}

ds_status ds__model_config_set_int(ds_model_config *cfg, int32_t option, int64_t value) {
  return ds__option_set_int(&ds__model_options, cfg, cfg->arch, option, value,
                            "ds_model_config_set_int");
}

ds_status ds__model_config_set_float(ds_model_config *cfg, int32_t option, double value) {
  return ds__option_set_float(&ds__model_options, cfg, cfg->arch, option, value,
                              "ds_model_config_set_float");
}

ds_status ds__model_config_get_int(const ds_model_config *cfg, int32_t option, int64_t *value) {
  return ds__option_get_int(&ds__model_options, cfg, cfg->arch, option, value,
                            "ds_model_config_get_int");
}

ds_status ds__model_config_get_float(const ds_model_config *cfg, int32_t option,
                                     double *value) {
  return ds__option_get_float(&ds__model_options, cfg, cfg->arch, option, value,
                              "ds_model_config_get_float");
}

ds_status ds__model_config_set_hidden(ds_model_config *cfg, const int64_t *widths,
                                      int32_t count) {
  const char *fn = "ds_model_config_set_hidden";
  if (count < 1 || count > DS__MAX_HIDDEN_LAYERS)
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: count = %d is outside 1..%d", fn,
                    (int)count, DS__MAX_HIDDEN_LAYERS);
  for (int32_t l = 0; l < count; l++)
    if (widths[l] < 1 || widths[l] > DS__MAX_HIDDEN_WIDTH)
      return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: widths[%d] = %lld is outside 1..%d",
                      fn, (int)l, (long long)widths[l], DS__MAX_HIDDEN_WIDTH);
  cfg->hidden_count = count;
  for (int32_t l = 0; l < DS__MAX_HIDDEN_LAYERS; l++) cfg->hidden[l] = l < count ? widths[l] : 0;
  return DS_OK;
}

void ds__model_config_derive(ds_model_config *cfg) {
  if (ds__arch_is_image(cfg->arch) && cfg->dim == 0 && cfg->height > 0 && cfg->width > 0)
    cfg->dim = cfg->channels * cfg->height * cfg->width;
}

static const char *arch_name(int32_t arch) {
  return arch == DS_ARCH_PIXELCNN ? "PixelCNN" : "PixelCNN++";
}

static ds_status validate_pixelcnn(ds_context *ctx, const ds_model_config *cfg) {
  int64_t d = cfg->channels * cfg->height * cfg->width;
  if (cfg->dim != d)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_create: DS_MODEL_DIM = %lld but channels * height * width = %lld",
                    (long long)cfg->dim, (long long)d);
  if (cfg->cond_dim != 0 && cfg->cond_dim != d)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_create: a conditional %s needs DS_MODEL_COND_DIM = D = %lld "
                    "(got %lld)", arch_name(cfg->arch), (long long)d, (long long)cfg->cond_dim);
  if (cfg->cond_dim == 0 && cfg->cond_layout != DS_COND_CHANNELS)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_create: DS_MODEL_COND_LAYOUT = DS_COND_STACKED needs a conditional "
                    "model (DS_MODEL_COND_DIM = D = %lld)", (long long)d);
  if (cfg->cond_dim == 0 && cfg->cond_convs > 0)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_create: DS_MODEL_COND_CONVS = %d needs a conditional model "
                    "(DS_MODEL_COND_DIM = D = %lld)", (int)cfg->cond_convs, (long long)d);
  if (cfg->cond_layout == DS_COND_STACKED && cfg->cond_convs > 0)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_create: DS_MODEL_COND_CONVS = %d applies to DS_COND_CHANNELS; the "
                    "stacked layout has no conditioning path (set it to 0)", (int)cfg->cond_convs);
  return DS_OK;
}

ds_status ds__model_config_validate(ds_context *ctx, const ds_model_config *cfg) {
  if (ds__arch_is_image(cfg->arch) &&
      (cfg->height < DS__MIN_IMAGE_SIDE || cfg->width < DS__MIN_IMAGE_SIDE))
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_create: %s needs DS_MODEL_HEIGHT and DS_MODEL_WIDTH >= %d",
                    arch_name(cfg->arch), DS__MIN_IMAGE_SIDE);
  if (cfg->dim < 1)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_create: DS_MODEL_DIM is not set (the data dimension D >= 1)");
  if (!(cfg->bin_lo < cfg->bin_hi))
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_create: DS_MODEL_BIN_LO = %g must be below DS_MODEL_BIN_HI = %g",
                    (double)cfg->bin_lo, (double)cfg->bin_hi);
  if (ds__arch_is_image(cfg->arch)) return validate_pixelcnn(ctx, cfg);
  if (cfg->cond_share > 0.0f && (cfg->cond_dim == 0 || cfg->dim < 2))
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_create: DS_MODEL_COND_SHARE = %g needs a conditional MADE "
                    "(DS_MODEL_COND_DIM >= 1) with DS_MODEL_DIM >= 2 (got C = %lld, D = %lld)",
                    (double)cfg->cond_share, (long long)cfg->cond_dim, (long long)cfg->dim);
  int64_t out = cfg->dim * 3 * cfg->components;
  int64_t in = cfg->dim + cfg->cond_dim, params = 0;
  for (int32_t l = 0; l <= cfg->hidden_count; l++) {
    int64_t width = l < cfg->hidden_count ? cfg->hidden[l] : out;
    params += width * (in + 1);
    in = width;
    if (params > DS__MAX_PARAMS)
      return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                      "ds_model_create: more than 2^31 parameters; reduce the widths");
  }
  return DS_OK;
}

int ds__model_config_equal(const ds_model_config *a, const ds_model_config *b) {
  if (a->arch != b->arch || a->hidden_count != b->hidden_count ||
      !ds__options_equal(&ds__model_options, a, b))
    return 0;
  for (int32_t l = 0; l < a->hidden_count; l++)
    if (a->hidden[l] != b->hidden[l]) return 0;
  return 1;
}
