/* A fixed 2-D two-stage run through the public API, printing every number it produces as
 * "name index value" with C99 hex floats (%a), so another language's bindings can be
 * compared with it bit for bit (examples/python/tests/test_two_stage_bits.py does).
 *   two_stage_numbers [threads]      (results do not depend on the thread count)
 * The data come from an integer xorshift generator and exact float arithmetic only, so
 * any language reproduces them exactly; keep make_data in step with the Python copy. */
#include <dsmooth.h>
#include <stdio.h>
#include <stdlib.h>

#define N 1024
#define SEED 7
#define STEPS 120

static ds_context *ctx;

#define CHECK(call)                                                                      \
  do {                                                                                   \
    ds_status st_ = (call);                                                              \
    if (st_ != DS_OK) {                                                                  \
      fprintf(stderr, "%s: %s: %s\n", #call, ds_status_str(st_), ds_context_last_error(ctx)); \
      exit(1);                                                                           \
    }                                                                                    \
  } while (0)

static uint64_t xorshift(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* Four clusters at (+-1.5, +-1.5), each coordinate offset by 0.5 * (u + v - 1) with u, v
 * multiples of 2^-24 in [0, 1): every operation below is exact in double. */
static void make_data(float *x, int64_t n, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < n; i++) {
    uint64_t comp = xorshift(&s) >> 62;
    for (int d = 0; d < 2; d++) {
      double u = (double)(xorshift(&s) >> 40) / 16777216.0;
      double v = (double)(xorshift(&s) >> 40) / 16777216.0;
      double centre = (comp >> d) & 1 ? 1.5 : -1.5;
      x[2 * i + d] = (float)(centre + 0.5 * (u + v - 1.0));
    }
  }
}

static void print_f(const char *name, const float *v, int n) {
  for (int i = 0; i < n; i++) printf("%s %d %a\n", name, i, (double)v[i]);
}
static void print_d(const char *name, const double *v, int n) {
  for (int i = 0; i < n; i++) printf("%s %d %a\n", name, i, v[i]);
}

static ds_model *made(int64_t cond_dim) {
  ds_model_config *cfg = NULL;
  ds_model *m = NULL;
  int64_t widths[2] = {32, 32};
  CHECK(ds_model_config_create(DS_ARCH_MADE, &cfg));
  CHECK(ds_model_config_set_int(cfg, DS_MODEL_DIM, 2));
  CHECK(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, cond_dim));
  CHECK(ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, 4));
  CHECK(ds_model_config_set_hidden(cfg, widths, 2));
  CHECK(ds_model_create(ctx, cfg, &m));
  ds_model_config_free(cfg);
  return m;
}

static double train(ds_model *m, ds_smoother *sm, const float *x) {
  ds_trainer_config *tc = NULL;
  ds_trainer *t = NULL;
  double loss = 0;
  CHECK(ds_trainer_config_create(&tc));
  CHECK(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 128));
  CHECK(ds_trainer_config_set_int(tc, DS_TRAIN_TOTAL_STEPS, STEPS));
  CHECK(ds_trainer_config_set_int(tc, DS_TRAIN_SCHEDULE, DS_LR_COSINE));
  CHECK(ds_trainer_config_set_float(tc, DS_TRAIN_LR, 3e-3));
  CHECK(ds_trainer_create(m, tc, sm, &t));
  CHECK(ds_trainer_train(t, x, NULL, N, STEPS, &loss));
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  return loss;
}

int main(int argc, char **argv) {
  static float x[N * 2];
  ds_context_options *o = NULL;
  ds_smoother *sm = NULL;
  ds_denoiser *gd = NULL, *cd = NULL;
  CHECK(ds_context_options_create(&o));
  CHECK(ds_context_options_set_threads(o, argc > 1 ? atoi(argv[1]) : 2));
  CHECK(ds_context_options_set_seed(o, SEED));
  CHECK(ds_context_create(o, &ctx));
  ds_context_options_free(o);
  make_data(x, N, SEED);
  print_f("data", x, 8);

  CHECK(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.5, &sm));
  ds_model *stage1 = made(0), *stage2 = made(2);
  double loss[2] = {train(stage1, sm, x), train(stage2, sm, x)};
  print_d("loss", loss, 2);

  double lp[8], bound[16], grid[4];
  CHECK(ds_model_log_prob(stage1, x, NULL, 8, lp));
  print_d("stage1_log_prob", lp, 8);
  CHECK(ds_two_stage_log_prob_bound(stage1, stage2, sm, x, 16, 8, 3, bound));
  print_d("bound", bound, 16);
  CHECK(ds_two_stage_log_prob_grid(stage1, stage2, x, 4, -5, 5, 33, grid));
  print_d("grid", grid, 4);

  float xt[16], out[16];
  CHECK(ds_smoother_apply(sm, x, 8, 2, 5, xt));
  print_f("x_tilde", xt, 16);
  CHECK(ds_denoiser_create_gradient(stage1, sm, DS_SCORE_EXACT, &gd));
  CHECK(ds_denoiser_apply(gd, xt, 8, 0, out));
  print_f("gradient_denoised", out, 16);
  CHECK(ds_denoiser_create_conditional(stage2, DS_CONDITIONAL_SAMPLE, &cd));
  CHECK(ds_two_stage_sample(stage1, cd, 8, 9, out));
  print_f("two_stage_sample", out, 16);
  CHECK(ds_model_sample(stage1, NULL, 8, 11, DS_SAMPLE_BISECTION, out));
  print_f("stage1_sample", out, 16);

  ds_denoiser_free(cd);
  ds_denoiser_free(gd);
  ds_model_free(stage2);
  ds_model_free(stage1);
  ds_smoother_free(sm);
  ds_context_free(ctx);
  return 0;
}
