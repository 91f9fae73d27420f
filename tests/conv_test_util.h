/* Helpers shared by the convolution tests: a deterministic generator, float/double buffers,
 * and comparisons. Include after <cmocka.h>. */
#ifndef DS_CONV_TEST_UTIL_H
#define DS_CONV_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "test_util.h"

static uint64_t ct_state = 0x9E3779B97F4A7C15ull;
static inline void ct_seed(uint64_t s) { ct_state = s * 0x9E3779B97F4A7C15ull + 1; }
static inline double ct_uniform(void) { /* [-1, 1) */
  return test_uniform01(&ct_state) * 2.0 - 1.0;
}
static inline int64_t ct_int(int64_t lo, int64_t hi) { /* [lo, hi] */
  return lo + (int64_t)((ct_uniform() + 1.0) * 0.5 * (double)(hi - lo + 1)) % (hi - lo + 1);
}

static inline float *ct_floats(int64_t n) {
  float *p = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
  assert_non_null(p);
  return p;
}
static inline double *ct_doubles(int64_t n) {
  double *p = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
  assert_non_null(p);
  return p;
}
static inline float *ct_random(int64_t n) {
  float *p = ct_floats(n);
  for (int64_t i = 0; i < n; i++) p[i] = (float)ct_uniform();
  return p;
}
static inline double *ct_widen(const float *f, int64_t n) {
  double *d = ct_doubles(n);
  for (int64_t i = 0; i < n; i++) d[i] = f ? f[i] : 0.0;
  return d;
}

/* |got - want| <= tol * (1 + |want|) everywhere. */
static inline void ct_assert_close(const float *got, const double *want, int64_t n, double tol,
                                   const char *what) {
  for (int64_t i = 0; i < n; i++)
    if (!(fabs(got[i] - want[i]) <= tol * (1.0 + fabs(want[i])))) {
      print_error("%s[%lld]: got %.9g want %.9g\n", what, (long long)i, (double)got[i],
                  want[i]);
      fail();
    }
}

#endif
