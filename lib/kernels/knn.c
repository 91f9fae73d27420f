#include "kernels/knn.h"

#include <math.h>

#include "dsmooth.h" /* DS_MAX_THREADS */
#include "kernels/gemm.h"

/* Work is split over the pool by chunks of query rows (never by thread): part t of T takes
 * a contiguous range of chunks and, for each chunk, walks the reference set in blocks of
 * BN points, one GEMM (on the calling thread) per block into its own (BM, BN) tile.
 * Every per-row answer is exact (see knn.h), so neither the split nor the blocking can
 * change a result. */
enum { BM_MAX = 256, BN = 512, ALIGN = 64 };

/* Rows per chunk: fewer for a large k, so that the per-row heaps (BM x k doubles) of a part
 * stay within ~1 MiB. */
static int64_t chunk_rows(int32_t k) {
  int64_t bm = 131072 / (k > 0 ? k : 1);
  return bm > BM_MAX ? BM_MAX : bm < 8 ? 8 : bm;
}

static size_t aligned(size_t bytes) { return (bytes + ALIGN - 1) / ALIGN * ALIGN; }

/* One part's slice of the workspace. */
typedef struct part_work {
  float *tile;       /* (BM_MAX, BN) dot products                     */
  double *lo, *hi;   /* (BN) bounds on one row's squared distances      */
  double *heap;      /* (bm, k) max-heaps of the k smallest values     */
  double *bound;     /* (BM_MAX) per-row bound H of the first pass      */
  int32_t *size;     /* (BM_MAX) heap sizes                             */
  unsigned char *hit;/* (BM_MAX) row covered                            */
} part_work;

static size_t part_bytes(int32_t k) {
  int64_t bm = chunk_rows(k);
  return aligned(sizeof(float) * BM_MAX * BN) + 2 * aligned(sizeof(double) * BN) +
         aligned(sizeof(double) * (size_t)(bm * k)) +
         aligned(sizeof(double) * BM_MAX) + aligned(sizeof(int32_t) * BM_MAX) + aligned(BM_MAX);
}

size_t ds__knn_workspace_size(const ds__pool *pool, int32_t k) {
  return ALIGN + (size_t)ds__pool_threads(pool) * part_bytes(k);
}

static part_work part_slice(void *work, int32_t k, int32_t t) {
  uintptr_t base = ((uintptr_t)work + ALIGN - 1) / ALIGN * ALIGN;
  unsigned char *p = (unsigned char *)base + (size_t)t * part_bytes(k);
  part_work w;
  w.tile = (float *)p;
  p += aligned(sizeof(float) * BM_MAX * BN);
  w.lo = (double *)p;
  p += aligned(sizeof(double) * BN);
  w.hi = (double *)p;
  p += aligned(sizeof(double) * BN);
  w.heap = (double *)p;
  p += aligned(sizeof(double) * (size_t)(chunk_rows(k) * k));
  w.bound = (double *)p;
  p += aligned(sizeof(double) * BM_MAX);
  w.size = (int32_t *)p;
  p += aligned(sizeof(int32_t) * BM_MAX);
  w.hit = p;
  return w;
}

/* ---- exact distances and norms -------------------------------------------------------- */

double ds__knn_sq_dist(const float *a, const float *b, int64_t dim) {
  double acc = 0.0;
  for (int64_t j = 0; j < dim; j++) {
    double d = (double)a[j] - (double)b[j];
    acc += d * d;
  }
  return acc;
}

typedef struct norm_job {
  const float *x;
  int64_t n, dim;
  double *norm2, *norm;
} norm_job;

static void norm_rows(void *p, int32_t t, int32_t threads) {
  const norm_job *job = p;
  int64_t i0, i1;
  ds__split_range(job->n, t, threads, &i0, &i1);
  for (int64_t i = i0; i < i1; i++) {
    const float *row = job->x + i * job->dim;
    double acc = 0.0;
    for (int64_t j = 0; j < job->dim; j++) acc += (double)row[j] * (double)row[j];
    job->norm2[i] = acc;
    job->norm[i] = sqrt(acc);
  }
}

void ds__knn_norms(ds__pool *pool, const float *x, int64_t n, int64_t dim, double *norm2,
                   double *norm) {
  norm_job job = {x, n, dim, norm2, norm};
  ds__pool_run(pool, norm_rows, &job);
}

/* ---- the error bound -------------------------------------------------------------------
 * approx = |a|^2 + |b|^2 - 2 dot, dot = the float GEMM's a.b, everything else in double.
 * |approx - ds__knn_sq_dist(a, b)| <= e(a, b) = c_dot |a||b| + c_norm (|a|^2 + |b|^2) + tiny:
 *  - dot: any order of summation of K products, with or without FMA, plus the GEMM's
 *    one fused add per K block, is within gamma_m sum |a_i b_i| <= gamma_m |a||b| of a.b
 *    for m = 2K + 4 (generous), gamma_m = m u / (1 - m u), u = 2^-24; twice that for 2 dot;
 *  - the double side (the norms, the two additions, and ds__knn_sq_dist's own rounding
 *    against the real a - b) stays below (K + 8) 2^-52 (|a|^2 + |b|^2) with room to spare,
 *    since 2|a.b| <= |a|^2 + |b|^2 bounds every term;
 *  - products that underflow lose at most 2^-150 each in float: tiny = (4K + 8) 2^-149.
 * An overflowing float GEMM (huge inputs) gives a non-finite approx: such pairs, and every
 * pair once m u >= 1/2 (K > 2^22), are decided exactly. */
typedef struct err_bound {
  double c_dot, c_norm, tiny;
} err_bound;

static err_bound error_bound(int64_t dim) {
  const double u = 0x1p-24, m = 2.0 * (double)dim + 4.0;
  err_bound b;
  b.c_dot = m * u < 0.5 ? 2.0 * (m * u / (1.0 - m * u)) : INFINITY;
  b.c_norm = ((double)dim + 8.0) * 0x1p-52 * 8.0;
  b.tiny = (4.0 * (double)dim + 8.0) * 0x1p-149;
  return b;
}

/* lo[c] <= ds__knn_sq_dist(a, b_c) <= hi[c] for one row a of a tile against the n points
 * b_c, or lo[c] = hi[c] = NaN where approx is not finite (the term approx - approx is 0
 * for a finite approx and NaN otherwise) or the bound is NaN: every comparison with NaN is
 * false, and the callers write theirs so that false means "decide exactly". A branch-free
 * loop the compiler vectorises; the callers' scans then mostly compare and move on. */
static void row_bounds(const err_bound *eb, double na2, double na, const double *nb2,
                       const double *nb, const float *dots, int64_t n, double *lo, double *hi) {
  const double cd = eb->c_dot * na, cn = eb->c_norm, rc = eb->c_norm * na2 + eb->tiny;
  for (int64_t c = 0; c < n; c++) {
    double approx = na2 + nb2[c] - 2.0 * (double)dots[c];
    double e = cd * nb[c] + cn * nb2[c] + rc + (approx - approx);
    lo[c] = approx - e;
    hi[c] = approx + e;
  }
}

/* ---- bounded max-heaps of the k smallest values ------------------------------------------ */

static void heap_offer(double *h, int32_t *size, int32_t cap, double v) {
  int32_t i;
  if (*size < cap) {
    i = (*size)++;
    while (i > 0) { /* sift up */
      int32_t parent = (i - 1) / 2;
      if (h[parent] >= v) break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = v;
    return;
  }
  if (!(v < h[0])) return;
  i = 0; /* replace the maximum, sift down */
  for (;;) {
    int32_t c = 2 * i + 1;
    if (c >= cap) break;
    if (c + 1 < cap && h[c + 1] > h[c]) c++;
    if (h[c] <= v) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = v;
}

/* ---- radii --------------------------------------------------------------------------------
 * For each row, two passes over the set. The first keeps the k smallest upper bounds
 * approx + e; their maximum H bounds the true k-th smallest distance from above. The second
 * computes exactly every distance whose lower bound approx - e is <= H (every point that
 * can be among the k nearest is such a point) and keeps the k smallest: the k-th of those
 * is the radius. The second pass computes about k exact distances per row, more only where
 * many distances lie within the bound of the k-th. */

typedef struct knn_job {
  const ds__knn_points *q, *r;
  const double *ref_radius2;
  int64_t dim;
  int32_t k;
  err_bound eb;
  void *work;
  double *radius2;   /* radii */
  int64_t covered[DS_MAX_THREADS]; /* coverage count per part */
} knn_job;

static int64_t chunk_count(int64_t n, int64_t bm) { return (n + bm - 1) / bm; }

static void tile_product(const knn_job *job, int64_t i0, int64_t m, int64_t j0, int64_t nb,
                         float *tile) {
  ds__gemm(NULL, 0, 1, m, nb, job->dim, 1.0f, job->q->x + i0 * job->dim, job->dim,
           job->r->x + j0 * job->dim, job->dim, 0.0f, tile, BN);
}

static void radii_chunk(const knn_job *job, const part_work *w, int64_t i0, int64_t m) {
  const ds__knn_points *s = job->q;
  const int32_t k = job->k;
  for (int pass = 0; pass < 2; pass++) {
    for (int64_t r = 0; r < m; r++) w->size[r] = 0;
    for (int64_t j0 = 0; j0 < s->n; j0 += BN) {
      int64_t nb = s->n - j0 < BN ? s->n - j0 : BN;
      tile_product(job, i0, m, j0, nb, w->tile);
      for (int64_t r = 0; r < m; r++) {
        int64_t i = i0 + r;
        double *h = w->heap + r * k;
        int32_t *size = &w->size[r];
        row_bounds(&job->eb, s->norm2[i], s->norm[i], s->norm2 + j0, s->norm + j0,
                   w->tile + r * BN, nb, w->lo, w->hi);
        for (int64_t c = 0; c < nb; c++) {
          int64_t j = j0 + c;
          if (pass == 0) {
            /* upper bounds (NaN: unknown, +inf); a full heap takes only smaller values */
            double hi = w->hi[c];
            if ((*size == k && hi >= h[0]) || j == i) continue;
            heap_offer(h, size, k, hi == hi ? hi : INFINITY);
          } else {
            /* exact distances where the lower bound is within the first pass's bound and
             * below the current k-th (NaN: unknown, always) */
            double lo = w->lo[c];
            if (lo > w->bound[r] || (*size == k && lo >= h[0]) || j == i) continue;
            heap_offer(h, size, k,
                       ds__knn_sq_dist(s->x + i * job->dim, s->x + j * job->dim, job->dim));
          }
        }
      }
    }
    for (int64_t r = 0; r < m; r++) {
      if (pass == 0) w->bound[r] = w->heap[r * k];
      else job->radius2[i0 + r] = w->heap[r * k];
    }
  }
}

static void radii_worker(void *p, int32_t t, int32_t threads) {
  const knn_job *job = p;
  int64_t bm = chunk_rows(job->k), c0, c1;
  part_work w = part_slice(job->work, job->k, t);
  ds__split_range(chunk_count(job->q->n, bm), t, threads, &c0, &c1);
  for (int64_t c = c0; c < c1; c++) {
    int64_t i0 = c * bm, m = job->q->n - i0 < bm ? job->q->n - i0 : bm;
    radii_chunk(job, &w, i0, m);
  }
}

void ds__knn_radii(ds__pool *pool, const ds__knn_points *set, int64_t dim, int32_t k,
                   void *work, double *radius2) {
  knn_job job = {.q = set, .r = set, .dim = dim, .k = k, .eb = error_bound(dim),
                 .work = work, .radius2 = radius2};
  ds__pool_run(pool, radii_worker, &job);
}

/* ---- coverage -----------------------------------------------------------------------------
 * A query row is covered as soon as one reference point decides it: approx + e <= radius
 * (certainly inside), or, when the radius lies within the bound, the exact distance. Rows
 * far outside every ball (approx - e > radius) never need an exact distance. A chunk stops
 * early once all its rows are covered. */

static int64_t covered_chunk(const knn_job *job, const part_work *w, int64_t i0, int64_t m) {
  const ds__knn_points *q = job->q, *s = job->r;
  const double *rad = job->ref_radius2;
  int64_t open = m;
  for (int64_t r = 0; r < m; r++) w->hit[r] = 0;
  for (int64_t j0 = 0; j0 < s->n && open > 0; j0 += BN) {
    int64_t nb = s->n - j0 < BN ? s->n - j0 : BN;
    tile_product(job, i0, m, j0, nb, w->tile);
    for (int64_t r = 0; r < m; r++) {
      if (w->hit[r]) continue;
      int64_t i = i0 + r;
      row_bounds(&job->eb, q->norm2[i], q->norm[i], s->norm2 + j0, s->norm + j0,
                 w->tile + r * BN, nb, w->lo, w->hi);
      for (int64_t c = 0; c < nb; c++) {
        int64_t j = j0 + c;
        if (w->lo[c] > rad[j]) continue; /* certainly outside (NaN: unknown) */
        if (w->hi[c] <= rad[j] ||
            ds__knn_sq_dist(q->x + i * job->dim, s->x + j * job->dim, job->dim) <= rad[j]) {
          w->hit[r] = 1;
          open--;
          break;
        }
      }
    }
  }
  return m - open;
}

static void covered_worker(void *p, int32_t t, int32_t threads) {
  knn_job *job = p;
  int64_t c0, c1, count = 0;
  part_work w = part_slice(job->work, 1, t);
  ds__split_range(chunk_count(job->q->n, BM_MAX), t, threads, &c0, &c1);
  for (int64_t c = c0; c < c1; c++) {
    int64_t i0 = c * BM_MAX, m = job->q->n - i0 < BM_MAX ? job->q->n - i0 : BM_MAX;
    count += covered_chunk(job, &w, i0, m);
  }
  job->covered[t] = count;
}

int64_t ds__knn_covered(ds__pool *pool, const ds__knn_points *query,
                        const ds__knn_points *ref, const double *ref_radius2, int64_t dim,
                        void *work) {
  knn_job job = {.q = query, .r = ref, .ref_radius2 = ref_radius2, .dim = dim, .k = 1,
                 .eb = error_bound(dim), .work = work};
  int32_t threads = ds__pool_threads(pool);
  for (int32_t t = 0; t < threads; t++) job.covered[t] = 0;
  ds__pool_run(pool, covered_worker, &job);
  int64_t total = 0;
  for (int32_t t = 0; t < threads; t++) total += job.covered[t];
  return total;
}
