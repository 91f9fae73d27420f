/* The cached incremental PixelCNN++ sampler (model/graph_sample.c) against the naive
 * pixel-by-pixel sampler (DS_SAMPLE_NAIVE): bitwise equal samples for gray and RGB,
 * continuous and discretized heads, conditional models (conditioning channels, with 3x3
 * conditioning convs, the stacked 2H x W layout), odd sizes, several resnets, both
 * sampling methods and the greedy conditional mean; the same bits for 1 and 3 threads and
 * any n, and on the arenas a call keeps for the next; allocation failures reported
 * cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "test_util.h"
#include "pixelcnn_fixtures.h"
#include "model/model.h"

typedef struct sampler_case {
  int64_t channels, h, w, filters, resnets, K;
  int32_t head;
  tiny_cond cond;
  double dropout;
} sampler_case;

#define UNCOND {0, DS_COND_CHANNELS, 0}
#define CHANNELS {1, DS_COND_CHANNELS, 0}
static const sampler_case cases[] = {
    {1, 4, 4, 4, 1, 2, DS_HEAD_CONTINUOUS, UNCOND, 0.0},
    {1, 5, 7, 6, 2, 3, DS_HEAD_DISCRETIZED, UNCOND, 0.5}, /* odd sizes; dropout inactive */
    {3, 6, 5, 5, 1, 2, DS_HEAD_DISCRETIZED, UNCOND, 0.0}, /* RGB coupling */
    {1, 8, 6, 4, 1, 2, DS_HEAD_DISCRETIZED, CHANNELS, 0.0}, /* conditional */
    {3, 4, 9, 3, 2, 1, DS_HEAD_CONTINUOUS, CHANNELS, 0.0},
    {1, 9, 9, 16, 1, 5, DS_HEAD_CONTINUOUS, UNCOND, 0.0}, /* wide enough for two K blocks */
    {1, 5, 7, 4, 1, 2, DS_HEAD_DISCRETIZED, {1, DS_COND_CHANNELS, 2}, 0.0}, /* cond convs */
    {3, 4, 5, 3, 2, 2, DS_HEAD_CONTINUOUS, {1, DS_COND_CHANNELS, 1}, 0.0},
    {1, 5, 6, 4, 1, 2, DS_HEAD_DISCRETIZED, {1, DS_COND_STACKED, 0}, 0.0}, /* (10, 6) */
    {3, 4, 5, 3, 2, 2, DS_HEAD_CONTINUOUS, {1, DS_COND_STACKED, 0}, 0.0},
};

/* x~ for a conditional model: deterministic values in [-1, 1]. */
static float *cond_images(int64_t n, int64_t D) {
  float *c = test_malloc(sizeof(float) * (size_t)(n * D));
  for (int64_t i = 0; i < n * D; i++) c[i] = (float)sin(0.37 * (double)i);
  return c;
}

static void assert_same_bits(const float *a, const float *b, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (memcmp(&a[i], &b[i], sizeof(float)) != 0)
      fail_msg("element %lld differs: %.9g vs %.9g", (long long)i, (double)a[i], (double)b[i]);
}

static void cached_equals_naive(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const sampler_case *sc = &cases[k];
    ds_context *ctx = test_context(2, 11 + k);
    ds_model *m = tiny_pixelcnn_cond(ctx, sc->channels, sc->h, sc->w, sc->filters,
                                     sc->resnets, sc->K, sc->head, sc->cond, sc->dropout);
    int64_t n = 5, D = ds_model_dim(m);
    float *c = sc->cond.conditional ? cond_images(n, D) : NULL;
    float *fast = test_malloc(sizeof(float) * (size_t)(n * D));
    float *slow = test_malloc(sizeof(float) * (size_t)(n * D));
    for (int32_t method = 0; method < 2; method++) {
      assert_int_equal(ds_model_sample(m, c, n, 3, method, fast), DS_OK);
      assert_int_equal(ds_model_sample(m, c, n, 3, method | DS_SAMPLE_NAIVE, slow), DS_OK);
      assert_same_bits(fast, slow, n * D);
    }
    /* the greedy conditional mean (the conditional denoiser's DS_CONDITIONAL_MEAN) */
    assert_int_equal(ds__model_sample(m, "test", c, n, 4, DS__MIX_SAMPLE_BISECT, 1, fast), DS_OK);
    assert_int_equal(ds__model_sample(m, "test", c, n, 4,
                                      DS__MIX_SAMPLE_BISECT | DS__SAMPLE_NAIVE, 1, slow), DS_OK);
    assert_same_bits(fast, slow, n * D);
    if (c) test_free(c);
    test_free(fast);
    test_free(slow);
    ds_model_free(m);
    ds_context_free(ctx);
  }
}

/* Trained weights (a few steps) move the activations away from the initialisation's;
 * conditional models train as stage 2 (pairs (x, x + noise)). */
static void after_training(tiny_cond cond) {
  ds_context *ctx = test_context(1, 5);
  ds_model *m = tiny_pixelcnn_cond(ctx, 1, 6, 6, 8, 1, 3, DS_HEAD_DISCRETIZED, cond, 0.0);
  int64_t n = 16, D = ds_model_dim(m);
  float *x = test_malloc(sizeof(float) * (size_t)(n * D));
  stripe_images(x, n, 1, 6, 6, 3);
  ds_smoother *sm = NULL;
  if (cond.conditional)
    assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.3, &sm), DS_OK);
  ds_trainer_config *tc = NULL;
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 8), DS_OK);
  assert_int_equal(ds_trainer_create(m, tc, sm, &t), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, n, 20, NULL), DS_OK);
  float *c = cond.conditional ? cond_images(n, D) : NULL;
  float *fast = test_malloc(sizeof(float) * (size_t)(n * D));
  float *slow = test_malloc(sizeof(float) * (size_t)(n * D));
  assert_int_equal(ds_model_sample(m, c, n, 9, DS_SAMPLE_BISECTION, fast), DS_OK);
  assert_int_equal(ds_model_sample(m, c, n, 9, DS_SAMPLE_BISECTION | DS_SAMPLE_NAIVE, slow),
                   DS_OK);
  assert_same_bits(fast, slow, n * D);
  test_free(x), test_free(fast), test_free(slow);
  if (c) test_free(c);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  ds_smoother_free(sm);
  ds_model_free(m);
  ds_context_free(ctx);
}

static void cached_equals_naive_after_training(void **state) {
  (void)state;
  after_training(TINY_UNCONDITIONAL);
  after_training(TINY_COND_CONVS);
  after_training(TINY_STACKED);
}

/* Rows are split over threads and blocks: neither may change a sample. */
static void threads_and_n_do_not_matter(void **state) {
  (void)state;
  int64_t n = 7;
  float *ref = NULL;
  for (int32_t threads = 1; threads <= 3; threads += 2) {
    ds_context *ctx = test_context(threads, 21);
    ds_model *m = tiny_pixelcnn(ctx, 3, 5, 5, 4, 1, 2, DS_HEAD_DISCRETIZED, 1, 0.0);
    int64_t D = ds_model_dim(m);
    float *c = cond_images(n, D), *x = test_malloc(sizeof(float) * (size_t)(n * D));
    assert_int_equal(ds_model_sample(m, c, n, 1, DS_SAMPLE_GUMBEL, x), DS_OK);
    if (!ref) {
      ref = x;
      /* the first 3 examples alone: the same as within 7 */
      float *x3 = test_malloc(sizeof(float) * (size_t)(3 * D));
      assert_int_equal(ds_model_sample(m, c, 3, 1, DS_SAMPLE_GUMBEL, x3), DS_OK);
      assert_same_bits(x3, ref, 3 * D);
      test_free(x3);
    } else {
      assert_same_bits(x, ref, n * D);
      test_free(x);
    }
    test_free(c);
    ds_model_free(m);
    ds_context_free(ctx);
  }
  test_free(ref);
}

/* The arenas a call keeps for the next one (graph_sample.c): the same n again, a smaller
 * n (new arenas), new weights, and 2 threads all still give the naive sampler's bits. */
static void kept_arenas_change_nothing(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 31);
  ds_model *m = tiny_pixelcnn(ctx, 1, 6, 5, 8, 1, 3, DS_HEAD_DISCRETIZED, 0, 0.0);
  int64_t D = ds_model_dim(m), P = ds_model_param_count(m);
  float *fast = test_malloc(sizeof(float) * (size_t)(6 * D));
  float *slow = test_malloc(sizeof(float) * (size_t)(6 * D));
  float *w = test_malloc(sizeof(float) * (size_t)P);
  const int64_t ns[4] = {6, 6, 2, 6};
  for (int i = 0; i < 4; i++) {
    if (i == 3) { /* sharper weights: other activations in the same arenas */
      assert_int_equal(ds_model_get_weights(m, w, P), DS_OK);
      for (int64_t k = 0; k < P; k++) w[k] *= 1.5f;
      assert_int_equal(ds_model_set_weights(m, w, P), DS_OK);
    }
    assert_int_equal(ds_model_sample(m, NULL, ns[i], 5 + i, DS_SAMPLE_BISECTION, fast), DS_OK);
    assert_int_equal(
        ds_model_sample(m, NULL, ns[i], 5 + i, DS_SAMPLE_BISECTION | DS_SAMPLE_NAIVE, slow),
        DS_OK);
    assert_same_bits(fast, slow, ns[i] * D);
  }
  test_free(fast), test_free(slow), test_free(w);
  ds_model_free(m);
  ds_context_free(ctx);
}

static void allocation_failures(void **state) {
  (void)state;
  counting_alloc ca = {0, -1, 0};
  ds_context *ctx = NULL;
  assert_int_equal(counting_context(&ca, 2, &ctx), DS_OK);
  ds_model *m = tiny_pixelcnn(ctx, 1, 5, 5, 4, 1, 2, DS_HEAD_CONTINUOUS, 0, 0.0);
  int64_t n = 4, D = ds_model_dim(m);
  float *x = test_malloc(sizeof(float) * (size_t)(n * D));
  float *ref = test_malloc(sizeof(float) * (size_t)(n * D));
  /* the reference from the naive sampler: the cached one's first call allocates its arenas
     (kept by the model after a successful call) inside the loop */
  assert_int_equal(ds_model_sample(m, NULL, n, 2, DS_SAMPLE_BISECTION | DS_SAMPLE_NAIVE, ref),
                   DS_OK);
  for (int64_t k = 0;; k++) {
    for (int64_t i = 0; i < n * D; i++) x[i] = 7.0f;
    int64_t live = ca.live;
    ca.fail_at = ca.calls + k; /* the k-th allocation of this call fails */
    ds_status st = ds_model_sample(m, NULL, n, 2, DS_SAMPLE_BISECTION, x);
    ca.fail_at = -1;
    if (st != DS_OK) assert_int_equal(ca.live, live);
    if (st == DS_OK) {
      assert_true(k > 5); /* the sampler allocates; the loop must have seen failures */
      assert_same_bits(x, ref, n * D);
      assert_int_equal(ds_model_sample(m, NULL, n, 2, DS_SAMPLE_BISECTION, x), DS_OK);
      assert_same_bits(x, ref, n * D); /* again, on the kept arenas */
      break;
    }
    assert_int_equal(st, DS_ERR_OUT_OF_MEMORY);
    assert_non_null(strstr(ds_context_last_error(ctx), "ds_model_sample"));
    for (int64_t i = 0; i < n * D; i++) assert_true(x[i] == 7.0f);
  }
  test_free(x), test_free(ref);
  ds_model_free(m);
  ds_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(cached_equals_naive),
      cmocka_unit_test(cached_equals_naive_after_training),
      cmocka_unit_test(threads_and_n_do_not_matter),
      cmocka_unit_test(kept_arenas_change_nothing),
      cmocka_unit_test(allocation_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
