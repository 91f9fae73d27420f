/* The vectorised expm1 of the elu kernels: within 2 ulp of libm over its whole domain, and a
 * value's result does not depend on where it sits in the array (tails, offsets); its AVX2
 * and AVX-512 paths give the same bits, and so does the one-pass concat_elu. The vectorised
 * sigmoid is bit for bit 1 / (1 + expf(-v)) with glibc's expf. */
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

static float wide_value(int i) { /* both signs up to +-120, tiny, and special values */
  static const float specials[] = {0.0f, -0.0f, 88.0f, -88.0f, 87.99f, -87.99f, 89.5f,
                                   -103.9f, -104.0f, 1e-30f, -1e-40f, INFINITY, -INFINITY, NAN};
  if (i < (int)(sizeof specials / sizeof specials[0])) return specials[i];
  return (i % 2 ? -1.0f : 1.0f) * (i % 7 == 0 ? 1e-5f : 1.0f) * 120.0f * (float)(i * 7919 % 100003) / 100003.0f;
}

static void avx2_and_avx512_paths_agree(void **state) {
  (void)state;
  enum { N = 100003 };
  float *x = malloc(sizeof(float) * N), *y[3], *pos[3], *neg[3];
  for (int i = 0; i < N; i++) x[i] = wide_value(i);
  int ran[3] = {0};
  for (int l = 0; l < 3; l++) {
    y[l] = malloc(sizeof(float) * N), pos[l] = malloc(sizeof(float) * N), neg[l] = malloc(sizeof(float) * N);
    if (!ds__vec_math_force(l)) {
      print_message("vec_math path %d: skipped, this CPU lacks it\n", l);
      continue;
    }
    ran[l] = 1;
    ds__expm1_neg_abs(x, y[l], N);
    ds__concat_elu_row(x, pos[l], neg[l], N);
    for (int i = 0; i < N; i++) { /* concat_elu from the same expm1 */
      float e = y[l][i];
      float want_pos = x[i] > 0.0f ? x[i] : e, want_neg = x[i] < 0.0f ? -x[i] : e;
      assert_memory_equal(&pos[l][i], &want_pos, sizeof(float));
      assert_memory_equal(&neg[l][i], &want_neg, sizeof(float));
    }
  }
  ds__vec_math_force(-1);
  if (ran[1] && ran[2]) assert_memory_equal(y[1], y[2], sizeof(float) * N);
  for (int l = 0; l < 3; l++) free(y[l]), free(pos[l]), free(neg[l]);
  free(x);
}

static void sigmoid_is_the_scalar_expression(void **state) {
  (void)state;
  enum { N = 200003 };
  float *v = malloc(sizeof(float) * N), *s = malloc(sizeof(float) * N);
  for (int i = 0; i < N; i++) v[i] = wide_value(i);
  for (int l = 2; l >= 0; l--) {
    if (!ds__vec_math_force(l)) continue;
    for (int start = 0; start < 9; start++) { /* every tail length */
      ds__sigmoid(v + start, s, N - start);
      for (int i = start; i < N; i++) {
        float want = 1.0f / (1.0f + expf(-v[i]));
        if (isnan(want)) assert_true(isnan(s[i - start]));
        else assert_memory_equal(&s[i - start], &want, sizeof(float));
      }
    }
  }
  ds__vec_math_force(-1);
  free(v), free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(within_two_ulp_of_libm),
      cmocka_unit_test(result_depends_only_on_the_value),
      cmocka_unit_test(avx2_and_avx512_paths_agree),
      cmocka_unit_test(sigmoid_is_the_scalar_expression),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
