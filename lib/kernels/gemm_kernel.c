#include "kernels/gemm_kernel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DS_HAVE_AVX2_KERNEL 1
#include <immintrin.h>
#endif

void ds__gemm_kernel_generic(int64_t kc, const float *Ap, const float *Bp, float *C,
                             int64_t ldc, int64_t m, int64_t n, float alpha, int overwrite) {
  float acc[DS_GEMM_MR][DS_GEMM_NR] = {{0}};
  for (int64_t k = 0; k < kc; k++) {
    const float *a = Ap + k * DS_GEMM_MR, *b = Bp + k * DS_GEMM_NR;
    for (int r = 0; r < DS_GEMM_MR; r++)
      for (int c = 0; c < DS_GEMM_NR; c++) acc[r][c] += a[r] * b[c];
  }
  for (int64_t r = 0; r < m; r++)
    for (int64_t c = 0; c < n; c++)
      C[r * ldc + c] = overwrite ? alpha * acc[r][c] : C[r * ldc + c] + alpha * acc[r][c];
}

#ifdef DS_HAVE_AVX2_KERNEL
/* 6 x 16 tile in 12 ymm accumulators; per k: 2 loads of B, 6 broadcasts of A, 12 FMAs. */
__attribute__((target("avx2,fma"))) static void kernel_avx2(int64_t kc, const float *Ap,
                                                             const float *Bp, float *C,
                                                             int64_t ldc, int64_t m, int64_t n,
                                                             float alpha, int overwrite) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; k++) {
    const float *a = Ap + k * DS_GEMM_MR;
    __m256 b0 = _mm256_loadu_ps(Bp + k * DS_GEMM_NR);
    __m256 b1 = _mm256_loadu_ps(Bp + k * DS_GEMM_NR + 8);
    __m256 x = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
  }
  __m256 al = _mm256_set1_ps(alpha);
  if (m == DS_GEMM_MR && n == DS_GEMM_NR && overwrite) {
#define DS_ROW(r, lo, hi)                                      \
  _mm256_storeu_ps(C + r * ldc, _mm256_mul_ps(al, lo));        \
  _mm256_storeu_ps(C + r * ldc + 8, _mm256_mul_ps(al, hi))
    DS_ROW(0, c00, c01); DS_ROW(1, c10, c11); DS_ROW(2, c20, c21);
    DS_ROW(3, c30, c31); DS_ROW(4, c40, c41); DS_ROW(5, c50, c51);
#undef DS_ROW
    return;
  }
  if (m == DS_GEMM_MR && n == DS_GEMM_NR) {
#define DS_ROW(r, lo, hi)                                                              \
  _mm256_storeu_ps(C + r * ldc, _mm256_fmadd_ps(al, lo, _mm256_loadu_ps(C + r * ldc))); \
  _mm256_storeu_ps(C + r * ldc + 8, _mm256_fmadd_ps(al, hi, _mm256_loadu_ps(C + r * ldc + 8)))
    DS_ROW(0, c00, c01); DS_ROW(1, c10, c11); DS_ROW(2, c20, c21);
    DS_ROW(3, c30, c31); DS_ROW(4, c40, c41); DS_ROW(5, c50, c51);
#undef DS_ROW
    return;
  }
  float t[DS_GEMM_MR][DS_GEMM_NR];
  _mm256_storeu_ps(t[0], c00); _mm256_storeu_ps(t[0] + 8, c01);
  _mm256_storeu_ps(t[1], c10); _mm256_storeu_ps(t[1] + 8, c11);
  _mm256_storeu_ps(t[2], c20); _mm256_storeu_ps(t[2] + 8, c21);
  _mm256_storeu_ps(t[3], c30); _mm256_storeu_ps(t[3] + 8, c31);
  _mm256_storeu_ps(t[4], c40); _mm256_storeu_ps(t[4] + 8, c41);
  _mm256_storeu_ps(t[5], c50); _mm256_storeu_ps(t[5] + 8, c51);
  /* Same rounding as the full-tile path: one fused multiply-add per element. */
  for (int64_t r = 0; r < m; r++)
    for (int64_t c = 0; c < n; c++)
      C[r * ldc + c] = overwrite ? alpha * t[r][c] : __builtin_fmaf(alpha, t[r][c], C[r * ldc + c]);
}
#endif

static void pack_bt_generic(const float *B, int64_t ldb, int64_t kc, float *dst) {
  for (int64_t c = 0; c < DS_GEMM_NR; c++)
    for (int64_t k = 0; k < kc; k++) dst[k * DS_GEMM_NR + c] = B[c * ldb + k];
}

#ifdef DS_HAVE_AVX2_KERNEL
__attribute__((target("avx2,fma"))) static void pack_bt_avx2(const float *B, int64_t ldb,
                                                              int64_t kc, float *dst) {
  int64_t k8 = kc / 8 * 8;
  for (int64_t k = 0; k < k8; k += 8)
    for (int h = 0; h < DS_GEMM_NR; h += 8) {
      const float *s = B + h * ldb + k;
      __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ldb);
      __m256 r2 = _mm256_loadu_ps(s + 2 * ldb), r3 = _mm256_loadu_ps(s + 3 * ldb);
      __m256 r4 = _mm256_loadu_ps(s + 4 * ldb), r5 = _mm256_loadu_ps(s + 5 * ldb);
      __m256 r6 = _mm256_loadu_ps(s + 6 * ldb), r7 = _mm256_loadu_ps(s + 7 * ldb);
      __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
      __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
      __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
      __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
      __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      float *d = dst + k * DS_GEMM_NR + h;
      _mm256_storeu_ps(d + 0 * DS_GEMM_NR, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_storeu_ps(d + 1 * DS_GEMM_NR, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_storeu_ps(d + 2 * DS_GEMM_NR, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_storeu_ps(d + 3 * DS_GEMM_NR, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_storeu_ps(d + 4 * DS_GEMM_NR, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_storeu_ps(d + 5 * DS_GEMM_NR, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_storeu_ps(d + 6 * DS_GEMM_NR, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_storeu_ps(d + 7 * DS_GEMM_NR, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
  for (int64_t c = 0; c < DS_GEMM_NR; c++)
    for (int64_t k = k8; k < kc; k++) dst[k * DS_GEMM_NR + c] = B[c * ldb + k];
}
#endif

ds__gemm_pack_bt_fn ds__gemm_pack_bt_select(void) {
#ifdef DS_HAVE_AVX2_KERNEL
  if (__builtin_cpu_supports("avx2")) return pack_bt_avx2;
#endif
  return pack_bt_generic;
}

ds__gemm_kernel_fn ds__gemm_kernel_select(void) {
#ifdef DS_HAVE_AVX2_KERNEL
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return kernel_avx2;
#endif
  return ds__gemm_kernel_generic;
}
