/* ds_model_config: typed, enum-keyed setters that report out-of-range values. */
#include <math.h>
#include <stdlib.h>

#include "api/check.h"
#include "model/config.h"

ds_status ds_model_config_create(int32_t arch, ds_model_config **out) {
  DS_CHECK_NOT_NULL(NULL, out);
  if (arch != DS_ARCH_MADE && !ds__arch_is_image(arch))
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: arch = %d is not a ds_arch value",
                    __func__, (int)arch);
  ds_model_config *cfg = malloc(sizeof *cfg);
  if (!cfg) return ds__fail(NULL, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", __func__);
  ds__model_config_defaults(cfg, arch);
  *out = cfg;
  return DS_OK;
}

void ds_model_config_free(ds_model_config *cfg) { free(cfg); }

static ds_status out_of_range(const char *name, int64_t value, int64_t lo, int64_t hi) {
  return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                  "ds_model_config_set_int: %s = %lld is outside %lld..%lld", name,
                  (long long)value, (long long)lo, (long long)hi);
}

/* Vectors up to 65536 dimensions; images up to 3 x 4096 x 4096. */
static int64_t max_dim(const ds_model_config *cfg) {
  return ds__arch_is_image(cfg->arch) ? (int64_t)3 * 4096 * 4096 : 65536;
}

static ds_status set_image_option(ds_model_config *cfg, int32_t option, int64_t value) {
  static const char *names[] = {"DS_MODEL_CHANNELS", "DS_MODEL_HEIGHT", "DS_MODEL_WIDTH",
                                "DS_MODEL_FILTERS",  "DS_MODEL_RESNETS", "DS_MODEL_LAYERS",
                                "DS_MODEL_GATED"};
  const char *name = names[option - DS_MODEL_CHANNELS];
  if (option == DS_MODEL_RESNETS && cfg->arch != DS_ARCH_PIXELCNNPP)
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_config_set_int: DS_MODEL_RESNETS applies to DS_ARCH_PIXELCNNPP "
                    "only%s", cfg->arch == DS_ARCH_PIXELCNN
                                  ? " (DS_ARCH_PIXELCNN counts its blocks with DS_MODEL_LAYERS)"
                                  : "");
  if ((option == DS_MODEL_LAYERS || option == DS_MODEL_GATED) && cfg->arch != DS_ARCH_PIXELCNN)
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_config_set_int: %s applies to DS_ARCH_PIXELCNN only", name);
  if (!ds__arch_is_image(cfg->arch))
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_config_set_int: %s applies to the image architectures "
                    "(DS_ARCH_PIXELCNNPP, DS_ARCH_PIXELCNN) only", name);
  switch (option) {
    case DS_MODEL_CHANNELS:
      if (value != 1 && value != 3)
        return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                        "ds_model_config_set_int: DS_MODEL_CHANNELS = %lld must be 1 or 3",
                        (long long)value);
      cfg->channels = (int32_t)value;
      return DS_OK;
    case DS_MODEL_HEIGHT:
      if (value < 4 || value > 4096) return out_of_range(name, value, 4, 4096);
      cfg->height = value;
      return DS_OK;
    case DS_MODEL_WIDTH:
      if (value < 4 || value > 4096) return out_of_range(name, value, 4, 4096);
      cfg->width = value;
      return DS_OK;
    case DS_MODEL_FILTERS:
      if (value < 1 || value > 1024) return out_of_range(name, value, 1, 1024);
      cfg->filters = (int32_t)value;
      return DS_OK;
    case DS_MODEL_RESNETS:
      if (value < 1 || value > 64) return out_of_range(name, value, 1, 64);
      cfg->resnets = (int32_t)value;
      return DS_OK;
    case DS_MODEL_LAYERS:
      if (value < 1 || value > 64) return out_of_range(name, value, 1, 64);
      cfg->layers = (int32_t)value;
      return DS_OK;
    default:
      if (value != 0 && value != 1) return out_of_range(name, value, 0, 1);
      cfg->gated = (int32_t)value;
      return DS_OK;
  }
}

/* How x~ enters a conditional PixelCNN++ (cross-option checks at model creation). */
static ds_status set_cond_option(ds_model_config *cfg, int32_t option, int64_t value) {
  const char *name =
      option == DS_MODEL_COND_LAYOUT ? "DS_MODEL_COND_LAYOUT" : "DS_MODEL_COND_CONVS";
  if (cfg->arch != DS_ARCH_PIXELCNNPP)
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_config_set_int: %s applies to DS_ARCH_PIXELCNNPP only", name);
  if (option == DS_MODEL_COND_LAYOUT) {
    if (value != DS_COND_CHANNELS && value != DS_COND_STACKED)
      return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                      "ds_model_config_set_int: DS_MODEL_COND_LAYOUT = %lld is not a "
                      "ds_cond_layout (DS_COND_CHANNELS = 0, DS_COND_STACKED = 1)",
                      (long long)value);
    cfg->cond_layout = (int32_t)value;
    return DS_OK;
  }
  if (value < 0 || value > DS__MAX_COND_CONVS)
    return out_of_range(name, value, 0, DS__MAX_COND_CONVS);
  cfg->cond_convs = (int32_t)value;
  return DS_OK;
}

ds_status ds_model_config_set_int(ds_model_config *cfg, int32_t option, int64_t value) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  switch (option) {
    case DS_MODEL_DIM:
      if (value < 1 || value > max_dim(cfg)) return out_of_range("DS_MODEL_DIM", value, 1, max_dim(cfg));
      cfg->dim = value;
      return DS_OK;
    case DS_MODEL_COND_DIM:
      if (value < 0 || value > max_dim(cfg))
        return out_of_range("DS_MODEL_COND_DIM", value, 0, max_dim(cfg));
      cfg->cond_dim = value;
      return DS_OK;
    case DS_MODEL_COMPONENTS:
      if (value < 1 || value > 256) return out_of_range("DS_MODEL_COMPONENTS", value, 1, 256);
      cfg->components = (int32_t)value;
      return DS_OK;
    case DS_MODEL_HEAD:
      if (value != DS_HEAD_CONTINUOUS && value != DS_HEAD_DISCRETIZED)
        return out_of_range("DS_MODEL_HEAD", value, 0, 1);
      cfg->head = (int32_t)value;
      return DS_OK;
    case DS_MODEL_BINS:
      if (value < 2 || value > 65536) return out_of_range("DS_MODEL_BINS", value, 2, 65536);
      cfg->bins = (int32_t)value;
      return DS_OK;
    case DS_MODEL_ACTIVATION:
      if (value < DS_ACTIVATION_RELU || value > DS_ACTIVATION_ELU)
        return out_of_range("DS_MODEL_ACTIVATION", value, 0, 2);
      if (cfg->arch == DS_ARCH_PIXELCNN && value == DS_ACTIVATION_TANH)
        return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                        "ds_model_config_set_int: DS_ARCH_PIXELCNN takes DS_MODEL_ACTIVATION "
                        "RELU or ELU, not TANH");
      cfg->activation = (int32_t)value;
      return DS_OK;
    case DS_MODEL_RESIDUAL:
      if (value != 0 && value != 1) return out_of_range("DS_MODEL_RESIDUAL", value, 0, 1);
      cfg->residual = (int32_t)value;
      return DS_OK;
    case DS_MODEL_CHANNELS:
    case DS_MODEL_HEIGHT:
    case DS_MODEL_WIDTH:
    case DS_MODEL_FILTERS:
    case DS_MODEL_RESNETS:
    case DS_MODEL_LAYERS:
    case DS_MODEL_GATED:
      return set_image_option(cfg, option, value);
    case DS_MODEL_COND_LAYOUT:
    case DS_MODEL_COND_CONVS:
      return set_cond_option(cfg, option, value);
    case DS_MODEL_SEED: /* every value: its 64 bits are the seed */
      cfg->seed = (uint64_t)value;
      cfg->seed_set = 1;
      return DS_OK;
    default:
      return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                      "ds_model_config_set_int: option %d is not a ds_model_option", (int)option);
  }
}

ds_status ds_model_config_set_float(ds_model_config *cfg, int32_t option, double value) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  if (!isfinite(value) || fabs(value) > 1e30)
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_config_set_float: value %g must be finite", value);
  switch (option) {
    case DS_MODEL_BIN_LO: cfg->bin_lo = (float)value; return DS_OK;
    case DS_MODEL_BIN_HI: cfg->bin_hi = (float)value; return DS_OK;
    case DS_MODEL_DROPOUT:
      if (cfg->arch != DS_ARCH_PIXELCNNPP)
        return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                        "ds_model_config_set_float: DS_MODEL_DROPOUT applies to "
                        "DS_ARCH_PIXELCNNPP only");
      if (!(value >= 0.0 && value < 1.0))
        return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                        "ds_model_config_set_float: DS_MODEL_DROPOUT = %g is outside [0, 1)", value);
      cfg->dropout = (float)value;
      return DS_OK;
    case DS_MODEL_COND_SHARE:
      if (cfg->arch != DS_ARCH_MADE)
        return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                        "ds_model_config_set_float: DS_MODEL_COND_SHARE applies to DS_ARCH_MADE "
                        "only");
      if (!(value >= 0.0 && value < 1.0))
        return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                        "ds_model_config_set_float: DS_MODEL_COND_SHARE = %g is outside [0, 1) "
                        "(0 = the default degree cycle)", value);
      cfg->cond_share = (float)value;
      return DS_OK;
    default:
      return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                      "ds_model_config_set_float: option %d is not a ds_model_float_option",
                      (int)option);
  }
}

ds_status ds_model_config_set_hidden(ds_model_config *cfg, const int64_t *widths,
                                     int32_t count) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  DS_CHECK_NOT_NULL(NULL, widths);
  if (count < 1 || count > DS__MAX_HIDDEN_LAYERS)
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: count = %d is outside 1..%d", __func__,
                    (int)count, DS__MAX_HIDDEN_LAYERS);
  for (int32_t l = 0; l < count; l++)
    if (widths[l] < 1 || widths[l] > 65536)
      return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: widths[%d] = %lld is outside 1..65536",
                      __func__, (int)l, (long long)widths[l]);
  cfg->hidden_count = count;
  for (int32_t l = 0; l < DS__MAX_HIDDEN_LAYERS; l++) cfg->hidden[l] = l < count ? widths[l] : 0;
  return DS_OK;
}
