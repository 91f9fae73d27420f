/* PixelCNN++ against an independent PyTorch reference with fixed weights: per-image
 * log-probabilities of tiny networks (tests/golden/make_pixelcnn_golden.py), loaded into a
 * model through the documented flat parameter layout (model/pixelcnn.h). */
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

#define MAX_TENSORS 8

typedef struct golden {
  int count;
  char name[MAX_TENSORS][16];
  int64_t n[MAX_TENSORS];
  float *data[MAX_TENSORS];
} golden;

static uint32_t read_u32(FILE *f) {
  unsigned char b[4];
  assert_int_equal(fread(b, 1, 4, f), 4);
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static golden load(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/pixelcnn_%s.bin", DS_GOLDEN_DIR, name);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char magic[8];
  assert_int_equal(fread(magic, 1, 8, f), 8);
  assert_memory_equal(magic, "DSGOLD1", 8);
  golden g;
  memset(&g, 0, sizeof g);
  g.count = (int)read_u32(f);
  assert_true(g.count <= MAX_TENSORS);
  for (int t = 0; t < g.count; t++) {
    uint32_t len = read_u32(f);
    assert_true(len < 16);
    assert_int_equal(fread(g.name[t], 1, len, f), len);
    uint32_t ndim = read_u32(f);
    assert_true(ndim <= 4);
    g.n[t] = 1;
    for (uint32_t d = 0; d < ndim; d++) g.n[t] *= read_u32(f);
    g.data[t] = malloc(sizeof(float) * (size_t)g.n[t]);
    for (int64_t i = 0; i < g.n[t]; i++) {
      uint32_t u = read_u32(f);
      memcpy(&g.data[t][i], &u, 4);
    }
  }
  fclose(f);
  return g;
}

static int find(const golden *g, const char *name) {
  for (int t = 0; t < g->count; t++)
    if (!strcmp(g->name[t], name)) return t;
  return -1;
}

static void check_case(const char *name, int32_t threads) {
  golden g = load(name);
  const float *cfg = g.data[find(&g, "config")];
  ds_context *ctx = test_context(threads, 1);
  int64_t C = (int64_t)cfg[0], H = (int64_t)cfg[1], W = (int64_t)cfg[2];
  int cond = cfg[7] != 0.0f;
  ds_model *m = tiny_pixelcnn(ctx, C, H, W, (int64_t)cfg[3], (int64_t)cfg[4], (int64_t)cfg[5],
                              cfg[6] != 0.0f ? DS_HEAD_DISCRETIZED : DS_HEAD_CONTINUOUS, cond, 0);
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
  for (int t = 0; t < g.count; t++) free(g.data[t]);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(gray_discretized),
      cmocka_unit_test(rgb_continuous_conditional),
      cmocka_unit_test(gray_continuous_two_resnets_odd_sizes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
