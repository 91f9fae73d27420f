#include "model/model_io.h"

#include <math.h>
#include <string.h>

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
  if (c->arch == DS_ARCH_PIXELCNNPP) { /* arch-specific section */
    ds__writer_u32(w, (uint32_t)c->channels);
    ds__writer_u64(w, (uint64_t)c->height);
    ds__writer_u64(w, (uint64_t)c->width);
    ds__writer_u32(w, (uint32_t)c->filters);
    ds__writer_u32(w, (uint32_t)c->resnets);
    ds__writer_f32(w, c->dropout);
    ds__writer_u32(w, (uint32_t)c->cond_layout); /* format version 2 */
    ds__writer_u32(w, (uint32_t)c->cond_convs);
  } else if (c->arch == DS_ARCH_PIXELCNN) {
    ds__writer_u32(w, (uint32_t)c->channels);
    ds__writer_u64(w, (uint64_t)c->height);
    ds__writer_u64(w, (uint64_t)c->width);
    ds__writer_u32(w, (uint32_t)c->filters);
    ds__writer_u32(w, (uint32_t)c->layers);
    ds__writer_u32(w, (uint32_t)c->gated);
  } else {
    ds__writer_f32(w, c->cond_share); /* format version 3 */
  }
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
  if (arch == DS_ARCH_PIXELCNNPP) {
    uint32_t ch = ds__reader_u32(r);
    uint64_t h = ds__reader_u64(r), wd = ds__reader_u64(r);
    uint32_t f = ds__reader_u32(r), nres = ds__reader_u32(r);
    float drop = ds__reader_f32(r);
    if (r->failed)
      return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: checkpoint truncated in the image section", fn);
    APPLY(ds_model_config_set_int(cfg, DS_MODEL_CHANNELS, ch));
    APPLY(ds_model_config_set_int(cfg, DS_MODEL_HEIGHT, h > 4096 ? -1 : (int64_t)h));
    APPLY(ds_model_config_set_int(cfg, DS_MODEL_WIDTH, wd > 4096 ? -1 : (int64_t)wd));
    APPLY(ds_model_config_set_int(cfg, DS_MODEL_FILTERS, f));
    APPLY(ds_model_config_set_int(cfg, DS_MODEL_RESNETS, nres));
    APPLY(ds_model_config_set_float(cfg, DS_MODEL_DROPOUT, drop));
    if (r->version >= 2) { /* version 1: the channel layout without convs (the defaults) */
      uint32_t layout = ds__reader_u32(r), convs = ds__reader_u32(r);
      if (r->failed)
        return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: checkpoint truncated in the image section",
                        fn);
      APPLY(ds_model_config_set_int(cfg, DS_MODEL_COND_LAYOUT, layout));
      APPLY(ds_model_config_set_int(cfg, DS_MODEL_COND_CONVS, convs));
    }
  } else if (arch == DS_ARCH_PIXELCNN) {
    uint32_t ch = ds__reader_u32(r);
    uint64_t h = ds__reader_u64(r), wd = ds__reader_u64(r);
    uint32_t f = ds__reader_u32(r), layers = ds__reader_u32(r), gated = ds__reader_u32(r);
    if (r->failed)
      return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: checkpoint truncated in the image section", fn);
    APPLY(ds_model_config_set_int(cfg, DS_MODEL_CHANNELS, ch));
    APPLY(ds_model_config_set_int(cfg, DS_MODEL_HEIGHT, h > 4096 ? -1 : (int64_t)h));
    APPLY(ds_model_config_set_int(cfg, DS_MODEL_WIDTH, wd > 4096 ? -1 : (int64_t)wd));
    APPLY(ds_model_config_set_int(cfg, DS_MODEL_FILTERS, f));
    APPLY(ds_model_config_set_int(cfg, DS_MODEL_LAYERS, layers));
    APPLY(ds_model_config_set_int(cfg, DS_MODEL_GATED, gated));
  } else if (r->version >= 3) {
    float share = ds__reader_f32(r);
    if (r->failed)
      return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: checkpoint truncated in the MADE section", fn);
    if (share != 0.0f) APPLY(ds_model_config_set_float(cfg, DS_MODEL_COND_SHARE, share));
  }
  return DS_OK;
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
