/* train_2d: the direct model (and optionally stage 2) of the 2-D experiments at the PyTorch
 * reference's settings, trained on fresh samples every step through the trainer's data
 * callback (ds_trainer_train_source), evaluated on held-out points. One summary line.
 *
 *   train_2d --dataset rings [--components 8] [--seed 1] [--steps 6000] [--batch 512] ...
 *
 * --help lists every option with its range and default; values are checked in full. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets.h"
#include "dsmooth.h"
#include "args.h"
#include "example_util.h"

#define PROGRAM "train_2d"
static ds_context *g_ctx;
#define CHECK(call) example_check(PROGRAM, g_ctx, (call), #call)

typedef struct options {
  const char *dataset;
  int components, hidden, stage2_hidden, threads, stage2, data_init, fresh;
  int64_t steps, batch, n_test, n_train;
  double lr, sigma, cond_share, ema;
  uint64_t seed;
} options;

static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* Fresh batch for `step`: a pure function of (seed, step). */
typedef struct fresh_source {
  const char *dataset;
  uint64_t seed;
} fresh_source;

static int32_t fresh_batch(void *user, int64_t step, int64_t batch, float *x, float *cond) {
  const fresh_source *src = user;
  (void)cond;
  return dataset_generate(src->dataset, batch, mix(src->seed ^ mix((uint64_t)step)), x) == 2 ? 0 : 1;
}

static ds_model *make_model(int64_t cond_dim, int hidden, const options *o) {
  ds_model_config *cfg = NULL;
  ds_model *m = NULL;
  int64_t widths[2] = {hidden, hidden};
  CHECK(ds_model_config_create(DS_ARCH_MADE, &cfg));
  CHECK(ds_model_config_set_int(cfg, DS_MODEL_DIM, 2));
  CHECK(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, cond_dim));
  CHECK(ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, o->components));
  CHECK(ds_model_config_set_hidden(cfg, widths, 2));
  if (cond_dim > 0 && o->cond_share > 0)
    CHECK(ds_model_config_set_float(cfg, DS_MODEL_COND_SHARE, o->cond_share));
  CHECK(ds_model_create(g_ctx, cfg, &m));
  ds_model_config_free(cfg);
  return m;
}

static void train(ds_model *m, const ds_smoother *sm, const options *o, const float *train_x,
                  uint64_t data_seed) {
  ds_trainer_config *cfg = NULL;
  ds_trainer *tr = NULL;
  CHECK(ds_trainer_config_create(&cfg));
  CHECK(ds_trainer_config_set_int(cfg, DS_TRAIN_BATCH, o->batch));
  CHECK(ds_trainer_config_set_int(cfg, DS_TRAIN_SCHEDULE, DS_LR_COSINE));
  CHECK(ds_trainer_config_set_int(cfg, DS_TRAIN_DATA_INIT, o->data_init));
  CHECK(ds_trainer_config_set_float(cfg, DS_TRAIN_LR, o->lr));
  if (o->ema > 0) CHECK(ds_trainer_config_set_float(cfg, DS_TRAIN_EMA_DECAY, o->ema));
  CHECK(ds_trainer_create(m, cfg, sm, &tr));
  ds_trainer_config_free(cfg);
  fresh_source src = {o->dataset, data_seed};
  if (o->fresh) CHECK(ds_trainer_train_source(tr, fresh_batch, &src, o->steps, NULL));
  else CHECK(ds_trainer_train(tr, train_x, NULL, o->n_train, o->steps, NULL));
  if (o->ema > 0) CHECK(ds_trainer_ema_to_model(tr, m));
  ds_trainer_free(tr);
}

static double mean(const double *v, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += v[i];
  return s / (double)n;
}

int main(int argc, char **argv) {
  options o = {"rings", 8, 64, 64, 1, 0, 1, 1, 6000, 512, 20000, 20000, 1e-3, 0.5, 0.0, 0.0, 1};
  const arg_spec specs[] = {
      {"dataset", ARG_STRING, &o.dataset, "SET", "2-D data set: checkerboard, rings, 8gaussians "
       "or 2spirals", 0, 0, 0, NULL},
      {"components", ARG_INT32, &o.components, "K", "logistic-mixture components", 1, 256, 0, NULL},
      {"hidden", ARG_INT32, &o.hidden, "H", "width of the direct model's two hidden layers", 1,
       65536, 0, NULL},
      {"stage2-hidden", ARG_INT32, &o.stage2_hidden, "H", "width of stage 2's hidden layers", 1,
       65536, 0, NULL},
      {"threads", ARG_INT32, &o.threads, "T", "worker threads; 0 = all online cores", 0,
       DS_MAX_THREADS, 0, NULL},
      {"stage2", ARG_INT32, &o.stage2, "0|1", "1: also train stage 1 and stage 2", 0, 1, 0, NULL},
      {"data-init", ARG_INT32, &o.data_init, "0|1", "data-dependent initialisation", 0, 1, 0,
       NULL},
      {"fresh", ARG_INT32, &o.fresh, "0|1", "1: fresh samples every step; 0: a fixed set of "
       "--n-train points in shuffled epochs", 0, 1, 0, NULL},
      {"steps", ARG_INT, &o.steps, "N", "Adam steps per model", 1, 1e12, 0, NULL},
      {"batch", ARG_INT, &o.batch, "B", "examples per step", 1, 1 << 20, 0, NULL},
      {"n-test", ARG_INT, &o.n_test, "N", "held-out points", 1, 1e9, 0, NULL},
      {"n-train", ARG_INT, &o.n_train, "N", "training points (--fresh 0)", 1, 1e9, 0, NULL},
      {"lr", ARG_DOUBLE, &o.lr, "LR", "peak learning rate of the cosine schedule", 0, 1e6, 1,
       NULL},
      {"sigma", ARG_DOUBLE, &o.sigma, "S", "smoothing noise of stage 1", 0, 1e6, 1, NULL},
      {"cond-share", ARG_DOUBLE, &o.cond_share, "F", "stage 2's DS_MODEL_COND_SHARE (0: the "
       "default)", 0, 1, 0, NULL},
      {"ema", ARG_DOUBLE, &o.ema, "D", "EMA decay of the weights (0: off)", 0, 0.999999, 0, NULL},
      {"seed", ARG_UINT64, &o.seed, "S", "seed of the data, the weights and the noise", 0, 0, 0,
       NULL},
  };
  const arg_parser ap = {
      PROGRAM, "[options]",
      "The direct model (and optionally stage 1 + stage 2) of the 2-D experiments at the "
      "PyTorch reference's settings, evaluated on held-out points. One summary line.",
      specs, (int)(sizeof specs / sizeof specs[0]), 0, 0, NULL};
  args_parse(&ap, argc, argv);
  if (dataset_dim(o.dataset) != 2)
    args_fail(&ap, "dataset", "'%s' is not a 2-D set (2-D sets: %s)", o.dataset, dataset_names());
  if (o.cond_share >= 1) args_fail(&ap, "cond-share", "must be below 1");
  if (!o.fresh && o.n_train < o.batch)
    args_fail(&ap, "batch", "%lld is more than --n-train (%lld)", (long long)o.batch,
              (long long)o.n_train);
  ds_context_options *copts = NULL;
  CHECK(ds_context_options_create(&copts));
  CHECK(ds_context_options_set_threads(copts, o.threads));
  CHECK(ds_context_options_set_seed(copts, o.seed));
  CHECK(ds_context_create(copts, &g_ctx));
  ds_context_options_free(copts);

  /* data: test and (fixed-set mode) training points from their own seeds */
  float *test_x = example_xmalloc(PROGRAM, sizeof(float) * (size_t)(2 * o.n_test));
  float *test_xt = example_xmalloc(PROGRAM, sizeof(float) * (size_t)(2 * o.n_test));
  float *train_x = example_xmalloc(PROGRAM, sizeof(float) * (size_t)(2 * o.n_train));
  double *lp = example_xmalloc(PROGRAM, sizeof(double) * (size_t)o.n_test);
  dataset_generate(o.dataset, o.n_test, mix(o.seed * 1000003ull + 2), test_x);
  dataset_generate(o.dataset, o.n_train, mix(o.seed * 1000003ull + 1), train_x);
  uint64_t data_seed = mix(o.seed * 1000003ull + 7);

  double t0 = example_now();
  ds_model *direct = make_model(0, o.hidden, &o);
  train(direct, NULL, &o, train_x, data_seed);
  CHECK(ds_model_log_prob(direct, test_x, NULL, o.n_test, lp));
  double nll_direct = -mean(lp, o.n_test), t_direct = example_now() - t0;
  printf("summary dataset=%s K=%d seed=%llu steps=%lld batch=%lld fresh=%d data_init=%d "
         "nll_direct=%.5f free_params_direct=%lld time_direct=%.1f",
         o.dataset, o.components, (unsigned long long)o.seed, (long long)o.steps,
         (long long)o.batch, o.fresh, o.data_init, nll_direct,
         (long long)ds_model_free_param_count(direct), t_direct);
  if (o.stage2) {
    ds_smoother *sm = NULL;
    CHECK(ds_smoother_create(g_ctx, DS_NOISE_GAUSSIAN, o.sigma, &sm));
    t0 = example_now();
    ds_model *stage2 = make_model(2, o.stage2_hidden, &o);
    train(stage2, sm, &o, train_x, data_seed);
    CHECK(ds_smoother_apply(sm, test_x, o.n_test, 2, 100, test_xt));
    CHECK(ds_model_log_prob(stage2, test_x, test_xt, o.n_test, lp));
    printf(" nll_stage2=%.5f free_params_stage2=%lld stage2_hidden=%d cond_share=%g "
           "time_stage2=%.1f", -mean(lp, o.n_test), (long long)ds_model_free_param_count(stage2),
           o.stage2_hidden, o.cond_share, example_now() - t0);
    ds_model_free(stage2);
    ds_smoother_free(sm);
  }
  printf("\n");
  ds_model_free(direct);
  free(test_x); free(test_xt); free(train_x); free(lp);
  ds_context_free(g_ctx);
  return 0;
}
