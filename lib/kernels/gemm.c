#include "kernels/gemm.h"

#include "kernels/gemm_kernel.h"
#include "kernels/short_copy.h"

#include <string.h>

/* Blocked, packed GEMM (Goto's loop order). For the block of C a thread owns:
 *   for pc (KC of K): for ic (MC rows): pack op(A)[ic.., pc..] into MR-high panels
 *     for jc (NC columns): pack op(B)[pc.., jc..] into NR-wide panels
 *       for each NR panel, for each MR panel: micro-kernel C_tile += alpha * A_p B_p
 * MR x NR is the active micro-kernel's tile (kernels/gemm_kernel.h).
 * A (the smaller, weight-like operand in the convolutions) is packed once per KC block.
 * The K blocking does not depend on the split, so every C element is summed over k in the
 * same order (k within a KC block in the micro-kernel, KC blocks in order): results are
 * bitwise identical for any thread count. Packing buffers are thread-local (KC*(MC+NC)
 * floats, 336 KiB, and a 32 KiB panel for ds__gemm_implicit_b): no allocation. beta is
 * applied once, before the K loop. */

enum { KC = 256, MC = 144, NC = 192 };

/* Ap[(p * kc + k) * MR + r] = op(A)[i0 + p*MR + r][k0 + k], zero beyond m. */
static void pack_a(int trans, const float *A, int64_t lda, int64_t i0, int64_t m, int64_t k0,
                   int64_t kc, float *Ap, int64_t mr) {
  const ds__gemm_pack_a_fn fast = ds__gemm_kernel_active()->pack_a;
  for (int64_t p = 0; p < m; p += mr) {
    float *dst = Ap + p * kc;
    int64_t rows = m - p < mr ? m - p : mr;
    if (!trans && rows == mr && fast) {
      fast(A + (i0 + p) * lda + k0, lda, kc, dst);
    } else if (!trans && rows == mr) {
      const float *s0 = A + (i0 + p) * lda + k0;
      for (int64_t k = 0; k < kc; k++)
        for (int64_t r = 0; r < mr; r++) dst[k * mr + r] = s0[r * lda + k];
    } else if (!trans) {
      for (int64_t k = 0; k < kc; k++)
        for (int64_t r = 0; r < mr; r++)
          dst[k * mr + r] = r < rows ? A[(i0 + p + r) * lda + k0 + k] : 0.0f;
    } else if (rows == mr) { /* op(A)^T rows are contiguous: one short copy per k */
      for (int64_t k = 0; k < kc; k++)
        ds__copy_short(dst + k * mr, A + (k0 + k) * lda + i0 + p, mr);
    } else {
      for (int64_t k = 0; k < kc; k++) {
        const float *src = A + (k0 + k) * lda + i0 + p;
        for (int64_t r = 0; r < mr; r++) dst[k * mr + r] = r < rows ? src[r] : 0.0f;
      }
    }
  }
}

/* Bp[(p * kc + k) * NR + c] = op(B)[k0 + k][j0 + p*NR + c], zero beyond n. Row-major B is
 * read row by row (sequential), transposed B column by column. */
static void pack_b(int trans, const float *B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0,
                   int64_t n, float *restrict Bp, const ds__gemm_kernel *kern) {
  const int64_t nr = kern->nr;
  int64_t full = n / nr * nr;
  if (!trans) {
    for (int64_t k = 0; k < kc; k++) {
      const float *restrict src = B + (k0 + k) * ldb + j0;
      for (int64_t p = 0; p < full; p += nr)
        ds__copy_short(Bp + p * kc + k * nr, src + p, nr);
      if (full < n) {
        float *d = Bp + full * kc + k * nr;
        for (int64_t c = 0; c < nr; c++) d[c] = full + c < n ? src[full + c] : 0.0f;
      }
    }
    return;
  }
  for (int64_t p = 0; p < n; p += nr) {
    float *dst = Bp + p * kc;
    int64_t cols = n - p < nr ? n - p : nr;
    if (cols == nr) {
      kern->pack_bt(B + (j0 + p) * ldb + k0, ldb, kc, dst);
      continue;
    }
    for (int64_t c = 0; c < nr; c++) {
      if (c < cols) {
        const float *restrict src = B + (j0 + p + c) * ldb + k0;
        for (int64_t k = 0; k < kc; k++) dst[k * nr + c] = src[k];
      } else {
        for (int64_t k = 0; k < kc; k++) dst[k * nr + c] = 0.0f;
      }
    }
  }
}

/* N rounded up to whole NR panels (NC is a multiple of every kernel's NR). */
static int64_t padded_n(int64_t n, int64_t nr) { return (n + nr - 1) / nr * nr; }

typedef struct gemm_job {
  int trans_a, trans_b;
  int64_t M, N, K;
  float alpha, beta;
  const float *A, *B;
  float *C;
  int64_t lda, ldb, ldc;
  int split_cols;
  const ds__gemm_kernel *kern;
  const float *packed_b; /* ds__gemm_pack_b's panels of op(B), or NULL */
} gemm_job;

static void gemm_block(const gemm_job *g, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const int64_t mr = g->kern->mr, nr = g->kern->nr;
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
      pack_a(g->trans_a, g->A, g->lda, ic, mc, pc, kc, Ap, mr);
      for (int64_t jc = j0; jc < j1; jc += NC) {
        int64_t nc = j1 - jc < NC ? j1 - jc : NC;
        /* A row-major B is read in place by full panels (packing it would copy the whole
           im2col matrix once more); only a partial last panel is packed, zero-padded. */
        const int64_t direct = !g->packed_b && !g->trans_b ? nc / nr * nr : 0;
        const float *bp = Bp;
        if (g->packed_b) bp = g->packed_b + pc * padded_n(g->N, nr) + jc * kc;
        else if (!direct) pack_b(g->trans_b, g->B, g->ldb, pc, kc, jc, nc, Bp, g->kern);
        else if (direct < nc)
          pack_b(0, g->B, g->ldb, pc, kc, jc + direct, nc - direct, Bp, g->kern);
        for (int64_t jr = 0; jr < nc; jr += nr) {
          int64_t n = nc - jr < nr ? nc - jr : nr;
          const float *b = jr < direct ? g->B + pc * g->ldb + jc + jr
                           : direct      ? Bp /* the packed partial panel */
                                         : bp + jr * kc;
          int64_t ldb = jr < direct ? g->ldb : nr;
          for (int64_t ir = 0; ir < mc; ir += mr) {
            int64_t m = mc - ir < mr ? mc - ir : mr;
            g->kern->run(kc, Ap + ir * kc, b, ldb, g->C + (ic + ir) * g->ldc + jc + jr, g->ldc,
                         m, n, g->alpha, pc == 0 && g->beta == 0.0f, NULL);
          }
        }
      }
    }
  }
}

static void gemm_worker(void *p, int32_t t, int32_t threads) {
  const gemm_job *g = p;
  const int64_t mr = g->kern->mr, nr = g->kern->nr;
  int64_t b0, b1;
  if (g->split_cols) {
    ds__split_range((g->N + nr - 1) / nr, t, threads, &b0, &b1);
    b0 *= nr;
    b1 = b1 * nr < g->N ? b1 * nr : g->N;
    if (b0 < b1) gemm_block(g, 0, g->M, b0, b1);
  } else {
    ds__split_range((g->M + mr - 1) / mr, t, threads, &b0, &b1);
    b0 *= mr;
    b1 = b1 * mr < g->M ? b1 * mr : g->M;
    if (b0 < b1) gemm_block(g, b0, b1, 0, g->N);
  }
}

void ds__gemm(ds__pool *pool, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
              float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
              float beta, float *C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  gemm_job g = {trans_a, trans_b, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc,
                N >= M, ds__gemm_kernel_active(), NULL};
  if (!pool || M * N * K < 65536) gemm_worker(&g, 0, 1);
  else ds__pool_run(pool, gemm_worker, &g);
}

int64_t ds__gemm_packed_b_floats(int64_t K, int64_t N) {
  return K * padded_n(N, ds__gemm_kernel_active()->nr);
}

/* Block (pc, jc) of K x N, as gemm_block packs it, at Bp + pc * padded_n(N) + jc * kc. */
void ds__gemm_pack_b(int trans_b, int64_t K, int64_t N, const float *B, int64_t ldb,
                     float *Bp) {
  const ds__gemm_kernel *kern = ds__gemm_kernel_active();
  for (int64_t pc = 0; pc < K; pc += KC) {
    int64_t kc = K - pc < KC ? K - pc : KC;
    for (int64_t jc = 0; jc < N; jc += NC) {
      int64_t nc = N - jc < NC ? N - jc : NC;
      pack_b(trans_b, B, ldb, pc, kc, jc, nc, Bp + pc * padded_n(N, kern->nr) + jc * kc, kern);
    }
  }
}

void ds__gemm_packed_b(int trans_a, int64_t M, int64_t N, int64_t K, float alpha,
                       const float *A, int64_t lda, const float *Bp, float beta, float *C,
                       int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  gemm_job g = {trans_a, 0, M, N, K, alpha, beta, A, NULL, C, lda, 0, ldc,
                0, ds__gemm_kernel_active(), Bp};
  gemm_worker(&g, 0, 1);
}

int64_t ds__gemm_packed_a_floats(int64_t M, int64_t K) { return K * (M + 8); }

void ds__gemm_pack_a(int trans_a, int64_t M, int64_t K, const float *A, int64_t lda,
                     float *Ap) {
  const int64_t mr = ds__gemm_kernel_active()->mr, mp = (M + mr - 1) / mr * mr;
  for (int64_t pc = 0; pc < K; pc += KC)
    pack_a(trans_a, A, lda, 0, M, pc, K - pc < KC ? K - pc : KC, Ap + pc * mp, mr);
}

/* For each NR-wide panel of columns: for each KC block of K: the panel is packed (it stays
 * in L1 while every MR panel of A passes over it), then each C tile is updated: the first
 * block overwrites or adds to C (with the bias epilogue), later blocks add. Each C element
 * thus gets exactly the sequence of operations gemm_block gives it. */
void ds__gemm_implicit_b(int64_t M, int64_t K, const float *Ap, ds__gemm_b_panel_fn pack,
                         const void *ctx, int64_t j0, int64_t j1, const float *bias,
                         int accumulate, float *C, int64_t ldc) {
  const ds__gemm_kernel *kern = ds__gemm_kernel_active();
  const int64_t mr = kern->mr, nr = kern->nr, mp = (M + mr - 1) / mr * mr;
  static _Thread_local _Alignas(64) float panel[KC * 32];
  if (K <= 0) { /* C = [C +] bias */
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = j0; j < j1; j++) {
        float b = bias ? bias[i] : 0.0f, *c = C + i * ldc + j;
        *c = accumulate ? (bias ? *c + b : *c) : b;
      }
    return;
  }
  for (int64_t jr = j0; jr < j1; jr += nr) {
    int64_t n = j1 - jr < nr ? j1 - jr : nr;
    for (int64_t pc = 0; pc < K; pc += KC) {
      int64_t kc = K - pc < KC ? K - pc : KC;
      pack(ctx, pc, kc, jr, n, nr, panel);
      for (int64_t ir = 0; ir < M; ir += mr)
        kern->run(kc, Ap + pc * mp + ir * kc, panel, nr, C + ir * ldc + jr, ldc,
                  M - ir < mr ? M - ir : mr, n, 1.0f, pc == 0 && !accumulate,
                  pc == 0 && bias ? bias + ir : NULL);
    }
  }
}
