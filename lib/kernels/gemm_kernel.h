/* GEMM micro-kernels: C (m, n) += alpha * Ap (MR, kc)^T-packed * Bp (kc, NR)-packed for one
 * MR x NR tile (m <= MR, n <= NR valid); with overwrite, C = alpha * (...) without reading C.
 * Ap holds kc groups of MR floats, Bp kc groups of NR. Each C element is summed over
 * k = 0..kc-1 in order, then added to C with one fused multiply-add.
 * An AVX2+FMA kernel is chosen at run time when the CPU has it; otherwise a portable one. */
#ifndef DS_KERNELS_GEMM_KERNEL_H
#define DS_KERNELS_GEMM_KERNEL_H

#include <stdint.h>

enum { DS_GEMM_MR = 6, DS_GEMM_NR = 16 };

typedef void (*ds__gemm_kernel_fn)(int64_t kc, const float *Ap, const float *Bp, float *C,
                                   int64_t ldc, int64_t m, int64_t n, float alpha,
                                   int overwrite);

ds__gemm_kernel_fn ds__gemm_kernel_select(void);

/* Packs one full NR-wide panel of a transposed operand: dst[k*NR + c] = B[c*ldb + k] for
 * c < NR, k < kc (8x8 register transposes on AVX2). */
typedef void (*ds__gemm_pack_bt_fn)(const float *B, int64_t ldb, int64_t kc, float *dst);
ds__gemm_pack_bt_fn ds__gemm_pack_bt_select(void);
void ds__gemm_kernel_generic(int64_t kc, const float *Ap, const float *Bp, float *C,
                             int64_t ldc, int64_t m, int64_t n, float alpha, int overwrite);

#endif
