/* Dropout masks belong to a row's position in the step's batch, not to the pass that holds
 * it: a training pass over rows [3, 6) of a batch with first_row = 3 gives each row the
 * log-likelihood (and so the mask) a whole-batch pass gives it; with first_row = 0 it gets
 * rows 0..2's masks instead. Data-parallel training evaluates a batch in such parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "model/model.h"
#include "test_util.h"
#include "pixelcnn_fixtures.h"

#define ROWS 6

static void train_pass(ds_model *m, const float *x, int64_t rows, int64_t first_row,
                       double *lp) {
  ds__model_ws ws;
  assert_int_equal(ds__model_ws_init(m, rows, &ws), DS_OK);
  ds__eval_request req = {x, NULL, rows, lp, 1.0f, NULL, 0};
  ds__model_eval_train_part(m, &ws, &req, 99, 5, first_row);
  ds__model_ws_free(m, &ws);
}

static void parts_draw_the_masks_of_the_whole_pass(void **state) {
  (void)state;
  for (int32_t threads = 1; threads <= 2; threads++) {
    ds_context *ctx = test_context(threads, 21);
    ds_model *m = tiny_pixelcnn(ctx, 1, 6, 6, 4, 1, 2, DS_HEAD_DISCRETIZED, 0, 0.5);
    float x[ROWS * 36];
    stripe_images(x, ROWS, 1, 6, 6, 8);
    double whole[ROWS], part[3], wrong[3];
    train_pass(m, x, ROWS, 0, whole);
    train_pass(m, x + 3 * 36, 3, 3, part);
    train_pass(m, x + 3 * 36, 3, 0, wrong);
    for (int r = 0; r < 3; r++) {
      assert_true(part[r] == whole[3 + r]);
      assert_false(wrong[r] == whole[3 + r]); /* dropout at 0.5 changes every row */
    }
    ds_model_free(m);
    ds_context_free(ctx);
  }
}

/* With dropout on, the parameter gradient of a training pass matches central differences
 * of the training loss under the same masks: the backward pass must not read what dropout
 * changed in place (concat_elu's backward takes its exponential from its forward output
 * only when dropout left that output alone). */
static void training_gradient_under_dropout_matches_differences(void **state) {
  (void)state;
  for (int32_t threads = 1; threads <= 2; threads++) {
    ds_context *ctx = test_context(threads, 22);
    ds_model *m = tiny_pixelcnn(ctx, 1, 6, 6, 4, 1, 2, DS_HEAD_DISCRETIZED, 0, 0.5);
    float x[ROWS * 36];
    stripe_images(x, ROWS, 1, 6, 6, 8);
    ds__model_ws ws;
    assert_int_equal(ds__model_ws_init(m, ROWS, &ws), DS_OK);
    double lp[ROWS];
    ds__eval_request req = {x, NULL, ROWS, lp, 1.0f, NULL, 0};
    ds__model_eval_train(m, &ws, &req, 99, 5);
    float *grad = calloc((size_t)m->param_count, sizeof(float));
    ds__model_param_grads(m, &ws, ROWS, grad);
    ds__eval_request plain = {x, NULL, ROWS, lp, 0.0f, NULL, 0};
    int checked = 0;
    for (int64_t k = 0; k < m->param_count; k += m->param_count / 40 + 1) {
      const float keep = m->params[k], h = 1e-2f;
      double loss[2];
      for (int side = 0; side < 2; side++) {
        m->params[k] = keep + (side ? -h : h);
        ds__model_weights_changed(m);
        ds__model_eval_train(m, &ws, &plain, 99, 5);
        loss[side] = 0.0;
        for (int r = 0; r < ROWS; r++) loss[side] -= lp[r];
      }
      m->params[k] = keep;
      ds__model_weights_changed(m);
      double fd = (loss[0] - loss[1]) / (2.0 * h);
      assert_true(fabs(fd - grad[k]) <= 0.05 * fabs(fd) + 2e-2);
      checked++;
    }
    assert_true(checked >= 30);
    free(grad);
    ds__model_ws_free(m, &ws);
    ds_model_free(m);
    ds_context_free(ctx);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parts_draw_the_masks_of_the_whole_pass),
      cmocka_unit_test(training_gradient_under_dropout_matches_differences),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
