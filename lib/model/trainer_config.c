/* ds_trainer_config from its option table (model/trainer_options.c): defaults, setters,
 * getters and the configuration record of a trainer checkpoint. */
#include <string.h>

#include "model/options.h"
#include "model/trainer.h"

void ds__trainer_config_defaults(ds_trainer_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  ds__options_defaults(&ds__trainer_options, cfg);
}

ds_status ds__trainer_config_set_int(ds_trainer_config *cfg, int32_t option, int64_t value) {
  return ds__option_set_int(&ds__trainer_options, cfg, 0, option, value,
                            "ds_trainer_config_set_int");
}

ds_status ds__trainer_config_set_float(ds_trainer_config *cfg, int32_t option, double value) {
  return ds__option_set_float(&ds__trainer_options, cfg, 0, option, value,
                              "ds_trainer_config_set_float");
}

ds_status ds__trainer_config_get_int(const ds_trainer_config *cfg, int32_t option,
                                     int64_t *value) {
  return ds__option_get_int(&ds__trainer_options, cfg, 0, option, value,
                            "ds_trainer_config_get_int");
}

ds_status ds__trainer_config_get_float(const ds_trainer_config *cfg, int32_t option,
                                       double *value) {
  return ds__option_get_float(&ds__trainer_options, cfg, 0, option, value,
                              "ds_trainer_config_get_float");
}

/* The stored rows in table order (ds_trainer_resume compares these bytes with its own). */
void ds__trainer_config_write(ds__writer *w, const ds_trainer_config *cfg) {
  const ds__option_table *t = &ds__trainer_options;
  for (int32_t i = 0; i < t->count; i++)
    if (t->rows[i].since > 0) ds__option_write(&t->rows[i], cfg, w);
}
