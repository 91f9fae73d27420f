#include "model/trainer.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "core/finite.h"
#include "core/philox.h"
#include "core/seed.h"
#include "kernels/adam.h"
#include "model/checkpoint.h"
#include "model/model_io.h"
#include "model/trainer_dist.h"

double ds__trainer_lr(const ds_trainer_config *cfg, int64_t horizon, int64_t step) {
  switch (cfg->schedule) {
    case DS_LR_EXPONENTIAL:
      return cfg->lr * pow(cfg->lr_decay, (double)step);
    case DS_LR_COSINE: {
      double f = step >= horizon ? 1.0 : (double)step / (double)horizon;
      return cfg->lr_min + (cfg->lr - cfg->lr_min) * 0.5 * (1.0 + cos(M_PI * f));
    }
    default:
      return cfg->lr;
  }
}

ds_status ds__trainer_create(ds_model *model, const ds_trainer_config *cfg,
                             const ds_smoother *sm, ds_trainer **out) {
  ds_context *ctx = model->ctx;
  int64_t D = model->cfg.dim, C = model->cfg.cond_dim, P = model->param_count;
  int32_t mode = sm ? (C > 0 ? DS__TRAIN_PAIRS : DS__TRAIN_SMOOTHED)
                    : (C > 0 ? DS__TRAIN_CONDITIONAL : DS__TRAIN_DIRECT);
  if (mode == DS__TRAIN_PAIRS && C != D)
    return ds__fail(ctx, DS_ERR_SHAPE_MISMATCH,
                    "ds_trainer_create: stage 2 conditions on x~ = x + noise, so the model "
                    "needs C = D (got C = %lld, D = %lld)", (long long)C, (long long)D);
  ds_trainer *t = ds__calloc(ctx, 1, sizeof *t);
  if (!t) return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "ds_trainer_create: out of memory");
  t->model = model;
  t->smoother = sm;
  t->cfg = *cfg;
  t->mode = mode;
  t->seed = cfg->seed_set ? cfg->seed : ds__context_next_seed(ctx);
  t->order_epoch = -1;
  t->horizon = cfg->total_steps;
  int64_t B = cfg->batch;
  t->grad = ds__calloc(ctx, (size_t)P, sizeof(float));
  t->adam_m = ds__calloc(ctx, (size_t)P, sizeof(float));
  t->adam_v = ds__calloc(ctx, (size_t)P, sizeof(float));
  t->sumsq = ds__calloc(ctx, (size_t)ds__sumsq_chunks(P), sizeof(double));
  t->batch_x = ds__calloc(ctx, (size_t)(B * D), sizeof(float));
  t->batch_c = C ? ds__calloc(ctx, (size_t)(B * C), sizeof(float)) : NULL;
  t->batch_log_prob = ds__calloc(ctx, (size_t)B, sizeof(double));
  t->ema = cfg->ema_decay > 0 ? ds__calloc(ctx, (size_t)P, sizeof(float)) : NULL;
  ds_status st = DS_OK;
  if (!t->grad || !t->adam_m || !t->adam_v || !t->sumsq || !t->batch_x || (C && !t->batch_c) ||
      !t->batch_log_prob || (cfg->ema_decay > 0 && !t->ema))
    st = ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "ds_trainer_create: out of memory for batch %lld",
                  (long long)B);
  if (st == DS_OK) st = ds__model_ws_init(model, B, &t->ws);
  if (st != DS_OK) {
    ds__trainer_free(t);
    return st;
  }
  *out = t;
  return DS_OK;
}

void ds__trainer_free(ds_trainer *t) {
  if (!t) return;
  ds_context *ctx = t->model->ctx;
  ds__model_ws_free(t->model, &t->ws);
  ds__free(ctx, t->grad);
  ds__free(ctx, t->adam_m);
  ds__free(ctx, t->adam_v);
  ds__free(ctx, t->sumsq);
  ds__free(ctx, t->batch_x);
  ds__free(ctx, t->batch_c);
  ds__free(ctx, t->batch_log_prob);
  ds__free(ctx, t->order);
  ds__free(ctx, t->ema);
  ds__dist_free(ctx, t->dist);
  ds__free(ctx, t);
}

/* The permutation of epoch e: Fisher-Yates driven by (seed, shuffle stream e, i). */
static void shuffle_epoch(ds_trainer *t, int64_t epoch) {
  int64_t n = t->order_n;
  for (int64_t i = 0; i < n; i++) t->order[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    double u = ds__uniform_at(t->seed, DS__STREAM_SHUFFLE | (uint64_t)epoch, (uint64_t)i);
    int64_t j = (int64_t)(u * (double)(i + 1));
    if (j > i) j = i;
    int64_t tmp = t->order[i];
    t->order[i] = t->order[j];
    t->order[j] = tmp;
  }
  t->order_epoch = epoch;
}

/* The mode's noise on rows [r0, r1) of the assembled clean batch: stage 1 smooths batch_x,
 * stage 2 its copy in batch_c. Fresh for every step, from the trainer's own seed (stream =
 * step, element = position in the whole batch, so a rank of a distributed run draws the
 * same noise for a row as one process), and two trainers never share noise unless given
 * one seed. */
static void add_training_noise(ds_trainer *t, int64_t step, int64_t r0, int64_t r1) {
  int64_t D = t->model->cfg.dim;
  if (t->mode != DS__TRAIN_SMOOTHED && t->mode != DS__TRAIN_PAIRS) return;
  float *dst = (t->mode == DS__TRAIN_PAIRS ? t->batch_c : t->batch_x) + r0 * D;
  if (t->mode == DS__TRAIN_PAIRS)
    memcpy(dst, t->batch_x + r0 * D, sizeof(float) * (size_t)((r1 - r0) * D));
  ds__smoother_add_noise_seeded(t->smoother, t->seed, dst, (r1 - r0) * D,
                                DS__STREAM_TRAIN_NOISE | ((uint64_t)step & 0x00ffffffffffffffull),
                                (uint64_t)(r0 * D), dst);
}

void ds__trainer_assemble_rows(ds_trainer *t, const float *x, const float *cond, int64_t step,
                               int64_t r0, int64_t r1) {
  int64_t B = t->cfg.batch, D = t->model->cfg.dim, C = t->model->cfg.cond_dim;
  int64_t per_epoch = t->order_n / B, epoch = step / per_epoch, slot = step % per_epoch;
  if (epoch != t->order_epoch) shuffle_epoch(t, epoch);
  const int64_t *rows = t->order + slot * B;
  for (int64_t r = r0; r < r1; r++) {
    memcpy(t->batch_x + r * D, x + rows[r] * D, sizeof(float) * (size_t)D);
    if (t->mode == DS__TRAIN_CONDITIONAL)
      memcpy(t->batch_c + r * C, cond + rows[r] * C, sizeof(float) * (size_t)C);
  }
  add_training_noise(t, step, r0, r1);
}

/* Fill batch_x / batch_c for step `step` from the data, with the mode's noise. */
static void assemble_batch(ds_trainer *t, const float *x, const float *cond, int64_t step) {
  ds__trainer_assemble_rows(t, x, cond, step, 0, t->cfg.batch);
}

uint64_t ds__trainer_dropout_stream(const ds_trainer *t) {
  return (ds__mix64(t->seed) + (uint64_t)t->step) & 0xfffffffffffull;
}

typedef struct update_job {
  ds_trainer *t;
  ds__adam_hyper hyper;
  float clip_scale;
} update_job;

static void sumsq_part(void *p, int32_t th, int32_t threads) {
  ds_trainer *t = p;
  int64_t P = t->model->param_count, j0, j1;
  ds__split_range(ds__sumsq_chunks(P), th, threads, &j0, &j1);
  for (int64_t j = j0; j < j1; j++) ds__sumsq_chunk(t->grad, P, j, t->sumsq);
}

static void update_part(void *p, int32_t th, int32_t threads) {
  update_job *job = p;
  ds_trainer *t = job->t;
  int64_t P = t->model->param_count, b, e;
  ds__split_range(P, th, threads, &b, &e);
  if (job->clip_scale != 1.0f)
    for (int64_t i = b; i < e; i++) t->grad[i] *= job->clip_scale;
  ds__adam_update(&job->hyper, t->grad, t->model->params, t->adam_m, t->adam_v, b, e);
}

/* The gradient of the assembled batch into t->grad; returns the batch's mean NLL. */
static double batch_gradient(ds_trainer *t) {
  ds_model *m = t->model;
  int64_t B = t->cfg.batch;
  ds__eval_request req = {t->batch_x, t->batch_c, B, t->batch_log_prob, 1.0f / (float)B, NULL, 0};
  /* dropout masks: the model's seed, a stream of this trainer and step */
  ds__model_eval_train(m, &t->ws, &req, t->seed, ds__trainer_dropout_stream(t));
  ds__model_param_grads(m, &t->ws, B, t->grad);
  double loss = 0.0;
  for (int64_t r = 0; r < B; r++) loss -= t->batch_log_prob[r];
  return loss / (double)B;
}

/* One optimisation step with the batch's gradient in t->grad and its mean NLL `loss`;
 * returns the loss. A loss or a gradient that is not finite is returned as NaN before
 * anything is updated, so a failing step leaves the weights, the moments and the step
 * count as they were. */
static double train_step(ds_trainer *t, double loss) {
  ds_model *m = t->model;
  if (!isfinite(loss)) return NAN;

  /* squared gradient norm in fixed chunks: the finiteness check, and clipping */
  ds__pool_run(m->ctx->pool, sumsq_part, t);
  double total = 0.0;
  for (int64_t j = 0; j < ds__sumsq_chunks(m->param_count); j++) total += t->sumsq[j];
  if (!isfinite(total)) return NAN;

  update_job job;
  memset(&job, 0, sizeof job);
  job.t = t;
  job.clip_scale = 1.0f;
  double norm = sqrt(total);
  if (t->cfg.clip_norm > 0 && norm > t->cfg.clip_norm) job.clip_scale = (float)(t->cfg.clip_norm / norm);
  job.hyper.lr = (float)ds__trainer_lr(&t->cfg, t->horizon, t->step);
  job.hyper.beta1 = (float)t->cfg.beta1;
  job.hyper.beta2 = (float)t->cfg.beta2;
  job.hyper.epsilon = (float)t->cfg.epsilon;
  job.hyper.weight_decay = (float)t->cfg.weight_decay;
  job.hyper.step = t->step + 1;
  ds__pool_run(m->ctx->pool, update_part, &job);
  ds__model_weights_changed(m);
  t->step++;
  return loss;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Where the batches of one training call come from: arrays (shuffled epochs) or a
 * callback filling each batch on demand. */
typedef struct batch_source {
  const float *x, *cond;
  int64_t n;
  ds_batch_fn fn;
  void *user;
} batch_source;

static ds_status fill_batch(ds_trainer *t, const batch_source *src, int64_t step) {
  if (!src->fn) {
    assemble_batch(t, src->x, src->cond, step);
    return DS_OK;
  }
  ds_context *ctx = t->model->ctx;
  int64_t B = t->cfg.batch, D = t->model->cfg.dim, C = t->model->cfg.cond_dim;
  int conditional = t->mode == DS__TRAIN_CONDITIONAL;
  int32_t rc = src->fn(src->user, step, B, t->batch_x, conditional ? t->batch_c : NULL);
  if (rc != 0)
    return ds__fail(ctx, DS_ERR_CANCELLED,
                    "ds_trainer_train_source: the batch callback returned %d for step %lld",
                    (int)rc, (long long)step);
  int64_t bad = ds__first_nonfinite_f32(t->batch_x, B * D);
  if (bad >= 0)
    return ds__fail(ctx, DS_ERR_NUMERIC,
                    "ds_trainer_train_source: the callback's x[%lld][%lld] for step %lld is not "
                    "finite", (long long)(bad / D), (long long)(bad % D), (long long)step);
  if (conditional && (bad = ds__first_nonfinite_f32(t->batch_c, B * C)) >= 0)
    return ds__fail(ctx, DS_ERR_NUMERIC,
                    "ds_trainer_train_source: the callback's cond[%lld][%lld] for step %lld is "
                    "not finite", (long long)(bad / C), (long long)(bad % C), (long long)step);
  add_training_noise(t, step, 0, B);
  return DS_OK;
}

/* The cosine horizon of a call of `steps` steps; INVALID_ARGUMENT (nothing run) when an
 * explicit horizon would make some of them run at a learning rate of exactly 0. */
static ds_status set_horizon(ds_trainer *t, const char *fn, int64_t steps) {
  if (!t->cfg.total_steps_set) {
    t->horizon = t->step + steps > 0 ? t->step + steps : 1;
    return DS_OK;
  }
  if (t->cfg.schedule == DS_LR_COSINE && t->cfg.lr_min == 0.0 && steps > 0 &&
      t->step + steps > t->cfg.total_steps)
    return ds__fail(t->model->ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: steps %lld..%lld would run past the cosine horizon DS_TRAIN_TOTAL_STEPS "
                    "= %lld at learning rate 0 (DS_TRAIN_LR_MIN = 0) and leave the model "
                    "unchanged; raise DS_TRAIN_TOTAL_STEPS, set DS_TRAIN_LR_MIN > 0, or leave "
                    "the horizon unset to follow each call",
                    fn, (long long)t->step, (long long)(t->step + steps - 1),
                    (long long)t->cfg.total_steps);
  t->horizon = t->cfg.total_steps;
  return DS_OK;
}

/* Data-dependent head initialisation from the first batch, once per fresh model. */
static void maybe_data_init(ds_trainer *t) {
  ds_model *m = t->model;
  if (t->cfg.data_init && t->step == 0 && m->fresh_init)
    ds__model_data_init(m, t->batch_x, t->batch_c, t->cfg.batch);
  m->fresh_init = 0;
}

/* Polyak averaging after a step: ema = d ema + (1 - d) params (the first step copies). */
static void update_ema(ds_trainer *t) {
  if (!t->ema) return;
  const float *p = t->model->params;
  int64_t P = t->model->param_count;
  if (!t->ema_ready) {
    memcpy(t->ema, p, sizeof(float) * (size_t)P);
    t->ema_ready = 1;
    return;
  }
  float d = (float)t->cfg.ema_decay, e = 1.0f - d;
  for (int64_t k = 0; k < P; k++) t->ema[k] = d * t->ema[k] + e * p[k];
}

/* Remember the smoothing a stage-1 (or stage-2) model is trained with (saved with it). */
static void record_smoothing(ds_trainer *t) {
  if (!t->smoother) return;
  t->model->smooth_family = t->smoother->family;
  t->model->smooth_sigma = t->smoother->sigma;
}

static ds_status run_steps(ds_trainer *t, const char *fn, const batch_source *src,
                           int64_t steps, double *loss_out) {
  ds_context *ctx = t->model->ctx;
  ds_status st = set_horizon(t, fn, steps);
  if (st != DS_OK) return st;
  double total = 0.0, window = 0.0, t0 = now_seconds();
  int64_t in_window = 0;
  for (int64_t s = 0; s < steps; s++) {
    double loss = 0.0;
    if (t->dist) {
      /* this rank's share, combined with the other ranks' (trainer_dist.c); the data
       * initialisation sees the whole first batch on every rank alike */
      if (s == 0 && t->step == 0 && t->cfg.data_init && t->model->fresh_init)
        assemble_batch(t, src->x, src->cond, t->step);
      if (s == 0) maybe_data_init(t);
      st = ds__dist_gradient(t, src->x, src->cond, src->n, &loss);
    } else {
      st = fill_batch(t, src, t->step);
      if (st == DS_OK && s == 0) maybe_data_init(t);
      if (st == DS_OK) loss = batch_gradient(t);
    }
    if (st != DS_OK) {
      if (loss_out) *loss_out = s > 0 ? total / (double)s : NAN;
      return st;
    }
    loss = train_step(t, loss);
    if (!isfinite(loss)) {
      if (loss_out) *loss_out = s > 0 ? total / (double)s : NAN;
      return ds__fail(ctx, DS_ERR_NUMERIC,
                      "%s: the loss or its gradient is not finite at step %lld "
                      "(not applied; %lld earlier steps of this call were); lower the learning "
                      "rate or enable clipping", fn, (long long)t->step, (long long)s);
    }
    update_ema(t);
    if (s == 0) record_smoothing(t);
    total += loss;
    window += loss;
    in_window++;
    int report = t->progress && ((t->step % t->progress_every) == 0 || s == steps - 1);
    if (report) {
      double t1 = now_seconds();
      double rate = t1 > t0 ? (double)(in_window * t->cfg.batch) / (t1 - t0) : 0.0;
      int32_t stop = t->progress(t->progress_user, t->step, t->horizon,
                                 window / (double)in_window, rate);
      window = 0.0;
      in_window = 0;
      t0 = t1;
      if (stop && t->dist) {
        ds__dist_request_stop(t->dist); /* every rank stops at the next exchange */
      } else if (stop) {
        if (loss_out) *loss_out = total / (double)(s + 1);
        return ds__fail(ctx, DS_ERR_CANCELLED,
                        "%s: cancelled by the progress callback after step %lld", fn,
                        (long long)t->step);
      }
    }
  }
  if (loss_out) *loss_out = steps > 0 ? total / (double)steps : 0.0;
  return DS_OK;
}

ds_status ds__trainer_train(ds_trainer *t, const float *x, const float *cond, int64_t n,
                            int64_t steps, double *loss_out) {
  ds_context *ctx = t->model->ctx;
  if (n < t->cfg.batch) {
    ds_status st = ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                            "ds_trainer_train: n = %lld examples is fewer than one batch of %lld",
                            (long long)n, (long long)t->cfg.batch);
    return t->dist ? ds__dist_fail(t, st, n) : st;
  }
  if (n != t->order_n) {
    int64_t *order = ds__calloc(ctx, (size_t)n, sizeof *order);
    if (!order) {
      ds_status st = ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "ds_trainer_train: out of memory");
      return t->dist ? ds__dist_fail(t, st, n) : st;
    }
    ds__free(ctx, t->order);
    t->order = order;
    t->order_n = n;
    t->order_epoch = -1;
  }
  batch_source src = {x, cond, n, NULL, NULL};
  return run_steps(t, "ds_trainer_train", &src, steps, loss_out);
}

ds_status ds__trainer_train_source(ds_trainer *t, ds_batch_fn fn, void *user, int64_t steps,
                                   double *loss_out) {
  if (t->dist)
    return ds__dist_fail(t, ds__fail(t->model->ctx, DS_ERR_INVALID_ARGUMENT,
                                     "ds_trainer_train_source: a distributed trainer reads its "
                                     "rows of each global batch from arrays (ds_trainer_train)"),
                         0);
  batch_source src = {NULL, NULL, 0, fn, user};
  return run_steps(t, "ds_trainer_train_source", &src, steps, loss_out);
}

ds_status ds__trainer_evaluate(ds_trainer *t, const float *x, const float *cond, int64_t n,
                               uint64_t stream, double *mean_nll) {
  ds_model *m = t->model;
  int64_t B = t->cfg.batch, D = m->cfg.dim, C = m->cfg.cond_dim;
  double total = 0.0;
  for (int64_t i = 0; i < n; i += B) {
    int64_t rows = n - i < B ? n - i : B;
    memcpy(t->batch_x, x + i * D, sizeof(float) * (size_t)(rows * D));
    if (t->mode == DS__TRAIN_PAIRS) memcpy(t->batch_c, x + i * D, sizeof(float) * (size_t)(rows * D));
    if (t->mode == DS__TRAIN_CONDITIONAL)
      memcpy(t->batch_c, cond + i * C, sizeof(float) * (size_t)(rows * C));
    float *noisy = t->mode == DS__TRAIN_PAIRS ? t->batch_c : t->batch_x;
    if (t->mode == DS__TRAIN_SMOOTHED || t->mode == DS__TRAIN_PAIRS)
      ds__smoother_add_noise(t->smoother, noisy, rows * D, DS__STREAM_EVAL | (stream & 0x00ffffffffffffffull),
                             i * D, noisy);
    ds__eval_request req = {t->batch_x, t->batch_c, rows, t->batch_log_prob, 0.0f, NULL, 0};
    ds__model_eval(m, &t->ws, &req);
    for (int64_t r = 0; r < rows; r++) total -= t->batch_log_prob[r];
  }
  if (!isfinite(total))
    return ds__fail(m->ctx, DS_ERR_NUMERIC, "ds_trainer_evaluate: the NLL is not finite");
  *mean_nll = total / (double)n;
  return DS_OK;
}

/* ---- checkpoint: model record, trainer configuration, step, Adam moments ------------- */

ds_status ds__trainer_save(const ds_trainer *t, const char *path) {
  ds_model *m = t->model;
  ds__writer w = {m->ctx, NULL, 0, 0, 0};
  ds__model_serialize(m, &w);
  ds__trainer_config_write(&w, &t->cfg);
  ds__writer_u32(&w, (uint32_t)t->mode);
  ds__writer_u64(&w, t->seed);
  ds__writer_u64(&w, (uint64_t)t->step);
  ds__writer_floats(&w, t->adam_m, m->param_count);
  ds__writer_floats(&w, t->adam_v, m->param_count);
  /* format version 3: the averaged weights, if any */
  ds__writer_u32(&w, t->ema && t->ema_ready ? 1u : 0u);
  if (t->ema && t->ema_ready) ds__writer_floats(&w, t->ema, m->param_count);
  ds_status st = ds__checkpoint_write(m->ctx, "ds_trainer_save", path, DS__CHECKPOINT_TRAINER, &w);
  ds__writer_free(&w);
  return st;
}

/* Every value of a trainer file's optimiser record against what the training code can
 * take: the step below DS__TRAINER_MAX_STEPS (stream numbers, no overflow), first moments
 * finite, second moments finite and >= 0 (their square root divides the update). The
 * model record is checked by ds__model_deserialize, the configuration by equality. */
static ds_status check_optimiser_record(ds_context *ctx, const char *fn, const char *path,
                                        uint64_t step, const float *moments, int64_t P) {
  if (step > (uint64_t)DS__TRAINER_MAX_STEPS)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: '%s' claims %llu steps done; at most %lld are "
                    "possible", fn, path, (unsigned long long)step, (long long)DS__TRAINER_MAX_STEPS);
  for (int64_t k = 0; k < 2 * P; k++) {
    float v = moments[k];
    if (!isfinite(v) || (k >= P && v < 0.0f))
      return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: '%s' has an Adam %s moment of %g at weight %lld "
                      "(must be finite%s)", fn, path, k < P ? "first" : "second", (double)v,
                      (long long)(k < P ? k : k - P), k < P ? "" : " and >= 0");
  }
  return DS_OK;
}

ds_status ds__trainer_resume(ds_trainer *t, const char *path) {
  const char *fn = "ds_trainer_resume";
  ds_model *m = t->model;
  ds_context *ctx = m->ctx;
  uint8_t *file = NULL;
  ds__reader r;
  ds_model *saved = NULL;
  ds_status st = ds__model_read_file(ctx, fn, path, DS__CHECKPOINT_TRAINER, &file, &r, &saved);
  if (st != DS_OK) return st;
  /* the trainer's own configuration must match byte for byte */
  ds__writer mine = {ctx, NULL, 0, 0, 0};
  ds__trainer_config_write(&mine, &t->cfg);
  ds__writer_u32(&mine, (uint32_t)t->mode);
  int64_t P = m->param_count;
  if (mine.failed) st = ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
  else if (!ds__model_config_equal(&saved->cfg, &m->cfg))
    st = ds__fail(ctx, DS_ERR_SHAPE_MISMATCH, "%s: '%s' holds a model of another configuration",
                  fn, path);
  else if (r.len - r.pos < mine.len || memcmp(r.data + r.pos, mine.data, mine.len) != 0)
    st = ds__fail(ctx, DS_ERR_SHAPE_MISMATCH,
                  "%s: '%s' was written by a trainer with another configuration or mode", fn, path);
  if (st == DS_OK) {
    r.pos += mine.len;
    uint64_t seed = ds__reader_u64(&r), step = ds__reader_u64(&r);
    size_t left = r.len - r.pos, moments_bytes = (size_t)P * 8;
    int ema_in_file = 0;
    if (!r.failed && left >= moments_bytes && r.version >= 3) {
      /* u32 flag after the moments, then the averaged weights if the flag is 1 */
      ds__reader tail = r;
      tail.pos += moments_bytes;
      uint32_t flag = ds__reader_u32(&tail);
      ema_in_file = flag == 1u;
      size_t want = moments_bytes + 4 + (ema_in_file ? (size_t)P * 4 : 0);
      if (tail.failed || flag > 1u || left != want) left = 0; /* malformed: reported below */
    } else if (left != moments_bytes) {
      left = 0;
    }
    if (r.failed || left == 0)
      st = ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: '%s' has a malformed optimiser record", fn, path);
    else {
      float *moments = ds__calloc(ctx, (size_t)(3 * P), sizeof(float));
      if (!moments) st = ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
      if (moments) {
        ds__reader_floats(&r, moments, 2 * P);
        if (ema_in_file) {
          (void)ds__reader_u32(&r);
          ds__reader_floats(&r, moments + 2 * P, P);
        }
        st = check_optimiser_record(ctx, fn, path, step, moments, P);
        if (st == DS_OK && ema_in_file && ds__first_nonfinite_f32(moments + 2 * P, P) >= 0)
          st = ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: '%s' has non-finite averaged weights",
                        fn, path);
      }
      if (st == DS_OK) { /* commit: nothing below can fail */
        memcpy(m->params, saved->params, sizeof(float) * (size_t)P);
        ds__model_weights_changed(m);
        memcpy(t->adam_m, moments, sizeof(float) * (size_t)P);
        memcpy(t->adam_v, moments + P, sizeof(float) * (size_t)P);
        /* a trainer with EMA resuming a file without: the average restarts at the next step */
        if (t->ema) memcpy(t->ema, moments + 2 * P, sizeof(float) * (size_t)P);
        if (t->ema) t->ema_ready = ema_in_file;
        m->fresh_init = 0;
        m->smooth_family = saved->smooth_family;
        m->smooth_sigma = saved->smooth_sigma;
        t->seed = seed;
        t->step = (int64_t)step;
        t->order_epoch = -1;
      }
      ds__free(ctx, moments);
    }
  }
  ds__writer_free(&mine);
  ds__model_free(saved);
  ds__free(ctx, file);
  return st;
}
