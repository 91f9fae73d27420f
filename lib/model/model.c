#include "model/model.h"

#include <math.h>
#include <string.h>

#include "core/philox.h"
#include "core/pool.h"
#include "core/finite.h"

ds_status ds__model_alloc(ds_context *ctx, const ds_model_config *cfg, ds_model **out) {
  ds_model *m = ds__calloc(ctx, 1, sizeof *m);
  if (!m) return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "ds_model: out of memory");
  m->ctx = ctx;
  m->cfg = *cfg;
  m->seed = ctx->seed;
  ds__made_layout(&m->made, cfg);
  m->bins.count = cfg->bins;
  m->bins.lo = cfg->bin_lo;
  m->bins.hi = cfg->bin_hi;
  m->params = ds__calloc(ctx, (size_t)m->made.param_count, sizeof(float));
  m->mask = ds__calloc(ctx, (size_t)m->made.param_count, sizeof(float));
  if (!m->params || !m->mask) {
    ds__model_free(m);
    return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "ds_model: out of memory for %lld parameters",
                    (long long)m->made.param_count);
  }
  ds__made_masks(&m->made, m->mask);
  *out = m;
  return DS_OK;
}

void ds__model_free(ds_model *m) {
  if (!m) return;
  ds__free(m->ctx, m->params);
  ds__free(m->ctx, m->mask);
  ds__free(m->ctx, m);
}

ds_status ds__model_ws_init(const ds_model *m, int64_t capacity, ds__model_ws *ws) {
  memset(ws, 0, sizeof *ws);
  ws->capacity = capacity;
  ws->storage = ds__calloc(m->ctx, (size_t)(capacity * m->made.floats_per_row), sizeof(float));
  ws->dx = ds__calloc(m->ctx, (size_t)(capacity * m->made.dim), sizeof(float));
  if (!ws->storage || !ws->dx) {
    ds__model_ws_free(m, ws);
    return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY,
                    "ds_model: out of memory for activations of %lld rows", (long long)capacity);
  }
  ds__made_buffers_bind(&m->made, capacity, ws->storage, &ws->buf);
  return DS_OK;
}

void ds__model_ws_free(const ds_model *m, ds__model_ws *ws) {
  ds__free(m->ctx, ws->storage);
  ds__free(m->ctx, ws->dx);
  memset(ws, 0, sizeof *ws);
}

typedef struct eval_job {
  const ds_model *m;
  ds__model_ws *ws;
  const ds__eval_request *req;
} eval_job;

static void eval_rows(void *p, int32_t t, int32_t threads) {
  const eval_job *job = p;
  const ds_model *m = job->m;
  const ds__made *made = &m->made;
  const ds__eval_request *req = job->req;
  ds__made_buffers *buf = &job->ws->buf;
  int64_t r0, r1;
  ds__split_range(req->rows, t, threads, &r0, &r1);
  if (r0 >= r1) return;
  int64_t D = made->dim, K = m->cfg.components, P = 3 * K;
  int32_t last = made->layer_count - 1;
  const float *c = made->cond_dim ? req->c + r0 * made->cond_dim : NULL;
  ds__made_forward_rows(made, m->params, req->x + r0 * D, c, r0, r1, buf);

  int want_backprop = req->param_grad_scale != 0.0f ||
                      (req->score && req->score_kind == DS_SCORE_EXACT);
  /* For training dz = scale * d(-log p)/d head; for the exact score dz = d log p / d head. */
  float dz_scale = req->param_grad_scale != 0.0f ? -req->param_grad_scale : 1.0f;
  for (int64_t r = r0; r < r1; r++) {
    const float *head = buf->z[last] + r * made->out_dim;
    float *dhead = buf->dz[last] + r * made->out_dim;
    double lp = 0.0;
    for (int64_t d = 0; d < D; d++) {
      float xv = req->x[r * D + d];
      float *g = want_backprop ? dhead + d * P : NULL;
      double gx = 0.0;
      if (m->cfg.head == DS_HEAD_CONTINUOUS)
        lp += ds__mix_log_density(head + d * P, (int32_t)K, xv, g, req->score ? &gx : NULL);
      else
        lp += ds__mix_log_mass(head + d * P, (int32_t)K, &m->bins, xv, g);
      if (g)
        for (int64_t k = 0; k < P; k++) g[k] *= dz_scale;
      if (req->score) req->score[r * D + d] = (float)gx; /* the local part */
    }
    req->log_prob[r] = lp;
  }
  if (!want_backprop) return;
  int exact = req->score && req->score_kind == DS_SCORE_EXACT;
  ds__made_backward_rows(made, m->params, r0, r1, buf, exact ? job->ws->dx + r0 * D : NULL);
  if (exact)
    for (int64_t k = r0 * D; k < r1 * D; k++) req->score[k] += job->ws->dx[k];
}

void ds__model_eval(const ds_model *m, ds__model_ws *ws, const ds__eval_request *req) {
  eval_job job = {m, ws, req};
  ds__pool_run(m->ctx->pool, eval_rows, &job);
}

typedef struct grad_job {
  const ds_model *m;
  ds__model_ws *ws;
  int64_t rows;
  float *grad;
} grad_job;

static void grad_part(void *p, int32_t t, int32_t threads) {
  const grad_job *job = p;
  ds__made_weight_grads(&job->m->made, job->m->mask, job->rows, &job->ws->buf, job->grad, t,
                        threads);
}

void ds__model_param_grads(const ds_model *m, ds__model_ws *ws, int64_t rows, float *grad) {
  grad_job job = {m, ws, rows, grad};
  ds__pool_run(m->ctx->pool, grad_part, &job);
}

/* ---- sampling ----------------------------------------------------------------------- */

typedef struct sample_job {
  const ds_model *m;
  ds__model_ws *ws;
  const float *c;
  float *x;
  int64_t rows, first, dim;
  uint64_t stream;
  int32_t method, greedy_mean;
} sample_job;

/* The mean of a logistic mixture: sum_k softmax(logits)_k mu_k. */
static float mixture_mean(const float *p, int32_t K) {
  double mx = p[0], z = 0.0, acc = 0.0;
  for (int32_t k = 1; k < K; k++) mx = p[k] > mx ? p[k] : mx;
  for (int32_t k = 0; k < K; k++) {
    double w = exp(p[k] - mx);
    z += w;
    acc += w * p[K + k];
  }
  return (float)(acc / z);
}

static void sample_dimension(void *p, int32_t t, int32_t threads) {
  const sample_job *job = p;
  const ds_model *m = job->m;
  const ds__made *made = &m->made;
  int64_t r0, r1, D = made->dim, d = job->dim;
  int32_t K = m->cfg.components, P = 3 * K;
  ds__split_range(job->rows, t, threads, &r0, &r1);
  if (r0 >= r1) return;
  const float *c = made->cond_dim ? job->c + r0 * made->cond_dim : NULL;
  ds__made_forward_rows(made, m->params, job->x + r0 * D, c, r0, r1, &job->ws->buf);
  const float *head = job->ws->buf.z[made->layer_count - 1];
  const ds__bins *bins = m->cfg.head == DS_HEAD_DISCRETIZED ? &m->bins : NULL;
  int32_t nu = ds__mix_uniforms_needed(K, job->method);
  double u[257 + 1];
  for (int64_t r = r0; r < r1; r++) {
    const float *hp = head + r * made->out_dim + d * P;
    float v;
    if (job->greedy_mean) {
      v = mixture_mean(hp, K);
      if (bins) { /* snap to the nearest bin centre */
        float step = (bins->hi - bins->lo) / (float)(bins->count - 1);
        float b = roundf((v - bins->lo) / step);
        b = b < 0 ? 0 : b > (float)(bins->count - 1) ? (float)(bins->count - 1) : b;
        v = bins->lo + b * step;
      }
    } else {
      uint64_t example = (uint64_t)(job->first + r);
      for (int32_t k = 0; k < nu; k++)
        u[k] = ds__uniform_at(m->seed, DS__STREAM_SAMPLE | (job->stream & 0x00ffffffffffffffull),
                              (example * (uint64_t)D + (uint64_t)d) * (uint64_t)nu + (uint64_t)k);
      v = ds__mix_sample(hp, K, bins, job->method, u);
    }
    job->x[r * D + d] = v;
  }
}

void ds__model_sample_rows(const ds_model *m, ds__model_ws *ws, const float *c, int64_t rows,
                           int64_t first, uint64_t stream, int32_t method, int32_t greedy_mean,
                           float *x) {
  memset(x, 0, sizeof(float) * (size_t)(rows * m->made.dim));
  for (int64_t d = 0; d < m->made.dim; d++) {
    sample_job job = {m, ws, c, x, rows, first, d, stream, method, greedy_mean};
    ds__pool_run(m->ctx->pool, sample_dimension, &job);
  }
}

/* ---- whole-array operations in blocks -------------------------------------------- */

/* log_prob and score share this block loop; score NULL for log_prob. Results are written
 * to temporaries first so a failure midway leaves the caller's arrays untouched. */
ds_status ds__model_evaluate(const ds_model *m, const char *fn, const float *x, const float *cond,
                          int64_t n, float *score, int32_t kind, double *log_prob) {
  int64_t D = m->cfg.dim, C = m->cfg.cond_dim;
  int64_t cap = n < DS__EVAL_BLOCK ? n : DS__EVAL_BLOCK;
  ds__model_ws ws;
  ds_status st = ds__model_ws_init(m, cap, &ws);
  if (st != DS_OK) return st;
  double *lp = ds__calloc(m->ctx, (size_t)n, sizeof *lp);
  float *sc = score ? ds__calloc(m->ctx, (size_t)(n * D), sizeof *sc) : NULL;
  if (!lp || (score && !sc)) {
    ds__free(m->ctx, lp);
    ds__free(m->ctx, sc);
    ds__model_ws_free(m, &ws);
    return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory for %lld results", fn,
                    (long long)n);
  }
  for (int64_t i = 0; i < n; i += cap) {
    int64_t rows = n - i < cap ? n - i : cap;
    ds__eval_request req = {x + i * D, C ? cond + i * C : NULL, rows, lp + i, 0.0f,
                            sc ? sc + i * D : NULL, kind};
    ds__model_eval(m, &ws, &req);
  }
  ds__model_ws_free(m, &ws);
  for (int64_t i = 0; i < n; i++)
    if (isnan(lp[i]) || (sc && ds__first_nonfinite_f32(sc + i * D, D) >= 0)) {
      ds__free(m->ctx, lp);
      ds__free(m->ctx, sc);
      return ds__fail(m->ctx, DS_ERR_NUMERIC, "%s: the result for example %lld is not finite",
                      fn, (long long)i);
    }
  if (log_prob) memcpy(log_prob, lp, sizeof(double) * (size_t)n);
  if (score) memcpy(score, sc, sizeof(float) * (size_t)(n * D));
  ds__free(m->ctx, lp);
  ds__free(m->ctx, sc);
  return DS_OK;
}

ds_status ds__model_sample(const ds_model *model, const char *fn, const float *cond,
                                   int64_t n, uint64_t stream, int32_t method,
                                   int32_t greedy_mean, float *x) {
  int64_t D = model->cfg.dim, C = model->cfg.cond_dim;
  int64_t cap = n < DS__EVAL_BLOCK ? n : DS__EVAL_BLOCK;
  ds__model_ws ws;
  ds_status st = ds__model_ws_init(model, cap, &ws);
  if (st != DS_OK) return st;
  float *tmp = ds__calloc(model->ctx, (size_t)(n * D), sizeof *tmp);
  if (!tmp) {
    ds__model_ws_free(model, &ws);
    return ds__fail(model->ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
  }
  for (int64_t i = 0; i < n; i += cap) {
    int64_t rows = n - i < cap ? n - i : cap;
    ds__model_sample_rows(model, &ws, C ? cond + i * C : NULL, rows, i, stream, method,
                          greedy_mean, tmp + i * D);
  }
  ds__model_ws_free(model, &ws);
  int64_t bad = ds__first_nonfinite_f32(tmp, n * D);
  if (bad >= 0) {
    ds__free(model->ctx, tmp);
    return ds__fail(model->ctx, DS_ERR_NUMERIC, "%s: sample %lld is not finite", fn,
                    (long long)(bad / D));
  }
  memcpy(x, tmp, sizeof(float) * (size_t)(n * D));
  ds__free(model->ctx, tmp);
  return DS_OK;
}

