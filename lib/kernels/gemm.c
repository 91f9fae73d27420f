#include "kernels/gemm.h"

#include "kernels/gemm_kernel.h"

#include <string.h>

/* Blocked, packed GEMM (Goto's loop order). For the block of C a thread owns:
 *   for pc (KC of K): for ic (MC rows): pack op(A)[ic.., pc..] into MR-high panels
 *     for jc (NC columns): pack op(B)[pc.., jc..] into NR-wide panels
 *       for each NR panel, for each MR panel: micro-kernel C_tile += alpha * A_p B_p
 * A (the smaller, weight-like operand in the convolutions) is packed once per KC block.
 * The K blocking does not depend on the split, so every C element is summed over k in the
 * same order (k within a KC block in the micro-kernel, KC blocks in order): results are
 * bitwise identical for any thread count. Packing buffers live on the stack (KC*(MC+NC)
 * floats, 336 KiB): no allocation. beta is applied once, before the K loop. */

enum { KC = 256, MC = 144, NC = 192 };

static inline float op_at(const float *X, int64_t ld, int trans, int64_t r, int64_t c) {
  return trans ? X[c * ld + r] : X[r * ld + c];
}

/* Ap[(p * kc + k) * MR + r] = op(A)[i0 + p*MR + r][k0 + k], zero beyond m. */
static void pack_a(int trans, const float *A, int64_t lda, int64_t i0, int64_t m, int64_t k0,
                   int64_t kc, float *Ap) {
  for (int64_t p = 0; p < m; p += DS_GEMM_MR) {
    float *dst = Ap + p * kc;
    int64_t rows = m - p < DS_GEMM_MR ? m - p : DS_GEMM_MR;
    if (!trans && rows == DS_GEMM_MR) {
      const float *s0 = A + (i0 + p) * lda + k0;
      for (int64_t k = 0; k < kc; k++)
        for (int64_t r = 0; r < DS_GEMM_MR; r++) dst[k * DS_GEMM_MR + r] = s0[r * lda + k];
    } else if (!trans) {
      for (int64_t k = 0; k < kc; k++)
        for (int64_t r = 0; r < DS_GEMM_MR; r++)
          dst[k * DS_GEMM_MR + r] = r < rows ? A[(i0 + p + r) * lda + k0 + k] : 0.0f;
    } else {
      for (int64_t k = 0; k < kc; k++) {
        const float *src = A + (k0 + k) * lda + i0 + p;
        for (int64_t r = 0; r < DS_GEMM_MR; r++) dst[k * DS_GEMM_MR + r] = r < rows ? src[r] : 0.0f;
      }
    }
  }
}

/* Bp[(p * kc + k) * NR + c] = op(B)[k0 + k][j0 + p*NR + c], zero beyond n. Row-major B is
 * read row by row (sequential), transposed B column by column. */
static void pack_b(int trans, const float *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0,
                   int64_t n, float *restrict Bp, ds__gemm_pack_bt_fn pack_bt) {
  int64_t full = n / DS_GEMM_NR * DS_GEMM_NR;
  if (!trans) {
    for (int64_t k = 0; k < kc; k++) {
      const float *restrict src = B + (k0 + k) * ldb + j0;
      for (int64_t p = 0; p < full; p += DS_GEMM_NR)
        memcpy(Bp + p * kc + k * DS_GEMM_NR, src + p, sizeof(float) * DS_GEMM_NR);
      if (full < n) {
        float *d = Bp + full * kc + k * DS_GEMM_NR;
        for (int64_t c = 0; c < DS_GEMM_NR; c++) d[c] = full + c < n ? src[full + c] : 0.0f;
      }
    }
    return;
  }
  for (int64_t p = 0; p < n; p += DS_GEMM_NR) {
    float *dst = Bp + p * kc;
    int64_t cols = n - p < DS_GEMM_NR ? n - p : DS_GEMM_NR;
    if (cols == DS_GEMM_NR) {
      pack_bt(B + (j0 + p) * ldb + k0, ldb, kc, dst);
      continue;
    }
    for (int64_t c = 0; c < DS_GEMM_NR; c++) {
      if (c < cols) {
        const float *restrict src = B + (j0 + p + c) * ldb + k0;
        for (int64_t k = 0; k < kc; k++) dst[k * DS_GEMM_NR + c] = src[k];
      } else {
        for (int64_t k = 0; k < kc; k++) dst[k * DS_GEMM_NR + c] = 0.0f;
      }
    }
  }
}

/* N rounded up to whole NR panels (NC is a multiple of NR). */
static int64_t padded_n(int64_t n) { return (n + DS_GEMM_NR - 1) / DS_GEMM_NR * DS_GEMM_NR; }

typedef struct gemm_job {
  int trans_a, trans_b;
  int64_t M, N, K;
  float alpha, beta;
  const float *A, *B;
  float *C;
  int64_t lda, ldb, ldc;
  int split_cols;
  ds__gemm_kernel_fn kernel;
  ds__gemm_pack_bt_fn pack_bt;
  const float *packed_b; /* ds__gemm_pack_b's panels of op(B), or NULL */
} gemm_job;

static void gemm_block(const gemm_job *g, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  /* Packing buffers (~344 KiB) are per thread rather than on the stack: host threads with
   * small stacks (musl's 128 KiB, FFI callers) must be able to call in. A thread never has
   * two gemm_block calls active at once (nested pool calls run one after another). */
  static _Thread_local _Alignas(64) float Ap[MC * KC];
  static _Thread_local _Alignas(64) float Bp[KC * NC];
  /* beta == 0: the first K block overwrites C (C is never read); otherwise C is scaled once */
  const int skip = g->K <= 0 || g->alpha == 0.0f;
  for (int64_t i = i0; i < i1 && (skip || (g->beta != 0.0f && g->beta != 1.0f)); i++) {
    float *c = g->C + i * g->ldc;
    if (g->beta == 0.0f)
      for (int64_t j = j0; j < j1; j++) c[j] = 0.0f;
    else if (g->beta != 1.0f)
      for (int64_t j = j0; j < j1; j++) c[j] *= g->beta;
  }
  if (skip) return;
  for (int64_t pc = 0; pc < g->K; pc += KC) {
    int64_t kc = g->K - pc < KC ? g->K - pc : KC;
    for (int64_t ic = i0; ic < i1; ic += MC) {
      int64_t mc = i1 - ic < MC ? i1 - ic : MC;
      pack_a(g->trans_a, g->A, g->lda, ic, mc, pc, kc, Ap);
      for (int64_t jc = j0; jc < j1; jc += NC) {
        int64_t nc = j1 - jc < NC ? j1 - jc : NC;
        const float *bp = Bp;
        if (g->packed_b) bp = g->packed_b + pc * padded_n(g->N) + jc * kc;
        else pack_b(g->trans_b, g->B, g->ldb, pc, kc, jc, nc, Bp, g->pack_bt);
        for (int64_t jr = 0; jr < nc; jr += DS_GEMM_NR) {
          int64_t n = nc - jr < DS_GEMM_NR ? nc - jr : DS_GEMM_NR;
          for (int64_t ir = 0; ir < mc; ir += DS_GEMM_MR) {
            int64_t m = mc - ir < DS_GEMM_MR ? mc - ir : DS_GEMM_MR;
            g->kernel(kc, Ap + ir * kc, bp + jr * kc, g->C + (ic + ir) * g->ldc + jc + jr,
                      g->ldc, m, n, g->alpha, pc == 0 && g->beta == 0.0f);
          }
        }
      }
    }
  }
}

static void gemm_worker(void *p, int32_t t, int32_t threads) {
  const gemm_job *g = p;
  int64_t b0, b1;
  if (g->split_cols) {
    ds__split_range((g->N + DS_GEMM_NR - 1) / DS_GEMM_NR, t, threads, &b0, &b1);
    b0 *= DS_GEMM_NR;
    b1 = b1 * DS_GEMM_NR < g->N ? b1 * DS_GEMM_NR : g->N;
    if (b0 < b1) gemm_block(g, 0, g->M, b0, b1);
  } else {
    ds__split_range((g->M + DS_GEMM_MR - 1) / DS_GEMM_MR, t, threads, &b0, &b1);
    b0 *= DS_GEMM_MR;
    b1 = b1 * DS_GEMM_MR < g->M ? b1 * DS_GEMM_MR : g->M;
    if (b0 < b1) gemm_block(g, b0, b1, 0, g->N);
  }
}

void ds__gemm(ds__pool *pool, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
              float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
              float beta, float *C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  gemm_job g = {trans_a, trans_b, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc,
                N >= M, ds__gemm_kernel_select(), ds__gemm_pack_bt_select(), NULL};
  if (!pool || M * N * K < 65536) gemm_worker(&g, 0, 1);
  else ds__pool_run(pool, gemm_worker, &g);
}

int64_t ds__gemm_packed_b_floats(int64_t K, int64_t N) { return K * padded_n(N); }

/* Block (pc, jc) of K x N, as gemm_block packs it, at Bp + pc * padded_n(N) + jc * kc. */
void ds__gemm_pack_b(int trans_b, int64_t K, int64_t N, const float *B, int64_t ldb,
                     float *Bp) {
  ds__gemm_pack_bt_fn pack_bt = ds__gemm_pack_bt_select();
  for (int64_t pc = 0; pc < K; pc += KC) {
    int64_t kc = K - pc < KC ? K - pc : KC;
    for (int64_t jc = 0; jc < N; jc += NC) {
      int64_t nc = N - jc < NC ? N - jc : NC;
      pack_b(trans_b, B, ldb, pc, kc, jc, nc, Bp + pc * padded_n(N) + jc * kc, pack_bt);
    }
  }
}

void ds__gemm_packed_b(int trans_a, int64_t M, int64_t N, int64_t K, float alpha,
                       const float *A, int64_t lda, const float *Bp, float beta, float *C,
                       int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  gemm_job g = {trans_a, 0, M, N, K, alpha, beta, A, NULL, C, lda, 0, ldc,
                0, ds__gemm_kernel_select(), ds__gemm_pack_bt_select(), Bp};
  gemm_worker(&g, 0, 1);
}

void ds__gemm_reference(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                        float alpha, const float *A, int64_t lda, const float *B,
                        int64_t ldb, float beta, float *C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double acc = 0.0;
      for (int64_t k = 0; k < K; k++)
        acc += (double)op_at(A, lda, trans_a, i, k) * (double)op_at(B, ldb, trans_b, k, j);
      float prev = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
      C[i * ldc + j] = (float)(alpha * acc) + prev;
    }
}
