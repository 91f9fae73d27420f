/* output_hash: one FNV-1a hash per public result, for proving that a refactoring or an
 * optimisation changed no bit. Run it before and after a change (same CPU, same
 * DS_GEMM_KERNEL) and diff the two outputs:
 *
 *   build/tests/bench/output_hash > before.txt
 *   ... change ...
 *   build/tests/bench/output_hash > after.txt && diff before.txt after.txt
 *
 * Covers, for MADE (continuous and discretized, conditional), PixelCNN++ (grayscale, RGB,
 * conditional by channels with cond convs, stacked) and the masked PixelCNN (plain and
 * conditional): weights after data-dependent init and 3 training steps with dropout,
 * log-prob, both scores, cached and naive samples, the saved checkpoint's bytes, and the
 * two denoisers. Threads: argv[1] (default 2). Every line is "name hash". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsmooth.h"

static uint64_t fnv(const void *data, size_t bytes) {
  const unsigned char *p = data;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < bytes; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

#define CHECK(call)                                                                   \
  do {                                                                                \
    ds_status s_ = (call);                                                            \
    if (s_ != DS_OK) {                                                                \
      fprintf(stderr, "%s:%d %s: %s (%s)\n", __FILE__, __LINE__, #call,              \
              ds_status_str(s_), ds_context_last_error(ctx));                         \
      exit(1);                                                                        \
    }                                                                                 \
  } while (0)

static ds_context *ctx;

static void print_hash(const char *model, const char *what, const void *data, size_t bytes) {
  printf("%-22s %-14s %016llx\n", model, what, (unsigned long long)fnv(data, bytes));
}

static void print_file_hash(const char *model, const char *what, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) exit(1);
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f);
  rewind(f);
  char *buf = malloc((size_t)bytes);
  if (!buf || fread(buf, 1, (size_t)bytes, f) != (size_t)bytes) exit(1);
  fclose(f);
  print_hash(model, what, buf, (size_t)bytes);
  free(buf);
}

/* Deterministic data in [-1, 1] (quantised to 256 levels for image-like inputs). */
static void fill(float *x, int64_t n, uint64_t seed) {
  uint64_t s = seed * 2654435761u + 1;
  for (int64_t i = 0; i < n; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    x[i] = (float)((int)(s % 256) / 127.5 - 1.0);
  }
}

typedef struct spec {
  const char *name;
  int32_t arch;
  int64_t opts[8][2]; /* (option, value), option -1 ends */
  double dropout;
  int discretized;
} spec;

static void run(const spec *sp) {
  ds_model_config *mc;
  CHECK(ds_model_config_create(sp->arch, &mc));
  for (int i = 0; i < 8 && sp->opts[i][0] >= 0; i++)
    CHECK(ds_model_config_set_int(mc, (int32_t)sp->opts[i][0], sp->opts[i][1]));
  if (sp->dropout > 0) CHECK(ds_model_config_set_float(mc, DS_MODEL_DROPOUT, sp->dropout));
  if (sp->arch == DS_ARCH_MADE) {
    int64_t hidden[2] = {24, 24};
    CHECK(ds_model_config_set_hidden(mc, hidden, 2));
  }
  ds_model *m;
  CHECK(ds_model_create(ctx, mc, &m));
  ds_model_config_free(mc);
  int64_t D = ds_model_dim(m), C = ds_model_cond_dim(m), n = 6;
  float *x = malloc(sizeof(float) * (size_t)(n * D)), *c = NULL;
  float *s = malloc(sizeof(float) * (size_t)(n * D));
  fill(x, n * D, 1);
  if (C > 0) {
    c = malloc(sizeof(float) * (size_t)(n * C));
    fill(c, n * C, 2);
    for (int64_t i = 0; i < n * C; i++) c[i] = 0.9f * c[i] + 0.05f;
  }
  ds_trainer_config *tc;
  CHECK(ds_trainer_config_create(&tc));
  CHECK(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 3));
  CHECK(ds_trainer_config_set_float(tc, DS_TRAIN_EMA_DECAY, 0.5));
  /* unconditional continuous models train as stage 1 (noise on every batch) */
  ds_smoother *sm1 = NULL;
  if (C == 0 && !sp->discretized) CHECK(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.3, &sm1));
  ds_trainer *tr;
  CHECK(ds_trainer_create(m, tc, sm1, &tr));
  ds_trainer_config_free(tc);
  CHECK(ds_trainer_train(tr, x, c, n, 3, NULL));
  int64_t P = ds_model_param_count(m);
  float *w = malloc(sizeof(float) * (size_t)P);
  CHECK(ds_model_get_weights(m, w, P));
  print_hash(sp->name, "weights", w, sizeof(float) * (size_t)P);
  double lp[6];
  CHECK(ds_model_log_prob(m, x, c, n, lp));
  print_hash(sp->name, "log_prob", lp, sizeof lp);
  for (int32_t kind = DS_SCORE_EXACT; kind <= DS_SCORE_LOCAL && !sp->discretized; kind++) {
    CHECK(ds_model_score(m, x, c, n, kind, s, NULL));
    print_hash(sp->name, kind == DS_SCORE_EXACT ? "score_exact" : "score_local", s,
               sizeof(float) * (size_t)(n * D));
  }
  for (int32_t method = DS_SAMPLE_BISECTION; method <= DS_SAMPLE_GUMBEL; method++) {
    CHECK(ds_model_sample(m, c, n, 7, method, s));
    print_hash(sp->name, method == DS_SAMPLE_GUMBEL ? "sample_gumbel" : "sample_bisect", s,
               sizeof(float) * (size_t)(n * D));
    CHECK(ds_model_sample(m, c, 2, 7, method | DS_SAMPLE_NAIVE, s));
    print_hash(sp->name, method == DS_SAMPLE_GUMBEL ? "naive_gumbel" : "naive_bisect", s,
               sizeof(float) * (size_t)(2 * D));
  }
  char path[] = "/tmp/output_hash_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) exit(1);
  close(fd);
  CHECK(ds_model_save(m, path));
  print_file_hash(sp->name, "checkpoint", path);
  ds_model *m2;
  CHECK(ds_model_load(ctx, path, &m2));
  CHECK(ds_model_log_prob(m2, x, c, n, lp));
  print_hash(sp->name, "loaded_log_prob", lp, sizeof lp);
  ds_model_free(m2);
  CHECK(ds_trainer_save(tr, path));
  print_file_hash(sp->name, "trainer_file", path);
  remove(path);
  if (C == D) {
    ds_denoiser *dn;
    CHECK(ds_denoiser_create_conditional(m, DS_CONDITIONAL_MEAN, &dn));
    CHECK(ds_denoiser_apply(dn, c, n, 3, s));
    print_hash(sp->name, "denoise_cond", s, sizeof(float) * (size_t)(n * D));
    ds_denoiser_free(dn);
  } else if (sm1) {
    ds_denoiser *dn;
    CHECK(ds_denoiser_create_gradient(m, sm1, DS_SCORE_EXACT, &dn));
    CHECK(ds_denoiser_apply(dn, x, n, 3, s));
    print_hash(sp->name, "denoise_grad", s, sizeof(float) * (size_t)(n * D));
    ds_denoiser_free(dn);
  }
  ds_trainer_free(tr);
  ds_smoother_free(sm1);
  ds_model_free(m);
  free(w), free(x), free(c), free(s);
}

int main(int argc, char **argv) {
  int32_t threads = argc > 1 ? atoi(argv[1]) : 2;
  ds_context_options *o;
  if (ds_context_options_create(&o) != DS_OK) return 1;
  ds_context_options_set_threads(o, threads);
  ds_context_options_set_seed(o, 12345);
  if (ds_context_create(o, &ctx) != DS_OK) return 1;
  ds_context_options_free(o);
  const spec specs[] = {
      {"made", DS_ARCH_MADE, {{DS_MODEL_DIM, 5}, {-1, 0}}, 0, 0},
      {"made_cond", DS_ARCH_MADE, {{DS_MODEL_DIM, 4}, {DS_MODEL_COND_DIM, 4}, {-1, 0}}, 0, 0},
      {"made_discretized",
       DS_ARCH_MADE,
       {{DS_MODEL_DIM, 3}, {DS_MODEL_HEAD, DS_HEAD_DISCRETIZED}, {DS_MODEL_BINS, 16}, {-1, 0}},
       0, 1},
      {"pixelcnnpp_gray",
       DS_ARCH_PIXELCNNPP,
       {{DS_MODEL_HEIGHT, 6}, {DS_MODEL_WIDTH, 5}, {DS_MODEL_FILTERS, 8}, {DS_MODEL_RESNETS, 1},
        {DS_MODEL_COMPONENTS, 3}, {-1, 0}},
       0.3, 0},
      {"pixelcnnpp_rgb_disc",
       DS_ARCH_PIXELCNNPP,
       {{DS_MODEL_HEIGHT, 5}, {DS_MODEL_WIDTH, 5}, {DS_MODEL_CHANNELS, 3}, {DS_MODEL_FILTERS, 6},
        {DS_MODEL_RESNETS, 1}, {DS_MODEL_HEAD, DS_HEAD_DISCRETIZED}, {-1, 0}},
       0, 1},
      {"pixelcnnpp_cond_convs",
       DS_ARCH_PIXELCNNPP,
       {{DS_MODEL_HEIGHT, 5}, {DS_MODEL_WIDTH, 4}, {DS_MODEL_FILTERS, 6}, {DS_MODEL_RESNETS, 1},
        {DS_MODEL_COND_DIM, 20}, {DS_MODEL_COND_CONVS, 2}, {-1, 0}},
       0.2, 0},
      {"pixelcnnpp_stacked",
       DS_ARCH_PIXELCNNPP,
       {{DS_MODEL_HEIGHT, 4}, {DS_MODEL_WIDTH, 4}, {DS_MODEL_FILTERS, 6}, {DS_MODEL_RESNETS, 1},
        {DS_MODEL_COND_DIM, 16}, {DS_MODEL_COND_LAYOUT, DS_COND_STACKED}, {-1, 0}},
       0, 0},
      {"pixelcnn_masked",
       DS_ARCH_PIXELCNN,
       {{DS_MODEL_HEIGHT, 6}, {DS_MODEL_WIDTH, 6}, {DS_MODEL_FILTERS, 8}, {DS_MODEL_LAYERS, 2},
        {-1, 0}},
       0, 0},
      {"pixelcnn_masked_cond",
       DS_ARCH_PIXELCNN,
       {{DS_MODEL_HEIGHT, 5}, {DS_MODEL_WIDTH, 5}, {DS_MODEL_FILTERS, 6}, {DS_MODEL_LAYERS, 2},
        {DS_MODEL_COND_DIM, 25}, {DS_MODEL_GATED, 0}, {DS_MODEL_ACTIVATION, DS_ACTIVATION_ELU}, {-1, 0}},
       0, 0},
  };
  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) run(&specs[i]);
  ds_context_free(ctx);
  return 0;
}
