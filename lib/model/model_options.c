/* The model option table: every ds_model_option and ds_model_float_option, in the order
 * of a checkpoint's configuration record (model/options.h says what follows from a row).
 * To add an option: one row here (at the end of the section of the architectures it
 * applies to, with `since` = the new checkpoint format version if it is stored), its
 * field in ds_model_config (model/config.h), its enumerator in include/dsmooth.h and the
 * bindings (tests/ffi/check_enum_values.py compares them). */
#include <stddef.h>

#include "core/context.h"
#include "model/config.h"
#include "model/limits.h"
#include "model/options.h"

#define ALL DS__ARCHS_ALL
#define MADE DS__ARCH_BIT(DS_ARCH_MADE)
#define PIXELCNNPP DS__ARCH_BIT(DS_ARCH_PIXELCNNPP)
#define PIXELCNN DS__ARCH_BIT(DS_ARCH_PIXELCNN)
#define IMAGES (PIXELCNNPP | PIXELCNN)

#define FIELD(f) .offset = offsetof(ds_model_config, f), .size = sizeof(((ds_model_config *)0)->f)
/* INT(option, field, min, max, default, archs, since, section, ...more fields) */
#define INT(ID, F, MIN, MAX, DEF, ARCHS, SINCE, SECTION, ...)                                 \
  {.kind = DS__OPT_INT, .id = ID, .name = #ID, FIELD(F), .imin = MIN, .imax = MAX,             \
   .idefault = DEF, .archs = ARCHS, .since = SINCE, .section = SECTION, __VA_ARGS__}
/* FLOAT(option, field, min, max, bounds, default, archs, since, section, ...) */
#define FLOAT(ID, F, MIN, MAX, BOUNDS, DEF, ARCHS, SINCE, SECTION, ...)                        \
  {.kind = DS__OPT_FLOAT, .id = ID, .name = #ID, FIELD(F), .fmin = MIN, .fmax = MAX,           \
   .bounds = BOUNDS, .fdefault = DEF, .archs = ARCHS, .since = SINCE, .section = SECTION,      \
   __VA_ARGS__}

#define CONFIG "configuration"
#define IMAGE "image section"
#define MADE_SECTION "MADE section"

/* D and C: vectors up to DS__MAX_VECTOR_DIM, images up to DS__MAX_IMAGE_DIM (the range). */
static ds_status check_dim(const void *cfg, const ds__option *o, int64_t value, const char *fn) {
  if (ds__arch_is_image(((const ds_model_config *)cfg)->arch) || value <= DS__MAX_VECTOR_DIM)
    return DS_OK;
  return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: %s = %lld is outside %lld..%lld", fn,
                  o->name, (long long)value, (long long)o->imin, (long long)DS__MAX_VECTOR_DIM);
}

static ds_status check_channels(const void *cfg, const ds__option *o, int64_t value,
                                const char *fn) {
  (void)cfg;
  if (value == 1 || value == 3) return DS_OK;
  return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: %s = %lld must be 1 or 3", fn, o->name,
                  (long long)value);
}

static ds_status check_activation(const void *cfg, const ds__option *o, int64_t value,
                                  const char *fn) {
  if (((const ds_model_config *)cfg)->arch != DS_ARCH_PIXELCNN || value != DS_ACTIVATION_TANH)
    return DS_OK;
  return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                  "%s: DS_ARCH_PIXELCNN takes %s RELU or ELU, not TANH", fn, o->name);
}

static const ds__option rows[] = {
    INT(DS_MODEL_DIM, dim, 1, DS__MAX_IMAGE_DIM, 0, ALL, 1, CONFIG, .check = check_dim),
    INT(DS_MODEL_COND_DIM, cond_dim, 0, DS__MAX_IMAGE_DIM, 0, ALL, 1, CONFIG, .check = check_dim),
    INT(DS_MODEL_COMPONENTS, components, 1, DS__MAX_COMPONENTS, 5, ALL, 1, CONFIG),
    INT(DS_MODEL_HEAD, head, DS_HEAD_CONTINUOUS, DS_HEAD_DISCRETIZED, DS_HEAD_CONTINUOUS, ALL, 1,
        CONFIG, .enum_type = "ds_head"),
    INT(DS_MODEL_BINS, bins, DS__MIN_BINS, DS__MAX_BINS, 256, ALL, 1, CONFIG),
    FLOAT(DS_MODEL_BIN_LO, bin_lo, -DS__MAX_FLOAT_OPTION, DS__MAX_FLOAT_OPTION, 0, -1.0, ALL, 1,
          CONFIG),
    FLOAT(DS_MODEL_BIN_HI, bin_hi, -DS__MAX_FLOAT_OPTION, DS__MAX_FLOAT_OPTION, 0, 1.0, ALL, 1,
          CONFIG),
    INT(DS_MODEL_ACTIVATION, activation, DS_ACTIVATION_RELU, DS_ACTIVATION_ELU,
        DS_ACTIVATION_RELU, ALL, 1, CONFIG, .enum_type = "ds_activation",
        .check = check_activation),
    INT(DS_MODEL_RESIDUAL, residual, 0, 1, 0, ALL, 1, CONFIG),
    {.kind = DS__OPT_HIDDEN, .id = -1, .name = "hidden layer widths", .archs = ALL, .since = 1,
     .section = CONFIG},
    /* images */
    INT(DS_MODEL_CHANNELS, channels, 1, DS__MAX_CHANNELS, 1, IMAGES, 1, IMAGE,
        .check = check_channels),
    INT(DS_MODEL_HEIGHT, height, DS__MIN_IMAGE_SIDE, DS__MAX_IMAGE_SIDE, 0, IMAGES, 1, IMAGE),
    INT(DS_MODEL_WIDTH, width, DS__MIN_IMAGE_SIDE, DS__MAX_IMAGE_SIDE, 0, IMAGES, 1, IMAGE),
    INT(DS_MODEL_FILTERS, filters, 1, DS__MAX_FILTERS, 32, IMAGES, 1, IMAGE),
    INT(DS_MODEL_RESNETS, resnets, 1, DS__MAX_BLOCKS, 2, PIXELCNNPP, 1, IMAGE,
        .arch_note = "DS_ARCH_PIXELCNN counts its blocks with DS_MODEL_LAYERS"),
    FLOAT(DS_MODEL_DROPOUT, dropout, 0.0, 1.0, DS__HI_OPEN, 0.0, PIXELCNNPP, 1, IMAGE),
    INT(DS_MODEL_COND_LAYOUT, cond_layout, DS_COND_CHANNELS, DS_COND_STACKED, DS_COND_CHANNELS,
        PIXELCNNPP, 2, IMAGE, .enum_type = "ds_cond_layout"),
    INT(DS_MODEL_COND_CONVS, cond_convs, 0, DS__MAX_COND_CONVS, 0, PIXELCNNPP, 2, IMAGE),
    INT(DS_MODEL_LAYERS, layers, 1, DS__MAX_BLOCKS, 5, PIXELCNN, 1, IMAGE),
    INT(DS_MODEL_GATED, gated, 0, 1, 1, PIXELCNN, 1, IMAGE),
    /* MADE */
    FLOAT(DS_MODEL_COND_SHARE, cond_share, 0.0, 1.0, DS__HI_OPEN, 0.0, MADE, 3, MADE_SECTION,
          .note = "0 = the default degree cycle"),
    /* not stored: every value is a seed (its 64 bits); not part of the model's shape */
    INT(DS_MODEL_SEED, seed, INT64_MIN, INT64_MAX, 0, ALL, 0, NULL, .has_flag = 1,
        .flag_offset = offsetof(ds_model_config, seed_set)),
};

static const char *const arch_names[] = {
    [DS_ARCH_MADE] = "DS_ARCH_MADE",
    [DS_ARCH_PIXELCNNPP] = "DS_ARCH_PIXELCNNPP",
    [DS_ARCH_PIXELCNN] = "DS_ARCH_PIXELCNN",
};

const ds__option_table ds__model_options = {
    rows, (int32_t)(sizeof rows / sizeof *rows), "ds_model_option", "ds_model_float_option",
    arch_names, (int32_t)(sizeof arch_names / sizeof *arch_names), IMAGES,
    "the image architectures"};
