/* dsmooth sample: draw from a model or from the two-stage model; .npy and a PNG. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "progress.h"

#define PROGRAM "dsmooth sample"

enum { DENOISE_NONE, DENOISE_EXACT, DENOISE_LOCAL };

int cli_sample(int argc, char **argv) {
  const char *model_path = NULL, *stage2_path = NULL, *out_path = NULL, *png_path = NULL;
  const char *title = NULL;
  int64_t n = 16, chunk = 64;
  int method = 0, denoise = DENOISE_NONE, noise = DS_NOISE_GAUSSIAN, output = 0, per_row = 8;
  double sigma = NAN;
  uint64_t stream = 0;
  cli_common common = {0, 1, 0, 0};
  const arg_spec specs[] = {
      {"model", ARG_STRING, &model_path, "MODEL", "the model to sample (unconditional; for the "
       "two-stage model its stage 1)", 0, 0, 0, NULL},
      {"n", ARG_INT, &n, "N", "number of samples", 1, 1e9, 0, NULL},
      {"out", ARG_STRING, &out_path, "FILE.npy", "write the samples as float32 .npy: (n, D), or "
       "(n, H, W[, 3]) for images", 0, 0, 0, NULL},
      {"png", ARG_STRING, &png_path, "FILE.png", "write a figure: an image grid, or a 2-D "
       "histogram for 2-D vectors", 0, 0, 0, NULL},
      {"title", ARG_STRING, &title, "TEXT", "title of the figure (default: what was sampled)",
       0, 0, 0, NULL},
      {"per-row", ARG_INT32, &per_row, "N", "images per row of the grid", 1, 1000, 0, NULL},
      {"stage2", ARG_STRING, &stage2_path, "MODEL", "two-stage sampling: x~ from --model, then "
       "x from this stage-2 model p(x | x~)", 0, 0, 0, NULL},
      {"output", ARG_CHOICE, &output, NULL, "with --stage2: draw x ~ p(x | x~), or take each "
       "dimension's conditional mean (greedy)", 0, 0, 0, "sample|mean"},
      {"denoise", ARG_CHOICE, &denoise, NULL, "with --sigma: one gradient step x~ + sigma^2 "
       "grad log p(x~) after sampling stage 1 (exact or the official code's local score)", 0,
       0, 0, "none|exact|local"},
      {"sigma", ARG_DOUBLE, &sigma, "S", "the noise the stage-1 model was trained with (for "
       "--denoise)", 0, 1e30, 1, NULL},
      {"noise", ARG_CHOICE, &noise, NULL, "noise family of the stage-1 model", 0, 0, 0,
       "gaussian|laplace|uniform"},
      {"method", ARG_CHOICE, &method, NULL, "how each conditional is sampled", 0, 0, 0,
       "bisection|gumbel"},
      {"stream", ARG_UINT64, &stream, "N", "random stream: other streams give other samples", 0,
       0, 0, NULL},
      {"chunk", ARG_INT, &chunk, "N", "samples per library call (progress granularity; sample "
       "i depends on its chunk)", 1, 1e9, 0, NULL},
      CLI_COMMON_SPECS(&common),
  };
  const arg_parser ap = {
      PROGRAM, "--model MODEL (--out FILE.npy | --png FILE.png) [options]",
      "Ancestral sampling from a model, or from the two-stage model: stage-1 samples x~ "
      "followed by the stage-2 model (--stage2) or the single-step gradient denoiser "
      "(--denoise exact --sigma S).",
      specs, (int)(sizeof specs / sizeof specs[0]), 0, 0,
      "Examples:\n"
      "  dsmooth sample --model direct.dsm --n 64 --png direct.png\n"
      "  dsmooth sample --model s1.dsm --stage2 s2.dsm --n 64 --out two_stage.npy --png two_stage.png\n"};
  args_parse(&ap, argc, argv);
  if (!model_path) args_fail(&ap, "model", "is required (the model to sample)");
  if (!out_path && !png_path) args_fail(&ap, "out", "or --png is required (where the samples go)");
  if (stage2_path && denoise != DENOISE_NONE)
    args_fail(&ap, "denoise", "and --stage2 are two ways of stage 2: give one");
  if (denoise != DENOISE_NONE && isnan(sigma))
    args_fail(&ap, "sigma", "is required with --denoise (the stage-1 model's noise)");

  FILE *out = cli_out(&common);
  ds_context *ctx = cli_context(PROGRAM, &common);
  cli_model a, b = {0};
  cli_load_model(PROGRAM, ctx, model_path, &a);
  int64_t D = ds_model_dim(a.model);
  if (ds_model_cond_dim(a.model) != 0)
    cli_die(PROGRAM, "%s is conditional: give it as --stage2 and its stage-1 model as --model", model_path);
  ds_denoiser *dn = NULL;
  ds_smoother *sm = NULL;
  if (stage2_path) {
    cli_load_model(PROGRAM, ctx, stage2_path, &b);
    if (ds_model_cond_dim(b.model) != D || ds_model_dim(b.model) != D)
      cli_die(PROGRAM, "%s is not a stage-2 model for %s (needs D = C = %lld)", stage2_path,
              model_path, (long long)D);
    cli_check(PROGRAM, ctx, ds_denoiser_create_conditional(b.model, output, &dn), "stage-2 denoiser");
  } else if (denoise != DENOISE_NONE) {
    cli_check(PROGRAM, ctx, ds_smoother_create(ctx, noise, sigma, &sm), "--sigma");
    cli_check(PROGRAM, ctx, ds_denoiser_create_gradient(a.model, sm, denoise == DENOISE_EXACT
                                                        ? DS_SCORE_EXACT : DS_SCORE_LOCAL, &dn),
              "gradient denoiser");
  }
  float *x = cli_alloc(PROGRAM, sizeof(float) * (size_t)(n * D));
  progress_bar bar;
  progress_start(&bar, "sample", n, common.quiet);
  for (int64_t i0 = 0, c = 0; i0 < n; i0 += chunk, c++) {
    int64_t m = n - i0 < chunk ? n - i0 : chunk;
    uint64_t s = stream * 1000003ull + (uint64_t)c;
    if (dn) cli_check(PROGRAM, ctx, ds_two_stage_sample(a.model, dn, m, s, x + i0 * D), "sampling");
    else cli_check(PROGRAM, ctx, ds_model_sample(a.model, NULL, m, s, method, x + i0 * D), "sampling");
    progress_update(&bar, i0 + m, NULL);
  }
  progress_finish(&bar, NULL);
  double seconds = progress_elapsed(&bar);
  const char *what = stage2_path ? "two-stage samples (stage 1 + stage-2 model)"
                     : denoise == DENOISE_EXACT ? "stage 1 + gradient denoiser (exact score)"
                     : denoise == DENOISE_LOCAL ? "stage 1 + gradient denoiser (local score)"
                     : "samples";
  fprintf(out, "%lld %s of %s in %.2f s (%.2f samples/s)\n", (long long)n, what, model_path,
          seconds, (double)n / seconds);
  if (out_path) {
    cli_write_npy(PROGRAM, out_path, x, n, &a.info);
    fprintf(out, "wrote %s\n", out_path);
  }
  if (png_path) {
    char auto_title[256];
    const char *slash = strrchr(model_path, '/');
    snprintf(auto_title, sizeof auto_title, "%s: %s", slash ? slash + 1 : model_path, what);
    cli_write_png(PROGRAM, png_path, title ? title : auto_title, x, n, &a.info, NULL, per_row);
    fprintf(out, "wrote %s\n", png_path);
  }
  if (common.json) {
    cli_json j;
    json_begin(&j, stdout);
    json_string(&j, "command", "sample");
    json_string(&j, "model", model_path);
    if (stage2_path) json_string(&j, "stage2", stage2_path);
    json_string(&j, "denoise", stage2_path ? "stage2" : denoise == DENOISE_EXACT ? "exact"
                               : denoise == DENOISE_LOCAL ? "local" : "none");
    json_int(&j, "n", n);
    json_int(&j, "dim", D);
    json_string(&j, "out", out_path);
    json_string(&j, "png", png_path);
    json_number(&j, "seconds", seconds);
    json_number(&j, "samples_per_second", (double)n / seconds);
    json_end(&j);
  }
  free(x);
  ds_denoiser_free(dn);
  ds_smoother_free(sm);
  cli_model_free(&a);
  if (stage2_path) cli_model_free(&b);
  ds_context_free(ctx);
  return 0;
}
