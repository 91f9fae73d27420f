/* ds__gemm against its double-precision reference for all transposes, odd sizes, alpha and
 * beta; bitwise identical results for 1, 2, 3 and 8 threads; the prepacked-B product gives
 * ds__gemm's bits, and so does the implicit-B product with its bias epilogue. Each with every micro-kernel this CPU runs (generic, AVX2, AVX-512; one
 * it lacks is skipped with a message); AVX2 and AVX-512 give the same bits; the automatic
 * choice is the widest kernel, or the one DS_GEMM_KERNEL names. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/context.h"
#include "kernels/gemm.h"
#include "kernels/gemm_kernel.h"
#include "reference/gemm_reference.h"
#include "test_util.h"

static const char *const kernel_names[DS__GEMM_KERNELS] = {"generic", "avx2", "avx512"};

/* Force kernel id for the next products; 0 (with a message) if this CPU lacks it. */
static int use_kernel(int id) {
  if (!ds__gemm_kernel_available(id)) {
    print_message("gemm kernel %s: skipped, this CPU (or OS) lacks it\n", kernel_names[id]);
    return 0;
  }
  assert_true(ds__gemm_kernel_force(id));
  assert_string_equal(ds__gemm_kernel_active()->name, kernel_names[id]);
  return 1;
}

static uint64_t rng_state = 88172645463325252ull;
static float urand(void) {
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return (float)((rng_state >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static void matches_reference_with(void);
static void matches_reference(void **state) {
  (void)state;
  for (int id = 0; id < DS__GEMM_KERNELS; id++)
    if (use_kernel(id)) matches_reference_with();
  ds__gemm_kernel_force(-1);
}

static void matches_reference_with(void) {
  ds_context *ctx = test_context(3, 0);
  const int64_t sizes[][3] = {{1, 1, 1}, {7, 5, 3}, {6, 16, 256}, {13, 33, 300},
                              {97, 200, 513}, {5, 400, 17}, {130, 3, 70}, {9, 50, 40},
                              {3, 31, 7}, {17, 222, 65}};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++) {
        int64_t M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
        int64_t lda = (ta ? M : K) + 2, ldb = (tb ? K : N) + 1, ldc = N + 3;
        float *A = malloc(sizeof(float) * (size_t)((ta ? K : M) * lda));
        float *B = malloc(sizeof(float) * (size_t)((tb ? N : K) * ldb));
        float *C = malloc(sizeof(float) * (size_t)(M * ldc));
        float *R = malloc(sizeof(float) * (size_t)(M * ldc));
        for (int64_t i = 0; i < (ta ? K : M) * lda; i++) A[i] = urand();
        for (int64_t i = 0; i < (tb ? N : K) * ldb; i++) B[i] = urand();
        const float betas[] = {0.0f, 1.0f, 0.5f};
        for (int bi = 0; bi < 3; bi++) {
          for (int64_t i = 0; i < M * ldc; i++) C[i] = R[i] = urand();
          if (bi == 0) C[0] = NAN; /* beta 0 must not read C */
          ds__gemm(ctx->pool, ta, tb, M, N, K, 0.75f, A, lda, B, ldb, betas[bi], C, ldc);
          ds__gemm_reference(ta, tb, M, N, K, 0.75f, A, lda, B, ldb, betas[bi], R, ldc);
          for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
              assert_true(fabsf(C[i * ldc + j] - R[i * ldc + j]) <= 1e-4f * (float)K + 1e-5f);
        }
        free(A), free(B), free(C), free(R);
      }
  ds_context_free(ctx);
}

static void bitwise_identical_across_threads_with(void);
static void bitwise_identical_across_threads(void **state) {
  (void)state;
  for (int id = 0; id < DS__GEMM_KERNELS; id++)
    if (use_kernel(id)) bitwise_identical_across_threads_with();
  ds__gemm_kernel_force(-1);
}

static void bitwise_identical_across_threads_with(void) {
  const int64_t M = 75, N = 301, K = 600;
  float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
  float *C1 = malloc(sizeof(float) * M * N), *Cn = malloc(sizeof(float) * M * N);
  for (int64_t i = 0; i < M * K; i++) A[i] = urand();
  for (int64_t i = 0; i < K * N; i++) B[i] = urand();
  for (int tr = 0; tr < 2; tr++) {
    ds_context *one = test_context(1, 0);
    ds__gemm(one->pool, 0, tr, M, tr ? M : N, K, 1.0f, A, K, tr ? A : B, tr ? K : N, 0.0f, C1,
             tr ? M : N);
    ds_context_free(one);
    const int32_t counts[] = {2, 3, 8};
    for (int c = 0; c < 3; c++) {
      ds_context *ctx = test_context(counts[c], 0);
      ds__gemm(ctx->pool, 0, tr, M, tr ? M : N, K, 1.0f, A, K, tr ? A : B, tr ? K : N, 0.0f,
               Cn, tr ? M : N);
      assert_memory_equal(C1, Cn, sizeof(float) * (size_t)(M * (tr ? M : N)));
      ds_context_free(ctx);
    }
  }
  free(A), free(B), free(C1), free(Cn);
}

/* ds__gemm_packed_b == ds__gemm bit for bit (the cached sampler relies on it): several K
 * and N blocks, partial panels, both transposes of A and B, beta 0 and 1. */
static void packed_b_gives_the_same_bits_with(void);
static void packed_b_gives_the_same_bits(void **state) {
  (void)state;
  for (int id = 0; id < DS__GEMM_KERNELS; id++)
    if (use_kernel(id)) packed_b_gives_the_same_bits_with();
  ds__gemm_kernel_force(-1);
}

static void packed_b_gives_the_same_bits_with(void) {
  const int64_t sizes[][3] = {{1, 1, 1}, {7, 5, 3}, {9, 64, 384}, {13, 200, 600}, {40, 17, 257}};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++)
        for (int beta = 0; beta < 2; beta++) {
          int64_t M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
          int64_t lda = ta ? M : K, ldb = tb ? K : N;
          float *A = malloc(sizeof(float) * (size_t)(M * K));
          float *B = malloc(sizeof(float) * (size_t)(K * N));
          float *C1 = malloc(sizeof(float) * (size_t)(M * N));
          float *C2 = malloc(sizeof(float) * (size_t)(M * N));
          float *Bp = malloc(sizeof(float) * (size_t)ds__gemm_packed_b_floats(K, N));
          for (int64_t i = 0; i < M * K; i++) A[i] = urand();
          for (int64_t i = 0; i < K * N; i++) B[i] = urand();
          for (int64_t i = 0; i < M * N; i++) C1[i] = C2[i] = urand();
          ds__gemm(NULL, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, (float)beta, C1, N);
          ds__gemm_pack_b(tb, K, N, B, ldb, Bp);
          ds__gemm_packed_b(ta, M, N, K, 1.0f, A, lda, Bp, (float)beta, C2, N);
          assert_memory_equal(C1, C2, sizeof(float) * (size_t)(M * N));
          free(A), free(B), free(C1), free(C2), free(Bp);
        }
}

/* Same fused multiply-adds in the same order: AVX-512 == AVX2 bit for bit (the golden
 * files and the cached sampler's equality do not depend on which of the two a CPU has). */
static void avx512_gives_the_avx2_bits(void **state) {
  (void)state;
  if (!ds__gemm_kernel_available(DS__GEMM_AVX512) || !ds__gemm_kernel_available(DS__GEMM_AVX2)) {
    print_message("avx512 vs avx2: skipped, this CPU lacks AVX-512\n");
    return;
  }
  const int64_t M = 37, N = 301, K = 530;
  float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
  float *C2 = malloc(sizeof(float) * M * N), *C5 = malloc(sizeof(float) * M * N);
  for (int64_t i = 0; i < M * K; i++) A[i] = urand();
  for (int64_t i = 0; i < K * N; i++) B[i] = urand();
  for (int beta = 0; beta < 2; beta++) {
    for (int64_t i = 0; i < M * N; i++) C2[i] = C5[i] = urand();
    ds__gemm_kernel_force(DS__GEMM_AVX2);
    ds__gemm(NULL, 0, 0, M, N, K, 0.5f, A, K, B, N, (float)beta, C2, N);
    ds__gemm_kernel_force(DS__GEMM_AVX512);
    ds__gemm(NULL, 0, 0, M, N, K, 0.5f, A, K, B, N, (float)beta, C5, N);
    assert_memory_equal(C2, C5, sizeof(float) * (size_t)(M * N));
  }
  ds__gemm_kernel_force(-1);
  free(A), free(B), free(C2), free(C5);
}

/* ds__gemm_implicit_b (B produced panel by panel, bias epilogue) == ds__gemm on a C
 * initialised to bias (or C + bias) with beta 1, bit for bit: several K blocks, partial MR
 * and NR panels, column ranges that start mid-matrix, both transposes of A. */
typedef struct stored_b {
  const float *B;
  int64_t ldb;
} stored_b;

static void stored_b_panel(const void *ctx, int64_t k0, int64_t kc, int64_t j0, int64_t n,
                           int64_t nr, float *dst) {
  const stored_b *s = ctx;
  for (int64_t k = 0; k < kc; k++)
    for (int64_t c = 0; c < nr; c++)
      dst[k * nr + c] = c < n ? s->B[(k0 + k) * s->ldb + j0 + c] : 0.0f;
}

static void implicit_b_gives_the_gemm_bits_with(void);
static void implicit_b_gives_the_gemm_bits(void **state) {
  (void)state;
  for (int id = 0; id < DS__GEMM_KERNELS; id++)
    if (use_kernel(id)) implicit_b_gives_the_gemm_bits_with();
  ds__gemm_kernel_force(-1);
}

static void implicit_b_gives_the_gemm_bits_with(void) {
  const int64_t sizes[][3] = {{1, 1, 1}, {7, 5, 3}, {9, 64, 384}, {32, 784, 384}, {13, 200, 600},
                              {40, 17, 257}, {15, 49, 64}, {3, 9, 0}};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
    for (int ta = 0; ta < 2; ta++)
      for (int mode = 0; mode < 4; mode++) { /* bit 0: bias, bit 1: accumulate */
        int64_t M = sizes[s][0], N = sizes[s][1], K = sizes[s][2], lda = ta ? M : K;
        int bias_on = mode & 1, acc = mode >> 1;
        float *A = malloc(sizeof(float) * (size_t)(M * K + 1));
        float *B = malloc(sizeof(float) * (size_t)(K * N + 1));
        float *bias = malloc(sizeof(float) * (size_t)M);
        float *C1 = malloc(sizeof(float) * (size_t)(M * N));
        float *C2 = malloc(sizeof(float) * (size_t)(M * N));
        float *Ap = malloc(sizeof(float) * (size_t)(ds__gemm_packed_a_floats(M, K) + 1));
        for (int64_t i = 0; i < M * K; i++) A[i] = urand();
        for (int64_t i = 0; i < K * N; i++) B[i] = urand();
        for (int64_t i = 0; i < M; i++) bias[i] = urand();
        for (int64_t i = 0; i < M * N; i++) C1[i] = C2[i] = acc ? urand() : NAN;
        /* the reference: C initialised as the conv engine did before the epilogue */
        int init = bias_on || acc;
        for (int64_t i = 0; i < M && init; i++)
          for (int64_t j = 0; j < N; j++) {
            float b = bias_on ? bias[i] : 0.0f;
            C1[i * N + j] = acc ? C1[i * N + j] + b : b;
          }
        ds__gemm(NULL, ta, 0, M, N, K, 1.0f, A, lda, B, N, init ? 1.0f : 0.0f, C1, N);
        ds__gemm_pack_a(ta, M, K, A, lda, Ap);
        stored_b sb = {B, N};
        int64_t cut = N / 3; /* two column ranges, as two threads would run them */
        ds__gemm_implicit_b(M, K, Ap, stored_b_panel, &sb, 0, cut, bias_on ? bias : NULL, acc,
                            C2, N);
        ds__gemm_implicit_b(M, K, Ap, stored_b_panel, &sb, cut, N, bias_on ? bias : NULL, acc,
                            C2, N);
        assert_memory_equal(C1, C2, sizeof(float) * (size_t)(M * N));
        free(A), free(B), free(bias), free(C1), free(C2), free(Ap);
      }
}

static void automatic_choice(void **state) {
  (void)state;
  assert_true(ds__gemm_kernel_force(-1));
  const char *env = getenv("DS_GEMM_KERNEL"), *name = ds__gemm_kernel_active()->name;
  print_message("gemm kernel in use: %s (DS_GEMM_KERNEL=%s)\n", name, env ? env : "");
  int env_names_one = 0;
  for (int id = 0; env && id < DS__GEMM_KERNELS; id++)
    env_names_one |= !strcmp(env, kernel_names[id]) && ds__gemm_kernel_available(id);
  if (env_names_one) assert_string_equal(name, env);
  else if (ds__gemm_kernel_available(DS__GEMM_AVX512)) assert_string_equal(name, "avx512");
  else if (ds__gemm_kernel_available(DS__GEMM_AVX2)) assert_string_equal(name, "avx2");
  else assert_string_equal(name, "generic");
  assert_false(ds__gemm_kernel_force(DS__GEMM_KERNELS));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(automatic_choice),
      cmocka_unit_test(avx512_gives_the_avx2_bits),
      cmocka_unit_test(matches_reference),
      cmocka_unit_test(bitwise_identical_across_threads),
      cmocka_unit_test(packed_b_gives_the_same_bits),
      cmocka_unit_test(implicit_b_gives_the_gemm_bits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
