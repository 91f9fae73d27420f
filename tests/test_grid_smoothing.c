/* Grid smoothing against closed forms: a Gaussian mixture smoothed by Gaussian noise is
 * the same mixture with variances s^2 + sigma^2, and its posterior mean E[x | x~] is the
 * responsibility-weighted shrinkage toward each component mean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>

#include "test_util.h"

typedef struct component { double w, mx, my, s; } component;
static const component mix[3] = {{0.5, -1.5, 0.5, 0.4}, {0.3, 1.0, -1.0, 0.25}, {0.2, 2.0, 1.5, 0.6}};

static double normal(double x, double m, double v) { return exp(-0.5 * (x - m) * (x - m) / v) / sqrt(2 * M_PI * v); }

/* 1-D mixture (x-coordinates only) with extra variance `add` */
static double mix1(double x, double add) {
  double p = 0;
  for (int k = 0; k < 3; k++) p += mix[k].w * normal(x, mix[k].mx, mix[k].s * mix[k].s + add);
  return p;
}
static double mix2(double x, double y, double add) {
  double p = 0;
  for (int k = 0; k < 3; k++) {
    double v = mix[k].s * mix[k].s + add;
    p += mix[k].w * normal(x, mix[k].mx, v) * normal(y, mix[k].my, v);
  }
  return p;
}

/* Closed-form posterior mean of the 2-D (or, use_y = 0, 1-D) mixture under N(0, sigma^2). */
static void posterior_mean(double x, double y, double s2, int two_d, double *mx, double *my) {
  double r[3], tot = 0;
  for (int k = 0; k < 3; k++) {
    double v = mix[k].s * mix[k].s + s2;
    r[k] = mix[k].w * normal(x, mix[k].mx, v) * (two_d ? normal(y, mix[k].my, v) : 1.0);
    tot += r[k];
  }
  *mx = *my = 0;
  for (int k = 0; k < 3; k++) {
    double shrink = mix[k].s * mix[k].s / (mix[k].s * mix[k].s + s2);
    *mx += r[k] / tot * (mix[k].mx + shrink * (x - mix[k].mx));
    *my += r[k] / tot * (mix[k].my + shrink * (y - mix[k].my));
  }
}

static void one_d_gaussian_mixture(void **state) {
  (void)state;
  const double sigma = 0.5, x0 = -8, dx = 0.01;
  const int64_t nx = 1601;
  double *p = malloc(nx * sizeof(double)), *q = malloc(nx * sizeof(double)), *m = malloc(nx * sizeof(double));
  for (int64_t i = 0; i < nx; i++) p[i] = mix1(x0 + i * dx, 0);
  ds_context *ctx = test_context(2, 0);
  ds_smoother *sm = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, sigma, &sm), DS_OK);
  assert_int_equal(ds_smoother_convolve_grid(sm, p, nx, 1, x0, dx, 0, 0, q), DS_OK);
  assert_int_equal(ds_smoother_grid_posterior_mean(sm, p, nx, 1, x0, dx, 0, 0, m), DS_OK);
  double err = 0, merr = 0;
  for (int64_t i = 0; i < nx; i++) {
    double x = x0 + i * dx;
    err = fmax(err, fabs(q[i] - mix1(x, sigma * sigma)));
    if (fabs(x) < 4) {
      double ex, ey;
      posterior_mean(x, 0, sigma * sigma, 0, &ex, &ey);
      merr = fmax(merr, fabs(m[i] - ex));
    }
  }
  /* The cell-constant reading adds variance dx^2/12 ~ 8e-6: density errors ~1e-5 */
  print_message("1-D: max |smoothed - analytic| = %.3g, max |mean - closed form| = %.3g\n", err, merr);
  assert_true(err < 5e-5);
  assert_true(merr < 1e-4);
  free(p); free(q); free(m);
  ds_smoother_free(sm);
  ds_context_free(ctx);
}

static void two_d_gaussian_mixture(void **state) {
  (void)state;
  const double sigma = 0.3, lo = -6, d = 0.025;
  const int64_t n = 481;
  double *p = malloc(n * n * sizeof(double)), *q = malloc(n * n * sizeof(double));
  double *m = malloc(n * n * 2 * sizeof(double));
  for (int64_t j = 0; j < n; j++)
    for (int64_t i = 0; i < n; i++) p[j * n + i] = mix2(lo + i * d, lo + j * d, 0);
  ds_context *ctx = test_context(2, 0);
  ds_smoother *sm = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, sigma, &sm), DS_OK);
  assert_int_equal(ds_smoother_convolve_grid(sm, p, n, n, lo, d, lo, d, q), DS_OK);
  assert_int_equal(ds_smoother_grid_posterior_mean(sm, p, n, n, lo, d, lo, d, m), DS_OK);
  double err = 0, merr = 0, peak = 0;
  for (int64_t j = 0; j < n; j++)
    for (int64_t i = 0; i < n; i++) {
      double x = lo + i * d, y = lo + j * d;
      double a = mix2(x, y, sigma * sigma);
      peak = fmax(peak, a);
      err = fmax(err, fabs(q[j * n + i] - a));
      if (a > 1e-3) {
        double ex, ey;
        posterior_mean(x, y, sigma * sigma, 1, &ex, &ey);
        merr = fmax(merr, fmax(fabs(m[(j * n + i) * 2] - ex), fabs(m[(j * n + i) * 2 + 1] - ey)));
      }
    }
  print_message("2-D: max |smoothed - analytic| = %.3g (peak %.3g), max mean error = %.3g\n", err, peak, merr);
  assert_true(err < 1e-3 * peak);
  assert_true(merr < 1e-3);
  free(p); free(q); free(m);
  ds_smoother_free(sm);
  ds_context_free(ctx);
}

/* Every family conserves mass away from the edges and in-place output works. */
static void mass_is_conserved_for_every_family(void **state) {
  (void)state;
  ds_context *ctx = test_context(3, 0);
  const int64_t nx = 801;
  const double dx = 0.02, x0 = -8;
  double *p = calloc(nx, sizeof(double));
  for (int64_t i = 350; i < 450; i++) p[i] = 0.5; /* uniform on about [-1, 1] */
  for (int family = 0; family < 3; family++) {
    ds_smoother *sm = NULL;
    assert_int_equal(ds_smoother_create(ctx, family, 0.7, &sm), DS_OK);
    double *q = malloc(nx * sizeof(double));
    memcpy(q, p, nx * sizeof(double));
    assert_int_equal(ds_smoother_convolve_grid(sm, q, nx, 1, x0, dx, 0, 0, q), DS_OK);
    double before = 0, after = 0, var = 0;
    for (int64_t i = 0; i < nx; i++) { before += p[i] * dx; after += q[i] * dx; }
    for (int64_t i = 0; i < nx; i++) { double x = x0 + i * dx; var += x * x * q[i] * dx; }
    /* only the tail past the grid edge (7 units = 10 sigma away) is lost: Laplace's
       exp(-7 sqrt(2) / 0.7) / 2 ~ 4e-7 is the largest */
    assert_true(fabs(before - after) < 1e-6);
    /* variance adds: uniform(-1,1) has variance 1/3, plus sigma^2 plus dx^2/12 */
    assert_true(fabs(var / after - (1.0 / 3 + 0.49 + dx * dx / 12)) < 2e-3);
    free(q);
    ds_smoother_free(sm);
  }
  free(p);
  ds_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(one_d_gaussian_mixture),
      cmocka_unit_test(two_d_gaussian_mixture),
      cmocka_unit_test(mass_is_conserved_for_every_family),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
