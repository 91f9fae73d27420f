/* Log-sum-exp, the one implementation (logistic-mixture heads, the two-stage bound).
 * Two forms with different arithmetic, each bitwise stable for its callers:
 *   streaming  ds__lse_add / ds__lse_value: one pass, no buffer, rescaling the running sum
 *              whenever a larger term arrives;
 *   two-pass   ds__log_sum_exp: the maximum first, then sum exp(v - max).
 * Inline: the streaming form sits in the innermost loop of every mixture head. */
#ifndef DS_KERNELS_LOG_SUM_EXP_H
#define DS_KERNELS_LOG_SUM_EXP_H

#include <math.h>
#include <stdint.h>

/* (m, s) represents m + log s; start from {0, 0} (empty: -inf). -inf terms are skipped; a
 * NaN term makes the value NaN. */
typedef struct ds__lse {
  double m, s;
} ds__lse;

static inline void ds__lse_add(ds__lse *a, double v) {
  if (v == -INFINITY) return;
  if (a->s == 0.0) {
    a->m = v;
    a->s = 1.0;
  } else if (v > a->m) {
    a->s = a->s * exp(a->m - v) + 1.0;
    a->m = v;
  } else {
    a->s += exp(v - a->m);
  }
}

static inline double ds__lse_value(const ds__lse *a) {
  return a->s == 0.0 ? -INFINITY : a->m + log(a->s);
}

/* log sum_i exp(v_i) over v (count): the maximum itself when it is not finite (all -inf,
 * a +inf term; a NaN term is skipped by the maximum and then poisons the sum). */
static inline double ds__log_sum_exp(const double *v, int64_t count) {
  double mx = -INFINITY;
  for (int64_t i = 0; i < count; i++) mx = v[i] > mx ? v[i] : mx;
  if (!isfinite(mx)) return mx;
  double acc = 0.0;
  for (int64_t i = 0; i < count; i++) acc += exp(v[i] - mx);
  return mx + log(acc);
}

#endif
