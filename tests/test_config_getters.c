/* Reading configurations back: a saved-and-loaded model of each architecture reports the
 * settings it was made with, and the getters accept exactly the options the setters accept
 * (so an option added to the setters without a getter fails here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

typedef struct int_setting {
  int32_t option;
  int64_t value;
} int_setting;

typedef struct float_setting {
  int32_t option;
  double value;
} float_setting;

/* Every option of an architecture away from its default (values exact in float). */
typedef struct arch_case {
  int32_t arch;
  int_setting ints[12];
  int n_ints;
  float_setting floats[3];
  int n_floats;
  int64_t hidden[3];
  int32_t hidden_count;
} arch_case;

static const arch_case cases[] = {
    {DS_ARCH_MADE,
     {{DS_MODEL_DIM, 3}, {DS_MODEL_COND_DIM, 2}, {DS_MODEL_COMPONENTS, 4},
      {DS_MODEL_HEAD, DS_HEAD_DISCRETIZED}, {DS_MODEL_BINS, 17},
      {DS_MODEL_ACTIVATION, DS_ACTIVATION_TANH}, {DS_MODEL_RESIDUAL, 1}},
     7,
     {{DS_MODEL_BIN_LO, -2.5}, {DS_MODEL_BIN_HI, 3.25}, {DS_MODEL_COND_SHARE, 0.25}},
     3,
     {12, 12, 9},
     3},
    {DS_ARCH_PIXELCNNPP,
     {{DS_MODEL_CHANNELS, 3}, {DS_MODEL_HEIGHT, 5}, {DS_MODEL_WIDTH, 6},
      {DS_MODEL_COND_DIM, 90}, {DS_MODEL_COMPONENTS, 2}, {DS_MODEL_FILTERS, 4},
      {DS_MODEL_RESNETS, 1}, {DS_MODEL_COND_LAYOUT, DS_COND_CHANNELS},
      {DS_MODEL_COND_CONVS, 2}, {DS_MODEL_ACTIVATION, DS_ACTIVATION_ELU}},
     10,
     {{DS_MODEL_DROPOUT, 0.25}, {DS_MODEL_BIN_LO, -1.0}, {DS_MODEL_BIN_HI, 1.0}},
     3,
     {64, 64},
     2},
    {DS_ARCH_PIXELCNN,
     {{DS_MODEL_CHANNELS, 1}, {DS_MODEL_HEIGHT, 7}, {DS_MODEL_WIDTH, 4},
      {DS_MODEL_COMPONENTS, 3}, {DS_MODEL_FILTERS, 5}, {DS_MODEL_LAYERS, 2},
      {DS_MODEL_GATED, 0}, {DS_MODEL_HEAD, DS_HEAD_DISCRETIZED}, {DS_MODEL_BINS, 256},
      {DS_MODEL_ACTIVATION, DS_ACTIVATION_ELU}},
     10,
     {{DS_MODEL_BIN_LO, -1.0}, {DS_MODEL_BIN_HI, 1.0}},
     2,
     {64, 64},
     2},
};

static void tmp_path(char *buf, size_t size, int32_t arch) {
  snprintf(buf, size, "/tmp/ds_test_config_getters_%d_%d.ckpt", (int)arch, (int)getpid());
}

static void expect_settings(const ds_model_config *cfg, const arch_case *c) {
  int32_t arch = -1;
  assert_int_equal(ds_model_config_get_arch(cfg, &arch), DS_OK);
  assert_int_equal(arch, c->arch);
  for (int i = 0; i < c->n_ints; i++) {
    int64_t v = -99;
    assert_int_equal(ds_model_config_get_int(cfg, c->ints[i].option, &v), DS_OK);
    assert_int_equal(v, c->ints[i].value);
  }
  for (int i = 0; i < c->n_floats; i++) {
    double v = -99;
    assert_int_equal(ds_model_config_get_float(cfg, c->floats[i].option, &v), DS_OK);
    assert_true(v == c->floats[i].value);
  }
  int64_t widths[8] = {0};
  int32_t count = -1;
  assert_int_equal(ds_model_config_get_hidden(cfg, NULL, 0, &count), DS_OK);
  assert_int_equal(count, c->hidden_count);
  assert_int_equal(ds_model_config_get_hidden(cfg, widths, 8, &count), DS_OK);
  for (int32_t l = 0; l < count; l++) assert_int_equal(widths[l], c->hidden[l]);
}

/* Create, save, load: the loaded model's configuration has every setting (and DIM derived
 * for images); a model made from it takes the loaded model's weights and computes the same
 * log-probabilities. */
static void test_loaded_model_reports_its_configuration(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 7);
  for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
    const arch_case *c = &cases[ci];
    ds_model_config *cfg = NULL;
    assert_int_equal(ds_model_config_create(c->arch, &cfg), DS_OK);
    for (int i = 0; i < c->n_ints; i++)
      assert_int_equal(ds_model_config_set_int(cfg, c->ints[i].option, c->ints[i].value), DS_OK);
    for (int i = 0; i < c->n_floats; i++)
      assert_int_equal(ds_model_config_set_float(cfg, c->floats[i].option, c->floats[i].value),
                       DS_OK);
    assert_int_equal(ds_model_config_set_hidden(cfg, c->hidden, c->hidden_count), DS_OK);
    expect_settings(cfg, c);
    ds_model *m = NULL, *loaded = NULL, *remade = NULL;
    assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
    ds_model_config_free(cfg);
    char path[256];
    tmp_path(path, sizeof path, c->arch);
    assert_int_equal(ds_model_save(m, path), DS_OK);
    assert_int_equal(ds_model_load(ctx, path, &loaded), DS_OK);
    remove(path);

    ds_model_config *got = NULL;
    assert_int_equal(ds_model_get_config(loaded, &got), DS_OK);
    expect_settings(got, c);
    int64_t dim = 0;
    assert_int_equal(ds_model_config_get_int(got, DS_MODEL_DIM, &dim), DS_OK);
    assert_int_equal(dim, ds_model_dim(m));
    assert_int_equal(ds_model_create(ctx, got, &remade), DS_OK);
    ds_model_config_free(got);
    assert_int_equal(ds_model_param_count(remade), ds_model_param_count(m));
    assert_int_equal(ds_model_copy_weights(remade, loaded), DS_OK);

    int64_t D = ds_model_dim(m), C = ds_model_cond_dim(m), n = 2;
    float *x = malloc(sizeof(float) * (size_t)(n * D));
    float *cond = C ? malloc(sizeof(float) * (size_t)(n * C)) : NULL;
    for (int64_t i = 0; i < n * D; i++) x[i] = (float)((i % 9) - 4) / 4.0f;
    for (int64_t i = 0; i < n * C; i++) cond[i] = (float)((i % 5) - 2) / 3.0f;
    double lp_m[2], lp_remade[2];
    assert_int_equal(ds_model_log_prob(m, x, cond, n, lp_m), DS_OK);
    assert_int_equal(ds_model_log_prob(remade, x, cond, n, lp_remade), DS_OK);
    assert_memory_equal(lp_m, lp_remade, sizeof lp_m);
    free(x);
    free(cond);
    ds_model_free(remade);
    ds_model_free(loaded);
    ds_model_free(m);
  }
  ds_context_free(ctx);
}

/* Values each option is probed with: at least one is in range for every option. */
static const int64_t int_probes[] = {0, 1, 2, 3, 4, 5, 8, 16, 64, 256};
static const double float_probes[] = {0.0, 0.25, -0.5, 0.5, 1.0, 2.0};
#define N_PROBED_OPTIONS 64

/* For every architecture and option number 0..63 (beyond the enums too): if a setter
 * accepts a value, the getter reads that value back; if the getter refuses the option, the
 * setter refuses every probe. */
static void test_getters_cover_every_settable_option(void **state) {
  (void)state;
  const int32_t archs[] = {DS_ARCH_MADE, DS_ARCH_PIXELCNNPP, DS_ARCH_PIXELCNN};
  int settable = 0;
  for (size_t a = 0; a < sizeof archs / sizeof *archs; a++) {
    for (int32_t opt = -1; opt < N_PROBED_OPTIONS; opt++) {
      ds_model_config *cfg = NULL;
      assert_int_equal(ds_model_config_create(archs[a], &cfg), DS_OK);
      int64_t before = 0;
      int readable = ds_model_config_get_int(cfg, opt, &before) == DS_OK;
      for (size_t p = 0; p < sizeof int_probes / sizeof *int_probes; p++) {
        if (ds_model_config_set_int(cfg, opt, int_probes[p]) != DS_OK) continue;
        settable++;
        if (!readable) fail_msg("arch %d option %d: settable but no getter", archs[a], opt);
        int64_t v = -99;
        assert_int_equal(ds_model_config_get_int(cfg, opt, &v), DS_OK);
        assert_int_equal(v, int_probes[p]);
      }
      double fbefore = 0;
      int freadable = ds_model_config_get_float(cfg, opt, &fbefore) == DS_OK;
      for (size_t p = 0; p < sizeof float_probes / sizeof *float_probes; p++) {
        if (ds_model_config_set_float(cfg, opt, float_probes[p]) != DS_OK) continue;
        settable++;
        if (!freadable)
          fail_msg("arch %d float option %d: settable but no getter", archs[a], opt);
        double v = -99;
        assert_int_equal(ds_model_config_get_float(cfg, opt, &v), DS_OK);
        assert_true(v == (double)(float)float_probes[p]);
      }
      ds_model_config_free(cfg);
    }
  }
  assert_true(settable > 40); /* the probes reach the options at all */

  for (int32_t opt = -1; opt < N_PROBED_OPTIONS; opt++) {
    ds_trainer_config *tc = NULL;
    assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
    int64_t iv = 0;
    double fv = 0;
    int readable = ds_trainer_config_get_int(tc, opt, &iv) == DS_OK;
    int freadable = ds_trainer_config_get_float(tc, opt, &fv) == DS_OK;
    for (size_t p = 0; p < sizeof int_probes / sizeof *int_probes; p++)
      if (ds_trainer_config_set_int(tc, opt, int_probes[p]) == DS_OK) {
        if (!readable) fail_msg("trainer option %d: settable but no getter", opt);
        assert_int_equal(ds_trainer_config_get_int(tc, opt, &iv), DS_OK);
        assert_int_equal(iv, int_probes[p]);
      }
    for (size_t p = 0; p < sizeof float_probes / sizeof *float_probes; p++)
      if (ds_trainer_config_set_float(tc, opt, float_probes[p]) == DS_OK) {
        if (!freadable) fail_msg("trainer float option %d: settable but no getter", opt);
        assert_int_equal(ds_trainer_config_get_float(tc, opt, &fv), DS_OK);
        assert_true(fv == float_probes[p]);
      }
    ds_trainer_config_free(tc);
  }
}

/* Defaults read back as the header documents them; required sizes read 0 until set. */
static void test_defaults(void **state) {
  (void)state;
  ds_model_config *cfg = NULL;
  int64_t v = -1;
  double f = 0;
  assert_int_equal(ds_model_config_create(DS_ARCH_PIXELCNNPP, &cfg), DS_OK);
  assert_int_equal(ds_model_config_get_int(cfg, DS_MODEL_DIM, &v), DS_OK);
  assert_int_equal(v, 0);
  assert_int_equal(ds_model_config_get_int(cfg, DS_MODEL_HEIGHT, &v), DS_OK);
  assert_int_equal(v, 0);
  assert_int_equal(ds_model_config_get_int(cfg, DS_MODEL_COMPONENTS, &v), DS_OK);
  assert_int_equal(v, 5);
  assert_int_equal(ds_model_config_get_int(cfg, DS_MODEL_BINS, &v), DS_OK);
  assert_int_equal(v, 256);
  assert_int_equal(ds_model_config_get_int(cfg, DS_MODEL_FILTERS, &v), DS_OK);
  assert_int_equal(v, 32);
  assert_int_equal(ds_model_config_get_float(cfg, DS_MODEL_BIN_LO, &f), DS_OK);
  assert_true(f == -1.0);
  ds_model_config_free(cfg);

  ds_trainer_config *tc = NULL;
  assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
  assert_int_equal(ds_trainer_config_get_int(tc, DS_TRAIN_BATCH, &v), DS_OK);
  assert_int_equal(v, 128);
  assert_int_equal(ds_trainer_config_get_int(tc, DS_TRAIN_TOTAL_STEPS, &v), DS_OK);
  assert_int_equal(v, 1000);
  assert_int_equal(ds_trainer_config_get_float(tc, DS_TRAIN_LR, &f), DS_OK);
  assert_true(f == 1e-3);
  assert_int_equal(ds_trainer_config_get_float(tc, DS_TRAIN_LR_DECAY, &f), DS_OK);
  assert_true(f == 0.9995);
  ds_trainer_config_free(tc);
}

/* Refusals leave the output untouched and say why. */
static void test_errors(void **state) {
  (void)state;
  ds_model_config *cfg = NULL;
  int64_t v = 42;
  double f = 4.5;
  int32_t count = 42;
  int64_t widths[1] = {42};
  assert_int_equal(ds_model_config_create(DS_ARCH_MADE, &cfg), DS_OK);
  assert_int_equal(ds_model_config_get_int(NULL, DS_MODEL_DIM, &v), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_get_int(cfg, DS_MODEL_DIM, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_get_int(cfg, 1000, &v), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(NULL), "not a ds_model_option"));
  assert_int_equal(ds_model_config_get_int(cfg, DS_MODEL_HEIGHT, &v), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(NULL), "DS_MODEL_HEIGHT does not apply"));
  assert_int_equal(ds_model_config_get_float(cfg, DS_MODEL_DROPOUT, &f),
                   DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_get_float(cfg, -1, &f), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_get_hidden(cfg, widths, 1, &count), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(NULL), "capacity = 1"));
  assert_int_equal(ds_model_config_get_hidden(cfg, NULL, 0, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_get_arch(cfg, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(v, 42);
  assert_true(f == 4.5);
  assert_int_equal(count, 42);
  assert_int_equal(widths[0], 42);
  ds_model_config_free(cfg);

  ds_model_config *out = NULL;
  assert_int_equal(ds_model_get_config(NULL, &out), DS_ERR_INVALID_ARGUMENT);
  assert_null(out);
  ds_trainer_config *tout = NULL;
  assert_int_equal(ds_trainer_get_config(NULL, &tout), DS_ERR_INVALID_ARGUMENT);
  assert_null(tout);
  assert_int_equal(ds_trainer_config_get_int(NULL, DS_TRAIN_BATCH, &v), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_config_get_float(NULL, DS_TRAIN_LR, &f), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(v, 42);
}

/* A trainer reports the configuration it was made with. */
static void test_trainer_reports_its_configuration(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 3);
  ds_model_config *mc = NULL;
  ds_model *m = NULL;
  assert_int_equal(ds_model_config_create(DS_ARCH_MADE, &mc), DS_OK);
  assert_int_equal(ds_model_config_set_int(mc, DS_MODEL_DIM, 2), DS_OK);
  assert_int_equal(ds_model_create(ctx, mc, &m), DS_OK);
  ds_model_config_free(mc);
  ds_trainer_config *tc = NULL, *got = NULL;
  assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 33), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_SCHEDULE, DS_LR_COSINE), DS_OK);
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_LR, 0.0123), DS_OK);
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_CLIP_NORM, 2.5), DS_OK);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  ds_trainer_config_free(tc);
  assert_int_equal(ds_trainer_get_config(t, &got), DS_OK);
  int64_t v = 0;
  double f = 0;
  assert_int_equal(ds_trainer_config_get_int(got, DS_TRAIN_BATCH, &v), DS_OK);
  assert_int_equal(v, 33);
  assert_int_equal(ds_trainer_config_get_int(got, DS_TRAIN_SCHEDULE, &v), DS_OK);
  assert_int_equal(v, DS_LR_COSINE);
  assert_int_equal(ds_trainer_config_get_float(got, DS_TRAIN_LR, &f), DS_OK);
  assert_true(f == 0.0123);
  assert_int_equal(ds_trainer_config_get_float(got, DS_TRAIN_CLIP_NORM, &f), DS_OK);
  assert_true(f == 2.5);
  ds_trainer_config_free(got);
  ds_trainer_free(t);
  ds_model_free(m);
  ds_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_loaded_model_reports_its_configuration),
      cmocka_unit_test(test_getters_cover_every_settable_option),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_trainer_reports_its_configuration),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
