/* Convolutions (conv2d, transposed conv, nin with conditioning, masked conv): forward
 * against plain float64 loops on random shapes (odd sizes, 1x1 images, batch 1, channel
 * counts that are not multiples of 8); every backward against central finite differences
 * of the float64 reference; accumulate mode; bitwise identical results for 1, 2, 3 and 8
 * threads. */
#include <string.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "conv_test_util.h"
#include "core/context.h"
#include "kernels/conv2d.h"
#include "kernels/im2col.h"
#include "kernels/conv_transpose.h"
#include "reference/masked_conv.h"
#include "reference/nin.h"
#include "test_util.h"

/* ---- float64 references --------------------------------------------------------------- */

static void ref_conv2d(const ds__conv2d_shape *s, const double *x, const double *w,
                       const double *bias, double *y) {
  int64_t oh = ds__conv2d_out_h(s), ow = ds__conv2d_out_w(s);
  for (int64_t b = 0; b < s->batch; b++)
    for (int64_t o = 0; o < s->cout; o++)
      for (int64_t p = 0; p < oh; p++)
        for (int64_t q = 0; q < ow; q++) {
          double acc = bias ? bias[o] : 0.0;
          for (int64_t c = 0; c < s->cin; c++)
            for (int64_t ky = 0; ky < s->kh; ky++)
              for (int64_t kx = 0; kx < s->kw; kx++) {
                int64_t iy = p * s->stride + ky - s->pad_t, ix = q * s->stride + kx - s->pad_l;
                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;
                acc += w[((o * s->cin + c) * s->kh + ky) * s->kw + kx] *
                       x[((b * s->cin + c) * s->h + iy) * s->w + ix];
              }
          y[((b * s->cout + o) * oh + p) * ow + q] = acc;
        }
}

static void ref_deconv2d(const ds__deconv2d_shape *s, const double *x, const double *w,
                         const double *bias, double *y) {
  for (int64_t b = 0; b < s->batch; b++)
    for (int64_t o = 0; o < s->cout; o++)
      for (int64_t i = 0; i < s->oh * s->ow; i++)
        y[(b * s->cout + o) * s->oh * s->ow + i] = bias ? bias[o] : 0.0;
  for (int64_t b = 0; b < s->batch; b++)
    for (int64_t c = 0; c < s->cin; c++)
      for (int64_t i = 0; i < s->h; i++)
        for (int64_t j = 0; j < s->w; j++)
          for (int64_t o = 0; o < s->cout; o++)
            for (int64_t ky = 0; ky < s->kh; ky++)
              for (int64_t kx = 0; kx < s->kw; kx++) {
                int64_t p = i * s->stride + ky - s->crop_t, q = j * s->stride + kx - s->crop_l;
                if (p < 0 || p >= s->oh || q < 0 || q >= s->ow) continue;
                y[((b * s->cout + o) * s->oh + p) * s->ow + q] +=
                    w[((c * s->cout + o) * s->kh + ky) * s->kw + kx] *
                    x[((b * s->cin + c) * s->h + i) * s->w + j];
              }
}

/* ---- finite differences ----------------------------------------------------------------- */

/* A float64 forward over a list of parameter tensors. */
typedef void (*fwd64)(const void *shape, double *const *params, double *y);

/* Central differences of L = sum(r * y) with respect to params[which] (n entries) must match
 * grad (the kernel's float32 result). */
static void check_fd(fwd64 f, const void *shape, double *const *params, int which, int64_t n,
                     const double *r, int64_t ny, const float *grad, const char *what) {
  double *y = ct_doubles(ny), *want = ct_doubles(n);
  const double h = 0.25;
  for (int64_t i = 0; i < n; i++) {
    double keep = params[which][i], lp = 0.0, lm = 0.0;
    params[which][i] = keep + h;
    f(shape, params, y);
    for (int64_t k = 0; k < ny; k++) lp += r[k] * y[k];
    params[which][i] = keep - h;
    f(shape, params, y);
    for (int64_t k = 0; k < ny; k++) lm += r[k] * y[k];
    params[which][i] = keep;
    want[i] = (lp - lm) / (2 * h);
  }
  ct_assert_close(grad, want, n, 2e-5, what);
  free(y), free(want);
}

static void conv_fwd64(const void *s, double *const *p, double *y) { ref_conv2d(s, p[0], p[1], p[2], y); }
static void deconv_fwd64(const void *s, double *const *p, double *y) { ref_deconv2d(s, p[0], p[1], p[2], y); }

/* ---- conv2d ------------------------------------------------------------------------------ */

static ds__conv2d_shape random_conv_shape(int small) {
  static const int64_t ks[][2] = {{1, 1}, {2, 3}, {2, 2}, {2, 1}, {1, 3}, {3, 3}};
  ds__conv2d_shape s;
  int64_t k = ct_int(0, 5);
  s.kh = ks[k][0], s.kw = ks[k][1];
  s.stride = ct_int(1, 2);
  s.batch = ct_int(1, small ? 2 : 4);
  s.cin = ct_int(1, small ? 4 : 19);
  s.cout = ct_int(1, small ? 4 : 21);
  s.pad_t = ct_int(0, s.kh - 1), s.pad_b = ct_int(0, s.kh - 1);
  s.pad_l = ct_int(0, s.kw - 1), s.pad_r = ct_int(0, s.kw - 1);
  int64_t hmin = s.kh - s.pad_t - s.pad_b, wmin = s.kw - s.pad_l - s.pad_r;
  s.h = ct_int(hmin > 1 ? hmin : 1, small ? 5 : 13);
  s.w = ct_int(wmin > 1 ? wmin : 1, small ? 5 : 13);
  return s;
}

static void conv2d_case(ds_context *ctx, const ds__conv2d_shape *s, int fd) {
  int64_t oh = ds__conv2d_out_h(s), ow = ds__conv2d_out_w(s);
  int64_t nx = s->batch * s->cin * s->h * s->w, nw = s->cout * s->cin * s->kh * s->kw;
  int64_t ny = s->batch * s->cout * oh * ow;
  float *x = ct_random(nx), *w = ct_random(nw), *b = ct_random(s->cout), *y = ct_floats(ny);
  float *dy = ct_random(ny), *dx = ct_floats(nx), *dw = ct_floats(nw), *db = ct_floats(s->cout);
  float *ws = ct_floats((int64_t)ds__conv2d_workspace(s, ds__pool_threads(ctx->pool)));
  double *params[3] = {ct_widen(x, nx), ct_widen(w, nw), ct_widen(b, s->cout)};
  double *yr = ct_doubles(ny), *r = ct_widen(dy, ny);

  ds__conv2d_forward(ctx->pool, s, x, w, b, y, 0, ws);
  ref_conv2d(s, params[0], params[1], params[2], yr);
  ct_assert_close(y, yr, ny, 1e-5, "conv2d y");

  ds__conv2d_backward(ctx->pool, s, x, w, dy, dx, dw, db, 0, ws);
  if (fd) {
    check_fd(conv_fwd64, s, params, 0, nx, r, ny, dx, "conv2d dx");
    check_fd(conv_fwd64, s, params, 1, nw, r, ny, dw, "conv2d dw");
    check_fd(conv_fwd64, s, params, 2, s->cout, r, ny, db, "conv2d db");
  }
  /* accumulate: y += conv + bias, grads added */
  ds__conv2d_forward(ctx->pool, s, x, w, b, y, 1, ws);
  for (int64_t i = 0; i < ny; i++) yr[i] *= 2.0;
  ct_assert_close(y, yr, ny, 1e-5, "conv2d y accumulated");
  float *dx2 = ct_floats(nx), *dw2 = ct_floats(nw), *db2 = ct_floats(s->cout);
  memcpy(dx2, dx, sizeof(float) * (size_t)nx), memcpy(dw2, dw, sizeof(float) * (size_t)nw);
  memcpy(db2, db, sizeof(float) * (size_t)s->cout);
  ds__conv2d_backward(ctx->pool, s, x, w, dy, dx2, dw2, db2, 1, ws);
  double *twice = ct_doubles(nx > nw ? nx : nw);
  for (int64_t i = 0; i < nx; i++) twice[i] = 2.0 * dx[i];
  ct_assert_close(dx2, twice, nx, 1e-5, "conv2d dx accumulated");
  for (int64_t i = 0; i < nw; i++) twice[i] = 2.0 * dw[i];
  ct_assert_close(dw2, twice, nw, 1e-5, "conv2d dw accumulated");
  free(twice), free(dx2), free(dw2), free(db2);
  free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw), free(db), free(ws);
  free(params[0]), free(params[1]), free(params[2]), free(yr), free(r);
}

static void conv2d_random_shapes(void **state) {
  (void)state;
  ct_seed(1);
  ds_context *ctx = test_context(3, 0);
  for (int i = 0; i < 40; i++) {
    ds__conv2d_shape s = random_conv_shape(i % 2 == 0);
    conv2d_case(ctx, &s, i % 2 == 0);
  }
  /* 1x1 image, batch 1; the PixelCNN++ shapes at small sizes */
  const ds__conv2d_shape fixed[] = {
      {1, 3, 1, 1, 5, 2, 3, 1, 1, 0, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},
      {2, 4, 6, 5, 3, 2, 3, 1, 1, 0, 1, 1}, {2, 4, 6, 5, 3, 2, 2, 1, 1, 0, 1, 0},
      {2, 4, 6, 5, 3, 2, 1, 1, 1, 0, 0, 0}, {2, 4, 6, 5, 3, 1, 3, 1, 0, 0, 1, 1},
      {2, 4, 7, 7, 3, 2, 3, 2, 1, 0, 1, 1}, {2, 4, 7, 7, 3, 2, 2, 2, 1, 0, 1, 0},
      {1, 9, 5, 3, 17, 1, 1, 1, 0, 0, 0, 0}};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) conv2d_case(ctx, &fixed[i], 1);
  ds_context_free(ctx);
}

/* ---- transposed conv ---------------------------------------------------------------------- */

static void deconv_case(ds_context *ctx, const ds__deconv2d_shape *s, int fd) {
  int64_t nx = s->batch * s->cin * s->h * s->w, nw = s->cin * s->cout * s->kh * s->kw;
  int64_t ny = s->batch * s->cout * s->oh * s->ow;
  float *x = ct_random(nx), *w = ct_random(nw), *b = ct_random(s->cout), *y = ct_floats(ny);
  float *dy = ct_random(ny), *dx = ct_floats(nx), *dw = ct_floats(nw), *db = ct_floats(s->cout);
  float *ws = ct_floats((int64_t)ds__deconv2d_workspace(s, ds__pool_threads(ctx->pool)));
  double *params[3] = {ct_widen(x, nx), ct_widen(w, nw), ct_widen(b, s->cout)};
  double *yr = ct_doubles(ny), *r = ct_widen(dy, ny);
  ds__deconv2d_forward(ctx->pool, s, x, w, b, y, ws);
  ref_deconv2d(s, params[0], params[1], params[2], yr);
  ct_assert_close(y, yr, ny, 1e-5, "deconv y");
  ds__deconv2d_backward(ctx->pool, s, x, w, dy, dx, dw, db, 0, ws);
  if (fd) {
    check_fd(deconv_fwd64, s, params, 0, nx, r, ny, dx, "deconv dx");
    check_fd(deconv_fwd64, s, params, 1, nw, r, ny, dw, "deconv dw");
    check_fd(deconv_fwd64, s, params, 2, s->cout, r, ny, db, "deconv db");
  }
  free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw), free(db), free(ws);
  free(params[0]), free(params[1]), free(params[2]), free(yr), free(r);
}

static void deconv_random_shapes(void **state) {
  (void)state;
  ct_seed(2);
  ds_context *ctx = test_context(2, 0);
  for (int i = 0; i < 24; i++) {
    int small = i % 2 == 0;
    int64_t kh = ct_int(1, 3), kw = ct_int(1, 3);
    ds__deconv2d_shape s = ds__deconv2d_pixelcnn(ct_int(1, small ? 2 : 4), ct_int(1, small ? 3 : 17),
                                                 ct_int(1, small ? 4 : 9), ct_int(1, small ? 4 : 9),
                                                 ct_int(1, small ? 3 : 19), kh, kw, (int)ct_int(0, 1));
    if (i % 3 == 0) { /* generic crop and output size */
      s.crop_t = ct_int(0, kh - 1), s.crop_l = ct_int(0, kw - 1);
      s.oh = ct_int(1, 2 * s.h + 1), s.ow = ct_int(1, 2 * s.w + 1);
      s.stride = ct_int(1, 2);
    }
    deconv_case(ctx, &s, small);
  }
  ds__deconv2d_shape a = ds__deconv2d_pixelcnn(2, 3, 4, 4, 2, 2, 3, 0);
  ds__deconv2d_shape b = ds__deconv2d_pixelcnn(1, 3, 1, 1, 5, 2, 2, 1);
  deconv_case(ctx, &a, 1);
  deconv_case(ctx, &b, 1);
  ds_context_free(ctx);
}

/* ---- nin with conditioning -------------------------------------------------------------------- */

typedef struct nin_shape { int64_t batch, pixels, cin, cout, ccond; } nin_shape;

static void nin_fwd64(const void *sp, double *const *p, double *y) {
  const nin_shape *s = sp;
  for (int64_t b = 0; b < s->batch; b++)
    for (int64_t o = 0; o < s->cout; o++)
      for (int64_t i = 0; i < s->pixels; i++) {
        double acc = p[2][o];
        for (int64_t c = 0; c < s->cin; c++)
          acc += p[1][o * s->cin + c] * p[0][(b * s->cin + c) * s->pixels + i];
        for (int64_t c = 0; c < s->ccond; c++)
          acc += p[4][o * s->ccond + c] * p[3][(b * s->ccond + c) * s->pixels + i];
        y[(b * s->cout + o) * s->pixels + i] = acc;
      }
}

static void nin_with_condition(void **state) {
  (void)state;
  ct_seed(3);
  ds_context *ctx = test_context(2, 0);
  const nin_shape shapes[] = {{2, 7, 3, 5, 2}, {1, 1, 1, 1, 1}, {3, 10, 9, 4, 0}};
  for (size_t k = 0; k < 3; k++) {
    nin_shape s = shapes[k];
    int64_t n[5] = {s.batch * s.cin * s.pixels, s.cout * s.cin, s.cout,
                    s.batch * s.ccond * s.pixels, s.cout * s.ccond};
    int64_t ny = s.batch * s.cout * s.pixels;
    float *f[5], *g[5];
    double *p[5];
    for (int i = 0; i < 5; i++) f[i] = ct_random(n[i]), g[i] = ct_floats(n[i]), p[i] = ct_widen(f[i], n[i]);
    float *y = ct_floats(ny), *dy = ct_random(ny);
    double *yr = ct_doubles(ny), *r = ct_widen(dy, ny);
    const float *cond = s.ccond ? f[3] : NULL;
    float *ws = ct_floats((int64_t)ds__nin_workspace(s.batch, s.pixels, s.cin, s.cout, s.ccond, 2));
    ds__nin_forward(ctx->pool, s.batch, s.pixels, s.cin, s.cout, f[0], f[1], f[2], s.ccond, cond,
                    f[4], y, ws);
    nin_fwd64(&s, p, yr);
    ct_assert_close(y, yr, ny, 1e-5, "nin y");
    ds__nin_backward(ctx->pool, s.batch, s.pixels, s.cin, s.cout, f[0], f[1], s.ccond, cond, f[4],
                     dy, g[0], g[1], g[2], g[3], g[4], 0, ws);
    for (int i = 0; i < 5; i++)
      if (n[i]) check_fd(nin_fwd64, &s, p, i, n[i], r, ny, g[i], "nin grad");
    for (int i = 0; i < 5; i++) free(f[i]), free(g[i]), free(p[i]);
    free(y), free(dy), free(yr), free(r), free(ws);
  }
  ds_context_free(ctx);
}

/* ---- masked conv ---------------------------------------------------------------------------- */

static int g_mask_type;
static void masked_fwd64(const void *sp, double *const *p, double *y) {
  const ds__conv2d_shape *s = sp;
  int64_t nw = s->cout * s->cin * s->kh * s->kw, kk = s->kh * s->kw;
  double *wm = ct_doubles(nw);
  for (int64_t i = 0; i < nw; i++)
    wm[i] = ds__mask_allows(g_mask_type, s->kh, s->kw, i % kk / s->kw, i % s->kw) ? p[1][i] : 0.0;
  ref_conv2d(s, p[0], wm, p[2], y);
  free(wm);
}

static void masked_conv_types(void **state) {
  (void)state;
  ct_seed(4);
  ds_context *ctx = test_context(2, 0);
  for (int type = DS_MASK_A; type <= DS_MASK_B; type++) {
    g_mask_type = type;
    ds__conv2d_shape s = ds__masked_conv2d_shape(2, 3, 5, 4, 2, 3, 3);
    int64_t nx = 2 * 3 * 20, nw = 2 * 3 * 9, ny = 2 * 2 * 20;
    float *x = ct_random(nx), *w = ct_random(nw), *b = ct_random(2), *y = ct_floats(ny);
    float *dy = ct_random(ny), *dx = ct_floats(nx), *dw = ct_floats(nw), *db = ct_floats(2);
    float *ws = ct_floats((int64_t)ds__masked_conv2d_workspace(&s, 2));
    double *p[3] = {ct_widen(x, nx), ct_widen(w, nw), ct_widen(b, 2)};
    double *yr = ct_doubles(ny), *r = ct_widen(dy, ny);
    ds__masked_conv2d_forward(ctx->pool, &s, type, x, w, b, y, ws);
    masked_fwd64(&s, p, yr);
    ct_assert_close(y, yr, ny, 1e-5, "masked y");
    ds__masked_conv2d_backward(ctx->pool, &s, type, x, w, dy, dx, dw, db, 0, ws);
    check_fd(masked_fwd64, &s, p, 0, nx, r, ny, dx, "masked dx");
    check_fd(masked_fwd64, &s, p, 1, nw, r, ny, dw, "masked dw");
    check_fd(masked_fwd64, &s, p, 2, 2, r, ny, db, "masked db");
    /* centre tap: only mask B lets it through */
    assert_int_equal(ds__mask_allows(type, 3, 3, 1, 1), type == DS_MASK_B);
    assert_int_equal(ds__mask_allows(type, 5, 5, 2, 3), 0);
    assert_int_equal(ds__mask_allows(type, 5, 5, 1, 4), 1);
    free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw), free(db), free(ws);
    free(p[0]), free(p[1]), free(p[2]), free(yr), free(r);
  }
  ds_context_free(ctx);
}

/* ---- 1 vs N threads --------------------------------------------------------------------------- */

typedef struct run_out { float *y, *dx, *dw, *db; } run_out;

static run_out run_conv(int32_t threads, const ds__conv2d_shape *s, const float *x,
                        const float *w, const float *b, const float *dy) {
  ds_context *ctx = test_context(threads, 0);
  int64_t oh = ds__conv2d_out_h(s), ow = ds__conv2d_out_w(s);
  run_out o = {ct_floats(s->batch * s->cout * oh * ow), ct_floats(s->batch * s->cin * s->h * s->w),
               ct_floats(s->cout * s->cin * s->kh * s->kw), ct_floats(s->cout)};
  float *ws = ct_floats((int64_t)ds__conv2d_workspace(s, threads));
  ds__conv2d_forward(ctx->pool, s, x, w, b, o.y, 0, ws);
  ds__conv2d_backward(ctx->pool, s, x, w, dy, o.dx, o.dw, o.db, 0, ws);
  free(ws);
  ds_context_free(ctx);
  return o;
}

static run_out run_deconv(int32_t threads, const ds__deconv2d_shape *s, const float *x,
                          const float *w, const float *b, const float *dy) {
  ds_context *ctx = test_context(threads, 0);
  run_out o = {ct_floats(s->batch * s->cout * s->oh * s->ow), ct_floats(s->batch * s->cin * s->h * s->w),
               ct_floats(s->cout * s->cin * s->kh * s->kw), ct_floats(s->cout)};
  float *ws = ct_floats((int64_t)ds__deconv2d_workspace(s, threads));
  ds__deconv2d_forward(ctx->pool, s, x, w, b, o.y, ws);
  ds__deconv2d_backward(ctx->pool, s, x, w, dy, o.dx, o.dw, o.db, 0, ws);
  free(ws);
  ds_context_free(ctx);
  return o;
}

static void same_bits(run_out a, run_out b, int64_t ny, int64_t nx, int64_t nw, int64_t nb) {
  assert_memory_equal(a.y, b.y, sizeof(float) * (size_t)ny);
  assert_memory_equal(a.dx, b.dx, sizeof(float) * (size_t)nx);
  assert_memory_equal(a.dw, b.dw, sizeof(float) * (size_t)nw);
  assert_memory_equal(a.db, b.db, sizeof(float) * (size_t)nb);
}

static void free_out(run_out o) { free(o.y), free(o.dx), free(o.dw), free(o.db); }

static void bitwise_identical_across_threads(void **state) {
  (void)state;
  ct_seed(5);
  const int32_t counts[] = {2, 3, 8};
  const ds__conv2d_shape cs[] = {{5, 24, 14, 14, 24, 2, 3, 1, 1, 0, 1, 1},
                                 {1, 24, 14, 14, 24, 2, 2, 2, 1, 0, 1, 0},
                                 {7, 40, 9, 9, 33, 1, 1, 1, 0, 0, 0, 0}};
  for (size_t k = 0; k < 3; k++) {
    const ds__conv2d_shape *s = &cs[k];
    int64_t ny = s->batch * s->cout * ds__conv2d_out_h(s) * ds__conv2d_out_w(s);
    int64_t nx = s->batch * s->cin * s->h * s->w, nw = s->cout * s->cin * s->kh * s->kw;
    float *x = ct_random(nx), *w = ct_random(nw), *b = ct_random(s->cout), *dy = ct_random(ny);
    run_out one = run_conv(1, s, x, w, b, dy);
    for (int c = 0; c < 3; c++) {
      run_out n = run_conv(counts[c], s, x, w, b, dy);
      same_bits(one, n, ny, nx, nw, s->cout);
      free_out(n);
    }
    free_out(one), free(x), free(w), free(b), free(dy);
  }
  const ds__deconv2d_shape ds[] = {ds__deconv2d_pixelcnn(5, 24, 7, 7, 20, 2, 3, 0),
                                   ds__deconv2d_pixelcnn(1, 24, 7, 7, 20, 2, 2, 1)};
  for (size_t k = 0; k < 2; k++) {
    const ds__deconv2d_shape *s = &ds[k];
    int64_t ny = s->batch * s->cout * s->oh * s->ow, nx = s->batch * s->cin * s->h * s->w;
    int64_t nw = s->cout * s->cin * s->kh * s->kw;
    float *x = ct_random(nx), *w = ct_random(nw), *b = ct_random(s->cout), *dy = ct_random(ny);
    run_out one = run_deconv(1, s, x, w, b, dy);
    for (int c = 0; c < 3; c++) {
      run_out n = run_deconv(counts[c], s, x, w, b, dy);
      same_bits(one, n, ny, nx, nw, s->cout);
      free_out(n);
    }
    free_out(one), free(x), free(w), free(b), free(dy);
  }
}

/* A random convolution geometry for the panel tests: c in 1..max_c, sides 1..max_side,
 * kernel sides 1..max_k, stride 1 or 2, pads below the kernel side (top/left and
 * bottom/right drawn separately). oh or ow may come out <= 0: callers skip those. */
static ds__conv_geom random_panel_geom(int64_t max_c, int64_t max_side, int64_t max_k) {
  ds__conv_geom g;
  g.c = ct_int(1, max_c), g.h = ct_int(1, max_side), g.w = ct_int(1, max_side);
  g.kh = ct_int(1, max_k), g.kw = ct_int(1, max_k), g.stride = ct_int(1, 2);
  g.pad_t = ct_int(0, g.kh - 1), g.pad_l = ct_int(0, g.kw - 1);
  int64_t pad_b = ct_int(0, g.kh - 1), pad_r = ct_int(0, g.kw - 1);
  g.oh = (g.h + g.pad_t + pad_b - g.kh) / g.stride + 1;
  g.ow = (g.w + g.pad_l + pad_r - g.kw) / g.stride + 1;
  return g;
}

/* ds__im2col_panel == the rows and columns of ds__im2col's column matrix, zero beyond n:
 * strides 1 and 2, pads, kernels larger than the image, 1x1 images, panel widths 8 (plain
 * loop), 16 and 32 (AVX-512 where the CPU has it), 40 (the any-size path); row ranges that
 * start inside a channel. */
static void im2col_panel_matches_im2col(void **state) {
  (void)state;
  ct_seed(77);
  for (int trial = 0; trial < 60; trial++) {
    ds__conv_geom g = random_panel_geom(4, 9, 4);
    if (trial % 5 == 0) g.stride = 1, g.pad_t = g.kh / 2, g.pad_l = g.kw / 2, g.oh = g.h, g.ow = g.w;
    if (g.oh <= 0 || g.ow <= 0) continue;
    const int64_t kc = g.c * g.kh * g.kw, P = g.oh * g.ow;
    float *img = ct_random(g.c * g.h * g.w), *col = ct_floats(kc * P);
    ds__im2col(&g, img, 0, kc, col, P);
    const int64_t widths[] = {8, 16, 32, 40};
    for (int wi = 0; wi < 4; wi++) {
      int64_t nr = widths[wi], k0 = ct_int(0, kc - 1), rows = ct_int(1, kc - k0);
      float *panel = ct_floats(rows * nr);
      for (int64_t j0 = 0; j0 < P; j0 += nr) {
        int64_t n = P - j0 < nr ? P - j0 : nr;
        for (int64_t i = 0; i < rows * nr; i++) panel[i] = NAN;
        ds__im2col_panel(&g, img, k0, rows, j0, n, nr, panel);
        for (int64_t k = 0; k < rows; k++)
          for (int64_t c = 0; c < nr; c++) {
            float want = c < n ? col[(k0 + k) * P + j0 + c] : 0.0f;
            assert_true(memcmp(&panel[k * nr + c], &want, sizeof want) == 0);
          }
      }
      free(panel);
    }
    free(img), free(col);
  }
}

/* ds__im2col_panel_t == the transpose of ds__im2col's column matrices of several images
 * side by side: panels that start mid-image and straddle images (small images span many),
 * tap ranges that stop short of the panel width, strides 1 and 2. */
static void im2col_panel_t_matches_im2col(void **state) {
  (void)state;
  ct_seed(79);
  for (int trial = 0; trial < 50; trial++) {
    ds__conv_geom g = random_panel_geom(6, 9, 3);
    if (trial % 3 == 0) g.stride = 1, g.pad_t = g.kh / 2, g.pad_l = g.kw / 2, g.oh = g.h, g.ow = g.w;
    if (g.oh <= 0 || g.ow <= 0) continue;
    const int64_t kc = g.c * g.kh * g.kw, P = g.oh * g.ow, n = ct_int(1, 5);
    const int64_t stride = g.c * g.h * g.w + 3, cols = n * P;
    float *img = ct_random(n * stride), *col = ct_floats(kc * cols);
    for (int64_t i = 0; i < n; i++) ds__im2col(&g, img + i * stride, 0, kc, col + i * P, cols);
    const int64_t widths[] = {8, 16, 32};
    for (int wi = 0; wi < 3; wi++) {
      int64_t nr = widths[wi];
      int64_t pix0 = ct_int(0, cols - 1), rows = ct_int(1, cols - pix0);
      float *panel = ct_floats(rows * nr);
      for (int64_t tap0 = 0; tap0 < kc; tap0 += nr) {
        int64_t ntaps = kc - tap0 < nr ? kc - tap0 : nr;
        for (int64_t i = 0; i < rows * nr; i++) panel[i] = NAN;
        ds__im2col_panel_t(&g, img, stride, pix0, rows, tap0, ntaps, nr, panel);
        for (int64_t k = 0; k < rows; k++)
          for (int64_t c = 0; c < nr; c++) {
            float want = c < ntaps ? col[(tap0 + c) * cols + pix0 + k] : 0.0f;
            assert_true(memcmp(&panel[k * nr + c], &want, sizeof want) == 0);
          }
      }
      free(panel);
    }
    free(img), free(col);
  }
}

/* ds__col2im_init == filling the image (bias, or adding it) and then ds__col2im, bit for
 * bit, with and without bias and accumulate, strides 1 and 2. */
static void col2im_init_matches_fill_then_col2im(void **state) {
  (void)state;
  ct_seed(78);
  for (int trial = 0; trial < 40; trial++) {
    ds__conv_geom g = random_panel_geom(4, 20, 3);
    if (g.oh <= 0 || g.ow <= 0) continue;
    const int64_t kc = g.c * g.kh * g.kw, P = g.oh * g.ow, n = g.c * g.h * g.w;
    float *col = ct_random(kc * P), *bias = ct_random(g.c), *start = ct_random(n);
    float *want = ct_floats(n), *got = ct_floats(n);
    for (int mode = 0; mode < 4; mode++) {
      int with_bias = mode & 1, acc = mode >> 1;
      for (int64_t i = 0; i < n; i++) {
        float b = with_bias ? bias[i / (g.h * g.w)] : 0.0f;
        want[i] = acc ? (with_bias ? start[i] + b : start[i]) : b;
        got[i] = start[i];
      }
      ds__col2im(&g, col, P, want);
      ds__col2im_init(&g, col, P, with_bias ? bias : NULL, acc, got);
      assert_memory_equal(want, got, sizeof(float) * (size_t)n);
    }
    free(col), free(bias), free(start), free(want), free(got);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(im2col_panel_matches_im2col),
      cmocka_unit_test(col2im_init_matches_fill_then_col2im),
      cmocka_unit_test(im2col_panel_t_matches_im2col),
      cmocka_unit_test(conv2d_random_shapes),
      cmocka_unit_test(deconv_random_shapes),
      cmocka_unit_test(nin_with_condition),
      cmocka_unit_test(masked_conv_types),
      cmocka_unit_test(bitwise_identical_across_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
