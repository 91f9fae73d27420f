/* Option tables: one row per public option of a configuration handle (ds_model_config,
 * ds_trainer_config), from which the setters' checks and messages, the getters, the
 * defaults, equality and the configuration record of checkpoints all follow.
 *
 * The tables: model/model_options.c (ds_model_option and ds_model_float_option, with the
 * hidden layer widths between them) and model/trainer_options.c. Their rows are in the
 * order of the checkpoint record; a row with `since` > 0 is written there at the width of
 * its field (int32 -> u32, int64/uint64 -> u64, float -> f32, double -> f64, little
 * endian) for the architectures it applies to, read back through the setter (so a file
 * obeys the ranges a caller does) and compared by equality; a file of an older format
 * version keeps the default of a row added later. */
#ifndef DS_MODEL_OPTIONS_H
#define DS_MODEL_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "dsmooth.h"
#include "model/checkpoint.h"

enum ds__option_kind {
  DS__OPT_INT = 0,    /* set with *_set_int, an int32/int64/uint64 field             */
  DS__OPT_FLOAT = 1,  /* set with *_set_float, a float/double field                  */
  DS__OPT_HIDDEN = 2  /* not an option: where the record holds ds_model_config's hidden
                         widths (count u32, then widths u64), set by _set_hidden      */
};

/* Bounds of a float option (bit set): the default is the closed range [lo, hi]. */
enum {
  DS__LO_OPEN = 1,     /* v > lo                                          */
  DS__HI_OPEN = 2,     /* v < hi                                          */
  DS__HI_AS_FLOAT = 4  /* the hi test is made after rounding v to float   */
};

/* Architectures (bit 1 << ds_arch) that have an option; trainer options have all. */
#define DS__ARCH_BIT(a) (1u << (a))
#define DS__ARCHS_ALL 0xffffffffu

struct ds__option;
/* An extra check of an int value before its range (e.g. a set of allowed values, or a
 * limit that depends on the architecture); returns DS_OK or fails with a message. */
typedef ds_status (*ds__option_check)(const void *cfg, const struct ds__option *opt,
                                      int64_t value, const char *fn);

typedef struct ds__option {
  int32_t kind;          /* enum ds__option_kind */
  int32_t id;            /* the public enum value (DS_MODEL_DIM, ...) */
  const char *name;      /* "DS_MODEL_DIM": every message names the option so */
  size_t offset, size;   /* the field in the configuration struct */
  int32_t has_flag;      /* 1: setting it also sets the int32 field at flag_offset to 1 */
  size_t flag_offset;
  int64_t imin, imax;    /* int options: accepted range */
  double fmin, fmax;     /* float options: accepted range, with */
  int32_t bounds;        /*   DS__LO_OPEN | DS__HI_OPEN | DS__HI_AS_FLOAT */
  int64_t idefault;      /* int options: value of a fresh configuration */
  double fdefault;       /* float options: value of a fresh configuration */
  uint32_t archs;        /* DS__ARCH_BIT set of the architectures that have it */
  int32_t since;         /* checkpoint format version that stores it; 0: not stored
                            (not compared either, e.g. seeds) */
  const char *section;   /* the part of the record it is in, for "truncated in the ..." */
  const char *enum_type; /* int options holding a public enum: its name, for messages */
  const char *note;      /* appended to its range errors in parentheses, or NULL */
  const char *arch_note; /* appended to its refusal for another architecture, or NULL */
  ds__option_check check;/* int options: extra check before the range, or NULL */
} ds__option;

typedef struct ds__option_table {
  const ds__option *rows; /* in checkpoint record order */
  int32_t count;
  const char *int_enum, *float_enum; /* "ds_model_option", "ds_model_float_option" */
  const char *const *arch_names;     /* by ds_arch, for messages (trainer: none) */
  int32_t arch_count;
  uint32_t group_archs;              /* a set of architectures with a name in messages */
  const char *group_name;            /*   ("the image architectures"), or NULL */
} ds__option_table;

extern const ds__option_table ds__model_options;   /* model/model_options.c */
extern const ds__option_table ds__trainer_options; /* model/trainer_options.c */

/* The row of option `id` of `kind` (NULL if there is none). */
const ds__option *ds__option_find(const ds__option_table *t, int32_t kind, int32_t id);
/* Whether the architecture has the option (trainer tables: pass 0). */
int ds__option_applies(const ds__option *o, int32_t arch);

/* The setters and getters of a table: option check, architecture check, the row's check
 * and range, then the field (and flag). On failure nothing changes and the message,
 * prefixed with `fn`, is on the NULL context (ds_context_last_error(NULL)). */
ds_status ds__option_set_int(const ds__option_table *t, void *cfg, int32_t arch, int32_t id,
                             int64_t value, const char *fn);
ds_status ds__option_set_float(const ds__option_table *t, void *cfg, int32_t arch, int32_t id,
                               double value, const char *fn);
ds_status ds__option_get_int(const ds__option_table *t, const void *cfg, int32_t arch,
                             int32_t id, int64_t *value, const char *fn);
ds_status ds__option_get_float(const ds__option_table *t, const void *cfg, int32_t arch,
                               int32_t id, double *value, const char *fn);

/* Every row's default into cfg (other fields untouched). */
void ds__options_defaults(const ds__option_table *t, void *cfg);
/* 1 if every stored row (since > 0) holds the same value in a and b (floats compared as
 * numbers: -0 equals 0). */
int ds__options_equal(const ds__option_table *t, const void *a, const void *b);

/* A stored option's value as the record holds it: ints widened to int64 (u64 values above
 * INT64_MAX read as -1, which every range refuses), floats to double. */
typedef struct ds__option_value {
  int64_t i;
  double f;
} ds__option_value;

/* The row's field at its width (see the top of this file). */
void ds__option_write(const ds__option *o, const void *cfg, ds__writer *w);
ds__option_value ds__option_read(const ds__option *o, ds__reader *r);
#endif
