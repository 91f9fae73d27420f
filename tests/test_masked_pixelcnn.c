/* Masked PixelCNN (DS_ARCH_PIXELCNN) internals: causality of the whole network (gray, RGB,
 * conditional, gated and plain blocks), the mask's structure and zero weights, gradients of
 * the parameters and of the input (exact score) against central finite differences,
 * masked weights that stay zero through training, and the cached sampler bitwise equal to
 * the naive one. The thread tests are in test_masked_pixelcnn_model.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>

#include "model/model.h"
#include "model/pixelcnn.h"
#include "test_util.h"
#include "pixelcnn_fixtures.h"
#include "masked_pixelcnn_fixtures.h"

static void random_fill(float *x, int64_t n, uint64_t seed, float scale) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 3;
  for (int64_t i = 0; i < n; i++) x[i] = scale * (float)(test_uniform01(&s) * 2.0 - 1.0);
}

/* head (rows, groups * P) for x (rows, D) */
static float *heads(ds_model *m, const float *x, const float *c, int64_t rows) {
  ds__model_ws ws;
  assert_int_equal(ds__model_ws_init(m, rows, &ws), DS_OK);
  const float *h = ds__model_forward_heads(m, &ws, x, c, rows);
  size_t n = (size_t)(rows * ws.head_stride);
  float *out = malloc(n * sizeof(float));
  memcpy(out, h, n * sizeof(float));
  ds__model_ws_free(m, &ws);
  return out;
}

/* Perturbing pixel k (any channel) changes no head of pixels <= k and some head after it;
 * x~ reaches every head, the first pixel's included. */
static void check_causality(int64_t channels, int conditional, int gated, int32_t act) {
  ds_context *ctx = test_context(1, 5);
  const masked_spec spec = {channels, 8, 6, 4, 2, 2, DS_HEAD_CONTINUOUS, conditional, gated, act};
  const int64_t H = spec.h, W = spec.w, D = channels * H * W;
  ds_model *m = tiny_masked_pixelcnn(ctx, &spec);
  int64_t P = m->group_params, G = H * W;
  float *x = malloc(sizeof(float) * (size_t)D);
  float *c = conditional ? malloc(sizeof(float) * (size_t)D) : NULL;
  random_fill(x, D, 1, 1.0f);
  if (c) random_fill(c, D, 2, 1.0f);
  float *base = heads(m, x, c, 1);
  for (int64_t k = 0; k < G; k++) {
    for (int64_t ch = 0; ch < channels; ch++) {
      float keep = x[k * channels + ch];
      x[k * channels + ch] += 0.9f;
      float *moved = heads(m, x, c, 1);
      x[k * channels + ch] = keep;
      int later_changed = 0;
      for (int64_t g = 0; g < G; g++) {
        int changed = memcmp(base + g * P, moved + g * P, sizeof(float) * (size_t)P) != 0;
        if (g <= k && changed) fail_msg("pixel %lld channel %lld changed the head of pixel %lld",
                                        (long long)k, (long long)ch, (long long)g);
        later_changed |= changed;
      }
      if (k < G - 1) assert_true(later_changed);
      free(moved);
    }
  }
  if (c) {
    c[0] += 0.5f;
    float *moved = heads(m, x, c, 1);
    assert_true(memcmp(base, moved, sizeof(float) * (size_t)P) != 0);
    free(moved);
  }
  free(base), free(x), free(c);
  ds_model_free(m);
  ds_context_free(ctx);
}

static void causal_gray_gated(void **state) {
  (void)state;
  check_causality(1, 0, 1, DS_ACTIVATION_RELU);
}
static void causal_gray_plain(void **state) {
  (void)state;
  check_causality(1, 0, 0, DS_ACTIVATION_RELU);
}
static void causal_rgb(void **state) {
  (void)state;
  check_causality(3, 0, 1, DS_ACTIVATION_RELU);
  check_causality(3, 0, 0, DS_ACTIVATION_ELU);
}
static void causal_conditional(void **state) {
  (void)state;
  check_causality(1, 1, 1, DS_ACTIVATION_RELU);
  check_causality(3, 1, 0, DS_ACTIVATION_ELU);
}

/* The mask zeroes 25 of 49 taps of the 7x7 mask-A conv and 4 of 9 of each 3x3 mask-B conv,
 * for every channel pair; fresh weights are zero there and nowhere else, and weights that
 * break the mask are refused. */
static void mask_structure(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 3);
  for (int gated = 0; gated <= 1; gated++) {
    const masked_spec spec = {3, 5, 7, 6, 3, 2, DS_HEAD_CONTINUOUS, 1, gated, DS_ACTIVATION_RELU};
    ds_model *m = tiny_masked_pixelcnn(ctx, &spec);
    int64_t F = spec.filters, G = gated ? 2 * F : F, zeros = 0, zero_weights = 0;
    for (int64_t k = 0; k < m->param_count; k++) {
      zeros += m->mask[k] == 0.0f;
      if (m->mask[k] == 0.0f) assert_true(m->params[k] == 0.0f);
      else zero_weights += m->params[k] == 0.0f;
    }
    assert_int_equal(zeros, F * (spec.channels + 1) * 25 + spec.layers * G * F * 4);
    assert_true(zero_weights < 3); /* a free weight drawn as exactly 0 is possible, not likely */
    /* the first masked tap: output 0, input 0, row 3 (the centre), column 3 (the centre) */
    assert_true(m->mask[3 * 7 + 3] == 0.0f && m->mask[3 * 7 + 2] == 1.0f);
    float *params = malloc(sizeof(float) * (size_t)m->param_count);
    memcpy(params, m->params, sizeof(float) * (size_t)m->param_count);
    params[3 * 7 + 3] = 0.25f;
    assert_int_equal(ds__model_set_params(m, params, m->param_count), DS_ERR_INVALID_ARGUMENT);
    free(params);
    ds_model_free(m);
  }
  ds_context_free(ctx);
}

static double total_log_prob(ds_model *m, const float *x, const float *c, int64_t rows) {
  double lp[4], acc = 0;
  assert_true(rows <= 4);
  assert_int_equal(ds_model_log_prob(m, x, c, rows, lp), DS_OK);
  for (int64_t r = 0; r < rows; r++) acc += lp[r];
  return acc;
}

static int close_to(double analytic, double fd) {
  return fabs(fd - analytic) <= 2e-2 * fmax(1.0, fabs(fd));
}

/* d(sign * sum log p)/dv by finite differences agrees with `analytic`: the central
 * difference with step 1e-2, or, where a ReLU kink lies within that step, a one-sided
 * difference with step 1e-3 on the side without the kink. */
static int fd_agrees(ds_model *m, float *v, const float *x, const float *c, int64_t rows,
                     double analytic, double sign, double *central) {
  float keep = *v;
  double f[5];
  const float steps[5] = {1e-2f, -1e-2f, 1e-3f, -1e-3f, 0.0f};
  for (int i = 0; i < 5; i++) {
    *v = keep + steps[i];
    ds__model_weights_changed(m);
    f[i] = sign * total_log_prob(m, x, c, rows);
  }
  *v = keep;
  ds__model_weights_changed(m);
  *central = (f[0] - f[1]) / 2e-2;
  return close_to(analytic, *central) || close_to(analytic, (f[2] - f[4]) / 1e-3) ||
         close_to(analytic, (f[4] - f[3]) / 1e-3);
}

/* Parameter gradient of sum(-log p) against finite differences (the masked taps: exactly
 * zero), and the exact score. */
static void check_gradients(const masked_spec *spec) {
  ds_context *ctx = test_context(1, 9);
  const int64_t D = spec->channels * spec->h * spec->w, rows = 2;
  ds_model *m = tiny_masked_pixelcnn(ctx, spec);
  float *x = malloc(sizeof(float) * (size_t)(rows * D));
  float *c = spec->conditional ? malloc(sizeof(float) * (size_t)(rows * D)) : NULL;
  random_fill(x, rows * D, 3, 0.9f);
  if (c) random_fill(c, rows * D, 4, 1.0f);
  if (spec->head == DS_HEAD_DISCRETIZED)
    for (int64_t i = 0; i < rows * D; i++)
      x[i] = (float)(round((x[i] + 1.0) * 127.5) / 127.5 - 1.0);
  ds__model_ws ws;
  double lp[2], fd;
  float *grad = calloc((size_t)m->param_count, sizeof(float));
  assert_int_equal(ds__model_ws_init(m, rows, &ws), DS_OK);
  /* a pass on other data first: the workspace's stale gradients must not leak through */
  float *other = malloc(sizeof(float) * (size_t)(rows * D));
  for (int64_t i = 0; i < rows * D; i++) other[i] = -0.5f * x[i];
  ds__eval_request warm = {other, c, rows, lp, 1.0f, NULL, 0};
  ds__model_eval(m, &ws, &warm);
  ds__model_param_grads(m, &ws, rows, grad);
  free(other);
  ds__eval_request req = {x, c, rows, lp, 1.0f, NULL, 0};
  ds__model_eval(m, &ws, &req);
  ds__model_param_grads(m, &ws, rows, grad);
  ds__model_ws_free(m, &ws);
  int64_t masked_nonzero = 0;
  for (int64_t k = 0; k < m->param_count; k++)
    masked_nonzero += m->mask[k] == 0.0f && grad[k] != 0.0f;
  assert_int_equal(masked_nonzero, 0);
  int64_t stride = m->param_count / 150 + 1, checked = 0, bad = 0;
  for (int64_t k = 0; k < m->param_count; k += stride) {
    if (m->mask[k] == 0.0f) continue;
    if (!fd_agrees(m, &m->params[k], x, c, rows, grad[k], -1.0, &fd)) {
      bad++;
      print_message("param %lld: analytic %g, finite difference %g\n", (long long)k, grad[k], fd);
    }
    checked++;
  }
  assert_true(checked > 50);
  assert_true(bad <= checked / 50); /* float32 differences through a deep net: allow a stray one */
  if (spec->head == DS_HEAD_CONTINUOUS) {
    float *score = malloc(sizeof(float) * (size_t)(rows * D));
    assert_int_equal(ds_model_score(m, x, c, rows, DS_SCORE_EXACT, score, NULL), DS_OK);
    bad = 0;
    for (int64_t i = 0; i < rows * D; i += 3)
      if (!fd_agrees(m, &x[i], x, c, rows, score[i], 1.0, &fd)) {
        bad++;
        print_message("x[%lld]: score %g, finite difference %g\n", (long long)i, score[i], fd);
      }
    assert_true(bad <= 1);
    free(score);
  }
  free(grad), free(x), free(c);
  ds_model_free(m);
  ds_context_free(ctx);
}

static void gradients_gray_gated(void **state) {
  (void)state;
  const masked_spec s = {1, 5, 4, 3, 2, 2, DS_HEAD_CONTINUOUS, 0, 1, DS_ACTIVATION_RELU};
  check_gradients(&s);
}
static void gradients_gray_discretized_plain_relu(void **state) {
  (void)state;
  const masked_spec s = {1, 5, 4, 3, 2, 2, DS_HEAD_DISCRETIZED, 0, 0, DS_ACTIVATION_RELU};
  check_gradients(&s);
}
static void gradients_rgb_plain_elu(void **state) {
  (void)state;
  const masked_spec s = {3, 4, 4, 3, 2, 2, DS_HEAD_CONTINUOUS, 0, 0, DS_ACTIVATION_ELU};
  check_gradients(&s);
}
static void gradients_conditional_gated(void **state) {
  (void)state;
  const masked_spec s = {1, 5, 4, 3, 2, 2, DS_HEAD_CONTINUOUS, 1, 1, DS_ACTIVATION_ELU};
  check_gradients(&s);
}

/* Adam with weight decay and clipping moves every free weight and no masked one. */
static void masked_weights_stay_zero(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 14);
  const masked_spec spec = {3, 5, 5, 4, 2, 2, DS_HEAD_DISCRETIZED, 0, 1, DS_ACTIVATION_RELU};
  const int64_t D = 3 * 5 * 5, n = 8;
  ds_model *m = tiny_masked_pixelcnn(ctx, &spec);
  float *before = malloc(sizeof(float) * (size_t)m->param_count);
  memcpy(before, m->params, sizeof(float) * (size_t)m->param_count);
  float *x = malloc(sizeof(float) * (size_t)(n * D));
  stripe_images(x, n, 3, 5, 5, 2);
  ds_trainer_config *tc = NULL;
  assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 4), DS_OK);
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_WEIGHT_DECAY, 0.1), DS_OK);
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_CLIP_NORM, 1.0), DS_OK);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, n, 10, NULL), DS_OK);
  int64_t moved = 0, free_count = 0;
  for (int64_t k = 0; k < m->param_count; k++) {
    if (m->mask[k] == 0.0f) {
      assert_true(m->params[k] == 0.0f);
      assert_false(signbit(m->params[k]));
    } else {
      free_count++;
      moved += m->params[k] != before[k];
    }
  }
  assert_int_equal(moved, free_count);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  free(x), free(before);
  ds_model_free(m);
  ds_context_free(ctx);
}

static void assert_same_bits(const float *a, const float *b, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (memcmp(&a[i], &b[i], sizeof(float)) != 0)
      fail_msg("element %lld differs: %.9g vs %.9g", (long long)i, (double)a[i], (double)b[i]);
}

/* The cached incremental sampler (model/graph_sample.c, reading the masks from the op
 * table) against the naive pixel-by-pixel loop: the same bits for both sampling methods and
 * the greedy conditional mean, fresh and trained weights. */
static void cached_sampler_equals_naive(void **state) {
  (void)state;
  const masked_spec cases[] = {
      {1, 4, 4, 4, 2, 2, DS_HEAD_CONTINUOUS, 0, 1, DS_ACTIVATION_RELU},
      {1, 5, 7, 5, 3, 3, DS_HEAD_DISCRETIZED, 0, 0, DS_ACTIVATION_RELU}, /* odd sizes */
      {3, 6, 5, 4, 2, 2, DS_HEAD_DISCRETIZED, 0, 0, DS_ACTIVATION_ELU},  /* RGB coupling */
      {1, 8, 6, 4, 2, 2, DS_HEAD_DISCRETIZED, 1, 1, DS_ACTIVATION_ELU},  /* conditional */
      {3, 4, 9, 3, 1, 1, DS_HEAD_CONTINUOUS, 1, 0, DS_ACTIVATION_RELU},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const masked_spec *sc = &cases[k];
    ds_context *ctx = test_context(2, 31 + k);
    ds_model *m = tiny_masked_pixelcnn(ctx, sc);
    int64_t n = 5, D = ds_model_dim(m);
    float *x = malloc(sizeof(float) * (size_t)(8 * D));
    float *c = sc->conditional ? malloc(sizeof(float) * (size_t)(8 * D)) : NULL;
    stripe_images(x, 8, sc->channels, sc->h, sc->w, 3 + k);
    if (c) random_fill(c, 8 * D, 7 + k, 1.0f);
    float *fast = malloc(sizeof(float) * (size_t)(n * D));
    float *slow = malloc(sizeof(float) * (size_t)(n * D));
    for (int trained = 0; trained <= 1; trained++) {
      if (trained) { /* a few steps move the weights away from the initialisation's */
        ds_trainer_config *tc = NULL;
        ds_trainer *t = NULL;
        assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
        assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 4), DS_OK);
        assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_LR, 1e-2), DS_OK);
        assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
        assert_int_equal(ds_trainer_train(t, x, c, 8, 6, NULL), DS_OK);
        ds_trainer_free(t);
        ds_trainer_config_free(tc);
      }
      for (int32_t method = 0; method < 2; method++) {
        assert_int_equal(ds_model_sample(m, c, n, 3, method, fast), DS_OK);
        assert_int_equal(ds_model_sample(m, c, n, 3, method | DS_SAMPLE_NAIVE, slow), DS_OK);
        assert_same_bits(fast, slow, n * D);
      }
      assert_int_equal(ds__model_sample(m, "test", c, n, 4, DS__MIX_SAMPLE_BISECT, 1, fast),
                       DS_OK);
      assert_int_equal(ds__model_sample(m, "test", c, n, 4,
                                        DS__MIX_SAMPLE_BISECT | DS__SAMPLE_NAIVE, 1, slow),
                       DS_OK);
      assert_same_bits(fast, slow, n * D);
    }
    free(x), free(c), free(fast), free(slow);
    ds_model_free(m);
    ds_context_free(ctx);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(causal_gray_gated),
      cmocka_unit_test(causal_gray_plain),
      cmocka_unit_test(causal_rgb),
      cmocka_unit_test(causal_conditional),
      cmocka_unit_test(mask_structure),
      cmocka_unit_test(gradients_gray_gated),
      cmocka_unit_test(gradients_gray_discretized_plain_relu),
      cmocka_unit_test(gradients_rgb_plain_elu),
      cmocka_unit_test(gradients_conditional_gated),
      cmocka_unit_test(masked_weights_stay_zero),
      cmocka_unit_test(cached_sampler_equals_naive),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
