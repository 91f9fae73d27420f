#include "model/model.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "core/philox.h"
#include "core/pool.h"
#include "core/finite.h"
#include "core/seed.h"

/* ---- evaluation workspaces kept between calls ----------------------------------------- */

enum { WS_SLOTS = 4 }; /* concurrent evaluations that keep their workspace */

struct ds__ws_cache {
  pthread_mutex_t lock; /* guards busy[] and which slot holds what */
  ds__model_ws slot[WS_SLOTS];
  int32_t busy[WS_SLOTS];
  pthread_mutex_t pack_lock; /* guards packing and the packed buffer's allocation */
  float *packed;             /* (packed_floats) the architecture's packed weights */
  size_t packed_floats;
  _Atomic uint64_t packed_version; /* the weights_version packed holds; 0: none */
};

static struct ds__ws_cache *ws_cache_create(ds_context *ctx) {
  struct ds__ws_cache *c = ds__calloc(ctx, 1, sizeof *c);
  if (!c) return NULL;
  if (pthread_mutex_init(&c->lock, NULL)) {
    ds__free(ctx, c);
    return NULL;
  }
  if (pthread_mutex_init(&c->pack_lock, NULL)) {
    pthread_mutex_destroy(&c->lock);
    ds__free(ctx, c);
    return NULL;
  }
  atomic_init(&c->packed_version, 0);
  return c;
}

static void ws_cache_free(ds_model *m) {
  struct ds__ws_cache *c = m->ws_cache;
  if (!c) return;
  for (int i = 0; i < WS_SLOTS; i++) ds__model_ws_free(m, &c->slot[i]);
  ds__free(m->ctx, c->packed);
  pthread_mutex_destroy(&c->pack_lock);
  pthread_mutex_destroy(&c->lock);
  ds__free(m->ctx, c);
  m->ws_cache = NULL;
}

static ds_status ws_init_mode(const ds_model *m, int64_t capacity, int32_t backprop,
                              ds__model_ws *ws);

ds_status ds__model_ws_checkout(const ds_model *m, int64_t capacity, int32_t backprop,
                                ds__model_ws **out) {
  struct ds__ws_cache *c = m->ws_cache;
  int pick = -1;
  pthread_mutex_lock(&c->lock);
  for (int i = 0; i < WS_SLOTS && pick < 0; i++) /* a fitting one */
    if (!c->busy[i] && c->slot[i].capacity >= capacity && (c->slot[i].backprop || !backprop))
      pick = i;
  int reuse = pick >= 0;
  for (int i = 0; i < WS_SLOTS && pick < 0; i++) /* else an empty one, else any free one */
    if (!c->busy[i] && !c->slot[i].capacity) pick = i;
  for (int i = 0; i < WS_SLOTS && pick < 0; i++)
    if (!c->busy[i]) pick = i;
  if (pick >= 0) c->busy[pick] = 1;
  pthread_mutex_unlock(&c->lock);
  if (reuse) {
    *out = &c->slot[pick];
    return DS_OK;
  }
  ds__model_ws *ws = pick >= 0 ? &c->slot[pick] : ds__calloc(m->ctx, 1, sizeof *ws);
  if (!ws) /* no slot was taken */
    return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY, "ds_model: out of memory");
  if (pick >= 0) { /* grow: keep the larger size and gradients if the old one had them */
    int64_t old = ws->capacity;
    backprop = backprop || ws->backprop;
    ds__model_ws_free(m, ws);
    if (old > capacity) capacity = old;
  }
  ds_status st = ws_init_mode(m, capacity, backprop, ws);
  if (st != DS_OK) {
    if (pick < 0) ds__free(m->ctx, ws);
    else {
      pthread_mutex_lock(&c->lock);
      c->busy[pick] = 0;
      pthread_mutex_unlock(&c->lock);
    }
    return st;
  }
  *out = ws;
  return DS_OK;
}

void ds__model_ws_checkin(const ds_model *m, ds__model_ws *ws) {
  struct ds__ws_cache *c = m->ws_cache;
  if (ws < c->slot || ws >= c->slot + WS_SLOTS) { /* a temporary one */
    ds__model_ws_free(m, ws);
    ds__free(m->ctx, ws);
    return;
  }
  pthread_mutex_lock(&c->lock);
  c->busy[ws - c->slot] = 0;
  pthread_mutex_unlock(&c->lock);
}

/* ---- packed weights kept between calls (see model.h) ------------------------------------ */

void ds__model_weights_changed(ds_model *m) { m->weights_version++; }

ds_status ds__model_packed_reserve(const ds_model *m, size_t floats) {
  struct ds__ws_cache *c = m->ws_cache;
  ds_status st = DS_OK;
  pthread_mutex_lock(&c->pack_lock);
  if (!c->packed) {
    c->packed = ds__calloc(m->ctx, floats, sizeof(float));
    if (c->packed) c->packed_floats = floats;
    else
      st = ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY,
                    "ds_model: out of memory for %zu packed weights", floats);
  } else if (c->packed_floats != floats) { /* the layout is fixed by the configuration */
    st = ds__fail(m->ctx, DS_ERR_INTERNAL,
                  "ds_model: packed weights reserved as %zu floats, now asked for %zu",
                  c->packed_floats, floats);
  }
  pthread_mutex_unlock(&c->pack_lock);
  return st;
}

const float *ds__model_packed(const ds_model *m, ds__model_pack_fn pack) {
  struct ds__ws_cache *c = m->ws_cache;
  const uint64_t want = m->weights_version;
  if (atomic_load_explicit(&c->packed_version, memory_order_acquire) != want) {
    pthread_mutex_lock(&c->pack_lock);
    if (atomic_load_explicit(&c->packed_version, memory_order_relaxed) != want) {
      pack(m, c->packed);
      atomic_store_explicit(&c->packed_version, want, memory_order_release);
    }
    pthread_mutex_unlock(&c->pack_lock);
  }
  return c->packed;
}

/* The head of cfg's groups, before the architecture lays out its network around it. */
static ds_status choose_head(ds_model *m) {
  int32_t dims = m->arch->group_dims(&m->cfg);
  m->head = ds__head_for(m->cfg.head, dims);
  if (!m->head) /* the configuration was validated: a bug, not a user error */
    return ds__fail(m->ctx, DS_ERR_INTERNAL, "ds_model: no %s head has %d dimensions per group",
                    m->cfg.head == DS_HEAD_DISCRETIZED ? "discretized" : "continuous", (int)dims);
  m->group_dims = m->head->group_dims;
  m->group_params = m->head->group_params(m->cfg.components);
  m->bins.count = m->cfg.bins;
  m->bins.lo = m->cfg.bin_lo;
  m->bins.hi = m->cfg.bin_hi;
  m->head_bins = m->cfg.head == DS_HEAD_DISCRETIZED ? &m->bins : NULL;
  return DS_OK;
}

/* The architecture's setup, which must keep the head geometry it was given. */
static ds_status setup_arch(ds_model *m) {
  int32_t dims = m->group_dims, params = m->group_params;
  ds_status st = m->arch->setup(m);
  if (st == DS_OK && (m->group_dims != dims || m->group_params != params))
    st = ds__fail(m->ctx, DS_ERR_INTERNAL,
                  "ds_model: %s lays out %d head parameters per %d dimensions, the %s head has "
                  "%d per %d", m->arch->name, (int)m->group_params, (int)m->group_dims,
                  m->head->name, (int)params, (int)dims);
  return st;
}

ds_status ds__model_alloc(ds_context *ctx, const ds_model_config *cfg, int64_t stored_count,
                          ds_model **out) {
  ds_model *m = ds__calloc(ctx, 1, sizeof *m);
  if (!m) return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "ds_model: out of memory");
  m->ctx = ctx;
  m->cfg = *cfg;
  m->seed = cfg->seed_set ? cfg->seed : ds__context_next_seed(ctx);
  m->smooth_family = -1;
  m->arch = ds__arch_for(cfg->arch);
  ds_status st = choose_head(m);
  if (st == DS_OK) st = setup_arch(m);
  if (st != DS_OK) {
    m->arch->teardown(m);
    ds__free(ctx, m);
    return st;
  }
  if (stored_count >= 0 && stored_count != m->param_count) {
    /* checked before the weights are allocated: a damaged file cannot ask for memory its
       configuration does not back with bytes */
    int64_t need = m->param_count;
    m->arch->teardown(m);
    ds__free(ctx, m);
    return ds__fail(ctx, DS_ERR_BAD_FORMAT,
                    "ds_model_load: checkpoint stores %lld weights, its configuration needs %lld",
                    (long long)stored_count, (long long)need);
  }
  if (m->param_count > DS__MAX_PARAMS) {
    int64_t need = m->param_count;
    m->arch->teardown(m);
    ds__free(ctx, m);
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "ds_model_create: %lld parameters exceed the limit of 2^31; reduce the sizes",
                    (long long)need);
  }
  m->params = ds__calloc(ctx, (size_t)m->param_count, sizeof(float));
  m->mask = ds__calloc(ctx, (size_t)m->param_count, sizeof(float));
  m->ws_cache = ws_cache_create(ctx);
  if (!m->params || !m->mask || !m->ws_cache) {
    int64_t count = m->param_count;
    ds__model_free(m);
    return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "ds_model: out of memory for %lld parameters",
                    (long long)count);
  }
  m->arch->masks(m, m->mask);
  m->weights_version = 1; /* the packed cache starts at 0: stale */
  *out = m;
  return DS_OK;
}

void ds__model_free(ds_model *m) {
  if (!m) return;
  ws_cache_free(m);
  m->arch->teardown(m);
  ds__free(m->ctx, m->params);
  ds__free(m->ctx, m->mask);
  ds__free(m->ctx, m);
}

int64_t ds__model_first_bad_weight(const ds_model *m, const float *params) {
  for (int64_t k = 0; k < m->param_count; k++)
    if (!isfinite(params[k]) || (m->mask[k] == 0.0f && params[k] != 0.0f)) return k;
  return -1;
}

ds_status ds__model_set_params(ds_model *m, const float *params, int64_t count) {
  if (count != m->param_count)
    return ds__fail(m->ctx, DS_ERR_SHAPE_MISMATCH, "ds_model: %lld parameters given, %lld needed",
                    (long long)count, (long long)m->param_count);
  int64_t bad = ds__model_first_bad_weight(m, params);
  if (bad >= 0)
    return ds__fail(m->ctx, DS_ERR_INVALID_ARGUMENT, "ds_model: parameter %lld is invalid",
                    (long long)bad);
  memcpy(m->params, params, sizeof(float) * (size_t)count);
  ds__model_weights_changed(m);
  return DS_OK;
}

int64_t ds__model_free_param_count(const ds_model *m) {
  int64_t free_count = 0;
  for (int64_t k = 0; k < m->param_count; k++) free_count += m->mask[k] != 0.0f;
  return free_count;
}

static ds_status ws_init_mode(const ds_model *m, int64_t capacity, int32_t backprop,
                              ds__model_ws *ws) {
  memset(ws, 0, sizeof *ws);
  ws->capacity = capacity;
  ws->backprop = backprop;
  ws->dx = ds__calloc(m->ctx, (size_t)(capacity * m->cfg.dim), sizeof(float));
  ds_status st = ws->dx ? m->arch->ws_init(m, capacity, ws)
                        : ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY, "ds_model: out of memory");
  if (st != DS_OK) {
    ds__free(m->ctx, ws->dx);
    memset(ws, 0, sizeof *ws);
  }
  return st;
}

ds_status ds__model_ws_init(const ds_model *m, int64_t capacity, ds__model_ws *ws) {
  return ws_init_mode(m, capacity, 1, ws);
}

void ds__model_ws_free(const ds_model *m, ds__model_ws *ws) {
  if (ws->dx) m->arch->ws_free(m, ws);
  ds__free(m->ctx, ws->dx);
  memset(ws, 0, sizeof *ws);
}

int64_t ds__model_block_rows(const ds_model *m) { return m->arch->block_rows(m); }

/* ---- the heads: one conditional per group (model/head.h) ------------------------------ */

typedef struct eval_job {
  const ds_model *m;
  ds__model_ws *ws;
  const ds__eval_request *req;
  ds__arch_pass pass;
} eval_job;

static int wants_backprop(const ds__eval_request *req) {
  return req->param_grad_scale != 0.0f || (req->score && req->score_kind == DS_SCORE_EXACT);
}

/* log_prob, the local score and dhead of rows [r0, r1). */
static void heads_rows(const ds_model *m, ds__model_ws *ws, const ds__eval_request *req,
                       int64_t r0, int64_t r1) {
  int64_t D = m->cfg.dim, G = m->groups, P = m->group_params;
  int32_t K = m->cfg.components, gd = m->group_dims;
  int want_backprop = wants_backprop(req);
  /* For training dhead = scale * d(-log p)/d head; for the exact score d log p / d head. */
  float dz_scale = req->param_grad_scale != 0.0f ? -req->param_grad_scale : 1.0f;
  for (int64_t r = r0; r < r1; r++) {
    const float *head = ws->head + r * ws->head_stride;
    float *dhead = want_backprop ? ws->dhead + r * ws->head_stride : NULL; /* NULL: an inference workspace */
    double lp = 0.0;
    for (int64_t g = 0; g < G; g++) {
      const float *xv = req->x + r * D + g * gd;
      float *gp = want_backprop ? dhead + g * P : NULL;
      double gx[DS__HEAD_MAX_GROUP_DIMS] = {0.0};
      lp += m->head->log_prob(head + g * P, K, m->head_bins, xv, gp, req->score ? gx : NULL);
      if (gp)
        for (int64_t k = 0; k < P; k++) gp[k] *= dz_scale;
      if (req->score) /* the local part */
        for (int32_t j = 0; j < gd; j++) req->score[r * D + g * gd + j] = (float)gx[j];
    }
    req->log_prob[r] = lp;
  }
}

/* Row-local architectures: forward, heads and backward of one row range per thread. */
static void eval_rows(void *p, int32_t t, int32_t threads) {
  const eval_job *job = p;
  const ds_model *m = job->m;
  const ds__eval_request *req = job->req;
  int64_t r0, r1, D = m->cfg.dim;
  ds__split_range(req->rows, t, threads, &r0, &r1);
  if (r0 >= r1) return;
  m->arch->forward(m, job->ws, &job->pass, r0, r1);
  heads_rows(m, job->ws, req, r0, r1);
  if (!wants_backprop(req)) return;
  int exact = req->score && req->score_kind == DS_SCORE_EXACT;
  m->arch->backward(m, job->ws, r0, r1, exact ? job->ws->dx + r0 * D : NULL);
  if (exact)
    for (int64_t k = r0 * D; k < r1 * D; k++) req->score[k] += job->ws->dx[k];
}

static void heads_part(void *p, int32_t t, int32_t threads) {
  const eval_job *job = p;
  int64_t r0, r1;
  ds__split_range(job->req->rows, t, threads, &r0, &r1);
  if (r0 < r1) heads_rows(job->m, job->ws, job->req, r0, r1);
}

static void eval_pass(const ds_model *m, ds__model_ws *ws, const ds__eval_request *req,
                      int32_t train, uint64_t seed, uint64_t stream, int64_t first_row) {
  eval_job job = {m, ws, req, {req->x, req->c, train, seed, stream, first_row}};
  if (m->arch->row_local) {
    ds__pool_run(m->ctx->pool, eval_rows, &job);
    return;
  }
  m->arch->forward(m, ws, &job.pass, 0, req->rows);
  ds__pool_run(m->ctx->pool, heads_part, &job);
  if (!wants_backprop(req)) return;
  int exact = req->score && req->score_kind == DS_SCORE_EXACT;
  m->arch->backward(m, ws, 0, req->rows, exact ? ws->dx : NULL);
  if (exact)
    for (int64_t k = 0; k < req->rows * m->cfg.dim; k++) req->score[k] += ws->dx[k];
}

void ds__model_eval(const ds_model *m, ds__model_ws *ws, const ds__eval_request *req) {
  eval_pass(m, ws, req, 0, 0, 0, 0);
}

void ds__model_eval_train(const ds_model *m, ds__model_ws *ws, const ds__eval_request *req,
                          uint64_t seed, uint64_t stream) {
  eval_pass(m, ws, req, 1, seed, stream, 0);
}

void ds__model_eval_train_part(const ds_model *m, ds__model_ws *ws, const ds__eval_request *req,
                               uint64_t seed, uint64_t stream, int64_t first_row) {
  eval_pass(m, ws, req, 1, seed, stream, first_row);
}

void ds__model_param_grads(const ds_model *m, ds__model_ws *ws, int64_t rows, float *grad) {
  m->arch->param_grads(m, ws, rows, grad);
}

typedef struct forward_job {
  const ds_model *m;
  ds__model_ws *ws;
  ds__arch_pass pass;
  int64_t rows;
} forward_job;

static void forward_part(void *p, int32_t t, int32_t threads) {
  const forward_job *job = p;
  int64_t r0, r1;
  ds__split_range(job->rows, t, threads, &r0, &r1);
  if (r0 >= r1) return;
  job->m->arch->forward(job->m, job->ws, &job->pass, r0, r1);
}

/* A plain forward of rows [0, rows) in the architecture's style (pass.x, pass.c always
 * point at row 0; a row-local forward reads its rows [r0, r1) from there). */
static void forward_all(const ds_model *m, ds__model_ws *ws, const float *x, const float *c,
                        int64_t rows) {
  forward_job job = {m, ws, {x, c, 0, 0, 0, 0}, rows};
  if (m->arch->row_local) ds__pool_run(m->ctx->pool, forward_part, &job);
  else m->arch->forward(m, ws, &job.pass, 0, rows);
}

const float *ds__model_forward_heads(const ds_model *m, ds__model_ws *ws, const float *x,
                                     const float *c, int64_t rows) {
  forward_all(m, ws, x, c, rows);
  return ws->head;
}

/* ---- sampling ----------------------------------------------------------------------- */

typedef struct sample_job {
  const ds_model *m;
  ds__model_ws *ws;
  const float *c;
  float *x;
  int64_t rows, first, group;
  uint64_t stream;
  int32_t method, greedy_mean;
  const float *head;   /* the group's head parameters of row 0; row r at + r * head_stride */
  int64_t head_stride;
} sample_job;

static void sample_group_rows(const sample_job *job, int64_t r0, int64_t r1) {
  const ds_model *m = job->m;
  const ds__head *head = m->head;
  int64_t D = m->cfg.dim, g = job->group;
  int32_t K = m->cfg.components, gd = m->group_dims;
  int32_t nu = head->uniforms(K, job->method);
  double u[DS__HEAD_MAX_UNIFORMS];
  for (int64_t r = r0; r < r1; r++) {
    const float *hp = job->head + r * job->head_stride;
    float *xv = job->x + r * D + g * gd;
    if (ds__first_nonfinite_f32(hp, m->group_params) >= 0) { /* no draw: DS_ERR_NUMERIC */
      for (int32_t k = 0; k < gd; k++) xv[k] = NAN;
      continue;
    }
    if (job->greedy_mean) {
      head->mean(hp, K, m->head_bins, xv);
      continue;
    }
    uint64_t example = (uint64_t)(job->first + r);
    for (int32_t k = 0; k < nu; k++)
      u[k] = ds__uniform_at(m->seed, DS__STREAM_SAMPLE | (job->stream & 0x00ffffffffffffffull),
                            (example * (uint64_t)m->groups + (uint64_t)g) * (uint64_t)nu +
                                (uint64_t)k);
    head->sample(hp, K, m->head_bins, job->method, u, xv);
  }
}

static void sample_group(void *p, int32_t t, int32_t threads) {
  const sample_job *job = p;
  const ds_model *m = job->m;
  int64_t r0, r1;
  ds__split_range(job->rows, t, threads, &r0, &r1);
  if (r0 >= r1) return;
  if (m->arch->row_local) {
    ds__arch_pass pass = {job->x, job->c, 0, 0, 0, 0};
    m->arch->forward(m, job->ws, &pass, r0, r1);
  }
  sample_group_rows(job, r0, r1);
}

void ds__model_sample_rows(const ds_model *m, ds__model_ws *ws, const float *c, int64_t rows,
                           int64_t first, uint64_t stream, int32_t method, int32_t greedy_mean,
                           float *x) {
  memset(x, 0, sizeof(float) * (size_t)(rows * m->cfg.dim));
  for (int64_t g = 0; g < m->groups; g++) {
    sample_job job = {m, ws, c, x, rows, first, g, stream, method, greedy_mean,
                      ws->head + g * m->group_params, ws->head_stride};
    if (!m->arch->row_local) {
      ds__arch_pass pass = {x, c, 0, 0, 0, 0};
      m->arch->forward(m, ws, &pass, 0, rows);
    }
    ds__pool_run(m->ctx->pool, sample_group, &job);
  }
}

void ds__model_sample_group(const ds_model *m, const float *head, int64_t head_stride,
                            int64_t rows, int64_t first, int64_t group, uint64_t stream,
                            int32_t method, int32_t greedy_mean, float *x) {
  sample_job job = {m, NULL, NULL, x, rows, first, group, stream, method, greedy_mean,
                    head, head_stride};
  sample_group_rows(&job, 0, rows);
}

/* ---- whole-array operations in blocks -------------------------------------------- */

/* log_prob and score share this block loop; score NULL for log_prob. Results are written
 * to temporaries first so a failure midway leaves the caller's arrays untouched. */
ds_status ds__model_evaluate(const ds_model *m, const char *fn, const float *x, const float *cond,
                          int64_t n, float *score, int32_t kind, double *log_prob) {
  int64_t D = m->cfg.dim, C = m->cfg.cond_dim, block = ds__model_block_rows(m);
  int64_t cap = n < block ? n : block;
  ds__model_ws *ws;
  ds_status st = ds__model_ws_checkout(m, cap, score && kind == DS_SCORE_EXACT, &ws);
  if (st != DS_OK) return st;
  double *lp = ds__calloc(m->ctx, (size_t)n, sizeof *lp);
  float *sc = score ? ds__calloc(m->ctx, (size_t)(n * D), sizeof *sc) : NULL;
  if (!lp || (score && !sc)) {
    ds__free(m->ctx, lp);
    ds__free(m->ctx, sc);
    ds__model_ws_checkin(m, ws);
    return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory for %lld results", fn,
                    (long long)n);
  }
  for (int64_t i = 0; i < n; i += cap) {
    int64_t rows = n - i < cap ? n - i : cap;
    ds__eval_request req = {x + i * D, C ? cond + i * C : NULL, rows, lp + i, 0.0f,
                            sc ? sc + i * D : NULL, kind};
    ds__model_eval(m, ws, &req);
  }
  ds__model_ws_checkin(m, ws);
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
  int64_t D = model->cfg.dim, C = model->cfg.cond_dim, block = ds__model_block_rows(model);
  int64_t cap = n < block ? n : block;
  int naive = (method & DS__SAMPLE_NAIVE) || !model->arch->sample;
  method &= ~DS__SAMPLE_NAIVE;
  float *tmp = ds__calloc(model->ctx, (size_t)(n * D), sizeof *tmp);
  if (!tmp) return ds__fail(model->ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
  if (!naive) {
    ds_status st = model->arch->sample(model, cond, n, 0, stream, method, greedy_mean, tmp);
    if (st != DS_OK) {
      ds__free(model->ctx, tmp);
      return st;
    }
  } else {
    ds__model_ws *ws;
    ds_status st = ds__model_ws_checkout(model, cap, 0, &ws);
    if (st != DS_OK) {
      ds__free(model->ctx, tmp);
      return st;
    }
    for (int64_t i = 0; i < n; i += cap) {
      int64_t rows = n - i < cap ? n - i : cap;
      ds__model_sample_rows(model, ws, C ? cond + i * C : NULL, rows, i, stream, method,
                            greedy_mean, tmp + i * D);
    }
    ds__model_ws_checkin(model, ws);
  }
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
