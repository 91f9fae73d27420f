/* two_stage_demo: the paper's 2-D experiment end to end (Meng et al., ICLR 2021).
 *
 *   two_stage_demo [options]      (two_stage_demo --help lists them with their defaults)
 *
 * Trains three MADE models of the same size (2 hidden layers, K-component logistic-mixture
 * conditionals, Adam, cosine learning rate):
 *   (a) direct   p(x)        on the clean data,
 *   (b) stage 1  p(x~)       on x~ = x + N(0, sigma^2 I), fresh noise every minibatch,
 *   (c) stage 2  p(x | x~)   conditional model (C = D) on pairs made on the fly.
 * Then prints
 *   - test NLL (nats): direct vs the two-stage importance-weighted bound (K = 1, 100) and
 *     quadrature over a grid of x~ (on the first --grid-n test points);
 *   - sample quality against fresh data: unbiased MMD^2 (RBF kernel exp(-|a-b|^2 / (2 h^2)),
 *     h = 0.2, 2000 vs 2000 points), total variation between 2-D histograms (40 x 40 bins on
 *     [-4.5, 4.5]^2 plus one bin for everything outside, --n-samples points each) and, for
 *     checkerboard, the fraction of samples inside the squares;
 *   - the single-step denoisers' mean squared error per dimension to the clean test points.
 * and writes one PNG: data | direct | stage 1 | stage 1 + gradient denoiser | two-stage
 * (2-D histograms of --n-samples points on [-4.5, 4.5]^2, each panel scaled to its own maximum).
 * Every number and the picture are a pure function of the flags (bit for bit, any thread
 * count); only the timings vary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datasets.h"
#include "example_util.h"
#include "dsmooth.h"
#include "args.h"
#include "figures.h"

#define BOX 4.5        /* histograms, TV and the picture cover [-BOX, BOX]^2 */
#define TV_BINS 40
#define FIG_BINS 120
#define MMD_N 2000
#define MMD_BANDWIDTH 0.2
#define ORACLE_N 400000
#define ORACLE_BINS 260
#define ORACLE_HALF 6.5

typedef struct options {
  const char *dataset, *out;
  double sigma, lr, grid_box;
  int components, hidden, threads, grid_points, png_scale, quiet;
  int64_t steps, batch, n_train, n_test, n_samples, grid_n;
  uint64_t seed;
} options;

static ds_context *g_ctx;

#define PROGRAM "two_stage_demo"
#define CHECK(call) example_check(PROGRAM, g_ctx, (call), #call)

/* Seeds of the example's own data draws: one independent stream per role. */
enum { ROLE_TRAIN = 1, ROLE_TEST = 2, ROLE_FRESH = 3, ROLE_FRESH2 = 4, ROLE_ORACLE = 5 };
static uint64_t data_seed(uint64_t seed, int role) { return seed * 1000003ull + (uint64_t)role; }

/* ---- training ------------------------------------------------------------------------ */

static ds_model *make_model(int64_t dim, int64_t cond_dim, const options *o) {
  ds_model_config *cfg = NULL;
  ds_model *m = NULL;
  int64_t widths[2] = {o->hidden, o->hidden};
  CHECK(ds_model_config_create(DS_ARCH_MADE, &cfg));
  CHECK(ds_model_config_set_int(cfg, DS_MODEL_DIM, dim));
  CHECK(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, cond_dim));
  CHECK(ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, o->components));
  CHECK(ds_model_config_set_hidden(cfg, widths, 2));
  CHECK(ds_model_create(g_ctx, cfg, &m));
  ds_model_config_free(cfg);
  return m;
}

/* Train `m` for o->steps steps (smoother NULL: direct; given: stage 1 or stage 2). */
static double train(ds_model *m, const ds_smoother *sm, const float *x, const options *o,
                  const char *name) {
  return example_train(PROGRAM, g_ctx, m, sm, x, o->n_train, o->steps, o->batch, o->lr, name, 8,
                       o->quiet ? 0 : 50);
}

/* ---- sample quality ------------------------------------------------------------------ */

/* Sum of k(a_i, b_j) over all pairs (excluding i == j when `same`), RBF kernel. */
static double kernel_sum(const float *a, int64_t na, const float *b, int64_t nb, int same) {
  const double inv = 1.0 / (2.0 * MMD_BANDWIDTH * MMD_BANDWIDTH);
  double total = 0.0;
  for (int64_t i = 0; i < na; i++) {
    double row = 0.0;
    for (int64_t j = 0; j < nb; j++) {
      if (same && i == j) continue;
      double dx = (double)a[2 * i] - b[2 * j], dy = (double)a[2 * i + 1] - b[2 * j + 1];
      row += exp(-(dx * dx + dy * dy) * inv);
    }
    total += row;
  }
  return total;
}

/* Unbiased MMD^2 between the first MMD_N points of a and of b; kbb = kernel_sum(b, b). */
static double mmd2(const float *a, const float *b, double kbb) {
  double m = MMD_N;
  double kaa = kernel_sum(a, MMD_N, a, MMD_N, 1), kab = kernel_sum(a, MMD_N, b, MMD_N, 0);
  return kaa / (m * (m - 1)) + kbb / (m * (m - 1)) - 2.0 * kab / (m * m);
}

/* Probability histogram on TV_BINS^2 cells of [-BOX, BOX]^2 plus one outside cell. */
static void tv_histogram(const float *x, int64_t n, double *h) {
  memset(h, 0, sizeof(double) * (TV_BINS * TV_BINS + 1));
  double d = 2 * BOX / TV_BINS;
  for (int64_t k = 0; k < n; k++) {
    double i = floor((x[2 * k] + BOX) / d), j = floor((x[2 * k + 1] + BOX) / d);
    if (i >= 0 && i < TV_BINS && j >= 0 && j < TV_BINS) h[(int)j * TV_BINS + (int)i] += 1.0 / (double)n;
    else h[TV_BINS * TV_BINS] += 1.0 / (double)n;
  }
}

static double total_variation(const double *p, const double *q) {
  double tv = 0;
  for (int k = 0; k <= TV_BINS * TV_BINS; k++) tv += fabs(p[k] - q[k]);
  return 0.5 * tv;
}

/* Checkerboard squares (see datasets.c): inside [-4, 4)^2 with floor(x/2) + floor(y/2) even. */
static double fraction_in_squares(const float *x, int64_t n) {
  int64_t in = 0;
  for (int64_t k = 0; k < n; k++) {
    double a = x[2 * k], b = x[2 * k + 1];
    if (a < -4 || a >= 4 || b < -4 || b >= 4) continue;
    long s = (long)floor(a / 2) + (long)floor(b / 2);
    if (s % 2 == 0) in++;
  }
  return (double)in / (double)n;
}

/* ---- the oracle denoiser: E[x | x~] of the true data, from a fine data histogram ------ */

static void oracle_posterior_mean(const ds_smoother *sm, const options *o, double *post) {
  int64_t n = ORACLE_N;
  float *x = example_xmalloc(PROGRAM, sizeof(float) * 2 * (size_t)n);
  double *h = example_xmalloc(PROGRAM, sizeof(double) * ORACLE_BINS * ORACLE_BINS);
  double d = 2 * ORACLE_HALF / ORACLE_BINS, lo = -ORACLE_HALF + d / 2;
  dataset_generate(o->dataset, n, data_seed(o->seed, ROLE_ORACLE), x);
  memset(h, 0, sizeof(double) * ORACLE_BINS * ORACLE_BINS);
  for (int64_t k = 0; k < n; k++) {
    int i = (int)floor((x[2 * k] + ORACLE_HALF) / d), j = (int)floor((x[2 * k + 1] + ORACLE_HALF) / d);
    if (i >= 0 && i < ORACLE_BINS && j >= 0 && j < ORACLE_BINS) h[j * ORACLE_BINS + i] += 1.0 / ((double)n * d * d);
  }
  CHECK(ds_smoother_grid_posterior_mean(sm, h, ORACLE_BINS, ORACLE_BINS, lo, d, lo, d, post));
  free(x);
  free(h);
}

/* Mean squared error per dimension of denoised points against the clean ones. */
static double mse_per_dim(const float *a, const float *b, int64_t n) {
  double s = 0;
  for (int64_t k = 0; k < 2 * n; k++) s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
  return s / (2.0 * (double)n);
}

static double mean(const double *v, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += v[i];
  return s / (double)n;
}

int main(int argc, char **argv) {
  options o = {"2spirals", "two_stage_demo.png", 0.5, 1e-3, 6.5, 3, 64, 0, 64, 2, 0,
               4000, 512, 20000, 2000, 20000, 100, 1};
  char datasets[160];
  snprintf(datasets, sizeof datasets, "2-D data set: %s", dataset_names());
  const arg_spec specs[] = {
      {"dataset", ARG_STRING, &o.dataset, "NAME", datasets, 0, 0, 0, NULL},
      {"sigma", ARG_DOUBLE, &o.sigma, "S", "standard deviation of the Gaussian smoothing noise",
       0, 1e30, 1, NULL},
      {"components", ARG_INT32, &o.components, "K", "logistic-mixture components per conditional",
       1, 256, 0, NULL},
      {"hidden", ARG_INT32, &o.hidden, "H", "width of the two hidden layers of every MADE", 1,
       65536, 0, NULL},
      {"steps", ARG_INT, &o.steps, "N", "Adam steps per model", 1, 1e12, 0, NULL},
      {"batch", ARG_INT, &o.batch, "B", "examples per step (at most --n-train)", 1, 1 << 20, 0, NULL},
      {"lr", ARG_DOUBLE, &o.lr, "LR", "peak learning rate of the cosine schedule", 0, 1e6, 1, NULL},
      {"seed", ARG_UINT64, &o.seed, "S", "seed of the data, the weights and the noise", 0, 0, 0, NULL},
      {"threads", ARG_INT32, &o.threads, "T", "worker threads; 0 = all online cores (results "
       "do not depend on it)", 0, DS_MAX_THREADS, 0, NULL},
      {"out", ARG_STRING, &o.out, "PNG", "the figure: data | direct | stage 1 | stage 1 + "
       "gradient denoiser | two-stage", 0, 0, 0, NULL},
      {"n-train", ARG_INT, &o.n_train, "N", "training points", 1, 1e9, 0, NULL},
      {"n-test", ARG_INT, &o.n_test, "N", "test points", 1, 1e9, 0, NULL},
      {"n-samples", ARG_INT, &o.n_samples, "N", "samples per method for MMD, TV and the figure "
       "(at least 2000)", MMD_N, 1e9, 0, NULL},
      {"grid-n", ARG_INT, &o.grid_n, "N", "test points whose likelihood is also computed by "
       "quadrature (0 = none)", 0, 1e9, 0, NULL},
      {"grid-points", ARG_INT32, &o.grid_points, "P", "quadrature points per dimension", 2,
       100000, 0, NULL},
      {"grid-box", ARG_DOUBLE, &o.grid_box, "A", "the quadrature covers [-A, A]^2", 0, 1e6, 1, NULL},
      {"png-scale", ARG_INT32, &o.png_scale, "S", "pixels per histogram bin in the figure", 1,
       16, 0, NULL},
      {"quiet", ARG_FLAG, &o.quiet, NULL, "no training progress", 0, 0, 0, NULL},
  };
  const arg_parser ap = {
      PROGRAM, "[options]",
      "The paper's 2-D experiment: trains a direct MADE p(x), stage 1 p(x~) on smoothed data "
      "and stage 2 p(x | x~), then prints test NLL (direct, the two-stage bound with K = 1 "
      "and 100, quadrature), sample quality (MMD, total variation, inside fraction for "
      "checkerboard), the denoisers' errors, and writes a figure of 2-D histograms. Every "
      "number is a pure function of the flags, whatever the thread count.",
      specs, (int)(sizeof specs / sizeof specs[0]), 0, 0, NULL};
  args_parse(&ap, argc, argv);
  if (dataset_dim(o.dataset) != 2)
    args_fail(&ap, "dataset", "'%s' is not a 2-D data set (%s; sharp1d is 1-D)", o.dataset,
              dataset_names());
  if (o.n_train < o.batch)
    args_fail(&ap, "batch", "%lld is more than --n-train (%lld)", (long long)o.batch, (long long)o.n_train);
  if (o.grid_n > o.n_test) o.grid_n = o.n_test;
  const int64_t D = 2, ns = o.n_samples, nt = o.n_test;

  ds_context_options *copts = NULL;
  ds_smoother *sm = NULL;
  CHECK(ds_context_options_create(&copts));
  CHECK(ds_context_options_set_threads(copts, o.threads));
  CHECK(ds_context_options_set_seed(copts, o.seed));
  CHECK(ds_context_create(copts, &g_ctx));
  ds_context_options_free(copts);
  CHECK(ds_smoother_create(g_ctx, DS_NOISE_GAUSSIAN, o.sigma, &sm));

  printf("libdsmooth %s, %d threads: %s, sigma = %g, MADE 2 x %d, K = %d, %lld steps of batch %lld, "
         "lr %g cosine, seed %llu\n", ds_version_string(), (int)ds_context_threads(g_ctx), o.dataset,
         o.sigma, o.hidden, o.components, (long long)o.steps, (long long)o.batch, o.lr,
         (unsigned long long)o.seed);
  printf("  %lld training points, %lld test points\n", (long long)o.n_train, (long long)nt);

  float *train_x = example_xmalloc(PROGRAM, sizeof(float) * (size_t)(o.n_train * D));
  float *test_x = example_xmalloc(PROGRAM, sizeof(float) * (size_t)(nt * D));
  dataset_generate(o.dataset, o.n_train, data_seed(o.seed, ROLE_TRAIN), train_x);
  dataset_generate(o.dataset, nt, data_seed(o.seed, ROLE_TEST), test_x);

  /* ---- train ---- */
  ds_model *direct = make_model(D, 0, &o), *stage1 = make_model(D, 0, &o), *stage2 = make_model(D, D, &o);
  double t_direct = train(direct, NULL, train_x, &o, "direct");
  double t_stage1 = train(stage1, sm, train_x, &o, "stage 1");
  double t_stage2 = train(stage2, sm, train_x, &o, "stage 2");
  printf("  trained in %.1f s (direct) + %.1f s (stage 1) + %.1f s (stage 2); %lld parameters each "
         "(stage 2: %lld)\n", t_direct, t_stage1, t_stage2, (long long)ds_model_param_count(direct),
         (long long)ds_model_param_count(stage2));

  /* ---- likelihoods ---- */
  double *lp = example_xmalloc(PROGRAM, sizeof(double) * (size_t)nt), *lp_direct = example_xmalloc(PROGRAM, sizeof(double) * (size_t)nt);
  double *lp_iw100 = example_xmalloc(PROGRAM, sizeof(double) * (size_t)nt);
  float *test_xt = example_xmalloc(PROGRAM, sizeof(float) * (size_t)(nt * D));
  double t0 = example_now();
  CHECK(ds_model_log_prob(direct, test_x, NULL, nt, lp_direct));
  double nll_direct = -mean(lp_direct, nt);
  CHECK(ds_smoother_apply(sm, test_x, nt, D, 100, test_xt));
  CHECK(ds_model_log_prob(stage1, test_xt, NULL, nt, lp));
  double nll_stage1 = -mean(lp, nt);
  CHECK(ds_model_log_prob(stage2, test_x, test_xt, nt, lp));
  double nll_stage2 = -mean(lp, nt);
  CHECK(ds_two_stage_log_prob_bound(stage1, stage2, sm, test_x, nt, 1, 101, lp));
  double nll_iw1 = -mean(lp, nt);
  CHECK(ds_two_stage_log_prob_bound(stage1, stage2, sm, test_x, nt, 100, 102, lp_iw100));
  double nll_iw100 = -mean(lp_iw100, nt);
  double t_bound = example_now() - t0;
  double nll_grid = NAN, sub_direct = NAN, sub_iw100 = NAN, t_grid = 0;
  if (o.grid_n > 0) {
    t0 = example_now();
    CHECK(ds_two_stage_log_prob_grid(stage1, stage2, test_x, o.grid_n, -o.grid_box, o.grid_box,
                                     o.grid_points, lp));
    t_grid = example_now() - t0;
    nll_grid = -mean(lp, o.grid_n);
    sub_direct = -mean(lp_direct, o.grid_n);
    sub_iw100 = -mean(lp_iw100, o.grid_n);
  }
  printf("\nTest NLL, nats per example (lower is better)\n");
  printf("  %-44s %10s %10s\n", "", "all test", "grid subset");
  printf("  %-44s %10lld %10lld\n", "points", (long long)nt, (long long)o.grid_n);
  printf("  %-44s %10.4f %10.4f\n", "direct model -log p(x)", nll_direct, sub_direct);
  printf("  %-44s %10.4f %10s\n", "two-stage IW bound, K = 1 (ELBO)", nll_iw1, "");
  printf("  %-44s %10.4f %10.4f\n", "two-stage IW bound, K = 100", nll_iw100, sub_iw100);
  printf("  %-44s %10s %10.4f\n", "two-stage quadrature (exact up to the grid)", "", nll_grid);
  printf("  ELBO terms: stage 1 -log p(x~) %.4f, stage 2 -log p(x|x~) %.4f, noise entropy %.4f\n",
         nll_stage1, nll_stage2, D * ds_smoother_entropy(sm));
  printf("  quadrature: %d x %d grid of x~ on [-%g, %g]^2 on the first %lld test points (%.1f s); "
         "bounds %.1f s\n", o.grid_points, o.grid_points, o.grid_box, o.grid_box, (long long)o.grid_n,
         t_grid, t_bound);

  /* ---- samples ---- */
  enum { S_FLOOR, S_DIRECT, S_STAGE1, S_GRAD_EXACT, S_GRAD_LOCAL, S_TWO_STAGE, S_COUNT };
  static const char *sample_names[S_COUNT] = {
      "data (an independent fresh draw)", "direct model", "stage 1 (smoothed x~)",
      "stage 1 + gradient denoiser (exact score)", "stage 1 + gradient denoiser (local score)",
      "two-stage: stage 1 + p(x | x~) sample"};
  float *fresh = example_xmalloc(PROGRAM, sizeof(float) * (size_t)(ns * D)), *samples[S_COUNT];
  for (int s = 0; s < S_COUNT; s++) samples[s] = example_xmalloc(PROGRAM, sizeof(float) * (size_t)(ns * D));
  ds_denoiser *dn_exact = NULL, *dn_local = NULL, *dn_cond = NULL, *dn_mean = NULL;
  CHECK(ds_denoiser_create_gradient(stage1, sm, DS_SCORE_EXACT, &dn_exact));
  CHECK(ds_denoiser_create_gradient(stage1, sm, DS_SCORE_LOCAL, &dn_local));
  CHECK(ds_denoiser_create_conditional(stage2, DS_CONDITIONAL_SAMPLE, &dn_cond));
  CHECK(ds_denoiser_create_conditional(stage2, DS_CONDITIONAL_MEAN, &dn_mean));
  t0 = example_now();
  dataset_generate(o.dataset, ns, data_seed(o.seed, ROLE_FRESH), fresh);
  dataset_generate(o.dataset, ns, data_seed(o.seed, ROLE_FRESH2), samples[S_FLOOR]);
  CHECK(ds_model_sample(direct, NULL, ns, 1, DS_SAMPLE_BISECTION, samples[S_DIRECT]));
  CHECK(ds_model_sample(stage1, NULL, ns, 2, DS_SAMPLE_BISECTION, samples[S_STAGE1]));
  CHECK(ds_denoiser_apply(dn_exact, samples[S_STAGE1], ns, 0, samples[S_GRAD_EXACT]));
  CHECK(ds_denoiser_apply(dn_local, samples[S_STAGE1], ns, 0, samples[S_GRAD_LOCAL]));
  /* same stream as the stage-1 samples: the two-stage samples denoise exactly those x~ */
  CHECK(ds_two_stage_sample(stage1, dn_cond, ns, 2, samples[S_TWO_STAGE]));
  double kff = kernel_sum(fresh, MMD_N, fresh, MMD_N, 1);
  double *h_fresh = example_xmalloc(PROGRAM, sizeof(double) * (TV_BINS * TV_BINS + 1)), *h = example_xmalloc(PROGRAM, sizeof(double) * (TV_BINS * TV_BINS + 1));
  tv_histogram(fresh, ns, h_fresh);
  int checker = !strcmp(o.dataset, "checkerboard");
  printf("\nSample quality against fresh data (lower is better; in-squares: higher)\n");
  printf("  %-44s %10s %10s%s\n", "", "MMD^2", "TV", checker ? "  in squares" : "");
  double mmd[S_COUNT], tv[S_COUNT], inside[S_COUNT];
  for (int s = 0; s < S_COUNT; s++) {
    tv_histogram(samples[s], ns, h);
    mmd[s] = mmd2(samples[s], fresh, kff);
    tv[s] = total_variation(h, h_fresh);
    inside[s] = fraction_in_squares(samples[s], ns);
    printf("  %-44s %10.5f %10.4f", sample_names[s], mmd[s], tv[s]);
    if (checker) printf("  %10.4f", inside[s]);
    printf("\n");
  }
  printf("  MMD^2: unbiased, RBF kernel exp(-|a-b|^2 / (2 * %.1f^2)), %d vs %d points; TV: %d x %d bins\n"
         "  on [-%g, %g]^2 plus one outside bin, %lld vs %lld points (%.1f s)\n",
         MMD_BANDWIDTH, MMD_N, MMD_N, TV_BINS, TV_BINS, BOX, BOX, (long long)ns, (long long)ns, example_now() - t0);

  /* ---- single-step denoising of smoothed test points ---- */
  float *den = example_xmalloc(PROGRAM, sizeof(float) * (size_t)(nt * D));
  double *post = example_xmalloc(PROGRAM, sizeof(double) * ORACLE_BINS * ORACLE_BINS * 2);
  printf("\nDenoising smoothed test points x~ = x + noise: mean squared error per dimension to x\n");
  double mse[5];
  mse[0] = mse_per_dim(test_xt, test_x, nt);
  printf("  %-44s %10.4f\n", "no denoising (x~ itself)", mse[0]);
  CHECK(ds_denoiser_apply(dn_exact, test_xt, nt, 0, den));
  mse[1] = mse_per_dim(den, test_x, nt);
  printf("  %-44s %10.4f\n", "gradient denoiser, exact score", mse[1]);
  CHECK(ds_denoiser_apply(dn_local, test_xt, nt, 0, den));
  mse[2] = mse_per_dim(den, test_x, nt);
  printf("  %-44s %10.4f\n", "gradient denoiser, local score", mse[2]);
  CHECK(ds_denoiser_apply(dn_mean, test_xt, nt, 0, den));
  mse[3] = mse_per_dim(den, test_x, nt);
  printf("  %-44s %10.4f\n", "stage 2 greedy conditional mean", mse[3]);
  oracle_posterior_mean(sm, &o, post);
  {
    double s = 0, d = 2 * ORACLE_HALF / ORACLE_BINS;
    int64_t used = 0;
    for (int64_t k = 0; k < nt; k++) {
      int i = (int)floor((test_xt[2 * k] + ORACLE_HALF) / d), j = (int)floor((test_xt[2 * k + 1] + ORACLE_HALF) / d);
      if (i < 0 || i >= ORACLE_BINS || j < 0 || j >= ORACLE_BINS || isnan(post[(j * ORACLE_BINS + i) * 2])) continue;
      for (int c = 0; c < 2; c++) {
        double e = post[(j * ORACLE_BINS + i) * 2 + c] - test_x[2 * k + c];
        s += e * e;
      }
      used++;
    }
    mse[4] = s / (2.0 * (double)used);
    printf("  %-44s %10.4f  (%lld of %lld points on its grid)\n", "oracle E[x | x~] (true data, histogram)",
           mse[4], (long long)used, (long long)nt);
  }
  printf("  sigma^2 = %.4f\n", o.sigma * o.sigma);

  /* ---- picture ---- */
  const int figure[5] = {-1, S_DIRECT, S_STAGE1, S_GRAD_EXACT, S_TWO_STAGE};
  const float *panels[5];
  int64_t counts[5];
  for (int p = 0; p < 5; p++) panels[p] = figure[p] < 0 ? fresh : samples[figure[p]], counts[p] = ns;
  static const char *const panel_titles[5] = {"data", "direct", "stage 1 (smoothed)",
                                              "stage 1 + gradient step", "two-stage"};
  char title[200];
  snprintf(title, sizeof title, "%s, sigma = %g: %lld samples per panel (MADE 2 x %d, K = %d, "
           "%lld steps)", o.dataset, o.sigma, (long long)ns, o.hidden, o.components,
           (long long)o.steps);
  if (figure_density_panels(o.out, title, panels, counts, panel_titles, 5, BOX, FIG_BINS,
                            o.png_scale) != 0) {
    perror(o.out);
    return 1;
  }
  printf("\nwrote %s: data | direct | stage 1 | stage 1 + gradient denoiser (exact) | two-stage\n"
         "  (histograms of %lld points on [-%g, %g]^2, each panel scaled to its own maximum)\n",
         o.out, (long long)ns, BOX, BOX);

  /* one machine-readable line for examples/run_experiments.sh */
  printf("\nsummary dataset=%s K=%d sigma=%g steps=%lld seed=%llu nll_direct=%.5f iw1=%.5f iw100=%.5f "
         "grid_n=%lld quad=%.5f quad_direct=%.5f quad_iw100=%.5f nll_stage1=%.5f nll_stage2=%.5f",
         o.dataset, o.components, o.sigma, (long long)o.steps, (unsigned long long)o.seed, nll_direct,
         nll_iw1, nll_iw100, (long long)o.grid_n, nll_grid, sub_direct, sub_iw100, nll_stage1, nll_stage2);
  static const char *keys[S_COUNT] = {"floor", "direct", "stage1", "grad_exact", "grad_local", "two_stage"};
  for (int s = 0; s < S_COUNT; s++) printf(" mmd_%s=%.6f tv_%s=%.5f in_%s=%.5f", keys[s], mmd[s], keys[s], tv[s], keys[s], inside[s]);
  printf(" mse_noisy=%.5f mse_exact=%.5f mse_local=%.5f mse_cmean=%.5f mse_oracle=%.5f\n", mse[0], mse[1],
         mse[2], mse[3], mse[4]);

  free(den); free(post); free(h); free(h_fresh); free(fresh);
  for (int s = 0; s < S_COUNT; s++) free(samples[s]);
  free(lp); free(lp_direct); free(lp_iw100); free(test_xt); free(train_x); free(test_x);
  ds_denoiser_free(dn_exact); ds_denoiser_free(dn_local); ds_denoiser_free(dn_cond); ds_denoiser_free(dn_mean);
  ds_model_free(direct); ds_model_free(stage1); ds_model_free(stage2);
  ds_smoother_free(sm);
  ds_context_free(g_ctx);
  return 0;
}
