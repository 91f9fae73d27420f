/* Issue 11: per-object seeds, data-dependent initialisation, the data callback, the
 * cosine horizon, averaged weights, weights in and out, the smoothing record, stage-2
 * capacity and the quadrature box check — all through the public API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"
#include "model_fixtures.h"

#define N 512

static float *weights_of(const ds_model *m) {
  int64_t P = ds_model_param_count(m);
  float *w = malloc(sizeof(float) * (size_t)P);
  assert_non_null(w);
  assert_int_equal(ds_model_get_weights(m, w, P), DS_OK);
  return w;
}

static int same_weights(const ds_model *a, const ds_model *b) {
  int64_t P = ds_model_param_count(a);
  float *wa = weights_of(a), *wb = weights_of(b);
  int same = memcmp(wa, wb, sizeof(float) * (size_t)P) == 0;
  free(wa);
  free(wb);
  return same;
}

static ds_model *seeded_model(ds_context *ctx, int64_t C, int seeded, uint64_t seed) {
  ds_model_config *cfg = NULL;
  ds_model *m = NULL;
  int64_t widths[2] = {16, 16};
  assert_int_equal(ds_model_config_create(DS_ARCH_MADE, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, 2), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, C), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, 3), DS_OK);
  assert_int_equal(ds_model_config_set_hidden(cfg, widths, 2), DS_OK);
  if (seeded) assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_SEED, (int64_t)seed), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
  ds_model_config_free(cfg);
  return m;
}

static void test_models_of_one_context_differ(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 7);
  ds_model *a = small_model(ctx, 2, 0, 3, 16), *b = small_model(ctx, 2, 0, 3, 16);
  assert_int_not_equal(ds_model_seed(a), ds_model_seed(b));
  assert_false(same_weights(a, b));
  ds_model *c = seeded_model(ctx, 0, 1, 99), *d = seeded_model(ctx, 0, 1, 99);
  assert_true(ds_model_seed(c) == 99 && ds_model_seed(d) == 99);
  assert_true(same_weights(c, d));
  /* the same program order in a new context with the same seed gives the same models */
  ds_context *ctx2 = test_context(3, 7);
  ds_model *a2 = small_model(ctx2, 2, 0, 3, 16);
  assert_true(ds_model_seed(a2) == ds_model_seed(a));
  assert_true(same_weights(a, a2));
  ds_model_free(a); ds_model_free(b); ds_model_free(c); ds_model_free(d); ds_model_free(a2);
  ds_context_free(ctx); ds_context_free(ctx2);
}

/* Two stage-1 trainers on identical models: different derived seeds draw different noise
 * (the weights after one step differ); equal explicit seeds give identical steps. */
static void test_trainer_noise_is_independent(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 5);
  ds_smoother *sm = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.5, &sm), DS_OK);
  float *x = malloc(sizeof(float) * 2 * N);
  mixture_data(x, N, 1);
  ds_model *m[4];
  ds_trainer *t[4];
  for (int i = 0; i < 4; i++) {
    m[i] = seeded_model(ctx, 0, 1, 42);
    ds_trainer_config *tc = small_trainer_config(N, 10);
    if (i >= 2) assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_SEED, 1234), DS_OK);
    assert_int_equal(ds_trainer_create(m[i], tc, sm, &t[i]), DS_OK);
    ds_trainer_config_free(tc);
    /* one batch of all N rows: shuffling cannot matter, only the noise */
    assert_int_equal(ds_trainer_train(t[i], x, NULL, N, 1, NULL), DS_OK);
  }
  assert_int_not_equal(ds_trainer_seed(t[0]), ds_trainer_seed(t[1]));
  assert_false(same_weights(m[0], m[1]));
  assert_true(ds_trainer_seed(t[2]) == 1234 && ds_trainer_seed(t[3]) == 1234);
  assert_true(same_weights(m[2], m[3]));
  for (int i = 0; i < 4; i++) { ds_trainer_free(t[i]); ds_model_free(m[i]); }
  ds_smoother_free(sm);
  free(x);
  ds_context_free(ctx);
}

/* Data init: on by default, deterministic for any thread count, switchable, and never
 * applied to a loaded model. */
static void train_once(ds_context *ctx, ds_model *m, int32_t data_init, const float *x,
                       int64_t steps) {
  ds_trainer_config *tc = small_trainer_config(64, 100);
  if (data_init >= 0) assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_DATA_INIT, data_init), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_SEED, 3), DS_OK);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  ds_trainer_config_free(tc);
  assert_int_equal(ds_trainer_train(t, x, NULL, N, steps, NULL), DS_OK);
  ds_trainer_free(t);
  (void)ctx;
}

static void test_data_init(void **state) {
  (void)state;
  float *x = malloc(sizeof(float) * 2 * N);
  mixture_data(x, N, 2);
  ds_model *by_threads[3];
  ds_context *ctxs[3];
  for (int i = 0; i < 3; i++) {
    ctxs[i] = test_context(i + 1, 11);
    by_threads[i] = seeded_model(ctxs[i], 0, 1, 5);
    train_once(ctxs[i], by_threads[i], -1, x, 3); /* default: on */
  }
  assert_true(same_weights(by_threads[0], by_threads[1]));
  assert_true(same_weights(by_threads[0], by_threads[2]));
  ds_context *ctx = ctxs[0];
  ds_model *off = seeded_model(ctx, 0, 1, 5);
  train_once(ctx, off, 0, x, 3);
  assert_false(same_weights(off, by_threads[0]));
  /* the data init starts the heads at the data: lower NLL after 0 steps of learning */
  ds_model *fresh = seeded_model(ctx, 0, 1, 5), *inited = seeded_model(ctx, 0, 1, 5);
  {
    ds_trainer_config *tc = small_trainer_config(64, 100);
    assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_LR, 1e-12), DS_OK);
    ds_trainer *t = NULL;
    assert_int_equal(ds_trainer_create(inited, tc, NULL, &t), DS_OK);
    assert_int_equal(ds_trainer_train(t, x, NULL, N, 1, NULL), DS_OK);
    ds_trainer_free(t);
    ds_trainer_config_free(tc);
  }
  double *lp = malloc(sizeof(double) * N), before = 0, after = 0;
  assert_int_equal(ds_model_log_prob(fresh, x, NULL, N, lp), DS_OK);
  for (int i = 0; i < N; i++) before -= lp[i] / N;
  assert_int_equal(ds_model_log_prob(inited, x, NULL, N, lp), DS_OK);
  for (int i = 0; i < N; i++) after -= lp[i] / N;
  assert_true(after < before - 0.1);
  /* a saved and loaded fresh model is not re-initialised: data_init on == off */
  char path[] = "/tmp/ds_test_init_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(ds_model_save(fresh, path), DS_OK);
  ds_model *l1 = NULL, *l2 = NULL;
  assert_int_equal(ds_model_load(ctx, path, &l1), DS_OK);
  assert_int_equal(ds_model_load(ctx, path, &l2), DS_OK);
  train_once(ctx, l1, 1, x, 2);
  train_once(ctx, l2, 0, x, 2);
  assert_true(same_weights(l1, l2));
  /* nor is a model given weights */
  ds_model *s1 = seeded_model(ctx, 0, 1, 8), *s2 = seeded_model(ctx, 0, 1, 8);
  float *w = weights_of(s1);
  assert_int_equal(ds_model_set_weights(s1, w, ds_model_param_count(s1)), DS_OK);
  train_once(ctx, s1, 1, x, 2);
  train_once(ctx, s2, 0, x, 2);
  assert_true(same_weights(s1, s2));
  free(w);
  unlink(path);
  free(lp);
  ds_model_free(l1); ds_model_free(l2); ds_model_free(s1); ds_model_free(s2);
  ds_model_free(fresh); ds_model_free(inited); ds_model_free(off);
  for (int i = 0; i < 3; i++) { ds_model_free(by_threads[i]); ds_context_free(ctxs[i]); }
  free(x);
}

/* ---- data callback ---- */
typedef struct source_state {
  int64_t calls, next_step, stop_at, nan_at;
  int saw_cond;
} source_state;

static int32_t source(void *user, int64_t step, int64_t batch, float *x, float *cond) {
  source_state *s = user;
  if (step != s->next_step) return 77; /* out of order: fail loudly */
  s->calls++;
  s->next_step++;
  if (cond) s->saw_cond = 1;
  if (step == s->stop_at) return 5;
  mixture_data(x, batch, 1000 + (uint64_t)step);
  if (step == s->nan_at) x[3] = NAN;
  return 0;
}

static void test_data_callback(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 3);
  ds_model *m = small_model(ctx, 2, 0, 3, 16);
  ds_trainer_config *tc = small_trainer_config(64, 1000);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  source_state s = {0, 0, -1, -1, 0};
  double first = 0, last = 0;
  assert_int_equal(ds_trainer_train_source(t, source, &s, 20, &first), DS_OK);
  assert_int_equal(s.calls, 20);
  assert_int_equal(ds_trainer_step(t), 20);
  assert_false(s.saw_cond);
  assert_int_equal(ds_trainer_train_source(t, source, &s, 200, NULL), DS_OK);
  assert_int_equal(ds_trainer_train_source(t, source, &s, 20, &last), DS_OK);
  assert_true(last < first); /* it learns from fresh batches */
  /* a non-zero return stops with CANCELLED; that step is not taken */
  s.stop_at = s.next_step + 2;
  assert_int_equal(ds_trainer_train_source(t, source, &s, 10, NULL), DS_ERR_CANCELLED);
  assert_int_equal(ds_trainer_step(t), 242);
  assert_non_null(strstr(ds_context_last_error(ctx), "returned 5"));
  /* a NaN from the callback: NUMERIC before the step */
  s.next_step = ds_trainer_step(t);
  s.stop_at = -1;
  s.nan_at = s.next_step;
  float *before = weights_of(m);
  assert_int_equal(ds_trainer_train_source(t, source, &s, 3, NULL), DS_ERR_NUMERIC);
  assert_int_equal(ds_trainer_step(t), 242);
  float *after = weights_of(m);
  assert_memory_equal(before, after, sizeof(float) * (size_t)ds_model_param_count(m));
  assert_int_equal(ds_trainer_train_source(t, NULL, &s, 3, NULL), DS_ERR_INVALID_ARGUMENT);
  free(before); free(after);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  ds_model_free(m);
  /* conditional without smoother: the callback fills cond too */
  ds_model *mc = small_model(ctx, 2, 2, 3, 16);
  tc = small_trainer_config(32, 1000);
  assert_int_equal(ds_trainer_create(mc, tc, NULL, &t), DS_OK);
  source_state sc = {0, 0, -1, -1, 0};
  assert_int_equal(ds_trainer_train_source(t, source, &sc, 2, NULL), DS_OK);
  assert_true(sc.saw_cond);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  ds_model_free(mc);
  ds_context_free(ctx);
}

/* ---- schedule horizon ---- */
static void test_schedule_horizon(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 3);
  float *x = malloc(sizeof(float) * 2 * N);
  mixture_data(x, N, 4);
  ds_model *m = small_model(ctx, 2, 0, 3, 16);
  ds_trainer_config *tc = small_trainer_config(64, 10); /* explicit horizon 10, lr_min 0 */
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, N, 8, NULL), DS_OK);
  /* steps 8..12 would pass the horizon at lr 0: refused, nothing run */
  assert_int_equal(ds_trainer_train(t, x, NULL, N, 5, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_step(t), 8);
  assert_non_null(strstr(ds_context_last_error(ctx), "horizon"));
  assert_int_equal(ds_trainer_train(t, x, NULL, N, 2, NULL), DS_OK);
  ds_trainer_free(t);
  /* with a floor, running past the horizon is allowed (constant lr_min) */
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_LR_MIN, 1e-4), DS_OK);
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, N, 12, NULL), DS_OK);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  /* unset horizon: each call anneals over itself, and its last step still moves the
     weights (0.2's default horizon of 1000 would have frozen every step from 1000 on) */
  assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 64), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_SCHEDULE, DS_LR_COSINE), DS_OK);
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, N, 1005, NULL), DS_OK);
  float *before = weights_of(m);
  assert_int_equal(ds_trainer_train(t, x, NULL, N, 1, NULL), DS_OK);
  float *after = weights_of(m);
  assert_true(memcmp(before, after, sizeof(float) * (size_t)ds_model_param_count(m)) != 0);
  free(before); free(after);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  ds_model_free(m);
  free(x);
  ds_context_free(ctx);
}

/* ---- EMA: kept, saved, resumed bitwise ---- */
static ds_trainer *ema_trainer(ds_model *m) {
  ds_trainer_config *tc = small_trainer_config(64, 40);
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_EMA_DECAY, 0.9), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_SEED, 77), DS_OK);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  ds_trainer_config_free(tc);
  return t;
}

static void test_ema_save_resume(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 9);
  float *x = malloc(sizeof(float) * 2 * N);
  mixture_data(x, N, 5);
  ds_model *a = seeded_model(ctx, 0, 1, 1), *b = seeded_model(ctx, 0, 1, 1);
  ds_model *ema_a = seeded_model(ctx, 0, 1, 2), *ema_b = seeded_model(ctx, 0, 1, 2);
  ds_trainer *ta = ema_trainer(a);
  assert_int_equal(ds_trainer_ema_to_model(ta, ema_a), DS_ERR_BAD_STATE); /* no step yet */
  /* the average itself: after step 1 the weights, after step 2 0.9 w1 + 0.1 w2 (in float) */
  int64_t P = ds_model_param_count(a);
  assert_int_equal(ds_trainer_train(ta, x, NULL, N, 1, NULL), DS_OK);
  float *w1 = weights_of(a);
  assert_int_equal(ds_trainer_ema_to_model(ta, ema_a), DS_OK);
  float *e1 = weights_of(ema_a);
  assert_memory_equal(w1, e1, sizeof(float) * (size_t)P);
  assert_int_equal(ds_trainer_train(ta, x, NULL, N, 1, NULL), DS_OK);
  float *w2 = weights_of(a);
  assert_int_equal(ds_trainer_ema_to_model(ta, ema_a), DS_OK);
  float *e2 = weights_of(ema_a);
  float d = 0.9f, e = 1.0f - d;
  for (int64_t k = 0; k < P; k++) assert_true(e2[k] == d * w1[k] + e * w2[k]);
  free(w1); free(e1); free(w2); free(e2);
  assert_int_equal(ds_trainer_train(ta, x, NULL, N, 38, NULL), DS_OK);
  assert_int_equal(ds_trainer_ema_to_model(ta, ema_a), DS_OK);
  assert_false(same_weights(a, ema_a)); /* the average is not the last weights */
  /* interrupted at 15 steps, saved, resumed in a fresh trainer */
  ds_trainer *tb = ema_trainer(b);
  assert_int_equal(ds_trainer_train(tb, x, NULL, N, 15, NULL), DS_OK);
  char path[] = "/tmp/ds_test_ema_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(ds_trainer_save(tb, path), DS_OK);
  ds_trainer_free(tb);
  ds_model *b2 = seeded_model(ctx, 0, 1, 3);
  ds_trainer *tb2 = ema_trainer(b2);
  assert_int_equal(ds_trainer_resume(tb2, path), DS_OK);
  assert_int_equal(ds_trainer_train(tb2, x, NULL, N, 25, NULL), DS_OK);
  assert_int_equal(ds_trainer_ema_to_model(tb2, ema_b), DS_OK);
  assert_true(same_weights(a, b2));
  assert_true(same_weights(ema_a, ema_b));
  /* a trainer without EMA resumes the same file (the average is ignored) */
  ds_model *b3 = seeded_model(ctx, 0, 1, 4);
  ds_trainer_config *tc = small_trainer_config(64, 40);
  ds_trainer *tb3 = NULL;
  assert_int_equal(ds_trainer_create(b3, tc, NULL, &tb3), DS_OK);
  assert_int_equal(ds_trainer_resume(tb3, path), DS_OK);
  assert_int_equal(ds_trainer_ema_to_model(tb3, ema_b), DS_ERR_BAD_STATE);
  ds_trainer_free(tb3);
  ds_trainer_config_free(tc);
  unlink(path);
  ds_trainer_free(ta); ds_trainer_free(tb2);
  ds_model_free(a); ds_model_free(b); ds_model_free(b2); ds_model_free(b3);
  ds_model_free(ema_a); ds_model_free(ema_b);
  free(x);
  ds_context_free(ctx);
}

/* ---- weights, free parameters, stage-2 capacity ---- */
static void test_weights_and_capacity(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 2);
  ds_model *m = small_model(ctx, 2, 0, 3, 16);
  int64_t P = ds_model_param_count(m), F = ds_model_free_param_count(m);
  assert_true(F > 0 && F < P);
  float *w = weights_of(m);
  /* F < P: some weights are masked, so all-ones breaks the mask */
  for (int64_t k = 0; k < P; k++) w[k] = 1.0f;
  assert_int_equal(ds_model_set_weights(m, w, P), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(ctx), "masked"));
  w[0] = NAN;
  assert_int_equal(ds_model_set_weights(m, w, P), DS_ERR_NUMERIC);
  assert_int_equal(ds_model_set_weights(m, w, P - 1), DS_ERR_SHAPE_MISMATCH);
  for (int64_t k = 0; k < P; k++) w[k] = 0.0f;
  assert_int_equal(ds_model_set_weights(m, w, P), DS_OK);
  float *back = weights_of(m);
  assert_memory_equal(w, back, sizeof(float) * (size_t)P);
  free(w); free(back);
  /* the conditioning share: more x~-only units, more free weights for p(x1 | x~) */
  ds_model_config *cfg = NULL;
  int64_t widths[2] = {64, 64};
  assert_int_equal(ds_model_config_create(DS_ARCH_MADE, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, 2), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, 2), DS_OK);
  assert_int_equal(ds_model_config_set_hidden(cfg, widths, 2), DS_OK);
  ds_model *half = NULL, *more = NULL, *loaded = NULL;
  assert_int_equal(ds_model_create(ctx, cfg, &half), DS_OK);
  assert_int_equal(ds_model_config_set_float(cfg, DS_MODEL_COND_SHARE, 1.5), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_set_float(cfg, DS_MODEL_COND_SHARE, 0.75), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &more), DS_OK);
  assert_int_equal(ds_model_param_count(half), ds_model_param_count(more));
  assert_true(ds_model_free_param_count(more) != ds_model_free_param_count(half));
  char path[] = "/tmp/ds_test_share_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(ds_model_save(more, path), DS_OK);
  assert_int_equal(ds_model_load(ctx, path, &loaded), DS_OK);
  assert_int_equal(ds_model_free_param_count(loaded), ds_model_free_param_count(more));
  assert_true(same_weights(loaded, more));
  unlink(path);
  /* unconditional MADE: refused at creation */
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, 0), DS_OK);
  ds_model *bad = NULL;
  assert_int_equal(ds_model_create(ctx, cfg, &bad), DS_ERR_INVALID_ARGUMENT);
  assert_null(bad);
  ds_model_config_free(cfg);
  ds_model_free(half); ds_model_free(more); ds_model_free(loaded); ds_model_free(m);
  ds_context_free(ctx);
}

/* ---- smoothing record and the quadrature box ---- */
static void test_smoothing_record_and_box(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 4);
  float *x = malloc(sizeof(float) * 2 * N);
  mixture_data(x, N, 6);
  ds_smoother *sm = NULL, *other = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.5, &sm), DS_OK);
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.3, &other), DS_OK);
  ds_model *s1 = small_model(ctx, 2, 0, 3, 16), *s2 = small_model(ctx, 2, 2, 3, 16);
  int32_t family = 9;
  double sigma = 9;
  assert_int_equal(ds_model_smoothing(s1, &family, &sigma), DS_OK);
  assert_int_equal(family, -1);
  /* before training nothing is recorded: any smoother is taken on trust */
  ds_denoiser *dn = NULL;
  assert_int_equal(ds_denoiser_create_gradient(s1, other, DS_SCORE_EXACT, &dn), DS_OK);
  ds_denoiser_free(dn);
  dn = NULL;
  ds_trainer_config *tc = small_trainer_config(64, 1800);
  ds_trainer *t1 = NULL, *t2 = NULL;
  assert_int_equal(ds_trainer_create(s1, tc, sm, &t1), DS_OK);
  assert_int_equal(ds_trainer_create(s2, tc, sm, &t2), DS_OK);
  assert_int_equal(ds_trainer_train(t1, x, NULL, N, 300, NULL), DS_OK);
  assert_int_equal(ds_trainer_train(t2, x, NULL, N, 300, NULL), DS_OK);
  for (int r = 0; r < 5; r++) assert_int_equal(ds_trainer_train(t2, x, NULL, N, 300, NULL), DS_OK);
  assert_int_equal(ds_model_smoothing(s1, &family, &sigma), DS_OK);
  assert_int_equal(family, DS_NOISE_GAUSSIAN);
  assert_true(sigma == 0.5);
  /* kept through a checkpoint; another sigma refused by the denoiser and the bound */
  char path[] = "/tmp/ds_test_smooth_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(ds_model_save(s1, path), DS_OK);
  ds_model *l1 = NULL;
  assert_int_equal(ds_model_load(ctx, path, &l1), DS_OK);
  unlink(path);
  assert_int_equal(ds_denoiser_create_gradient(l1, other, DS_SCORE_EXACT, &dn), DS_ERR_INVALID_ARGUMENT);
  assert_null(dn);
  assert_non_null(strstr(ds_context_last_error(ctx), "sigma 0.5"));
  assert_int_equal(ds_denoiser_create_gradient(l1, sm, DS_SCORE_EXACT, &dn), DS_OK);
  ds_denoiser_free(dn);
  double bound[4] = {1, 2, 3, 4}, lp[4];
  assert_int_equal(ds_two_stage_log_prob_bound(l1, s2, other, x, 4, 2, 0, bound), DS_ERR_INVALID_ARGUMENT);
  assert_true(bound[0] == 1);
  assert_int_equal(ds_two_stage_log_prob_bound(l1, s2, sm, x, 4, 2, 0, bound), DS_OK);
  /* the box: wide enough passes and agrees with the bound to within its slack */
  assert_int_equal(ds_two_stage_log_prob_grid(l1, s2, x, 4, -6, 6, 96, lp), DS_OK);
  /* the IW bound with 256 samples is below log p up to its Monte Carlo error */
  assert_int_equal(ds_two_stage_log_prob_bound(l1, s2, sm, x, 4, 256, 1, bound), DS_OK);
  for (int i = 0; i < 4; i++) assert_true(lp[i] >= bound[i] - 0.05 && lp[i] < bound[i] + 0.5);
  double keep = lp[0];
  /* a box missing the stage-1 mass */
  assert_int_equal(ds_two_stage_log_prob_grid(l1, s2, x, 4, -1, 1, 32, lp), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(ctx), "stage 1's probability mass"));
  assert_true(lp[0] == keep);
  /* a point outside the box */
  float far[2] = {7.0f, 0.0f};
  assert_int_equal(ds_two_stage_log_prob_grid(l1, s2, far, 1, -6, 6, 96, lp), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(ctx), "outside the box"));
  ds_trainer_free(t1); ds_trainer_free(t2);
  ds_trainer_config_free(tc);
  ds_model_free(s1); ds_model_free(s2); ds_model_free(l1);
  ds_smoother_free(sm); ds_smoother_free(other);
  free(x);
  ds_context_free(ctx);
}

/* 1-D models with hand-set weights (MADE hidden 1 x 1, K = 1): stage 1 a logistic at 0
 * with log-scale -0.5, stage 2 p(x | c) a logistic at c with log-scale -2 (hidden units
 * relu(c + 10) - 10 = c). A point at the box's edge: its integrand peaks just inside and
 * is cut in half by the box, which must be refused; a point in the middle passes and
 * matches the analytic convolution of the two logistics closely. */
static ds_model *tiny_1d(ds_context *ctx, int64_t C, const float *w, int64_t count) {
  ds_model_config *cfg = NULL;
  ds_model *m = NULL;
  int64_t widths[2] = {1, 1};
  assert_int_equal(ds_model_config_create(DS_ARCH_MADE, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, 1), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, C), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, 1), DS_OK);
  assert_int_equal(ds_model_config_set_hidden(cfg, widths, 2), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
  ds_model_config_free(cfg);
  assert_int_equal(ds_model_param_count(m), count);
  assert_int_equal(ds_model_set_weights(m, w, count), DS_OK);
  return m;
}

static void test_quadrature_box_edge(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 1);
  /* per layer W (out, in) then b: [x] -> 1 -> 1 -> [logit, mean, log-scale] */
  const float w1[10] = {0, 0, 0, 0, 0, 0, 0, 0, 0, -0.5f};
  /* [x, c] -> 1 (x masked) -> 1 -> head */
  const float w2[11] = {0, 1, 10, 1, 0, 0, 1, 0, 0, -10, -2};
  ds_model *s1 = tiny_1d(ctx, 0, w1, 10), *s2 = tiny_1d(ctx, 1, w2, 11);
  double lp[2];
  float x[2] = {0.0f, 5.9f};
  assert_int_equal(ds_two_stage_log_prob_grid(s1, s2, x, 1, -6, 6, 400, lp), DS_OK);
  /* log p(0) of the convolution: near the stage-1 logistic's log density at 0 (the
     stage-2 kernel is 8x narrower) */
  double s = exp(-0.5), logistic0 = -log(4.0 * s);
  assert_true(fabs(lp[0] - logistic0) < 0.05);
  lp[1] = 123.0;
  assert_int_equal(ds_two_stage_log_prob_grid(s1, s2, x, 2, -6, 6, 400, lp), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(ctx), "example 1"));
  assert_non_null(strstr(ds_context_last_error(ctx), "edge of the box"));
  assert_true(lp[1] == 123.0);
  /* a wider box takes it */
  assert_int_equal(ds_two_stage_log_prob_grid(s1, s2, x, 2, -9, 9, 600, lp), DS_OK);
  assert_true(isfinite(lp[1]) && lp[1] < lp[0]);
  ds_model_free(s1);
  ds_model_free(s2);
  ds_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_models_of_one_context_differ),
      cmocka_unit_test(test_trainer_noise_is_independent),
      cmocka_unit_test(test_data_init),
      cmocka_unit_test(test_data_callback),
      cmocka_unit_test(test_schedule_horizon),
      cmocka_unit_test(test_ema_save_resume),
      cmocka_unit_test(test_weights_and_capacity),
      cmocka_unit_test(test_smoothing_record_and_box),
      cmocka_unit_test(test_quadrature_box_edge),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
