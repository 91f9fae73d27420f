/* What dsmooth.h promises about contexts (issue 12): error detail per (thread, context),
 * setter failures found through ds_context_last_error(ctx), the memory budget, handles
 * keeping their context alive, and no DS_OK with a non-finite result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "test_util.h"
#include "model_fixtures.h"
#include "pixelcnn_fixtures.h"
#include "file_patch.h"

/* ---- error detail ------------------------------------------------------------------ */

#define ERROR_THREADS 8
#define ERROR_ROUNDS 2000

typedef struct error_job {
  ds_context *ctx;
  ds_model *model;
  ds_smoother *smoother;
  int id;
  int wrong; /* messages that were not this thread's own */
} error_job;

/* Each thread fails a different call with numbers only it uses, and checks that the
 * detail it reads is exactly its own. */
static void *fail_and_read(void *p) {
  error_job *job = p;
  float x[4] = {0, 0, 0, 0}, out[4];
  double lp[2];
  char want[160], copy[160];
  for (int r = 0; r < ERROR_ROUNDS; r++) {
    int64_t n = -(int64_t)(job->id * 100000 + r + 1);
    ds_status st;
    if (job->id % 2 == 0) {
      st = ds_model_log_prob(job->model, x, NULL, n, lp);
      snprintf(want, sizeof want, "ds_model_log_prob: n = %lld must be >= 1", (long long)n);
    } else {
      st = ds_smoother_apply(job->smoother, x, n, 2, 0, out);
      snprintf(want, sizeof want, "ds_smoother_apply: n = %lld must be >= 1", (long long)n);
    }
    if (st != DS_ERR_INVALID_ARGUMENT || strcmp(ds_context_last_error(job->ctx), want) != 0)
      job->wrong++;
    int64_t len = ds_context_last_error_r(job->ctx, copy, sizeof copy);
    if (len != (int64_t)strlen(want) || strcmp(copy, want) != 0) job->wrong++;
  }
  return NULL;
}

static void eight_threads_read_their_own_error_detail(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 0);
  ds_model *m = small_model(ctx, 2, 0, 2, 8);
  ds_smoother *sm = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.5, &sm), DS_OK);
  pthread_t threads[ERROR_THREADS];
  error_job jobs[ERROR_THREADS];
  for (int i = 0; i < ERROR_THREADS; i++) {
    jobs[i] = (error_job){ctx, m, sm, i, 0};
    assert_int_equal(pthread_create(&threads[i], NULL, fail_and_read, &jobs[i]), 0);
  }
  for (int i = 0; i < ERROR_THREADS; i++) {
    pthread_join(threads[i], NULL);
    assert_int_equal(jobs[i].wrong, 0);
  }
  /* the main thread failed nothing on ctx */
  assert_string_equal(ds_context_last_error(ctx), "");
  ds_smoother_free(sm);
  ds_model_free(m);
  ds_context_free(ctx);
}

/* ds_*_config_set_* have no context; their failures are what ds_context_last_error(ctx)
 * shows when they are the thread's latest (issue: a bad schedule was reported as an
 * earlier, unrelated "fewer than one batch" message). */
static void setter_failures_show_through_the_context(void **state) {
  (void)state;
  ds_status st = ds_trainer_config_set_int(NULL, 0, 0); /* before ctx exists */
  assert_int_equal(st, DS_ERR_INVALID_ARGUMENT);
  ds_context *ctx = test_context(1, 0);
  assert_string_equal(ds_context_last_error(ctx), ""); /* older failures are not ctx's */
  ds_model *m = small_model(ctx, 2, 0, 2, 8);
  ds_trainer_config *tc = small_trainer_config(64, 10);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  float x[16] = {0};
  assert_int_equal(ds_trainer_train(t, x, NULL, 8, 1, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(ctx), "fewer than one batch"));
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_SCHEDULE, 9), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(ctx), "DS_TRAIN_SCHEDULE = 9"));
  assert_non_null(strstr(ds_context_last_error(NULL), "DS_TRAIN_SCHEDULE = 9"));
  /* and a later failure on ctx takes over again */
  assert_int_equal(ds_trainer_train(t, x, NULL, 8, 1, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(ctx), "fewer than one batch"));
  /* truncating copy */
  char small[8];
  int64_t len = ds_context_last_error_r(ctx, small, sizeof small);
  assert_int_equal(len, (int64_t)strlen(ds_context_last_error(ctx)));
  assert_int_equal(strlen(small), 7);
  assert_int_equal(ds_context_last_error_r(ctx, NULL, 0), len);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  ds_model_free(m);
  ds_context_free(ctx);
}

/* ---- memory budget ------------------------------------------------------------------ */

static ds_context *budget_context(uint64_t limit, counting_alloc *a) {
  ds_context_options *o = NULL;
  ds_context *ctx = NULL;
  assert_int_equal(ds_context_options_create(&o), DS_OK);
  assert_int_equal(ds_context_options_set_threads(o, 2), DS_OK);
  assert_int_equal(ds_context_options_set_memory_limit(o, limit), DS_OK);
  if (a)
    assert_int_equal(ds_context_options_set_allocator(o, counting_malloc, counting_realloc,
                                                      counting_free, a), DS_OK);
  assert_int_equal(ds_context_create(o, &ctx), DS_OK);
  ds_context_options_free(o);
  return ctx;
}

/* The case: a tiny model declaring a big image is cheap to make, but evaluating
 * it would need far more memory. Under a budget the evaluation fails cleanly. */
static void budget_bounds_evaluating_a_big_image_model(void **state) {
  (void)state;
  ds_context *ctx = budget_context(8u << 20, NULL);
  ds_model *big = tiny_pixelcnn(ctx, 1, 512, 512, 4, 1, 2, DS_HEAD_CONTINUOUS, 0, 0.0);
  ds_model *small = tiny_pixelcnn(ctx, 1, 8, 8, 4, 1, 2, DS_HEAD_CONTINUOUS, 0, 0.0);
  uint64_t before = ds_context_memory_in_use(ctx);
  assert_true(before > 0 && before < (8u << 20));
  float *x = calloc(512 * 512, sizeof(float));
  double lp = -7.0;
  assert_int_equal(ds_model_log_prob(big, x, NULL, 1, &lp), DS_ERR_OUT_OF_MEMORY);
  assert_non_null(strstr(ds_context_last_error(ctx), "memory limit of 8388608 bytes"));
  assert_true(lp == -7.0);
  assert_int_equal(ds_context_memory_in_use(ctx), before);
  assert_true(ds_context_memory_peak(ctx) <= (8u << 20));
  float *samples = calloc(512 * 512, sizeof(float));
  assert_int_equal(ds_model_sample(big, NULL, 1, 0, DS_SAMPLE_BISECTION, samples),
                   DS_ERR_OUT_OF_MEMORY);
  for (int i = 0; i < 512 * 512; i++) assert_true(samples[i] == 0.0f);
  assert_int_equal(ds_context_memory_in_use(ctx), before);
  /* within the budget everything works as usual; the model keeps its evaluation
   * workspace (counted, within the budget), and a second call allocates nothing */
  assert_int_equal(ds_model_log_prob(small, x, NULL, 1, &lp), DS_OK);
  assert_true(isfinite(lp));
  uint64_t kept = ds_context_memory_in_use(ctx);
  assert_true(kept >= before && kept <= (8u << 20));
  assert_int_equal(ds_model_log_prob(small, x, NULL, 1, &lp), DS_OK);
  assert_int_equal(ds_context_memory_in_use(ctx), kept);
  free(samples);
  free(x);
  ds_model_free(big);
  ds_model_free(small);
  ds_context_free(ctx);
}

/* Loading counts too: weights that do not fit are refused before anything is made. */
static void budget_bounds_loading_and_creating(void **state) {
  (void)state;
  char path[64];
  snprintf(path, sizeof path, "/tmp/ds_budget_%d.ckpt", (int)getpid());
  ds_context *free_ctx = test_context(1, 0);
  ds_model *m = small_model(free_ctx, 8, 0, 4, 512); /* about 1.3 MB of weights */
  assert_int_equal(ds_model_save(m, path), DS_OK);
  ds_model_free(m);
  ds_context_free(free_ctx);

  counting_alloc a = {0, -1, 0};
  ds_context *ctx = budget_context(1u << 20, &a);
  uint64_t base = ds_context_memory_in_use(ctx);
  ds_model *loaded = NULL;
  assert_int_equal(ds_model_load(ctx, path, &loaded), DS_ERR_OUT_OF_MEMORY);
  assert_null(loaded);
  assert_non_null(strstr(ds_context_last_error(ctx), "memory limit"));
  assert_int_equal(ds_context_memory_in_use(ctx), base);
  ds_model_config *cfg = NULL;
  int64_t widths[2] = {512, 512};
  assert_int_equal(ds_model_config_create(DS_ARCH_MADE, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, 8), DS_OK);
  assert_int_equal(ds_model_config_set_hidden(cfg, widths, 2), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &loaded), DS_ERR_OUT_OF_MEMORY);
  assert_null(loaded);
  assert_int_equal(ds_context_memory_in_use(ctx), base);
  ds_model_config_free(cfg);
  ds_context_free(ctx);
  assert_int_equal(a.live, 0);
  unlink(path);
}

/* Under a budget, a call either works or fails with DS_ERR_OUT_OF_MEMORY naming the
 * limit, and either way the context's memory returns to what it was (nothing half-made);
 * the peak never passes the limit. */
#define BUDGETED(call)                                                                     \
  do {                                                                                     \
    uint64_t before_ = ds_context_memory_in_use(ctx);                                      \
    ds_status st_ = (call);                                                                \
    if (st_ != DS_OK) {                                                                    \
      if (st_ != DS_ERR_OUT_OF_MEMORY) print_message("%s\n", ds_context_last_error(ctx)); \
      assert_int_equal(st_, DS_ERR_OUT_OF_MEMORY);                                         \
      assert_non_null(strstr(ds_context_last_error(ctx), "memory limit"));                 \
      refused++;                                                                           \
    }                                                                                      \
    assert_true(st_ != DS_OK || ds_context_memory_in_use(ctx) >= before_);                 \
    if (st_ != DS_OK) assert_int_equal(ds_context_memory_in_use(ctx), before_);            \
    assert_true(ds_context_memory_peak(ctx) <= limit);                                     \
  } while (0)

static void every_call_honours_the_budget(void **state) {
  (void)state;
  char path[64];
  snprintf(path, sizeof path, "/tmp/ds_budget_sweep_%d.ckpt", (int)getpid());
  float x[64 * 2], y[64 * 2], cond[64 * 2];
  mixture_data(x, 64, 9);
  mixture_data(cond, 64, 10);
  double lp[64], grid[16 * 16], mean[16 * 16 * 2], pr = -1, rc = -1, nll = 0;
  for (int i = 0; i < 16 * 16; i++) grid[i] = 1.0 + (i % 7);
  { /* the file every load reads; a save refused for memory leaves it as it was */
    ds_context *free_ctx = test_context(1, 0);
    ds_model *m = small_model(free_ctx, 2, 0, 2, 64);
    assert_int_equal(ds_model_save(m, path), DS_OK);
    ds_model_free(m);
    ds_context_free(free_ctx);
  }
  int worked_all = 0;
  for (uint64_t limit = 16u << 10; limit <= (64u << 20); limit *= 4) {
    int refused = 0;
    ds_context *ctx = NULL;
    ds_context_options *o = NULL;
    assert_int_equal(ds_context_options_create(&o), DS_OK);
    assert_int_equal(ds_context_options_set_threads(o, 2), DS_OK);
    assert_int_equal(ds_context_options_set_memory_limit(o, limit), DS_OK);
    ds_status st = ds_context_create(o, &ctx);
    ds_context_options_free(o);
    if (st != DS_OK) {
      assert_int_equal(st, DS_ERR_OUT_OF_MEMORY);
      continue;
    }
    ds_smoother *sm = NULL;
    ds_model *m = NULL, *m2 = NULL, *loaded = NULL;
    ds_trainer *t = NULL;
    ds_denoiser *dn = NULL;
    ds_model_config *cfg = NULL, *cfg2 = NULL;
    int64_t widths[2] = {64, 64};
    assert_int_equal(ds_model_config_create(DS_ARCH_MADE, &cfg), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, 2), DS_OK);
    assert_int_equal(ds_model_config_set_hidden(cfg, widths, 2), DS_OK);
    assert_int_equal(ds_model_config_create(DS_ARCH_MADE, &cfg2), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg2, DS_MODEL_DIM, 2), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg2, DS_MODEL_COND_DIM, 2), DS_OK);
    assert_int_equal(ds_model_config_set_hidden(cfg2, widths, 2), DS_OK);
    ds_trainer_config *tc = small_trainer_config(32, 10);
    BUDGETED(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.5, &sm));
    BUDGETED(ds_model_create(ctx, cfg, &m));
    BUDGETED(ds_model_create(ctx, cfg2, &m2));
    if (sm) BUDGETED(ds_smoother_grid_posterior_mean(sm, grid, 16, 16, 0, 1, 0, 1, mean));
    if (sm) BUDGETED(ds_smoother_convolve_grid(sm, grid, 16, 16, 0, 1, 0, 1, grid));
    BUDGETED(ds_precision_recall(ctx, x, 64, cond, 64, 2, 3, &pr, &rc));
    if (m) {
      BUDGETED(ds_model_log_prob(m, x, NULL, 64, lp));
      BUDGETED(ds_model_score(m, x, NULL, 64, DS_SCORE_EXACT, y, NULL));
      BUDGETED(ds_model_sample(m, NULL, 64, 1, DS_SAMPLE_BISECTION, y));
      BUDGETED(ds_model_save(m, path));
      BUDGETED(ds_model_load(ctx, path, &loaded));
      BUDGETED(ds_trainer_create(m, tc, sm, &t));
      if (t) BUDGETED(ds_trainer_train(t, x, NULL, 64, 2, NULL));
      if (t) BUDGETED(ds_trainer_evaluate(t, x, NULL, 64, 0, &nll));
      if (sm) BUDGETED(ds_denoiser_create_gradient(m, sm, DS_SCORE_EXACT, &dn));
      if (dn) BUDGETED(ds_denoiser_apply(dn, x, 64, 0, y));
      if (m2 && sm) BUDGETED(ds_two_stage_log_prob_bound(m, m2, sm, x, 64, 4, 0, lp));
      if (m2 && dn) BUDGETED(ds_two_stage_sample(m, dn, 64, 0, y));
    }
    if (refused == 0) worked_all = 1;
    ds_trainer_free(t);
    ds_denoiser_free(dn);
    ds_model_free(loaded);
    ds_model_free(m2);
    ds_model_free(m);
    ds_smoother_free(sm);
    ds_trainer_config_free(tc);
    ds_model_config_free(cfg);
    ds_model_config_free(cfg2);
    ds_context_free(ctx);
  }
  assert_true(worked_all); /* the largest budget is enough for everything */
  unlink(path);
}

/* ---- lifetime ---------------------------------------------------------------------- */

/* ds_context_free before the handles: they keep working and the last one frees it all
 * (under ASan this was a use-after-free). */
static void handles_keep_their_context_alive(void **state) {
  (void)state;
  counting_alloc a = {0, -1, 0};
  ds_context *ctx = NULL;
  assert_int_equal(counting_context(&a, 2, &ctx), DS_OK);
  ds_model *m = small_model(ctx, 2, 0, 2, 8);
  ds_smoother *sm = NULL;
  ds_denoiser *dn = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.3, &sm), DS_OK);
  assert_int_equal(ds_denoiser_create_gradient(m, sm, DS_SCORE_EXACT, &dn), DS_OK);
  ds_context_free(ctx);
  assert_true(a.live > 0);
  float x[8] = {0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f}, y[8];
  double lp[4];
  assert_int_equal(ds_model_log_prob(m, x, NULL, 4, lp), DS_OK);
  assert_int_equal(ds_smoother_apply(sm, x, 4, 2, 1, y), DS_OK);
  assert_int_equal(ds_denoiser_apply(dn, y, 4, 0, x), DS_OK);
  assert_int_equal(ds_model_log_prob(m, x, NULL, -1, lp), DS_ERR_INVALID_ARGUMENT);
  ds_model_free(m);
  ds_denoiser_free(dn);
  assert_true(a.live > 0);
  ds_smoother_free(sm); /* the last handle: now the context goes */
  assert_int_equal(a.live, 0);
}

/* ---- non-finite results ------------------------------------------------------------- */

/* Defect 3: each of these returned DS_OK with infinities. */
static void non_finite_results_are_errors(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 5);
  /* smoother score at sigma = 1e-30: -(x~ - x) / sigma^2 overflows float */
  ds_smoother *tiny = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 1e-30, &tiny), DS_OK);
  float xt[2] = {1.0f, 0.0f}, x0[2] = {0.0f, 0.0f}, score[2] = {0, 0};
  assert_int_equal(ds_smoother_score(tiny, xt, x0, 1, 2, score), DS_ERR_NUMERIC);
  assert_non_null(strstr(ds_context_last_error(ctx), "score[0][0]"));
  /* the gradient denoiser at sigma = 1e20: x~ + sigma^2 * score overflows */
  ds_model *s1 = small_model(ctx, 2, 0, 2, 8);
  ds_model *s2 = small_model(ctx, 2, 2, 2, 8);
  ds_smoother *huge = NULL;
  ds_denoiser *dn = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 1e20, &huge), DS_OK);
  assert_int_equal(ds_denoiser_create_gradient(s1, huge, DS_SCORE_EXACT, &dn), DS_OK);
  float in[4] = {0.5f, -0.5f, 1.0f, 2.0f}, out[4];
  assert_int_equal(ds_denoiser_apply(dn, in, 2, 0, out), DS_ERR_NUMERIC);
  assert_non_null(strstr(ds_context_last_error(ctx), "denoised"));
  float sample[4] = {9, 9, 9, 9};
  assert_int_equal(ds_two_stage_sample(s1, dn, 2, 0, sample), DS_ERR_NUMERIC);
  for (int i = 0; i < 4; i++) assert_true(sample[i] == 9.0f); /* tmp buffer: unchanged */
  ds_denoiser_free(dn);
  ds_smoother_free(huge);
  ds_smoother_free(tiny);
  ds_model_free(s2);
  ds_model_free(s1);
  ds_context_free(ctx);
}

/* Defect 3, last case: a model file with finite but extreme weights made log_prob return
 * -inf with DS_OK. Now DS_OK always comes with finite log-probabilities. */
static void extreme_weights_never_give_ok_with_infinities(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 5);
  ds_model *m = small_model(ctx, 2, 0, 3, 16);
  char path[64];
  snprintf(path, sizeof path, "/tmp/ds_extreme_%d.ckpt", (int)getpid());
  assert_int_equal(ds_model_save(m, path), DS_OK);
  int64_t P = ds_model_param_count(m);
  ds_model_free(m);
  float x[8] = {0.1f, 3.0f, -2.0f, 0.4f, 30.0f, -60.0f, 0.0f, 1e6f};
  int numeric = 0;
  const float scales[] = {1e3f, 1e8f, 1e15f, 1e25f};
  file_bytes original = read_bytes(path);
  for (int s = 0; s < 4; s++) {
    file_bytes b = {malloc(original.len), original.len};
    memcpy(b.data, original.data, b.len);
    uint8_t *w = b.data + b.len - 4 - 4 * (size_t)P;
    for (int64_t k = 0; k < P; k++) {
      float v;
      memcpy(&v, w + 4 * k, 4);
      put_f32(w + 4 * k, v * scales[s]);
    }
    write_bytes_fixed(path, b);
    free(b.data);
    ds_model *e = NULL;
    assert_int_equal(ds_model_load(ctx, path, &e), DS_OK);
    double lp[4];
    ds_status st = ds_model_log_prob(e, x, NULL, 4, lp);
    if (st == DS_OK) {
      for (int i = 0; i < 4; i++) assert_true(isfinite(lp[i]));
    } else {
      assert_int_equal(st, DS_ERR_NUMERIC);
      numeric++;
    }
    ds_model_free(e);
  }
  free(original.data);
  assert_true(numeric > 0);
  unlink(path);
  ds_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(eight_threads_read_their_own_error_detail),
      cmocka_unit_test(setter_failures_show_through_the_context),
      cmocka_unit_test(budget_bounds_evaluating_a_big_image_model),
      cmocka_unit_test(budget_bounds_loading_and_creating),
      cmocka_unit_test(every_call_honours_the_budget),
      cmocka_unit_test(handles_keep_their_context_alive),
      cmocka_unit_test(non_finite_results_are_errors),
      cmocka_unit_test(extreme_weights_never_give_ok_with_infinities),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
