/* sigma_sweep_1d: the paper's 1-D experiment. At low capacity, fitting a smoothed density and
 * then undoing the smoothing beats fitting the sharp density directly, for a suitable sigma.
 *
 *   sigma_sweep_1d [options]      (sigma_sweep_1d --help lists them with their defaults)
 *
 * Data: sharp1d, five uniforms of width 0.2 at -2, -1, 0, 1, 2 (density 1 on its support, so
 * the true NLL is 0 nats). The same MADE size for every model (2 hidden layers of --hidden
 * units, K = --components logistic-mixture conditionals). In 1-D an unconditional MADE's p(x)
 * has no input to look at, so the direct model and stage 1 are plain K-component logistic
 * mixtures; stage 2, p(x | x~), uses the network on x~.
 *
 * For every sigma: stage 1 p(x~) on x + N(0, sigma^2) (fresh noise every batch) and stage 2
 * p(x | x~), then the two-stage test NLL by quadrature over x~ (ds_two_stage_log_prob_grid,
 * box [-2.2 - 6 sigma, 2.2 + 6 sigma], spacing <= sigma / 8, at most 4001 points) and by the
 * importance-weighted bound with K = 100. Results are a pure function of the flags. Writes
 * a plot of the test NLL against sigma (--out). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datasets.h"
#include "args.h"
#include "example_util.h"
#include "figures.h"
#include "dsmooth.h"

#define MAX_SIGMAS 32

typedef struct options {
  double sigmas[MAX_SIGMAS], lr;
  int sigma_count, components, hidden, threads, quiet;
  int64_t steps, batch, n_train, n_test;
  uint64_t seed;
} options;

static ds_context *g_ctx;

#define PROGRAM "sigma_sweep_1d"
#define CHECK(call) example_check(PROGRAM, g_ctx, (call), #call)

static ds_model *make_model(int64_t cond_dim, const options *o) {
  ds_model_config *cfg = NULL;
  ds_model *m = NULL;
  int64_t widths[2] = {o->hidden, o->hidden};
  CHECK(ds_model_config_create(DS_ARCH_MADE, &cfg));
  CHECK(ds_model_config_set_int(cfg, DS_MODEL_DIM, 1));
  CHECK(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, cond_dim));
  CHECK(ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, o->components));
  CHECK(ds_model_config_set_hidden(cfg, widths, 2));
  CHECK(ds_model_create(g_ctx, cfg, &m));
  ds_model_config_free(cfg);
  return m;
}

static void train(ds_model *m, const ds_smoother *sm, const float *x, const options *o,
                  const char *name) {
  (void)example_train(PROGRAM, g_ctx, m, sm, x, o->n_train, o->steps, o->batch, o->lr, name, 22,
                       o->quiet ? 0 : 100);
}

static double mean_nll(const double *lp, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s -= lp[i];
  return s / (double)n;
}

int main(int argc, char **argv) {
  options o = {{0.02, 0.05, 0.1, 0.2, 0.4, 0.8}, 1e-3, 6, 2, 16, 0, 0, 3000, 512, 20000, 2000, 1};
  const char *sigmas = NULL, *out = "sigma_sweep_1d.png";
  const arg_spec specs[] = {
      {"sigmas", ARG_STRING, &sigmas, "S,S,...", "noise levels to sweep (default: "
       "0.02,0.05,0.1,0.2,0.4,0.8)", 0, 0, 0, NULL},
      {"components", ARG_INT32, &o.components, "K", "logistic-mixture components of every model",
       1, 256, 0, NULL},
      {"hidden", ARG_INT32, &o.hidden, "H", "width of the two hidden layers", 1, 65536, 0, NULL},
      {"steps", ARG_INT, &o.steps, "N", "Adam steps per model", 1, 1e12, 0, NULL},
      {"batch", ARG_INT, &o.batch, "B", "examples per step (at most --n-train)", 1, 1 << 20, 0, NULL},
      {"lr", ARG_DOUBLE, &o.lr, "LR", "peak learning rate of the cosine schedule", 0, 1e6, 1, NULL},
      {"seed", ARG_UINT64, &o.seed, "S", "seed of the data, the weights and the noise", 0, 0, 0, NULL},
      {"threads", ARG_INT32, &o.threads, "T", "worker threads; 0 = all online cores", 0,
       DS_MAX_THREADS, 0, NULL},
      {"n-train", ARG_INT, &o.n_train, "N", "training points", 1, 1e9, 0, NULL},
      {"n-test", ARG_INT, &o.n_test, "N", "test points", 1, 1e9, 0, NULL},
      {"out", ARG_STRING, &out, "PNG", "plot of the test NLL against sigma", 0, 0, 0, NULL},
      {"quiet", ARG_FLAG, &o.quiet, NULL, "no training progress", 0, 0, 0, NULL},
  };
  const arg_parser ap = {
      PROGRAM, "[options]",
      "The paper's 1-D experiment on sharp1d (five uniforms of width 0.2; true NLL 0): a "
      "direct model against the two-stage model for every sigma, all of the same small size. "
      "Prints a table of test NLL (quadrature, the IW bound with K = 100, the ELBO, each "
      "stage's own NLL) and plots it against sigma.",
      specs, (int)(sizeof specs / sizeof specs[0]), 0, 0, NULL};
  args_parse(&ap, argc, argv);
  if (sigmas) o.sigma_count = args_double_list(&ap, "sigmas", sigmas, 0, 1, 1e30, o.sigmas, MAX_SIGMAS);
  if (o.n_train < o.batch)
    args_fail(&ap, "batch", "%lld is more than --n-train (%lld)", (long long)o.batch,
              (long long)o.n_train);
  ds_context_options *copts = NULL;
  CHECK(ds_context_options_create(&copts));
  CHECK(ds_context_options_set_threads(copts, o.threads));
  CHECK(ds_context_options_set_seed(copts, o.seed));
  CHECK(ds_context_create(copts, &g_ctx));
  ds_context_options_free(copts);

  int64_t n = o.n_train, nt = o.n_test;
  float *x = malloc(sizeof(float) * (size_t)n), *xt = malloc(sizeof(float) * (size_t)nt);
  float *xs = malloc(sizeof(float) * (size_t)nt);
  double *lp = malloc(sizeof(double) * (size_t)nt);
  if (!x || !xt || !xs || !lp) { fprintf(stderr, "sigma_sweep_1d: out of memory\n"); return 1; }
  dataset_generate("sharp1d", n, o.seed * 1000003ull + 1, x);
  dataset_generate("sharp1d", nt, o.seed * 1000003ull + 2, xt);
  printf("libdsmooth %s, %d threads: sharp1d (true NLL 0), MADE 2 x %d, K = %d, %lld steps of batch "
         "%lld, lr %g cosine, seed %llu, %lld train / %lld test points\n",
         ds_version_string(), (int)ds_context_threads(g_ctx), o.hidden, o.components,
         (long long)o.steps, (long long)o.batch, o.lr, (unsigned long long)o.seed, (long long)n,
         (long long)nt);

  double t0 = example_now();
  ds_model *direct = make_model(0, &o);
  train(direct, NULL, x, &o, "direct");
  CHECK(ds_model_log_prob(direct, xt, NULL, nt, lp));
  double nll_direct = mean_nll(lp, nt);

  double quad[MAX_SIGMAS], iw100[MAX_SIGMAS], iw1[MAX_SIGMAS], nll1[MAX_SIGMAS], nll2[MAX_SIGMAS];
  int points[MAX_SIGMAS];
  for (int s = 0; s < o.sigma_count; s++) {
    double sigma = o.sigmas[s];
    char name[48];
    ds_smoother *sm = NULL;
    CHECK(ds_smoother_create(g_ctx, DS_NOISE_GAUSSIAN, sigma, &sm));
    ds_model *stage1 = make_model(0, &o), *stage2 = make_model(1, &o);
    snprintf(name, sizeof name, "stage 1, sigma %g", sigma);
    train(stage1, sm, x, &o, name);
    snprintf(name, sizeof name, "stage 2, sigma %g", sigma);
    train(stage2, sm, x, &o, name);
    CHECK(ds_smoother_apply(sm, xt, nt, 1, 100, xs));
    CHECK(ds_model_log_prob(stage1, xs, NULL, nt, lp));
    nll1[s] = mean_nll(lp, nt);
    CHECK(ds_model_log_prob(stage2, xt, xs, nt, lp));
    nll2[s] = mean_nll(lp, nt);
    double hi = 2.2 + 6 * sigma;
    double want = ceil(2 * hi / (sigma / 8)) + 1;
    points[s] = want > 4001 ? 4001 : (int)want;
    CHECK(ds_two_stage_log_prob_grid(stage1, stage2, xt, nt, -hi, hi, points[s], lp));
    quad[s] = mean_nll(lp, nt);
    CHECK(ds_two_stage_log_prob_bound(stage1, stage2, sm, xt, nt, 100, 102, lp));
    iw100[s] = mean_nll(lp, nt);
    CHECK(ds_two_stage_log_prob_bound(stage1, stage2, sm, xt, nt, 1, 101, lp));
    iw1[s] = mean_nll(lp, nt);
    ds_model_free(stage1);
    ds_model_free(stage2);
    ds_smoother_free(sm);
  }
  printf("\nTest NLL, nats per example (lower is better; the true density has NLL 0)\n");
  printf("  %-8s %12s %12s %12s %12s %14s %14s %8s\n", "sigma", "direct", "2-stage quad", "2-stage IW100",
         "2-stage ELBO", "stage1 -lp(x~)", "stage2 -lp(x|x~)", "points");
  for (int s = 0; s < o.sigma_count; s++)
    printf("  %-8g %12.4f %12.4f %12.4f %12.4f %14.4f %14.4f %8d\n", o.sigmas[s], nll_direct, quad[s],
           iw100[s], iw1[s], nll1[s], nll2[s], points[s]);
  int best = 0;
  for (int s = 1; s < o.sigma_count; s++) if (quad[s] < quad[best]) best = s;
  printf("  best sigma %g: two-stage %.4f vs direct %.4f nats (%+.4f); total time %.1f s\n",
         o.sigmas[best], quad[best], nll_direct, quad[best] - nll_direct, example_now() - t0);
  double sigma_axis[MAX_SIGMAS], direct_line[MAX_SIGMAS];
  for (int s = 0; s < o.sigma_count; s++) sigma_axis[s] = o.sigmas[s], direct_line[s] = nll_direct;
  const double *series[4] = {direct_line, quad, iw100, iw1};
  static const char *const names[4] = {"direct", "two-stage (quadrature)", "two-stage IW bound, K=100",
                                       "two-stage ELBO (K=1)"};
  char title[200];
  snprintf(title, sizeof title, "sharp1d: test NLL vs sigma (MADE 2 x %d, K = %d, %lld steps; "
           "true NLL 0)", o.hidden, o.components, (long long)o.steps);
  if (figure_line_plot(out, title, "sigma (log scale)", "test NLL, nats per example (lower is better)",
                       sigma_axis, series, names, 4, o.sigma_count, 1) != 0)
    perror(out);
  else printf("  wrote %s\n", out);
  free(x); free(xt); free(xs); free(lp);
  ds_model_free(direct);
  ds_context_free(g_ctx);
  return 0;
}
