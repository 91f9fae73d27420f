/* The API contract: version agreement, status names, NULL handles, bad sizes and values,
 * _free(NULL), and "a failed call leaves outputs untouched and explains itself". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>

#include "test_util.h"

static void version_macros_agree_with_runtime(void **state) {
  (void)state;
  char expect[32];
  snprintf(expect, sizeof expect, "%d.%d.%d", DS_VERSION_MAJOR, DS_VERSION_MINOR, DS_VERSION_PATCH);
  assert_string_equal(ds_version_string(), expect);
  assert_string_equal(DS_VERSION_STRING, expect);
  assert_int_equal(ds_version(), DS_VERSION_MAJOR * 10000 + DS_VERSION_MINOR * 100 + DS_VERSION_PATCH);
  assert_int_equal(ds_version(), DS_VERSION_NUMBER);
}

static void status_values_are_pinned_and_named(void **state) {
  (void)state;
  assert_int_equal(DS_OK, 0);
  assert_int_equal(DS_ERR_INVALID_ARGUMENT, 1);
  assert_int_equal(DS_ERR_OUT_OF_MEMORY, 2);
  assert_int_equal(DS_ERR_IO, 3);
  assert_int_equal(DS_ERR_BAD_FORMAT, 4);
  assert_int_equal(DS_ERR_UNSUPPORTED_VERSION, 5);
  assert_int_equal(DS_ERR_SHAPE_MISMATCH, 6);
  assert_int_equal(DS_ERR_NUMERIC, 7);
  assert_int_equal(DS_ERR_BAD_STATE, 8);
  assert_int_equal(DS_ERR_CANCELLED, 9);
  assert_int_equal(DS_ERR_UNSUPPORTED, 10);
  assert_int_equal(DS_ERR_THREAD, 11);
  assert_int_equal(DS_ERR_INTERNAL, 12);
  assert_int_equal(DS_SAMPLE_NAIVE, 0x100); /* experimental, but its value stays */
  assert_string_equal(ds_status_str(DS_OK), "DS_OK");
  assert_string_equal(ds_status_str(DS_ERR_NUMERIC), "DS_ERR_NUMERIC");
  assert_string_equal(ds_status_str(DS_ERR_THREAD), "DS_ERR_THREAD");
  assert_string_equal(ds_status_str(DS_ERR_INTERNAL), "DS_ERR_INTERNAL");
  assert_string_equal(ds_status_str(-1), "DS_ERR_UNKNOWN");
  assert_string_equal(ds_status_str(12345), "DS_ERR_UNKNOWN");
}

static void free_null_is_a_no_op(void **state) {
  (void)state;
  ds_context_options_free(NULL);
  ds_context_free(NULL);
  ds_smoother_free(NULL);
}

static void context_options_reject_bad_values(void **state) {
  (void)state;
  ds_context_options *o = NULL;
  assert_int_equal(ds_context_options_create(NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_context_options_create(&o), DS_OK);
  assert_int_equal(ds_context_options_set_threads(o, -1), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(NULL), "threads = -1"));
  assert_int_equal(ds_context_options_set_threads(o, DS_MAX_THREADS + 1), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_context_options_set_threads(NULL, 1), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_context_options_set_allocator(o, counting_malloc, NULL, NULL, NULL),
                   DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_context_options_set_allocator(o, NULL, NULL, NULL, NULL), DS_OK);
  assert_int_equal(ds_context_options_set_log(o, NULL, NULL, 7), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_context_options_set_seed(NULL, 1), DS_ERR_INVALID_ARGUMENT);
  ds_context_options_free(o);
}

static void context_defaults(void **state) {
  (void)state;
  ds_context *ctx = NULL;
  assert_int_equal(ds_context_create(NULL, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_context_create(NULL, &ctx), DS_OK);
  assert_true(ds_context_threads(ctx) >= 1);
  assert_int_equal(ds_context_seed(ctx), 0);
  assert_string_equal(ds_context_last_error(ctx), "");
  ds_context_free(ctx);
  ctx = test_context(3, 42);
  assert_int_equal(ds_context_threads(ctx), 3);
  assert_int_equal(ds_context_seed(ctx), 42);
  ds_context_free(ctx);
}

typedef struct log_capture {
  int calls;
  int32_t last_level;
  char last[512];
} log_capture;

static void capture_log(void *user, int32_t level, const char *message) {
  log_capture *c = user;
  c->calls++;
  c->last_level = level;
  snprintf(c->last, sizeof c->last, "%s", message);
}

static void log_callback_receives_failures_at_debug(void **state) {
  (void)state;
  log_capture cap = {0};
  ds_context_options *o = NULL;
  ds_context *ctx = NULL;
  ds_smoother *sm = NULL;
  assert_int_equal(ds_context_options_create(&o), DS_OK);
  assert_int_equal(ds_context_options_set_log(o, capture_log, &cap, DS_LOG_DEBUG), DS_OK);
  assert_int_equal(ds_context_create(o, &ctx), DS_OK);
  ds_context_options_free(o);
  assert_true(cap.calls >= 1); /* the INFO line announcing the context */
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, -1.0, &sm), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(cap.last_level, DS_LOG_DEBUG);
  assert_non_null(strstr(cap.last, "sigma"));
  ds_context_free(ctx);
}

static void smoother_create_rejects_bad_arguments(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 0);
  ds_smoother *sm = (ds_smoother *)0x1; /* must stay untouched on failure */
  assert_int_equal(ds_smoother_create(NULL, DS_NOISE_GAUSSIAN, 1.0, &sm), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 1.0, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_smoother_create(ctx, 3, 1.0, &sm), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(ctx), "family = 3"));
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.0, &sm), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_LAPLACE, -0.5, &sm), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_UNIFORM, NAN, &sm), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_UNIFORM, INFINITY, &sm), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 1e-300, &sm), DS_ERR_INVALID_ARGUMENT);
  assert_ptr_equal(sm, (ds_smoother *)0x1);
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_LAPLACE, 0.25, &sm), DS_OK);
  assert_int_equal(ds_smoother_family(sm), DS_NOISE_LAPLACE);
  assert_true(ds_smoother_sigma(sm) == 0.25);
  ds_smoother_free(sm);
  ds_context_free(ctx);
}

static void smoother_calls_reject_bad_arguments_and_leave_outputs(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 7);
  ds_smoother *sm = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.5, &sm), DS_OK);
  float x[6] = {0, 1, 2, 3, 4, 5}, out[6], score[6];
  double lq[3];
  for (int i = 0; i < 6; i++) out[i] = score[i] = -7.0f;
  for (int i = 0; i < 3; i++) lq[i] = -7.0;

  assert_int_equal(ds_smoother_apply(NULL, x, 3, 2, 0, out), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(NULL), "sm is NULL"));
  assert_int_equal(ds_smoother_apply(sm, NULL, 3, 2, 0, out), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_smoother_apply(sm, x, 3, 2, 0, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_smoother_apply(sm, x, 0, 2, 0, out), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(ctx), "n = 0"));
  assert_int_equal(ds_smoother_apply(sm, x, 3, -1, 0, out), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_smoother_apply(sm, x, INT64_MAX / 2, 4, 0, out), DS_ERR_INVALID_ARGUMENT);
  x[3] = NAN;
  assert_int_equal(ds_smoother_apply(sm, x, 3, 2, 0, out), DS_ERR_NUMERIC);
  assert_string_equal(ds_context_last_error(ctx), "ds_smoother_apply: x[1][1] is NaN");
  x[3] = INFINITY;
  assert_int_equal(ds_smoother_log_q(sm, x, x, 3, 2, lq), DS_ERR_NUMERIC);
  assert_non_null(strstr(ds_context_last_error(ctx), "infinite"));
  assert_int_equal(ds_smoother_score(sm, x, x, 3, 2, score), DS_ERR_NUMERIC);
  for (int i = 0; i < 6; i++) assert_true(out[i] == -7.0f && score[i] == -7.0f);
  for (int i = 0; i < 3; i++) assert_true(lq[i] == -7.0);
  x[3] = 3;
  assert_int_equal(ds_smoother_log_q(sm, x, x, 3, 2, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_smoother_score(sm, x, NULL, 3, 2, score), DS_ERR_INVALID_ARGUMENT);

  /* in place is allowed */
  assert_int_equal(ds_smoother_apply(sm, x, 3, 2, 0, x), DS_OK);
  assert_true(ds_smoother_entropy(NULL) != ds_smoother_entropy(NULL)); /* NaN */
  ds_smoother_free(sm);
  ds_context_free(ctx);
}

static void grid_calls_reject_bad_arguments(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 0);
  ds_smoother *sm = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.5, &sm), DS_OK);
  double p[4] = {0.1, 0.2, 0.3, 0.4}, out[8];
  for (int i = 0; i < 8; i++) out[i] = -7;
  assert_int_equal(ds_smoother_convolve_grid(NULL, p, 4, 1, 0, 0.1, 0, 0, out), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_smoother_convolve_grid(sm, NULL, 4, 1, 0, 0.1, 0, 0, out), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_smoother_convolve_grid(sm, p, 0, 1, 0, 0.1, 0, 0, out), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_smoother_convolve_grid(sm, p, 4, 1, 0, 0.0, 0, 0, out), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_smoother_convolve_grid(sm, p, 2, 2, 0, 0.1, 0, -1, out), DS_ERR_INVALID_ARGUMENT);
  p[2] = -0.3;
  assert_int_equal(ds_smoother_convolve_grid(sm, p, 4, 1, 0, 0.1, 0, 0, out), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(ctx), "density[2]"));
  p[2] = NAN;
  assert_int_equal(ds_smoother_grid_posterior_mean(sm, p, 4, 1, 0, 0.1, 0, 0, out), DS_ERR_NUMERIC);
  for (int i = 0; i < 8; i++) assert_true(out[i] == -7);
  ds_smoother_free(sm);
  ds_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(version_macros_agree_with_runtime),
      cmocka_unit_test(status_values_are_pinned_and_named),
      cmocka_unit_test(free_null_is_a_no_op),
      cmocka_unit_test(context_options_reject_bad_values),
      cmocka_unit_test(context_defaults),
      cmocka_unit_test(log_callback_receives_failures_at_debug),
      cmocka_unit_test(smoother_create_rejects_bad_arguments),
      cmocka_unit_test(smoother_calls_reject_bad_arguments_and_leave_outputs),
      cmocka_unit_test(grid_calls_reject_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
