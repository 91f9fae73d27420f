#include "kernels/conv_transpose.h"

#include "kernels/conv2d.h"
#include "kernels/gemm.h"
#include "kernels/im2col.h"

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

static int64_t per_thread(const ds__deconv2d_shape *s) {
  return s->cout * s->kh * s->kw * s->h * s->w;
}

size_t ds__deconv2d_workspace(const ds__deconv2d_shape *s, int32_t threads) {
  return (size_t)(per_thread(s) * (threads > 0 ? threads : 1));
}

static float *slot(float *ws, int32_t t, int64_t per) {
  return ws ? ws + t * per : NULL;
}

typedef struct deconv_job {
  const ds__deconv2d_shape *s;
  ds__conv_geom g;
  const float *x, *w, *bias, *dy;
  float *y, *dx, *ws;
  int accumulate;
} deconv_job;

static void forward_image(const deconv_job *j, int64_t b, float *col, ds__pool *gemm_pool) {
  const ds__deconv2d_shape *s = j->s;
  const int64_t kdim = s->cout * s->kh * s->kw, hw = s->h * s->w, ohw = s->oh * s->ow;
  float *yb = j->y + b * s->cout * ohw;
  /* col (Cout*kh*kw, H*W) = W^T (Cout*kh*kw, Cin) x_b (Cin, H*W) */
  ds__gemm(gemm_pool, 1, 0, kdim, hw, s->cin, 1.0f, j->w, kdim, j->x + b * s->cin * hw, hw,
           0.0f, col, hw);
  for (int64_t o = 0; o < s->cout; o++)
    for (int64_t i = 0; i < ohw; i++) yb[o * ohw + i] = j->bias ? j->bias[o] : 0.0f;
  ds__col2im(&j->g, col, yb);
}

static void forward_worker(void *p, int32_t t, int32_t threads) {
  const deconv_job *j = p;
  int64_t b0, b1;
  ds__split_range(j->s->batch, t, threads, &b0, &b1);
  for (int64_t b = b0; b < b1; b++) forward_image(j, b, slot(j->ws, t, per_thread(j->s)), NULL);
}

void ds__deconv2d_forward(ds__pool *pool, const ds__deconv2d_shape *s, const float *x,
                          const float *w, const float *bias, float *y, float *ws) {
  deconv_job j = {s, deconv_geom(s), x, w, bias, NULL, y, NULL, ws, 0};
  if (pool && s->batch >= ds__pool_threads(pool)) ds__pool_run(pool, forward_worker, &j);
  else
    for (int64_t b = 0; b < s->batch; b++) forward_image(&j, b, ws, pool);
}

static void input_grad_image(const deconv_job *j, int64_t b, float *col, ds__pool *gemm_pool) {
  const ds__deconv2d_shape *s = j->s;
  const int64_t kdim = s->cout * s->kh * s->kw, hw = s->h * s->w, ohw = s->oh * s->ow;
  /* dx_b (Cin, H*W) = W (Cin, Cout*kh*kw) im2col(dy_b) */
  ds__im2col(&j->g, j->dy + b * s->cout * ohw, 0, kdim, col);
  ds__gemm(gemm_pool, 0, 0, s->cin, hw, kdim, 1.0f, j->w, kdim, col, hw,
           j->accumulate ? 1.0f : 0.0f, j->dx + b * s->cin * hw, hw);
}

static void input_grad_worker(void *p, int32_t t, int32_t threads) {
  const deconv_job *j = p;
  int64_t b0, b1;
  ds__split_range(j->s->batch, t, threads, &b0, &b1);
  for (int64_t b = b0; b < b1; b++) input_grad_image(j, b, slot(j->ws, t, per_thread(j->s)), NULL);
}

void ds__deconv2d_backward(ds__pool *pool, const ds__deconv2d_shape *s, const float *x,
                           const float *w, const float *dy, float *dx, float *dw, float *db,
                           int accumulate, float *ws) {
  deconv_job j = {s, deconv_geom(s), x, w, NULL, dy, NULL, dx, ws, accumulate};
  const int64_t hw = s->h * s->w, ohw = s->oh * s->ow;
  if (dx) {
    if (pool && s->batch >= ds__pool_threads(pool)) ds__pool_run(pool, input_grad_worker, &j);
    else
      for (int64_t b = 0; b < s->batch; b++) input_grad_image(&j, b, ws, pool);
  }
  /* dW (Cin, Cout*kh*kw) = sum_b x_b (Cin, H*W) im2col(dy_b)^T */
  if (dw)
    ds__conv_weight_grad(pool, &j.g, s->batch, x, s->cin * hw, s->cin, dy, s->cout * ohw, dw,
                         accumulate, ws, per_thread(s));
  if (db) ds__conv_bias_grad(pool, s->batch, s->cout, ohw, dy, db, accumulate);
}
