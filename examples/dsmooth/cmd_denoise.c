/* dsmooth denoise: undo the smoothing of noisy rows with a stage-1 or stage-2 model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "progress.h"

#define PROGRAM "dsmooth denoise"

static double mse(const float *a, const float *b, int64_t count) {
  double acc = 0;
  for (int64_t i = 0; i < count; i++) acc += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
  return acc / (double)count;
}

int cli_denoise(int argc, char **argv) {
  const char *data = NULL, *model_path = NULL, *stage2_path = NULL, *out_path = NULL;
  const char *png_path = NULL, *noisy_path = NULL;
  int add_noise = 0, noise = DS_NOISE_GAUSSIAN, score = 0, output = 1, show = 8;
  double sigma = NAN;
  int64_t limit = 0, chunk = 256;
  uint64_t stream = 0;
  cli_common common = {0, 1, 0, 0};
  const arg_spec specs[] = {
      {"data", ARG_STRING, &data, "FILE", "noisy rows x~ (or clean rows with --add-noise)", 0,
       0, 0, NULL},
      {"add-noise", ARG_FLAG, &add_noise, NULL, "smooth the rows first with --sigma (to measure "
       "the denoising error against the clean rows)", 0, 0, 0, NULL},
      {"model", ARG_STRING, &model_path, "MODEL", "stage-1 model p(x~): one gradient step "
       "x~ + sigma^2 grad log p(x~) (needs --sigma)", 0, 0, 0, NULL},
      {"score", ARG_CHOICE, &score, NULL, "with --model: the exact gradient, or the official "
       "code's local score", 0, 0, 0, "exact|local"},
      {"stage2", ARG_STRING, &stage2_path, "MODEL", "stage-2 model p(x | x~) instead of the "
       "gradient step", 0, 0, 0, NULL},
      {"output", ARG_CHOICE, &output, NULL, "with --stage2: a draw from p(x | x~) or the greedy "
       "conditional mean", 0, 0, 0, "sample|mean"},
      {"sigma", ARG_DOUBLE, &sigma, "S", "the noise of the stage-1 model / of --add-noise", 0,
       1e30, 1, NULL},
      {"noise", ARG_CHOICE, &noise, NULL, "noise family", 0, 0, 0, "gaussian|laplace|uniform"},
      {"out", ARG_STRING, &out_path, "FILE.npy", "write the denoised rows as float32 .npy", 0,
       0, 0, NULL},
      {"noisy-out", ARG_STRING, &noisy_path, "FILE.npy", "with --add-noise: write the noisy "
       "rows too", 0, 0, 0, NULL},
      {"png", ARG_STRING, &png_path, "FILE.png", "figure of the first --show images: rows "
       "clean (with --add-noise), noisy, denoised", 0, 0, 0, NULL},
      {"show", ARG_INT32, &show, "N", "images per row of the figure", 1, 64, 0, NULL},
      {"stream", ARG_UINT64, &stream, "N", "random stream of the noise and of sampling", 0, 0,
       0, NULL},
      {"chunk", ARG_INT, &chunk, "N", "rows per library call (progress granularity)", 1,
       (double)INT64_MAX, 0, NULL},
      {"limit", ARG_INT, &limit, "N", "use only the first N rows; 0 = all", 0, (double)INT64_MAX, 0, NULL},
      CLI_COMMON_SPECS(&common),
  };
  const arg_parser ap = {
      PROGRAM, "--data FILE (--model MODEL --sigma S | --stage2 MODEL) --out FILE.npy [options]",
      "Denoise rows: with a stage-1 model by one gradient step (Tweedie's formula for Gaussian "
      "noise), or with a stage-2 model p(x | x~). With --add-noise the rows are clean data, "
      "smoothed here first, and the mean squared errors per dimension of the noisy and the "
      "denoised rows against them are reported.",
      specs, (int)(sizeof specs / sizeof specs[0]), 0, 0,
      "Example:\n"
      "  dsmooth denoise --data test.npy --add-noise --sigma 0.5 --model s1.dsm --out den.npy --png den.png\n"};
  args_parse(&ap, argc, argv);
  if (!data) args_fail(&ap, "data", "is required (the rows to denoise)");
  if (!model_path && !stage2_path) args_fail(&ap, "model", "or --stage2 is required");
  if (model_path && stage2_path) args_fail(&ap, "stage2", "and --model are two denoisers: give one");
  if ((model_path || add_noise) && isnan(sigma))
    args_fail(&ap, "sigma", "is required %s", model_path ? "with --model (the stage-1 model's noise)"
                                                          : "with --add-noise");
  if (!out_path && !png_path) args_fail(&ap, "out", "or --png is required (where the result goes)");
  if (noisy_path && !add_noise) args_fail(&ap, "noisy-out", "needs --add-noise");

  FILE *out = cli_out(&common);
  ds_context *ctx = cli_context(PROGRAM, &common);
  cli_model m;
  cli_load_model(PROGRAM, ctx, model_path ? model_path : stage2_path, &m);
  int64_t D = ds_model_dim(m.model);
  if (stage2_path && ds_model_cond_dim(m.model) != D)
    cli_die(PROGRAM, "%s is not a stage-2 model (needs C = D = %lld)", stage2_path, (long long)D);
  if (model_path && ds_model_cond_dim(m.model) != 0)
    cli_die(PROGRAM, "%s is conditional: give it as --stage2", model_path);
  data_array d;
  cli_load_data(PROGRAM, data, limit, &d);
  if (d.dim != D)
    cli_die(PROGRAM, "%s has rows of %lld values, the model has D = %lld", data, (long long)d.dim,
            (long long)D);
  ds_smoother *sm = NULL;
  ds_denoiser *dn = NULL;
  if (!isnan(sigma)) cli_check(PROGRAM, ctx, ds_smoother_create(ctx, noise, sigma, &sm), "--sigma");
  if (model_path)
    cli_check(PROGRAM, ctx, ds_denoiser_create_gradient(m.model, sm, score == 0 ? DS_SCORE_EXACT
                                                        : DS_SCORE_LOCAL, &dn), "gradient denoiser");
  else cli_check(PROGRAM, ctx, ds_denoiser_create_conditional(m.model, output, &dn), "stage-2 denoiser");

  size_t bytes = sizeof(float) * (size_t)(d.n * D);
  float *noisy = d.x, *den = cli_alloc(PROGRAM, bytes);
  if (add_noise) {
    noisy = cli_alloc(PROGRAM, bytes);
    cli_check(PROGRAM, ctx, ds_smoother_apply(sm, d.x, d.n, D, stream, noisy), "--add-noise");
  }
  progress_bar bar;
  progress_start(&bar, "denoise", d.n, common.quiet);
  for (int64_t i0 = 0, c = 0; i0 < d.n; i0 += chunk, c++) {
    int64_t k = d.n - i0 < chunk ? d.n - i0 : chunk;
    cli_check(PROGRAM, ctx, ds_denoiser_apply(dn, noisy + i0 * D, k, stream * 1000003ull + (uint64_t)c,
                                              den + i0 * D), "denoising");
    progress_update(&bar, i0 + k, NULL);
  }
  progress_finish(&bar, NULL);
  double seconds = progress_elapsed(&bar);
  const char *how = model_path ? (score == 0 ? "gradient step, exact score" : "gradient step, local score")
                    : output == 0 ? "stage-2 model, sample" : "stage-2 model, conditional mean";
  fprintf(out, "denoised %lld rows of %lld values (%s) in %.2f s\n", (long long)d.n, (long long)D,
          how, seconds);
  double mse_noisy = NAN, mse_denoised = NAN;
  if (add_noise) {
    mse_noisy = mse(noisy, d.x, d.n * D);
    mse_denoised = mse(den, d.x, d.n * D);
    fprintf(out, "mean squared error per dimension against the clean rows: noisy %.6f, "
            "denoised %.6f\n", mse_noisy, mse_denoised);
  }
  if (out_path) {
    cli_write_npy(PROGRAM, out_path, den, d.n, &m.info);
    fprintf(out, "wrote %s\n", out_path);
  }
  if (noisy_path) {
    cli_write_npy(PROGRAM, noisy_path, noisy, d.n, &m.info);
    fprintf(out, "wrote %s\n", noisy_path);
  }
  if (png_path) {
    int64_t k = d.n < show ? d.n : show;
    int rows = add_noise ? 3 : 2;
    float *grid = cli_alloc(PROGRAM, sizeof(float) * (size_t)(rows * k * D));
    const char *labels[3];
    int r = 0;
    if (add_noise) {
      memcpy(grid, d.x, sizeof(float) * (size_t)(k * D));
      labels[r++] = "clean";
    }
    memcpy(grid + r * k * D, noisy, sizeof(float) * (size_t)(k * D));
    labels[r++] = "noisy";
    memcpy(grid + r * k * D, den, sizeof(float) * (size_t)(k * D));
    labels[r++] = "denoised";
    char title[160];
    if (sm) snprintf(title, sizeof title, "denoising, sigma = %g (%s)", sigma, how);
    else snprintf(title, sizeof title, "denoising (%s)", how);
    cli_write_png(PROGRAM, png_path, title, grid, rows * k, &m.info, labels, (int)k);
    free(grid);
    fprintf(out, "wrote %s\n", png_path);
  }
  if (common.json) {
    cli_json j;
    json_begin(&j, stdout);
    json_string(&j, "command", "denoise");
    json_string(&j, "data", data);
    json_string(&j, "model", model_path ? model_path : stage2_path);
    json_string(&j, "method", model_path ? (score == 0 ? "exact" : "local")
                              : output == 0 ? "stage2_sample" : "stage2_mean");
    json_int(&j, "rows", d.n);
    json_int(&j, "dim", D);
    if (add_noise) {
      json_number(&j, "sigma", sigma);
      json_number(&j, "mse_noisy", mse_noisy);
      json_number(&j, "mse_denoised", mse_denoised);
    }
    json_string(&j, "out", out_path);
    json_number(&j, "seconds", seconds);
    json_end(&j);
  }
  if (noisy != d.x) free(noisy);
  free(den);
  ds_denoiser_free(dn);
  ds_smoother_free(sm);
  data_free(&d);
  cli_model_free(&m);
  ds_context_free(ctx);
  return 0;
}
