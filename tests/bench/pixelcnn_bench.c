/* pixelcnn_bench: PixelCNN++ images/s through the public API: training steps (discretized
 * head), log-prob, exact score (continuous head), optionally sampling: --sample N times the
 * cached sampler on N images, --naive 1 also the naive pixel-by-pixel sampler on the same
 * N images (H*W network passes) and checks that both drew the same bits.
 *
 *   pixelcnn_bench [--threads N] [--batch 32] [--size 28] [--filters 32] [--resnets 2]
 *                  [--components 5] [--reps 7] [--sample 0] [--naive 0] [--only-sample 0]
 *                  [--only train|logprob|score]
 *
 * Timing (the same on the PyTorch side, peer_pixelcnn.py): the first call of each operation
 * is timed on its own (first_*_ms: workspace growth, weight packing, page faults), then one
 * more warm-up call, then --reps steady-state calls of one batch each; the figure is
 * batch / median seconds. Sampling: cached_sample_seconds is the first call,
 * steady_sample_seconds the faster of two more. peak_rss_mib is the process's peak resident
 * memory at the end.
 * Defaults are the reference point (Fashion-MNIST size, 2 resnets, 32 filters,
 * K = 5, batch 32). One line of key=value figures; run_pixelcnn_bench.sh puts it next to
 * PyTorch. --only runs one operation alone (for perf record). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "dsmooth.h"
#include "kernels/gemm_kernel.h" /* which micro-kernel the products use */

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

static double cpu_now(void) { /* CPU seconds of the process, all threads */
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* One operation on one batch; returns DS_OK or the failing status. */
typedef struct op_ctx {
  ds_context *ctx;
  ds_model *m;
  ds_trainer *t;
  const float *x;
  float *s;
  double *lp;
  int64_t batch;
} op_ctx;

typedef ds_status (*op_fn)(op_ctx *o);

/* one Adam step on a minibatch the trainer draws from the 2 * batch images */
static ds_status op_train(op_ctx *o) { return ds_trainer_train(o->t, o->x, NULL, 2 * o->batch, 1, NULL); }
static ds_status op_logprob(op_ctx *o) { return ds_model_log_prob(o->m, o->x, NULL, o->batch, o->lp); }
static ds_status op_score(op_ctx *o) {
  return ds_model_score(o->m, o->x, NULL, o->batch, DS_SCORE_EXACT, o->s, NULL);
}

/* first call, one warm-up, then reps timed calls: prints first_<name>_ms,
 * <name>_images_per_s (batch / median wall seconds) and <name>_images_per_cpu_s (batch /
 * median CPU seconds of the process: what other processes on a loaded machine inflate
 * least; the same work on 2 threads shows up as more CPU seconds if a thread waits). */
static void time_op(const char *name, op_fn fn, op_ctx *o, int64_t reps) {
  ds_context *ctx = o->ctx;
  double t0 = now();
  CHECK(fn(o));
  double first = now() - t0;
  CHECK(fn(o));
  double *sec = malloc(sizeof(double) * (size_t)reps), *cpu = malloc(sizeof(double) * (size_t)reps);
  for (int64_t r = 0; r < reps; r++) {
    double c0 = cpu_now();
    t0 = now();
    CHECK(fn(o));
    sec[r] = now() - t0;
    cpu[r] = cpu_now() - c0;
  }
  qsort(sec, (size_t)reps, sizeof *sec, cmp_double);
  qsort(cpu, (size_t)reps, sizeof *cpu, cmp_double);
  double med = reps % 2 ? sec[reps / 2] : 0.5 * (sec[reps / 2 - 1] + sec[reps / 2]);
  double med_cpu = reps % 2 ? cpu[reps / 2] : 0.5 * (cpu[reps / 2 - 1] + cpu[reps / 2]);
  printf(" %s_images_per_s=%.1f %s_images_per_cpu_s=%.1f first_%s_ms=%.1f", name,
         (double)o->batch / med, name, (double)o->batch / med_cpu, name, 1e3 * first);
  fflush(stdout);
  free(sec), free(cpu);
}

int main(int argc, char **argv) {
  int threads = 1;
  int64_t batch = 32, size = 28, filters = 32, resnets = 2, K = 5, reps = 7, sample = 0;
  int naive = 0, only_sample = 0;
  const char *only = "";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--batch")) batch = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--size")) size = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--filters")) filters = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--resnets")) resnets = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--components")) K = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--reps") || !strcmp(argv[i], "--steps")) reps = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--sample")) sample = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--naive")) naive = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--only-sample")) only_sample = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--only")) only = argv[i + 1];
  }
  if (reps < 1) reps = 1;
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
  printf("libdsmooth threads=%d batch=%lld reps=%lld gemm_kernel=%s", threads, (long long)batch,
         (long long)reps, ds__gemm_kernel_active()->name);
  fflush(stdout);
  if (!only_sample) {
    op_ctx oc = {ctx, m, NULL, x, s, lp, batch};
    if (!*only || !strcmp(only, "train")) {
      ds_trainer_config *tc = NULL;
      CHECK(ds_trainer_config_create(&tc));
      CHECK(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, batch));
      CHECK(ds_trainer_config_set_float(tc, DS_TRAIN_LR, 2e-4));
      CHECK(ds_trainer_create(m, tc, NULL, &oc.t));
      time_op("train", op_train, &oc, reps);
      ds_trainer_free(oc.t);
      ds_trainer_config_free(tc);
    }
    if (!*only || !strcmp(only, "logprob")) time_op("logprob", op_logprob, &oc, reps);
    if (!*only || !strcmp(only, "score")) {
      oc.m = make(ctx, size, filters, resnets, K, DS_HEAD_CONTINUOUS);
      time_op("exact_score", op_score, &oc, reps);
      ds_model_free(oc.m);
    }
  }
  if (sample > 0) {
    float *xs = malloc(sizeof(float) * (size_t)(sample * D));
    double t0 = now();
    CHECK(ds_model_sample(m, NULL, sample, 1, DS_SAMPLE_BISECTION, xs));
    printf(" sample_images=%lld cached_sample_seconds=%.3f", (long long)sample, now() - t0);
    double steady = 0.0; /* the faster of two more calls (arenas kept by the model) */
    for (int r = 0; r < 2; r++) {
      t0 = now();
      CHECK(ds_model_sample(m, NULL, sample, 1, DS_SAMPLE_BISECTION, xs));
      double dt = now() - t0;
      steady = r == 0 || dt < steady ? dt : steady;
    }
    printf(" steady_sample_seconds=%.3f", steady);
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
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf(" peak_rss_mib=%.0f\n", (double)ru.ru_maxrss / 1024.0);
  free(x), free(s), free(lp);
  ds_model_free(m);
  ds_context_free(ctx);
  return 0;
}
