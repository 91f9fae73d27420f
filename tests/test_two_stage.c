/* The two-stage model: importance-weighted bounds against quadrature, both denoisers,
 * two-stage sampling, and Tweedie's formula against the exact posterior mean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_util.h"
#include "model_fixtures.h"

#define N 4096
#define SIGMA 0.5

typedef struct trained {
  ds_context *ctx;
  ds_smoother *sm;
  ds_model *stage1, *stage2;
  float x[N * 2];
} trained;

static trained *T; /* trained once for the whole group */

static void train(ds_model *m, ds_smoother *sm, const float *x, int64_t steps) {
  ds_trainer_config *tc = small_trainer_config(256, steps);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, sm, &t), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, N, steps, NULL), DS_OK);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
}

static int setup(void **state) {
  (void)state;
  T = calloc(1, sizeof *T);
  T->ctx = test_context(2, 21);
  assert_int_equal(ds_smoother_create(T->ctx, DS_NOISE_GAUSSIAN, SIGMA, &T->sm), DS_OK);
  mixture_data(T->x, N, 4);
  T->stage1 = small_model(T->ctx, 2, 0, 4, 32);
  T->stage2 = small_model(T->ctx, 2, 2, 4, 32);
  train(T->stage1, T->sm, T->x, 400);
  train(T->stage2, T->sm, T->x, 400);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ds_model_free(T->stage1);
  ds_model_free(T->stage2);
  ds_smoother_free(T->sm);
  ds_context_free(T->ctx);
  free(T);
  return 0;
}

static double mean(const double *v, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += v[i];
  return s / n;
}

static void iw_bound_rises_with_k_towards_quadrature(void **state) {
  (void)state;
  enum { M = 400 };
  static float x[M * 2];
  mixture_data(x, M, 99);
  static double b1[M], b10[M], b100[M], b1000[M], quad[M], fine[M];
  assert_int_equal(ds_two_stage_log_prob_bound(T->stage1, T->stage2, T->sm, x, M, 1, 3, b1), DS_OK);
  assert_int_equal(ds_two_stage_log_prob_bound(T->stage1, T->stage2, T->sm, x, M, 10, 3, b10), DS_OK);
  assert_int_equal(ds_two_stage_log_prob_bound(T->stage1, T->stage2, T->sm, x, M, 100, 3, b100), DS_OK);
  assert_int_equal(ds_two_stage_log_prob_bound(T->stage1, T->stage2, T->sm, x, M, 1000, 3, b1000), DS_OK);
  assert_int_equal(ds_two_stage_log_prob_grid(T->stage1, T->stage2, x, M, -6, 6, 81, quad), DS_OK);
  double m1 = mean(b1, M), m10 = mean(b10, M), m100 = mean(b100, M), m1000 = mean(b1000, M),
         mq = mean(quad, M);
  print_message("mean log p: IW-1 %.4f, IW-10 %.4f, IW-100 %.4f, IW-1000 %.4f, quadrature %.4f\n",
                m1, m10, m100, m1000, mq);
  /* E[IW_K] rises with K towards log p: strict for small K; at large K the sample means
     sit within their Monte Carlo error (~0.01 here) of the quadrature value */
  assert_true(m1 < m10 - 0.02 && m10 < m100); /* 0.045 apart since 0.3's data init */
  assert_true(fabs(m100 - mq) < 0.03 && fabs(m1000 - mq) < 0.02);
  /* a wider, finer quadrature grid agrees on the first 20 points: the box and the
     spacing are adequate */
  assert_int_equal(ds_two_stage_log_prob_grid(T->stage1, T->stage2, x, 20, -7, 7, 141, fine), DS_OK);
  for (int i = 0; i < 20; i++) assert_true(fabs(fine[i] - quad[i]) < 1e-3);
}

static void gradient_denoiser_is_one_tweedie_step(void **state) {
  (void)state;
  enum { M = 2000 };
  static float xt[M * 2], out[M * 2], score[M * 2], x[M * 2];
  memcpy(x, T->x, sizeof x);
  assert_int_equal(ds_smoother_apply(T->sm, x, M, 2, 123, xt), DS_OK);
  double mse[2];
  for (int kind = 0; kind < 2; kind++) {
    ds_denoiser *dn = NULL;
    assert_int_equal(ds_denoiser_create_gradient(T->stage1, T->sm, kind, &dn), DS_OK);
    assert_int_equal(ds_denoiser_apply(dn, xt, M, 0, out), DS_OK);
    assert_int_equal(ds_model_score(T->stage1, xt, NULL, M, kind, score, NULL), DS_OK);
    double se = 0;
    for (int i = 0; i < M * 2; i++) {
      assert_true(fabsf(out[i] - (xt[i] + (float)(SIGMA * SIGMA) * score[i])) < 1e-5f);
      se += (out[i] - x[i]) * (out[i] - x[i]);
    }
    mse[kind] = se / (M * 2);
    ds_denoiser_free(dn);
  }
  print_message("MSE per dimension: noisy %.4f, exact score %.4f, local score %.4f\n",
                SIGMA * SIGMA, mse[0], mse[1]);
  assert_true(mse[DS_SCORE_EXACT] < 0.8 * SIGMA * SIGMA);
  assert_true(mse[DS_SCORE_LOCAL] < SIGMA * SIGMA);
}

static void conditional_denoiser_and_two_stage_sampling(void **state) {
  (void)state;
  enum { M = 500 };
  static float xt[M * 2], a[M * 2], b[M * 2];
  assert_int_equal(ds_smoother_apply(T->sm, T->x, M, 2, 7, xt), DS_OK);
  ds_denoiser *mean_dn = NULL, *sample_dn = NULL;
  assert_int_equal(ds_denoiser_create_conditional(T->stage2, DS_CONDITIONAL_MEAN, &mean_dn), DS_OK);
  assert_int_equal(ds_denoiser_create_conditional(T->stage2, DS_CONDITIONAL_SAMPLE, &sample_dn), DS_OK);
  assert_int_equal(ds_denoiser_apply(mean_dn, xt, M, 1, a), DS_OK);
  assert_int_equal(ds_denoiser_apply(mean_dn, xt, M, 2, b), DS_OK);
  assert_memory_equal(a, b, sizeof a); /* the mean ignores the stream */
  double se = 0;
  for (int i = 0; i < M * 2; i++) se += (a[i] - T->x[i]) * (a[i] - T->x[i]);
  assert_true(se / (M * 2) < SIGMA * SIGMA);
  assert_int_equal(ds_denoiser_apply(sample_dn, xt, M, 1, a), DS_OK);
  assert_int_equal(ds_denoiser_apply(sample_dn, xt, M, 2, b), DS_OK);
  assert_true(memcmp(a, b, sizeof a) != 0);
  /* two-stage samples: reproducible, and near the data's four modes */
  assert_int_equal(ds_two_stage_sample(T->stage1, sample_dn, M, 9, a), DS_OK);
  assert_int_equal(ds_two_stage_sample(T->stage1, sample_dn, M, 9, b), DS_OK);
  assert_memory_equal(a, b, sizeof a);
  int near = 0;
  for (int i = 0; i < M; i++)
    near += fabsf(fabsf(a[2 * i]) - 1.5f) < 0.9f && fabsf(fabsf(a[2 * i + 1]) - 1.6f) < 0.9f;
  print_message("two-stage samples near a mode: %d of %d\n", near, M);
  assert_true(near > M * 8 / 10);
  /* errors */
  ds_denoiser *bad = NULL;
  assert_int_equal(ds_denoiser_create_conditional(T->stage1, DS_CONDITIONAL_MEAN, &bad),
                   DS_ERR_SHAPE_MISMATCH);
  assert_int_equal(ds_denoiser_create_gradient(T->stage2, T->sm, DS_SCORE_EXACT, &bad), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_two_stage_log_prob_bound(T->stage2, T->stage1, T->sm, T->x, 4, 1, 0, NULL),
                   DS_ERR_INVALID_ARGUMENT);
  double q[4] = {7, 7, 7, 7};
  assert_int_equal(ds_two_stage_log_prob_bound(T->stage1, T->stage2, T->sm, T->x, 4, 0, 0, q),
                   DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_two_stage_log_prob_grid(T->stage1, T->stage2, T->x, 4, 1, -1, 10, q),
                   DS_ERR_INVALID_ARGUMENT);
  assert_true(q[0] == 7 && q[3] == 7);
  assert_null(bad);
  ds_denoiser_free(mean_dn);
  ds_denoiser_free(sample_dn);
  ds_denoiser_free(NULL);
}

/* Tweedie: with the true smoothed density q, x~ + sigma^2 d/dx~ log q = E[x | x~]. Here q
 * comes from the library's exact grid smoothing of a Gaussian mixture, its derivative
 * from central differences, and both are checked against the closed-form posterior mean
 * and the library's grid posterior mean. */
static void tweedie_with_the_true_smoothed_density(void **state) {
  (void)state;
  enum { G = 2001 };
  const double x0 = -10, dx = 0.01, w[2] = {0.3, 0.7}, mu[2] = {-1.0, 1.5}, s[2] = {0.2, 0.4};
  static double p[G], q[G], gm[G], post[G];
  double s2 = SIGMA * SIGMA;
  for (int i = 0; i < G; i++) {
    double x = x0 + i * dx, num = 0, den = 0;
    p[i] = 0;
    for (int k = 0; k < 2; k++) {
      double v = s[k] * s[k] + s2;
      double d = w[k] * exp(-0.5 * (x - mu[k]) * (x - mu[k]) / v) / sqrt(2 * M_PI * v);
      den += d;
      num += d * (mu[k] + s[k] * s[k] / v * (x - mu[k])); /* per-component shrinkage */
      p[i] += w[k] * exp(-0.5 * (x - mu[k]) * (x - mu[k]) / (s[k] * s[k])) / sqrt(2 * M_PI * s[k] * s[k]);
    }
    post[i] = num / den;
  }
  assert_int_equal(ds_smoother_convolve_grid(T->sm, p, G, 1, x0, dx, 0, 0, q), DS_OK);
  assert_int_equal(ds_smoother_grid_posterior_mean(T->sm, p, G, 1, x0, dx, 0, 0, gm), DS_OK);
  double worst_tweedie = 0, worst_grid = 0;
  for (int i = 1; i < G - 1; i++) {
    double x = x0 + i * dx;
    if (fabs(x) > 4) continue;
    double score = (log(q[i + 1]) - log(q[i - 1])) / (2 * dx);
    worst_tweedie = fmax(worst_tweedie, fabs(x + s2 * score - post[i]));
    worst_grid = fmax(worst_grid, fabs(gm[i] - post[i]));
  }
  print_message("Tweedie from the smoothed grid: max error %.2g; grid posterior mean %.2g\n",
                worst_tweedie, worst_grid);
  assert_true(worst_tweedie < 1e-3);
  assert_true(worst_grid < 1e-3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(iw_bound_rises_with_k_towards_quadrature),
      cmocka_unit_test(gradient_denoiser_is_one_tweedie_step),
      cmocka_unit_test(conditional_denoiser_and_two_stage_sampling),
      cmocka_unit_test(tweedie_with_the_true_smoothed_density),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
