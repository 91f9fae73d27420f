/* pixelcnn_bench: PixelCNN++ images/s through the public API: training steps (discretized
 * head), log-prob, exact score (continuous head), optionally sampling: --sample N times the
 * cached sampler on N images, --naive 1 also the naive pixel-by-pixel sampler on the same
 * N images (H*W network passes) and checks that both drew the same bits.
 *
 *   pixelcnn_bench [--threads N] [--batch 32] [--size 28] [--filters 32] [--resnets 2]
 *                  [--components 5] [--steps 5] [--sample 0] [--naive 0] [--only-sample 0]
 *
 * Defaults are the reference point (Fashion-MNIST size, 2 resnets, 32 filters,
 * K = 5, batch 32). One line of key=value figures; run_pixelcnn_bench.sh puts it next to
 * PyTorch (peer_pixelcnn.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsmooth.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define CHECK(call)                                                                 \
  do {                                                                              \
    ds_status st_ = (call);                                                         \
    if (st_ != DS_OK) {                                                             \
      fprintf(stderr, "%s: %s: %s\n", #call, ds_status_str(st_), ds_context_last_error(ctx)); \
      exit(1);                                                                      \
    }                                                                               \
  } while (0)

static ds_model *make(ds_context *ctx, int64_t size, int64_t filters, int64_t resnets, int64_t K,
                      int32_t head) {
  ds_model_config *mc = NULL;
  ds_model *m = NULL;
  CHECK(ds_model_config_create(DS_ARCH_PIXELCNNPP, &mc));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_HEIGHT, size));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_WIDTH, size));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_FILTERS, filters));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_RESNETS, resnets));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_COMPONENTS, K));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_HEAD, head));
  CHECK(ds_model_create(ctx, mc, &m));
  ds_model_config_free(mc);
  return m;
}

int main(int argc, char **argv) {
  int threads = 1;
  int64_t batch = 32, size = 28, filters = 32, resnets = 2, K = 5, steps = 5, sample = 0;
  int naive = 0, only_sample = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--batch")) batch = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--size")) size = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--filters")) filters = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--resnets")) resnets = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--components")) K = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--steps")) steps = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--sample")) sample = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--naive")) naive = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--only-sample")) only_sample = atoi(argv[i + 1]);
  }
  ds_context *ctx = NULL;
  ds_context_options *o = NULL;
  ds_context_options_create(&o);
  ds_context_options_set_threads(o, threads);
  CHECK(ds_context_create(o, &ctx));
  ds_context_options_free(o);
  int64_t D = size * size, n = 2 * batch;
  float *x = malloc(sizeof(float) * (size_t)(n * D)), *s = malloc(sizeof(float) * (size_t)(n * D));
  double *lp = malloc(sizeof(double) * (size_t)n);
  srand(1);
  for (int64_t i = 0; i < n * D; i++) x[i] = (float)(rand() % 256) / 127.5f - 1.0f;

  ds_model *m = make(ctx, size, filters, resnets, K, DS_HEAD_DISCRETIZED);
  printf("libdsmooth threads=%d batch=%lld", threads, (long long)batch);
  if (!only_sample) {
    ds_trainer_config *tc = NULL;
    ds_trainer *t = NULL;
    CHECK(ds_trainer_config_create(&tc));
    CHECK(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, batch));
    CHECK(ds_trainer_config_set_float(tc, DS_TRAIN_LR, 2e-4));
    CHECK(ds_trainer_create(m, tc, NULL, &t));
    CHECK(ds_trainer_train(t, x, NULL, n, 1, NULL)); /* warm up */
    double t0 = now();
    CHECK(ds_trainer_train(t, x, NULL, n, steps, NULL));
    double train = (double)(steps * batch) / (now() - t0);
    ds_trainer_free(t);
    ds_trainer_config_free(tc);
    CHECK(ds_model_log_prob(m, x, NULL, batch, lp)); /* warm up */
    t0 = now();
    CHECK(ds_model_log_prob(m, x, NULL, n, lp));
    double logprob = (double)n / (now() - t0);
    ds_model *mc = make(ctx, size, filters, resnets, K, DS_HEAD_CONTINUOUS);
    t0 = now();
    CHECK(ds_model_score(mc, x, NULL, batch, DS_SCORE_EXACT, s, NULL));
    double score = (double)batch / (now() - t0);
    ds_model_free(mc);
    printf(" train_images_per_s=%.1f logprob_images_per_s=%.1f exact_score_images_per_s=%.1f",
           train, logprob, score);
  }
  if (sample > 0) {
    float *xs = malloc(sizeof(float) * (size_t)(sample * D));
    double t0 = now();
    CHECK(ds_model_sample(m, NULL, sample, 1, DS_SAMPLE_BISECTION, xs));
    printf(" sample_images=%lld cached_sample_seconds=%.3f", (long long)sample, now() - t0);
    if (naive) {
      float *xn = malloc(sizeof(float) * (size_t)(sample * D));
      t0 = now();
      CHECK(ds_model_sample(m, NULL, sample, 1, DS_SAMPLE_BISECTION | DS_SAMPLE_NAIVE, xn));
      printf(" naive_sample_seconds=%.1f identical=%d", now() - t0,
             memcmp(xs, xn, sizeof(float) * (size_t)(sample * D)) == 0);
      free(xn);
    }
    free(xs);
  }
  printf("\n");
  free(x), free(s), free(lp);
  ds_model_free(m);
  ds_context_free(ctx);
  return 0;
}
