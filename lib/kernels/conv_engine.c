#include "kernels/conv_engine.h"

#include <string.h>

#include "kernels/gemm.h"

enum { WIDE = 1024 }; /* target columns per product */

static int64_t group_size(const ds__conv_geom *g, int64_t batch) {
  int64_t p = g->oh * g->ow, n = p >= WIDE ? 1 : WIDE / p;
  return n < batch ? (n > 0 ? n : 1) : (batch > 0 ? batch : 1);
}

int64_t ds__conv_engine_ws(const ds__conv_geom *g, int64_t m, int64_t batch) {
  int64_t kc = g->c * g->kh * g->kw;
  return (kc + m) * group_size(g, batch) * g->oh * g->ow;
}

static float *slot(float *ws, int32_t t, int64_t per) { return ws ? ws + t * per : NULL; }

typedef struct engine_job {
  const ds__conv_geom *g;
  int64_t batch, m, lda, in_stride, out_stride, per_thread;
  int trans_a, accumulate;
  const float *in, *a, *bias;
  float *out, *ws;
  const float *img; /* weight_grad: the image whose columns are taken */
  int64_t img_stride;
} engine_job;

/* ---- fewer images than threads: the copies around a product split inside the image ------ */

typedef struct copy_job {
  const engine_job *j;
  int64_t b0, n, ld;
  float *col;
} copy_job;

/* col (Kc, n*P) = im2col of images b0..b0+n-1, rows of Kc split over the parts */
static void im2col_part(void *arg, int32_t t, int32_t threads) {
  const copy_job *c = arg;
  const ds__conv_geom *g = c->j->g;
  const int64_t kc = g->c * g->kh * g->kw, p = g->oh * g->ow;
  int64_t k0, k1;
  ds__split_range(kc, t, threads, &k0, &k1);
  for (int64_t i = 0; i < c->n && k0 < k1; i++)
    ds__im2col(g, c->j->in + (c->b0 + i) * c->j->in_stride, k0, k1, c->col + k0 * c->ld + i * p,
               c->ld);
}

static void im2col_images(const engine_job *j, int64_t b0, int64_t n, int64_t ld, float *col,
                          ds__pool *pool) {
  copy_job c = {j, b0, n, ld, col};
  if (pool) ds__pool_run(pool, im2col_part, &c);
  else im2col_part(&c, 0, 1);
}

/* img_b = [bias +] [img_b +] col2im(col) for the n images, split over image channels (each
 * pixel is summed by one part, in the same order as col2im of the whole image) */
static void col2im_part(void *arg, int32_t t, int32_t threads) {
  const copy_job *c = arg;
  const engine_job *j = c->j;
  const ds__conv_geom *g = j->g;
  const int64_t kk = g->kh * g->kw, p = g->oh * g->ow, hw = g->h * g->w;
  int64_t c0, c1;
  ds__split_range(g->c, t, threads, &c0, &c1);
  if (c0 >= c1) return;
  ds__conv_geom part = *g;
  part.c = c1 - c0;
  for (int64_t i = 0; i < c->n; i++) {
    float *o = j->out + (c->b0 + i) * j->out_stride;
    for (int64_t ch = c0; ch < c1; ch++) {
      float bv = j->bias ? j->bias[ch] : 0.0f;
      if (!j->accumulate)
        for (int64_t q = 0; q < hw; q++) o[ch * hw + q] = bv;
      else if (j->bias)
        for (int64_t q = 0; q < hw; q++) o[ch * hw + q] += bv;
    }
    ds__col2im(&part, c->col + c0 * kk * c->ld + i * p, c->ld, o + c0 * hw);
  }
}

static void col2im_images(const engine_job *j, int64_t b0, int64_t n, int64_t ld, float *col,
                          ds__pool *pool) {
  copy_job c = {j, b0, n, ld, col};
  if (pool) ds__pool_run(pool, col2im_part, &c);
  else col2im_part(&c, 0, 1);
}

/* ---- gather_gemm: out_b (M, P) (+)= op(A) im2col(img_b) + bias --------------------------- */

static void gather_group(const engine_job *j, int64_t b0, int64_t n, float *ws,
                         ds__pool *gemm_pool) {
  const ds__conv_geom *g = j->g;
  const int64_t kc = g->c * g->kh * g->kw, p = g->oh * g->ow, ld = n * p;
  float *col = ws, *c = ws + kc * ld; /* col (Kc, n*P), c (M, n*P) */
  const float *b_mat = col;
  if (n == 1 && ds__im2col_is_identity(g)) b_mat = j->in + b0 * j->in_stride;
  else im2col_images(j, b0, n, ld, col, gemm_pool);
  /* initial value of each output element: bias, the existing output, or both */
  float *dst = n == 1 ? j->out + b0 * j->out_stride : c;
  int64_t ldd = n == 1 ? p : ld;
  int init = j->bias || j->accumulate;
  for (int64_t i = 0; i < n && init; i++) {
    float *o = j->out + (b0 + i) * j->out_stride;
    for (int64_t r = 0; r < j->m; r++) {
      float *d = dst + r * ldd + (n == 1 ? 0 : i * p);
      const float *e = o + r * p;
      float bv = j->bias ? j->bias[r] : 0.0f;
      for (int64_t q = 0; q < p; q++) d[q] = j->accumulate ? e[q] + bv : bv;
    }
  }
  ds__gemm(gemm_pool, j->trans_a, 0, j->m, ld, kc, 1.0f, j->a, j->lda, b_mat, ld,
           init ? 1.0f : 0.0f, dst, ldd);
  if (n > 1)
    for (int64_t i = 0; i < n; i++)
      for (int64_t r = 0; r < j->m; r++)
        memcpy(j->out + (b0 + i) * j->out_stride + r * p, c + r * ld + i * p,
               sizeof(float) * (size_t)p);
}

static void gather_worker(void *arg, int32_t t, int32_t threads) {
  const engine_job *j = arg;
  int64_t b0, b1, gs = group_size(j->g, j->batch);
  ds__split_range(j->batch, t, threads, &b0, &b1);
  for (int64_t b = b0; b < b1; b += gs)
    gather_group(j, b, b1 - b < gs ? b1 - b : gs, slot(j->ws, t, j->per_thread), NULL);
}

static void run_images(ds__pool *pool, engine_job *j, ds__pool_fn worker,
                       void (*group)(const engine_job *, int64_t, int64_t, float *, ds__pool *)) {
  if (pool && j->batch >= ds__pool_threads(pool)) {
    ds__pool_run(pool, worker, j);
  } else {
    int64_t gs = group_size(j->g, j->batch);
    for (int64_t b = 0; b < j->batch; b += gs)
      group(j, b, j->batch - b < gs ? j->batch - b : gs, j->ws, pool);
  }
}

void ds__conv_gather_gemm(ds__pool *pool, const ds__conv_geom *g, int64_t batch,
                          const float *img, int64_t img_stride, int trans_a, const float *a,
                          int64_t lda, int64_t m, const float *bias, float *out,
                          int64_t out_stride, int accumulate, float *ws) {
  engine_job j = {g, batch, m, lda, img_stride, out_stride, ds__conv_engine_ws(g, m, batch),
                  trans_a, accumulate, img, a, bias, out, ws, NULL, 0};
  run_images(pool, &j, gather_worker, gather_group);
}

/* ---- gemm_scatter: img_b (+)= col2im(op(A) src_b) + bias ---------------------------------- */

static void scatter_group(const engine_job *j, int64_t b0, int64_t n, float *ws,
                          ds__pool *gemm_pool) {
  const ds__conv_geom *g = j->g;
  const int64_t kc = g->c * g->kh * g->kw, p = g->oh * g->ow, ld = n * p;
  float *col = ws, *s = ws + kc * ld; /* col (Kc, n*P), s (M, n*P) */
  const float *src = j->in + b0 * j->in_stride;
  if (n == 1 && ds__im2col_is_identity(g) && !j->bias && !j->accumulate) {
    /* col2im is the identity: write the product straight into the image (same bits as
     * col2im onto zeros) */
    ds__gemm(gemm_pool, j->trans_a, 0, kc, p, j->m, 1.0f, j->a, j->lda, src, p, 0.0f,
             j->out + b0 * j->out_stride, p);
    return;
  }
  if (n > 1)
    for (int64_t i = 0; i < n; i++)
      for (int64_t r = 0; r < j->m; r++)
        memcpy(s + r * ld + i * p, j->in + (b0 + i) * j->in_stride + r * p,
               sizeof(float) * (size_t)p);
  ds__gemm(gemm_pool, j->trans_a, 0, kc, ld, j->m, 1.0f, j->a, j->lda, n > 1 ? s : src, ld,
           0.0f, col, ld);
  col2im_images(j, b0, n, ld, col, gemm_pool);
}

static void scatter_worker(void *arg, int32_t t, int32_t threads) {
  const engine_job *j = arg;
  int64_t b0, b1, gs = group_size(j->g, j->batch);
  ds__split_range(j->batch, t, threads, &b0, &b1);
  for (int64_t b = b0; b < b1; b += gs)
    scatter_group(j, b, b1 - b < gs ? b1 - b : gs, slot(j->ws, t, j->per_thread), NULL);
}

void ds__conv_gemm_scatter(ds__pool *pool, const ds__conv_geom *g, int64_t batch,
                           const float *src, int64_t src_stride, int trans_a, const float *a,
                           int64_t lda, int64_t m, const float *bias, float *img,
                           int64_t img_stride, int accumulate, float *ws) {
  engine_job j = {g, batch, m, lda, src_stride, img_stride, ds__conv_engine_ws(g, m, batch),
                  trans_a, accumulate, src, a, bias, img, ws, NULL, 0};
  run_images(pool, &j, scatter_worker, scatter_group);
}

/* ---- weight_grad: dW (M, Kc) (+)= sum_b a_b im2col(img_b)^T, split over Kc ---------------- */

static void weight_grad_worker(void *arg, int32_t t, int32_t threads) {
  const engine_job *j = arg; /* in: the a_b, out: dW */
  const ds__conv_geom *g = j->g;
  const int64_t kc = g->c * g->kh * g->kw, p = g->oh * g->ow, gs = group_size(g, j->batch);
  const float *img = j->img;
  int64_t k0, k1;
  ds__split_range(kc, t, threads, &k0, &k1);
  if (k0 >= k1) return;
  float *ws = slot(j->ws, t, j->per_thread);
  for (int64_t b = 0; b < j->batch; b += gs) {
    int64_t n = j->batch - b < gs ? j->batch - b : gs, ld = n * p;
    float *col = ws, *am = ws + kc * ld; /* col (k1-k0, n*P), am (M, n*P) */
    const float *a = j->in + b * j->in_stride, *cb = col;
    if (n == 1 && ds__im2col_is_identity(g)) {
      cb = img + b * j->img_stride + k0 * p;
    } else {
      for (int64_t i = 0; i < n; i++)
        ds__im2col(g, img + (b + i) * j->img_stride, k0, k1, col + i * p, ld);
    }
    if (n > 1) {
      for (int64_t i = 0; i < n; i++)
        for (int64_t r = 0; r < j->m; r++)
          memcpy(am + r * ld + i * p, j->in + (b + i) * j->in_stride + r * p,
                 sizeof(float) * (size_t)p);
      a = am;
    }
    float beta = (b > 0 || j->accumulate) ? 1.0f : 0.0f;
    ds__gemm(NULL, 0, 1, j->m, k1 - k0, ld, 1.0f, a, ld, cb, ld, beta, j->out + k0, kc);
  }
}

void ds__conv_weight_grad(ds__pool *pool, const ds__conv_geom *g, int64_t batch,
                          const float *a, int64_t a_stride, int64_t m, const float *img,
                          int64_t img_stride, float *dw, int accumulate, float *ws) {
  engine_job j = {g, batch, m, 0, a_stride, 0, ds__conv_engine_ws(g, m, batch),
                  0, accumulate, a, NULL, NULL, dw, ws, img, img_stride};
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
    /* four interleaved float64 partial sums, combined in a fixed order */
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
    for (int64_t b = 0; b < j->batch; b++) {
      const float *d = j->dy + (b * j->cout + o) * j->pixels;
      int64_t i = 0;
      for (; i + 4 <= j->pixels; i += 4) a0 += d[i], a1 += d[i + 1], a2 += d[i + 2], a3 += d[i + 3];
      for (; i < j->pixels; i++) a0 += d[i];
    }
    double acc = (a0 + a1) + (a2 + a3);
    j->db[o] = j->accumulate ? j->db[o] + (float)acc : (float)acc;
  }
}

void ds__conv_bias_grad(ds__pool *pool, int64_t batch, int64_t cout, int64_t pixels,
                        const float *dy, float *db, int accumulate) {
  bias_job j = {batch, cout, pixels, dy, db, accumulate};
  if (pool) ds__pool_run(pool, bias_grad_worker, &j);
  else bias_grad_worker(&j, 0, 1);
}
