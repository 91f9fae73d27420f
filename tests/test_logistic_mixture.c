/* Logistic-mixture heads (lib/kernels/logistic_mixture.c): golden values and gradients from
 * a PyTorch reference, gradients against central differences, normalisation (quadrature for
 * the density, sum over bins for the masses), both samplers against the CDF / the masses,
 * extreme parameters, and the same for the RGB joint mixture. The fixtures are read from the
 * directory argv[1], else DS_GOLDEN_DIR (set by tests/CMakeLists.txt). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/philox.h"
#include "kernels/logistic_mixture.h"

#ifndef DS_GOLDEN_DIR
#define DS_GOLDEN_DIR "golden"
#endif

#define KMAX 16
static const char *golden_dir = DS_GOLDEN_DIR;

/* Params with few mantissa bits (multiples of 2^-10), so p +- 2^-20 is exact in float. */
static void quantized_params(float *p, int32_t K, uint64_t seed, float s_lo, float s_hi) {
  for (int32_t k = 0; k < K; k++) {
    double u0 = ds__uniform_at(seed, 1, (uint64_t)k), u1 = ds__uniform_at(seed, 2, (uint64_t)k),
           u2 = ds__uniform_at(seed, 3, (uint64_t)k);
    p[k] = (float)(round((4.0 * u0 - 2.0) * 1024.0) / 1024.0);
    p[K + k] = (float)(round((2.0 * u1 - 1.0) * 1024.0) / 1024.0);
    p[2 * K + k] = (float)(round((s_lo + (s_hi - s_lo) * u2) * 1024.0) / 1024.0);
  }
}

static int close_to(double got, double want, double tol) {
  return fabs(got - want) <= tol * (1.0 + fabs(want));
}

/* ---- golden values ---- */

static double next_num(char **s) {
  char *end;
  double v = strtod(*s, &end);
  if (end == *s) fail_msg("malformed fixture line near '%.20s'", *s);
  *s = end;
  return v;
}

/* Scalar fixture lines: kind K count lo hi x logp p[3K] grad_p[3K] grad_x;
 * RGB lines: kind K count lo hi x[3] logp p[10K] grad_p[10K] grad_x[3]. */
static int check_golden_file(const char *name, int rgb) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", golden_dir, name);
  FILE *f = fopen(path, "r");
  if (!f) fail_msg("cannot open %s", path);
  char line[16384];
  int cases = 0;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#' || line[0] == '\n') continue;
    char kind = line[0], *s = line + 1;
    int32_t K = (int32_t)next_num(&s);
    assert_true(K >= 1 && K <= KMAX);
    ds__bins bins;
    bins.count = (int32_t)next_num(&s);
    bins.lo = (float)next_num(&s);
    bins.hi = (float)next_num(&s);
    int32_t nx = rgb ? 3 : 1, np = rgb ? 10 * K : 3 * K;
    float x[3], p[10 * KMAX], g[10 * KMAX];
    double want_g[10 * KMAX], want_gx[3], gx[3] = {0, 0, 0};
    for (int32_t i = 0; i < nx; i++) x[i] = (float)next_num(&s);
    double want = next_num(&s), got;
    for (int32_t i = 0; i < np; i++) p[i] = (float)next_num(&s);
    for (int32_t i = 0; i < np; i++) want_g[i] = next_num(&s);
    for (int32_t i = 0; i < nx; i++) want_gx[i] = next_num(&s);
    int continuous = kind == 'c' || kind == 'C';
    if (rgb)
      got = ds__mix_rgb_log_prob(p, K, continuous ? NULL : &bins, x, g, gx);
    else if (continuous)
      got = ds__mix_log_density(p, K, x[0], g, gx);
    else
      got = ds__mix_log_mass(p, K, &bins, x[0], g);
    /* measured: log p within 2e-13, gradients within float rounding (6e-8) */
    if (!close_to(got, want, 1e-9))
      fail_msg("%s case %d (%c K=%d): log p %.10g, torch %.10g", name, cases, kind, K, got, want);
    for (int32_t i = 0; i < np; i++)
      if (!close_to(g[i], want_g[i], 1e-6))
        fail_msg("%s case %d (%c K=%d): grad[%d] %.10g, torch %.10g", name, cases, kind, K, i, g[i],
                 want_g[i]);
    for (int32_t i = 0; i < nx && continuous; i++)
      if (!close_to(gx[i], want_gx[i], 1e-6))
        fail_msg("%s case %d: grad_x[%d] %.10g, torch %.10g", name, cases, i, gx[i], want_gx[i]);
    cases++;
  }
  fclose(f);
  return cases;
}

static void golden_values(void **state) {
  (void)state;
  assert_true(check_golden_file("mixture_golden.txt", 0) >= 60);
}

static void golden_values_rgb(void **state) {
  (void)state;
  assert_true(check_golden_file("mixture_rgb_golden.txt", 1) >= 30);
}

/* ---- gradients vs central differences ---- */

typedef struct fd_case {
  const ds__bins *bins; /* NULL: continuous */
  float x;
} fd_case;

static double eval(const float *p, int32_t K, const fd_case *c, float x) {
  return c->bins ? ds__mix_log_mass(p, K, c->bins, x, NULL)
                 : ds__mix_log_density(p, K, x, NULL, NULL);
}

static void check_fd(const float *p0, int32_t K, const fd_case *c) {
  float p[3 * KMAX], g[3 * KMAX];
  memcpy(p, p0, sizeof(float) * 3 * (size_t)K);
  double gx = 0.0;
  double f0 =
      c->bins ? ds__mix_log_mass(p, K, c->bins, c->x, g) : ds__mix_log_density(p, K, c->x, g, &gx);
  assert_true(isfinite(f0));
  const double h = 0x1p-20;
  for (int32_t i = 0; i < 3 * K; i++) {
    float keep = p[i], up = (float)(keep + h), dn = (float)(keep - h);
    p[i] = up;
    double fu = eval(p, K, c, c->x);
    p[i] = dn;
    double fdn = eval(p, K, c, c->x);
    p[i] = keep;
    double fd = (fu - fdn) / ((double)up - (double)dn);
    if (i >= 2 * K && keep < DS__MIX_LOG_SCALE_MIN) assert_true(g[i] == 0.0f); /* clamped */
    if (!close_to(g[i], fd, 2e-5))
      fail_msg("%s K=%d x=%g: grad[%d] %.10g, central difference %.10g",
               c->bins ? "mass" : "density", K, c->x, i, g[i], fd);
  }
  if (!c->bins) {
    double hx = fmax(h, fabs(c->x) * 0x1p-20); /* x +- h must move in float */
    float up = (float)(c->x + hx), dn = (float)(c->x - hx);
    double fd = (eval(p, K, c, up) - eval(p, K, c, dn)) / ((double)up - (double)dn);
    if (!close_to(gx, fd, 2e-5)) fail_msg("K=%d x=%g: grad_x %.10g, fd %.10g", K, c->x, gx, fd);
  }
}

static void gradients_continuous(void **state) {
  (void)state;
  const float xs[] = {-0.7f, 0.0f, 0.3125f, 1.5f, -4.0f, 12.0f, -30.0f};
  float p[3 * KMAX];
  for (int32_t K = 1; K <= 6; K += 5)
    for (int variant = 0; variant < 3; variant++) {
      /* variant 1: small scales; variant 2: some log-scales clamped at -7 */
      float s_lo = variant == 0 ? -2.0f : variant == 1 ? -6.5f : -9.0f;
      float s_hi = variant == 0 ? 1.0f : variant == 1 ? -5.0f : -5.0f;
      quantized_params(p, K, (uint64_t)(100 + 10 * K + variant), s_lo, s_hi);
      for (size_t j = 0; j < sizeof xs / sizeof xs[0]; j++) {
        fd_case c = {NULL, xs[j]};
        check_fd(p, K, &c);
      }
    }
}

static void gradients_discretized(void **state) {
  (void)state;
  const ds__bins b8 = {256, -1.0f, 1.0f}, b5 = {5, -2.0f, 2.0f};
  /* edge bins, neighbours of the edges, the middle, off-centre x, outside the range */
  const float x8[] = {-1.0f, -0.99f, -0.5f, 0.0f, 0.25f, 0.99f, 1.0f, 3.0f};
  const float x5[] = {-5.0f, -1.0f, 0.2f, 1.1f, 2.0f};
  float p[3 * KMAX];
  for (int32_t K = 1; K <= 6; K += 5)
    for (int variant = 0; variant < 3; variant++) {
      float s_lo = variant == 0 ? -3.0f : variant == 1 ? -6.5f : -9.0f;
      float s_hi = variant == 0 ? 0.5f : variant == 1 ? -4.5f : -5.0f;
      quantized_params(p, K, (uint64_t)(200 + 10 * K + variant), s_lo, s_hi);
      for (size_t j = 0; j < sizeof x8 / sizeof x8[0]; j++) {
        fd_case c = {&b8, x8[j]};
        check_fd(p, K, &c);
      }
      for (size_t j = 0; j < sizeof x5 / sizeof x5[0]; j++) {
        fd_case c = {&b5, x5[j]};
        check_fd(p, K, &c);
      }
    }
}

/* The pdf * width branch: a bin far from a narrow component (CDF difference < 1e-5). */
static void fallback_branch_is_used_and_differentiable(void **state) {
  (void)state;
  const ds__bins b8 = {256, -1.0f, 1.0f};
  float p[3] = {0.0f, 0.75f, -5.0f}; /* scale 0.0067: bin at -0.5 is 186 scales away */
  double lm = ds__mix_log_mass(p, 1, &b8, -0.5f, NULL);
  double lp =
      ds__mix_log_density(p, 1, ds__bins_centre(&b8, ds__bins_index(&b8, -0.5f)), NULL, NULL);
  /* the density is evaluated at the float centre, the mass at the exact one */
  assert_true(close_to(lm, lp + log(2.0 / 255.0), 1e-7));
  assert_true(lm < log(1e-5) && isfinite(lm));
  fd_case c = {&b8, -0.5f};
  check_fd(p, 1, &c);
}

/* ---- normalisation ---- */

static void density_integrates_to_one(void **state) {
  (void)state;
  float p[3 * KMAX];
  for (int32_t K = 1; K <= 5; K += 2) {
    quantized_params(p, K, (uint64_t)(300 + K), -3.0f, 0.5f);
    double smin = INFINITY, smax = 0, mlo = INFINITY, mhi = -INFINITY;
    for (int32_t k = 0; k < K; k++) {
      double s = exp(fmax(p[2 * K + k], DS__MIX_LOG_SCALE_MIN));
      smin = fmin(smin, s);
      smax = fmax(smax, s);
      mlo = fmin(mlo, p[K + k]);
      mhi = fmax(mhi, p[K + k]);
    }
    /* trapezoid over +-45 scales: spectrally accurate for a smooth, decaying integrand */
    double a = mlo - 45 * smax, b = mhi + 45 * smax, step = smin / 16;
    int64_t n = (int64_t)ceil((b - a) / step);
    step = (b - a) / (double)n;
    double sum = 0;
    for (int64_t i = 0; i <= n; i++) {
      double w = (i == 0 || i == n) ? 0.5 : 1.0;
      sum += w * exp(ds__mix_log_density(p, K, (float)(a + (double)i * step), NULL, NULL));
    }
    /* x is rounded to float, so the nodes are not exactly equispaced: tolerance 1e-5 */
    assert_true(fabs(sum * step - 1.0) < 1e-5);
    /* and the CDF is the density's antiderivative */
    for (float x = -1.0f; x <= 1.0f; x += 0.375f) {
      double hh = 1e-4, d = (ds__mix_cdf(p, K, x + (float)hh) - ds__mix_cdf(p, K, x - (float)hh)) /
                            ((double)(x + (float)hh) - (double)(x - (float)hh));
      assert_true(close_to(d, exp(ds__mix_log_density(p, K, x, NULL, NULL)), 1e-4));
    }
  }
}

static double mass_sum(const float *p, int32_t K, const ds__bins *bins, int *interior_exact) {
  double sum = 0;
  double step = ((double)bins->hi - bins->lo) / (bins->count - 1);
  *interior_exact = 1;
  for (int32_t b = 0; b < bins->count; b++) {
    float c = ds__bins_centre(bins, b);
    assert_int_equal(ds__bins_index(bins, c), b);
    double m = exp(ds__mix_log_mass(p, K, bins, c, NULL));
    sum += m;
    /* where no component falls back, the mass is the CDF difference at the bin edges */
    double up =
        b == bins->count - 1 ? 1.0 : ds__mix_cdf(p, K, (float)(bins->lo + (b + 0.5) * step));
    double dn = b == 0 ? 0.0 : ds__mix_cdf(p, K, (float)(bins->lo + (b - 0.5) * step));
    if (up - dn > 1e-3 && !close_to(m, up - dn, 1e-6)) *interior_exact = 0;
  }
  return sum;
}

static void masses_sum_to_one(void **state) {
  (void)state;
  const ds__bins b8 = {256, -1.0f, 1.0f}, b5 = {5, -2.0f, 2.0f}, b2 = {2, 0.0f, 1.0f};
  float p[3 * KMAX];
  int exact;
  for (int32_t K = 1; K <= 10; K += 3) {
    quantized_params(p, K, (uint64_t)(400 + K), -4.0f, 0.0f);
    assert_true(fabs(mass_sum(p, K, &b8, &exact) - 1.0) < 1e-6);
    assert_true(exact);
    quantized_params(p, K, (uint64_t)(500 + K), -1.0f, 0.5f);
    assert_true(fabs(mass_sum(p, K, &b5, &exact) - 1.0) < 1e-6);
    assert_true(exact);
    assert_true(fabs(mass_sum(p, K, &b2, &exact) - 1.0) < 1e-12); /* two open edge bins */
  }
  /* narrow components: many bins use pdf * width, still nearly normalised */
  quantized_params(p, 3, 600, -8.0f, -5.0f);
  assert_true(fabs(mass_sum(p, 3, &b8, &exact) - 1.0) < 1e-4);
}

/* ---- sampling ---- */

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

#define NS 100000

static void draw(const float *p, int32_t K, const ds__bins *bins, int32_t method, uint64_t seed,
                 float *out, int32_t n) {
  int32_t nu = ds__mix_uniforms_needed(K, method);
  double u[KMAX + 1];
  for (int32_t i = 0; i < n; i++) {
    for (int32_t j = 0; j < nu; j++)
      u[j] = ds__uniform_at(seed, DS__STREAM_SAMPLE, (uint64_t)i * (uint64_t)nu + (uint64_t)j);
    out[i] = ds__mix_sample(p, K, bins, method, u);
  }
}

static void sampler_matches_cdf(void **state) {
  (void)state;
  assert_int_equal(ds__mix_uniforms_needed(7, DS__MIX_SAMPLE_BISECT), 1);
  assert_int_equal(ds__mix_uniforms_needed(7, DS__MIX_SAMPLE_GUMBEL), 8);
  float *x = malloc(NS * sizeof(float));
  float p[3 * KMAX];
  for (int32_t K = 1; K <= 5; K += 4)
    for (int32_t method = 0; method < 2; method++) {
      quantized_params(p, K, (uint64_t)(700 + K), -3.0f, 0.0f);
      draw(p, K, NULL, method, 42, x, NS);
      qsort(x, NS, sizeof(float), cmp_float);
      double d = 0;
      for (int32_t i = 0; i < NS; i++) {
        assert_true(isfinite(x[i]));
        double f = ds__mix_cdf(p, K, x[i]);
        d = fmax(d, fmax(f - (double)i / NS, (double)(i + 1) / NS - f));
      }
      if (!(d < 1.95 / sqrt(NS))) fail_msg("K=%d method %d: KS D = %g", K, method, d);
    }
  free(x);
}

/* Oracle for the upper tail, where 1 - F cancels: S(x) = sum_k pi_k sigmoid(-z_k). */
static double survival(const float *p, int32_t K, float x) {
  double m = -INFINITY, z = 0, s = 0;
  for (int32_t k = 0; k < K; k++) m = fmax(m, p[k]);
  for (int32_t k = 0; k < K; k++) z += exp(p[k] - m);
  for (int32_t k = 0; k < K; k++) {
    double t = ((double)x - p[K + k]) * exp(-fmax(p[2 * K + k], DS__MIX_LOG_SCALE_MIN));
    s += exp(p[k] - m) / z / (1.0 + exp(t));
  }
  return s;
}

/* Bisection inverts the CDF to float precision, deep in both tails too. */
static void bisection_inverts_cdf(void **state) {
  (void)state;
  float p[3 * KMAX];
  quantized_params(p, 4, 800, -6.0f, 1.0f);
  const double us[] = {1e-15, 1e-9, 0.01, 0.3, 0.5, 0.77, 0.999, 1.0 - 1e-9, 1.0 - 1e-14};
  for (size_t i = 0; i < sizeof us / sizeof us[0]; i++) {
    float x = ds__mix_sample(p, 4, NULL, DS__MIX_SAMPLE_BISECT, &us[i]);
    /* x is the float nearest the quantile: u lies between the CDF at its neighbours */
    float below = nextafterf(x, -INFINITY), above = nextafterf(x, INFINITY);
    int ok = us[i] <= 0.5
                 ? ds__mix_cdf(p, 4, below) <= us[i] && us[i] <= ds__mix_cdf(p, 4, above)
                 : survival(p, 4, above) <= 1.0 - us[i] && 1.0 - us[i] <= survival(p, 4, below);
    if (!ok) fail_msg("u=%.17g: x=%g not the float quantile", us[i], x);
  }
}

static void discrete_check(const float *p, int32_t K, const ds__bins *bins, int32_t method) {
  int32_t *n = calloc((size_t)bins->count, sizeof(int32_t));
  float *x = malloc(NS * sizeof(float));
  draw(p, K, bins, method, 7, x, NS);
  for (int32_t i = 0; i < NS; i++) {
    int32_t b = ds__bins_index(bins, x[i]);
    assert_true(b >= 0 && x[i] == ds__bins_centre(bins, b)); /* a bin centre */
    n[b]++;
  }
  /* chi-square over bins expecting >= 5 (the rest pooled), bound df + 6 sd */
  double chi = 0, rest_e = 0, rest_n = 0;
  int df = 0;
  for (int32_t b = 0; b < bins->count; b++) {
    double e = NS * exp(ds__mix_log_mass(p, K, bins, ds__bins_centre(bins, b), NULL));
    if (e < 5) {
      rest_e += e;
      rest_n += n[b];
      continue;
    }
    chi += (n[b] - e) * (n[b] - e) / e;
    df++;
  }
  if (rest_e >= 5) {
    chi += (rest_n - rest_e) * (rest_n - rest_e) / rest_e;
    df++;
  } else {
    assert_true(rest_n <= 20);
  }
  df -= 1;
  if (!(chi < df + 6 * sqrt(2.0 * df)))
    fail_msg("count %d method %d: chi2 %g with %d df", bins->count, method, chi, df);
  free(x);
  free(n);
}

static void discretized_sampling_matches_masses(void **state) {
  (void)state;
  const ds__bins b8 = {256, -1.0f, 1.0f}, b5 = {5, -2.0f, 2.0f};
  float p[3 * KMAX];
  for (int32_t method = 0; method < 2; method++) {
    quantized_params(p, 3, 900, -3.0f, -0.5f);
    discrete_check(p, 3, &b8, method);
    quantized_params(p, 4, 901, -1.5f, 0.5f);
    discrete_check(p, 4, &b5, method);
  }
}

/* Bisection's bin is exact: F(upper edge of b-1) < u <= F(upper edge of b). */
static void bisection_bin_is_exact(void **state) {
  (void)state;
  const ds__bins b8 = {256, -1.0f, 1.0f};
  float p[3 * KMAX];
  quantized_params(p, 3, 950, -5.0f, -1.0f);
  for (int i = 0; i < 2000; i++) {
    double u = ds__uniform_at(3, DS__STREAM_SAMPLE, (uint64_t)i);
    int32_t b = ds__bins_index(&b8, ds__mix_sample(p, 3, &b8, DS__MIX_SAMPLE_BISECT, &u));
    double step = 2.0 / 255.0;
    double up = b == 255 ? 1.0 : ds__mix_cdf(p, 3, (float)(-1.0 + (b + 0.5) * step));
    double dn = b == 0 ? 0.0 : ds__mix_cdf(p, 3, (float)(-1.0 + (b - 0.5) * step));
    /* the sampler uses the edges in double, the check rounds them to float */
    assert_true(dn - 1e-6 <= u && u <= up + 1e-6);
  }
}

/* ---- extremes ---- */

static void assert_all_finite(const float *g, int32_t n) {
  for (int32_t i = 0; i < n; i++) assert_true(isfinite(g[i]));
}

static void extreme_parameters_stay_finite(void **state) {
  (void)state;
  const ds__bins b8 = {256, -1.0f, 1.0f}, b5 = {5, -2.0f, 2.0f};
  /* logits up to FLT_MAX, log-scales -20 (clamped) and +10, means far apart */
  const float ps[][9] = {
      {FLT_MAX, -FLT_MAX, 0.0f, 0.0f, 0.5f, -0.5f, -20.0f, -20.0f, -20.0f},
      {1e30f, 1e30f, -1e30f, 1e3f, -1e3f, 0.0f, 10.0f, -20.0f, 0.0f},
      {0.0f, 50.0f, -50.0f, 0.999f, -0.999f, 1.0f, -20.0f, -7.0f, -6.99f},
      {-88.0f, -104.0f, 88.0f, 1e20f, -1e20f, 1e-30f, -20.0f, 3.0f, -20.0f},
  };
  const float xs[] = {0.0f, -1.0f, 1.0f, 0.5f, 1e6f, -1e6f, 1e30f, -FLT_MAX, FLT_MAX};
  float g[9];
  for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
    for (size_t j = 0; j < sizeof xs / sizeof xs[0]; j++) {
      double gx;
      double l = ds__mix_log_density(ps[i], 3, xs[j], g, &gx);
      assert_true(isfinite(l) && l <= 3 * 7.0 + 1);
      assert_all_finite(g, 9);
      assert_true(isfinite(gx));
      l = ds__mix_log_mass(ps[i], 3, &b8, xs[j], g);
      assert_true(isfinite(l) && l <= 1e-12);
      assert_all_finite(g, 9);
      l = ds__mix_log_mass(ps[i], 3, &b5, xs[j], g);
      assert_true(isfinite(l) && l <= 1e-12);
      assert_all_finite(g, 9);
      double c = ds__mix_cdf(ps[i], 3, xs[j]);
      assert_true(c >= 0.0 && c <= 1.0);
    }
    double u[4] = {1e-16, 0.5, 0.999999, 1.0 - 1e-16};
    for (int m = 0; m < 2; m++)
      for (int k = 0; k < 4; k++) {
        double uu[4] = {u[k], u[(k + 1) % 4], u[(k + 2) % 4], u[(k + 3) % 4]};
        assert_true(isfinite(ds__mix_sample(ps[i], 3, NULL, m, uu)));
        float s = ds__mix_sample(ps[i], 3, &b8, m, uu);
        assert_true(s >= -1.0f && s <= 1.0f);
      }
  }
  /* a NaN observation is reported, not hidden in a bin */
  assert_true(isnan(ds__mix_log_mass(ps[0], 3, &b8, NAN, g)));
  assert_int_equal(ds__bins_index(&b8, NAN), -1);
}

/* ---- RGB joint mixture ---- */

static void rgb_params(float *p, int32_t K, uint64_t seed, float s_lo, float s_hi) {
  for (int32_t i = 0; i < 10 * K; i++) {
    double u = ds__uniform_at(seed, 9, (uint64_t)i);
    int32_t blk = i < K ? -1 : (i - K) % (3 * K) / K; /* -1 logits, 0 means, 1 scales, 2 coeffs */
    double v = blk == -1  ? 4.0 * u - 2.0
               : blk == 0 ? 2.0 * u - 1.0
               : blk == 1 ? s_lo + (s_hi - s_lo) * u
                          : 3.0 * u - 1.5;
    p[i] = (float)(round(v * 1024.0) / 1024.0);
  }
}

static double rgb_eval(const float *p, int32_t K, const ds__bins *bins, const float *x) {
  return ds__mix_rgb_log_prob(p, K, bins, x, NULL, NULL);
}

static void rgb_gradients(void **state) {
  (void)state;
  const ds__bins b8 = {256, -1.0f, 1.0f};
  const float xs[][3] = {{-0.25f, 0.5f, 0.125f}, {-1.0f, 1.0f, 0.0f}, {0.75f, -0.875f, 3.0f}};
  float p[10 * KMAX], g[10 * KMAX];
  for (int32_t K = 1; K <= 4; K += 3)
    for (int variant = 0; variant < 2; variant++)
      for (int disc = 0; disc < 2; disc++)
        for (size_t j = 0; j < sizeof xs / sizeof xs[0]; j++) {
          const ds__bins *bins = disc ? &b8 : NULL;
          rgb_params(p, K, (uint64_t)(1000 + 10 * K + variant), variant ? -8.5f : -3.0f,
                     variant ? -5.0f : 0.5f);
          float x[3] = {xs[j][0], xs[j][1], xs[j][2]};
          double gx[3];
          assert_true(isfinite(ds__mix_rgb_log_prob(p, K, bins, x, g, gx)));
          const double h = 0x1p-20;
          for (int32_t i = 0; i < 10 * K; i++) {
            float keep = p[i], up = (float)(keep + h), dn = (float)(keep - h);
            p[i] = up;
            double fu = rgb_eval(p, K, bins, x);
            p[i] = dn;
            double fd = (fu - rgb_eval(p, K, bins, x)) / ((double)up - (double)dn);
            p[i] = keep;
            if (!close_to(g[i], fd, 2e-5))
              fail_msg("rgb K=%d disc=%d x#%zu: grad[%d] %.10g, fd %.10g", K, disc, j, i, g[i], fd);
          }
          for (int c = 0; c < 3; c++) {
            float keep = x[c], up = (float)(keep + h), dn = (float)(keep - h);
            x[c] = up;
            double fu = rgb_eval(p, K, bins, x);
            x[c] = dn;
            double fd = disc ? 0.0 : (fu - rgb_eval(p, K, bins, x)) / ((double)up - (double)dn);
            x[c] = keep;
            if (!close_to(gx[c], fd, 2e-5))
              fail_msg("rgb K=%d disc=%d: grad_x[%d] %.10g, fd %.10g", K, disc, c, gx[c], fd);
          }
        }
}

/* One component: the joint is the product of the three scalar conditionals. */
static void rgb_single_component_factorises(void **state) {
  (void)state;
  const ds__bins b8 = {256, -1.0f, 1.0f};
  float p[10];
  rgb_params(p, 1, 1100, -4.0f, 0.0f);
  const float x[3] = {0.2f, -0.6f, 0.9f};
  for (int disc = 0; disc < 2; disc++) {
    double xv[3], sum = 0;
    for (int c = 0; c < 3; c++)
      xv[c] = disc ? ds__bins_centre(&b8, ds__bins_index(&b8, x[c])) : x[c];
    double mu[3] = {p[1], p[4] + tanh(p[3]) * xv[0],
                    p[7] + tanh(p[6]) * xv[0] + tanh(p[9]) * xv[1]};
    for (int c = 0; c < 3; c++) {
      /* scalar params {logit, mean, log-scale}; shift x instead of rounding the mean to float */
      float q[3] = {0.0f, 0.0f, p[2 + 3 * c]};
      float xc = (float)(xv[c] - mu[c]);
      if (disc) {
        ds__bins shifted = {256, (float)(-1.0 - mu[c]), (float)(1.0 - mu[c])};
        sum += ds__mix_log_mass(q, 1, &shifted, xc, NULL);
      } else {
        sum += ds__mix_log_density(q, 1, xc, NULL, NULL);
      }
    }
    assert_true(close_to(ds__mix_rgb_log_prob(p, 1, disc ? &b8 : NULL, x, NULL, NULL), sum, 1e-5));
  }
}

/* Over a 5-level grid the 125 joint masses sum to 1 and both samplers hit them. */
static void rgb_masses_and_sampling(void **state) {
  (void)state;
  const ds__bins b5 = {5, -1.0f, 1.0f};
  enum { K = 3, CELLS = 125, N = 60000 };
  float p[10 * K];
  rgb_params(p, K, 1200, -1.5f, 0.0f);
  double mass[CELLS], sum = 0;
  for (int i = 0; i < CELLS; i++) {
    float x[3] = {ds__bins_centre(&b5, i / 25), ds__bins_centre(&b5, i / 5 % 5),
                  ds__bins_centre(&b5, i % 5)};
    mass[i] = exp(ds__mix_rgb_log_prob(p, K, &b5, x, NULL, NULL));
    sum += mass[i];
  }
  assert_true(fabs(sum - 1.0) < 1e-6);
  assert_int_equal(ds__mix_rgb_uniforms_needed(K, DS__MIX_SAMPLE_BISECT), 3);
  assert_int_equal(ds__mix_rgb_uniforms_needed(K, DS__MIX_SAMPLE_GUMBEL), K + 3);
  for (int32_t method = 0; method < 2; method++) {
    int32_t nu = ds__mix_rgb_uniforms_needed(K, method), n[CELLS] = {0};
    for (int32_t s = 0; s < N; s++) {
      double u[K + 3];
      float x[3];
      for (int32_t j = 0; j < nu; j++)
        u[j] = ds__uniform_at(11, DS__STREAM_SAMPLE, (uint64_t)s * (uint64_t)nu + (uint64_t)j);
      ds__mix_rgb_sample(p, K, &b5, method, u, x);
      int32_t cell = 0;
      for (int c = 0; c < 3; c++) {
        int32_t b = ds__bins_index(&b5, x[c]);
        assert_true(b >= 0 && x[c] == ds__bins_centre(&b5, b));
        cell = cell * 5 + b;
      }
      n[cell]++;
    }
    double chi = 0, rest_e = 0, rest_n = 0;
    int df = -1;
    for (int i = 0; i < CELLS; i++) {
      double e = N * mass[i];
      if (e < 5) {
        rest_e += e;
        rest_n += n[i];
      } else {
        chi += (n[i] - e) * (n[i] - e) / e;
        df++;
      }
    }
    if (rest_e >= 5) {
      chi += (rest_n - rest_e) * (rest_n - rest_e) / rest_e;
      df++;
    }
    if (!(chi < df + 6 * sqrt(2.0 * df)))
      fail_msg("rgb method %d: chi2 %g, %d df", method, chi, df);
  }
}

/* Continuous RGB samples: R's marginal is the scalar mixture of R's parameters. */
static void rgb_continuous_red_marginal(void **state) {
  (void)state;
  enum { K = 4 };
  float p[10 * K], q[3 * K];
  rgb_params(p, K, 1300, -3.0f, 0.0f);
  for (int32_t k = 0; k < K; k++) {
    q[k] = p[k];
    q[K + k] = p[K + k];
    q[2 * K + k] = p[2 * K + k];
  }
  float *r = malloc(NS * sizeof(float));
  for (int32_t method = 0; method < 2; method++) {
    int32_t nu = ds__mix_rgb_uniforms_needed(K, method);
    for (int32_t s = 0; s < NS; s++) {
      double u[K + 3];
      float x[3];
      for (int32_t j = 0; j < nu; j++)
        u[j] = ds__uniform_at(12, DS__STREAM_SAMPLE, (uint64_t)s * (uint64_t)nu + (uint64_t)j);
      ds__mix_rgb_sample(p, K, NULL, method, u, x);
      assert_true(isfinite(x[0]) && isfinite(x[1]) && isfinite(x[2]));
      r[s] = x[0];
    }
    qsort(r, NS, sizeof(float), cmp_float);
    double d = 0;
    for (int32_t i = 0; i < NS; i++) {
      double f = ds__mix_cdf(q, K, r[i]);
      d = fmax(d, fmax(f - (double)i / NS, (double)(i + 1) / NS - f));
    }
    if (!(d < 1.95 / sqrt(NS))) fail_msg("rgb method %d: KS D of R = %g", method, d);
  }
  free(r);
}

int main(int argc, char **argv) {
  if (argc > 1) golden_dir = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(golden_values),
      cmocka_unit_test(gradients_continuous),
      cmocka_unit_test(gradients_discretized),
      cmocka_unit_test(fallback_branch_is_used_and_differentiable),
      cmocka_unit_test(density_integrates_to_one),
      cmocka_unit_test(masses_sum_to_one),
      cmocka_unit_test(sampler_matches_cdf),
      cmocka_unit_test(bisection_inverts_cdf),
      cmocka_unit_test(discretized_sampling_matches_masses),
      cmocka_unit_test(bisection_bin_is_exact),
      cmocka_unit_test(extreme_parameters_stay_finite),
      cmocka_unit_test(golden_values_rgb),
      cmocka_unit_test(rgb_gradients),
      cmocka_unit_test(rgb_single_component_factorises),
      cmocka_unit_test(rgb_masses_and_sampling),
      cmocka_unit_test(rgb_continuous_red_marginal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
