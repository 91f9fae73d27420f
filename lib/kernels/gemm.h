/* The one matrix-product entry point of the library. Row-major:
 *
 *   C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C
 *
 * op(A) = A (M, K; lda >= K) or, trans_a, A^T with A stored (K, M; lda >= M); same for B.
 * beta == 0 means C is written without being read (NaN in C does not propagate).
 * pool NULL runs on the calling thread (as does any call made from inside a pool job).
 *
 * Work is split over the pool by blocks of C, never along K, and every element of C is
 * summed over K in the same fixed order whatever the split: the result is bitwise
 * identical for any thread count. */
#ifndef DS_KERNELS_GEMM_H
#define DS_KERNELS_GEMM_H

#include <stdint.h>

#include "core/pool.h"

void ds__gemm(ds__pool *pool, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
              float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
              float beta, float *C, int64_t ldc);

/* A fixed op(B) (K, N) used in many products (weights): packed once into the panel layout
 * of the blocked kernel (ds__gemm_packed_b_floats(K, N) floats), then multiplied on the
 * calling thread. Every element of C gets exactly the bits ds__gemm gives it. */
int64_t ds__gemm_packed_b_floats(int64_t K, int64_t N);
void ds__gemm_pack_b(int trans_b, int64_t K, int64_t N, const float *B, int64_t ldb,
                     float *Bp);
void ds__gemm_packed_b(int trans_a, int64_t M, int64_t N, int64_t K, float alpha,
                       const float *A, int64_t lda, const float *Bp, float beta, float *C,
                       int64_t ldc);

/* Products whose B is never stored whole (im2col of an image): B is produced panel by
 * panel by a callback, straight into the micro-kernel's layout.
 *   pack(ctx, k0, kc, j0, n, nr, dst): dst[k * nr + c] = B[k0 + k][j0 + c] for k < kc, c < n,
 *   and 0 for n <= c < nr.
 * ds__gemm_pack_a packs op(A) (M, K) once into Ap (ds__gemm_packed_a_floats(M, K) floats;
 * valid while the micro-kernel does not change); ds__gemm_implicit_b then computes columns
 * [j0, j1) of
 *   C (M, N) = op(A) B + bias          (accumulate 0; bias (M) per row, or NULL)
 *   C (M, N) = C + bias + op(A) B      (accumulate 1)
 * on the calling thread, every element with exactly the bits of ds__gemm (alpha 1) on a C
 * initialised to bias (or C + bias) with beta 1, or with beta 0 when there is nothing to
 * initialise. Column ranges of one C can run on different threads. */
typedef void (*ds__gemm_b_panel_fn)(const void *ctx, int64_t k0, int64_t kc, int64_t j0,
                                    int64_t n, int64_t nr, float *dst);
int64_t ds__gemm_packed_a_floats(int64_t M, int64_t K);
void ds__gemm_pack_a(int trans_a, int64_t M, int64_t K, const float *A, int64_t lda,
                     float *Ap);
void ds__gemm_implicit_b(int64_t M, int64_t K, const float *Ap, ds__gemm_b_panel_fn pack,
                         const void *ctx, int64_t j0, int64_t j1, const float *bias,
                         int accumulate, float *C, int64_t ldc);

#endif
