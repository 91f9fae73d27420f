#include "kernels/conv_transpose.h"

#include "kernels/conv_engine.h"

ds__deconv2d_shape ds__deconv2d_pixelcnn(int64_t batch, int64_t cin, int64_t h, int64_t w,
                                         int64_t cout, int64_t kh, int64_t kw,
                                         int right_shifted) {
  ds__deconv2d_shape s = {batch, cin, h, w, cout, kh, kw, 2, 0,
                          right_shifted ? 0 : (kw - 1) / 2, 2 * h, 2 * w};
  return s;
}

/* The output image (Cout, OH, OW) seen through the input grid (H, W). */
static ds__conv_geom deconv_geom(const ds__deconv2d_shape *s) {
  ds__conv_geom g = {s->cout, s->oh, s->ow, s->kh, s->kw, s->stride, s->crop_t, s->crop_l,
                     s->h, s->w};
  return g;
}

size_t ds__deconv2d_workspace(const ds__deconv2d_shape *s, int32_t threads) {
  ds__conv_geom g = deconv_geom(s);
  return (size_t)(ds__conv_engine_ws(&g, s->cin, s->batch) * (threads > 0 ? threads : 1));
}

void ds__deconv2d_forward(ds__pool *pool, const ds__deconv2d_shape *s, const float *x,
                          const float *w, const float *bias, float *y, float *ws) {
  ds__conv_geom g = deconv_geom(s);
  const int64_t kc = s->cout * s->kh * s->kw;
  /* y_b = col2im(w^T (Cout*kh*kw, Cin) x_b) + bias */
  ds__conv_gemm_scatter(pool, &g, s->batch, x, s->cin * s->h * s->w, 1, w, kc, s->cin, bias, y,
                        s->cout * s->oh * s->ow, 0, ws);
}

void ds__deconv2d_backward(ds__pool *pool, const ds__deconv2d_shape *s, const float *x,
                           const float *w, const float *dy, float *dx, float *dw, float *db,
                           int accumulate, float *ws) {
  ds__conv_geom g = deconv_geom(s);
  const int64_t kc = s->cout * s->kh * s->kw, hw = s->h * s->w, ohw = s->oh * s->ow;
  /* dx_b (Cin, H*W) = w (Cin, Cout*kh*kw) im2col(dy_b) */
  if (dx)
    ds__conv_gather_gemm(pool, &g, s->batch, dy, s->cout * ohw, 0, w, kc, NULL, s->cin, NULL, dx,
                         s->cin * hw, accumulate, ws);
  /* dw (Cin, Cout*kh*kw) = sum_b x_b im2col(dy_b)^T */
  if (dw)
    ds__conv_weight_grad(pool, &g, s->batch, x, s->cin * hw, s->cin, dy, s->cout * ohw, dw,
                         accumulate, ws);
  if (db) ds__conv_bias_grad(pool, s->batch, s->cout, ohw, dy, db, accumulate);
}
