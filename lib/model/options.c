/* The option-table engine (model/options.h): lookups, setters, getters, defaults, equality
 * and one record field at a time, for any table. */
#include "model/options.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/context.h"

/* Field access by width: the tables hold only int32/int64/uint64 and float/double fields
 * (uint64 shares int64's representation). */
static int64_t load_int(const ds__option *o, const void *cfg) {
  const char *p = (const char *)cfg + o->offset;
  if (o->size == sizeof(int32_t)) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
  }
  int64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static void store_int(const ds__option *o, void *cfg, int64_t value) {
  char *p = (char *)cfg + o->offset;
  if (o->size == sizeof(int32_t)) {
    int32_t v = (int32_t)value;
    memcpy(p, &v, sizeof v);
  } else {
    memcpy(p, &value, sizeof value);
  }
}

static double load_float(const ds__option *o, const void *cfg) {
  const char *p = (const char *)cfg + o->offset;
  if (o->size == sizeof(float)) {
    float v;
    memcpy(&v, p, sizeof v);
    return v;
  }
  double v;
  memcpy(&v, p, sizeof v);
  return v;
}

static void store_float(const ds__option *o, void *cfg, double value) {
  char *p = (char *)cfg + o->offset;
  if (o->size == sizeof(float)) {
    float v = (float)value;
    memcpy(p, &v, sizeof v);
  } else {
    memcpy(p, &value, sizeof value);
  }
}

static void set_flag(const ds__option *o, void *cfg) {
  if (!o->has_flag) return;
  int32_t one = 1;
  memcpy((char *)cfg + o->flag_offset, &one, sizeof one);
}

const ds__option *ds__option_find(const ds__option_table *t, int32_t kind, int32_t id) {
  for (int32_t i = 0; i < t->count; i++)
    if (t->rows[i].kind == kind && t->rows[i].id == id) return &t->rows[i];
  return NULL;
}

int ds__option_applies(const ds__option *o, int32_t arch) {
  return arch >= 0 && arch < 32 && (o->archs & DS__ARCH_BIT(arch)) != 0;
}

/* " (note)" or "" */
static void note_text(const char *note, char *buf, size_t size) {
  if (note) snprintf(buf, size, " (%s)", note);
  else buf[0] = '\0';
}

/* The architectures of a row, named: "DS_ARCH_PIXELCNN", "the image architectures
 * (DS_ARCH_PIXELCNNPP, DS_ARCH_PIXELCNN)". */
static void arch_list(const ds__option_table *t, uint32_t archs, char *buf, size_t size) {
  size_t len = 0;
  int group = t->group_name && archs == t->group_archs;
  buf[0] = '\0';
  if (group) len = (size_t)snprintf(buf, size, "%s (", t->group_name);
  for (int32_t a = 0, n = 0; a < t->arch_count && len < size; a++)
    if (archs & DS__ARCH_BIT(a))
      len += (size_t)snprintf(buf + len, size - len, "%s%s", n++ ? ", " : "", t->arch_names[a]);
  if (group && len < size) snprintf(buf + len, size - len, ")");
}

static const char *arch_name(const ds__option_table *t, int32_t arch) {
  return arch >= 0 && arch < t->arch_count ? t->arch_names[arch] : "this architecture";
}

/* The row of (kind, id) that cfg's architecture has, or a failure naming why not. */
static ds_status lookup(const ds__option_table *t, int32_t kind, int32_t id, int32_t arch,
                        int setting, const char *fn, const ds__option **out) {
  const ds__option *o = ds__option_find(t, kind, id);
  if (!o)
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: option %d is not a %s", fn, (int)id,
                    kind == DS__OPT_INT ? t->int_enum : t->float_enum);
  if (!ds__option_applies(o, arch)) {
    char archs[160], note[160];
    note_text(o->arch_note, note, sizeof note);
    arch_list(t, o->archs, archs, sizeof archs);
    if (setting)
      return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: %s applies to %s only%s", fn, o->name,
                      archs, note);
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: %s does not apply to %s (only to %s)",
                    fn, o->name, arch_name(t, arch), archs);
  }
  *out = o;
  return DS_OK;
}

ds_status ds__option_set_int(const ds__option_table *t, void *cfg, int32_t arch, int32_t id,
                             int64_t value, const char *fn) {
  const ds__option *o = NULL;
  ds_status st = lookup(t, DS__OPT_INT, id, arch, 1, fn, &o);
  if (st == DS_OK && o->check) st = o->check(cfg, o, value, fn);
  if (st != DS_OK) return st;
  if (value < o->imin || value > o->imax) {
    char note[160];
    note_text(o->note, note, sizeof note);
    if (o->enum_type)
      return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: %s = %lld is not a %s (%lld..%lld)%s",
                      fn, o->name, (long long)value, o->enum_type, (long long)o->imin,
                      (long long)o->imax, note);
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: %s = %lld is outside %lld..%lld%s", fn,
                    o->name, (long long)value, (long long)o->imin, (long long)o->imax, note);
  }
  store_int(o, cfg, value);
  set_flag(o, cfg);
  return DS_OK;
}

static int in_bounds(const ds__option *o, double v) {
  int lo_ok = o->bounds & DS__LO_OPEN ? v > o->fmin : v >= o->fmin;
  double h = o->bounds & DS__HI_AS_FLOAT ? (double)(float)v : v;
  int hi_ok = o->bounds & DS__HI_OPEN ? h < o->fmax : h <= o->fmax;
  return lo_ok && hi_ok;
}

/* "in (0, 1e+06]", "in [0, 1) as a float", ">= 0" */
static void range_text(const ds__option *o, char *buf, size_t size) {
  if (isinf(o->fmax))
    snprintf(buf, size, "%s %g", o->bounds & DS__LO_OPEN ? ">" : ">=", o->fmin);
  else
    snprintf(buf, size, "in %c%g, %g%c%s", o->bounds & DS__LO_OPEN ? '(' : '[', o->fmin,
             o->fmax, o->bounds & DS__HI_OPEN ? ')' : ']',
             o->bounds & DS__HI_AS_FLOAT ? " as a float" : "");
}

ds_status ds__option_set_float(const ds__option_table *t, void *cfg, int32_t arch, int32_t id,
                               double value, const char *fn) {
  const ds__option *o = NULL;
  ds_status st = lookup(t, DS__OPT_FLOAT, id, arch, 1, fn, &o);
  if (st != DS_OK) return st;
  if (!isfinite(value) || !in_bounds(o, value)) {
    char range[96], note[160];
    range_text(o, range, sizeof range);
    note_text(o->note, note, sizeof note);
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: %s = %g must be finite and %s%s", fn,
                    o->name, value, range, note);
  }
  store_float(o, cfg, value);
  set_flag(o, cfg);
  return DS_OK;
}

ds_status ds__option_get_int(const ds__option_table *t, const void *cfg, int32_t arch,
                             int32_t id, int64_t *value, const char *fn) {
  const ds__option *o = NULL;
  ds_status st = lookup(t, DS__OPT_INT, id, arch, 0, fn, &o);
  if (st != DS_OK) return st;
  *value = load_int(o, cfg);
  return DS_OK;
}

ds_status ds__option_get_float(const ds__option_table *t, const void *cfg, int32_t arch,
                               int32_t id, double *value, const char *fn) {
  const ds__option *o = NULL;
  ds_status st = lookup(t, DS__OPT_FLOAT, id, arch, 0, fn, &o);
  if (st != DS_OK) return st;
  *value = load_float(o, cfg);
  return DS_OK;
}

void ds__options_defaults(const ds__option_table *t, void *cfg) {
  for (int32_t i = 0; i < t->count; i++) {
    const ds__option *o = &t->rows[i];
    if (o->kind == DS__OPT_INT) store_int(o, cfg, o->idefault);
    else if (o->kind == DS__OPT_FLOAT) store_float(o, cfg, o->fdefault);
  }
}

int ds__options_equal(const ds__option_table *t, const void *a, const void *b) {
  for (int32_t i = 0; i < t->count; i++) {
    const ds__option *o = &t->rows[i];
    if (o->since == 0) continue;
    if (o->kind == DS__OPT_INT && load_int(o, a) != load_int(o, b)) return 0;
    if (o->kind == DS__OPT_FLOAT && load_float(o, a) != load_float(o, b)) return 0;
  }
  return 1;
}

void ds__option_write(const ds__option *o, const void *cfg, ds__writer *w) {
  if (o->kind == DS__OPT_INT) {
    int64_t v = load_int(o, cfg);
    if (o->size == sizeof(int32_t)) ds__writer_u32(w, (uint32_t)v);
    else ds__writer_u64(w, (uint64_t)v);
  } else if (o->kind == DS__OPT_FLOAT) {
    double v = load_float(o, cfg);
    if (o->size == sizeof(float)) ds__writer_f32(w, (float)v);
    else ds__writer_f64(w, v);
  }
}

ds__option_value ds__option_read(const ds__option *o, ds__reader *r) {
  ds__option_value v = {0, 0.0};
  if (o->kind == DS__OPT_INT) {
    if (o->size == sizeof(int32_t)) {
      v.i = ds__reader_u32(r);
    } else {
      uint64_t u = ds__reader_u64(r);
      v.i = u > (uint64_t)INT64_MAX ? -1 : (int64_t)u;
    }
  } else if (o->kind == DS__OPT_FLOAT) {
    v.f = o->size == sizeof(float) ? (double)ds__reader_f32(r) : ds__reader_f64(r);
  }
  return v;
}
