/* PixelCNN++ internals: causality of the whole network, gradients of the parameters and of
 * the input (exact score) against central finite differences — unconditional and for each
 * way x~ enters a conditional model (channels, channels after 3x3 convs, stacked) — the
 * stacked layout against the unconditional network on [x~; x], normalisation of the
 * discretized head at the model level. Single-threaded: the thread tests are elsewhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>

#include "model/model.h"
#include "model/pixelcnn.h"
#include "test_util.h"
#include "pixelcnn_fixtures.h"

static void random_fill(float *x, int64_t n, uint64_t seed, float scale) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 3;
  for (int64_t i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    x[i] = scale * (float)(((double)(s >> 11) / 9007199254740992.0) * 2.0 - 1.0);
  }
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

static void check_causality(int64_t channels, tiny_cond cond) {
  ds_context *ctx = test_context(1, 5);
  const int64_t H = 8, W = 6, D = channels * H * W;
  ds_model *m = tiny_pixelcnn_cond(ctx, channels, H, W, 4, 1, 2, DS_HEAD_CONTINUOUS, cond, 0);
  int64_t P = m->group_params, G = H * W;
  float *x = malloc(sizeof(float) * (size_t)D);
  float *c = cond.conditional ? malloc(sizeof(float) * (size_t)D) : NULL;
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
        if (g <= k) assert_false(changed); /* pixel g sees only pixels before it */
        later_changed |= changed;
      }
      if (k < G - 1) assert_true(later_changed);
      free(moved);
    }
  }
  if (c) { /* x~ reaches the first pixel: at its own position, or (stacked) from the row
              above it; and changing x~ anywhere changes some conditional */
    int64_t k = cond.layout == DS_COND_STACKED ? (H - 1) * W * channels : 0;
    c[k] += 0.5f;
    float *moved = heads(m, x, c, 1);
    assert_true(memcmp(base, moved, sizeof(float) * (size_t)P) != 0);
    free(moved);
    c[k] -= 0.5f;
    for (k = 0; k < D; k++) {
      float keep = c[k];
      c[k] += 0.5f;
      moved = heads(m, x, c, 1);
      c[k] = keep;
      assert_true(memcmp(base, moved, sizeof(float) * (size_t)(G * P)) != 0);
      free(moved);
    }
  }
  free(base), free(x), free(c);
  ds_model_free(m);
  ds_context_free(ctx);
}

static void causal_gray(void **state) { (void)state; check_causality(1, TINY_UNCONDITIONAL); }
static void causal_rgb(void **state) { (void)state; check_causality(3, TINY_UNCONDITIONAL); }
static void causal_conditional(void **state) { (void)state; check_causality(1, TINY_CHANNELS); }
static void causal_cond_convs(void **state) { (void)state; check_causality(3, TINY_COND_CONVS); }
static void causal_stacked(void **state) { (void)state; check_causality(1, TINY_STACKED); }
static void causal_stacked_rgb(void **state) { (void)state; check_causality(3, TINY_STACKED); }

static double total_log_prob(ds_model *m, const float *x, const float *c, int64_t rows) {
  double lp[4], acc = 0;
  assert_true(rows <= 4);
  assert_int_equal(ds_model_log_prob(m, x, c, rows, lp), DS_OK);
  for (int64_t r = 0; r < rows; r++) acc += lp[r];
  return acc;
}

/* Parameter gradient of sum(-log p) and the exact score against central differences. */
static void check_gradients(int64_t channels, int32_t head, tiny_cond cond) {
  ds_context *ctx = test_context(1, 9);
  const int64_t H = 5, W = 4, D = channels * H * W, rows = 2;
  ds_model *m = tiny_pixelcnn_cond(ctx, channels, H, W, 3, 1, 2, head, cond, 0);
  float *x = malloc(sizeof(float) * (size_t)(rows * D));
  float *c = cond.conditional ? malloc(sizeof(float) * (size_t)(rows * D)) : NULL;
  random_fill(x, rows * D, 3, 0.9f);
  if (c) random_fill(c, rows * D, 4, 1.0f);
  if (head == DS_HEAD_DISCRETIZED)
    for (int64_t i = 0; i < rows * D; i++) x[i] = (float)(round((x[i] + 1.0) * 127.5) / 127.5 - 1.0);
  ds__model_ws ws;
  double lp[2];
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
  /* the conditioning convs' weights (first in the layout, before the first conv of the
     input) are all checked at a finer stride: they are trained through the pooling */
  const ds__graph *p = ds__pcnn_of(m);
  int64_t cond_end = -1, cond_nonzero = 0;
  for (int32_t i = 0; i < p->op_count && cond_end < 0; i++)
    if (p->ops[i].kind == DS__OP_CONV && p->ops[i].in == p->input) cond_end = p->ops[i].w_offset;
  assert_int_equal(cond_end > 0, cond.convs > 0);
  for (int64_t k = 0; k < cond_end; k++) cond_nonzero += grad[k] != 0.0f;
  assert_true(cond_nonzero >= cond_end * 9 / 10);
  int64_t stride = m->param_count / 150 + 1, checked = 0, bad = 0;
  for (int64_t k = 0; k < m->param_count; k += k < cond_end ? 3 : stride) {
    float keep = m->params[k];
    float h = 1e-2f;
    m->params[k] = keep + h;
    ds__model_weights_changed(m);
    double up = total_log_prob(m, x, c, rows);
    m->params[k] = keep - h;
    ds__model_weights_changed(m);
    double down = total_log_prob(m, x, c, rows);
    m->params[k] = keep;
    ds__model_weights_changed(m);
    double fd = -(up - down) / (2.0 * (double)h);
    double err = fabs(fd - grad[k]);
    if (err > 2e-2 * fmax(1.0, fabs(fd))) {
      bad++;
      print_message("param %lld: analytic %g, finite difference %g\n", (long long)k, grad[k], fd);
    }
    checked++;
  }
  assert_true(checked > 50);
  assert_true(bad <= checked / 50); /* float32 differences through a deep net: allow a stray one */
  if (head == DS_HEAD_CONTINUOUS) {
    float *score = malloc(sizeof(float) * (size_t)(rows * D));
    assert_int_equal(ds_model_score(m, x, c, rows, DS_SCORE_EXACT, score, NULL), DS_OK);
    bad = 0;
    for (int64_t i = 0; i < rows * D; i += 3) {
      float keep = x[i], h = 1e-2f;
      x[i] = keep + h;
      double up = total_log_prob(m, x, c, rows);
      x[i] = keep - h;
      double down = total_log_prob(m, x, c, rows);
      x[i] = keep;
      double fd = (up - down) / (2.0 * (double)h);
      if (fabs(fd - score[i]) > 2e-2 * fmax(1.0, fabs(fd))) {
        bad++;
        print_message("x[%lld]: score %g, finite difference %g\n", (long long)i, score[i], fd);
      }
    }
    assert_true(bad <= 1);
    free(score);
  }
  free(grad), free(x), free(c);
  ds_model_free(m);
  ds_context_free(ctx);
}

static void gradients_gray_continuous(void **state) {
  (void)state;
  check_gradients(1, DS_HEAD_CONTINUOUS, TINY_UNCONDITIONAL);
}
static void gradients_gray_discretized(void **state) {
  (void)state;
  check_gradients(1, DS_HEAD_DISCRETIZED, TINY_UNCONDITIONAL);
}
static void gradients_rgb_continuous(void **state) {
  (void)state;
  check_gradients(3, DS_HEAD_CONTINUOUS, TINY_UNCONDITIONAL);
}
static void gradients_conditional(void **state) {
  (void)state;
  check_gradients(1, DS_HEAD_CONTINUOUS, TINY_CHANNELS);
}
static void gradients_cond_convs(void **state) {
  (void)state;
  check_gradients(1, DS_HEAD_CONTINUOUS, TINY_COND_CONVS);
}
static void gradients_cond_convs_rgb_discretized(void **state) {
  (void)state;
  check_gradients(3, DS_HEAD_DISCRETIZED, TINY_COND_CONVS);
}
static void gradients_stacked(void **state) {
  (void)state;
  check_gradients(1, DS_HEAD_CONTINUOUS, TINY_STACKED);
}
static void gradients_stacked_rgb(void **state) {
  (void)state;
  check_gradients(3, DS_HEAD_CONTINUOUS, TINY_STACKED);
}

/* The stacked layout is an unconditional PixelCNN++ on [x~; x]: with the same weights, its
 * heads are the bottom half of that model's heads, bit for bit, and its log p is the sum
 * of the bottom half's conditionals. */
static void stacked_is_the_bottom_half(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 6);
  const int64_t C = 3, H = 5, W = 4, D = C * H * W, rows = 2;
  ds_model *st = tiny_pixelcnn_cond(ctx, C, H, W, 4, 1, 2, DS_HEAD_CONTINUOUS, TINY_STACKED, 0);
  ds_model *un = tiny_pixelcnn(ctx, C, 2 * H, W, 4, 1, 2, DS_HEAD_CONTINUOUS, 0, 0);
  assert_int_equal(st->param_count, un->param_count);
  assert_int_equal(st->groups, H * W);
  memcpy(st->params, un->params, sizeof(float) * (size_t)st->param_count);
  ds__model_weights_changed(st);
  float *x = malloc(sizeof(float) * (size_t)(rows * D)), *c = malloc(sizeof(float) * (size_t)(rows * D));
  float *both = malloc(sizeof(float) * (size_t)(2 * rows * D));
  random_fill(x, rows * D, 7, 0.9f);
  random_fill(c, rows * D, 8, 1.0f);
  for (int64_t r = 0; r < rows; r++) { /* raster order: x~'s rows, then x's */
    memcpy(both + 2 * r * D, c + r * D, sizeof(float) * (size_t)D);
    memcpy(both + 2 * r * D + D, x + r * D, sizeof(float) * (size_t)D);
  }
  float *hs = heads(st, x, c, rows), *hu = heads(un, both, NULL, rows);
  int64_t half = H * W * st->group_params;
  for (int64_t r = 0; r < rows; r++)
    assert_memory_equal(hs + r * half, hu + r * 2 * half + half, sizeof(float) * (size_t)half);
  double lp[2];
  assert_int_equal(ds_model_log_prob(st, x, c, rows, lp), DS_OK);
  for (int64_t r = 0; r < rows; r++) {
    double want = 0.0;
    for (int64_t g = 0; g < H * W; g++)
      want += ds__mix_rgb_log_prob(hs + r * half + g * st->group_params, 2, NULL,
                                   x + r * D + g * C, NULL, NULL);
    assert_true(fabs(lp[r] - want) < 1e-9 * fabs(want));
  }
  free(hs), free(hu), free(x), free(c), free(both);
  ds_model_free(st), ds_model_free(un);
  ds_context_free(ctx);
}

/* The last pixel's 256 levels, every other pixel fixed: log p(x) - log P(x_D | x_<D) is
 * the same for every level (the other conditionals do not see x_D) and equals
 * log sum_v p(x_<D, v) (the model's probabilities of the 256 completions sum to P(x_<D)). */
static void discretized_sums_to_one(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 4);
  const int64_t H = 4, W = 5, D = H * W;
  ds_model *m = tiny_pixelcnn(ctx, 1, H, W, 4, 1, 3, DS_HEAD_DISCRETIZED, 0, 0);
  for (int64_t k = 0; k < m->param_count; k++) m->params[k] *= 2.0f; /* sharper conditionals */
  ds__model_weights_changed(m);
  float *x = malloc(sizeof(float) * (size_t)(256 * D));
  stripe_images(x, 1, 1, H, W, 5);
  for (int v = 1; v < 256; v++) memcpy(x + v * D, x, sizeof(float) * (size_t)D);
  for (int v = 0; v < 256; v++) x[v * D + D - 1] = (float)(v / 127.5 - 1.0);
  double lp[256], mx = -INFINITY, acc = 0.0;
  assert_int_equal(ds_model_log_prob(m, x, NULL, 256, lp), DS_OK);
  for (int v = 0; v < 256; v++) mx = lp[v] > mx ? lp[v] : mx;
  for (int v = 0; v < 256; v++) acc += exp(lp[v] - mx);
  double marginal = mx + log(acc);
  float *head = heads(m, x, NULL, 256);
  int64_t stride = m->groups * m->group_params;
  for (int v = 0; v < 256; v++) {
    const float *hp = head + v * stride + (D - 1) * m->group_params;
    double own = ds__mix_log_mass(hp, 3, &m->bins, x[v * D + D - 1], NULL);
    assert_true(fabs(lp[v] - own - marginal) < 1e-4);
  }
  free(head), free(x);
  ds_model_free(m);
  ds_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(causal_gray),
      cmocka_unit_test(causal_rgb),
      cmocka_unit_test(causal_conditional),
      cmocka_unit_test(causal_cond_convs),
      cmocka_unit_test(causal_stacked),
      cmocka_unit_test(causal_stacked_rgb),
      cmocka_unit_test(gradients_gray_continuous),
      cmocka_unit_test(gradients_gray_discretized),
      cmocka_unit_test(gradients_rgb_continuous),
      cmocka_unit_test(gradients_conditional),
      cmocka_unit_test(gradients_cond_convs),
      cmocka_unit_test(gradients_cond_convs_rgb_discretized),
      cmocka_unit_test(gradients_stacked),
      cmocka_unit_test(gradients_stacked_rgb),
      cmocka_unit_test(stacked_is_the_bottom_half),
      cmocka_unit_test(discretized_sums_to_one),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
