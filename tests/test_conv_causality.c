/* Autoregressive causality of the shifted-convolution stacks (PixelCNN++) and of masked
 * convolutions (PixelCNN): changing input pixel k never changes an output that must not
 * see it, and does change some output that may. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "conv_test_util.h"
#include "core/context.h"
#include "kernels/conv2d.h"
#include "kernels/conv_transpose.h"
#include "reference/masked_conv.h"
#include "reference/nin.h"
#include "kernels/pointwise.h"
#include "test_util.h"

enum { H = 8, W = 8, F = 3 };

static ds__pool *g_pool;

/* y (1, cout, oh, ow) = conv(x (1, cin, h, w)) with fixed random weights from seed. */
static float *conv(const float *x, int64_t cin, int64_t h, int64_t w, int64_t cout, int64_t kh,
                   int64_t kw, int64_t stride, int64_t pt, int64_t pl, int64_t pr, uint64_t seed) {
  ds__conv2d_shape s = {1, cin, h, w, cout, kh, kw, stride, pt, 0, pl, pr};
  ct_seed(seed);
  float *wt = ct_random(cout * cin * kh * kw), *b = ct_random(cout);
  float *y = ct_floats(cout * ds__conv2d_out_h(&s) * ds__conv2d_out_w(&s));
  float *ws = ct_floats((int64_t)ds__conv2d_workspace(&s, 2));
  ds__conv2d_forward(g_pool, &s, x, wt, b, y, 0, ws);
  free(wt), free(b), free(ws);
  return y;
}

static float *deconv(const float *x, int64_t cin, int64_t h, int64_t w, int64_t cout,
                     int64_t kw, int right, uint64_t seed) {
  ds__deconv2d_shape s = ds__deconv2d_pixelcnn(1, cin, h, w, cout, 2, kw, right);
  ct_seed(seed);
  float *wt = ct_random(cout * cin * 2 * kw), *b = ct_random(cout);
  float *y = ct_floats(cout * s.oh * s.ow), *ws = ct_floats((int64_t)ds__deconv2d_workspace(&s, 2));
  ds__deconv2d_forward(g_pool, &s, x, wt, b, y, ws);
  free(wt), free(b), free(ws);
  return y;
}

static float *celu(const float *x, int64_t c, int64_t hw) {
  float *y = ct_floats(2 * c * hw);
  ds__concat_elu_forward(g_pool, 1, c, hw, x, y);
  return y;
}

static float *shifted(const float *x, int64_t c, int down) {
  float *y = ct_floats(c * H * W);
  if (down) ds__down_shift_forward(g_pool, c, H, W, x, y);
  else ds__right_shift_forward(g_pool, c, H, W, x, y);
  return y;
}

/* A small PixelCNN++: input layer, one gated step per stream at 8x8, stride-2 down to 4x4,
 * transposed convs back to 8x8; returns u (F, H, W) and out (F, H, W) (the ul stream). */
static void pixelcnnpp(const float *x, float *u_out, float *out) {
  float *a = conv(x, 1, H, W, F, 2, 3, 1, 1, 1, 1, 1), *u0 = shifted(a, F, 1);
  float *b = conv(x, 1, H, W, F, 1, 3, 1, 0, 1, 1, 2), *c = conv(x, 1, H, W, F, 2, 1, 1, 1, 0, 0, 3);
  float *bd = shifted(b, F, 1), *cr = shifted(c, F, 0), *ul0 = ct_floats(F * H * W);
  for (int i = 0; i < F * H * W; i++) ul0[i] = bd[i] + cr[i];
  /* gated resnet on u: u1 = u0 + a * sigmoid(g), [a, g] = conv2x3(concat_elu(u0)) */
  float *e = celu(u0, F, H * W), *ab = conv(e, 2 * F, H, W, 2 * F, 2, 3, 1, 1, 1, 1, 4);
  float *u1 = ct_floats(F * H * W);
  ds__gate_forward(g_pool, 1, F, H * W, u0, ab, u1);
  /* ul1 = ul0 + conv2x2(concat_elu(ul0)) + nin(concat_elu(u1)) (skip from u) */
  float *eu = celu(u1, F, H * W), *el = celu(ul0, F, H * W);
  float *h1 = conv(el, 2 * F, H, W, F, 2, 2, 1, 1, 1, 0, 5), *ul1 = ct_floats(F * H * W);
  ct_seed(6);
  float *wn = ct_random(F * 2 * F), *bn = ct_random(F), *wc = ct_random(F * 2 * F);
  float *ws = ct_floats((int64_t)ds__nin_workspace(1, H * W, 2 * F, F, 2 * F, 2));
  ds__nin_forward(g_pool, 1, H * W, 2 * F, F, el, wn, bn, 2 * F, eu, wc, ul1, ws);
  free(ws);
  for (int i = 0; i < F * H * W; i++) ul1[i] += h1[i] + ul0[i];
  /* down to 4x4 and back up */
  float *u2 = conv(u1, F, H, W, F, 2, 3, 2, 1, 1, 1, 7), *ul2 = conv(ul1, F, H, W, F, 2, 2, 2, 1, 1, 0, 8);
  float *u3 = deconv(u2, F, H / 2, W / 2, F, 3, 0, 9), *ul3 = deconv(ul2, F, H / 2, W / 2, F, 2, 1, 10);
  for (int i = 0; i < F * H * W; i++) u_out[i] = u3[i] + u1[i], out[i] = ul3[i] + ul1[i] + u3[i];
  float *all[] = {a, u0, b, c, bd, cr, ul0, e, ab, u1, eu, el, h1, ul1, wn, bn, wc, u2, ul2, u3, ul3};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}

static void pixelcnnpp_streams_are_causal(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 0);
  g_pool = ctx->pool;
  ct_seed(100);
  float *x = ct_random(H * W), *u = ct_floats(F * H * W), *o = ct_floats(F * H * W);
  float *u2 = ct_floats(F * H * W), *o2 = ct_floats(F * H * W);
  pixelcnnpp(x, u, o);
  for (int k = 0; k < H * W; k++) {
    float keep = x[k];
    x[k] += 1.5f;
    pixelcnnpp(x, u2, o2);
    x[k] = keep;
    int changed = 0;
    for (int c = 0; c < F; c++)
      for (int p = 0; p < H * W; p++) {
        int i = c * H * W + p;
        if (p <= k) assert_true(o[i] == o2[i]);         /* ul: raster order */
        if (p / W <= k / W) assert_true(u[i] == u2[i]); /* u: rows above only */
        changed |= o[i] != o2[i];
      }
    if (k < H * W - 1) assert_true(changed);
  }
  free(x), free(u), free(o), free(u2), free(o2);
  ds_context_free(ctx);
}

/* Mask A then two mask B layers, 3x3 and 5x5. */
static void masked(const float *x, float *y) {
  float *cur = ct_floats(F * H * W), *next = ct_floats(F * H * W);
  const int64_t ks[3] = {5, 3, 3};
  for (int l = 0; l < 3; l++) {
    int64_t cin = l ? F : 1;
    ds__conv2d_shape s = ds__masked_conv2d_shape(1, cin, H, W, F, ks[l], ks[l]);
    ct_seed(200 + (uint64_t)l);
    float *wt = ct_random(F * cin * ks[l] * ks[l]), *b = ct_random(F);
    float *ws = ct_floats((int64_t)ds__masked_conv2d_workspace(&s, 2));
    ds__masked_conv2d_forward(g_pool, &s, l ? DS_MASK_B : DS_MASK_A, l ? cur : x, wt, b, next, ws);
    for (int i = 0; i < F * H * W; i++) cur[i] = next[i] > 0 ? next[i] : 0.1f * next[i];
    free(wt), free(b), free(ws);
  }
  memcpy(y, cur, sizeof(float) * F * H * W);
  free(cur), free(next);
}

static void masked_stack_is_causal(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 0);
  g_pool = ctx->pool;
  ct_seed(300);
  float *x = ct_random(H * W), *y = ct_floats(F * H * W), *y2 = ct_floats(F * H * W);
  masked(x, y);
  for (int k = 0; k < H * W; k++) {
    float keep = x[k];
    x[k] += 1.5f;
    masked(x, y2);
    x[k] = keep;
    int changed = 0;
    for (int c = 0; c < F; c++)
      for (int p = 0; p < H * W; p++) {
        if (p <= k) assert_true(y[c * H * W + p] == y2[c * H * W + p]);
        changed |= y[c * H * W + p] != y2[c * H * W + p];
      }
    if (k < H * W - 1) assert_true(changed);
  }
  free(x), free(y), free(y2);
  ds_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pixelcnnpp_streams_are_causal),
      cmocka_unit_test(masked_stack_is_causal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
