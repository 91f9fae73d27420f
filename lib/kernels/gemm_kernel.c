#include "kernels/gemm_kernel.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DS_HAVE_AVX2_KERNEL 1
#include <cpuid.h>
#include <immintrin.h>
#endif

/* The AVX2 and generic kernels' tile. */
enum { DS_GEMM_MR = 6, DS_GEMM_NR = 16 };

static void kernel_generic(int64_t kc, const float *Ap, const float *Bp, int64_t ldb, float *C,
                           int64_t ldc, int64_t m, int64_t n, float alpha, int overwrite,
                           const float *bias) {
  float acc[DS_GEMM_MR][DS_GEMM_NR] = {{0}};
  for (int64_t k = 0; k < kc; k++) {
    const float *a = Ap + k * DS_GEMM_MR, *b = Bp + k * ldb;
    for (int r = 0; r < DS_GEMM_MR; r++)
      for (int c = 0; c < DS_GEMM_NR; c++) acc[r][c] += a[r] * b[c];
  }
  for (int64_t r = 0; r < m; r++)
    for (int64_t c = 0; c < n; c++) {
      float init = overwrite ? 0.0f : C[r * ldc + c];
      if (bias) init = overwrite ? bias[r] : init + bias[r];
      C[r * ldc + c] = overwrite && !bias ? alpha * acc[r][c] : init + alpha * acc[r][c];
    }
}

#ifdef DS_HAVE_AVX2_KERNEL
/* 6 x 16 tile in 12 ymm accumulators; per k: 2 loads of B, 6 broadcasts of A, 12 FMAs. */
__attribute__((target("avx2,fma"))) static void kernel_avx2(int64_t kc, const float *Ap,
                                                             const float *Bp, int64_t ldb,
                                                             float *C,
                                                             int64_t ldc, int64_t m, int64_t n,
                                                             float alpha, int overwrite,
                                                             const float *bias) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; k++) {
    const float *a = Ap + k * DS_GEMM_MR;
    __m256 b0 = _mm256_loadu_ps(Bp + k * ldb);
    __m256 b1 = _mm256_loadu_ps(Bp + k * ldb + 8);
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
  if (m == DS_GEMM_MR && n == DS_GEMM_NR && bias) {
#define DS_ROW(r, lo, hi)                                                                   \
  {                                                                                         \
    __m256 b = _mm256_set1_ps(bias[r]);                                                     \
    __m256 i0 = overwrite ? b : _mm256_add_ps(_mm256_loadu_ps(C + r * ldc), b);             \
    __m256 i1 = overwrite ? b : _mm256_add_ps(_mm256_loadu_ps(C + r * ldc + 8), b);         \
    _mm256_storeu_ps(C + r * ldc, _mm256_fmadd_ps(al, lo, i0));                             \
    _mm256_storeu_ps(C + r * ldc + 8, _mm256_fmadd_ps(al, hi, i1));                         \
  }
    DS_ROW(0, c00, c01) DS_ROW(1, c10, c11) DS_ROW(2, c20, c21)
    DS_ROW(3, c30, c31) DS_ROW(4, c40, c41) DS_ROW(5, c50, c51)
#undef DS_ROW
    return;
  }
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
    for (int64_t c = 0; c < n; c++) {
      float *d = C + r * ldc + c;
      if (bias) *d = __builtin_fmaf(alpha, t[r][c], overwrite ? bias[r] : *d + bias[r]);
      else *d = overwrite ? alpha * t[r][c] : __builtin_fmaf(alpha, t[r][c], *d);
    }
}
#endif


#ifdef DS_HAVE_AVX2_KERNEL
/* 8 x 32 tile in 16 zmm accumulators; per k: 2 loads of B, 8 broadcasts of A, 16 FMAs.
 * Each element gets the same fused multiply-adds in the same order as kernel_avx2. */
enum { AVX512_MR = 8, AVX512_NR = 32 };

__attribute__((target("avx512f"))) static void kernel_avx512(int64_t kc, const float *Ap,
                                                              const float *Bp, int64_t ldb,
                                                              float *C,
                                                              int64_t ldc, int64_t m, int64_t n,
                                                              float alpha, int overwrite,
                                                              const float *bias) {
  __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
  __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
  __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
  __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
  __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
  __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
  __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
  __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; k++) {
    const float *a = Ap + k * AVX512_MR;
    __m512 b0 = _mm512_loadu_ps(Bp + k * ldb);
    __m512 b1 = _mm512_loadu_ps(Bp + k * ldb + 16);
    __m512 x = _mm512_set1_ps(a[0]);
    c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01);
    x = _mm512_set1_ps(a[1]);
    c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11);
    x = _mm512_set1_ps(a[2]);
    c20 = _mm512_fmadd_ps(x, b0, c20); c21 = _mm512_fmadd_ps(x, b1, c21);
    x = _mm512_set1_ps(a[3]);
    c30 = _mm512_fmadd_ps(x, b0, c30); c31 = _mm512_fmadd_ps(x, b1, c31);
    x = _mm512_set1_ps(a[4]);
    c40 = _mm512_fmadd_ps(x, b0, c40); c41 = _mm512_fmadd_ps(x, b1, c41);
    x = _mm512_set1_ps(a[5]);
    c50 = _mm512_fmadd_ps(x, b0, c50); c51 = _mm512_fmadd_ps(x, b1, c51);
    x = _mm512_set1_ps(a[6]);
    c60 = _mm512_fmadd_ps(x, b0, c60); c61 = _mm512_fmadd_ps(x, b1, c61);
    x = _mm512_set1_ps(a[7]);
    c70 = _mm512_fmadd_ps(x, b0, c70); c71 = _mm512_fmadd_ps(x, b1, c71);
  }
  /* columns n of 32 as two 16-lane masks; rows beyond m are not stored */
  const __mmask16 k0 = (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1);
  const __mmask16 k1 = (__mmask16)(n >= 32 ? 0xFFFF : n > 16 ? (1u << (n - 16)) - 1 : 0);
  const __m512 al = _mm512_set1_ps(alpha);
  /* overwrite: alpha * acc; else fma(alpha, acc, C) (kernel_avx2's rounding); with a bias
     fma(alpha, acc, bias) or fma(alpha, acc, C + bias) */
#define DS_ROW(r, lo, hi)                                                                     \
  if (r < m) {                                                                                \
    float *d = C + r * ldc;                                                                   \
    if (bias) {                                                                               \
      const __m512 b = _mm512_set1_ps(bias[r]);                                               \
      __m512 i0 = overwrite ? b : _mm512_add_ps(_mm512_maskz_loadu_ps(k0, d), b);             \
      __m512 i1 = overwrite ? b : _mm512_add_ps(_mm512_maskz_loadu_ps(k1, d + 16), b);        \
      _mm512_mask_storeu_ps(d, k0, _mm512_fmadd_ps(al, lo, i0));                              \
      _mm512_mask_storeu_ps(d + 16, k1, _mm512_fmadd_ps(al, hi, i1));                         \
    } else if (overwrite) {                                                                   \
      _mm512_mask_storeu_ps(d, k0, _mm512_mul_ps(al, lo));                                    \
      _mm512_mask_storeu_ps(d + 16, k1, _mm512_mul_ps(al, hi));                               \
    } else {                                                                                  \
      _mm512_mask_storeu_ps(d, k0, _mm512_fmadd_ps(al, lo, _mm512_maskz_loadu_ps(k0, d)));    \
      _mm512_mask_storeu_ps(d + 16, k1,                                                       \
                            _mm512_fmadd_ps(al, hi, _mm512_maskz_loadu_ps(k1, d + 16)));      \
    }                                                                                         \
  }
  DS_ROW(0, c00, c01) DS_ROW(1, c10, c11) DS_ROW(2, c20, c21) DS_ROW(3, c30, c31)
  DS_ROW(4, c40, c41) DS_ROW(5, c50, c51) DS_ROW(6, c60, c61) DS_ROW(7, c70, c71)
#undef DS_ROW
}
#endif

static void pack_bt_generic(const float *B, int64_t ldb, int64_t kc, float *dst) {
  for (int64_t c = 0; c < DS_GEMM_NR; c++)
    for (int64_t k = 0; k < kc; k++) dst[k * DS_GEMM_NR + c] = B[c * ldb + k];
}

#ifdef DS_HAVE_AVX2_KERNEL
/* dst[k*nr + c] = B[c*ldb + k], c < nr (a multiple of 8), in 8x8 register transposes */
__attribute__((target("avx2,fma"), always_inline)) static inline void
pack_bt_avx2_nr(const float *B, int64_t ldb, int64_t kc, float *dst, int nr) {
  int64_t k8 = kc / 8 * 8;
  for (int64_t k = 0; k < k8; k += 8)
    for (int h = 0; h < nr; h += 8) {
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
      float *d = dst + k * nr + h;
      _mm256_storeu_ps(d + 0 * nr, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_storeu_ps(d + 1 * nr, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_storeu_ps(d + 2 * nr, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_storeu_ps(d + 3 * nr, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_storeu_ps(d + 4 * nr, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_storeu_ps(d + 5 * nr, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_storeu_ps(d + 6 * nr, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_storeu_ps(d + 7 * nr, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
  for (int c = 0; c < nr; c++)
    for (int64_t k = k8; k < kc; k++) dst[k * nr + c] = B[c * ldb + k];
}

__attribute__((target("avx2,fma"))) static void pack_bt_avx2(const float *B, int64_t ldb,
                                                              int64_t kc, float *dst) {
  pack_bt_avx2_nr(B, ldb, kc, dst, DS_GEMM_NR);
}

__attribute__((target("avx2,fma"))) static void pack_bt_avx512(const float *B, int64_t ldb,
                                                                int64_t kc, float *dst) {
  pack_bt_avx2_nr(B, ldb, kc, dst, AVX512_NR);
}

/* A panels of the 8-high AVX-512 kernel: the same 8x8 transposes */
__attribute__((target("avx2,fma"))) static void pack_a_avx512(const float *A, int64_t lda,
                                                               int64_t kc, float *dst) {
  pack_bt_avx2_nr(A, lda, kc, dst, AVX512_MR);
}

/* cpuid says the CPU has the instructions, xgetbv that the OS saves their registers. */
static uint64_t os_saved_state(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return 0;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

static int cpu_has_avx2_fma(void) {
  unsigned a, b, c, d;
  if ((os_saved_state() & 0x6) != 0x6) return 0; /* XMM, YMM */
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_FMA)) return 0;
  return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_AVX2);
}

static int cpu_has_avx512f(void) {
  unsigned a, b, c, d;
  if ((os_saved_state() & 0xE6) != 0xE6) return 0; /* XMM, YMM, opmask, ZMM_Hi256, Hi16_ZMM */
  return cpu_has_avx2_fma() && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_AVX512F);
}
#endif

static const ds__gemm_kernel kernels[DS__GEMM_KERNELS] = {
    {"generic", DS_GEMM_MR, DS_GEMM_NR, kernel_generic, pack_bt_generic, NULL},
#ifdef DS_HAVE_AVX2_KERNEL
    {"avx2", DS_GEMM_MR, DS_GEMM_NR, kernel_avx2, pack_bt_avx2, NULL},
    {"avx512", AVX512_MR, AVX512_NR, kernel_avx512, pack_bt_avx512, pack_a_avx512},
#else
    {"avx2", 0, 0, NULL, NULL, NULL},
    {"avx512", 0, 0, NULL, NULL, NULL},
#endif
};

int ds__gemm_kernel_available(ds__gemm_kernel_id id) {
  switch (id) {
    case DS__GEMM_GENERIC: return 1;
#ifdef DS_HAVE_AVX2_KERNEL
    case DS__GEMM_AVX2: return cpu_has_avx2_fma();
    case DS__GEMM_AVX512: return cpu_has_avx512f();
#endif
    default: return 0;
  }
}

/* DS_GEMM_KERNEL if it names an available kernel, else the widest available. */
static int automatic_choice(void) {
  const char *want = getenv("DS_GEMM_KERNEL");
  for (int id = 0; want && id < DS__GEMM_KERNELS; id++)
    if (!strcmp(want, kernels[id].name) && ds__gemm_kernel_available(id)) return id;
  for (int id = DS__GEMM_KERNELS - 1; id > 0; id--)
    if (ds__gemm_kernel_available(id)) return id;
  return DS__GEMM_GENERIC;
}

/* atomics: pool threads read the choice while another thread may be making it */
static _Atomic int forced_kernel = -1;
static _Atomic int chosen_kernel = -1;

const ds__gemm_kernel *ds__gemm_kernel_active(void) {
  int id = atomic_load_explicit(&forced_kernel, memory_order_relaxed);
  if (id >= 0) return &kernels[id];
  id = atomic_load_explicit(&chosen_kernel, memory_order_relaxed);
  if (id < 0) {
    id = automatic_choice();
    atomic_store_explicit(&chosen_kernel, id, memory_order_relaxed);
  }
  return &kernels[id];
}

int ds__gemm_kernel_force(int id) {
  if (id >= DS__GEMM_KERNELS || (id >= 0 && !ds__gemm_kernel_available(id))) return 0;
  atomic_store_explicit(&forced_kernel, id < 0 ? -1 : id, memory_order_relaxed);
  return 1;
}
