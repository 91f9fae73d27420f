/* Small models and data shared by the model-level tests. Include after test_util.h. */
#ifndef DS_TEST_MODEL_FIXTURES_H
#define DS_TEST_MODEL_FIXTURES_H

#include <math.h>

static inline ds_model *small_model(ds_context *ctx, int64_t D, int64_t C, int32_t K,
                                    int64_t width) {
  ds_model_config *cfg = NULL;
  ds_model *m = NULL;
  int64_t widths[2] = {width, width};
  assert_int_equal(ds_model_config_create(DS_ARCH_MADE, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, D), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, C), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, K), DS_OK);
  assert_int_equal(ds_model_config_set_hidden(cfg, widths, 2), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
  ds_model_config_free(cfg);
  return m;
}

static inline ds_trainer_config *small_trainer_config(int64_t batch, int64_t total) {
  ds_trainer_config *tc = NULL;
  assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, batch), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_TOTAL_STEPS, total), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_SCHEDULE, DS_LR_COSINE), DS_OK);
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_LR, 3e-3), DS_OK);
  return tc;
}

/* A 2-D mixture of four well separated Gaussians, deterministic. */
static inline void mixture_data(float *x, int64_t n, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < n; i++) {
    double u[4];
    for (int k = 0; k < 4; k++)
      u[k] = ((double)(test_xorshift(&s) >> 11) + 0.5) / 9007199254740992.0;
    int comp = (int)(u[0] * 4);
    double r = sqrt(-2 * log(u[1])), a = 2 * M_PI * u[2];
    x[2 * i] = (float)((comp & 1 ? 1.5 : -1.5) + 0.3 * r * cos(a));
    x[2 * i + 1] = (float)((comp & 2 ? 1.5 : -1.5) + 0.3 * r * sin(a) + 0.2 * u[3]);
  }
}

#endif
