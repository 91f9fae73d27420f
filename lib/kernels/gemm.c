#include "kernels/gemm.h"

/* Plain implementation: rows of C are split over threads; within a row the K loop is
 * outermost so the inner loop runs over contiguous N and vectorises. Each C element is
 * accumulated over k = 0..K-1 in order, independent of the split. */

static inline float a_at(const float *A, int64_t lda, int trans, int64_t i, int64_t k) {
  return trans ? A[k * lda + i] : A[i * lda + k];
}

static void gemm_rows(int trans_a, int trans_b, int64_t i0, int64_t i1, int64_t N, int64_t K,
                      float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                      float beta, float *C, int64_t ldc) {
  for (int64_t i = i0; i < i1; i++) {
    float *c = C + i * ldc;
    if (beta == 0.0f)
      for (int64_t j = 0; j < N; j++) c[j] = 0.0f;
    else if (beta != 1.0f)
      for (int64_t j = 0; j < N; j++) c[j] *= beta;
    if (!trans_b) {
      for (int64_t k = 0; k < K; k++) {
        float a = alpha * a_at(A, lda, trans_a, i, k);
        const float *b = B + k * ldb;
        for (int64_t j = 0; j < N; j++) c[j] += a * b[j];
      }
    } else {
      for (int64_t j = 0; j < N; j++) {
        const float *b = B + j * ldb;
        float acc = 0.0f;
        for (int64_t k = 0; k < K; k++) acc += a_at(A, lda, trans_a, i, k) * b[k];
        c[j] += alpha * acc;
      }
    }
  }
}

typedef struct gemm_job {
  int trans_a, trans_b;
  int64_t M, N, K;
  float alpha, beta;
  const float *A, *B;
  float *C;
  int64_t lda, ldb, ldc;
} gemm_job;

static void gemm_worker(void *p, int32_t t, int32_t threads) {
  const gemm_job *g = p;
  int64_t i0, i1;
  ds__split_range(g->M, t, threads, &i0, &i1);
  gemm_rows(g->trans_a, g->trans_b, i0, i1, g->N, g->K, g->alpha, g->A, g->lda, g->B, g->ldb,
            g->beta, g->C, g->ldc);
}

void ds__gemm(ds__pool *pool, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
              float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
              float beta, float *C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  gemm_job g = {trans_a, trans_b, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc};
  if (!pool || M * N * K < 32768) gemm_worker(&g, 0, 1);
  else ds__pool_run(pool, gemm_worker, &g);
}

void ds__gemm_reference(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                        float alpha, const float *A, int64_t lda, const float *B,
                        int64_t ldb, float beta, float *C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double acc = 0.0;
      for (int64_t k = 0; k < K; k++)
        acc += (double)a_at(A, lda, trans_a, i, k) *
               (double)(trans_b ? B[j * ldb + k] : B[k * ldb + j]);
      float prev = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
      C[i * ldc + j] = (float)(alpha * acc) + prev;
    }
}
