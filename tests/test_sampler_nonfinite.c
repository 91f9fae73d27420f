/* The non-finite policy of the image networks' samplers (model/graph.h, "Non-finite
 * activations"; ds_model_sample in dsmooth.h): the cached and the naive sampler never
 * return different samples with DS_OK. Where a masked convolution's input overflows, both
 * refuse with DS_ERR_NUMERIC (a full pass computes 0 * inf = NaN at the structurally zero
 * taps the cached sampler never reads); a non-finite head gives no sample; an unmasked
 * network (PixelCNN++) with overflowing activations behaves the same in both.
 * The first case is the fuzzer's finding tests/fuzz/findings/model_sampler_disagreement.ckpt
 * (a conditional 1x4x4 masked PixelCNN with one weight 2.75e38): before the policy both
 * samplers returned DS_OK with samples that differed from pixel 8 on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "test_util.h"
#include "pixelcnn_fixtures.h"
#include "model/graph.h"

enum { SENTINEL_N = 2 };

/* Cached (into a) and naive (into b) samples of n examples, (n, D) each. */
static void sample_both(ds_model *m, const float *cond, int64_t n, int32_t method, float *a,
                        float *b, ds_status *sa, ds_status *sb) {
  *sa = ds_model_sample(m, cond, n, 3, method, a);
  *sb = ds_model_sample(m, cond, n, 3, method | DS_SAMPLE_NAIVE, b);
}

static void fixture_is_refused_by_both(void **state) {
  (void)state;
  for (int32_t threads = 1; threads <= 2; threads++) {
    ds_context *ctx = test_context(threads, 1);
    ds_model *m = NULL;
    assert_int_equal(ds_model_load(ctx, DS_FINDINGS_DIR "/model_sampler_disagreement.ckpt", &m),
                     DS_OK);
    enum { D = 16 };
    float cond[SENTINEL_N * D], a[SENTINEL_N * D], b[SENTINEL_N * D];
    memset(cond, 0, sizeof cond);
    for (int i = 0; i < SENTINEL_N * D; i++) a[i] = b[i] = 42.0f;
    for (int32_t method = DS_SAMPLE_BISECTION; method <= DS_SAMPLE_GUMBEL; method++) {
      ds_status sa, sb;
      sample_both(m, cond, SENTINEL_N, method, a, b, &sa, &sb);
      assert_int_equal(sa, DS_ERR_NUMERIC);
      assert_int_equal(sb, DS_ERR_NUMERIC);
      for (int i = 0; i < SENTINEL_N * D; i++) assert_true(a[i] == 42.0f && b[i] == 42.0f);
    }
    /* the cached sampler names the cause */
    assert_int_equal(ds_model_sample(m, cond, 1, 3, DS_SAMPLE_BISECTION, a), DS_ERR_NUMERIC);
    assert_non_null(strstr(ds_context_last_error(ctx), "masked convolution"));
    ds_model_free(m);
    ds_context_free(ctx);
  }
}

/* A masked PixelCNN whose first (mask A) conv makes output channel 0 overflow wherever two
 * or more of its live taps see the ones channel: inf at pixel (0, 2), which is a dead
 * (right-of-centre) tap of the mask-B conv at (0, 1). */
static ds_model *overflowing_masked_pixelcnn(ds_context *ctx, int32_t gated) {
  ds_model_config *cfg = NULL;
  ds_model *m = NULL;
  assert_int_equal(ds_model_config_create(DS_ARCH_PIXELCNN, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEIGHT, 4), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_WIDTH, 5), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_FILTERS, 3), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_LAYERS, 2), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, 2), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_GATED, gated), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
  ds_model_config_free(cfg);
  const ds__graph *g = ds__pcnn_of(m);
  const ds__graph_op *o = &g->ops[0]; /* conv7x7_A (F, C + 1, 7, 7) */
  assert_int_equal(o->mask, DS__OP_MASK_A);
  int64_t ones = o->cin - 1, taps = o->kh * o->kw;
  for (int64_t k = 0; k < taps; k++) {
    int64_t at = o->w_offset + (0 * o->cin + ones) * taps + k;
    if (m->mask[at] != 0.0f) m->params[at] = 3e38f;
  }
  ds__model_weights_changed(m);
  return m;
}

static void masked_overflow_is_refused_by_both(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 1);
  for (int32_t gated = 0; gated <= 1; gated++) {
    ds_model *m = overflowing_masked_pixelcnn(ctx, gated);
    float a[3 * 20], b[3 * 20], x[3 * 20];
    ds_status sa, sb;
    sample_both(m, NULL, 3, DS_SAMPLE_BISECTION, a, b, &sa, &sb);
    assert_int_equal(sa, DS_ERR_NUMERIC);
    assert_int_equal(sb, DS_ERR_NUMERIC);
    /* the same policy for every result of a forward pass */
    double lp[3];
    for (int i = 0; i < 3 * 20; i++) x[i] = 0.1f * (float)(i % 7) - 0.3f;
    assert_int_equal(ds_model_log_prob(m, x, NULL, 3, lp), DS_ERR_NUMERIC);
    ds_model_free(m);
  }
  ds_context_free(ctx);
}

/* No masked conv, no dead tap: whatever overflows, both samplers compute the same values,
 * so they agree (here the overflow reaches the heads: both refuse). */
static void pixelcnnpp_overflow_agrees(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 1);
  ds_model *m = tiny_pixelcnn(ctx, 1, 4, 4, 4, 1, 2, DS_HEAD_CONTINUOUS, 0, 0.0);
  const ds__graph *g = ds__pcnn_of(m);
  for (int32_t i = 0; i < g->op_count; i++) /* every first-layer conv weight huge */
    if (g->ops[i].in == g->input)
      for (int64_t k = g->ops[i].w_offset; k < g->ops[i].b_offset; k++) m->params[k] = 3e38f;
  ds__model_weights_changed(m);
  float a[4 * 16], b[4 * 16];
  ds_status sa, sb;
  sample_both(m, NULL, 4, DS_SAMPLE_BISECTION, a, b, &sa, &sb);
  assert_int_equal(sa, sb);
  assert_int_equal(sa, DS_ERR_NUMERIC); /* the overflow reaches the heads */
  ds_model_free(m);
  ds_context_free(ctx);
}

/* A NaN head: no draw from it (bisection would otherwise settle on a finite value). */
static void nan_head_gives_no_sample(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 1);
  ds_model *m = tiny_pixelcnn(ctx, 1, 4, 4, 4, 1, 2, DS_HEAD_DISCRETIZED, 0, 0.0);
  const ds__graph *g = ds__pcnn_of(m);
  const ds__graph_op *head = &g->ops[g->op_count - 1];
  assert_int_equal(head->out, g->head);
  m->params[head->b_offset] = NAN; /* the first head parameter of every pixel */
  ds__model_weights_changed(m);
  for (int32_t method = DS_SAMPLE_BISECTION; method <= DS_SAMPLE_GUMBEL; method++) {
    float a[16], b[16];
    ds_status sa, sb;
    sample_both(m, NULL, 1, method, a, b, &sa, &sb);
    assert_int_equal(sa, DS_ERR_NUMERIC);
    assert_int_equal(sb, DS_ERR_NUMERIC);
  }
  ds_model_free(m);
  ds_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fixture_is_refused_by_both),
      cmocka_unit_test(masked_overflow_is_refused_by_both),
      cmocka_unit_test(pixelcnnpp_overflow_agrees),
      cmocka_unit_test(nan_head_gives_no_sample),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
