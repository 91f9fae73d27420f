/* sigma_sweep_1d: the paper's 1-D experiment. At low capacity, fitting a smoothed density and
 * then undoing the smoothing beats fitting the sharp density directly, for a suitable sigma.
 *
 *   sigma_sweep_1d [--sigmas 0.02,0.05,0.1,0.2,0.4,0.8] [--components 2] [--hidden 16]
 *                  [--steps 3000] [--batch 512] [--lr 1e-3] [--seed 1] [--threads 0]
 *                  [--n-train 20000] [--n-test 2000] [--quiet]
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
 * importance-weighted bound with K = 100. Results are a pure function of the flags. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datasets.h"
#include "example_util.h"
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
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--quiet")) { o.quiet = 1; continue; }
    if (!v) { fprintf(stderr, "sigma_sweep_1d: %s needs a value\n", a); return 2; }
    if (!strcmp(a, "--sigmas")) {
      const char *p = v;
      o.sigma_count = 0;
      while (*p && o.sigma_count < MAX_SIGMAS) {
        char *end = NULL;
        o.sigmas[o.sigma_count++] = strtod(p, &end);
        if (end == p || (*end && *end != ',')) { fprintf(stderr, "sigma_sweep_1d: bad --sigmas %s\n", v); return 2; }
        p = *end == ',' ? end + 1 : end;
      }
    } else if (!strcmp(a, "--components")) o.components = atoi(v);
    else if (!strcmp(a, "--hidden")) o.hidden = atoi(v);
    else if (!strcmp(a, "--steps")) o.steps = atoll(v);
    else if (!strcmp(a, "--batch")) o.batch = atoll(v);
    else if (!strcmp(a, "--lr")) o.lr = atof(v);
    else if (!strcmp(a, "--seed")) o.seed = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--threads")) o.threads = atoi(v);
    else if (!strcmp(a, "--n-train")) o.n_train = atoll(v);
    else if (!strcmp(a, "--n-test")) o.n_test = atoll(v);
    else { fprintf(stderr, "sigma_sweep_1d: unknown option %s\n", a); return 2; }
    i++;
  }
  for (int s = 0; s < o.sigma_count; s++)
    if (!(o.sigmas[s] > 0)) { fprintf(stderr, "sigma_sweep_1d: every sigma must be > 0\n"); return 2; }
  if (o.sigma_count < 1 || o.steps < 1 || o.n_train < o.batch || o.n_test < 1) {
    fprintf(stderr, "sigma_sweep_1d: bad option value\n");
    return 2;
  }
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
  free(x); free(xt); free(xs); free(lp);
  ds_model_free(direct);
  ds_context_free(g_ctx);
  return 0;
}
