/* Evaluation workspaces kept by the model between calls (model.c's cache): results never
 * depend on what an earlier call left behind (growing batches, log-prob and score
 * interleaved), one image gives the same bits on any number of threads, one model
 * shared by more threads than the cache has slots gives every
 * thread the bits of a lone call (run under TSan with the `threads` label), and an
 * allocation failure with a warm cache is clean and leaves the model usable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "pixelcnn_fixtures.h"

enum { H = 5, W = 6, N = 7, D = H * W };

static ds_model *model(ds_context *ctx) {
  return tiny_pixelcnn(ctx, 1, H, W, 4, 1, 2, DS_HEAD_CONTINUOUS, 0, 0.0);
}

/* log-prob of rows [0, n) and exact score from a model that has never run before */
static void fresh_threads(int32_t threads, int64_t n, const float *x, double *lp, float *score) {
  ds_context *ctx = test_context(threads, 3);
  ds_model *m = model(ctx);
  assert_int_equal(ds_model_log_prob(m, x, NULL, n, lp), DS_OK);
  assert_int_equal(ds_model_score(m, x, NULL, n, DS_SCORE_EXACT, score, NULL), DS_OK);
  ds_model_free(m);
  ds_context_free(ctx);
}

static void fresh(int64_t n, const float *x, double *lp, float *score) {
  fresh_threads(2, n, x, lp, score);
}

/* Fewer images than threads: the work of one image is split (GEMM panels, im2col rows,
 * col2im channels, pointwise ranges), with the bits of one thread. */
static void one_image_same_bits_for_any_thread_count(void **state) {
  (void)state;
  float x[2 * D], s1[2 * D], sn[2 * D];
  double lp1[2], lpn[2];
  stripe_images(x, 2, 1, H, W, 8);
  for (int64_t n = 1; n <= 2; n++) {
    fresh_threads(1, n, x, lp1, s1);
    const int32_t counts[] = {2, 3, 8};
    for (int c = 0; c < 3; c++) {
      fresh_threads(counts[c], n, x, lpn, sn);
      assert_memory_equal(lp1, lpn, sizeof(double) * (size_t)n);
      assert_memory_equal(s1, sn, sizeof(float) * (size_t)(n * D));
    }
  }
}

static void reused_workspaces_give_fresh_bits(void **state) {
  (void)state;
  float x[N * D + 1], s[N * D], want_s[N * D];
  double lp[N], want_lp[N];
  stripe_images(x, N, 1, H, W, 5);
  x[N * D] = 0.25f;
  ds_context *ctx = test_context(2, 3);
  ds_model *m = model(ctx);
  const int64_t sizes[] = {1, N, 2, N, 3}; /* grow, shrink, score after log-prob and back */
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    int64_t n = sizes[i];
    fresh(n, x + i % 2, want_lp, want_s); /* shifted input: no call sees stale activations */
    assert_int_equal(ds_model_log_prob(m, x + i % 2, NULL, n, lp), DS_OK);
    assert_memory_equal(lp, want_lp, sizeof(double) * (size_t)n);
    assert_int_equal(ds_model_score(m, x + i % 2, NULL, n, DS_SCORE_EXACT, s, NULL), DS_OK);
    assert_memory_equal(s, want_s, sizeof(float) * (size_t)(n * D));
    assert_int_equal(ds_model_log_prob(m, x + i % 2, NULL, n, lp), DS_OK);
    assert_memory_equal(lp, want_lp, sizeof(double) * (size_t)n);
  }
  ds_model_free(m);
  ds_context_free(ctx);
}

/* More threads than cached slots (4): some calls run on temporary workspaces. */
enum { CALLERS = 6, ROUNDS = 4 };

typedef struct caller {
  const ds_model *m;
  const float *x;
  double lp[N];
  float s[N * D];
  int failed;
} caller;

static void *call_many(void *p) {
  caller *c = p;
  for (int r = 0; r < ROUNDS; r++) {
    double lp[N];
    float s[N * D];
    if (ds_model_log_prob(c->m, c->x, NULL, N, lp) != DS_OK ||
        ds_model_score(c->m, c->x, NULL, N, DS_SCORE_EXACT, s, NULL) != DS_OK ||
        memcmp(lp, c->lp, sizeof lp) || memcmp(s, c->s, sizeof s))
      c->failed = 1;
  }
  return NULL;
}

static void shared_model_gives_every_thread_its_own_bits(void **state) {
  (void)state;
  float *x = malloc(sizeof(float) * CALLERS * N * D);
  stripe_images(x, CALLERS * N, 1, H, W, 9);
  ds_context *ctx = test_context(2, 3);
  ds_model *m = model(ctx);
  caller c[CALLERS];
  for (int i = 0; i < CALLERS; i++) { /* what each thread must get: a lone call's bits */
    c[i] = (caller){m, x + i * N * D, {0}, {0}, 0};
    fresh(N, c[i].x, c[i].lp, c[i].s);
  }
  pthread_t th[CALLERS];
  for (int i = 0; i < CALLERS; i++) assert_int_equal(pthread_create(&th[i], NULL, call_many, &c[i]), 0);
  for (int i = 0; i < CALLERS; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < CALLERS; i++) assert_int_equal(c[i].failed, 0);
  ds_model_free(m);
  ds_context_free(ctx);
  free(x);
}

/* Once the cache holds a log-prob workspace, a score call must grow it (gradients): fail
 * each of that call's allocations in turn; every failure is OUT_OF_MEMORY with the output
 * untouched, and the model still evaluates correctly afterwards. */
static void allocation_failure_with_a_warm_cache_is_clean(void **state) {
  (void)state;
  float x[N * D], s[N * D], want_s[N * D];
  double lp[N], want_lp[N];
  stripe_images(x, N, 1, H, W, 5);
  counting_alloc plain = {0, -1, 0}; /* the counting context's seed, no failures */
  ds_context *ref = NULL;
  assert_int_equal(counting_context(&plain, 2, &ref), DS_OK);
  ds_model *rm = model(ref);
  assert_int_equal(ds_model_score(rm, x, NULL, N, DS_SCORE_EXACT, want_s, want_lp), DS_OK);
  ds_model_free(rm);
  ds_context_free(ref);
  int failures = 0, done = 0;
  for (int64_t fail_at = 0; fail_at < 100 && !done; fail_at++) {
    counting_alloc a = {0, -1, 0};
    ds_context *ctx = NULL;
    assert_int_equal(counting_context(&a, 2, &ctx), DS_OK);
    ds_model *m = model(ctx);
    assert_int_equal(ds_model_log_prob(m, x, NULL, N, lp), DS_OK);
    a.fail_at = a.calls + fail_at;
    for (int64_t i = 0; i < N * D; i++) s[i] = -7.0f;
    ds_status st = ds_model_score(m, x, NULL, N, DS_SCORE_EXACT, s, NULL);
    a.fail_at = -1;
    if (st == DS_OK) {
      done = 1;
      assert_memory_equal(s, want_s, sizeof s);
    } else {
      failures++;
      assert_int_equal(st, DS_ERR_OUT_OF_MEMORY);
      for (int64_t i = 0; i < N * D; i++) assert_true(s[i] == -7.0f);
    }
    assert_int_equal(ds_model_score(m, x, NULL, N, DS_SCORE_EXACT, s, NULL), DS_OK);
    assert_memory_equal(s, want_s, sizeof s);
    assert_int_equal(ds_model_log_prob(m, x, NULL, N, lp), DS_OK);
    assert_memory_equal(lp, want_lp, sizeof lp);
    ds_model_free(m);
    ds_context_free(ctx);
    assert_int_equal(a.live, 0);
  }
  assert_true(done && failures > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(reused_workspaces_give_fresh_bits),
      cmocka_unit_test(one_image_same_bits_for_any_thread_count),
      cmocka_unit_test(shared_model_gives_every_thread_its_own_bits),
      cmocka_unit_test(allocation_failure_with_a_warm_cache_is_clean),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
