/* smooth_demo: what the smoother does to a 2-D data set, with a picture.
 *
 *   smooth_demo [options]        (smooth_demo --help lists them with their defaults)
 *
 * Draws n points, smooths them with ds_smoother_apply, and compares the histogram of the
 * smoothed points with the exact smoothing of the data histogram (ds_smoother_convolve_grid).
 * Then denoises every smoothed point with the grid posterior mean E[x | x~]
 * (ds_smoother_grid_posterior_mean) and reports its squared error against D sigma^2.
 * Writes three panels: data | smoothed samples | convolve_grid(data histogram). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets.h"
#include "dsmooth.h"
#include "args.h"
#include "figures.h"

#define BINS 160
#define HALF_WIDTH 5.0

static int die(const char *what, ds_status st, const ds_context *ctx) {
  fprintf(stderr, "smooth_demo: %s failed: %s: %s\n", what, ds_status_str(st),
          ds_context_last_error(ctx));
  return 1;
}

/* Density histogram on the demo grid: (BINS, BINS), row 0 = lowest y. */
static void histogram(const float *x, int64_t n, double *h) {
  double dx = 2 * HALF_WIDTH / BINS;
  memset(h, 0, sizeof(double) * BINS * BINS);
  for (int64_t k = 0; k < n; k++) {
    int i = (int)floor((x[2 * k] + HALF_WIDTH) / dx);
    int j = (int)floor((x[2 * k + 1] + HALF_WIDTH) / dx);
    if (i >= 0 && i < BINS && j >= 0 && j < BINS) h[j * BINS + i] += 1.0 / ((double)n * dx * dx);
  }
}

/* Flip rows so that +y points up in the picture. */
static void flip_rows(const double *in, double *out) {
  for (int j = 0; j < BINS; j++) memcpy(out + (BINS - 1 - j) * BINS, in + j * BINS, sizeof(double) * BINS);
}

int main(int argc, char **argv) {
  const char *dataset = "2spirals", *out_path = "smooth_demo.png";
  static const char *const noise_names[3] = {"gaussian", "laplace", "uniform"};
  double sigma = 0.5;
  int64_t n = 200000;
  uint64_t seed = 1;
  int threads = 0, family = DS_NOISE_GAUSSIAN;
  char datasets[160];
  snprintf(datasets, sizeof datasets, "2-D data set: %s", dataset_names());
  const arg_spec specs[] = {
      {"dataset", ARG_STRING, &dataset, "NAME", datasets, 0, 0, 0, NULL},
      {"noise", ARG_CHOICE, &family, NULL, "noise family", 0, 0, 0, "gaussian|laplace|uniform"},
      {"sigma", ARG_DOUBLE, &sigma, "S", "noise standard deviation", 0, 1e30, 1, NULL},
      {"n", ARG_INT, &n, "N", "points drawn", 1, 1e9, 0, NULL},
      {"seed", ARG_UINT64, &seed, "S", "seed of the data and the noise", 0, 0, 0, NULL},
      {"threads", ARG_INT32, &threads, "T", "worker threads; 0 = all online cores", 0,
       DS_MAX_THREADS, 0, NULL},
      {"out", ARG_STRING, &out_path, "PNG", "the figure: data | smoothed samples | exact "
       "smoothing of the data histogram", 0, 0, 0, NULL},
  };
  const arg_parser ap = {
      "smooth_demo", "[options]",
      "What the smoother does to a 2-D data set: the histogram of smoothed points against the "
      "exact smoothing of the data histogram (ds_smoother_convolve_grid), and the grid "
      "posterior mean E[x | x~] as a denoiser (its squared error against D sigma^2).",
      specs, (int)(sizeof specs / sizeof specs[0]), 0, 0, NULL};
  args_parse(&ap, argc, argv);
  const char *noise = noise_names[family];
  if (dataset_dim(dataset) != 2)
    args_fail(&ap, "dataset", "'%s' is not a 2-D data set (%s; sharp1d is 1-D)", dataset,
              dataset_names());

  ds_context_options *opts = NULL;
  ds_context *ctx = NULL;
  ds_smoother *sm = NULL;
  ds_status st;
  if ((st = ds_context_options_create(&opts)) ||
      (st = ds_context_options_set_threads(opts, threads)) ||
      (st = ds_context_options_set_seed(opts, seed)))
    return die("options", st, NULL);
  if ((st = ds_context_create(opts, &ctx))) return die("ds_context_create", st, NULL);
  ds_context_options_free(opts);
  if ((st = ds_smoother_create(ctx, family, sigma, &sm))) return die("ds_smoother_create", st, ctx);

  float *x = malloc(sizeof(float) * 2 * n), *xt = malloc(sizeof(float) * 2 * n);
  double *h_data = malloc(sizeof(double) * BINS * BINS), *h_smooth = malloc(sizeof(double) * BINS * BINS);
  double *h_exact = malloc(sizeof(double) * BINS * BINS), *post = malloc(sizeof(double) * BINS * BINS * 2);
  double *flipped = malloc(sizeof(double) * BINS * BINS);
  if (!x || !xt || !h_data || !h_smooth || !h_exact || !post || !flipped) { fprintf(stderr, "out of memory\n"); return 1; }

  dataset_generate(dataset, n, seed, x);
  if ((st = ds_smoother_apply(sm, x, n, 2, 0, xt))) return die("ds_smoother_apply", st, ctx);
  histogram(x, n, h_data);
  histogram(xt, n, h_smooth);
  double d = 2 * HALF_WIDTH / BINS, lo = -HALF_WIDTH + d / 2;
  if ((st = ds_smoother_convolve_grid(sm, h_data, BINS, BINS, lo, d, lo, d, h_exact)))
    return die("ds_smoother_convolve_grid", st, ctx);
  if ((st = ds_smoother_grid_posterior_mean(sm, h_data, BINS, BINS, lo, d, lo, d, post)))
    return die("ds_smoother_grid_posterior_mean", st, ctx);

  double tv = 0, mass = 0;
  for (int k = 0; k < BINS * BINS; k++) { tv += fabs(h_smooth[k] - h_exact[k]) * d * d; mass += h_exact[k] * d * d; }
  double se_noisy = 0, se_denoised = 0;
  int64_t used = 0;
  for (int64_t k = 0; k < n; k++) {
    int i = (int)floor((xt[2 * k] + HALF_WIDTH) / d), j = (int)floor((xt[2 * k + 1] + HALF_WIDTH) / d);
    if (i < 0 || i >= BINS || j < 0 || j >= BINS || isnan(post[(j * BINS + i) * 2])) continue;
    for (int c = 0; c < 2; c++) {
      double e0 = xt[2 * k + c] - x[2 * k + c], e1 = post[(j * BINS + i) * 2 + c] - x[2 * k + c];
      se_noisy += e0 * e0;
      se_denoised += e1 * e1;
    }
    used++;
  }
  printf("libdsmooth %s, %d threads: %s, %s noise, sigma = %g, n = %lld\n", ds_version_string(),
         (int)ds_context_threads(ctx), dataset, noise, sigma, (long long)n);
  printf("  mass of the smoothed density kept on the [-%g, %g]^2 grid: %.4f\n", HALF_WIDTH, HALF_WIDTH, mass);
  printf("  total variation, histogram of smoothed samples vs convolve_grid(data): %.4f\n", tv);
  printf("  squared error per dimension: noisy x~ %.4f (sigma^2 = %.4f), grid posterior mean %.4f\n",
         se_noisy / (2.0 * used), sigma * sigma, se_denoised / (2.0 * used));

  double vmax = 0, *flipped3 = malloc(sizeof(double) * BINS * BINS * 3);
  if (!flipped3) { fprintf(stderr, "out of memory\n"); return 1; }
  for (int k = 0; k < BINS * BINS; k++) if (h_exact[k] > vmax) vmax = h_exact[k];
  flip_rows(h_data, flipped3);
  flip_rows(h_smooth, flipped3 + BINS * BINS);
  flip_rows(h_exact, flipped3 + 2 * BINS * BINS);
  const double *grids[3] = {flipped3, flipped3 + BINS * BINS, flipped3 + 2 * BINS * BINS};
  const double scales[3] = {0, vmax, vmax};
  static const char *const titles[3] = {"data", "smoothed samples", "exact smoothing (grid)"};
  char title[160], caption[200];
  snprintf(title, sizeof title, "%s, %s noise, sigma = %g, %lld points", dataset, noise, sigma,
           (long long)n);
  snprintf(caption, sizeof caption, "densities; data scaled to its maximum, the other two to the "
           "exact smoothed maximum %.3g", vmax);
  if (figure_grid_panels(out_path, title, grids, scales, titles, 3, BINS, HALF_WIDTH, 2, caption)) {
    perror(out_path);
    return 1;
  }
  free(flipped3);
  printf("  wrote %s (data | smoothed samples | exact smoothing of the data histogram)\n", out_path);

  free(x); free(xt); free(h_data); free(h_smooth); free(h_exact); free(post); free(flipped);
  ds_smoother_free(sm);
  ds_context_free(ctx);
  return 0;
}
