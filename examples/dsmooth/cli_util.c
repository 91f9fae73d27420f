#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "figures.h"

void cli_die(const char *program, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", program);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

void cli_check(const char *program, const ds_context *ctx, ds_status st, const char *what) {
  if (st == DS_OK) return;
  cli_die(program, "%s: %s: %s", what, ds_status_str(st), ds_context_last_error(ctx));
}

void *cli_alloc(const char *program, size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  if (!p) cli_die(program, "out of memory (%zu bytes)", bytes);
  return p;
}

ds_context *cli_context(const char *program, const cli_common *c) {
  ds_context_options *o = NULL;
  ds_context *ctx = NULL;
  cli_check(program, NULL, ds_context_options_create(&o), "context options");
  cli_check(program, NULL, ds_context_options_set_threads(o, c->threads), "--threads");
  cli_check(program, NULL, ds_context_options_set_seed(o, c->seed), "--seed");
  ds_status st = ds_context_create(o, &ctx);
  ds_context_options_free(o);
  cli_check(program, NULL, st, "creating the context");
  return ctx;
}

void cli_load_data(const char *program, const char *path, int64_t limit, data_array *out) {
  char err[512];
  if (data_load(path, limit, out, err, sizeof err) != 0) cli_die(program, "%s", err);
}

void cli_load_model(const char *program, ds_context *ctx, const char *path, cli_model *out) {
  char err[512];
  memset(out, 0, sizeof *out);
  out->path = path;
  if (ckpt_info_read(path, &out->info, err, sizeof err) != 0) cli_die(program, "%s", err);
  if (out->info.kind != 1)
    cli_die(program, "%s is a trainer state; the subcommands take model checkpoints (the file "
            "written by 'dsmooth train --out')", path);
  ds_status st = ds_model_load(ctx, path, &out->model);
  if (st != DS_OK)
    cli_die(program, "cannot load %s: %s: %s", path, ds_status_str(st), ds_context_last_error(ctx));
}

void cli_model_free(cli_model *m) {
  ds_model_free(m->model);
  m->model = NULL;
}

FILE *cli_out(const cli_common *c) { return c->json ? stderr : stdout; }

static int is_image(const ckpt_info *i) {
  return i->arch == DS_ARCH_PIXELCNNPP || i->arch == DS_ARCH_PIXELCNN;
}

void cli_write_npy(const char *program, const char *path, const float *x, int64_t n,
                   const ckpt_info *like) {
  int64_t shape[4] = {n, (int64_t)like->dim, 0, 0};
  int ndim = 2;
  if (is_image(like)) {
    shape[1] = (int64_t)like->height;
    shape[2] = (int64_t)like->width;
    shape[3] = like->channels;
    ndim = like->channels == 1 ? 3 : 4;
  }
  if (npy_write_f32(path, x, ndim, shape) != 0)
    cli_die(program, "cannot write %s: %s", path, strerror(errno));
}

static int compare_floats(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

void cli_write_png(const char *program, const char *path, const char *title, const float *x,
                   int64_t n, const ckpt_info *like, const char *const *row_labels,
                   int per_row) {
  int rc;
  if (is_image(like)) {
    rc = figure_image_grid(path, title, x, n, (int)like->height, (int)like->width,
                           (int)like->channels, per_row, row_labels);
  } else if (like->dim == 2) {
    /* the box: a half-integer covering 99.5% of the coordinates (outliers fall outside) */
    float *mag = cli_alloc(program, sizeof(float) * (size_t)(2 * n));
    int64_t m = 0;
    for (int64_t i = 0; i < 2 * n; i++)
      if (isfinite(x[i])) mag[m++] = fabsf(x[i]);
    qsort(mag, (size_t)m, sizeof(float), compare_floats);
    double box = m ? mag[(size_t)((double)(m - 1) * 0.995)] : 1;
    free(mag);
    box = box > 0 ? ceil(box * 2) / 2 : 1;
    const float *pts[1] = {x};
    const char *titles[1] = {""}; /* the figure's title says it */
    rc = figure_density_panels(path, title, pts, &n, titles, 1, box, 100, 3);
  } else {
    fprintf(stderr, "%s: --png: a figure needs an image model or 2-D vectors (this model has "
            "D = %llu); the .npy output has the values\n", program, (unsigned long long)like->dim);
    exit(2);
  }
  if (rc != 0) cli_die(program, "cannot write %s: %s", path, strerror(errno));
}

/* ---- JSON ------------------------------------------------------------------------------ */

static void json_quoted(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch == '\n') fputs("\\n", f);
    else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

static void json_key(cli_json *j, const char *key) {
  fputs(j->first ? "{" : ", ", j->f);
  j->first = 0;
  json_quoted(j->f, key);
  fputs(": ", j->f);
}

void json_begin(cli_json *j, FILE *f) { j->f = f, j->first = 1; }
void json_string(cli_json *j, const char *key, const char *value) {
  json_key(j, key);
  if (value) json_quoted(j->f, value);
  else fputs("null", j->f);
}
void json_number(cli_json *j, const char *key, double value) {
  json_key(j, key);
  if (isfinite(value)) { /* the shortest of %.15g..%.17g that reads back exactly */
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
      snprintf(buf, sizeof buf, "%.*g", digits, value);
      if (strtod(buf, NULL) == value) break;
    }
    fputs(buf, j->f);
  }
  else fputs("null", j->f); /* JSON has no NaN/Inf */
}
void json_int(cli_json *j, const char *key, int64_t value) {
  json_key(j, key);
  fprintf(j->f, "%lld", (long long)value);
}
void json_raw(cli_json *j, const char *key, const char *raw) {
  json_key(j, key);
  fputs(raw, j->f);
}
void json_end(cli_json *j) {
  fputs(j->first ? "{}\n" : "}\n", j->f);
  fflush(j->f);
}
