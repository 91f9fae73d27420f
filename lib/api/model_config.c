/* ds_model_config: typed, enum-keyed setters that report out-of-range values. */
#include <stdlib.h>

#include "api/check.h"
#include "model/arch.h"
#include "model/config.h"

/* Same shape as the trainer configuration's entry points (api/trainer.c), on purpose: one
 * public function each, its NULL check naming it, then the option table. */
ds_status ds_model_config_create(int32_t arch, ds_model_config **out) {
  DS_CHECK_NOT_NULL(NULL, out);
  if (!ds__arch_for(arch)) /* the registry, model/arch.c */
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: arch = %d is not a ds_arch value",
                    __func__, (int)arch);
  ds_model_config *cfg = malloc(sizeof *cfg);
  if (!cfg) return ds__fail(NULL, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", __func__);
  ds__model_config_defaults(cfg, arch);
  *out = cfg;
  return DS_OK;
}

void ds_model_config_free(ds_model_config *cfg) { free(cfg); }

/* The checks and messages come from the option table (model/model_options.c). */
ds_status ds_model_config_set_int(ds_model_config *cfg, int32_t option, int64_t value) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  return ds__model_config_set_int(cfg, option, value);
}

ds_status ds_model_config_set_float(ds_model_config *cfg, int32_t option, double value) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  return ds__model_config_set_float(cfg, option, value);
}

ds_status ds_model_config_set_hidden(ds_model_config *cfg, const int64_t *widths,
                                     int32_t count) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  DS_CHECK_NOT_NULL(NULL, widths);
  return ds__model_config_set_hidden(cfg, widths, count);
}
