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

#endif
