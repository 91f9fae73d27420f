/* The architecture table (lib/model/arch.h) as the one home of architecture knowledge:
 * every ds_arch value has a complete table and nothing else does; every model gets the head its configuration asks for, the
 * width the head gives, and its own state and workspace behind the opaque pointers.
 * (Checkpoint fields are rows of the option table: tests/test_option_tables.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "model/checkpoint.h"
#include "model/model.h"
#include "test_util.h"

static const int32_t archs[] = {DS_ARCH_MADE, DS_ARCH_PIXELCNNPP, DS_ARCH_PIXELCNN};

static void every_architecture_has_a_complete_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++) {
    const ds__arch *a = ds__arch_for(archs[i]);
    assert_non_null(a);
    assert_non_null(a->name);
    assert_true(a->setup && a->teardown && a->masks && a->init && a->ws_init && a->ws_free);
    assert_true(a->forward && a->backward && a->param_grads); /* sample is optional */
    assert_true(a->group_dims && a->block_rows && a->data_init && a->head_bias);
    for (size_t j = 0; j < i; j++) assert_ptr_not_equal(a, ds__arch_for(archs[j]));
  }
  assert_null(ds__arch_for(-1));
  assert_null(ds__arch_for(DS_ARCH_PIXELCNN + 1));
  assert_null(ds__arch_for(1 << 30));
}

static ds_model *model_of(ds_context *ctx, int32_t arch, int32_t channels, int32_t head) {
  ds_model_config *cfg = NULL;
  ds_model *m = NULL;
  assert_int_equal(ds_model_config_create(arch, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, 2), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEAD, head), DS_OK);
  if (arch == DS_ARCH_MADE) {
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, 3), DS_OK);
  } else {
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_CHANNELS, channels), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEIGHT, 4), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_WIDTH, 4), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_FILTERS, 4), DS_OK);
  }
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
  ds_model_config_free(cfg);
  return m;
}

static void models_get_the_head_they_ask_for(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 1);
  for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
    for (int32_t channels = 1; channels <= 3; channels += 2)
      for (int32_t head = DS_HEAD_CONTINUOUS; head <= DS_HEAD_DISCRETIZED; head++) {
        if (archs[i] == DS_ARCH_MADE && channels == 3) continue;
        ds_model *m = model_of(ctx, archs[i], channels, head);
        assert_ptr_equal(m->arch, ds__arch_for(archs[i]));
        assert_ptr_equal(m->head, ds__head_for(head, channels));
        assert_int_equal(m->group_dims, channels);
        assert_int_equal(m->group_params, channels == 3 ? 20 : 6); /* K = 2 */
        assert_int_equal(m->groups * m->group_dims, m->cfg.dim);
        assert_ptr_equal(m->head_bins, head == DS_HEAD_DISCRETIZED ? &m->bins : NULL);
        assert_non_null(m->arch_state);
        ds__model_ws ws;
        assert_int_equal(ds__model_ws_init(m, 3, &ws), DS_OK);
        assert_non_null(ws.arch_ws);
        assert_int_equal(ws.head_stride, m->groups * m->group_params);
        int32_t shared = -1;
        int64_t bias = m->arch->head_bias(m, &shared);
        assert_true(bias >= 0 && bias + m->group_params <= m->param_count);
        assert_int_equal(shared, archs[i] != DS_ARCH_MADE);
        int64_t rows = ds__model_block_rows(m);
        assert_true(rows >= 1 && rows <= DS__EVAL_BLOCK);
        ds__model_ws_free(m, &ws);
        assert_null(ws.arch_ws);
        ds_model_free(m);
      }
  ds_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_architecture_has_a_complete_table),
      cmocka_unit_test(models_get_the_head_they_ask_for),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
