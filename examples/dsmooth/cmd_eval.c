/* dsmooth eval: negative log-likelihood of data under a model, or the two-stage bound. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "progress.h"

#define PROGRAM "dsmooth eval"

int cli_eval(int argc, char **argv) {
  const char *data = NULL, *model_path = NULL, *stage1_path = NULL, *stage2_path = NULL;
  const char *per_row_path = NULL, *cond_path = NULL;
  double sigma = NAN;
  int noise = DS_NOISE_GAUSSIAN, iw = 4;
  int64_t limit = 0, chunk = 1000;
  uint64_t stream = 0;
  cli_common common = {0, 1, 0, 0};
  const arg_spec specs[] = {
      {"data", ARG_STRING, &data, "FILE", "data to evaluate (.npy, IDX or CSV, as for train)",
       0, 0, 0, NULL},
      {"model", ARG_STRING, &model_path, "MODEL", "one model: log p(x) of the data, or with "
       "--sigma a stage-1 model's log p(x~) of the smoothed data", 0, 0, 0, NULL},
      {"cond", ARG_STRING, &cond_path, "FILE", "with a conditional --model (stage 2): the "
       "conditioning rows c, one per data row; gives log p(x | c)", 0, 0, 0, NULL},
      {"stage1", ARG_STRING, &stage1_path, "MODEL", "stage-1 model p(x~) of the two-stage "
       "model", 0, 0, 0, NULL},
      {"stage2", ARG_STRING, &stage2_path, "MODEL", "stage-2 model p(x | x~): with --stage1 "
       "and --sigma gives the importance-weighted lower bound on log p(x)", 0, 0, 0, NULL},
      {"sigma", ARG_DOUBLE, &sigma, "S", "the noise the stage-1 model was trained with", 0, 1e30,
       1, NULL},
      {"noise", ARG_CHOICE, &noise, NULL, "noise family the models were trained with", 0, 0, 0,
       "gaussian|laplace|uniform"},
      {"iw", ARG_INT32, &iw, "K", "importance samples of the two-stage bound (1 = ELBO)", 1,
       100000, 0, NULL},
      {"stream", ARG_UINT64, &stream, "N", "random stream of the noise draws", 0, 0, 0, NULL},
      {"chunk", ARG_INT, &chunk, "N", "rows per library call (progress granularity; the noise "
       "of row i depends on its chunk)", 1, (double)INT64_MAX, 0, NULL},
      {"log-prob-out", ARG_STRING, &per_row_path, "FILE.npy", "write every row's log p (or "
       "bound) in nats as a float64 .npy (n,)", 0, 0, 0, NULL},
      {"limit", ARG_INT, &limit, "N", "use only the first N rows; 0 = all", 0, (double)INT64_MAX, 0, NULL},
      CLI_COMMON_SPECS(&common),
  };
  const arg_parser ap = {
      PROGRAM, "--data FILE (--model MODEL [--sigma S] | --stage1 MODEL --stage2 MODEL --sigma S) [options]",
      "Mean negative log-likelihood of the rows in nats per example and in bits per dimension. "
      "For a discretized model of 8-bit images this is the usual bits/dim; for a continuous "
      "density of 8-bit data the 8-bit-scale figure (+ log2(127.5) per dimension) is printed "
      "too.",
      specs, (int)(sizeof specs / sizeof specs[0]), 0, 0,
      "Examples:\n"
      "  dsmooth eval --data t10k-images-idx3-ubyte.gz --model direct.dsm\n"
      "  dsmooth eval --data test.npy --stage1 s1.dsm --stage2 s2.dsm --sigma 0.5 --iw 16 --json\n"};
  args_parse(&ap, argc, argv);
  if (!data) args_fail(&ap, "data", "is required (the data to evaluate)");
  int two_stage = stage1_path || stage2_path;
  if (two_stage && model_path)
    args_fail(&ap, "model", "give either --model or --stage1 with --stage2, not both");
  if (!two_stage && !model_path) args_fail(&ap, "model", "is required (or --stage1 and --stage2)");
  if (two_stage && (!stage1_path || !stage2_path))
    args_fail(&ap, stage1_path ? "stage2" : "stage1", "is required with --%s",
              stage1_path ? "stage1" : "stage2");
  if (two_stage && isnan(sigma)) args_fail(&ap, "sigma", "is required for the two-stage bound");
  if (cond_path && (two_stage || !isnan(sigma)))
    args_fail(&ap, "cond", "goes with a conditional --model alone (no --sigma, --stage1/2)");

  FILE *out = cli_out(&common);
  ds_context *ctx = cli_context(PROGRAM, &common);
  cli_model a, b = {0};
  cli_load_model(PROGRAM, ctx, two_stage ? stage1_path : model_path, &a);
  if (two_stage) cli_load_model(PROGRAM, ctx, stage2_path, &b);
  int64_t D = ds_model_dim(a.model);
  int64_t C = ds_model_cond_dim(a.model);
  if (C != 0 && !cond_path)
    cli_die(PROGRAM, "%s is a conditional model p(x | x~): evaluate it as --stage2 with its "
            "stage-1 model, or on given pairs with --cond", a.path);
  if (C == 0 && cond_path) cli_die(PROGRAM, "--cond: %s is not a conditional model", a.path);
  if (two_stage && (ds_model_cond_dim(b.model) != D || ds_model_dim(b.model) != D))
    cli_die(PROGRAM, "%s is not a stage-2 model for %s (needs D = C = %lld)", b.path, a.path,
            (long long)D);
  data_array d;
  cli_load_data(PROGRAM, data, limit, &d);
  if (d.dim != D)
    cli_die(PROGRAM, "%s has rows of %lld values, the model %s has D = %lld", data,
            (long long)d.dim, a.path, (long long)D);
  data_array cd = {0};
  if (cond_path) {
    cli_load_data(PROGRAM, cond_path, limit, &cd);
    if (cd.n != d.n || cd.dim != C)
      cli_die(PROGRAM, "--cond %s has %lld rows of %lld values; needs %lld rows of C = %lld",
              cond_path, (long long)cd.n, (long long)cd.dim, (long long)d.n, (long long)C);
  }
  ds_smoother *sm = NULL;
  if (!isnan(sigma)) cli_check(PROGRAM, ctx, ds_smoother_create(ctx, noise, sigma, &sm), "--sigma");

  double *lp = cli_alloc(PROGRAM, sizeof(double) * (size_t)d.n);
  float *noisy = sm && !two_stage ? cli_alloc(PROGRAM, sizeof(float) * (size_t)(d.n * D)) : NULL;
  progress_bar bar;
  progress_start(&bar, "eval", d.n, common.quiet);
  for (int64_t i0 = 0, c = 0; i0 < d.n; i0 += chunk, c++) {
    int64_t m = d.n - i0 < chunk ? d.n - i0 : chunk;
    const float *x = d.x + i0 * D;
    uint64_t s = stream * 1000003ull + (uint64_t)c;
    if (two_stage)
      cli_check(PROGRAM, ctx, ds_two_stage_log_prob_bound(a.model, b.model, sm, x, m, iw, s, lp + i0),
                "two-stage bound");
    else if (sm) {
      cli_check(PROGRAM, ctx, ds_smoother_apply(sm, x, m, D, s, noisy + i0 * D), "smoothing");
      cli_check(PROGRAM, ctx, ds_model_log_prob(a.model, noisy + i0 * D, NULL, m, lp + i0), "log p");
    } else
      cli_check(PROGRAM, ctx, ds_model_log_prob(a.model, x, cd.x ? cd.x + i0 * C : NULL, m, lp + i0),
                "log p");
    progress_update(&bar, i0 + m, NULL);
  }
  progress_finish(&bar, NULL);
  if (per_row_path && npy_write_f64(per_row_path, lp, d.n) != 0)
    cli_die(PROGRAM, "cannot write %s: %s", per_row_path, strerror(errno));
  double sum = 0, sq = 0;
  for (int64_t i = 0; i < d.n; i++) sum -= lp[i], sq += lp[i] * lp[i];
  double nll = sum / (double)d.n, bpd = nll / ((double)D * log(2.0));
  double sd = d.n > 1 ? sqrt(fmax(0, (sq - (double)d.n * nll * nll) / (double)(d.n - 1))) : 0;
  /* continuous densities of 8-bit data in [-1, 1] units: the 8-bit scale adds log2(127.5) */
  int continuous = two_stage ? b.info.head == DS_HEAD_CONTINUOUS : a.info.head == DS_HEAD_CONTINUOUS;
  const char *what = two_stage ? "two-stage bound" : sm ? "smoothed data" : "data";
  fprintf(out, "%s: %lld rows of %lld values\n", data, (long long)d.n, (long long)D);
  fprintf(out, "%s%s: NLL %.6f nats/example (sd %.4f), %.6f bits/dim\n", what,
          two_stage ? "" : " under the model", nll, sd, bpd);
  if (two_stage) fprintf(out, "(importance-weighted lower bound on log p(x), K = %d)\n", iw);
  if (continuous && d.from_bytes)
    fprintf(out, "8-bit scale: %.6f bits/dim\n", bpd + log2(127.5));
  if (common.json) {
    cli_json j;
    json_begin(&j, stdout);
    json_string(&j, "command", "eval");
    json_string(&j, "data", data);
    json_string(&j, "quantity", two_stage ? "two_stage_bound" : sm ? "smoothed_nll"
                                : cond_path ? "conditional_nll" : "nll");
    if (two_stage) {
      json_string(&j, "stage1", stage1_path);
      json_string(&j, "stage2", stage2_path);
      json_int(&j, "iw", iw);
    } else json_string(&j, "model", model_path);
    if (sm) json_number(&j, "sigma", sigma);
    json_int(&j, "rows", d.n);
    json_int(&j, "dim", D);
    json_number(&j, "nll_nats", nll);
    json_number(&j, "nll_sd_nats", sd);
    json_number(&j, "bits_per_dim", bpd);
    if (continuous && d.from_bytes) json_number(&j, "bits_per_dim_8bit_scale", bpd + log2(127.5));
    json_number(&j, "seconds", progress_elapsed(&bar));
    json_end(&j);
  }
  free(lp);
  free(noisy);
  ds_smoother_free(sm);
  data_free(&d);
  data_free(&cd);
  cli_model_free(&a);
  if (two_stage) cli_model_free(&b);
  ds_context_free(ctx);
  return 0;
}
