/* images: the paper's image pipeline on Fashion-MNIST with PixelCNN++ (or the original
 * masked-convolution PixelCNN with --arch pixelcnn), end to end through
 * the public API: the direct model (discretized), stage 1 (continuous, on smoothed images),
 * stage 2 (discretized, conditional on the smoothed image), then bits/dim, denoising error
 * and PNG grids of samples.
 *
 *   images [--data /usr/share/datasets/fashion-mnist] [--train 2000] [--test 100]
 *          [--downsample 1|2] [--arch pixelcnnpp|pixelcnn] [--filters 32]
 *          [--resnets 2 (PixelCNN++)] [--layers 5 (PixelCNN)] [--components 5] [--batch 32]
 *          [--sigma 0.5] [--minutes 5 | --steps N] [--samples 8] [--iw 4] [--threads 0]
 *          [--seed 1] [--load] [--only direct,stage1,stage2] [--train-only] [--out images]
 *          [--pr-samples 0] [--pr-block 256] [--cond-convs 0] [--stacked 0]
 *
 * --cond-convs n gives stage 2 n unmasked 3x3 convs over x~ (DS_MODEL_COND_CONVS), --stacked 1
 * the official stacked 2H x W layout (DS_MODEL_COND_LAYOUT); they apply when stage 2 is
 * trained here (a loaded checkpoint keeps its own configuration).
 * Each model trains for --minutes of wall time, or for exactly --steps steps (equal budgets
 * for a comparison); a progress line shows step, loss in bits/dim, images/s and the time
 * left. Checkpoints <out>_{direct,stage1,stage2}.dsm are written after training; with
 * --load, a model whose checkpoint already exists is loaded instead of trained (resume a
 * study, or share one direct model between two sigmas); --only trains just the listed models
 * (the others are loaded from their checkpoints; with --train-only they may be missing, so
 * separate processes can train models side by side); --train-only stops after saving.
 * --downsample 2 averages 2x2 blocks to 14x14 images: about four times cheaper to train
 * and to sample (sampling uses the library's cached sampler). Writes <out>_data.png, <out>_direct.png, <out>_stage1.png,
 * <out>_denoised.png (stage 1 + exact-score gradient step), <out>_two_stage.png (stage 1 +
 * conditional model), <out>_denoising.png (rows: clean, noisy, exact, local, conditional
 * mean) and checkpoints <out>_{direct,stage1,stage2}.dsm.
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
#include <zlib.h>

#include "dsmooth.h"
#include "example_util.h"
#include "png.h"

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

/* IDX images (gzip): returns (n, rows, cols) bytes, at most `limit` images. */
static uint8_t *read_idx(const char *path, int64_t limit, int64_t *n, int64_t *rows,
                         int64_t *cols) {
  gzFile f = gzopen(path, "rb");
  if (!f) {
    fprintf(stderr, "images: cannot open %s (install dataset-fashion-mnist)\n", path);
    exit(1);
  }
  unsigned char h[16];
  if (gzread(f, h, 16) != 16 || h[2] != 8 || h[3] != 3) {
    fprintf(stderr, "images: %s is not an IDX image file\n", path);
    exit(1);
  }
  int64_t dims[3];
  for (int i = 0; i < 3; i++)
    dims[i] = (int64_t)h[4 + 4 * i] << 24 | h[5 + 4 * i] << 16 | h[6 + 4 * i] << 8 | h[7 + 4 * i];
  *n = dims[0] < limit ? dims[0] : limit;
  *rows = dims[1];
  *cols = dims[2];
  size_t bytes = (size_t)(*n * *rows * *cols);
  uint8_t *data = malloc(bytes);
  if (gzread(f, data, (unsigned)bytes) != (int)bytes) {
    fprintf(stderr, "images: %s is truncated\n", path);
    exit(1);
  }
  gzclose(f);
  return data;
}

/* bytes -> [-1, 1] floats (n, S*S), S = size / down, 2x2 blocks averaged to 8-bit levels. */
static float *to_floats(const uint8_t *b, int64_t n, int64_t size, int down) {
  int64_t S = size / down;
  float *x = malloc(sizeof(float) * (size_t)(n * S * S));
  for (int64_t i = 0; i < n; i++)
    for (int64_t r = 0; r < S; r++)
      for (int64_t c = 0; c < S; c++) {
        double acc = 0;
        for (int dr = 0; dr < down; dr++)
          for (int dc = 0; dc < down; dc++) acc += b[(i * size + r * down + dr) * size + c * down + dc];
        x[(i * S + r) * S + c] = (float)(round(acc / (down * down)) / 127.5 - 1.0);
      }
  return x;
}

/* Grid of n images (S x S in [-1, 1], clipped), `per_row` per row, scale 3. */
static void write_grid(const char *out, const char *name, const float *x, int64_t n, int64_t S,
                       int per_row) {
  int scale = 3, cell = (int)S * scale + 2, rows = (int)((n + per_row - 1) / per_row);
  canvas cv;
  if (canvas_init(&cv, per_row * cell + 2, rows * cell + 2, 40) != 0) return;
  for (int64_t i = 0; i < n; i++)
    for (int64_t r = 0; r < S * scale; r++)
      for (int64_t c = 0; c < S * scale; c++) {
        double v = x[(i * S + r / scale) * S + c / scale];
        v = v < -1 ? -1 : v > 1 ? 1 : v;
        uint8_t g = (uint8_t)lround((v + 1) * 127.5);
        int64_t px = 2 + (i % per_row) * cell + c, py = 2 + (i / per_row) * cell + r;
        uint8_t *p = cv.rgb + (py * cv.width + px) * 3;
        p[0] = p[1] = p[2] = g;
      }
  char path[512];
  snprintf(path, sizeof path, "%s_%s.png", out, name);
  if (png_write_rgb(path, cv.rgb, cv.width, cv.height) == 0) printf("wrote %s\n", path);
  canvas_free(&cv);
}

typedef struct progress {
  const char *name;
  double start, budget; /* seconds, or 0 with a step budget */
  int64_t D, steps;
} progress;

static int32_t on_progress(void *user, int64_t step, int64_t total, double loss, double eps) {
  (void)total;
  const progress *p = user;
  double spent = example_now() - p->start;
  double left = p->steps > 0 ? spent / (double)step * (double)(p->steps - step)
                             : p->budget - spent;
  printf("\r%-7s step %6lld  loss %.3f bits/dim  %6.1f images/s  %4.0f s left ", p->name,
         (long long)step, loss / ((double)p->D * log(2.0)), eps, left > 0 ? left : 0);
  fflush(stdout);
  return 0;
}

/* "result <name> <value>": one number for docs/results-images.md, easy to grep. */
static void result(const char *name, double value) { printf("result %s %.10g\n", name, value); }

static void result2(const char *a, const char *b, const char *c, double value) {
  char name[160];
  snprintf(name, sizeof name, "%s%s%s", a, b, c);
  result(name, value);
}

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
  CHECK(ds_trainer_create(m, tc, sm, &t));
  progress p = {name, example_now(), seconds, D, steps};
  CHECK(ds_trainer_set_progress(t, on_progress, &p, 10));
  if (steps > 0) CHECK(ds_trainer_train(t, x, NULL, n, steps, NULL));
  else
    while (example_now() - p.start < seconds) CHECK(ds_trainer_train(t, x, NULL, n, 10, NULL));
  double spent = example_now() - p.start;
  printf("\n%s: %lld steps, %.1f s\n", name, (long long)ds_trainer_step(t), spent);
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

static const char *duration(double seconds, char *buf, size_t size) {
  long s = seconds > 0 && seconds < 1e8 ? lround(seconds) : 0;
  snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  return buf;
}

/* n images in calls of `block`: drawn from `model`, or (model NULL) made by `dn` from
 * `in`. Call b uses stream (stream_base << 32) + b. A progress line (images done,
 * images/s, time left) goes to stderr. Returns the wall time in seconds. */
static double generate(const char *name, const ds_model *model, const ds_denoiser *dn,
                       const float *in, int64_t n, int64_t D, int64_t block,
                       uint64_t stream_base, float *out) {
  double t0 = example_now();
  char eta[32];
  fprintf(stderr, "  %-30s %7d/%lld images", name, 0, (long long)n);
  for (int64_t b0 = 0, b = 0; b0 < n; b0 += block, b++) {
    int64_t m = n - b0 < block ? n - b0 : block;
    uint64_t stream = (stream_base << 32) + (uint64_t)b;
    if (model) CHECK(ds_model_sample(model, NULL, m, stream, DS_SAMPLE_BISECTION, out + b0 * D));
    else CHECK(ds_denoiser_apply(dn, in + b0 * D, m, stream, out + b0 * D));
    double spent = example_now() - t0, rate = (double)(b0 + m) / spent;
    fprintf(stderr, "\r  %-30s %7lld/%lld images  %8.2f images/s  %s left ", name,
            (long long)(b0 + m), (long long)n, rate,
            duration((double)(n - b0 - m) / rate, eta, sizeof eta));
    fflush(stderr);
  }
  fprintf(stderr, "\n");
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

static double mse(const float *a, const float *b, int64_t n) {
  double acc = 0;
  for (int64_t i = 0; i < n; i++) acc += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
  return acc / (double)n;
}

int main(int argc, char **argv) {
  const char *data = "/usr/share/datasets/fashion-mnist", *out = "images";
  int64_t ntrain = 2000, ntest = 100, filters = 32, resnets = 2, layers = 5, K = 5, batch = 32;
  int64_t samples = 8;
  int32_t arch = DS_ARCH_PIXELCNNPP;
  int64_t steps = 0, pr = 0, pr_block = 256;
  const char *only = "direct,stage1,stage2";
  int down = 1, threads = 0, iw = 4, load = 0, train_only = 0;
  double sigma = 0.5, minutes = 5;
  uint64_t seed = 1;
  for (int i = 1; i < argc; i += 2) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(k, "--load")) load = 1, i--;
    else if (!strcmp(k, "--train-only")) train_only = 1, i--;
    else if (i + 1 >= argc) {
      fprintf(stderr, "images: %s needs a value\n", k);
      return 2;
    } else if (!strcmp(k, "--data")) data = v;
    else if (!strcmp(k, "--train")) ntrain = atoll(v);
    else if (!strcmp(k, "--test")) ntest = atoll(v);
    else if (!strcmp(k, "--downsample")) down = atoi(v) == 2 ? 2 : 1;
    else if (!strcmp(k, "--filters")) filters = atoll(v);
    else if (!strcmp(k, "--resnets")) resnets = atoll(v);
    else if (!strcmp(k, "--layers")) layers = atoll(v);
    else if (!strcmp(k, "--arch") && (!strcmp(v, "pixelcnnpp") || !strcmp(v, "pixelcnn")))
      arch = strcmp(v, "pixelcnn") ? DS_ARCH_PIXELCNNPP : DS_ARCH_PIXELCNN;
    else if (!strcmp(k, "--components")) K = atoll(v);
    else if (!strcmp(k, "--batch")) batch = atoll(v);
    else if (!strcmp(k, "--sigma")) sigma = atof(v);
    else if (!strcmp(k, "--minutes")) minutes = atof(v);
    else if (!strcmp(k, "--steps")) steps = atoll(v);
    else if (!strcmp(k, "--cond-convs")) g_cond_convs = atoll(v);
    else if (!strcmp(k, "--stacked")) g_cond_layout = atoi(v) ? DS_COND_STACKED : DS_COND_CHANNELS;
    else if (!strcmp(k, "--only")) only = v;
    else if (!strcmp(k, "--samples")) samples = atoll(v);
    else if (!strcmp(k, "--pr-samples")) pr = atoll(v);
    else if (!strcmp(k, "--pr-block")) pr_block = atoll(v);
    else if (!strcmp(k, "--iw")) iw = atoi(v);
    else if (!strcmp(k, "--threads")) threads = atoi(v);
    else if (!strcmp(k, "--seed")) seed = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--out")) out = v;
    else {
      fprintf(stderr, "images: unknown option %s\n", k);
      return 2;
    }
  }
  if (arch == DS_ARCH_PIXELCNN && (g_cond_convs || g_cond_layout != DS_COND_CHANNELS)) {
    fprintf(stderr, "images: --cond-convs and --stacked apply to --arch pixelcnnpp\n");
    return 2;
  }
  if (pr < 0 || pr_block < 1) {
    fprintf(stderr, "images: need --pr-samples >= 0 and --pr-block >= 1\n");
    return 2;
  }
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
  int64_t n, rows, cols, nt;
  snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", data);
  uint8_t *btrain = read_idx(path, ntrain, &n, &rows, &cols);
  snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", data);
  uint8_t *btest = read_idx(path, ntest, &nt, &rows, &cols);
  int64_t S = rows / down, D = S * S;
  char budget[64];
  if (steps > 0) snprintf(budget, sizeof budget, "%lld steps", (long long)steps);
  else snprintf(budget, sizeof budget, "%.1f min", minutes);
  if (pr > 0 && !train_only && (pr < 4 || pr > nt || pr > n)) {
    fprintf(stderr, "images: --pr-samples %lld needs 4 <= N <= --test (%lld) and <= --train "
            "(%lld) images\n", (long long)pr, (long long)nt, (long long)n);
    return 2;
  }
  float *x = to_floats(btrain, n, rows, down), *xt = to_floats(btest, nt, rows, down);
  int pp = arch == DS_ARCH_PIXELCNNPP;
  int64_t depth = pp ? resnets : layers;
  printf("Fashion-MNIST: %lld train, %lld test images of %lldx%lld; %s %lld filters, "
         "%lld %s, K = %lld; sigma = %.2f; %s per model, %d threads\n",
         (long long)n, (long long)nt, (long long)S, (long long)S, pp ? "PixelCNN++" : "PixelCNN",
         (long long)filters, (long long)depth, pp ? "resnets/level" : "gated masked blocks",
         (long long)K, sigma, budget, ds_context_threads(g_ctx));
  if (load)
    printf("(settings of the network and training apply to models trained in this run; a "
           "loaded checkpoint keeps its own)\n");
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
  write_grid(out, "data", x, shown_samples < n ? shown_samples : n, S, 8);

  ds_smoother *sm = NULL;
  CHECK(ds_smoother_create(g_ctx, DS_NOISE_GAUSSIAN, sigma, &sm));
  const char *names[3] = {"direct", "stage1", "stage2"};
  ds_model *models[3] = {NULL, NULL, NULL};
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s_%s.dsm", out, names[i]);
    int listed = strstr(only, names[i]) != NULL;
    FILE *f = load || !listed ? fopen(path, "rb") : NULL;
    if (f) {
      fclose(f);
      CHECK(ds_model_load(g_ctx, path, &models[i]));
      printf("%s: loaded %s\n", names[i], path);
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
    free(x), free(xt), free(btrain), free(btest);
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
  write_grid(out, "denoising", grid, 5 * shown, S, (int)shown);

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
    write_grid(out, "direct", g, G, S, 8);
    measure(&rows_[1], g, xt, real_pooled, N, S);
    rows_[2].seconds = generate("stage 1", stage1, NULL, NULL, N, D, pr_block, 2, s1);
    write_grid(out, "stage1", s1, G, S, 8);
    measure(&rows_[2], s1, xt, real_pooled, N, S);
    for (int k = 0; k < 3; k++) {
      ds_denoiser *dn = NULL;
      if (k < 2) CHECK(ds_denoiser_create_gradient(stage1, sm, k == 0 ? DS_SCORE_EXACT : DS_SCORE_LOCAL, &dn));
      else CHECK(ds_denoiser_create_conditional(stage2, DS_CONDITIONAL_SAMPLE, &dn));
      rows_[3 + k].seconds = generate(rows_[3 + k].label, NULL, dn, s1, N, D, pr_block, 3 + (uint64_t)k, g);
      ds_denoiser_free(dn);
      write_grid(out, k == 0 ? "denoised" : k == 1 ? "denoised_local" : "two_stage", g, G, S, 8);
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
    write_grid(out, "direct", s, samples, S, 8);
    CHECK(ds_model_sample(stage1, NULL, samples, 2, DS_SAMPLE_BISECTION, s));
    write_grid(out, "stage1", s, samples, S, 8);
    ds_denoiser *dn = NULL;
    CHECK(ds_denoiser_create_gradient(stage1, sm, DS_SCORE_EXACT, &dn));
    CHECK(ds_denoiser_apply(dn, s, samples, 0, s2));
    write_grid(out, "denoised", s2, samples, S, 8);
    ds_denoiser_free(dn);
    CHECK(ds_denoiser_create_conditional(stage2, DS_CONDITIONAL_SAMPLE, &dn));
    CHECK(ds_denoiser_apply(dn, s, samples, 3, s2));
    write_grid(out, "two_stage", s2, samples, S, 8);
    ds_denoiser_free(dn);
    free(s), free(s2);
  }
  free(lp), free(noisy), free(den), free(grid), free(x), free(xt), free(btrain), free(btest);
  for (int i = 0; i < 3; i++) ds_model_free(models[i]);
  ds_smoother_free(sm);
  ds_context_free(g_ctx);
  return 0;
}
