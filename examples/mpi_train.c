/* mpi_train: data-parallel training under `mpirun -np N` with libdsmooth_mpi.
 *
 *   mpirun -np 2 ./mpi_train --steps 200 --checkpoint run.ckpt --out model.dsm
 *   mpirun -np 3 --oversubscribe ./mpi_train --steps 400 --checkpoint run.ckpt --resume
 *
 * Every rank builds the same model, trainer and data; each step every rank computes the
 * gradient of its share of the global batch and libdsmooth_mpi combines them. With
 * --reduction det (the default) the weights are bitwise the same for any number of ranks
 * and threads (keep --blocks when resuming on another rank count); --reduction scatter
 * gives the same bits with traffic that does not grow with the rank count (reduce-scatter
 * in block order, then allgather); --reduction fast sums
 * with MPI_Allreduce; --reduction none trains on one process without the seam (the
 * baseline for timings).
 *
 * Models: --model made (default): a MADE on a 2-D set (--data checkerboard, rings,
 * 8gaussians, 2spirals), stage 1 of distribution smoothing with Gaussian noise --sigma
 * (0: the direct model). --model pixelcnn: PixelCNN++ on Fashion-MNIST 28x28 (--fmnist
 * DIR, default /usr/share/datasets/fashion-mnist; --filters, --resnets, --n images).
 *
 * Checkpoints: rank 0 writes --checkpoint every --save-every steps and at the end (a
 * temporary file renamed into place); --resume makes every rank continue from it.
 * --out PATH: rank 0 saves the final model. --stats: per-step time split into compute and
 * communication, and bytes exchanged. --rank-states: every rank also saves its own final
 * trainer state to CHECKPOINT.rank<r> (to check that the ranks agree). Failure drills for the tests: --fail-rank R
 * --fail-step S gives rank R corrupt data (a NaN) from step S on; --kill-rank R
 * --kill-step S makes rank R kill itself (SIGKILL) at step S; --hang-rank R --hang-step S
 * makes rank R stop responding at step S (the others wait in the exchange: run such a job
 * under `mpirun --timeout SECONDS`). */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "datasets.h"
#include "dsmooth.h"
#include "dsmooth_mpi.h"
#ifdef DS_HAVE_ZLIB
#include <zlib.h>
#endif

typedef struct options {
  const char *model, *data, *fmnist, *checkpoint, *out, *reduction;
  int64_t n, steps, total, batch, blocks, save_every, filters, resnets;
  int32_t threads, resume, stats, fail_rank, kill_rank, hang_rank, rank_states;
  int64_t fail_step, kill_step, hang_step;
  double sigma, lr;
  uint64_t seed;
} options;

static int g_rank;
static ds_context *g_ctx;

static void die(const char *what, ds_status st) {
  fprintf(stderr, "mpi_train: rank %d: %s: %s: %s\n", g_rank, what, ds_status_str(st),
          ds_context_last_error(g_ctx));
  MPI_Abort(MPI_COMM_WORLD, 2);
}
#define CHECK(call)                          \
  do {                                       \
    ds_status st_ = (call);                  \
    if (st_ != DS_OK) die(#call, st_);       \
  } while (0)

/* Every rank parses the same argv, so a usage error stops every rank alike (exit 2). */
static void parse(int argc, char **argv, options *o) {
  *o = (options){"made", "checkerboard", "/usr/share/datasets/fashion-mnist", NULL, NULL, "det",
                 0, 200, 0, 0, 12, 0, 32, 2, 1, 0, 0, -1, -1, -1, 0, 0, 0, 0, 0.3, 0, 1};
  const arg_spec specs[] = {
      {"model", ARG_STRING, &o->model, "made|pixelcnn", "MADE on a 2-D set, or PixelCNN++ on "
       "Fashion-MNIST", 0, 0, 0, NULL},
      {"data", ARG_STRING, &o->data, "NAME", "2-D set for --model made: checkerboard, rings, "
       "8gaussians, 2spirals", 0, 0, 0, NULL},
      {"fmnist", ARG_STRING, &o->fmnist, "DIR", "Fashion-MNIST IDX directory", 0, 0, 0, NULL},
      {"n", ARG_INT, &o->n, "N", "training examples (0: 8192 for made, 2048 for pixelcnn)", 0,
       1e9, 0, NULL},
      {"sigma", ARG_DOUBLE, &o->sigma, "S", "stage-1 Gaussian noise (0: the direct model)", 0,
       1e6, 0, NULL},
      {"steps", ARG_INT, &o->steps, "S", "Adam steps of this run", 0, 1e12, 0, NULL},
      {"total", ARG_INT, &o->total, "S", "cosine horizon (0: --steps)", 0, 1e12, 0, NULL},
      {"batch", ARG_INT, &o->batch, "B", "global batch (0: 128 made, 32 pixelcnn)", 0, 1 << 20,
       0, NULL},
      {"lr", ARG_DOUBLE, &o->lr, "LR", "peak learning rate (0: 3e-3 made, 1e-3 pixelcnn)", 0,
       1e6, 0, NULL},
      {"reduction", ARG_STRING, &o->reduction, "det|scatter|fast|none", "how gradients are "
       "combined", 0, 0, 0, NULL},
      {"blocks", ARG_INT, &o->blocks, "K", "gradient blocks of the deterministic reductions "
       "(0: the world size)", 0, 1 << 20, 0, NULL},
      {"threads", ARG_INT32, &o->threads, "T", "threads per rank; 0 = all online cores", 0,
       DS_MAX_THREADS, 0, NULL},
      {"seed", ARG_UINT64, &o->seed, "S", "context seed", 0, 0, 0, NULL},
      {"filters", ARG_INT, &o->filters, "F", "PixelCNN++ filters", 1, 1024, 0, NULL},
      {"resnets", ARG_INT, &o->resnets, "R", "PixelCNN++ resnets per level", 1, 64, 0, NULL},
      {"checkpoint", ARG_STRING, &o->checkpoint, "PATH", "trainer state written by rank 0", 0,
       0, 0, NULL},
      {"save-every", ARG_INT, &o->save_every, "S", "steps between checkpoints (0: at the end)",
       0, 1e12, 0, NULL},
      {"resume", ARG_FLAG, &o->resume, NULL, "continue from --checkpoint", 0, 0, 0, NULL},
      {"out", ARG_STRING, &o->out, "PATH", "rank 0 saves the final model here", 0, 0, 0, NULL},
      {"stats", ARG_FLAG, &o->stats, NULL, "per-step compute / communication time and bytes",
       0, 0, 0, NULL},
      {"rank-states", ARG_FLAG, &o->rank_states, NULL, "every rank saves its trainer state to "
       "CHECKPOINT.rank<r>", 0, 0, 0, NULL},
      {"fail-rank", ARG_INT32, &o->fail_rank, "R", "drill: this rank gets a NaN in its data",
       -1, 1 << 20, 0, NULL},
      {"fail-step", ARG_INT, &o->fail_step, "S", "drill: from this step on", 0, 1e12, 0, NULL},
      {"kill-rank", ARG_INT32, &o->kill_rank, "R", "drill: this rank kills itself", -1,
       1 << 20, 0, NULL},
      {"kill-step", ARG_INT, &o->kill_step, "S", "drill: at this step", 0, 1e12, 0, NULL},
      {"hang-rank", ARG_INT32, &o->hang_rank, "R", "drill: this rank stops responding", -1,
       1 << 20, 0, NULL},
      {"hang-step", ARG_INT, &o->hang_step, "S", "drill: at this step", 0, 1e12, 0, NULL},
  };
  const arg_parser ap = {
      "mpi_train", "[options]   (under mpirun -np N)",
      "Data-parallel training with libdsmooth_mpi: every rank computes the gradient of its "
      "share of the global batch; the reduction combines them (det and scatter: bitwise the "
      "same weights for any rank and thread count).",
      specs, (int)(sizeof specs / sizeof specs[0]), 0, 0, NULL};
  args_parse(&ap, argc, argv);
  if (strcmp(o->model, "pixelcnn") && strcmp(o->model, "made"))
    args_fail(&ap, "model", "'%s' is neither made nor pixelcnn", o->model);
  if (strcmp(o->reduction, "det") && strcmp(o->reduction, "scatter") &&
      strcmp(o->reduction, "fast") && strcmp(o->reduction, "none"))
    args_fail(&ap, "reduction", "'%s' is not det, scatter, fast or none", o->reduction);
  int pixel = !strcmp(o->model, "pixelcnn");
  if (!o->batch) o->batch = pixel ? 32 : 128;
  if (!o->n) o->n = pixel ? 2048 : 8192;
  if (!o->total) o->total = o->steps;
  if (!o->lr) o->lr = pixel ? 1e-3 : 3e-3;
  if (!o->save_every) o->save_every = o->steps;
}

#ifdef DS_HAVE_ZLIB
/* The first n Fashion-MNIST training images as (n, 784) floats in [-1, 1]. */
static float *fashion_mnist(const char *dir, int64_t n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
  gzFile f = gzopen(path, "rb");
  unsigned char h[16];
  if (!f || gzread(f, h, 16) != 16 || h[2] != 8 || h[3] != 3 || h[11] != 28 || h[15] != 28) {
    fprintf(stderr, "mpi_train: cannot read 28x28 IDX images from %s (apt-get install "
                    "dataset-fashion-mnist)\n", path);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  unsigned char *b = malloc((size_t)(n * 784));
  float *x = malloc(sizeof(float) * (size_t)(n * 784));
  if (!b || !x || gzread(f, b, (unsigned)(n * 784)) != (int)(n * 784)) {
    fprintf(stderr, "mpi_train: %s has fewer than %lld images\n", path, (long long)n);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  gzclose(f);
  for (int64_t i = 0; i < n * 784; i++) x[i] = (float)(b[i] / 127.5 - 1.0);
  free(b);
  return x;
}
#endif

static ds_model *make_model(const options *o, int64_t *dim) {
  ds_model_config *mc = NULL;
  ds_model *m = NULL;
  if (!strcmp(o->model, "made")) {
    int64_t widths[2] = {64, 64};
    CHECK(ds_model_config_create(DS_ARCH_MADE, &mc));
    CHECK(ds_model_config_set_int(mc, DS_MODEL_DIM, 2));
    CHECK(ds_model_config_set_int(mc, DS_MODEL_COMPONENTS, 8));
    CHECK(ds_model_config_set_hidden(mc, widths, 2));
    *dim = 2;
  } else {
    CHECK(ds_model_config_create(DS_ARCH_PIXELCNNPP, &mc));
    CHECK(ds_model_config_set_int(mc, DS_MODEL_CHANNELS, 1));
    CHECK(ds_model_config_set_int(mc, DS_MODEL_HEIGHT, 28));
    CHECK(ds_model_config_set_int(mc, DS_MODEL_WIDTH, 28));
    CHECK(ds_model_config_set_int(mc, DS_MODEL_FILTERS, o->filters));
    CHECK(ds_model_config_set_int(mc, DS_MODEL_RESNETS, o->resnets));
    CHECK(ds_model_config_set_int(mc, DS_MODEL_COMPONENTS, 5));
    CHECK(ds_model_config_set_int(mc, DS_MODEL_HEAD, DS_HEAD_DISCRETIZED));
    *dim = 784;
  }
  CHECK(ds_model_create(g_ctx, mc, &m));
  ds_model_config_free(mc);
  return m;
}

static float *make_data(const options *o, int64_t dim) {
  if (dim == 784) {
#ifdef DS_HAVE_ZLIB
    return fashion_mnist(o->fmnist, o->n);
#else
    fprintf(stderr, "mpi_train: built without zlib: no Fashion-MNIST\n");
    MPI_Abort(MPI_COMM_WORLD, 1);
#endif
  }
  float *x = malloc(sizeof(float) * (size_t)(o->n * dim));
  if (!x || dataset_dim(o->data) != 2) {
    fprintf(stderr, "mpi_train: --data must be a 2-D set: %s\n", dataset_names());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  dataset_generate(o->data, o->n, o->seed, x); /* same seed on every rank: same data */
  return x;
}

static double clock_seconds(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static double now(void) { return clock_seconds(CLOCK_MONOTONIC); }

/* FNV-1a of a file: a short fingerprint of the weights to compare runs by eye. */
static uint64_t file_digest(const char *path) {
  FILE *f = fopen(path, "rb");
  uint64_t h = 1469598103934665603ull;
  int c;
  while (f && (c = fgetc(f)) != EOF) h = (h ^ (uint64_t)c) * 1099511628211ull;
  if (f) fclose(f);
  return h;
}

int main(int argc, char **argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  options o;
  parse(argc, argv, &o);

  ds_context_options *co = NULL;
  CHECK(ds_context_options_create(&co));
  CHECK(ds_context_options_set_threads(co, o.threads));
  CHECK(ds_context_options_set_seed(co, o.seed));
  CHECK(ds_context_create(co, &g_ctx));
  ds_context_options_free(co);

  int64_t D = 0;
  ds_model *model = make_model(&o, &D);
  float *x = make_data(&o, D);
  ds_smoother *sm = NULL;
  if (D == 2 && o.sigma > 0) CHECK(ds_smoother_create(g_ctx, DS_NOISE_GAUSSIAN, o.sigma, &sm));
  ds_trainer_config *tc = NULL;
  CHECK(ds_trainer_config_create(&tc));
  CHECK(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, o.batch));
  CHECK(ds_trainer_config_set_int(tc, DS_TRAIN_TOTAL_STEPS, o.total));
  CHECK(ds_trainer_config_set_int(tc, DS_TRAIN_SCHEDULE, DS_LR_COSINE));
  CHECK(ds_trainer_config_set_float(tc, DS_TRAIN_LR, o.lr));
  CHECK(ds_trainer_config_set_float(tc, DS_TRAIN_CLIP_NORM, 100.0));
  ds_trainer *t = NULL;
  CHECK(ds_trainer_create(model, tc, sm, &t));

  ds_mpi *mpi = NULL;
  CHECK(ds_mpi_create(MPI_COMM_WORLD, g_ctx, &mpi));
  int distributed = strcmp(o.reduction, "none") != 0;
  if (!distributed && size > 1) {
    fprintf(stderr, "mpi_train: --reduction none runs on one rank only\n");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  if (distributed) {
    int fast = !strcmp(o.reduction, "fast"), scatter = !strcmp(o.reduction, "scatter");
    CHECK(ds_mpi_attach(mpi, t,
                        fast ? DS_REDUCE_FAST
                             : scatter ? DS_REDUCE_DETERMINISTIC_SCATTER : DS_REDUCE_DETERMINISTIC,
                        fast ? 0 : o.blocks));
  }
  if (o.resume) {
    ds_status st = ds_mpi_resume(mpi, t, o.checkpoint);
    if (st != DS_OK) {
      fprintf(stderr, "mpi_train: rank %d: %s\n", g_rank, ds_mpi_last_error(mpi));
      MPI_Abort(MPI_COMM_WORLD, 3);
    }
  }
  if (g_rank == 0)
    printf("mpi_train: %s, %d rank(s) x %d thread(s), reduction %s, batch %lld, from step %lld "
           "to %lld\n", o.model, size, (int)ds_context_threads(g_ctx), o.reduction,
           (long long)o.batch, (long long)ds_trainer_step(t), (long long)o.steps);

  float *bad = NULL; /* --fail-rank: a copy of the data with one NaN */
  double train_seconds = 0.0, cpu_seconds = 0.0; /* wall, and this process's CPU time */
  int64_t steps_timed = 0;
  ds_mpi_reset_stats(mpi);
  int status = 0;
  while (ds_trainer_step(t) < o.steps) {
    int64_t step = ds_trainer_step(t), chunk = o.steps - step;
    int64_t next_save = (step / o.save_every + 1) * o.save_every;
    if (next_save - step < chunk) chunk = next_save - step;
    if (chunk > 10) chunk = 10; /* report every 10 steps */
    if (g_rank == o.kill_rank && step >= o.kill_step) {
      fprintf(stderr, "mpi_train: rank %d kills itself at step %lld (--kill-rank)\n", g_rank,
              (long long)step);
      fflush(stderr);
      raise(SIGKILL);
    }
    if (g_rank == o.hang_rank && step >= o.hang_step) {
      fprintf(stderr, "mpi_train: rank %d stops responding at step %lld (--hang-rank)\n",
              g_rank, (long long)step);
      fflush(stderr);
      for (;;) pause();
    }
    const float *data = x;
    if (g_rank == o.fail_rank && step >= o.fail_step) {
      if (!bad) {
        bad = malloc(sizeof(float) * (size_t)(o.n * D));
        memcpy(bad, x, sizeof(float) * (size_t)(o.n * D));
        bad[D * (o.n / 2)] = NAN;
      }
      data = bad;
    }
    double loss = 0.0, t0 = now(), c0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    ds_status st = ds_trainer_train(t, data, NULL, o.n, chunk, &loss);
    train_seconds += now() - t0;
    cpu_seconds += clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (st != DS_OK) { /* every rank gets here with the same status */
      fprintf(stderr, "mpi_train: rank %d: training stopped: %s: %s\n", g_rank,
              ds_status_str(st), ds_context_last_error(g_ctx));
      status = 4;
      break;
    }
    steps_timed += chunk;
    if (g_rank == 0) printf("step %6lld  loss %.6f\n", (long long)ds_trainer_step(t), loss);
    if (o.checkpoint && (ds_trainer_step(t) % o.save_every == 0 || ds_trainer_step(t) == o.steps)) {
      st = ds_mpi_save(mpi, t, o.checkpoint);
      if (st != DS_OK) {
        fprintf(stderr, "mpi_train: rank %d: %s\n", g_rank, ds_mpi_last_error(mpi));
        status = 5;
        break;
      }
    }
    fflush(stdout);
  }
  if (status == 0 && o.stats && steps_timed > 0) {
    ds_mpi_stats s;
    ds_mpi_get_stats(mpi, &s);
    double per = train_seconds / (double)steps_timed, comm = s.seconds / (double)steps_timed;
    /* rank by rank, in order */
    for (int r = 0; r < size; r++) {
      if (r == g_rank)
        printf("stats rank %d: %lld steps, %.4f s/step = compute %.4f + communication %.4f; "
               "CPU %.4f s/step; bytes/step sent %.0f received %.0f; %.1f examples/s\n",
               g_rank, (long long)steps_timed, per, per - comm, comm,
               cpu_seconds / (double)steps_timed, (double)s.bytes_sent / (double)steps_timed,
               (double)s.bytes_received / (double)steps_timed, (double)o.batch / per);
      fflush(stdout);
      MPI_Barrier(MPI_COMM_WORLD);
    }
  }
  if (status == 0 && o.out && g_rank == 0) {
    CHECK(ds_model_save(model, o.out));
    printf("mpi_train: rank 0 saved the model to %s (digest %016llx)\n", o.out,
           (unsigned long long)file_digest(o.out));
  }
  if (status == 0 && o.checkpoint && o.rank_states) {
    char path[1100];
    snprintf(path, sizeof path, "%s.rank%d", o.checkpoint, g_rank);
    CHECK(ds_trainer_save(t, path));
  }
  if (status == 0 && o.checkpoint && g_rank == 0)
    printf("mpi_train: checkpoint %s at step %lld (digest %016llx)\n", o.checkpoint,
           (long long)ds_trainer_step(t), (unsigned long long)file_digest(o.checkpoint));
  free(bad);
  free(x);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  ds_smoother_free(sm);
  ds_model_free(model);
  ds_mpi_free(mpi);
  ds_context_free(g_ctx);
  MPI_Finalize();
  return status;
}
