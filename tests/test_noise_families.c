/* The three noise families through the public API: moments, a Kolmogorov-Smirnov test
 * against the exact CDF, log_q, score and entropy against their closed forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>

#include "test_util.h"

#define N 200000

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

static double cdf(int family, double sigma, double r) {
  if (family == DS_NOISE_GAUSSIAN) return 0.5 * erfc(-r / (sigma * sqrt(2.0)));
  if (family == DS_NOISE_LAPLACE) {
    double b = sigma / sqrt(2.0);
    return r < 0 ? 0.5 * exp(r / b) : 1 - 0.5 * exp(-r / b);
  }
  double a = sigma * sqrt(3.0), c = (r + a) / (2 * a);
  return c < 0 ? 0 : c > 1 ? 1 : c;
}

static void check_family(int family, double sigma) {
  ds_context *ctx = test_context(2, 1234);
  ds_smoother *sm = NULL;
  assert_int_equal(ds_smoother_create(ctx, family, sigma, &sm), DS_OK);
  float *zero = calloc(N, sizeof(float)), *r = malloc(N * sizeof(float));
  assert_int_equal(ds_smoother_apply(sm, zero, N / 4, 4, 99, r), DS_OK);

  /* moments: mean 0, variance sigma^2, within 5 standard errors */
  double mean = 0, var = 0;
  for (int i = 0; i < N; i++) mean += r[i];
  mean /= N;
  for (int i = 0; i < N; i++) var += (r[i] - mean) * (r[i] - mean);
  var /= N - 1;
  double kurt = family == DS_NOISE_GAUSSIAN ? 3 : family == DS_NOISE_LAPLACE ? 6 : 1.8;
  assert_true(fabs(mean) < 5 * sigma / sqrt(N));
  assert_true(fabs(var - sigma * sigma) < 5 * sigma * sigma * sqrt((kurt - 1) / N));

  /* KS: D_n below the 0.1% critical value 1.95/sqrt(n) */
  qsort(r, N, sizeof(float), cmp_float);
  double d = 0;
  for (int i = 0; i < N; i++) {
    double f = cdf(family, sigma, r[i]);
    double lo = f - (double)i / N, hi = (double)(i + 1) / N - f;
    d = fmax(d, fmax(lo, hi));
  }
  assert_true(d < 1.95 / sqrt(N));

  /* log_q, score and entropy */
  float xt[3] = {0.1f, -0.2f, 0.05f}, x[3] = {0.0f, 0.0f, 0.0f}, sc[3];
  double lq;
  assert_int_equal(ds_smoother_log_q(sm, xt, x, 1, 3, &lq), DS_OK);
  double expect = 0;
  for (int j = 0; j < 3; j++) {
    double rr = xt[j];
    if (family == DS_NOISE_GAUSSIAN) expect += -0.5 * rr * rr / (sigma * sigma) - log(sigma * sqrt(2 * M_PI));
    else if (family == DS_NOISE_LAPLACE) expect += -fabs(rr) * sqrt(2.0) / sigma - log(sqrt(2.0) * sigma);
    else expect += -log(2 * sqrt(3.0) * sigma);
  }
  assert_true(fabs(lq - expect) < 1e-9);
  assert_int_equal(ds_smoother_score(sm, xt, x, 1, 3, sc), DS_OK);
  for (int j = 0; j < 3; j++) {
    double h = 1e-4, up, dn;
    float xp[1] = {xt[j] + (float)h}, xm[1] = {xt[j] - (float)h};
    ds_smoother_log_q(sm, xp, x, 1, 1, &up);
    ds_smoother_log_q(sm, xm, x, 1, 1, &dn);
    double fd = (up - dn) / ((double)xp[0] - (double)xm[0]);
    assert_true(fabs(sc[j] - fd) < 1e-3 * (1 + fabs(fd)));
  }
  /* entropy = -E log q, estimated from the sorted draws (mean of log q over all) */
  double neg = 0;
  for (int i = 0; i < N; i += 1) {
    float zi[1] = {0}, ri[1] = {r[i]};
    double l;
    ds_smoother_log_q(sm, ri, zi, 1, 1, &l);
    neg -= l;
  }
  neg /= N;
  assert_true(fabs(neg - ds_smoother_entropy(sm)) < 0.01);

  free(zero);
  free(r);
  ds_smoother_free(sm);
  ds_context_free(ctx);
}

static void gaussian(void **state) { (void)state; check_family(DS_NOISE_GAUSSIAN, 0.5); }
static void laplace(void **state) { (void)state; check_family(DS_NOISE_LAPLACE, 0.3); }
static void uniform(void **state) { (void)state; check_family(DS_NOISE_UNIFORM, 2.0); }

static void uniform_score_outside_support_is_an_error(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 0);
  ds_smoother *sm = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_UNIFORM, 1.0, &sm), DS_OK);
  float xt[2] = {0.5f, 2.0f}, x[2] = {0, 0}, sc[2] = {9, 9};
  double lq[2];
  assert_int_equal(ds_smoother_log_q(sm, xt, x, 2, 1, lq), DS_OK);
  assert_true(isfinite(lq[0]) && isinf(lq[1]) && lq[1] < 0);
  assert_int_equal(ds_smoother_score(sm, xt, x, 2, 1, sc), DS_ERR_NUMERIC);
  assert_non_null(strstr(ds_context_last_error(ctx), "support"));
  assert_true(sc[0] == 9 && sc[1] == 9);
  ds_smoother_free(sm);
  ds_context_free(ctx);
}

/* Rounding to float must not carry the library's own uniform draws outside the support. */
static void uniform_draws_stay_inside_the_support(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 0);
  ds_smoother *sm = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_UNIFORM, 0.01, &sm), DS_OK);
  enum { M = 100000 };
  static float x[M], xt[M], sc[M];
  static double lq[M];
  for (int i = 0; i < M; i++) x[i] = 1000.0f; /* float spacing 6e-5: many edge roundings */
  assert_int_equal(ds_smoother_apply(sm, x, M, 1, 0, xt), DS_OK);
  assert_int_equal(ds_smoother_log_q(sm, xt, x, M, 1, lq), DS_OK);
  for (int i = 0; i < M; i++) assert_true(isfinite(lq[i]));
  assert_int_equal(ds_smoother_score(sm, xt, x, M, 1, sc), DS_OK);
  ds_smoother_free(sm);
  ds_context_free(ctx);
}

static void fresh_stream_gives_fresh_noise(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 5);
  ds_smoother *sm = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 1.0, &sm), DS_OK);
  float x[64] = {0}, a[64], b[64], c[64];
  ds_smoother_apply(sm, x, 16, 4, 0, a);
  ds_smoother_apply(sm, x, 16, 4, 1, b);
  ds_smoother_apply(sm, x, 16, 4, 0, c);
  assert_memory_equal(a, c, sizeof a);
  int same = 0;
  for (int i = 0; i < 64; i++) same += a[i] == b[i];
  assert_true(same < 2);
  ds_smoother_free(sm);
  ds_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(gaussian),
      cmocka_unit_test(laplace),
      cmocka_unit_test(uniform),
      cmocka_unit_test(uniform_score_outside_support_is_an_error),
      cmocka_unit_test(fresh_stream_gives_fresh_noise),
      cmocka_unit_test(uniform_draws_stay_inside_the_support),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
