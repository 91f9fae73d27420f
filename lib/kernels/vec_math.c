#include "kernels/vec_math.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DS__HAVE_AVX2_PATH 1
#endif

#ifdef DS__HAVE_AVX2_PATH
/* expm1(m) for 8 lanes of m <= 0:
 *   m > -0.5: Taylor series to m^10 (next term < 2e-9 relative; below -0.5 e^m - 1
 *   cancels at most one bit);
 *   otherwise: exp(m) - 1 with exp by m = n ln2 + r, |r| <= ln2/2, e^r to r^7 (< 6e-9
 *   relative), 2^n through the exponent bits; m is clamped at -87 where e^m - 1 = -1. */
__attribute__((target("avx2,fma"))) static __m256 expm1_nonpos8(__m256 m) {
  const __m256 one = _mm256_set1_ps(1.0f);
  /* small |m| */
  __m256 t = _mm256_set1_ps(1.0f / 362880.0f);
  t = _mm256_fmadd_ps(t, m, _mm256_set1_ps(1.0f / 40320.0f));
  t = _mm256_fmadd_ps(t, m, _mm256_set1_ps(1.0f / 5040.0f));
  t = _mm256_fmadd_ps(t, m, _mm256_set1_ps(1.0f / 720.0f));
  t = _mm256_fmadd_ps(t, m, _mm256_set1_ps(1.0f / 120.0f));
  t = _mm256_fmadd_ps(t, m, _mm256_set1_ps(1.0f / 24.0f));
  t = _mm256_fmadd_ps(t, m, _mm256_set1_ps(1.0f / 6.0f));
  t = _mm256_fmadd_ps(t, m, _mm256_set1_ps(0.5f));
  __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(t, m), m, m); /* m + m^2 (1/2 + m/6 + ...) */
  /* large |m| */
  __m256 mc = _mm256_max_ps(m, _mm256_set1_ps(-87.0f));
  __m256 n = _mm256_round_ps(_mm256_mul_ps(mc, _mm256_set1_ps(1.44269504088896341f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), mc);   /* ln2 high part */
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);        /* ln2 low part  */
  __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, one);
  p = _mm256_fmadd_ps(p, r, one); /* e^r */
  __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  __m256 large = _mm256_sub_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(bits)), one);
  __m256 use_small = _mm256_cmp_ps(m, _mm256_set1_ps(-0.5f), _CMP_GT_OQ);
  return _mm256_blendv_ps(large, small, use_small);
}

__attribute__((target("avx2,fma"))) static void expm1_neg_abs_avx2(const float *x, float *y,
                                                                   int64_t n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 m = _mm256_or_ps(_mm256_loadu_ps(x + i), sign); /* -|x| */
    _mm256_storeu_ps(y + i, expm1_nonpos8(m));
  }
  if (i < n) { /* the tail through the same lanes, so a value's result never depends on where it sits */
    float in[8] = {0}, out[8];
    memcpy(in, x + i, sizeof(float) * (size_t)(n - i));
    _mm256_storeu_ps(out, expm1_nonpos8(_mm256_or_ps(_mm256_loadu_ps(in), sign)));
    memcpy(y + i, out, sizeof(float) * (size_t)(n - i));
  }
}
#endif

static void expm1_neg_abs_libm(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = expm1f(-fabsf(x[i]));
}

void ds__expm1_neg_abs(const float *x, float *y, int64_t n) {
#ifdef DS__HAVE_AVX2_PATH
  /* __builtin_cpu_supports reads flags set once at load time: no cache of our own, which
   * would be a data race between pool threads */
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    expm1_neg_abs_avx2(x, y, n);
    return;
  }
#endif
  expm1_neg_abs_libm(x, y, n);
}
