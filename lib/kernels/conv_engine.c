#include "kernels/conv_engine.h"

#include <string.h>

#include "kernels/gemm.h"
#include "kernels/gemm_kernel.h"

enum { WIDE = 1024 }; /* target columns per product */

static int64_t group_size(const ds__conv_geom *g, int64_t batch) {
  int64_t p = g->oh * g->ow, n = p >= WIDE ? 1 : WIDE / p;
  return n < batch ? (n > 0 ? n : 1) : (batch > 0 ? batch : 1);
}

int64_t ds__conv_engine_ws(const ds__conv_geom *g, int64_t m, int64_t batch) {
  int64_t kc = g->c * g->kh * g->kw, cols = (kc + m) * group_size(g, batch) * g->oh * g->ow;
  int64_t packed_a = ds__gemm_packed_a_floats(m, kc); /* gather_gemm's weights */
  int64_t wgrad = (2 * m + 8) * group_size(g, batch) * g->oh * g->ow; /* weight_grad's a */
  int64_t need = cols > packed_a ? cols : packed_a;
  return need > wgrad ? need : wgrad;
}

static float *slot(float *ws, int32_t t, int64_t per) { return ws ? ws + t * per : NULL; }

typedef struct engine_job {
  const ds__conv_geom *g;
  int64_t batch, m, lda, in_stride, out_stride, per_thread;
  int trans_a, accumulate;
  const float *in, *a, *bias;
  float *out, *ws;
  const float *a_packed; /* gather: op(A) packed, or NULL */
  const float *img; /* weight_grad: the image whose columns are taken */
  int64_t img_stride;
} engine_job;

/* ---- fewer images than threads: the copies around a product split inside the image ------ */

typedef struct copy_job {
  const engine_job *j;
  int64_t b0, n, ld;
  float *col;      /* rows [row0, ...) of the column matrix (Kc, n*P; row stride ld) */
  int64_t row0;
} copy_job;

/* img_b = [bias +] [img_b +] col2im(col) for the n images, split over image channels (each
 * pixel is summed by one part, in the same order as col2im of the whole image) */
static void col2im_channels(const copy_job *c, int64_t c0, int64_t c1) {
  const engine_job *j = c->j;
  const ds__conv_geom *g = j->g;
  const int64_t kk = g->kh * g->kw, p = g->oh * g->ow, hw = g->h * g->w;
  if (c0 >= c1) return;
  ds__conv_geom part = *g;
  part.c = c1 - c0;
  for (int64_t i = 0; i < c->n; i++)
    ds__col2im_init(&part, c->col + (c0 * kk - c->row0) * c->ld + i * p, c->ld,
                    j->bias ? j->bias + c0 : NULL, j->accumulate,
                    j->out + (c->b0 + i) * j->out_stride + c0 * hw);
}

static void col2im_part(void *arg, int32_t t, int32_t threads) {
  const copy_job *c = arg;
  int64_t c0, c1;
  ds__split_range(c->j->g->c, t, threads, &c0, &c1);
  col2im_channels(c, c0, c1);
}

static void col2im_images(const engine_job *j, int64_t b0, int64_t n, int64_t ld, float *col,
                          ds__pool *pool) {
  copy_job c = {j, b0, n, ld, col, 0};
  if (pool) ds__pool_run(pool, col2im_part, &c);
  else col2im_part(&c, 0, 1);
}

/* ---- gather_gemm: out_b (M, P) (+)= op(A) im2col(img_b) + bias --------------------------
 * The column matrix is never stored: the GEMM packs each of its panels from the image
 * (ds__im2col_panel) and adds the bias in its epilogue. Each thread packs op(A) once into its
 * workspace slot; images are split over threads, or with fewer images than threads each
 * image's panels are. */

typedef struct panel_src {
  const ds__conv_geom *g;
  const float *img;
} panel_src;

static void im2col_panel_cb(const void *ctx, int64_t k0, int64_t kc, int64_t j0, int64_t n,
                            int64_t nr, float *dst) {
  const panel_src *s = ctx;
  ds__im2col_panel(s->g, s->img, k0, kc, j0, n, nr, dst);
}

static void gather_worker(void *arg, int32_t t, int32_t threads) {
  const engine_job *j = arg;
  const ds__conv_geom *g = j->g;
  const int64_t kc = g->c * g->kh * g->kw, p = g->oh * g->ow;
  int64_t b0 = 0, b1 = j->batch, c0 = 0, c1 = p;
  if (j->batch >= threads) {
    ds__split_range(j->batch, t, threads, &b0, &b1);
  } else { /* split whole panels of the image */
    const int64_t nr = ds__gemm_kernel_active()->nr;
    ds__split_range((p + nr - 1) / nr, t, threads, &c0, &c1);
    c0 *= nr;
    c1 = c1 * nr < p ? c1 * nr : p;
  }
  if (b0 >= b1 || c0 >= c1) return;
  const float *ap = j->a_packed;
  if (!ap) {
    float *mine = slot(j->ws, t, j->per_thread);
    ds__gemm_pack_a(j->trans_a, j->m, kc, j->a, j->lda, mine);
    ap = mine;
  }
  for (int64_t b = b0; b < b1; b++) {
    panel_src src = {g, j->in + b * j->in_stride};
    ds__gemm_implicit_b(j->m, kc, ap, im2col_panel_cb, &src, c0, c1, j->bias, j->accumulate,
                        j->out + b * j->out_stride, p);
  }
}

void ds__conv_gather_gemm(ds__pool *pool, const ds__conv_geom *g, int64_t batch,
                          const float *img, int64_t img_stride, int trans_a, const float *a,
                          int64_t lda, const float *a_packed, int64_t m, const float *bias,
                          float *out, int64_t out_stride, int accumulate, float *ws) {
  engine_job j = {g, batch, m, lda, img_stride, out_stride, ds__conv_engine_ws(g, m, batch),
                  trans_a, accumulate, img, a, bias, out, ws, a_packed, NULL, 0};
  if (m <= 0 || batch <= 0 || g->oh * g->ow <= 0) return;
  const int64_t kc = g->c * g->kh * g->kw;
  if (pool && batch * m * kc * g->oh * g->ow >= 65536) ds__pool_run(pool, gather_worker, &j);
  else gather_worker(&j, 0, 1);
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
  if (gemm_pool) { /* the whole column matrix, each product and scatter split over the pool */
    ds__gemm(gemm_pool, j->trans_a, 0, kc, ld, j->m, 1.0f, j->a, j->lda, n > 1 ? s : src, ld,
             0.0f, col, ld);
    col2im_images(j, b0, n, ld, col, gemm_pool);
    return;
  }
  /* One thread: the rows of a few image channels at a time (about 128 KiB of columns, still
   * in cache when col2im adds them); rows are independent products, and each pixel still
   * gets its channel's rows in k order, so the bits are those of the whole matrix. */
  const int64_t kk = g->kh * g->kw;
  int64_t step = (int64_t)32768 / (kk * ld);
  step = step < 1 ? 1 : step;
  for (int64_t c0 = 0; c0 < g->c; c0 += step) {
    int64_t c1 = g->c - c0 < step ? g->c : c0 + step, r0 = c0 * kk;
    const float *a = j->trans_a ? j->a + r0 : j->a + r0 * j->lda;
    ds__gemm(NULL, j->trans_a, 0, (c1 - c0) * kk, ld, j->m, 1.0f, a, j->lda, n > 1 ? s : src,
             ld, 0.0f, col, ld);
    copy_job c = {j, b0, n, ld, col, r0};
    col2im_channels(&c, c0, c1);
  }
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
                  trans_a, accumulate, src, a, bias, img, ws, NULL, NULL, 0};
  run_images(pool, &j, scatter_worker, scatter_group);
}

/* ---- weight_grad: dW (M, Kc) (+)= sum_b a_b im2col(img_b)^T, split over Kc ---------------- */

typedef struct panel_t_src {
  const ds__conv_geom *g;
  const float *img;
  int64_t img_stride;
} panel_t_src;

static void im2col_panel_t_cb(const void *ctx, int64_t k0, int64_t kc, int64_t j0, int64_t n,
                              int64_t nr, float *dst) {
  const panel_t_src *s = ctx;
  ds__im2col_panel_t(s->g, s->img, s->img_stride, k0, kc, j0, n, nr, dst);
}

/* The transposed column panels straight from the images (no column matrix, no transpose of
 * a stored one) where ds__im2col_panel_t has its vector path: stride 1, same-size grid. */
static int fused_weight_grad(const ds__conv_geom *g) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  const int64_t nr = ds__gemm_kernel_active()->nr;
  return g->stride == 1 && g->ow == g->w && (nr == 16 || nr == 32) &&
         g->kh * g->kw <= 64 && __builtin_cpu_supports("avx512f");
#else
  (void)g;
  return 0;
#endif
}

static void weight_grad_worker(void *arg, int32_t t, int32_t threads) {
  const engine_job *j = arg; /* in: the a_b, out: dW */
  const ds__conv_geom *g = j->g;
  const int64_t kc = g->c * g->kh * g->kw, p = g->oh * g->ow, gs = group_size(g, j->batch);
  const float *img = j->img;
  int64_t k0, k1;
  ds__split_range(kc, t, threads, &k0, &k1);
  if (k0 >= k1) return;
  float *ws = slot(j->ws, t, j->per_thread);
  const int fused = fused_weight_grad(g);
  for (int64_t b = 0; b < j->batch; b += gs) {
    int64_t n = j->batch - b < gs ? j->batch - b : gs, ld = n * p;
    float *col = ws, *am = ws + kc * ld; /* col (k1-k0, n*P), am (M, n*P) */
    if (fused) am = ws;
    const float *a = j->in + b * j->in_stride, *cb = col;
    if (n > 1) {
      for (int64_t i = 0; i < n; i++)
        for (int64_t r = 0; r < j->m; r++)
          memcpy(am + r * ld + i * p, j->in + (b + i) * j->in_stride + r * p,
                 sizeof(float) * (size_t)p);
      a = am;
    }
    int acc = b > 0 || j->accumulate;
    if (fused) { /* dW[:, k0:k1] (+)= a (M, ld) col^T (ld, k1 - k0), same bits as below */
      float *ap = ws + j->m * ld;
      ds__gemm_pack_a(0, j->m, ld, a, ld, ap);
      panel_t_src src = {g, img + b * j->img_stride, j->img_stride};
      ds__gemm_implicit_b(j->m, ld, ap, im2col_panel_t_cb, &src, k0, k1, NULL, acc, j->out, kc);
      continue;
    }
    if (n == 1 && ds__im2col_is_identity(g)) {
      cb = img + b * j->img_stride + k0 * p;
    } else {
      for (int64_t i = 0; i < n; i++)
        ds__im2col(g, img + (b + i) * j->img_stride, k0, k1, col + i * p, ld);
    }
    ds__gemm(NULL, 0, 1, j->m, k1 - k0, ld, 1.0f, a, ld, cb, ld, acc ? 1.0f : 0.0f, j->out + k0,
             kc);
  }
}

void ds__conv_weight_grad(ds__pool *pool, const ds__conv_geom *g, int64_t batch,
                          const float *a, int64_t a_stride, int64_t m, const float *img,
                          int64_t img_stride, float *dw, int accumulate, float *ws) {
  engine_job j = {g, batch, m, 0, a_stride, 0, ds__conv_engine_ws(g, m, batch),
                  0, accumulate, a, NULL, NULL, dw, ws, NULL, img, img_stride};
  if (pool) ds__pool_run(pool, weight_grad_worker, &j);
  else weight_grad_worker(&j, 0, 1);
}

typedef struct bias_job {
  int64_t batch, cout, pixels;
  const float *dy;
  float *db;
  int accumulate;
} bias_job;

/* sum over the images' rows of dy for output o: four interleaved float64 partial sums
 * (element i of each block of four into sum i % 4, the tail into sum 0), combined as
 * (s0 + s1) + (s2 + s3) */
static double bias_sum_plain(const bias_job *j, int64_t o) {
  double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
  for (int64_t b = 0; b < j->batch; b++) {
    const float *d = j->dy + (b * j->cout + o) * j->pixels;
    int64_t i = 0;
    for (; i + 4 <= j->pixels; i += 4) a0 += d[i], a1 += d[i + 1], a2 += d[i + 2], a3 += d[i + 3];
    for (; i < j->pixels; i++) a0 += d[i];
  }
  return (a0 + a1) + (a2 + a3);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
/* the same four sums as the four lanes of one register */
__attribute__((target("avx2"))) static double bias_sum_avx2(const bias_job *j, int64_t o) {
  __m256d acc = _mm256_setzero_pd();
  for (int64_t b = 0; b < j->batch; b++) {
    const float *d = j->dy + (b * j->cout + o) * j->pixels;
    int64_t i = 0;
    for (; i + 4 <= j->pixels; i += 4)
      acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm_loadu_ps(d + i)));
    if (i < j->pixels) { /* the tail into sum 0, in order */
      double lanes[4];
      _mm256_storeu_pd(lanes, acc);
      for (; i < j->pixels; i++) lanes[0] += d[i];
      acc = _mm256_loadu_pd(lanes);
    }
  }
  double lanes[4];
  _mm256_storeu_pd(lanes, acc);
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}
#define DS_HAVE_BIAS_SUM_AVX2 1
#endif

static void bias_grad_worker(void *p, int32_t t, int32_t threads) {
  const bias_job *j = p;
  int64_t o0, o1;
  ds__split_range(j->cout, t, threads, &o0, &o1);
  for (int64_t o = o0; o < o1; o++) {
    double acc;
#ifdef DS_HAVE_BIAS_SUM_AVX2
    if (__builtin_cpu_supports("avx2")) acc = bias_sum_avx2(j, o);
    else
#endif
      acc = bias_sum_plain(j, o);
    j->db[o] = j->accumulate ? j->db[o] + (float)acc : (float)acc;
  }
}

void ds__conv_bias_grad(ds__pool *pool, int64_t batch, int64_t cout, int64_t pixels,
                        const float *dy, float *db, int accumulate) {
  bias_job j = {batch, cout, pixels, dy, db, accumulate};
  if (pool) ds__pool_run(pool, bias_grad_worker, &j);
  else bias_grad_worker(&j, 0, 1);
}
