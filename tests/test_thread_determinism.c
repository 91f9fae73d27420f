/* Every parallel smoother call gives bitwise identical output for 1, 2, 3 and 8 threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>

#include "test_util.h"

#define N 1001
#define D 7
#define G 97

static void run(int32_t threads, int family, float *noisy, double *smooth, double *mean) {
  ds_context *ctx = test_context(threads, 2024);
  ds_smoother *sm = NULL;
  assert_int_equal(ds_smoother_create(ctx, family, 0.4, &sm), DS_OK);
  float *x = malloc(sizeof(float) * N * D);
  for (int i = 0; i < N * D; i++) x[i] = (float)sin(i * 0.37);
  assert_int_equal(ds_smoother_apply(sm, x, N, D, 17, noisy), DS_OK);
  double *p = malloc(sizeof(double) * G * G);
  for (int k = 0; k < G * G; k++) p[k] = 1.0 + sin(k * 0.11);
  assert_int_equal(ds_smoother_convolve_grid(sm, p, G, G, -2, 0.05, -1, 0.03, smooth), DS_OK);
  assert_int_equal(ds_smoother_grid_posterior_mean(sm, p, G, G, -2, 0.05, -1, 0.03, mean), DS_OK);
  free(x);
  free(p);
  ds_smoother_free(sm);
  ds_context_free(ctx);
}

static void bitwise_equal_for_any_thread_count(void **state) {
  (void)state;
  static float noisy[2][N * D];
  static double smooth[2][G * G], mean[2][G * G * 2];
  const int32_t counts[] = {2, 3, 8};
  for (int family = 0; family < 3; family++) {
    run(1, family, noisy[0], smooth[0], mean[0]);
    for (int c = 0; c < 3; c++) {
      run(counts[c], family, noisy[1], smooth[1], mean[1]);
      assert_memory_equal(noisy[0], noisy[1], sizeof noisy[0]);
      assert_memory_equal(smooth[0], smooth[1], sizeof smooth[0]);
      assert_memory_equal(mean[0], mean[1], sizeof mean[0]);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bitwise_equal_for_any_thread_count),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
