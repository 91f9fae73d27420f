/* The layer-graph module's own contracts (model/graph.h): the op-kind table is complete
 * for every role, the builder derives channels and levels from each kind's rule, grows
 * without a capacity guess, and refuses an op that does not fit its kind. The networks
 * built on it are tested by test_pixelcnn*, test_masked_pixelcnn*. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "model/graph.h"
#include "test_util.h"
#include "pixelcnn_fixtures.h"

static void kind_table_is_complete(void **state) {
  (void)state;
  for (int32_t k = 0; k < DS__OP_KIND_COUNT; k++) {
    const ds__op_kind *d = &ds__op_kinds[k];
    assert_non_null(d->name);
    assert_true(d->arity == 1 || d->arity == 2);
    assert_int_equal(d->weights, d->role == DS__ROLE_CONV || d->role == DS__ROLE_DECONV);
    switch (d->role) {
      case DS__ROLE_POINTWISE:
        assert_non_null(d->forward);
        assert_non_null(d->backward);
        break;
      case DS__ROLE_SHIFT:
        assert_non_null(d->shift);
        assert_non_null(d->shift_backward);
        assert_true(d->shift_y + d->shift_x > 0);
        break;
      default: assert_true(d->role >= DS__ROLE_CONV && d->role <= DS__ROLE_DROPOUT); break;
    }
    for (int32_t j = 0; j < k; j++) assert_string_not_equal(d->name, ds__op_kinds[j].name);
  }
}

enum { CHAIN = 1000 }; /* far past the arrays' first capacity (16) */

/* input (C + 1 at level 0) -> CHAIN ELUs -> celu -> concat with the input -> pool -> gate */
static void long_build(ds__graph_builder *b, const ds_model_config *cfg) {
  ds__graph *g = b->g;
  ds__graph_set_image(g, cfg, cfg->height, 1);
  g->input = ds__graph_add_tensor(b, g->channels + 1, 0);
  int32_t t = g->input;
  for (int32_t i = 0; i < CHAIN; i++) t = ds__graph_apply(b, DS__OP_ELU, t, -1);
  int32_t e = ds__graph_apply(b, DS__OP_CELU, t, -1);
  assert_int_equal(ds__graph_find(g, DS__OP_CELU, t), e);
  int32_t cat = ds__graph_apply(b, DS__OP_CONCAT, e, g->input);
  int32_t pooled = ds__graph_apply(b, DS__OP_AVGPOOL, cat, -1);
  const int64_t pads[4] = {0, 0, 0, 0};
  int32_t ab = ds__graph_conv(b, pooled, -1, 2 * g->tensors[pooled].c, 1, 1, 1, pads,
                              DS__OP_MASK_NONE, 1);
  g->head = ds__graph_apply(b, DS__OP_GATE, pooled, ab);
}

/* a GATE whose [u, v] input has c instead of 2c channels */
static void bad_build(ds__graph_builder *b, const ds_model_config *cfg) {
  ds__graph *g = b->g;
  ds__graph_set_image(g, cfg, cfg->height, 1);
  g->input = ds__graph_add_tensor(b, 4, 0);
  int32_t half = ds__graph_add_tensor(b, 4, 0);
  int32_t y = ds__graph_add_tensor(b, 4, 0);
  ds__graph_op_new(b, DS__OP_GATE, g->input, half, y);
  g->head = y;
}

/* Build on a real image model's m (its own graph set aside and restored). */
static ds_status build_on(ds_model *m, void (*build)(ds__graph_builder *, const ds_model_config *),
                          ds__graph *copy) {
  void *own = m->arch_state;
  int64_t params = m->param_count;
  ds_status st = ds__graph_setup(m, build);
  ds__graph *g = m->arch_state;
  if (g) *copy = *g;
  ds__pcnn_teardown(m);
  m->arch_state = own;
  m->param_count = params;
  return st;
}

static void builder_grows_and_applies_the_rules(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 1);
  ds_model *m = tiny_pixelcnn(ctx, 1, 5, 7, 4, 1, 2, DS_HEAD_CONTINUOUS, 0, 0.0);
  ds__graph g;
  memset(&g, 0, sizeof g);
  assert_int_equal(build_on(m, long_build, &g), DS_OK);
  assert_int_equal(g.op_count, CHAIN + 5);
  assert_int_equal(g.tensor_count, CHAIN + 6);
  assert_true(g.tensor_cap >= g.tensor_count && g.op_cap >= g.op_count);
  /* channels: ELU keeps 2, CELU doubles to 4, CONCAT adds the input's 2: 6; the pool moves
     to level 1 (3 x 4), the gate keeps 6 */
  assert_int_equal(g.h[1], 3);
  assert_int_equal(g.w[1], 4);
  assert_int_equal(g.param_count, 12 * 6 + 12);
  int64_t floats = (CHAIN + 1) * 2 * 35 + 4 * 35 + 6 * 35 + 6 * 12 + 12 * 12 + 6 * 12;
  assert_int_equal(g.floats_per_row, floats);
  ds_model_free(m);
  ds_context_free(ctx);
}

static void builder_refuses_an_op_that_does_not_fit(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 1);
  ds_model *m = tiny_pixelcnn(ctx, 1, 4, 4, 4, 1, 2, DS_HEAD_CONTINUOUS, 0, 0.0);
  ds__graph g;
  memset(&g, 0, sizeof g);
  assert_int_equal(build_on(m, bad_build, &g), DS_ERR_INTERNAL);
  assert_non_null(strstr(ds_context_last_error(ctx), "gate"));
  /* the model is untouched and still works */
  float x[16] = {0};
  double lp;
  assert_int_equal(ds_model_log_prob(m, x, NULL, 1, &lp), DS_OK);
  ds_model_free(m);
  ds_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(kind_table_is_complete),
      cmocka_unit_test(builder_grows_and_applies_the_rules),
      cmocka_unit_test(builder_refuses_an_op_that_does_not_fit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
