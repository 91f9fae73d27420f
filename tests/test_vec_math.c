/* The vectorised expm1 of the elu kernels: within 2 ulp of libm over its whole domain, and a
 * value's result does not depend on where it sits in the array (tails, offsets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "kernels/vec_math.h"

static void within_two_ulp_of_libm(void **state) {
  (void)state;
  enum { N = 400003 };
  float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
  for (int i = 0; i < N; i++) /* both signs, 0, tiny, and down to -120 (saturates at -1) */
    x[i] = (i % 2 ? -1.0f : 1.0f) * (i % 5 == 0 ? 1e-6f : 1.0f) * 120.0f * (float)i / N;
  x[0] = 0.0f;
  x[1] = -0.0f;
  ds__expm1_neg_abs(x, y, N);
  double worst = 0;
  for (int i = 0; i < N; i++) {
    double ref = expm1(-fabs((double)x[i]));
    float fr = (float)ref;
    double ulp = fabs((double)nextafterf(fr, 0.0f) - (double)fr);
    if (ulp == 0) ulp = 1.4e-45;
    double e = fabs((double)y[i] - ref) / ulp;
    if (e > worst) worst = e;
    assert_true(y[i] <= 0.0f && y[i] >= -1.0f);
  }
  print_message("worst error %.2f ulp\n", worst);
  assert_true(worst <= 2.0);
  free(x);
  free(y);
}

static void result_depends_only_on_the_value(void **state) {
  (void)state;
  float x[37], whole[37], part[37];
  for (int i = 0; i < 37; i++) x[i] = -0.37f * (float)i + 0.11f;
  ds__expm1_neg_abs(x, whole, 37);
  for (int start = 0; start < 37; start++) {
    ds__expm1_neg_abs(x + start, part, 37 - start); /* every tail length and offset */
    assert_memory_equal(part, whole + start, sizeof(float) * (size_t)(37 - start));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(within_two_ulp_of_libm),
      cmocka_unit_test(result_depends_only_on_the_value),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
