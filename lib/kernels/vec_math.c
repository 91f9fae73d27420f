#include "kernels/vec_math.h"

#include <math.h>
#include <stdatomic.h>
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

/* The same operations lane for lane on 16 lanes (identical bits: every step is an IEEE
 * operation with the same rounding, the exponent built the same way). */
__attribute__((target("avx512f"))) static __m512 expm1_nonpos16(__m512 m) {
  const __m512 one = _mm512_set1_ps(1.0f);
  __m512 t = _mm512_set1_ps(1.0f / 362880.0f);
  t = _mm512_fmadd_ps(t, m, _mm512_set1_ps(1.0f / 40320.0f));
  t = _mm512_fmadd_ps(t, m, _mm512_set1_ps(1.0f / 5040.0f));
  t = _mm512_fmadd_ps(t, m, _mm512_set1_ps(1.0f / 720.0f));
  t = _mm512_fmadd_ps(t, m, _mm512_set1_ps(1.0f / 120.0f));
  t = _mm512_fmadd_ps(t, m, _mm512_set1_ps(1.0f / 24.0f));
  t = _mm512_fmadd_ps(t, m, _mm512_set1_ps(1.0f / 6.0f));
  t = _mm512_fmadd_ps(t, m, _mm512_set1_ps(0.5f));
  __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(t, m), m, m);
  __m512 mc = _mm512_max_ps(m, _mm512_set1_ps(-87.0f));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(mc, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), mc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, one);
  p = _mm512_fmadd_ps(p, r, one);
  __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  __m512 large = _mm512_sub_ps(_mm512_mul_ps(p, _mm512_castsi512_ps(bits)), one);
  __mmask16 use_small = _mm512_cmp_ps_mask(m, _mm512_set1_ps(-0.5f), _CMP_GT_OQ);
  return _mm512_mask_blend_ps(use_small, large, small);
}

/* -|x| of lanes [0, n) of x (n <= 16), other lanes 0 (whose result is discarded) */
__attribute__((target("avx512f"))) static __m512 neg_abs16(const float *x, int64_t n) {
  __mmask16 k = (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1);
  __m512i v = _mm512_castps_si512(_mm512_maskz_loadu_ps(k, x));
  return _mm512_castsi512_ps(_mm512_or_si512(v, _mm512_set1_epi32((int)0x80000000u)));
}

__attribute__((target("avx512f"))) static void expm1_neg_abs_avx512(const float *x, float *y,
                                                                     int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    int64_t len = n - i < 16 ? n - i : 16;
    _mm512_mask_storeu_ps(y + i, (__mmask16)(len >= 16 ? 0xFFFF : (1u << len) - 1),
                          expm1_nonpos16(neg_abs16(x + i, len)));
  }
}

/* pos = x > 0 ? x : e, neg = x < 0 ? -x : e with e = expm1(-|x|) */
__attribute__((target("avx512f"))) static void concat_elu_avx512(const float *x, float *pos,
                                                                  float *neg, int64_t n) {
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    int64_t len = n - i < 16 ? n - i : 16;
    __mmask16 k = (__mmask16)(len >= 16 ? 0xFFFF : (1u << len) - 1);
    __m512 v = _mm512_maskz_loadu_ps(k, x + i), e = expm1_nonpos16(neg_abs16(x + i, len));
    __mmask16 gt = _mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ), lt = _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ);
    _mm512_mask_storeu_ps(pos + i, k, _mm512_mask_blend_ps(gt, e, v));
    _mm512_mask_storeu_ps(neg + i, k, _mm512_mask_blend_ps(lt, e, _mm512_sub_ps(zero, v)));
  }
}

/* sigmoid(v) = 1 / (1 + expf(-v)) with expf computed as glibc (2.28 and later) computes it
 * (sysdeps/ieee754/flt-32/e_expf.c with FMA, constants of e_exp2f_data.c), in double on 8
 * lanes: bit for bit the scalar expression on glibc. Lanes with |v| >= 88 or NaN (glibc's
 * special cases) go through libm. */
static const uint64_t exp2f_tab[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540};

__attribute__((target("avx512f,avx512vl"))) static __m256 expf8_glibc(__m256 x) {
  const __m512d inv_ln2_n = _mm512_set1_pd(0x1.71547652b82fep+5), shift = _mm512_set1_pd(0x1.8p+52);
  const __m512d c0 = _mm512_set1_pd(0x1.c6af84b912394p-5 / 32 / 32 / 32);
  const __m512d c1 = _mm512_set1_pd(0x1.ebfce50fac4f3p-3 / 32 / 32);
  const __m512d c2 = _mm512_set1_pd(0x1.62e42ff0c52d6p-1 / 32);
  const __m512i t0 = _mm512_loadu_si512(exp2f_tab), t1 = _mm512_loadu_si512(exp2f_tab + 8);
  const __m512i t2 = _mm512_loadu_si512(exp2f_tab + 16), t3 = _mm512_loadu_si512(exp2f_tab + 24);
  __m512d xd = _mm512_cvtps_pd(x);
  __m512d z = _mm512_fmadd_pd(inv_ln2_n, xd, shift);
  __m512i ki = _mm512_castpd_si512(z);
  __m512d kd = _mm512_sub_pd(z, shift);
  __m512d r = _mm512_fmsub_pd(inv_ln2_n, xd, kd);
  __m512i idx = _mm512_and_si512(ki, _mm512_set1_epi64(31));
  __m512i lo = _mm512_permutex2var_epi64(t0, idx, t1), hi = _mm512_permutex2var_epi64(t2, idx, t3);
  __m512i t = _mm512_mask_blend_epi64(_mm512_test_epi64_mask(idx, _mm512_set1_epi64(16)), lo, hi);
  t = _mm512_add_epi64(t, _mm512_slli_epi64(ki, 47));
  __m512d zz = _mm512_fmadd_pd(r, c0, c1);
  __m512d r2 = _mm512_mul_pd(r, r);
  __m512d y = _mm512_fmadd_pd(r, c2, _mm512_set1_pd(1.0));
  y = _mm512_fmadd_pd(zz, r2, y);
  y = _mm512_mul_pd(y, _mm512_castsi512_pd(t));
  return _mm512_cvtpd_ps(y);
}

__attribute__((target("avx512f,avx512vl"))) static void sigmoid_avx512(const float *v, float *s,
                                                               int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 8) {
    int64_t len = n - i < 8 ? n - i : 8;
    __mmask8 k = (__mmask8)(len >= 8 ? 0xFF : (1u << len) - 1);
    __m256 x = _mm256_sub_ps(_mm256_setzero_ps(), _mm256_maskz_loadu_ps(k, v + i)); /* -v */
    __m256 sig = _mm256_div_ps(one, _mm256_add_ps(one, expf8_glibc(x)));
    /* glibc's special cases: |x| >= 88 (abstop > 0x42a) and NaN */
    __m256i top = _mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(x), 20),
                                   _mm256_set1_epi32(0x7ff));
    __mmask8 special = _mm256_mask_cmpgt_epi32_mask(k, top, _mm256_set1_epi32(0x42a));
    _mm256_mask_storeu_ps(s + i, k, sig);
    for (int64_t l = 0; special; l++, special >>= 1)
      if (special & 1) s[i + l] = 1.0f / (1.0f + expf(-v[i + l]));
  }
}

/* The widest path this CPU runs, or a narrower one ds__vec_math_force chose. */
static _Atomic int forced_level = -1;

static int cpu_level(void) {
#ifdef DS__HAVE_AVX2_PATH
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) return 2;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
  return 0;
}

static int level(void) {
  int cpu = cpu_level(), f = forced_level;
  return f >= 0 && f < cpu ? f : cpu;
}

int ds__vec_math_force(int lvl) {
  if (lvl > cpu_level()) return 0;
  forced_level = lvl < 0 ? -1 : lvl;
  return 1;
}

static void expm1_neg_abs_libm(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = expm1f(-fabsf(x[i]));
}

void ds__expm1_neg_abs(const float *x, float *y, int64_t n) {
#ifdef DS__HAVE_AVX2_PATH
  /* __builtin_cpu_supports reads flags set once at load time: no cache of our own, which
   * would be a data race between pool threads */
  int l = level();
  if (l == 2) {
    expm1_neg_abs_avx512(x, y, n);
    return;
  }
  if (l == 1) {
    expm1_neg_abs_avx2(x, y, n);
    return;
  }
#endif
  expm1_neg_abs_libm(x, y, n);
}

void ds__concat_elu_row(const float *x, float *pos, float *neg, int64_t n) {
#ifdef DS__HAVE_AVX2_PATH
  if (level() == 2) {
    concat_elu_avx512(x, pos, neg, n);
    return;
  }
#endif
  enum { BLOCK = 512 };
  float e[BLOCK];
  for (int64_t o = 0; o < n; o += BLOCK) {
    int64_t len = n - o < BLOCK ? n - o : BLOCK;
    ds__expm1_neg_abs(x + o, e, len);
    for (int64_t i = 0; i < len; i++) {
      float v = x[o + i];
      pos[o + i] = v > 0.0f ? v : e[i];
      neg[o + i] = v < 0.0f ? -v : e[i];
    }
  }
}

void ds__sigmoid(const float *v, float *s, int64_t n) {
#ifdef DS__HAVE_AVX2_PATH
#ifdef __GLIBC__
  if (level() == 2) {
    sigmoid_avx512(v, s, n);
    return;
  }
#endif
#endif
  for (int64_t i = 0; i < n; i++) s[i] = 1.0f / (1.0f + expf(-v[i]));
}
