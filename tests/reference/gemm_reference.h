/* Test reference (not in the library): ds__gemm's semantics (kernels/gemm.h) as a
 * single-threaded plain triple loop summing in double; the oracle of tests/test_gemm.c. */
#ifndef DS_TEST_REFERENCE_GEMM_REFERENCE_H
#define DS_TEST_REFERENCE_GEMM_REFERENCE_H

#include <stdint.h>

/* C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C, as ds__gemm. */
void ds__gemm_reference(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                        float alpha, const float *A, int64_t lda, const float *B,
                        int64_t ldb, float beta, float *C, int64_t ldc);

#endif
