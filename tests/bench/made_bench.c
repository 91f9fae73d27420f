/* made_bench: MADE training steps/s and log-density points/s through the public API.
 *
 *   made_bench [--threads N] [--batch 1024] [--steps 300] [--points 262144]
 *
 * Model as the reference point: D = 2, hidden 64-64, K = 5, continuous head.
 * Prints one line per figure; run_made_bench.sh puts it side by side with PyTorch. */
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
      return 1;                                                                     \
    }                                                                               \
  } while (0)

int main(int argc, char **argv) {
  int threads = 1;
  int64_t batch = 1024, steps = 300, points = 262144;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--batch")) batch = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--steps")) steps = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--points")) points = atoll(argv[i + 1]);
  }
  ds_context *ctx = NULL;
  ds_context_options *o = NULL;
  ds_context_options_create(&o);
  ds_context_options_set_threads(o, threads);
  CHECK(ds_context_create(o, &ctx));
  ds_context_options_free(o);
  ds_model_config *mc = NULL;
  ds_model *m = NULL;
  CHECK(ds_model_config_create(DS_ARCH_MADE, &mc));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_DIM, 2));
  CHECK(ds_model_config_set_int(mc, DS_MODEL_COMPONENTS, 5));
  CHECK(ds_model_create(ctx, mc, &m));
  ds_trainer_config *tc = NULL;
  ds_trainer *t = NULL;
  CHECK(ds_trainer_config_create(&tc));
  CHECK(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, batch));
  CHECK(ds_trainer_create(m, tc, NULL, &t));
  int64_t n = batch * 8;
  float *x = malloc(sizeof(float) * 2 * (size_t)(n > points ? n : points));
  double *lp = malloc(sizeof(double) * (size_t)points);
  srand(1);
  for (int64_t i = 0; i < 2 * (n > points ? n : points); i++) x[i] = (float)rand() / (float)RAND_MAX * 4 - 2;
  CHECK(ds_trainer_train(t, x, NULL, n, 20, NULL)); /* warm up */
  double t0 = now();
  CHECK(ds_trainer_train(t, x, NULL, n, steps, NULL));
  double train_s = now() - t0;
  CHECK(ds_model_log_prob(m, x, NULL, points, lp)); /* warm up */
  t0 = now();
  int reps = 3;
  for (int r = 0; r < reps; r++) CHECK(ds_model_log_prob(m, x, NULL, points, lp));
  double eval_s = (now() - t0) / reps;
  printf("libdsmooth threads=%d train_steps_per_s=%.1f batch=%lld logprob_points_per_s=%.0f\n",
         threads, (double)steps / train_s, (long long)batch, (double)points / eval_s);
  free(x);
  free(lp);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  ds_model_free(m);
  ds_model_config_free(mc);
  ds_context_free(ctx);
  return 0;
}
