/* images: the paper's image pipeline on Fashion-MNIST with PixelCNN++, end to end through
 * the public API: the direct model (discretized), stage 1 (continuous, on smoothed images),
 * stage 2 (discretized, conditional on the smoothed image), then bits/dim, denoising error
 * and PNG grids of samples.
 *
 *   images [--data /usr/share/datasets/fashion-mnist] [--train 2000] [--test 100]
 *          [--downsample 1|2] [--filters 32] [--resnets 2] [--components 5] [--batch 32]
 *          [--sigma 0.5] [--minutes 5 | --steps N] [--samples 8] [--iw 4] [--threads 0]
 *          [--seed 1] [--load] [--only direct,stage1,stage2] [--train-only] [--out images]
 *
 * Each model trains for --minutes of wall time, or for exactly --steps steps (equal budgets
 * for a comparison); a progress line shows step, loss in bits/dim, images/s and the time
 * left. Checkpoints <out>_{direct,stage1,stage2}.dsm are written after training; with
 * --load, a model whose checkpoint already exists is loaded instead of trained (resume a
 * study, or share one direct model between two sigmas); --only trains just the listed models
 * (the others are loaded from their checkpoints; with --train-only they may be missing, so
 * separate processes can train models side by side); --train-only stops after saving. --downsample 2 averages 2x2 blocks to 14x14
 * images: four times cheaper, sixteen times cheaper to sample (naive sampling runs the
 * network once per pixel). Writes <out>_data.png, <out>_direct.png, <out>_stage1.png,
 * <out>_denoised.png (stage 1 + exact-score gradient step), <out>_two_stage.png (stage 1 +
 * conditional model), <out>_denoising.png (rows: clean, noisy, exact, local, conditional
 * mean) and checkpoints <out>_{direct,stage1,stage2}.dsm. */
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

/* Train for `steps` steps, or (steps 0) for `seconds` of wall time in chunks of 10 steps. */
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
  printf("\n%s: %.1f s\n", name, example_now() - p.start);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
}

static ds_model *make(int64_t S, int64_t filters, int64_t resnets, int64_t K, int32_t head,
                      int conditional) {
  ds_model_config *mc = NULL;
  ds_model *m = NULL;
  CHECK(ds_model_config_create(DS_ARCH_PIXELCNNPP, &mc));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_HEIGHT, S));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_WIDTH, S));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_FILTERS, filters));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_RESNETS, resnets));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_COMPONENTS, K));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_HEAD, head));
  if (conditional) CHECK(ds_model_config_set_int(mc, DS_MODEL_COND_DIM, S * S));
  CHECK(ds_model_create(g_ctx, mc, &m));
  ds_model_config_free(mc);
  return m;
}

static double mse(const float *a, const float *b, int64_t n) {
  double acc = 0;
  for (int64_t i = 0; i < n; i++) acc += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
  return acc / (double)n;
}

int main(int argc, char **argv) {
  const char *data = "/usr/share/datasets/fashion-mnist", *out = "images";
  int64_t ntrain = 2000, ntest = 100, filters = 32, resnets = 2, K = 5, batch = 32, samples = 8;
  int64_t steps = 0;
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
    else if (!strcmp(k, "--components")) K = atoll(v);
    else if (!strcmp(k, "--batch")) batch = atoll(v);
    else if (!strcmp(k, "--sigma")) sigma = atof(v);
    else if (!strcmp(k, "--minutes")) minutes = atof(v);
    else if (!strcmp(k, "--steps")) steps = atoll(v);
    else if (!strcmp(k, "--only")) only = v;
    else if (!strcmp(k, "--samples")) samples = atoll(v);
    else if (!strcmp(k, "--iw")) iw = atoi(v);
    else if (!strcmp(k, "--threads")) threads = atoi(v);
    else if (!strcmp(k, "--seed")) seed = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--out")) out = v;
    else {
      fprintf(stderr, "images: unknown option %s\n", k);
      return 2;
    }
  }
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
  float *x = to_floats(btrain, n, rows, down), *xt = to_floats(btest, nt, rows, down);
  printf("Fashion-MNIST: %lld train, %lld test images of %lldx%lld; PixelCNN++ %lld filters, "
         "%lld resnets/level, K = %lld; sigma = %.2f; %s per model, %d threads\n",
         (long long)n, (long long)nt, (long long)S, (long long)S, (long long)filters,
         (long long)resnets, (long long)K, sigma, budget, ds_context_threads(g_ctx));
  write_grid(out, "data", x, samples < n ? samples : n, S, 8);

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
      continue;
    }
    if (!listed) {
      if (train_only) continue;
      fprintf(stderr, "images: %s is not in --only and %s does not exist\n", names[i], path);
      return 1;
    }
    models[i] = make(S, filters, resnets, K, i == 1 ? DS_HEAD_CONTINUOUS : DS_HEAD_DISCRETIZED, i == 2);
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
  float *noisy = malloc(sizeof(float) * (size_t)(nt * D)), *den = malloc(sizeof(float) * (size_t)(nt * D));
  CHECK(ds_smoother_apply(sm, xt, nt, D, 12345, noisy));
  CHECK(ds_model_log_prob(stage1, noisy, NULL, nt, lp));
  acc = 0;
  for (int64_t i = 0; i < nt; i++) acc -= lp[i];
  printf("stage 1, smoothed test bits/dim ([-1,1] units):      %.4f (+%.3f = 8-bit scale %.4f)\n",
         acc / (double)nt / ln2D, log2(127.5), acc / (double)nt / ln2D + log2(127.5));
  CHECK(ds_two_stage_log_prob_bound(stage1, stage2, sm, xt, nt, iw, 7, lp));
  acc = 0;
  for (int64_t i = 0; i < nt; i++) acc -= lp[i];
  printf("two-stage bound (IW, K = %d), test bits/dim:          %.4f\n", iw, acc / (double)nt / ln2D);

  /* denoising the noisy test images */
  printf("denoising error per dim (sigma^2 = %.4f):\n", sigma * sigma);
  int64_t shown = nt < 8 ? nt : 8;
  float *grid = malloc(sizeof(float) * (size_t)(5 * shown * D));
  memcpy(grid, xt, sizeof(float) * (size_t)(shown * D));
  memcpy(grid + shown * D, noisy, sizeof(float) * (size_t)(shown * D));
  const char *kinds[3] = {"exact score", "local score", "conditional mean"};
  for (int k = 0; k < 3; k++) {
    ds_denoiser *dn = NULL;
    if (k < 2) CHECK(ds_denoiser_create_gradient(stage1, sm, k == 0 ? DS_SCORE_EXACT : DS_SCORE_LOCAL, &dn));
    else CHECK(ds_denoiser_create_conditional(stage2, DS_CONDITIONAL_MEAN, &dn));
    int64_t m = k < 2 ? nt : shown; /* the conditional mean is sampled pixel by pixel */
    double t0 = example_now();
    CHECK(ds_denoiser_apply(dn, noisy, m, 0, den));
    printf("  %-17s %.4f   (%lld images, %.1f s)\n", kinds[k], mse(den, xt, m * D), (long long)m,
           example_now() - t0);
    memcpy(grid + (2 + k) * shown * D, den, sizeof(float) * (size_t)(shown * D));
    ds_denoiser_free(dn);
  }
  write_grid(out, "denoising", grid, 5 * shown, S, (int)shown);

  /* samples: naive pixel-by-pixel ancestral sampling */
  if (samples > 0) {
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
