/* images: the paper's image pipeline on an IDX image data set (Fashion-MNIST by default;
 * MNIST, KMNIST or any other IDX file of square 8-bit images) with PixelCNN++ (or the
 * original masked-convolution PixelCNN with --arch pixelcnn), end to end through the public
 * API: the direct model (discretized), stage 1 (continuous, on smoothed images), stage 2
 * (discretized, conditional on the smoothed image), then bits/dim, denoising error and PNG
 * grids of samples.
 *
 *   images [options]       (images --help lists every option with its default)
 *
 * Data: --train-file/--test-file name the IDX files (gzip'd or not, any name), or --data DIR
 * holds them as train-images-idx3-ubyte[.gz] and t10k-images-idx3-ubyte[.gz] (Fashion-MNIST's
 * and MNIST's names) or train-images.idx3-ubyte / test-images.idx3-ubyte (and -idx3-ubyte).
 * The data set is called by --name, by default the directory's (or the training file's) name.
 * --cond-convs n gives stage 2 n unmasked 3x3 convs over x~ (DS_MODEL_COND_CONVS), --stacked 1
 * the official stacked 2H x W layout (DS_MODEL_COND_LAYOUT); they apply when stage 2 is
 * trained here (a loaded checkpoint keeps its own configuration, which is logged).
 * Each model trains for --minutes of wall time, or for exactly --steps steps (equal budgets
 * for a comparison); a progress bar (plain lines into a log) shows step, loss in bits/dim
 * and images/s. Checkpoints <out>_{direct,stage1,stage2}.dsm are written after training; with
 * --load, a model whose checkpoint already exists is loaded instead of trained (resume a
 * study, or share one direct model between two sigmas); --only trains just the listed models
 * (the others are loaded from their checkpoints; with --train-only they may be missing, so
 * separate processes can train models side by side); --train-only stops after saving and
 * does not read the test file.
 * --downsample 2 averages 2x2 blocks to 14x14 images: about four times cheaper to train
 * and to sample (sampling uses the library's cached sampler). Writes <out>_data.png, <out>_direct.png, <out>_stage1.png,
 * <out>_denoised.png (stage 1 + exact-score gradient step), <out>_two_stage.png (stage 1 +
 * conditional model), <out>_denoising.png (rows: clean, noisy, exact, local, conditional
 * mean) and checkpoints <out>_{direct,stage1,stage2}.dsm; with --save-samples also every
 * sample set as float32 .npy, <out>_{direct,stage1,denoised,two_stage}.npy ((n, S, S), [-1, 1]).
 *
 * --pr-samples N (0 = off) measures sample quality: N samples from each method — the direct
 * model; stage 1 (smoothed samples as they are); stage 1 + one gradient step with the exact
 * score; the same with the local score; stage 1 + the conditional model (two-stage
 * sampling) — against the first N test images (N <= --test), by improved precision and
 * recall with k = 3 (ds_precision_recall), in pixel space and on 2x2 average-pooled images.
 * Values are used as produced (no clipping). The "data" row, the first N training images
 * against the same test images, is the ceiling. Samples are drawn --pr-block images per
 * call, each block from its own random stream (the samples depend on the block size, not
 * on the thread count), with a progress line on stderr. The PNG grids then show the first
 * 16 of these samples (plus <out>_denoised_local.png) instead of --samples new ones.
 *
 * Output for docs/results-images.md: a line "command <argv>" first, then every number as
 * a line "result <name> <value>" (settings, training steps and seconds of the models
 * trained in this process, bits/dim, denoising errors, sampling rates, precision/recall),
 * besides the human-readable lines and table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "args.h"
#include "arrays.h"
#include "ckpt_info.h"
#include "dsmooth.h"
#include "example_util.h"
#include "figures.h"
#include "progress.h"

static ds_context *g_ctx;

#define CHECK(call)                                                                  \
  do {                                                                               \
    ds_status st_ = (call);                                                          \
    if (st_ != DS_OK) {                                                              \
      fprintf(stderr, "images: %s: %s: %s\n", #call, ds_status_str(st_),             \
              ds_context_last_error(g_ctx));                                         \
      exit(1);                                                                       \
    }                                                                                \
  } while (0)

/* Square 8-bit IDX images, at most `limit`: (n, size, size) floats in [-1, 1]. */
static data_array read_images(const char *path, int64_t limit) {
  data_array d;
  char err[512];
  if (data_load(path, limit, &d, err, sizeof err) != 0) {
    fprintf(stderr, "images: %s\n", err);
    exit(1);
  }
  if (d.ndim != 2 || d.shape[0] != d.shape[1] || !d.from_bytes) {
    fprintf(stderr, "images: %s: expected square 8-bit grayscale images (IDX ubyte (n, S, S) or "
            "a uint8 .npy), found %s rows of %lld values\n", path,
            d.from_bytes ? "8-bit" : "float", (long long)d.dim);
    exit(1);
  }
  return d;
}

/* [-1, 1] floats of 8-bit images (n, size, size) -> (n, S*S), S = size / down, down x down
 * blocks averaged and rounded to 8-bit levels. */
static float *to_floats(const float *v, int64_t n, int64_t size, int down) {
  int64_t S = size / down;
  float *x = example_xmalloc("images", sizeof(float) * (size_t)(n * S * S));
  for (int64_t i = 0; i < n; i++)
    for (int64_t r = 0; r < S; r++)
      for (int64_t c = 0; c < S; c++) {
        double acc = 0;
        for (int dr = 0; dr < down; dr++)
          for (int dc = 0; dc < down; dc++) /* back to the byte value */
            acc += round(((double)v[(i * size + r * down + dr) * size + c * down + dc] + 1.0) * 127.5);
        x[(i * S + r) * S + c] = (float)(round(acc / (down * down)) / 127.5 - 1.0);
      }
  return x;
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The first of DIR/name[.gz] over the names that exists, into path; 0 if none. */
static int find_in_dir(const char *dir, const char *const *names, char *path, size_t size) {
  for (int i = 0; names[i]; i++)
    for (int gz = 1; gz >= 0; gz--) {
      snprintf(path, size, "%s/%s%s", dir, names[i], gz ? ".gz" : "");
      if (file_exists(path)) return 1;
    }
  return 0;
}

static void copy_name(char *dst, size_t size, const char *src) {
  size_t n = strlen(src);
  if (n >= size) n = size - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* A data set's name from a path: the last directory component, or the file name. */
static void name_from_path(const char *path, int is_dir, char *name, size_t size) {
  char copy[1024];
  snprintf(copy, sizeof copy, "%s", path);
  size_t len = strlen(copy);
  while (len > 1 && copy[len - 1] == '/') copy[--len] = '\0';
  if (!is_dir) { /* the directory holding the file, unless it is "." */
    char *slash = strrchr(copy, '/');
    if (slash && slash != copy) *slash = '\0';
    else {
      copy_name(name, size, slash ? slash + 1 : copy);
      return;
    }
  }
  char *slash = strrchr(copy, '/');
  copy_name(name, size, slash ? slash + 1 : copy);
}

static const char *g_name = "images"; /* the data set, in figure titles */
static int g_save_samples = 0;          /* --save-samples: .npy next to each grid */

/* Grid of n images (S x S in [-1, 1], clipped), `per_row` per row, titled. */
static void write_grid(const char *out, const char *name, const char *what, const float *x,
                       int64_t n, int64_t S, int per_row, const char *const *row_labels) {
  char path[512], title[256];
  snprintf(path, sizeof path, "%s_%s.png", out, name);
  snprintf(title, sizeof title, "%s: %s", g_name, what);
  if (figure_image_grid(path, title, x, n, (int)S, (int)S, 1, per_row, row_labels) == 0)
    printf("wrote %s\n", path);
  else
    fprintf(stderr, "images: cannot write %s\n", path);
}

/* --save-samples: the n samples of one method as (n, S, S) float32 .npy. */
static void save_samples(const char *out, const char *name, const float *x, int64_t n, int64_t S) {
  if (!g_save_samples) return;
  char path[512];
  int64_t shape[3] = {n, S, S};
  snprintf(path, sizeof path, "%s_%s.npy", out, name);
  if (npy_write_f32(path, x, 3, shape) == 0) printf("wrote %s\n", path);
  else fprintf(stderr, "images: cannot write %s\n", path);
}

typedef struct progress {
  progress_bar bar;
  double start, budget; /* seconds, or 0 with a step budget */
  int64_t D, steps;
} progress;

/* With a step budget the bar counts steps; with a time budget, seconds. */
static int32_t on_progress(void *user, int64_t step, int64_t total, double loss, double eps) {
  (void)total;
  progress *p = user;
  char detail[128];
  snprintf(detail, sizeof detail, "step %lld, loss %.3f bits/dim, %.1f images/s", (long long)step,
           loss / ((double)p->D * log(2.0)), eps);
  int64_t done = p->steps > 0 ? step : (int64_t)(example_now() - p->start);
  if (p->steps == 0 && done > p->bar.total) done = p->bar.total;
  progress_update(&p->bar, done, detail);
  return 0;
}

/* "result <name> <value>": one number for docs/results-images.md, easy to grep. */
static void result(const char *name, double value) { printf("result %s %.10g\n", name, value); }

static void result2(const char *a, const char *b, const char *c, double value) {
  char name[160];
  snprintf(name, sizeof name, "%s%s%s", a, b, c);
  result(name, value);
}

/* --data-init: DS_TRAIN_DATA_INIT of every trainer. */
static int32_t g_data_init = 1;

/* Train for `steps` steps, or (steps 0) for `seconds` of wall time in chunks of 10 steps;
 * reports the steps run and the wall time. */
static void train(ds_model *m, const ds_smoother *sm, const float *x, int64_t n, int64_t batch,
                  double seconds, int64_t steps, const char *name, int64_t D) {
  ds_trainer_config *tc = NULL;
  ds_trainer *t = NULL;
  CHECK(ds_trainer_config_create(&tc));
  CHECK(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, batch));
  CHECK(ds_trainer_config_set_float(tc, DS_TRAIN_LR, 1e-3));
  CHECK(ds_trainer_config_set_float(tc, DS_TRAIN_CLIP_NORM, 100.0));
  CHECK(ds_trainer_config_set_int(tc, DS_TRAIN_DATA_INIT, g_data_init));
  CHECK(ds_trainer_create(m, tc, sm, &t));
  progress p = {{0}, example_now(), seconds, D, steps};
  char label[64];
  snprintf(label, sizeof label, "%s (%s)", name, steps > 0 ? "steps" : "seconds");
  progress_start(&p.bar, label, steps > 0 ? steps : (int64_t)ceil(seconds), 0);
  CHECK(ds_trainer_set_progress(t, on_progress, &p, 10));
  if (steps > 0) CHECK(ds_trainer_train(t, x, NULL, n, steps, NULL));
  else
    while (example_now() - p.start < seconds) CHECK(ds_trainer_train(t, x, NULL, n, 10, NULL));
  double spent = example_now() - p.start;
  progress_finish(&p.bar, NULL);
  printf("%s: %lld steps, %.1f s\n", name, (long long)ds_trainer_step(t), spent);
  result2(name, "_train_steps", "", (double)ds_trainer_step(t));
  result2(name, "_train_seconds", "", spent);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
}

static int64_t g_cond_convs = 0, g_cond_layout = DS_COND_CHANNELS; /* stage 2's conditioning */

/* depth: resnets per level (PixelCNN++) or masked blocks (PixelCNN). */
static ds_model *make(int32_t arch, int64_t S, int64_t filters, int64_t depth, int64_t K,
                      int32_t head, int conditional) {
  ds_model_config *mc = NULL;
  ds_model *m = NULL;
  CHECK(ds_model_config_create(arch, &mc));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_HEIGHT, S));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_WIDTH, S));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_FILTERS, filters));
  CHECK(ds_model_config_set_int(
      mc, arch == DS_ARCH_PIXELCNN ? DS_MODEL_LAYERS : DS_MODEL_RESNETS, depth));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_COMPONENTS, K));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_HEAD, head));
  if (conditional) {
    CHECK(ds_model_config_set_int(mc, DS_MODEL_COND_DIM, S * S));
    if (arch == DS_ARCH_PIXELCNNPP) { /* PixelCNN++'s options */
      CHECK(ds_model_config_set_int(mc, DS_MODEL_COND_LAYOUT, g_cond_layout));
      CHECK(ds_model_config_set_int(mc, DS_MODEL_COND_CONVS, g_cond_convs));
    }
  }
  CHECK(ds_model_create(g_ctx, mc, &m));
  ds_model_config_free(mc);
  return m;
}

/* 2x2 average pooling of n images S x S into (S/2) x (S/2) (an odd last row and column
 * are dropped): the second feature space of the precision/recall table. */
static float *pool2(const float *x, int64_t n, int64_t S) {
  int64_t P = S / 2;
  float *y = malloc(sizeof(float) * (size_t)(n * P * P));
  for (int64_t i = 0; i < n; i++)
    for (int64_t r = 0; r < P; r++)
      for (int64_t c = 0; c < P; c++) {
        const float *a = x + (i * S + 2 * r) * S + 2 * c;
        y[(i * P + r) * P + c] = 0.25f * ((a[0] + a[1]) + (a[S] + a[S + 1]));
      }
  return y;
}

/* n images in calls of `block`: drawn from `model`, or (model NULL) made by `dn` from
 * `in`. Call b uses stream (stream_base << 32) + b. A progress line (images done,
 * images/s, time left) goes to stderr. Returns the wall time in seconds. */
static double generate(const char *name, const ds_model *model, const ds_denoiser *dn,
                       const float *in, int64_t n, int64_t D, int64_t block,
                       uint64_t stream_base, float *out) {
  double t0 = example_now();
  progress_bar bar;
  char label[64];
  snprintf(label, sizeof label, "  %s", name);
  progress_start(&bar, label, n, 0);
  for (int64_t b0 = 0, b = 0; b0 < n; b0 += block, b++) {
    int64_t m = n - b0 < block ? n - b0 : block;
    uint64_t stream = (stream_base << 32) + (uint64_t)b;
    if (model) CHECK(ds_model_sample(model, NULL, m, stream, DS_SAMPLE_BISECTION, out + b0 * D));
    else CHECK(ds_denoiser_apply(dn, in + b0 * D, m, stream, out + b0 * D));
    char detail[64];
    snprintf(detail, sizeof detail, "%.2f images/s", (double)(b0 + m) / (example_now() - t0));
    progress_update(&bar, b0 + m, detail);
  }
  progress_finish(&bar, NULL);
  return example_now() - t0;
}

/* One row of the precision/recall table. */
typedef struct pr_row {
  const char *key, *label;
  double precision[2], recall[2]; /* pixels, pooled */
  double seconds;                 /* this method's own sampling/denoising step; < 0: none */
} pr_row;

/* Precision and recall (k = 3) of `fake` (n, S*S) against the test images, in pixel space
 * (real) and after 2x2 pooling (real_pooled); prints the result lines. */
static void measure(pr_row *row, const float *fake, const float *real, const float *real_pooled,
                    int64_t n, int64_t S) {
  int64_t P = S / 2;
  double t0 = example_now();
  CHECK(ds_precision_recall(g_ctx, real, n, fake, n, S * S, 3, &row->precision[0],
                            &row->recall[0]));
  float *pooled = pool2(fake, n, S);
  CHECK(ds_precision_recall(g_ctx, real_pooled, n, pooled, n, P * P, 3, &row->precision[1],
                            &row->recall[1]));
  free(pooled);
  printf("%-30s precision %.4f recall %.4f (pixels), %.4f %.4f (pooled)  [%.1f s]\n", row->label,
         row->precision[0], row->recall[0], row->precision[1], row->recall[1],
         example_now() - t0);
  result2("pr_pixels_", row->key, "_precision", row->precision[0]);
  result2("pr_pixels_", row->key, "_recall", row->recall[0]);
  result2("pr_pooled_", row->key, "_precision", row->precision[1]);
  result2("pr_pooled_", row->key, "_recall", row->recall[1]);
  if (row->seconds >= 0) {
    result2("sample_", row->key, "_seconds", row->seconds);
    result2("sample_", row->key, "_images_per_second", (double)n / row->seconds);
  }
  fflush(stdout);
}

/* A loaded checkpoint's own network settings (the command line's apply to models trained
 * here only), as a line and as result lines. */
static void log_loaded(const char *model, const char *path) {
  ckpt_info i;
  char err[512];
  if (ckpt_info_read(path, &i, err, sizeof err) != 0) {
    printf("%s: loaded %s (%s)\n", model, path, err);
    return;
  }
  int pp = i.arch == DS_ARCH_PIXELCNNPP;
  printf("%s: loaded %s: %s %llux%llu, %u filters, %u %s, K = %u, %s head", model, path,
         pp ? "PixelCNN++" : i.arch == DS_ARCH_PIXELCNN ? "PixelCNN" : "MADE",
         (unsigned long long)i.height, (unsigned long long)i.width, i.filters, i.depth,
         pp ? "resnets/level" : "masked blocks", i.components, ckpt_head_name(i.head));
  if (i.cond_dim && pp)
    printf(", %s conditioning, %u conditioning convs",
           i.cond_layout == DS_COND_STACKED ? "stacked" : "channel", i.cond_convs);
  printf("\n");
  result2(model, "_loaded_arch", "", i.arch);
  result2(model, "_loaded_filters", "", i.filters);
  result2(model, pp ? "_loaded_resnets" : "_loaded_layers", "", i.depth);
  result2(model, "_loaded_components", "", i.components);
  result2(model, "_loaded_image_size", "", (double)i.height);
}

static double mse(const float *a, const float *b, int64_t n) {
  double acc = 0;
  for (int64_t i = 0; i < n; i++) acc += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
  return acc / (double)n;
}

int main(int argc, char **argv) {
  const char *data = NULL, *out = "images", *train_file = NULL, *test_file = NULL, *name = NULL;
  int64_t ntrain = 2000, ntest = 100, filters = 32, resnets = 2, layers = 5, K = 5, batch = 32;
  int64_t samples = 8;
  int arch_choice = 0, stacked = 0;
  int64_t steps = 0, pr = 0, pr_block = 256;
  const char *only = "direct,stage1,stage2";
  int down = 1, threads = 0, iw = 4, load = 0, train_only = 0, direct_only = 0;
  double sigma = 0.5, minutes = 5;
  uint64_t seed = 1;
  const char *default_dir = "/usr/share/datasets/fashion-mnist";
  const arg_spec specs[] = {
      {"data", ARG_STRING, &data, "DIR", "directory with the IDX files (train-images-idx3-ubyte, "
       "t10k-images-idx3-ubyte or test-images-idx3-ubyte, each .gz or not); default "
       "/usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist)", 0, 0, 0, NULL},
      {"train-file", ARG_STRING, &train_file, "FILE", "the training images (IDX, gzip'd or not, "
       "any name; or a uint8 .npy (n, S, S)) instead of --data", 0, 0, 0, NULL},
      {"test-file", ARG_STRING, &test_file, "FILE", "the test images, likewise", 0, 0, 0, NULL},
      {"name", ARG_STRING, &name, "NAME", "the data set's name in the output (default: the "
       "data directory's name)", 0, 0, 0, NULL},
      {"train", ARG_INT, &ntrain, "N", "training images used (the first N)", 1, 1e9, 0, NULL},
      {"test", ARG_INT, &ntest, "N", "test images used (the first N)", 1, 1e9, 0, NULL},
      {"downsample", ARG_INT32, &down, "1|2", "2 averages 2x2 blocks (28x28 -> 14x14)", 1, 2, 0, NULL},
      {"arch", ARG_CHOICE, &arch_choice, NULL, "network of the models trained here", 0, 0, 0,
       "pixelcnnpp|pixelcnn"},
      {"filters", ARG_INT, &filters, "F", "channels of every hidden layer", 1, 1024, 0, NULL},
      {"resnets", ARG_INT, &resnets, "N", "PixelCNN++: gated resnets per level", 1, 64, 0, NULL},
      {"layers", ARG_INT, &layers, "N", "PixelCNN: gated masked blocks", 1, 64, 0, NULL},
      {"components", ARG_INT, &K, "K", "logistic-mixture components per pixel", 1, 256, 0, NULL},
      {"cond-convs", ARG_INT, &g_cond_convs, "N", "PixelCNN++ stage 2: unmasked 3x3 convs over "
       "x~ (DS_MODEL_COND_CONVS)", 0, 16, 0, NULL},
      {"stacked", ARG_INT32, &stacked, "0|1", "PixelCNN++ stage 2: 1 = the official stacked "
       "2H x W layout", 0, 1, 0, NULL},
      {"batch", ARG_INT, &batch, "N", "images per training step", 1, 1 << 20, 0, NULL},
      {"sigma", ARG_DOUBLE, &sigma, "S", "Gaussian smoothing noise, in [-1, 1] pixel units", 0,
       1e30, 1, NULL},
      {"minutes", ARG_DOUBLE, &minutes, "M", "wall-time budget per model (unless --steps)", 0,
       1e6, 1, NULL},
      {"steps", ARG_INT, &steps, "N", "exact step budget per model; 0 = use --minutes", 0, 1e12,
       0, NULL},
      {"only", ARG_STRING, &only, "LIST", "train only these of direct,stage1,stage2 (the others "
       "are loaded from their checkpoints)", 0, 0, 0, NULL},
      {"load", ARG_FLAG, &load, NULL, "load a model whose checkpoint <out>_<model>.dsm exists "
       "instead of training it", 0, 0, 0, NULL},
      {"train-only", ARG_FLAG, &train_only, NULL, "stop after training and saving (the test "
       "file is not read)", 0, 0, 0, NULL},
      {"samples", ARG_INT, &samples, "N", "samples per grid", 0, 1e6, 0, NULL},
      {"save-samples", ARG_FLAG, &g_save_samples, NULL, "also write every grid's samples as "
       "float32 .npy (<out>_<method>.npy)", 0, 0, 0, NULL},
      {"iw", ARG_INT32, &iw, "K", "importance samples of the two-stage bound", 1, 100000, 0, NULL},
      {"pr-samples", ARG_INT, &pr, "N", "samples per method for precision/recall; 0 = off", 0,
       1e9, 0, NULL},
      {"pr-block", ARG_INT, &pr_block, "N", "images per sampling call for --pr-samples", 1, 1e9,
       0, NULL},
      {"threads", ARG_INT32, &threads, "T", "worker threads; 0 = all online cores", 0,
       DS_MAX_THREADS, 0, NULL},
      {"data-init", ARG_INT32, &g_data_init, "0|1", "data-dependent initialisation of every "
       "model (DS_TRAIN_DATA_INIT)", 0, 1, 0, NULL},
      {"direct-only", ARG_FLAG, &direct_only, NULL, "train (or load) the direct model only and "
       "print its test bits/dim", 0, 0, 0, NULL},
      {"seed", ARG_UINT64, &seed, "S", "seed of the weights, noise and samples", 0, 0, 0, NULL},
      {"out", ARG_STRING, &out, "PREFIX", "prefix of every file written (PNGs, .npy, checkpoints)",
       0, 0, 0, NULL},
  };
  const arg_parser ap = {
      "images", "[options]",
      "The paper's image pipeline on an IDX data set of square 8-bit images: trains the direct "
      "model, stage 1 and stage 2, prints test bits/dim (exact, smoothed, the two-stage bound), "
      "denoising errors and, with --pr-samples, precision/recall of samples; writes PNG grids "
      "and checkpoints. The comment at the top of examples/images.c has the details.",
      specs, (int)(sizeof specs / sizeof specs[0]), 0, 0,
      "Examples:\n"
      "  images --downsample 2 --train 512 --test 16 --minutes 0.5 --filters 16 --resnets 1\n"
      "  images --train-file mnist/train-images-idx3-ubyte --test-file mnist/t10k-images-idx3-ubyte --name MNIST\n"};
  args_parse(&ap, argc, argv);
  int32_t arch = arch_choice == 0 ? DS_ARCH_PIXELCNNPP : DS_ARCH_PIXELCNN;
  g_cond_layout = stacked ? DS_COND_STACKED : DS_COND_CHANNELS;
  if (arch == DS_ARCH_PIXELCNN && (g_cond_convs || g_cond_layout != DS_COND_CHANNELS))
    args_fail(&ap, g_cond_convs ? "cond-convs" : "stacked", "applies to --arch pixelcnnpp");
  if (data && (train_file || test_file))
    args_fail(&ap, "data", "and --train-file/--test-file name the data twice: give one");
  /* resolve the files: explicit names, or the conventional names in a directory */
  char train_path[1024], test_path[1024];
  const char *dir = data ? data : default_dir;
  if (train_file) snprintf(train_path, sizeof train_path, "%s", train_file);
  else {
    static const char *const names[] = {"train-images-idx3-ubyte", "train-images.idx3-ubyte", NULL};
    if (!find_in_dir(dir, names, train_path, sizeof train_path)) {
      fprintf(stderr, "images: no training images in %s (looked for train-images-idx3-ubyte[.gz] "
              "and train-images.idx3-ubyte[.gz])%s\n", dir,
              data ? "; name the files with --train-file/--test-file"
                   : "; install dataset-fashion-mnist or give --data DIR or --train-file");
      return 1;
    }
  }
  if (!train_only) {
    if (test_file) snprintf(test_path, sizeof test_path, "%s", test_file);
    else if (train_file) {
      fprintf(stderr, "images: --train-file needs --test-file too (or --train-only)\n");
      return 2;
    } else {
      static const char *const names[] = {"t10k-images-idx3-ubyte", "test-images-idx3-ubyte",
                                          "test-images.idx3-ubyte", "t10k-images.idx3-ubyte", NULL};
      if (!find_in_dir(dir, names, test_path, sizeof test_path)) {
        fprintf(stderr, "images: no test images in %s (looked for t10k-images-idx3-ubyte[.gz], "
                "test-images-idx3-ubyte[.gz] and test-images.idx3-ubyte[.gz]); name the file "
                "with --test-file, or --train-only\n", dir);
        return 1;
      }
    }
  }
  char data_name[256];
  if (name) snprintf(data_name, sizeof data_name, "%s", name);
  else if (train_file) name_from_path(train_file, 0, data_name, sizeof data_name);
  else name_from_path(dir, 1, data_name, sizeof data_name);
  g_name = data_name;
  printf("command");
  for (int i = 0; i < argc; i++) printf(strpbrk(argv[i], " \t\"'") ? " '%s'" : " %s", argv[i]);
  printf("\n");
  ds_context_options *o = NULL;
  ds_context_options_create(&o);
  ds_context_options_set_threads(o, threads);
  ds_context_options_set_seed(o, seed);
  if (ds_context_create(o, &g_ctx) != DS_OK) return 1;
  ds_context_options_free(o);

  char path[1024];
  data_array dtrain = read_images(train_path, ntrain), dtest = {0};
  int64_t n = dtrain.n, rows = dtrain.shape[0], nt = 0;
  if (!train_only) {
    dtest = read_images(test_path, ntest);
    nt = dtest.n;
    if (dtest.shape[0] != rows) {
      fprintf(stderr, "images: %s has %lldx%lld images, %s %lldx%lld\n", test_path,
              (long long)dtest.shape[0], (long long)dtest.shape[0], train_path, (long long)rows,
              (long long)rows);
      return 1;
    }
  }
  if (rows / down < 4) {
    fprintf(stderr, "images: %lldx%lld images are too small for --downsample %d (at least 4x4)\n",
            (long long)rows, (long long)rows, down);
    return 2;
  }
  int64_t S = rows / down, D = S * S;
  char budget[64];
  if (steps > 0) snprintf(budget, sizeof budget, "%lld steps", (long long)steps);
  else snprintf(budget, sizeof budget, "%.1f min", minutes);
  if (pr > 0 && !train_only && (pr < 4 || pr > nt || pr > n)) {
    fprintf(stderr, "images: --pr-samples %lld needs 4 <= N <= --test (%lld) and <= --train "
            "(%lld) images\n", (long long)pr, (long long)nt, (long long)n);
    return 2;
  }
  float *x = to_floats(dtrain.x, n, rows, down);
  float *xt = train_only ? NULL : to_floats(dtest.x, nt, rows, down);
  data_free(&dtrain);
  data_free(&dtest);
  int pp = arch == DS_ARCH_PIXELCNNPP;
  int64_t depth = pp ? resnets : layers;
  printf("%s: %lld train images (%s), %lld test images (%s) of %lldx%lld\n", g_name,
         (long long)n, train_path, (long long)nt, train_only ? "not read: --train-only" : test_path,
         (long long)S, (long long)S);
  printf("models trained here: %s %lld filters, %lld %s, K = %lld; sigma = %.2f; %s per model, "
         "%d threads\n", pp ? "PixelCNN++" : "PixelCNN",
         (long long)filters, (long long)depth, pp ? "resnets/level" : "gated masked blocks",
         (long long)K, sigma, budget, ds_context_threads(g_ctx));
  result("config_arch", (double)arch);
  result("config_train_images", (double)n);
  result("config_test_images", (double)nt);
  result("config_image_size", (double)S);
  result("config_filters", (double)filters);
  result(pp ? "config_resnets" : "config_layers", (double)depth);
  result("config_components", (double)K);
  result("config_batch", (double)batch);
  result("config_sigma", sigma);
  result(steps > 0 ? "config_steps" : "config_minutes", steps > 0 ? (double)steps : minutes);
  result("config_threads", ds_context_threads(g_ctx));
  result("config_seed", (double)seed);
  result("config_iw_samples", iw);
  result("config_pr_samples", (double)pr);
  result("config_pr_block", (double)pr_block);
  /* grids: --samples images, or the first 16 of the precision/recall samples */
  int64_t shown_samples = pr > 0 ? (pr < 16 ? pr : 16) : samples;
  write_grid(out, "data", "training images", x, shown_samples < n ? shown_samples : n, S, 8, NULL);

  ds_smoother *sm = NULL;
  CHECK(ds_smoother_create(g_ctx, DS_NOISE_GAUSSIAN, sigma, &sm));
  const char *names[3] = {"direct", "stage1", "stage2"};
  ds_model *models[3] = {NULL, NULL, NULL};
  for (int i = 0; i < (direct_only ? 1 : 3); i++) {
    snprintf(path, sizeof path, "%s_%s.dsm", out, names[i]);
    int listed = strstr(only, names[i]) != NULL;
    FILE *f = load || !listed ? fopen(path, "rb") : NULL;
    if (f) {
      fclose(f);
      CHECK(ds_model_load(g_ctx, path, &models[i]));
      log_loaded(names[i], path);
      result2(names[i], "_loaded", "", 1);
      continue;
    }
    if (!listed) {
      if (train_only) continue;
      fprintf(stderr, "images: %s is not in --only and %s does not exist\n", names[i], path);
      return 1;
    }
    models[i] = make(arch, S, filters, depth, K, i == 1 ? DS_HEAD_CONTINUOUS : DS_HEAD_DISCRETIZED,
                     i == 2);
    train(models[i], i == 0 ? NULL : sm, x, n, batch, minutes * 60, steps, names[i], D);
    CHECK(ds_model_save(models[i], path));
    printf("wrote %s\n", path);
  }
  ds_model *direct = models[0], *stage1 = models[1], *stage2 = models[2];
  if (train_only) {
    for (int i = 0; i < 3; i++) ds_model_free(models[i]);
    free(x), free(xt);
    ds_smoother_free(sm);
    ds_context_free(g_ctx);
    return 0;
  }

  /* likelihoods, bits/dim on the test images */
  double *lp = malloc(sizeof(double) * (size_t)nt), acc = 0, ln2D = log(2.0) * (double)D;
  CHECK(ds_model_log_prob(direct, xt, NULL, nt, lp));
  for (int64_t i = 0; i < nt; i++) acc -= lp[i];
  printf("direct model, test bits/dim (exact):                 %.4f\n", acc / (double)nt / ln2D);
  result("direct_test_bpd", acc / (double)nt / ln2D);
  if (direct_only) {
    free(lp);
    ds_model_free(direct);
    free(x), free(xt);
    ds_smoother_free(sm);
    ds_context_free(g_ctx);
    return 0;
  }
  float *noisy = malloc(sizeof(float) * (size_t)(nt * D)), *den = malloc(sizeof(float) * (size_t)(nt * D));
  CHECK(ds_smoother_apply(sm, xt, nt, D, 12345, noisy));
  CHECK(ds_model_log_prob(stage1, noisy, NULL, nt, lp));
  acc = 0;
  for (int64_t i = 0; i < nt; i++) acc -= lp[i];
  printf("stage 1, smoothed test bits/dim ([-1,1] units):      %.4f (+%.3f = 8-bit scale %.4f)\n",
         acc / (double)nt / ln2D, log2(127.5), acc / (double)nt / ln2D + log2(127.5));
  result("stage1_smoothed_test_bpd", acc / (double)nt / ln2D);
  result("stage1_smoothed_test_bpd_8bit_scale", acc / (double)nt / ln2D + log2(127.5));
  CHECK(ds_two_stage_log_prob_bound(stage1, stage2, sm, xt, nt, iw, 7, lp));
  acc = 0;
  for (int64_t i = 0; i < nt; i++) acc -= lp[i];
  printf("two-stage bound (IW, K = %d), test bits/dim:          %.4f\n", iw, acc / (double)nt / ln2D);
  result("two_stage_iw_bound_bpd", acc / (double)nt / ln2D);

  /* denoising the noisy test images */
  printf("denoising error per dim (sigma^2 = %.4f):\n", sigma * sigma);
  int64_t shown = nt < 8 ? nt : 8;
  float *grid = malloc(sizeof(float) * (size_t)(5 * shown * D));
  memcpy(grid, xt, sizeof(float) * (size_t)(shown * D));
  memcpy(grid + shown * D, noisy, sizeof(float) * (size_t)(shown * D));
  const char *kinds[3] = {"exact score", "local score", "conditional mean"};
  const char *kind_keys[3] = {"exact", "local", "conditional_mean"};
  result("denoise_sigma2", sigma * sigma);
  for (int k = 0; k < 3; k++) {
    ds_denoiser *dn = NULL;
    if (k < 2) CHECK(ds_denoiser_create_gradient(stage1, sm, k == 0 ? DS_SCORE_EXACT : DS_SCORE_LOCAL, &dn));
    else CHECK(ds_denoiser_create_conditional(stage2, DS_CONDITIONAL_MEAN, &dn));
    int64_t m = k < 2 ? nt : shown; /* the conditional mean is sampled pixel by pixel */
    double t0 = example_now();
    CHECK(ds_denoiser_apply(dn, noisy, m, 0, den));
    double t = example_now() - t0, err = mse(den, xt, m * D);
    printf("  %-17s %.4f   (%lld images, %.1f s)\n", kinds[k], err, (long long)m, t);
    result2("denoise_mse_", kind_keys[k], "", err);
    result2("denoise_images_", kind_keys[k], "", (double)m);
    result2("denoise_seconds_", kind_keys[k], "", t);
    memcpy(grid + (2 + k) * shown * D, den, sizeof(float) * (size_t)(shown * D));
    ds_denoiser_free(dn);
  }
  static const char *const denoising_rows[5] = {"clean", "noisy", "exact score", "local score",
                                                "cond. mean"};
  char denoising_title[96];
  snprintf(denoising_title, sizeof denoising_title, "denoising test images, sigma = %g", sigma);
  write_grid(out, "denoising", denoising_title, grid, 5 * shown, S, (int)shown, denoising_rows);

  if (pr > 0) {
    /* sample quality: N samples per method against the first N test images */
    const int64_t N = pr, G = shown_samples, P = S / 2;
    printf("sample quality: improved precision/recall, k = 3, %lld samples per method vs the "
           "first %lld test images; pixels %lldx%lld and 2x2-pooled %lldx%lld\n",
           (long long)N, (long long)N, (long long)S, (long long)S, (long long)P, (long long)P);
    pr_row rows_[6] = {{"data", "data (train vs test)", {0}, {0}, -1},
                       {"direct", "direct model", {0}, {0}, 0},
                       {"stage1", "stage 1 (smoothed)", {0}, {0}, 0},
                       {"stage1_exact", "stage 1 + exact-score step", {0}, {0}, 0},
                       {"stage1_local", "stage 1 + local-score step", {0}, {0}, 0},
                       {"two_stage", "two-stage (conditional model)", {0}, {0}, 0}};
    float *real_pooled = pool2(xt, N, S);
    float *s1 = malloc(sizeof(float) * (size_t)(N * D)), *g = malloc(sizeof(float) * (size_t)(N * D));
    measure(&rows_[0], x, xt, real_pooled, N, S);
    rows_[1].seconds = generate("direct model", direct, NULL, NULL, N, D, pr_block, 1, g);
    write_grid(out, "direct", "samples of the direct model", g, G, S, 8, NULL);
    save_samples(out, "direct", g, N, S);
    measure(&rows_[1], g, xt, real_pooled, N, S);
    rows_[2].seconds = generate("stage 1", stage1, NULL, NULL, N, D, pr_block, 2, s1);
    write_grid(out, "stage1", "stage-1 samples (smoothed)", s1, G, S, 8, NULL);
    save_samples(out, "stage1", s1, N, S);
    measure(&rows_[2], s1, xt, real_pooled, N, S);
    for (int k = 0; k < 3; k++) {
      ds_denoiser *dn = NULL;
      if (k < 2) CHECK(ds_denoiser_create_gradient(stage1, sm, k == 0 ? DS_SCORE_EXACT : DS_SCORE_LOCAL, &dn));
      else CHECK(ds_denoiser_create_conditional(stage2, DS_CONDITIONAL_SAMPLE, &dn));
      rows_[3 + k].seconds = generate(rows_[3 + k].label, NULL, dn, s1, N, D, pr_block, 3 + (uint64_t)k, g);
      ds_denoiser_free(dn);
      static const char *const keys[3] = {"denoised", "denoised_local", "two_stage"};
      static const char *const whats[3] = {"stage 1 + gradient step (exact score)",
                                           "stage 1 + gradient step (local score)",
                                           "two-stage samples (stage 1 + stage 2)"};
      write_grid(out, keys[k], whats[k], g, G, S, 8, NULL);
      save_samples(out, keys[k], g, N, S);
      measure(&rows_[3 + k], g, xt, real_pooled, N, S);
    }
    char pix[64], poo[64];
    snprintf(pix, sizeof pix, "pixels %lldx%lld", (long long)S, (long long)S);
    snprintf(poo, sizeof poo, "pooled %lldx%lld", (long long)P, (long long)P);
    printf("\n%-30s %-17s   %-17s   %9s\n", "", pix, poo, "step");
    printf("%-30s %9s %7s   %9s %7s   %9s\n", "method", "precision", "recall", "precision",
           "recall", "images/s");
    for (int r = 0; r < 6; r++) {
      char rate[32] = "-";
      if (rows_[r].seconds > 0) snprintf(rate, sizeof rate, "%.2f", (double)N / rows_[r].seconds);
      printf("%-30s %9.4f %7.4f   %9.4f %7.4f   %9s\n", rows_[r].label, rows_[r].precision[0],
             rows_[r].recall[0], rows_[r].precision[1], rows_[r].recall[1], rate);
    }
    printf("(step images/s: that method's own sampling or denoising call; the last three start "
           "from the stage-1 samples)\n");
    free(real_pooled), free(s1), free(g);
  } else if (samples > 0) {
    /* samples: naive pixel-by-pixel ancestral sampling */
    float *s = malloc(sizeof(float) * (size_t)(samples * D)), *s2 = malloc(sizeof(float) * (size_t)(samples * D));
    double t0 = example_now();
    CHECK(ds_model_sample(direct, NULL, samples, 1, DS_SAMPLE_BISECTION, s));
    printf("sampled %lld images from the direct model in %.1f s\n", (long long)samples, example_now() - t0);
    write_grid(out, "direct", "samples of the direct model", s, samples, S, 8, NULL);
    save_samples(out, "direct", s, samples, S);
    CHECK(ds_model_sample(stage1, NULL, samples, 2, DS_SAMPLE_BISECTION, s));
    write_grid(out, "stage1", "stage-1 samples (smoothed)", s, samples, S, 8, NULL);
    save_samples(out, "stage1", s, samples, S);
    ds_denoiser *dn = NULL;
    CHECK(ds_denoiser_create_gradient(stage1, sm, DS_SCORE_EXACT, &dn));
    CHECK(ds_denoiser_apply(dn, s, samples, 0, s2));
    write_grid(out, "denoised", "stage 1 + gradient step (exact score)", s2, samples, S, 8, NULL);
    save_samples(out, "denoised", s2, samples, S);
    ds_denoiser_free(dn);
    CHECK(ds_denoiser_create_conditional(stage2, DS_CONDITIONAL_SAMPLE, &dn));
    CHECK(ds_denoiser_apply(dn, s, samples, 3, s2));
    write_grid(out, "two_stage", "two-stage samples (stage 1 + stage 2)", s2, samples, S, 8, NULL);
    save_samples(out, "two_stage", s2, samples, S);
    ds_denoiser_free(dn);
    free(s), free(s2);
  }
  free(lp), free(noisy), free(den), free(grid), free(x), free(xt);
  for (int i = 0; i < 3; i++) ds_model_free(models[i]);
  ds_smoother_free(sm);
  ds_context_free(g_ctx);
  return 0;
}
