#include "model/model_io.h"

#include <math.h>
#include <string.h>

/* ---- the architecture's section of the configuration record (model/arch.h) ---- */

static void write_section(ds__writer *w, const ds_model_config *c, const ds__arch_section *sec) {
  for (int32_t i = 0; i < sec->count; i++) {
    const ds__arch_field *f = &sec->fields[i];
    const char *field = (const char *)c + f->offset;
    if (f->wire == DS__WIRE_U32) ds__writer_u32(w, (uint32_t)*(const int32_t *)field);
    else if (f->wire == DS__WIRE_U64) ds__writer_u64(w, (uint64_t)*(const int64_t *)field);
    else ds__writer_f32(w, *(const float *)field);
  }
}

void ds__model_serialize(const ds_model *m, ds__writer *w) {
  const ds_model_config *c = &m->cfg;
  ds__writer_u32(w, (uint32_t)c->arch);
  ds__writer_u64(w, (uint64_t)c->dim);
  ds__writer_u64(w, (uint64_t)c->cond_dim);
  ds__writer_u32(w, (uint32_t)c->components);
  ds__writer_u32(w, (uint32_t)c->head);
  ds__writer_u32(w, (uint32_t)c->bins);
  ds__writer_f32(w, c->bin_lo);
  ds__writer_f32(w, c->bin_hi);
  ds__writer_u32(w, (uint32_t)c->activation);
  ds__writer_u32(w, (uint32_t)c->residual);
  ds__writer_u32(w, (uint32_t)c->hidden_count);
  for (int32_t l = 0; l < c->hidden_count; l++) ds__writer_u64(w, (uint64_t)c->hidden[l]);
  write_section(w, c, m->arch->section);
  ds__writer_u64(w, (uint64_t)m->param_count);
  ds__writer_floats(w, m->params, m->param_count);
  /* format version 3: the smoothing the model was trained on */
  ds__writer_u32(w, m->smooth_family < 0 ? UINT32_MAX : (uint32_t)m->smooth_family);
  ds__writer_f64(w, m->smooth_family < 0 ? 0.0 : m->smooth_sigma);
}

/* Apply one stored option through the public setter so stored values obey the same
 * ranges as fresh ones. */
#define APPLY(call)                                                                       \
  do {                                                                                    \
    if ((call) != DS_OK)                                                                  \
      return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: invalid configuration in checkpoint: %s", \
                      fn, ds_context_last_error(NULL));                                   \
  } while (0)

/* Field by field: read as stored (u32, u64 beyond INT64_MAX as -1, which every setter
 * refuses; f32), applied through its setter. A field newer than the file keeps its
 * default. */
static ds_status read_section(ds_context *ctx, const char *fn, ds__reader *r,
                              const ds__arch_section *sec, ds_model_config *cfg) {
  for (int32_t i = 0; i < sec->count; i++) {
    const ds__arch_field *f = &sec->fields[i];
    if (r->version < f->since) continue;
    int64_t v = 0;
    float vf = 0.0f;
    if (f->wire == DS__WIRE_U32) v = ds__reader_u32(r);
    else if (f->wire == DS__WIRE_F32) vf = ds__reader_f32(r);
    else {
      uint64_t u = ds__reader_u64(r);
      v = u > INT64_MAX ? -1 : (int64_t)u;
    }
    if (r->failed)
      return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: checkpoint truncated in the %s section", fn,
                      sec->name);
    APPLY(f->wire == DS__WIRE_F32 ? ds_model_config_set_float(cfg, f->option, vf)
                                  : ds_model_config_set_int(cfg, f->option, v));
  }
  return DS_OK;
}

static ds_status read_config(ds_context *ctx, const char *fn, ds__reader *r,
                             ds_model_config *cfg) {
  uint32_t arch = ds__reader_u32(r);
  if (r->failed || !ds__arch_for((int32_t)arch))
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: unknown architecture %u in checkpoint", fn, arch);
  ds__model_config_defaults(cfg, (int32_t)arch);
  uint64_t dim = ds__reader_u64(r), cond = ds__reader_u64(r);
  uint32_t comps = ds__reader_u32(r), head = ds__reader_u32(r), bins = ds__reader_u32(r);
  float lo = ds__reader_f32(r), hi = ds__reader_f32(r);
  uint32_t act = ds__reader_u32(r), res = ds__reader_u32(r), hc = ds__reader_u32(r);
  if (r->failed)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: checkpoint truncated in the configuration", fn);
  APPLY(ds_model_config_set_int(cfg, DS_MODEL_DIM, dim > INT64_MAX ? -1 : (int64_t)dim));
  APPLY(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, cond > INT64_MAX ? -1 : (int64_t)cond));
  APPLY(ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, comps));
  APPLY(ds_model_config_set_int(cfg, DS_MODEL_HEAD, head));
  APPLY(ds_model_config_set_int(cfg, DS_MODEL_BINS, bins));
  APPLY(ds_model_config_set_float(cfg, DS_MODEL_BIN_LO, lo));
  APPLY(ds_model_config_set_float(cfg, DS_MODEL_BIN_HI, hi));
  APPLY(ds_model_config_set_int(cfg, DS_MODEL_ACTIVATION, act));
  APPLY(ds_model_config_set_int(cfg, DS_MODEL_RESIDUAL, res));
  if (hc < 1 || hc > DS__MAX_HIDDEN_LAYERS)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: checkpoint has %u hidden layers", fn, hc);
  int64_t widths[DS__MAX_HIDDEN_LAYERS];
  for (uint32_t l = 0; l < hc; l++) {
    uint64_t w = ds__reader_u64(r);
    widths[l] = w > INT64_MAX ? -1 : (int64_t)w;
  }
  if (r->failed)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: checkpoint truncated in the layer widths", fn);
  APPLY(ds_model_config_set_hidden(cfg, widths, (int32_t)hc));
  return read_section(ctx, fn, r, ds__arch_for((int32_t)arch)->section, cfg);
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
  if (family > DS_NOISE_UNIFORM || !(sigma >= 1e-30 && sigma <= 1e30))
    return ds__fail(ctx, DS_ERR_BAD_FORMAT,
                    "%s: checkpoint records an invalid smoothing (family %u, sigma %g)", fn,
                    family, sigma);
  m->smooth_family = (int32_t)family;
  m->smooth_sigma = sigma;
  return DS_OK;
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
  int64_t bad = ds__model_first_bad_weight(m, m->params);
  if (bad >= 0) {
    const char *what = isfinite(m->params[bad]) ? "non-zero where the architecture masks it"
                                                : "not finite";
    ds__model_free(m);
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: weight %lld in checkpoint is %s", fn,
                    (long long)bad, what);
  }
  st = read_smoothing(ctx, fn, r, m);
  if (st != DS_OK) {
    ds__model_free(m);
    return st;
  }
  *out = m;
  return DS_OK;
}
