#include "kernels/conv2d.h"

#include "kernels/conv_engine.h"
#include "kernels/gemm.h"

int64_t ds__conv2d_out_h(const ds__conv2d_shape *s) {
  return (s->h + s->pad_t + s->pad_b - s->kh) / s->stride + 1;
}

int64_t ds__conv2d_out_w(const ds__conv2d_shape *s) {
  return (s->w + s->pad_l + s->pad_r - s->kw) / s->stride + 1;
}

/* The input image (Cin, H, W) seen through the output grid (OH, OW). */
static ds__conv_geom conv_geom(const ds__conv2d_shape *s) {
  ds__conv_geom g = {s->cin, s->h, s->w, s->kh, s->kw, s->stride, s->pad_t, s->pad_l,
                     ds__conv2d_out_h(s), ds__conv2d_out_w(s)};
  return g;
}

size_t ds__conv2d_workspace(const ds__conv2d_shape *s, int32_t threads) {
  ds__conv_geom g = conv_geom(s);
  return (size_t)(ds__conv_engine_ws(&g, s->cout, s->batch) * (threads > 0 ? threads : 1));
}

void ds__conv2d_forward(ds__pool *pool, const ds__conv2d_shape *s, const float *x,
                        const float *w, const float *bias, float *y, int accumulate,
                        float *ws) {
  ds__conv_geom g = conv_geom(s);
  const int64_t kc = s->cin * s->kh * s->kw;
  /* y_b (Cout, P) = w (Cout, Kc) im2col(x_b) + bias */
  ds__conv_gather_gemm(pool, &g, s->batch, x, s->cin * s->h * s->w, 0, w, kc, NULL, s->cout,
                       bias, y, s->cout * g.oh * g.ow, accumulate, ws);
}

int64_t ds__conv2d_packed_weights(const ds__conv2d_shape *s) {
  return ds__gemm_packed_a_floats(s->cout, s->cin * s->kh * s->kw);
}

void ds__conv2d_pack_weights(const ds__conv2d_shape *s, const float *w, float *packed) {
  const int64_t kc = s->cin * s->kh * s->kw;
  ds__gemm_pack_a(0, s->cout, kc, w, kc, packed);
}

void ds__conv2d_forward_packed(ds__pool *pool, const ds__conv2d_shape *s, const float *x,
                               const float *packed, const float *bias, float *y,
                               int accumulate, float *ws) {
  ds__conv_geom g = conv_geom(s);
  ds__conv_gather_gemm(pool, &g, s->batch, x, s->cin * s->h * s->w, 0, NULL, 0, packed,
                       s->cout, bias, y, s->cout * g.oh * g.ow, accumulate, ws);
}

void ds__conv2d_backward(ds__pool *pool, const ds__conv2d_shape *s, const float *x,
                         const float *w, const float *dy, float *dx, float *dw, float *db,
                         int accumulate, float *ws) {
  ds__conv_geom g = conv_geom(s);
  const int64_t kc = s->cin * s->kh * s->kw, p = g.oh * g.ow, hw = s->h * s->w;
  /* dx_b = col2im(w^T (Kc, Cout) dy_b) */
  if (dx)
    ds__conv_gemm_scatter(pool, &g, s->batch, dy, s->cout * p, 1, w, kc, s->cout, NULL, dx,
                          s->cin * hw, accumulate, ws);
  /* dw (Cout, Kc) = sum_b dy_b im2col(x_b)^T */
  if (dw)
    ds__conv_weight_grad(pool, &g, s->batch, dy, s->cout * p, s->cout, x, s->cin * hw, dw,
                         accumulate, ws);
  if (db) ds__conv_bias_grad(pool, s->batch, s->cout, p, dy, db, accumulate);
}
