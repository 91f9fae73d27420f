/* The head interface (lib/model/head.c) and the maths it adds to the mixture kernels:
 * which head a (DS_MODEL_HEAD, dimensions per group) pair gets and its width; the greedy
 * means against a reference written from the documented parameter layout; the bias
 * initialisation (set_components) read back through the means, so the two agree on the
 * layout; the uniforms bound; and log-sum-exp (kernels/log_sum_exp.h): both forms against
 * each other and against the two-stage bound's arithmetic of 0.3, bit for bit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "core/philox.h"
#include "dsmooth.h"
#include "kernels/log_sum_exp.h"
#include "model/head.h"

#define KMAX 8

static void random_params(float *p, int32_t n, uint64_t seed) {
  for (int32_t i = 0; i < n; i++)
    p[i] = (float)(4.0 * ds__uniform_at(seed, 1, (uint64_t)i) - 2.0);
}

static void heads_follow_kind_and_group_dims(void **state) {
  (void)state;
  const ds__head *c = ds__head_for(DS_HEAD_CONTINUOUS, 1);
  const ds__head *d = ds__head_for(DS_HEAD_DISCRETIZED, 1);
  const ds__head *rgb = ds__head_for(DS_HEAD_CONTINUOUS, 3);
  assert_non_null(c);
  assert_non_null(d);
  assert_non_null(rgb);
  assert_ptr_not_equal(c, d);
  assert_ptr_equal(ds__head_for(DS_HEAD_DISCRETIZED, 3), rgb); /* bins decide, per call */
  assert_null(ds__head_for(DS_HEAD_CONTINUOUS, 2));
  assert_null(ds__head_for(7, 1));
  assert_int_equal(c->group_dims, 1);
  assert_int_equal(rgb->group_dims, 3);
  for (int32_t K = 1; K <= 256; K *= 4) {
    assert_int_equal(c->group_params(K), 3 * K);
    assert_int_equal(d->group_params(K), 3 * K);
    assert_int_equal(rgb->group_params(K), 10 * K);
  }
  /* the sampler's fixed buffer holds every head's uniforms at the largest K */
  const ds__head *all[] = {c, d, rgb};
  for (int h = 0; h < 3; h++) assert_true(all[h]->group_dims <= DS__HEAD_MAX_GROUP_DIMS);
  for (int h = 0; h < 3; h++)
    for (int32_t method = DS__MIX_SAMPLE_BISECT; method <= DS__MIX_SAMPLE_GUMBEL; method++)
      assert_true(all[h]->uniforms(DS__MIX_MAX_COMPONENTS, method) <= DS__HEAD_MAX_UNIFORMS);
}

/* The continuous head's log_prob is the density with its score; the discretized one the
 * mass, with no score written. */
static void scalar_heads_are_density_and_mass(void **state) {
  (void)state;
  enum { K = 3 };
  float p[3 * K], g1[3 * K], g2[3 * K];
  random_params(p, 3 * K, 5);
  ds__bins bins = {16, -1.0f, 1.0f};
  float x = 0.2f;
  double gx = 0.0, want_gx = 0.0;
  double lp = ds__head_for(DS_HEAD_CONTINUOUS, 1)->log_prob(p, K, NULL, &x, g1, &gx);
  assert_true(lp == ds__mix_log_density(p, K, x, g2, &want_gx));
  assert_memory_equal(g1, g2, sizeof g1);
  assert_true(gx == want_gx && gx != 0.0);
  gx = 0.0;
  lp = ds__head_for(DS_HEAD_DISCRETIZED, 1)->log_prob(p, K, &bins, &x, g1, &gx);
  assert_true(lp == ds__mix_log_mass(p, K, &bins, x, g2));
  assert_memory_equal(g1, g2, sizeof g1);
  assert_true(gx == 0.0);
}

static float snap_ref(const ds__bins *bins, double v) {
  if (!bins) return (float)v;
  double step = ((double)bins->hi - bins->lo) / (bins->count - 1);
  double b = round((v - bins->lo) / step);
  b = b < 0 ? 0 : b > bins->count - 1 ? bins->count - 1 : b;
  return (float)(bins->lo + b * step);
}

/* Greedy means from the layouts of kernels/logistic_mixture.h: scalar [logits | means |
 * log-scales]; RGB logits, then per channel c the block at K + 3Kc of means | log-scales |
 * raw coefficients (R's c0 couples G on R, G's c1 B on R, B's c2 B on G). */
static void greedy_means_match_the_layout(void **state) {
  (void)state;
  ds__bins bins = {9, -1.0f, 1.0f};
  for (int32_t K = 1; K <= KMAX; K++) {
    float p[10 * KMAX];
    random_params(p, 10 * K, 100 + (uint64_t)K);
    double w[KMAX], z = 0.0;
    for (int32_t k = 0; k < K; k++) z += (w[k] = exp(p[k]));
    for (int b = 0; b < 2; b++) {
      const ds__bins *bp = b ? &bins : NULL;
      double m = 0.0;
      for (int32_t k = 0; k < K; k++) m += w[k] / z * p[K + k];
      float got;
      ds__head_for(DS_HEAD_CONTINUOUS, 1)->mean(p, K, bp, &got);
      assert_true(fabs(got - snap_ref(bp, m)) < 1e-5);
      float rgb[3];
      ds__head_for(DS_HEAD_CONTINUOUS, 3)->mean(p, K, bp, rgb);
      double want[3] = {0, 0, 0};
      float prev[3];
      for (int c = 0; c < 3; c++) {
        for (int32_t k = 0; k < K; k++) {
          double mu = p[K + 3 * K * c + k];
          if (c == 1) mu += tanh(p[K + 2 * K + k]) * prev[0];
          if (c == 2) mu += tanh(p[4 * K + 2 * K + k]) * prev[0] + tanh(p[7 * K + 2 * K + k]) * prev[1];
          want[c] += w[k] / z * mu;
        }
        prev[c] = snap_ref(bp, want[c]);
        if (fabs(rgb[c] - prev[c]) > 1e-5)
          fail_msg("K %d bins %d channel %d: mean %g, reference %g", K, b, c, rgb[c], prev[c]);
      }
    }
  }
}

/* set_components writes where the means read: equal weights and each channel's component
 * means at mu, whatever the coefficients (zeroed so no channel shifts another). */
static void set_components_agrees_with_the_means(void **state) {
  (void)state;
  enum { K = 4 };
  const double mu[3][4] = {{-0.5, 0.1, 0.2, 0.6}, {1.0, 2.0, 3.0, 6.0}, {-2.0, -1.0, 0.0, 1.0}};
  float p[10 * K];
  random_params(p, 10 * K, 9);
  for (int32_t k = 0; k < K; k++)
    for (int c = 0; c < 3; c++) p[K + 3 * K * c + 2 * K + k] = 0.0f;
  const ds__head *rgb = ds__head_for(DS_HEAD_CONTINUOUS, 3);
  for (int c = 0; c < 3; c++) rgb->set_components(p, K, c, mu[c], -1.5f);
  float x[3];
  rgb->mean(p, K, NULL, x);
  assert_true(fabs(x[0] - 0.1) < 1e-6 && fabs(x[1] - 3.0) < 1e-6 && fabs(x[2] + 0.5) < 1e-6);
  for (int c = 0; c < 3; c++)
    for (int32_t k = 0; k < K; k++) assert_true(p[K + 3 * K * c + K + k] == -1.5f);
  float q[3 * K];
  random_params(q, 3 * K, 10);
  const ds__head *scalar = ds__head_for(DS_HEAD_DISCRETIZED, 1);
  scalar->set_components(q, K, 0, mu[1], 0.25f);
  scalar->mean(q, K, NULL, x);
  assert_true(fabs(x[0] - 3.0) < 1e-6);
  for (int32_t k = 0; k < K; k++) assert_true(q[k] == 0.0f && q[2 * K + k] == 0.25f);
}

/* The streaming form as ds__two_stage_bound wrote it inline in 0.3 (k > 1024 samples). */
static double lse_inline_0_3(const double *v, int32_t n) {
  double best = -INFINITY, acc = 0.0;
  for (int32_t s = 0; s < n; s++) {
    if (v[s] == -INFINITY || isnan(v[s])) {
      if (isnan(v[s])) best = NAN;
    } else if (best == -INFINITY || v[s] > best) {
      acc = best == -INFINITY ? 1.0 : acc * exp(best - v[s]) + 1.0;
      best = v[s];
    } else {
      acc += exp(v[s] - best);
    }
  }
  return best + log(acc);
}

static double lse_streaming(const double *v, int32_t n) {
  ds__lse a = {0.0, 0.0};
  for (int32_t i = 0; i < n; i++) ds__lse_add(&a, v[i]);
  return ds__lse_value(&a);
}

static void log_sum_exp_forms_agree(void **state) {
  (void)state;
  double v[300];
  for (int trial = 0; trial < 50; trial++) {
    int32_t n = 1 + trial * 6;
    for (int32_t i = 0; i < n; i++)
      v[i] = 60.0 * ds__uniform_at(7, (uint64_t)trial, (uint64_t)i) - 30.0 - 5.0 * trial;
    if (trial % 5 == 1) v[n / 2] = -INFINITY;
    double s = lse_streaming(v, n), t = ds__log_sum_exp(v, n);
    assert_true(fabs(s - t) <= 1e-12 * (1.0 + fabs(t)));
    double old = lse_inline_0_3(v, n);
    assert_memory_equal(&s, &old, sizeof s); /* the bound's bits are kept */
  }
  const double none[3] = {-INFINITY, -INFINITY, -INFINITY};
  assert_true(lse_streaming(none, 3) == -INFINITY && ds__log_sum_exp(none, 3) == -INFINITY);
  assert_true(lse_streaming(none, 0) == -INFINITY && ds__log_sum_exp(none, 0) == -INFINITY);
  const double big[3] = {1.0, INFINITY, 2.0}, bad[3] = {1.0, NAN, 2.0};
  assert_true(ds__log_sum_exp(big, 3) == INFINITY && lse_streaming(big, 3) == INFINITY);
  assert_true(isnan(ds__log_sum_exp(bad, 3)) && isnan(lse_streaming(bad, 3)));
  const double huge[2] = {1000.0, 1000.0}; /* no overflow: 1000 + log 2 */
  assert_true(fabs(ds__log_sum_exp(huge, 2) - (1000.0 + log(2.0))) < 1e-12);
  assert_true(fabs(lse_streaming(huge, 2) - (1000.0 + log(2.0))) < 1e-12);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(heads_follow_kind_and_group_dims),
      cmocka_unit_test(scalar_heads_are_density_and_mass),
      cmocka_unit_test(greedy_means_match_the_layout),
      cmocka_unit_test(set_components_agrees_with_the_means),
      cmocka_unit_test(log_sum_exp_forms_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
