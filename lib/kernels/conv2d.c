#include "kernels/conv2d.h"

#include "kernels/gemm.h"

int64_t ds__conv2d_out_h(const ds__conv2d_shape *s) {
  return (s->h + s->pad_t + s->pad_b - s->kh) / s->stride + 1;
}

int64_t ds__conv2d_out_w(const ds__conv2d_shape *s) {
  return (s->w + s->pad_l + s->pad_r - s->kw) / s->stride + 1;
}

static ds__conv_geom conv_geom(const ds__conv2d_shape *s) {
  ds__conv_geom g = {s->cin, s->h, s->w, s->kh, s->kw, s->stride, s->pad_t, s->pad_l,
                     ds__conv2d_out_h(s), ds__conv2d_out_w(s)};
  return g;
}

/* One column matrix (Cin*kh*kw, OH*OW) per thread. */
static int64_t per_thread(const ds__conv_geom *g) {
  return ds__im2col_is_identity(g) ? 0 : g->c * g->kh * g->kw * g->oh * g->ow;
}

size_t ds__conv2d_workspace(const ds__conv2d_shape *s, int32_t threads) {
  ds__conv_geom g = conv_geom(s);
  return (size_t)(per_thread(&g) * (threads > 0 ? threads : 1));
}

static float *slot(float *ws, int32_t t, int64_t per) {
  return ws ? ws + t * per : NULL;
}

typedef struct conv_job {
  const ds__conv2d_shape *s;
  ds__conv_geom g;
  const float *x, *w, *bias, *dy;
  float *y, *dx, *ws;
  int accumulate;
} conv_job;

/* ---- forward ---------------------------------------------------------------------- */

static void forward_image(const conv_job *j, int64_t b, float *col, ds__pool *gemm_pool) {
  const ds__conv_geom *g = &j->g;
  const int64_t kdim = g->c * g->kh * g->kw, ohw = g->oh * g->ow, hw = g->h * g->w;
  const float *xb = j->x + b * g->c * hw;
  float *yb = j->y + b * j->s->cout * ohw;
  const float *cb = xb;
  if (!ds__im2col_is_identity(g)) {
    ds__im2col(g, xb, 0, kdim, col);
    cb = col;
  }
  if (j->bias)
    for (int64_t o = 0; o < j->s->cout; o++)
      for (int64_t i = 0; i < ohw; i++)
        yb[o * ohw + i] = j->accumulate ? yb[o * ohw + i] + j->bias[o] : j->bias[o];
  float beta = (j->accumulate || j->bias) ? 1.0f : 0.0f;
  ds__gemm(gemm_pool, 0, 0, j->s->cout, ohw, kdim, 1.0f, j->w, kdim, cb, ohw, beta, yb, ohw);
}

static void forward_worker(void *p, int32_t t, int32_t threads) {
  const conv_job *j = p;
  int64_t b0, b1;
  ds__split_range(j->s->batch, t, threads, &b0, &b1);
  for (int64_t b = b0; b < b1; b++) forward_image(j, b, slot(j->ws, t, per_thread(&j->g)), NULL);
}

void ds__conv2d_forward(ds__pool *pool, const ds__conv2d_shape *s, const float *x,
                        const float *w, const float *bias, float *y, int accumulate,
                        float *ws) {
  conv_job j = {s, conv_geom(s), x, w, bias, NULL, y, NULL, ws, accumulate};
  if (pool && s->batch >= ds__pool_threads(pool)) ds__pool_run(pool, forward_worker, &j);
  else
    for (int64_t b = 0; b < s->batch; b++) forward_image(&j, b, ws, pool);
}

/* ---- backward --------------------------------------------------------------------- */

static void input_grad_image(const conv_job *j, int64_t b, float *col, ds__pool *gemm_pool) {
  const ds__conv_geom *g = &j->g;
  const int64_t kdim = g->c * g->kh * g->kw, ohw = g->oh * g->ow, hw = g->h * g->w;
  const float *dyb = j->dy + b * j->s->cout * ohw;
  float *dxb = j->dx + b * g->c * hw;
  if (ds__im2col_is_identity(g)) {
    ds__gemm(gemm_pool, 1, 0, g->c, hw, j->s->cout, 1.0f, j->w, kdim, dyb, ohw,
             j->accumulate ? 1.0f : 0.0f, dxb, hw);
    return;
  }
  ds__gemm(gemm_pool, 1, 0, kdim, ohw, j->s->cout, 1.0f, j->w, kdim, dyb, ohw, 0.0f, col, ohw);
  if (!j->accumulate)
    for (int64_t i = 0; i < g->c * hw; i++) dxb[i] = 0.0f;
  ds__col2im(g, col, dxb);
}

static void input_grad_worker(void *p, int32_t t, int32_t threads) {
  const conv_job *j = p;
  int64_t b0, b1;
  ds__split_range(j->s->batch, t, threads, &b0, &b1);
  for (int64_t b = b0; b < b1; b++) input_grad_image(j, b, slot(j->ws, t, per_thread(&j->g)), NULL);
}

typedef struct wgrad_job {
  const ds__conv_geom *g;
  int64_t batch, m, a_stride, img_stride, ws_per_thread;
  const float *a, *img;
  float *dw, *ws;
  int accumulate;
} wgrad_job;

static void weight_grad_worker(void *p, int32_t t, int32_t threads) {
  const wgrad_job *j = p;
  const ds__conv_geom *g = j->g;
  const int64_t kdim = g->c * g->kh * g->kw, ohw = g->oh * g->ow;
  int64_t k0, k1;
  ds__split_range(kdim, t, threads, &k0, &k1);
  if (k0 >= k1) return;
  float *col = slot(j->ws, t, j->ws_per_thread);
  for (int64_t b = 0; b < j->batch; b++) {
    const float *img = j->img + b * j->img_stride;
    const float *cb;
    if (ds__im2col_is_identity(g)) {
      cb = img + k0 * ohw;
    } else {
      ds__im2col(g, img, k0, k1, col);
      cb = col;
    }
    float beta = (b > 0 || j->accumulate) ? 1.0f : 0.0f;
    ds__gemm(NULL, 0, 1, j->m, k1 - k0, ohw, 1.0f, j->a + b * j->a_stride, ohw, cb, ohw, beta,
             j->dw + k0, kdim);
  }
}

void ds__conv_weight_grad(ds__pool *pool, const ds__conv_geom *g, int64_t batch,
                          const float *a, int64_t a_stride, int64_t m, const float *img,
                          int64_t img_stride, float *dw, int accumulate, float *ws,
                          int64_t ws_per_thread) {
  wgrad_job j = {g, batch, m, a_stride, img_stride, ws_per_thread, a, img, dw, ws, accumulate};
  if (pool) ds__pool_run(pool, weight_grad_worker, &j);
  else weight_grad_worker(&j, 0, 1);
}

typedef struct bias_job {
  int64_t batch, cout, pixels;
  const float *dy;
  float *db;
  int accumulate;
} bias_job;

static void bias_grad_worker(void *p, int32_t t, int32_t threads) {
  const bias_job *j = p;
  int64_t o0, o1;
  ds__split_range(j->cout, t, threads, &o0, &o1);
  for (int64_t o = o0; o < o1; o++) {
    double acc = 0.0;
    for (int64_t b = 0; b < j->batch; b++) {
      const float *d = j->dy + (b * j->cout + o) * j->pixels;
      for (int64_t i = 0; i < j->pixels; i++) acc += d[i];
    }
    j->db[o] = j->accumulate ? j->db[o] + (float)acc : (float)acc;
  }
}

void ds__conv_bias_grad(ds__pool *pool, int64_t batch, int64_t cout, int64_t pixels,
                        const float *dy, float *db, int accumulate) {
  bias_job j = {batch, cout, pixels, dy, db, accumulate};
  if (pool) ds__pool_run(pool, bias_grad_worker, &j);
  else bias_grad_worker(&j, 0, 1);
}

void ds__conv2d_backward(ds__pool *pool, const ds__conv2d_shape *s, const float *x,
                         const float *w, const float *dy, float *dx, float *dw, float *db,
                         int accumulate, float *ws) {
  conv_job j = {s, conv_geom(s), x, w, NULL, dy, NULL, dx, ws, accumulate};
  const int64_t ohw = j.g.oh * j.g.ow;
  if (dx) {
    if (pool && s->batch >= ds__pool_threads(pool)) ds__pool_run(pool, input_grad_worker, &j);
    else
      for (int64_t b = 0; b < s->batch; b++) input_grad_image(&j, b, ws, pool);
  }
  if (dw)
    ds__conv_weight_grad(pool, &j.g, s->batch, dy, s->cout * ohw, s->cout, x,
                         s->cin * s->h * s->w, dw, accumulate, ws, per_thread(&j.g));
  if (db) ds__conv_bias_grad(pool, s->batch, s->cout, ohw, dy, db, accumulate);
}
