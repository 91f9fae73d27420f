/* MADE internals: the autoregressive property, parameter gradients and the exact score
 * against central finite differences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>

#include "model/model.h"
#include "test_util.h"

static ds_model *make_model(ds_context *ctx, int64_t D, int64_t C, int32_t K, int residual,
                            int activation, int head) {
  ds_model_config *cfg = NULL;
  ds_model *m = NULL;
  assert_int_equal(ds_model_config_create(DS_ARCH_MADE, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, D), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, C), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, K), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_RESIDUAL, residual), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_ACTIVATION, activation), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEAD, head), DS_OK);
  int64_t widths[3] = {24, 24, 24};
  assert_int_equal(ds_model_config_set_hidden(cfg, widths, 3), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
  ds_model_config_free(cfg);
  /* make the biases non-trivial so every path matters */
  for (int64_t k = 0; k < m->param_count; k++)
    if (m->mask[k] != 0.0f && m->params[k] == 0.0f) m->params[k] = 0.05f;
  ds__model_weights_changed(m);
  return m;
}

/* head parameters (rows, D * group_params) of a forward pass */
static void heads(ds_model *m, const float *x, const float *c, int64_t rows, float *out) {
  ds__model_ws ws;
  assert_int_equal(ds__model_ws_init(m, rows, &ws), DS_OK);
  const float *h = ds__model_forward_heads(m, &ws, x, c, rows);
  assert_int_equal(ws.head_stride, m->groups * m->group_params);
  memcpy(out, h, sizeof(float) * (size_t)(rows * ws.head_stride));
  ds__model_ws_free(m, &ws);
}

static void autoregressive_property(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 3);
  const int64_t D = 5;
  for (int variant = 0; variant < 4; variant++) {
    int64_t C = variant & 1 ? 3 : 0;
    ds_model *m = make_model(ctx, D, C, 2, variant >> 1, DS_ACTIVATION_TANH, DS_HEAD_CONTINUOUS);
    int64_t P = 6;
    float x[5] = {0.3f, -1.2f, 0.7f, 2.0f, -0.4f}, c[3] = {0.5f, -0.5f, 1.5f};
    float base[30], moved[30];
    heads(m, x, C ? c : NULL, 1, base);
    for (int64_t k = 0; k < D; k++) {
      float y[5];
      memcpy(y, x, sizeof x);
      y[k] += 1.7f;
      heads(m, y, C ? c : NULL, 1, moved);
      for (int64_t d = 0; d < D; d++) {
        int changed = memcmp(base + d * P, moved + d * P, sizeof(float) * (size_t)P) != 0;
        if (d <= k) assert_false(changed); /* dimension d sees only x_<d */
        if (d == k + 1) assert_true(changed); /* and does see x_{d-1} */
      }
    }
    if (C) { /* the conditioning input reaches every dimension, including the first */
      float c2[3] = {0.5f, 0.9f, 1.5f};
      heads(m, x, c2, 1, moved);
      for (int64_t d = 0; d < D; d++)
        assert_true(memcmp(base + d * P, moved + d * P, sizeof(float) * (size_t)P) != 0);
    }
    ds_model_free(m);
  }
  ds_context_free(ctx);
}

static double total_log_prob(ds_model *m, const float *x, const float *c, int64_t rows) {
  ds__model_ws ws;
  double lp[8], acc = 0;
  assert_int_equal(ds__model_ws_init(m, rows, &ws), DS_OK);
  ds__eval_request req = {x, c, rows, lp, 0.0f, NULL, 0};
  ds__model_eval(m, &ws, &req);
  ds__model_ws_free(m, &ws);
  for (int64_t r = 0; r < rows; r++) acc += lp[r];
  return acc;
}

static void check_param_gradient(int residual, int activation, int head) {
  ds_context *ctx = test_context(2, 11);
  const int64_t D = 3, C = 2, rows = 4;
  ds_model *m = make_model(ctx, D, C, 3, residual, activation, head);
  float x[12] = {0.1f, -0.5f, 0.9f, 1.2f, 0.0f, -0.8f, -0.3f, 0.4f, 0.2f, 0.6f, -0.9f, 0.35f};
  float c[8] = {0.2f, -0.1f, 0.5f, 0.3f, -0.7f, 0.8f, 0.0f, 0.1f};
  if (head == DS_HEAD_DISCRETIZED) /* bin centres of 256 bins over [-1, 1] */
    for (int i = 0; i < 12; i++) x[i] = -1.0f + 2.0f * roundf((x[i] + 1.0f) * 127.5f) / 255.0f;
  ds__model_ws ws;
  double lp[4];
  float *grad = calloc((size_t)m->param_count, sizeof(float));
  assert_int_equal(ds__model_ws_init(m, rows, &ws), DS_OK);
  ds__eval_request req = {x, c, rows, lp, 1.0f, NULL, 0}; /* loss = sum of -log p */
  ds__model_eval(m, &ws, &req);
  ds__model_param_grads(m, &ws, rows, grad);
  ds__model_ws_free(m, &ws);
  int checked = 0;
  for (int64_t k = 0; k < m->param_count; k += 7) {
    if (m->mask[k] == 0.0f) {
      assert_true(grad[k] == 0.0f);
      continue;
    }
    float keep = m->params[k];
    double h = 1e-2 * (fabs(keep) > 0.1 ? fabs(keep) : 0.1);
    m->params[k] = (float)(keep + h);
    double up = -total_log_prob(m, x, c, rows);
    m->params[k] = (float)(keep - h);
    double dn = -total_log_prob(m, x, c, rows);
    m->params[k] = keep;
    double fd = (up - dn) / (2 * h);
    if (fabs(fd - grad[k]) > 2e-2 * (1.0 + fabs(fd)))
      print_error("param %lld: analytic %.6g, finite difference %.6g\n", (long long)k,
                  (double)grad[k], fd);
    assert_true(fabs(fd - grad[k]) <= 2e-2 * (1.0 + fabs(fd)));
    checked++;
  }
  assert_true(checked > 50);
  free(grad);
  ds_model_free(m);
  ds_context_free(ctx);
}

static void param_gradient_tanh(void **s) { (void)s; check_param_gradient(0, DS_ACTIVATION_TANH, DS_HEAD_CONTINUOUS); }
static void param_gradient_residual_elu(void **s) { (void)s; check_param_gradient(1, DS_ACTIVATION_ELU, DS_HEAD_CONTINUOUS); }
static void param_gradient_discretized(void **s) { (void)s; check_param_gradient(0, DS_ACTIVATION_TANH, DS_HEAD_DISCRETIZED); }

static void exact_score_matches_finite_differences(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 5);
  const int64_t D = 4;
  for (int residual = 0; residual < 2; residual++) {
    ds_model *m = make_model(ctx, D, 0, 3, residual, DS_ACTIVATION_TANH, DS_HEAD_CONTINUOUS);
    float x[4] = {0.4f, -0.2f, 1.1f, -0.7f}, exact[4], local[4];
    double lp;
    assert_int_equal(ds_model_score(m, x, NULL, 1, DS_SCORE_EXACT, exact, &lp), DS_OK);
    assert_int_equal(ds_model_score(m, x, NULL, 1, DS_SCORE_LOCAL, local, NULL), DS_OK);
    int differs = 0;
    for (int64_t d = 0; d < D; d++) {
      double h = 1e-2, up, dn;
      float y[4];
      memcpy(y, x, sizeof x);
      y[d] = x[d] + (float)h;
      ds_model_log_prob(m, y, NULL, 1, &up);
      y[d] = x[d] - (float)h;
      ds_model_log_prob(m, y, NULL, 1, &dn);
      double fd = (up - dn) / (2 * h);
      assert_true(fabs(fd - exact[d]) < 1e-2 * (1 + fabs(fd)));
      differs += fabs(exact[d] - local[d]) > 1e-4;
    }
    /* the last dimension feeds no later conditional: exact and local agree there */
    assert_true(fabs(exact[D - 1] - local[D - 1]) < 1e-5);
    assert_true(differs > 0);
    ds_model_free(m);
  }
  ds_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(autoregressive_property),
      cmocka_unit_test(param_gradient_tanh),
      cmocka_unit_test(param_gradient_residual_elu),
      cmocka_unit_test(param_gradient_discretized),
      cmocka_unit_test(exact_score_matches_finite_differences),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
