/* The masked PixelCNN (DS_ARCH_PIXELCNN) against an independent PyTorch reference built from
 * torch.nn modules with fixed weights: per-image log-probabilities of tiny networks (gated
 * and plain blocks, ReLU and ELU, gray and RGB, conditional; made by
 * tests/golden/make_masked_pixelcnn_golden.py), loaded through the documented flat
 * parameter layout (model/arch_pixelcnn_masked.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/model.h"
#include "test_util.h"
#include "masked_pixelcnn_fixtures.h"
#include "golden_file.h"

static void check_case(const char *name, int32_t threads) {
  char path[512];
  snprintf(path, sizeof path, "%s/pixelcnn_masked_%s.bin", DS_GOLDEN_DIR, name);
  golden g = golden_load(path);
  const float *cfg = g.data[golden_find(&g, "config")];
  ds_context *ctx = test_context(threads, 1);
  const masked_spec spec = {(int64_t)cfg[0], (int64_t)cfg[1], (int64_t)cfg[2], (int64_t)cfg[3],
                            (int64_t)cfg[4], (int64_t)cfg[5],
                            cfg[6] != 0.0f ? DS_HEAD_DISCRETIZED : DS_HEAD_CONTINUOUS,
                            cfg[7] != 0.0f, cfg[8] != 0.0f, (int32_t)cfg[9]};
  ds_model *m = tiny_masked_pixelcnn(ctx, &spec);
  int tp = golden_find(&g, "params"), tx = golden_find(&g, "x"), tl = golden_find(&g, "log_prob");
  assert_int_equal(ds_model_param_count(m), g.n[tp]);
  assert_int_equal(ds__model_set_params(m, g.data[tp], g.n[tp]), DS_OK); /* masked taps zero */
  int64_t n = g.n[tl];
  assert_int_equal(g.n[tx], n * spec.channels * spec.h * spec.w);
  double lp[8];
  const float *cond = spec.conditional ? g.data[golden_find(&g, "cond")] : NULL;
  assert_int_equal(ds_model_log_prob(m, g.data[tx], cond, n, lp), DS_OK);
  for (int64_t i = 0; i < n; i++) {
    double want = g.data[tl][i];
    if (getenv("DS_GOLDEN_VERBOSE"))
      print_message("%s %lld: %.6f vs %.6f\n", name, (long long)i, lp[i], want);
    if (fabs(lp[i] - want) > 1e-6 * fabs(want) + 1e-4)
      fail_msg("%s image %lld: log p %.6f, PyTorch %.6f", name, (long long)i, lp[i], want);
  }
  ds_model_free(m);
  ds_context_free(ctx);
  golden_free(&g);
}

static void gray_discretized_gated(void **state) {
  (void)state;
  check_case("gray_discretized_gated", 1);
}
static void rgb_continuous_conditional_gated_elu(void **state) {
  (void)state;
  check_case("rgb_continuous_cond_gated", 2);
}
static void gray_continuous_plain_relu(void **state) {
  (void)state;
  check_case("gray_continuous_plain_relu", 1);
}
static void rgb_discretized_conditional_plain_elu(void **state) {
  (void)state;
  check_case("rgb_discretized_cond_plain_elu", 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(gray_discretized_gated),
      cmocka_unit_test(rgb_continuous_conditional_gated_elu),
      cmocka_unit_test(gray_continuous_plain_relu),
      cmocka_unit_test(rgb_discretized_conditional_plain_elu),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
