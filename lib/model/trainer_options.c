/* The trainer option table: every ds_trainer_option and ds_trainer_float_option, in the
 * order of a trainer checkpoint's configuration record (model/options.h says what follows
 * from a row; ds_trainer_resume compares that record byte for byte). To add an option:
 * one row here (stored options at the end of the stored ones, since = the new checkpoint
 * format version), its field in ds_trainer_config (model/trainer.h), its enumerator in
 * include/dsmooth.h and the bindings (tests/ffi/check_enum_values.py compares them). */
#include <math.h>
#include <stddef.h>

#include "model/limits.h"
#include "model/options.h"
#include "model/trainer.h"

#define FIELD(f) .offset = offsetof(ds_trainer_config, f), .size = sizeof(((ds_trainer_config *)0)->f)
#define FLAG(f) .has_flag = 1, .flag_offset = offsetof(ds_trainer_config, f)
/* INT(option, field, min, max, default, since, ...more fields) */
#define INT(ID, F, MIN, MAX, DEF, SINCE, ...)                                                  \
  {.kind = DS__OPT_INT, .id = ID, .name = #ID, FIELD(F), .imin = MIN, .imax = MAX,             \
   .idefault = DEF, .archs = DS__ARCHS_ALL, .since = SINCE, __VA_ARGS__}
/* FLOAT(option, field, min, max, bounds, default, since): the update runs in float, so the
 * ranges are those that stay meaningful after rounding */
#define FLOAT(ID, F, MIN, MAX, BOUNDS, DEF, SINCE)                                             \
  {.kind = DS__OPT_FLOAT, .id = ID, .name = #ID, FIELD(F), .fmin = MIN, .fmax = MAX,           \
   .bounds = BOUNDS, .fdefault = DEF, .archs = DS__ARCHS_ALL, .since = SINCE}

#define UNIT_FLOAT (DS__HI_OPEN | DS__HI_AS_FLOAT) /* [0, 1) once rounded to float */

static const ds__option rows[] = {
    INT(DS_TRAIN_BATCH, batch, 1, DS__MAX_BATCH, 128, 1),
    INT(DS_TRAIN_TOTAL_STEPS, total_steps, 1, DS__MAX_TOTAL_STEPS, 1000, 1, FLAG(total_steps_set)),
    INT(DS_TRAIN_SCHEDULE, schedule, DS_LR_CONSTANT, DS_LR_COSINE, DS_LR_CONSTANT, 1,
        .enum_type = "ds_lr_schedule"),
    FLOAT(DS_TRAIN_LR, lr, 0.0, DS__MAX_RATE, DS__LO_OPEN, 1e-3, 1),
    FLOAT(DS_TRAIN_BETA1, beta1, 0.0, 1.0, UNIT_FLOAT, 0.9, 1),
    FLOAT(DS_TRAIN_BETA2, beta2, 0.0, 1.0, UNIT_FLOAT, 0.999, 1),
    FLOAT(DS_TRAIN_EPSILON, epsilon, DS__MIN_EPSILON, 1.0, 0, 1e-8, 1),
    FLOAT(DS_TRAIN_WEIGHT_DECAY, weight_decay, 0.0, DS__MAX_RATE, 0, 0.0, 1),
    FLOAT(DS_TRAIN_LR_DECAY, lr_decay, 0.0, 1.0, DS__LO_OPEN, 0.9995, 1),
    FLOAT(DS_TRAIN_LR_MIN, lr_min, 0.0, INFINITY, 0, 0.0, 1),
    FLOAT(DS_TRAIN_CLIP_NORM, clip_norm, 0.0, INFINITY, 0, 0.0, 1),
    /* not stored (since 0.3, after the record was fixed): a resumed trainer takes them
       from its own configuration */
    INT(DS_TRAIN_SEED, seed, INT64_MIN, INT64_MAX, 0, 0, FLAG(seed_set)),
    INT(DS_TRAIN_DATA_INIT, data_init, 0, 1, 1, 0),
    FLOAT(DS_TRAIN_EMA_DECAY, ema_decay, 0.0, 1.0, UNIT_FLOAT, 0.0, 0),
};

const ds__option_table ds__trainer_options = {rows, (int32_t)(sizeof rows / sizeof *rows),
                                              "ds_trainer_option", "ds_trainer_float_option",
                                              NULL, 0, 0, NULL};
