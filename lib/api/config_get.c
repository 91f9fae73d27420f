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

/* The getters accept exactly the options the setters accept for the architecture: both
 * come from the option table (model/model_options.c, model/trainer_options.c). */
ds_status ds_model_config_get_int(const ds_model_config *cfg, int32_t option, int64_t *value) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  DS_CHECK_NOT_NULL(NULL, value);
  return ds__model_config_get_int(cfg, option, value); /* DS_MODEL_SEED: 0 unless set */
}

ds_status ds_model_config_get_float(const ds_model_config *cfg, int32_t option, double *value) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  DS_CHECK_NOT_NULL(NULL, value);
  return ds__model_config_get_float(cfg, option, value);
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
  return ds__trainer_config_get_int(cfg, option, value); /* DS_TRAIN_SEED: 0 unless set */
}

ds_status ds_trainer_config_get_float(const ds_trainer_config *cfg, int32_t option,
                                      double *value) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  DS_CHECK_NOT_NULL(NULL, value);
  return ds__trainer_config_get_float(cfg, option, value);
}
