/* The dsmooth command-line tool: shared pieces of the subcommands. Exit status 0 on
 * success, 1 when the work fails (a file, the library), 2 for a usage error. */
#ifndef DS_CLI_H
#define DS_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "args.h"
#include "arrays.h"
#include "ckpt_info.h"
#include "dsmooth.h"

/* Options every subcommand has. */
typedef struct cli_common {
  int threads;
  uint64_t seed;
  int json, quiet;
} cli_common;

/* The arg_spec rows of cli_common (threads, seed, json, quiet): append to a table. */
#define CLI_COMMON_SPECS(c)                                                                   \
  {"threads", ARG_INT32, &(c)->threads, "N", "worker threads; 0 = all online cores", 0,       \
   DS_MAX_THREADS, 0, NULL},                                                                   \
  {"seed", ARG_UINT64, &(c)->seed, "S", "seed of the context: weights, shuffling, noise and " \
   "samples are a pure function of it (any thread count)", 0, 0, 0, NULL},                    \
  {"json", ARG_FLAG, &(c)->json, NULL, "print the results as one JSON object on stdout (the " \
   "human-readable lines then go to stderr)", 0, 0, 0, NULL},                                 \
  {"quiet", ARG_FLAG, &(c)->quiet, NULL, "no progress output", 0, 0, 0, NULL}

int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_sample(int argc, char **argv);
int cli_denoise(int argc, char **argv);
int cli_inspect(int argc, char **argv);

/* Context from the common options; exits 1 on failure. */
ds_context *cli_context(const char *program, const cli_common *c);
/* Unless st is DS_OK: "PROGRAM: what: STATUS: detail" on stderr and exit 1. */
void cli_check(const char *program, const ds_context *ctx, ds_status st, const char *what);
/* "PROGRAM: message" on stderr and exit 1. */
void cli_die(const char *program, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void *cli_alloc(const char *program, size_t bytes);

/* Data rows for a model of dimension dim (or any, dim 0); exits 1 with the reason. */
void cli_load_data(const char *program, const char *path, int64_t limit, data_array *out);

/* A loaded model and what its checkpoint says about it. */
typedef struct cli_model {
  ds_model *model;
  ckpt_info info;
  const char *path;
} cli_model;
void cli_load_model(const char *program, ds_context *ctx, const char *path, cli_model *out);
void cli_model_free(cli_model *m);

/* Where human-readable output goes: stdout normally, stderr with --json. */
FILE *cli_out(const cli_common *c);

/* Write n rows of `like` (a model's rows) as .npy (n, ...) shaped like the model's data
 * (vectors (n, D), grayscale images (n, H, W), RGB (n, H, W, 3)). */
void cli_write_npy(const char *program, const char *path, const float *x, int64_t n,
                   const ckpt_info *like);
/* A figure of n rows: an image grid for image models, a 2-D histogram for D = 2 (over
 * [-box, box]^2); other vector sizes: a usage error (exit 2) naming --png. */
void cli_write_png(const char *program, const char *path, const char *title, const float *x,
                   int64_t n, const ckpt_info *like, const char *const *row_labels,
                   int per_row);

/* JSON output: one object, keys in call order. */
typedef struct cli_json {
  FILE *f;
  int first;
} cli_json;
void json_begin(cli_json *j, FILE *f);
void json_string(cli_json *j, const char *key, const char *value);
void json_number(cli_json *j, const char *key, double value);
void json_int(cli_json *j, const char *key, int64_t value);
void json_raw(cli_json *j, const char *key, const char *raw); /* value already JSON */
void json_end(cli_json *j);

#endif
