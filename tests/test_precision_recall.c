/* ds_precision_recall and its kernels (lib/kernels/knn.c) against a plain O(n^2)
 * reference: hand-computed cases, the metric's limits (identical, disjoint, subset),
 * random data, exact ties on the ball boundary that the float GEMM cannot resolve, huge
 * values that overflow it, thread-count determinism and every bad argument. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "core/context.h"
#include "kernels/knn.h"
#include "test_util.h"

/* ---- the reference ------------------------------------------------------------------ */

static double ref_sq_dist(const float *a, const float *b, int64_t dim) {
  double acc = 0.0;
  for (int64_t j = 0; j < dim; j++) {
    double d = (double)a[j] - (double)b[j];
    acc += d * d;
  }
  return acc;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* k-th smallest squared distance to the other points of the set */
static void ref_radii(const float *x, int64_t n, int64_t dim, int32_t k, double *radius2) {
  double *d = malloc(sizeof(double) * (size_t)n);
  for (int64_t i = 0; i < n; i++) {
    int64_t m = 0;
    for (int64_t j = 0; j < n; j++)
      if (j != i) d[m++] = ref_sq_dist(x + i * dim, x + j * dim, dim);
    qsort(d, (size_t)m, sizeof(double), cmp_double);
    radius2[i] = d[k - 1];
  }
  free(d);
}

static int64_t ref_covered(const float *q, int64_t nq, const float *r, int64_t nr,
                           const double *radius2, int64_t dim) {
  int64_t count = 0;
  for (int64_t i = 0; i < nq; i++)
    for (int64_t j = 0; j < nr; j++)
      if (ref_sq_dist(q + i * dim, r + j * dim, dim) <= radius2[j]) {
        count++;
        break;
      }
  return count;
}

static void ref_precision_recall(const float *real, int64_t nr, const float *fake, int64_t nf,
                                 int64_t dim, int32_t k, double *precision, double *recall) {
  double *rr = malloc(sizeof(double) * (size_t)nr), *rf = malloc(sizeof(double) * (size_t)nf);
  ref_radii(real, nr, dim, k, rr);
  ref_radii(fake, nf, dim, k, rf);
  *precision = (double)ref_covered(fake, nf, real, nr, rr, dim) / (double)nf;
  *recall = (double)ref_covered(real, nr, fake, nf, rf, dim) / (double)nr;
  free(rr), free(rf);
}

/* ---- data ------------------------------------------------------------------------------ */

static uint64_t rng_state = 1;
static double uniform01(void) { return test_uniform01(&rng_state); }

/* values in [lo, hi), or (levels > 1) one of `levels` evenly spaced values in [lo, hi] */
static float *random_points(int64_t n, int64_t dim, double lo, double hi, int levels) {
  float *x = malloc(sizeof(float) * (size_t)(n * dim));
  for (int64_t i = 0; i < n * dim; i++) {
    double u = uniform01();
    if (levels > 1) u = floor(u * levels) / (levels - 1);
    x[i] = (float)(lo + (hi - lo) * u);
  }
  return x;
}

static void check_against_reference(ds_context *ctx, const float *real, int64_t nr,
                                     const float *fake, int64_t nf, int64_t dim, int32_t k) {
  double p = -1, r = -1, pe, re;
  assert_int_equal(ds_precision_recall(ctx, real, nr, fake, nf, dim, k, &p, &r), DS_OK);
  ref_precision_recall(real, nr, fake, nf, dim, k, &pe, &re);
  print_message("n %lld/%lld dim %lld k %d: precision %.4f recall %.4f\n", (long long)nr,
                (long long)nf, (long long)dim, (int)k, p, r);
  assert_true(p == pe);
  assert_true(r == re);
}

/* ---- cases ----------------------------------------------------------------------------- */

static void hand_computed(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 0);
  /* 1-D. k = 1: real radii 1 1 1 1 7, fake radii 2 2 3.5 1 1. 0.5, 2.5 and 6 (|6 - 10| = 4
   * <= 7) are inside real balls, 20 and 21 are not: precision 3/5. 0..3 lie within 2 of 0.5
   * or 2.5; 10 is 4 > 3.5 from 6: recall 4/5.
   * k = 2: real radii 2 1 1 2 8, fake radii 5.5 3.5 5.5 14 15: 20 is 10 > 8 from 10, so
   * precision stays 3/5; 10 is 4 <= 5.5 from 6: recall 1. */
  const float real[5] = {0, 1, 2, 3, 10}, fake[5] = {0.5f, 2.5f, 6, 20, 21};
  double p = -1, r = -1;
  assert_int_equal(ds_precision_recall(ctx, real, 5, fake, 5, 1, 1, &p, &r), DS_OK);
  assert_true(p == 0.6 && r == 0.8);
  assert_int_equal(ds_precision_recall(ctx, real, 5, fake, 5, 1, 2, &p, &r), DS_OK);
  assert_true(p == 0.6 && r == 1.0);
  /* the boundary counts: real {0, 1} (radii 1), fake {2, 3} (radii 1): 2 is exactly 1 from
   * 1, 3 is not within 1 of anything real; likewise 1 is exactly 1 from 2, 0 is not */
  const float r2[2] = {0, 1}, f2[2] = {2, 3};
  assert_int_equal(ds_precision_recall(ctx, r2, 2, f2, 2, 1, 1, &p, &r), DS_OK);
  assert_true(p == 0.5 && r == 0.5);
  /* 2-D, k = 1: real (0,0) (3,4) radius 5 each; fake (0,5) (0,6) radius 1 each. (0,5) is
   * 5 from (0,0): inside; (0,6) is 6 from (0,0) and sqrt(13) from (3,4): inside (3,4)'s
   * ball. Recall: (0,0) is 5 > 1 from (0,5); (3,4) is sqrt(10) > 1: recall 0. */
  const float r3[4] = {0, 0, 3, 4}, f3[4] = {0, 5, 0, 6};
  assert_int_equal(ds_precision_recall(ctx, r3, 2, f3, 2, 2, 1, &p, &r), DS_OK);
  assert_true(p == 1.0 && r == 0.0);
  /* either output alone */
  double only = -1;
  assert_int_equal(ds_precision_recall(ctx, real, 5, fake, 5, 1, 1, &only, NULL), DS_OK);
  assert_true(only == 0.6);
  assert_int_equal(ds_precision_recall(ctx, real, 5, fake, 5, 1, 1, NULL, &only), DS_OK);
  assert_true(only == 0.8);
  ds_context_free(ctx);
}

static void limits(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 0);
  const int64_t n = 300, dim = 196;
  float *x = random_points(n, dim, -1, 1, 256);
  double p = -1, r = -1;
  /* identical sets: every point is at distance 0 from its twin */
  assert_int_equal(ds_precision_recall(ctx, x, n, x, n, dim, 3, &p, &r), DS_OK);
  assert_true(p == 1.0 && r == 1.0);
  /* far apart: every ball is tiny against the 100-per-coordinate gap */
  float *far = malloc(sizeof(float) * (size_t)(n * dim));
  for (int64_t i = 0; i < n * dim; i++) far[i] = x[i] + 100.0f;
  assert_int_equal(ds_precision_recall(ctx, x, n, far, n, dim, 3, &p, &r), DS_OK);
  assert_true(p == 0.0 && r == 0.0);
  /* a strict subset: every fake is a real point (precision 1), half the reals are missed */
  float *two = malloc(sizeof(float) * (size_t)(2 * n * dim));
  memcpy(two, x, sizeof(float) * (size_t)(n * dim));
  memcpy(two + n * dim, far, sizeof(float) * (size_t)(n * dim));
  assert_int_equal(ds_precision_recall(ctx, two, 2 * n, x, n, dim, 3, &p, &r), DS_OK);
  assert_true(p == 1.0 && r == 0.5);
  /* a random strict subset of one cloud: precision 1, recall below 1, as the reference */
  assert_int_equal(ds_precision_recall(ctx, x, n, x, 40, dim, 3, &p, &r), DS_OK);
  assert_true(p == 1.0 && r < 1.0 && r > 40.0 / (double)n - 1e-12);
  check_against_reference(ctx, x, n, x, 40, dim, 3);
  free(x), free(far), free(two);
  ds_context_free(ctx);
}

static void random_against_reference(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 0);
  /* real in [-1, 1)^dim, fake in [lo, hi)^dim */
  static const struct { int64_t nr, nf, dim; int32_t k; double lo, hi; } cases[] = {
      {150, 130, 37, 3, -1.0, 1.0},
      {700, 600, 20, 5, -0.9, 1.3},  /* several row chunks and column blocks */
      {60, 90, 1, 1, -1.0, 1.0},
      {100, 100, 8, 40, -0.2, 2.0},  /* a large k */
      {20, 530, 784, 3, -1.0, 1.0},  /* image-sized rows */
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    float *real = random_points(cases[c].nr, cases[c].dim, -1, 1, 0);
    float *fake = random_points(cases[c].nf, cases[c].dim, cases[c].lo, cases[c].hi, 0);
    check_against_reference(ctx, real, cases[c].nr, fake, cases[c].nf, cases[c].dim, cases[c].k);
    free(real), free(fake);
  }
  /* heavy ties: three levels per coordinate, many duplicates and equal distances */
  float *real = random_points(400, 6, -1, 1, 3), *fake = random_points(350, 6, -1, 2, 4);
  check_against_reference(ctx, real, 400, fake, 350, 6, 3);
  check_against_reference(ctx, real, 400, fake, 350, 6, 17);
  free(real), free(fake);
  /* huge values: the float GEMM overflows, every decision goes to the exact path */
  real = random_points(50, 12, -3e19, 3e19, 0), fake = random_points(40, 12, -3e19, 3e19, 0);
  check_against_reference(ctx, real, 50, fake, 40, 12, 3);
  free(real), free(fake);
  ds_context_free(ctx);
}

/* Groups of three points in 784 dimensions: a, a + v and a - v - w with coordinates that
 * are multiples of 2^-12, so that every squared distance is exact in double: a's nearest
 * neighbour is at |v|^2, its second at |v|^2 + 2^-24 — a gap far below the float GEMM's
 * error (~0.05 here). */
static float *near_tie_triples(int64_t m, int64_t dim) {
  float *x = malloc(sizeof(float) * (size_t)(3 * m * dim));
  for (int64_t p = 0; p < m; p++) {
    float *a = x + 3 * p * dim, *b = a + dim, *c = b + dim;
    for (int64_t j = 0; j < dim; j++) {
      float base = (float)(floor(uniform01() * 512.0) / 256.0 - 1.0);  /* k/256 in [-1, 1) */
      float v = (float)((floor(uniform01() * 3.0) - 1.0) / 64.0);     /* 0 or +-1/64 */
      if (j == 0) v = 1.0f / 64.0f;
      if (j == 1) v = 0.0f;
      a[j] = base;
      b[j] = base + v;
      c[j] = base - v - (j == 1 ? 1.0f / 4096.0f : 0.0f);
    }
  }
  return x;
}

/* The radii kernel gives the reference's values bit for bit, ties and all. */
static void radii_are_exact(void **state) {
  (void)state;
  ds_context *ctx = test_context(3, 0);
  static const struct { int64_t n, dim; int32_t k; int levels; } cases[] = {
      {300, 784, 3, 256}, {700, 5, 4, 3}, {129, 2, 128, 0}, {40, 3, 39, 2},
      {3 * 50, 784, 1, -1}, {3 * 50, 784, 2, -1}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int64_t n = cases[c].n, dim = cases[c].dim;
    float *x = cases[c].levels < 0 ? near_tie_triples(n / 3, dim)
                                   : random_points(n, dim, -1, 1, cases[c].levels);
    double *norm2 = malloc(sizeof(double) * (size_t)n), *norm = malloc(sizeof(double) * (size_t)n);
    double *got = malloc(sizeof(double) * (size_t)n), *want = malloc(sizeof(double) * (size_t)n);
    void *work = malloc(ds__knn_workspace_size(ctx->pool, cases[c].k));
    ds__knn_norms(ctx->pool, x, n, dim, norm2, norm);
    ds__knn_points pts = {x, norm2, norm, n};
    ds__knn_radii(ctx->pool, &pts, dim, cases[c].k, work, got);
    ref_radii(x, n, dim, cases[c].k, want);
    assert_memory_equal(got, want, sizeof(double) * (size_t)n);
    free(x), free(norm2), free(norm), free(got), free(want), free(work);
  }
  ds_context_free(ctx);
}

/* Points exactly on a ball's boundary are inside, points 2^-24 (squared) beyond it are
 * outside, although the float GEMM's error (~0.05 here) is far larger than that gap. */
static void exact_boundary_ties(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 0);
  const int64_t m = 64, dim = 784;
  float *t = near_tie_triples(m, dim);
  /* real: a and a + v (each the other's nearest neighbour, radius |v|); fake: a - v (on
   * a's boundary) and a - v - w (just outside): precision exactly 1/2 */
  float *real = malloc(sizeof(float) * (size_t)(2 * m * dim));
  float *fake = malloc(sizeof(float) * (size_t)(2 * m * dim));
  for (int64_t p = 0; p < m; p++) {
    const float *a = t + 3 * p * dim, *c = a + 2 * dim;
    memcpy(real + 2 * p * dim, a, sizeof(float) * (size_t)(2 * dim));
    float *on = fake + 2 * p * dim, *off = on + dim;
    for (int64_t j = 0; j < dim; j++) on[j] = a[j] - (a[j + dim] - a[j]);
    memcpy(off, c, sizeof(float) * (size_t)dim);
  }
  double p = -1, r = -1;
  assert_int_equal(ds_precision_recall(ctx, real, 2 * m, fake, 2 * m, dim, 1, &p, &r), DS_OK);
  assert_true(p == 0.5);
  check_against_reference(ctx, real, 2 * m, fake, 2 * m, dim, 1);
  free(t), free(real), free(fake);
  ds_context_free(ctx);
}

static void same_for_any_thread_count(void **state) {
  (void)state;
  float *real = random_points(800, 48, -1, 1, 0), *fake = random_points(650, 48, -0.8, 1.3, 0);
  double p[3], r[3];
  int32_t threads[3] = {1, 2, 3};
  for (int t = 0; t < 3; t++) {
    ds_context *ctx = test_context(threads[t], 0);
    assert_int_equal(ds_precision_recall(ctx, real, 800, fake, 650, 48, 3, &p[t], &r[t]), DS_OK);
    ds_context_free(ctx);
  }
  print_message("precision %.6f recall %.6f\n", p[0], r[0]);
  assert_memory_equal(&p[0], &p[1], sizeof(double));
  assert_memory_equal(&p[0], &p[2], sizeof(double));
  assert_memory_equal(&r[0], &r[1], sizeof(double));
  assert_memory_equal(&r[0], &r[2], sizeof(double));
  free(real), free(fake);
}

static void bad_arguments(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 0);
  float x[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, y[12];
  memcpy(y, x, sizeof x);
  double p = -1, r = -2;
#define BAD(status, call)                                                             \
  do {                                                                                \
    assert_int_equal((call), (status));                                               \
    assert_true(p == -1 && r == -2);                                                  \
  } while (0)
  BAD(DS_ERR_INVALID_ARGUMENT, ds_precision_recall(NULL, x, 4, y, 4, 3, 1, &p, &r));
  assert_non_null(strstr(ds_context_last_error(NULL), "ctx is NULL"));
  BAD(DS_ERR_INVALID_ARGUMENT, ds_precision_recall(ctx, NULL, 4, y, 4, 3, 1, &p, &r));
  assert_non_null(strstr(ds_context_last_error(ctx), "real is NULL"));
  BAD(DS_ERR_INVALID_ARGUMENT, ds_precision_recall(ctx, x, 4, NULL, 4, 3, 1, &p, &r));
  assert_non_null(strstr(ds_context_last_error(ctx), "fake is NULL"));
  BAD(DS_ERR_INVALID_ARGUMENT, ds_precision_recall(ctx, x, 4, y, 4, 3, 1, NULL, NULL));
  BAD(DS_ERR_INVALID_ARGUMENT, ds_precision_recall(ctx, x, 0, y, 4, 3, 1, &p, &r));
  assert_non_null(strstr(ds_context_last_error(ctx), "n_real"));
  BAD(DS_ERR_INVALID_ARGUMENT, ds_precision_recall(ctx, x, 4, y, -1, 3, 1, &p, &r));
  assert_non_null(strstr(ds_context_last_error(ctx), "n_fake"));
  BAD(DS_ERR_INVALID_ARGUMENT, ds_precision_recall(ctx, x, 4, y, 4, 0, 1, &p, &r));
  assert_non_null(strstr(ds_context_last_error(ctx), "dim"));
  BAD(DS_ERR_INVALID_ARGUMENT, ds_precision_recall(ctx, x, 4, y, INT64_MAX / 4, 3, 1, &p, &r));
  assert_non_null(strstr(ds_context_last_error(ctx), "too large"));
  BAD(DS_ERR_INVALID_ARGUMENT, ds_precision_recall(ctx, x, 4, y, 4, 3, 0, &p, &r));
  assert_non_null(strstr(ds_context_last_error(ctx), "k = 0"));
  BAD(DS_ERR_INVALID_ARGUMENT, ds_precision_recall(ctx, x, 4, y, 3, 3, 3, &p, &r));
  assert_non_null(strstr(ds_context_last_error(ctx), "1..2"));
  BAD(DS_ERR_INVALID_ARGUMENT, ds_precision_recall(ctx, x, 1, y, 1, 3, 1, &p, &r));
  BAD(DS_ERR_INVALID_ARGUMENT, ds_precision_recall(ctx, x, 4, y, 4, 3, -3, &p, &r));
  x[7] = NAN;
  BAD(DS_ERR_NUMERIC, ds_precision_recall(ctx, x, 4, y, 4, 3, 1, &p, &r));
  assert_string_equal(ds_context_last_error(ctx), "ds_precision_recall: real[2][1] is NaN");
  x[7] = 7;
  y[11] = -INFINITY;
  BAD(DS_ERR_NUMERIC, ds_precision_recall(ctx, x, 4, y, 4, 3, 1, &p, &r));
  assert_string_equal(ds_context_last_error(ctx), "ds_precision_recall: fake[3][2] is infinite");
  /* only the rows given are read: the bad value lies beyond n_fake = 3 */
  assert_int_equal(ds_precision_recall(ctx, x, 4, y, 3, 3, 1, &p, &r), DS_OK);
#undef BAD
  ds_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(hand_computed),
      cmocka_unit_test(limits),
      cmocka_unit_test(random_against_reference),
      cmocka_unit_test(radii_are_exact),
      cmocka_unit_test(exact_boundary_ties),
      cmocka_unit_test(same_for_any_thread_count),
      cmocka_unit_test(bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
