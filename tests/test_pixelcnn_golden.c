/* PixelCNN++ against an independent PyTorch reference with fixed weights: per-image
 * log-probabilities of tiny networks (tests/golden/make_pixelcnn_golden.py), loaded into a
 * model through the documented flat parameter layout (model/arch_pixelcnnpp.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/model.h"
#include "test_util.h"
#include "pixelcnn_fixtures.h"
#include "golden_file.h"

static golden load(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/pixelcnn_%s.bin", DS_GOLDEN_DIR, name);
  return golden_load(path);
}

static int find(const golden *g, const char *name) { return golden_find(g, name); }

static void check_case(const char *name, int32_t threads) {
  golden g = load(name);
  const float *cfg = g.data[find(&g, "config")];
  ds_context *ctx = test_context(threads, 1);
  int64_t C = (int64_t)cfg[0], H = (int64_t)cfg[1], W = (int64_t)cfg[2];
  int cond = cfg[7] != 0.0f;
  int has_layout = g.n[find(&g, "config")] >= 10; /* else the defaults */
  tiny_cond how = {cond, has_layout ? (int32_t)cfg[8] : DS_COND_CHANNELS,
                   has_layout ? (int64_t)cfg[9] : 0};
  ds_model *m = tiny_pixelcnn_cond(ctx, C, H, W, (int64_t)cfg[3], (int64_t)cfg[4],
                                   (int64_t)cfg[5],
                                   cfg[6] != 0.0f ? DS_HEAD_DISCRETIZED : DS_HEAD_CONTINUOUS,
                                   how, 0);
  int tp = find(&g, "params"), tx = find(&g, "x"), tl = find(&g, "log_prob");
  assert_int_equal(ds_model_param_count(m), g.n[tp]);
  assert_int_equal(ds__model_set_params(m, g.data[tp], g.n[tp]), DS_OK);
  int64_t n = g.n[tl];
  assert_int_equal(g.n[tx], n * C * H * W);
  double lp[8];
  assert_int_equal(ds_model_log_prob(m, g.data[tx], cond ? g.data[find(&g, "cond")] : NULL, n, lp),
                   DS_OK);
  for (int64_t i = 0; i < n; i++) {
    double want = g.data[tl][i];
    if (getenv("DS_GOLDEN_VERBOSE")) print_message("%s %lld: %.6f vs %.6f\n", name, (long long)i, lp[i], want);
    if (fabs(lp[i] - want) > 1e-6 * fabs(want) + 1e-4)
      fail_msg("%s image %lld: log p %.6f, PyTorch %.6f", name, (long long)i, lp[i], want);
  }
  ds_model_free(m);
  ds_context_free(ctx);
  golden_free(&g);
}

static void gray_discretized(void **state) {
  (void)state;
  check_case("gray_discretized", 1);
}
static void rgb_continuous_conditional(void **state) {
  (void)state;
  check_case("rgb_continuous_cond", 2);
}
static void gray_continuous_two_resnets_odd_sizes(void **state) {
  (void)state;
  check_case("gray_continuous_r2", 1);
}
/* x~ stacked above x, an unconditional network on (10, 6), the bottom half's log p */
static void stacked_layout(void **state) {
  (void)state;
  check_case("stacked_gray_discretized", 2);
}
/* x~ through two 3x3 convs before the per-resnet 1x1s */
static void two_cond_convs(void **state) {
  (void)state;
  check_case("rgb_cond_convs2", 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(gray_discretized),
      cmocka_unit_test(rgb_continuous_conditional),
      cmocka_unit_test(gray_continuous_two_resnets_odd_sizes),
      cmocka_unit_test(stacked_layout),
      cmocka_unit_test(two_cond_convs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
