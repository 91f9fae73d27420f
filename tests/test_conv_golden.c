/* Every convolution-family op in its PixelCNN++ (and PixelCNN masked) configuration against
 * golden values from PyTorch 1.13: forward and all gradients. The fixtures in golden/ were
 * written by golden/make_conv_golden.py (see its header for the format). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "conv_test_util.h"
#include "golden_file.h"
#include "core/context.h"
#include "kernels/conv2d.h"
#include "kernels/conv_transpose.h"
#include "reference/masked_conv.h"
#include "reference/nin.h"
#include "kernels/pointwise.h"
#include "test_util.h"

#ifndef DS_GOLDEN_DIR
#error "DS_GOLDEN_DIR must name tests/golden"
#endif

static golden load(const char *op) {
  char path[512];
  snprintf(path, sizeof path, "%s/conv_%s.bin", DS_GOLDEN_DIR, op);
  return golden_load(path);
}

static int find(const golden *g, const char *name) {
  int t = golden_find(g, name);
  if (t < 0) fail_msg("tensor %s missing", name);
  return t;
}
static const float *T(const golden *g, const char *name) { return g->data[find(g, name)]; }
static int64_t N(const golden *g, const char *name) { return g->n[find(g, name)]; }
static int64_t D(const golden *g, const char *name, int d) { return g->dims[find(g, name)][d]; }

static void expect(const golden *g, const char *name, const float *got) {
  int t = find(g, name);
  double *want = ct_widen(g->data[t], g->n[t]);
  ct_assert_close(got, want, g->n[t], 2e-5, name);
  free(want);
}

static void release(golden *g) { golden_free(g); }

static ds_context *g_ctx;

/* name, pads (top, left, right), stride */
static void conv_case(const char *op, int64_t pt, int64_t pl, int64_t pr, int64_t stride) {
  golden g = load(op);
  ds__conv2d_shape s = {D(&g, "x", 0), D(&g, "x", 1), D(&g, "x", 2), D(&g, "x", 3), D(&g, "w", 0),
                        D(&g, "w", 2), D(&g, "w", 3), stride, pt, 0, pl, pr};
  float *y = ct_floats(N(&g, "y")), *dx = ct_floats(N(&g, "x")), *dw = ct_floats(N(&g, "w"));
  float *db = ct_floats(N(&g, "b")), *ws = ct_floats((int64_t)ds__conv2d_workspace(&s, 2));
  assert_int_equal(s.batch * s.cout * ds__conv2d_out_h(&s) * ds__conv2d_out_w(&s), N(&g, "y"));
  ds__conv2d_forward(g_ctx->pool, &s, T(&g, "x"), T(&g, "w"), T(&g, "b"), y, 0, ws);
  ds__conv2d_backward(g_ctx->pool, &s, T(&g, "x"), T(&g, "w"), T(&g, "dy"), dx, dw, db, 0, ws);
  expect(&g, "y", y), expect(&g, "dx", dx), expect(&g, "dw", dw), expect(&g, "db", db);
  free(y), free(dx), free(dw), free(db), free(ws);
  release(&g);
}

static void shifted_convs(void **state) {
  (void)state;
  conv_case("ds23_s1", 1, 1, 1, 1);
  conv_case("ds23_s2", 1, 1, 1, 2);
  conv_case("ds13_s1", 0, 1, 1, 1);
  conv_case("drs22_s1", 1, 1, 0, 1);
  conv_case("drs22_s2", 1, 1, 0, 2);
  conv_case("drs21_s1", 1, 0, 0, 1);
}

static void deconv_case(const char *op, int right) {
  golden g = load(op);
  ds__deconv2d_shape s = ds__deconv2d_pixelcnn(D(&g, "x", 0), D(&g, "x", 1), D(&g, "x", 2),
                                               D(&g, "x", 3), D(&g, "w", 1), D(&g, "w", 2),
                                               D(&g, "w", 3), right);
  assert_int_equal(s.oh, D(&g, "y", 2));
  assert_int_equal(s.ow, D(&g, "y", 3));
  float *y = ct_floats(N(&g, "y")), *dx = ct_floats(N(&g, "x")), *dw = ct_floats(N(&g, "w"));
  float *db = ct_floats(N(&g, "b")), *ws = ct_floats((int64_t)ds__deconv2d_workspace(&s, 2));
  ds__deconv2d_forward(g_ctx->pool, &s, T(&g, "x"), T(&g, "w"), T(&g, "b"), y, ws);
  ds__deconv2d_backward(g_ctx->pool, &s, T(&g, "x"), T(&g, "w"), T(&g, "dy"), dx, dw, db, 0, ws);
  expect(&g, "y", y), expect(&g, "dx", dx), expect(&g, "dw", dw), expect(&g, "db", db);
  free(y), free(dx), free(dw), free(db), free(ws);
  release(&g);
}

static void shifted_deconvs(void **state) {
  (void)state;
  deconv_case("deconv_ds23", 0);
  deconv_case("deconv_drs22", 1);
}

static void nin_with_condition(void **state) {
  (void)state;
  golden g = load("nin_cond");
  int64_t b = D(&g, "x", 0), cin = D(&g, "x", 1), p = D(&g, "x", 2) * D(&g, "x", 3);
  int64_t cout = D(&g, "w", 0), cc = D(&g, "cond", 1);
  float *y = ct_floats(N(&g, "y")), *dx = ct_floats(N(&g, "x")), *dw = ct_floats(N(&g, "w"));
  float *db = ct_floats(N(&g, "b")), *dc = ct_floats(N(&g, "cond")), *dwc = ct_floats(N(&g, "wc"));
  float *ws = ct_floats((int64_t)ds__nin_workspace(b, p, cin, cout, cc, 2));
  ds__nin_forward(g_ctx->pool, b, p, cin, cout, T(&g, "x"), T(&g, "w"), T(&g, "b"), cc,
                  T(&g, "cond"), T(&g, "wc"), y, ws);
  ds__nin_backward(g_ctx->pool, b, p, cin, cout, T(&g, "x"), T(&g, "w"), cc, T(&g, "cond"),
                   T(&g, "wc"), T(&g, "dy"), dx, dw, db, dc, dwc, 0, ws);
  expect(&g, "y", y), expect(&g, "dx", dx), expect(&g, "dw", dw), expect(&g, "db", db);
  expect(&g, "dcond", dc), expect(&g, "dwc", dwc);
  free(y), free(dx), free(dw), free(db), free(dc), free(dwc), free(ws);
  release(&g);
}

static void pointwise_ops(void **state) {
  (void)state;
  ds__pool *pool = g_ctx->pool;
  golden g = load("elu");
  float *y = ct_floats(N(&g, "y")), *dx = ct_floats(N(&g, "x"));
  ds__elu_forward(pool, N(&g, "x"), T(&g, "x"), y);
  ds__elu_backward(pool, N(&g, "x"), y, T(&g, "dy"), dx, 0);
  expect(&g, "y", y), expect(&g, "dx", dx);
  free(y), free(dx), release(&g);

  g = load("concat_elu");
  int64_t b = D(&g, "x", 0), c = D(&g, "x", 1), h = D(&g, "x", 2), w = D(&g, "x", 3);
  y = ct_floats(N(&g, "y")), dx = ct_floats(N(&g, "x"));
  ds__concat_elu_forward(pool, b, c, h * w, T(&g, "x"), y);
  ds__concat_elu_backward(pool, b, c, h * w, T(&g, "x"), T(&g, "dy"), dx, 0);
  expect(&g, "y", y), expect(&g, "dx", dx);
  free(y), free(dx), release(&g);

  g = load("gate");
  y = ct_floats(N(&g, "y")), dx = ct_floats(N(&g, "x"));
  float *dab = ct_floats(N(&g, "ab"));
  ds__gate_forward(pool, b, c, h * w, T(&g, "x"), T(&g, "ab"), y);
  ds__gate_backward(pool, b, c, h * w, T(&g, "ab"), T(&g, "dy"), dx, dab, 0);
  expect(&g, "y", y), expect(&g, "dx", dx), expect(&g, "dab", dab);
  free(y), free(dx), free(dab), release(&g);

  for (int down = 0; down < 2; down++) {
    g = load(down ? "down_shift" : "right_shift");
    y = ct_floats(N(&g, "y")), dx = ct_floats(N(&g, "x"));
    if (down) {
      ds__down_shift_forward(pool, b * c, h, w, T(&g, "x"), y);
      ds__down_shift_backward(pool, b * c, h, w, T(&g, "dy"), dx, 0);
    } else {
      ds__right_shift_forward(pool, b * c, h, w, T(&g, "x"), y);
      ds__right_shift_backward(pool, b * c, h, w, T(&g, "dy"), dx, 0);
    }
    expect(&g, "y", y), expect(&g, "dx", dx);
    free(y), free(dx), release(&g);
  }

  g = load("concat");
  int64_t cb = D(&g, "b", 1);
  y = ct_floats(N(&g, "y"));
  float *da = ct_floats(N(&g, "a")), *dbb = ct_floats(N(&g, "b"));
  ds__concat_channels_forward(pool, b, c, cb, h * w, T(&g, "a"), T(&g, "b"), y);
  ds__concat_channels_backward(pool, b, c, cb, h * w, T(&g, "dy"), da, dbb, 0);
  expect(&g, "y", y), expect(&g, "da", da), expect(&g, "db", dbb);
  free(y), free(da), free(dbb), release(&g);
}

static void masked_convs(void **state) {
  (void)state;
  for (int type = DS_MASK_A; type <= DS_MASK_B; type++) {
    golden g = load(type == DS_MASK_A ? "masked_A" : "masked_B");
    ds__conv2d_shape s = ds__masked_conv2d_shape(D(&g, "x", 0), D(&g, "x", 1), D(&g, "x", 2),
                                                 D(&g, "x", 3), D(&g, "w", 0), 3, 3);
    float *y = ct_floats(N(&g, "y")), *dx = ct_floats(N(&g, "x")), *dw = ct_floats(N(&g, "w"));
    float *db = ct_floats(N(&g, "b"));
    float *ws = ct_floats((int64_t)ds__masked_conv2d_workspace(&s, 2));
    ds__masked_conv2d_forward(g_ctx->pool, &s, type, T(&g, "x"), T(&g, "w"), T(&g, "b"), y, ws);
    ds__masked_conv2d_backward(g_ctx->pool, &s, type, T(&g, "x"), T(&g, "w"), T(&g, "dy"), dx,
                               dw, db, 0, ws);
    expect(&g, "y", y), expect(&g, "dx", dx), expect(&g, "dw", dw), expect(&g, "db", db);
    free(y), free(dx), free(dw), free(db), free(ws);
    release(&g);
  }
}

static int setup(void **state) {
  (void)state;
  g_ctx = test_context(2, 0);
  return 0;
}
static int teardown(void **state) {
  (void)state;
  ds_context_free(g_ctx);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(shifted_convs),   cmocka_unit_test(shifted_deconvs),
      cmocka_unit_test(nin_with_condition), cmocka_unit_test(pointwise_ops),
      cmocka_unit_test(masked_convs),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
