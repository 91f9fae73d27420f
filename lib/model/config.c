#include "model/config.h"

#include <stdlib.h>
#include <string.h>

#include "core/context.h"

void ds__model_config_defaults(ds_model_config *cfg, int32_t arch) {
  memset(cfg, 0, sizeof *cfg);
  cfg->arch = arch;
  cfg->components = 5;
  cfg->head = DS_HEAD_CONTINUOUS;
  cfg->bins = 256;
  cfg->bin_lo = -1.0f;
  cfg->bin_hi = 1.0f;
  cfg->activation = DS_ACTIVATION_RELU;
  cfg->hidden_count = 2;
  cfg->hidden[0] = cfg->hidden[1] = 64;
  cfg->channels = 1;
  cfg->filters = 32;
  cfg->resnets = 2;
  cfg->dropout = 0.0f;
  cfg->cond_layout = DS_COND_CHANNELS;
  cfg->cond_convs = 0;
  cfg->layers = 5;
  cfg->gated = 1;
}

void ds__model_config_derive(ds_model_config *cfg) {
  if (ds__arch_is_image(cfg->arch) && cfg->dim == 0 && cfg->height > 0 && cfg->width > 0)
    cfg->dim = cfg->channels * cfg->height * cfg->width;
}

static const char *arch_name(int32_t arch) {
  return arch == DS_ARCH_PIXELCNN ? "PixelCNN" : "PixelCNN++";
}

static ds_status validate_pixelcnn(ds_context *ctx, const ds_model_config *cfg) {
  if (cfg->height < 4 || cfg->width < 4)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_create: %s needs DS_MODEL_HEIGHT and DS_MODEL_WIDTH >= 4",
                    arch_name(cfg->arch));
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
  if (ds__arch_is_image(cfg->arch) && (cfg->height < 4 || cfg->width < 4))
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_create: %s needs DS_MODEL_HEIGHT and DS_MODEL_WIDTH >= 4",
                    arch_name(cfg->arch));
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
    if (params > ((int64_t)1 << 31))
      return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                      "ds_model_create: more than 2^31 parameters; reduce the widths");
  }
  return DS_OK;
}

int ds__model_config_equal(const ds_model_config *a, const ds_model_config *b) {
  if (a->arch != b->arch || a->dim != b->dim || a->cond_dim != b->cond_dim ||
      a->components != b->components || a->head != b->head || a->bins != b->bins ||
      a->bin_lo != b->bin_lo || a->bin_hi != b->bin_hi || a->activation != b->activation ||
      a->residual != b->residual || a->hidden_count != b->hidden_count ||
      a->channels != b->channels || a->height != b->height || a->width != b->width ||
      a->filters != b->filters || a->resnets != b->resnets || a->dropout != b->dropout ||
      a->cond_layout != b->cond_layout || a->cond_convs != b->cond_convs ||
      a->layers != b->layers || a->gated != b->gated || a->cond_share != b->cond_share)
    return 0;
  for (int32_t l = 0; l < a->hidden_count; l++)
    if (a->hidden[l] != b->hidden[l]) return 0;
  return 1;
}
