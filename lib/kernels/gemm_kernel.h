/* GEMM micro-kernels: C (m, n) += alpha * Ap (MR, kc)^T-packed * Bp (kc, NR) for one
 * MR x NR tile (m <= MR, n <= NR valid); with overwrite, C = alpha * (...) without reading C.
 * Epilogue: a per-row value bias (m floats, or NULL) enters before the product is added:
 *   overwrite  C = fma(alpha, acc, bias[r])          (alpha * acc without bias)
 *   otherwise  C = fma(alpha, acc, C + bias[r])      (fma(alpha, acc, C) without bias)
 * which is bit for bit what initialising C to bias (or C + bias) and then adding gives.
 * Ap holds kc groups of MR floats; row k of Bp is the NR floats at Bp + k * ldb (ldb = NR
 * when packed; a row-major B with full panels is read in place). MR, NR are the kernel's. Each C
 * element is summed over k = 0..kc-1 in order, then added to C with one multiply-add.
 *
 * Three kernels; the best the CPU and OS support is chosen at run time (cpuid, and xgetbv
 * for the register state the OS saves):
 *   avx512   8 x 32 in 16 zmm accumulators (AVX-512F; AVX2 for packing)
 *   avx2     6 x 16 in 12 ymm accumulators (AVX2 + FMA)
 *   generic  6 x 16 plain C (whatever the compiler makes of it: no FMA on baseline x86-64)
 * avx512 and avx2 do the same fused multiply-add per element in the same order, so they
 * give identical bits; generic may differ in the last bits. The environment variable
 * DS_GEMM_KERNEL=generic|avx2|avx512 (read once, at the first product) or
 * ds__gemm_kernel_force chooses one instead (a kernel the CPU lacks is not chosen). */
#ifndef DS_KERNELS_GEMM_KERNEL_H
#define DS_KERNELS_GEMM_KERNEL_H

#include <stdint.h>

typedef void (*ds__gemm_kernel_fn)(int64_t kc, const float *Ap, const float *Bp, int64_t ldb,
                                   float *C, int64_t ldc, int64_t m, int64_t n, float alpha,
                                   int overwrite, const float *bias);

/* Packs one full NR-wide panel of a transposed operand: dst[k*NR + c] = B[c*ldb + k] for
 * c < NR, k < kc (8x8 register transposes on AVX2). */
typedef void (*ds__gemm_pack_bt_fn)(const float *B, int64_t ldb, int64_t kc, float *dst);

typedef enum ds__gemm_kernel_id {
  DS__GEMM_GENERIC = 0,
  DS__GEMM_AVX2 = 1,
  DS__GEMM_AVX512 = 2,
  DS__GEMM_KERNELS = 3
} ds__gemm_kernel_id;

/* Packs one full MR-high panel of a row-major A: dst[k*MR + r] = A[r*lda + k] for r < MR,
 * k < kc (NULL: the plain loop). */
typedef void (*ds__gemm_pack_a_fn)(const float *A, int64_t lda, int64_t kc, float *dst);

typedef struct ds__gemm_kernel {
  const char *name;
  int32_t mr, nr;
  ds__gemm_kernel_fn run;
  ds__gemm_pack_bt_fn pack_bt;
  ds__gemm_pack_a_fn pack_a;
} ds__gemm_kernel;

/* The kernel every product uses now. */
const ds__gemm_kernel *ds__gemm_kernel_active(void);
/* Whether this CPU (and OS) can run kernel `id`. */
int ds__gemm_kernel_available(ds__gemm_kernel_id id);
/* Use kernel `id` from now on (tests, benchmarks); -1 returns to the automatic choice.
 * Returns 0 (and changes nothing) if the CPU cannot run it. Not for use while products
 * run on other threads, and weights packed with ds__gemm_pack_b must be packed again. */
int ds__gemm_kernel_force(int id);

#endif
