#include "model/model_io.h"

#include <math.h>
#include <string.h>

#include "model/options.h"
#include "model/smoother.h"

/* The configuration record: the architecture, then every stored row of the option table
 * that the architecture has, in table order (model/model_options.c; the hidden layer
 * widths at their row as count u32 + widths u64). */
static void write_config(const ds_model_config *c, ds__writer *w) {
  const ds__option_table *t = &ds__model_options;
  ds__writer_u32(w, (uint32_t)c->arch);
  for (int32_t i = 0; i < t->count; i++) {
    const ds__option *o = &t->rows[i];
    if (o->since == 0 || !ds__option_applies(o, c->arch)) continue;
    if (o->kind != DS__OPT_HIDDEN) {
      ds__option_write(o, c, w);
      continue;
    }
    ds__writer_u32(w, (uint32_t)c->hidden_count);
    for (int32_t l = 0; l < c->hidden_count; l++) ds__writer_u64(w, (uint64_t)c->hidden[l]);
  }
}

void ds__model_serialize(const ds_model *m, ds__writer *w) {
  write_config(&m->cfg, w);
  ds__writer_u64(w, (uint64_t)m->param_count);
  ds__writer_floats(w, m->params, m->param_count);
  /* format version 3: the smoothing the model was trained on */
  ds__writer_u32(w, m->smooth_family < 0 ? UINT32_MAX : (uint32_t)m->smooth_family);
  ds__writer_f64(w, m->smooth_family < 0 ? 0.0 : m->smooth_sigma);
}

/* The hidden widths after their count (read with the rows before it): count in range,
 * widths present, then through the setter. */
static ds_status read_hidden(ds_context *ctx, const char *fn, ds__reader *r, uint32_t count,
                             ds_model_config *cfg) {
  if (count < 1 || count > DS__MAX_HIDDEN_LAYERS)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: checkpoint has %u hidden layers", fn, count);
  int64_t widths[DS__MAX_HIDDEN_LAYERS];
  for (uint32_t l = 0; l < count; l++) {
    uint64_t w = ds__reader_u64(r);
    widths[l] = w > INT64_MAX ? -1 : (int64_t)w;
  }
  if (r->failed)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: checkpoint truncated in the layer widths", fn);
  if (ds__model_config_set_hidden(cfg, widths, (int32_t)count) != DS_OK)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: invalid configuration in checkpoint: %s", fn,
                    ds_context_last_error(NULL));
  return DS_OK;
}

/* One run of rows read together: complete, then each value through its setter, so stored
 * values obey the same ranges as fresh ones. */
typedef struct pending_rows {
  const ds__option *row[32];
  ds__option_value value[32];
  int32_t count;
  const char *section;
} pending_rows;

static ds_status apply_rows(ds_context *ctx, const char *fn, ds__reader *r, pending_rows *p,
                            ds_model_config *cfg) {
  if (p->count > 0 && r->failed)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: checkpoint truncated in the %s", fn,
                    p->section);
  for (int32_t k = 0; k < p->count; k++) {
    const ds__option *o = p->row[k];
    if (o->kind == DS__OPT_HIDDEN) {
      ds_status st = read_hidden(ctx, fn, r, (uint32_t)p->value[k].i, cfg);
      if (st != DS_OK) return st;
      continue;
    }
    ds_status st = o->kind == DS__OPT_INT ? ds__model_config_set_int(cfg, o->id, p->value[k].i)
                                          : ds__model_config_set_float(cfg, o->id, p->value[k].f);
    if (st != DS_OK)
      return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: invalid configuration in checkpoint: %s",
                      fn, ds_context_last_error(NULL));
  }
  p->count = 0;
  return DS_OK;
}

/* The record of write_config. Rows are read in runs of one section and format version
 * (a file of an older version keeps the defaults of the rows added since). */
static ds_status read_config(ds_context *ctx, const char *fn, ds__reader *r,
                             ds_model_config *cfg) {
  const ds__option_table *t = &ds__model_options;
  uint32_t arch = ds__reader_u32(r);
  if (r->failed || !ds__arch_for((int32_t)arch))
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: unknown architecture %u in checkpoint", fn, arch);
  ds__model_config_defaults(cfg, (int32_t)arch);
  pending_rows p = {.count = 0};
  int32_t since = 0;
  for (int32_t i = 0; i < t->count; i++) {
    const ds__option *o = &t->rows[i];
    if (o->since == 0 || o->since > (int32_t)r->version || !ds__option_applies(o, cfg->arch))
      continue;
    if (p.count == (int32_t)(sizeof p.row / sizeof *p.row) || !p.section ||
        strcmp(o->section, p.section) != 0 || o->since != since) {
      ds_status st = apply_rows(ctx, fn, r, &p, cfg);
      if (st != DS_OK) return st;
      p.section = o->section;
      since = o->since;
    }
    p.row[p.count] = o;
    p.value[p.count++] = o->kind == DS__OPT_HIDDEN ? (ds__option_value){ds__reader_u32(r), 0.0}
                                                   : ds__option_read(o, r);
  }
  return apply_rows(ctx, fn, r, &p, cfg);
}

/* Version 3: family (UINT32_MAX = none) and sigma after the weights. */
static ds_status read_smoothing(ds_context *ctx, const char *fn, ds__reader *r, ds_model *m) {
  if (r->version < 3) return DS_OK;
  uint32_t family = ds__reader_u32(r);
  double sigma = ds__reader_f64(r);
  if (r->failed)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: checkpoint truncated in the smoothing record",
                    fn);
  if (family == UINT32_MAX) return DS_OK;
  if (family > INT32_MAX || !ds__noise_name((int32_t)family) ||
      !(sigma >= 1e-30 && sigma <= 1e30))
    return ds__fail(ctx, DS_ERR_BAD_FORMAT,
                    "%s: checkpoint records an invalid smoothing (family %u, sigma %g)", fn,
                    family, sigma);
  m->smooth_family = (int32_t)family;
  m->smooth_sigma = sigma;
  return DS_OK;
}

ds_status ds__model_read_file(ds_context *ctx, const char *fn, const char *path, uint32_t kind,
                              uint8_t **file, ds__reader *r, ds_model **out) {
  ds_status st = ds__checkpoint_read(ctx, fn, path, kind, file, r);
  if (st != DS_OK) return st;
  st = ds__model_deserialize(ctx, fn, r, out);
  if (st != DS_OK) {
    ds__free(ctx, *file);
    *file = NULL;
  }
  return st;
}

ds_status ds__model_deserialize(ds_context *ctx, const char *fn, ds__reader *r, ds_model **out) {
  ds_model_config cfg;
  ds_status st = read_config(ctx, fn, r, &cfg);
  if (st != DS_OK) return st;
  if (ds__model_config_validate(ctx, &cfg) != DS_OK)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: inconsistent configuration in checkpoint: %s",
                    fn, ds_context_last_error(ctx));
  uint64_t count = ds__reader_u64(r);
  if (r->failed)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: checkpoint truncated before the weights", fn);
  if ((r->len - r->pos) / 4 < count)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: checkpoint truncated in the weights", fn);
  ds_model *m = NULL;
  st = ds__model_alloc(ctx, &cfg, (int64_t)count, &m); /* count <= bytes left / 4 */
  if (st != DS_OK) return st;
  ds__reader_floats(r, m->params, m->param_count);
  ds__model_weights_changed(m);
  for (int64_t k = 0; k < m->param_count; k++) {
    if (!isfinite(m->params[k]) || (m->mask[k] == 0.0f && m->params[k] != 0.0f)) {
      const char *what = isfinite(m->params[k]) ? "non-zero where the architecture masks it"
                                                 : "not finite";
      ds__model_free(m);
      return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: weight %lld in checkpoint is %s", fn,
                      (long long)k, what);
    }
  }
  st = read_smoothing(ctx, fn, r, m);
  if (st != DS_OK) {
    ds__model_free(m);
    return st;
  }
  *out = m;
  return DS_OK;
}
