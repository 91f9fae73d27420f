/* k-nearest-neighbour radii and ball coverage in Euclidean space: the two operations of
 * the improved precision and recall metric (Kynkaanniemi et al. 2019, see
 * ds_precision_recall). Pure math over a pool; the caller provides every buffer.
 *
 * Exactness. A squared distance is, by definition here, ds__knn_sq_dist: the plain double
 * sum of ((double)a_i - (double)b_i)^2 over the dimensions in order. The kernels find the
 * same answers as the O(n^2) loop over those values, but fast: for blocks of points they
 * take ||a||^2 + ||b||^2 - 2 a.b with a.b from the float GEMM (ds__gemm), together with a
 * rigorous bound on how far that can be from ds__knn_sq_dist. Only when a decision (is this
 * among the k nearest? is the point inside the ball?) falls within the bound is the squared
 * distance recomputed exactly. So ties and near-ties are decided exactly, and every result
 * is bitwise identical for any thread count and blocking. */
#ifndef DS_KERNELS_KNN_H
#define DS_KERNELS_KNN_H

#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"

/* n points of dimension dim, row-major, with their squared norms (double sums in order)
 * and the square roots of those: fill with ds__knn_norms. */
typedef struct ds__knn_points {
  const float *x;
  const double *norm2;
  const double *norm;
  int64_t n;
} ds__knn_points;

/* norm2[i] = sum_j x[i][j]^2 in double, in order; norm[i] = sqrt(norm2[i]). */
void ds__knn_norms(ds__pool *pool, const float *x, int64_t n, int64_t dim, double *norm2,
                   double *norm);

/* The squared distance every decision is made on. */
double ds__knn_sq_dist(const float *a, const float *b, int64_t dim);

/* Bytes of workspace the two kernels below need on `pool` (one slice per thread: a float
 * tile of 256 x 512 dot products and per-row heaps of k values, ~0.5 MiB for a small k)
 * for this k >= 1. Any allocator's memory will do (it is aligned inside). */
size_t ds__knn_workspace_size(const ds__pool *pool, int32_t k);

/* radius2[i] = the k-th smallest squared distance from point i to the other points of
 * the set (the point itself excluded, duplicates counted). 1 <= k <= n - 1. */
void ds__knn_radii(ds__pool *pool, const ds__knn_points *set, int64_t dim, int32_t k,
                   void *work, double *radius2);

/* Number of query points q for which some reference point r has
 * sq_dist(q, r) <= ref_radius2[r] (q lies in r's closed ball). `work` sized as above for
 * any k >= 1. */
int64_t ds__knn_covered(ds__pool *pool, const ds__knn_points *query,
                        const ds__knn_points *ref, const double *ref_radius2, int64_t dim,
                        void *work);

#endif
