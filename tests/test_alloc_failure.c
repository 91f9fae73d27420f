/* Allocation failure injected at every allocation of every create call, of the grid
 * calls and of ds_precision_recall: each fails cleanly with DS_ERR_OUT_OF_MEMORY, leaks
 * nothing, and leaves outputs untouched. Run under ASan/LSan and valgrind in CI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_util.h"

static void context_and_smoother_creation(void **state) {
  (void)state;
  int succeeded = 0;
  for (int64_t fail_at = 0; fail_at < 64 && !succeeded; fail_at++) {
    counting_alloc a = {0, fail_at, 0};
    ds_context *ctx = NULL;
    ds_status st = counting_context(&a, 3, &ctx);
    if (st != DS_OK) {
      assert_int_equal(st, DS_ERR_OUT_OF_MEMORY);
      assert_null(ctx);
      assert_true(strlen(ds_context_last_error(NULL)) > 0);
      assert_int_equal(a.live, 0);
      continue;
    }
    ds_smoother *sm = NULL;
    st = ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 1.0, &sm);
    if (st != DS_OK) {
      assert_int_equal(st, DS_ERR_OUT_OF_MEMORY);
      assert_null(sm);
    } else {
      /* the grid calls allocate scratch space: fail each of those too */
      double p[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, q[24];
      for (int i = 0; i < 24; i++) q[i] = -1;
      int64_t base = a.calls;
      int grid_ok = 0;
      for (int64_t k = 0; k < 16 && !grid_ok; k++) {
        a.fail_at = base + k;
        a.calls = base;
        st = ds_smoother_grid_posterior_mean(sm, p, 4, 3, 0, 1, 0, 1, q);
        if (st == DS_OK) { grid_ok = 1; break; }
        assert_int_equal(st, DS_ERR_OUT_OF_MEMORY);
        for (int i = 0; i < 24; i++) assert_true(q[i] == -1);
      }
      assert_true(grid_ok);
      succeeded = 1;
    }
    ds_smoother_free(sm);
    ds_context_free(ctx);
    assert_int_equal(a.live, 0);
  }
  assert_true(succeeded);
}

/* ds_precision_recall allocates its per-point statistics and workspace per call */
static void precision_recall_scratch(void **state) {
  (void)state;
  counting_alloc a = {0, -1, 0};
  ds_context *ctx = NULL;
  assert_int_equal(counting_context(&a, 2, &ctx), DS_OK);
  float real[40], fake[30];
  for (int i = 0; i < 40; i++) real[i] = (float)(i * 7 % 13);
  for (int i = 0; i < 30; i++) fake[i] = (float)(i * 5 % 11);
  int succeeded = 0, failures = 0;
  int64_t base = a.calls, live = a.live; /* the context's own blocks */
  for (int64_t k = 0; k < 16 && !succeeded; k++) {
    double p = -1, r = -2;
    a.fail_at = base + k;
    a.calls = base;
    ds_status st = ds_precision_recall(ctx, real, 20, fake, 15, 2, 3, &p, &r);
    assert_int_equal(a.live, live); /* nothing kept, nothing leaked */
    if (st == DS_OK) {
      succeeded = 1;
      assert_true(p >= 0 && p <= 1 && r >= 0 && r <= 1);
      break;
    }
    assert_int_equal(st, DS_ERR_OUT_OF_MEMORY);
    assert_non_null(strstr(ds_context_last_error(ctx), "out of memory"));
    assert_true(p == -1 && r == -2);
    failures++;
  }
  assert_true(succeeded && failures > 0);
  ds_context_free(ctx);
  assert_int_equal(a.live, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(context_and_smoother_creation),
      cmocka_unit_test(precision_recall_scratch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
