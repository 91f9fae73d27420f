/* Data-dependent initialisation of the output heads.
 *
 * A freshly initialised network puts every mixture component near mean 0 and log-scale 0,
 * whatever the data: the first hundreds of steps then only move the heads to where the
 * data is. Here the head biases are set from a batch instead: the K means of a dimension
 * (or image channel) at its quantiles (k + 1/2)/K, every component's width from the data's
 * spread (see init_channel), the logits equal. The architecture's part (arch->data_init)
 * runs first: MADE scales its output weights by 0.1 and keeps the rest of its
 * initialisation, so its heads start as the batch's marginals plus a small random
 * input-dependent part; image networks normalise every layer on the batch
 * (model/graph_data_init.c; the head's output to std 0.1). Where the head biases are comes
 * from arch->head_bias. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

static int compare_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Means and log-scales of channel `ch` of a head bias from the sorted values v (n), the
 * weights equal.
 * narrow 1: each component's variance is what the spread of the means leaves of the data's,
 * at least (std / K)^2; 0: the geometric mean of that and the data's variance. */
static void init_channel(const ds__head *head, float *bias, int32_t K, int32_t ch,
                         const float *v, int64_t n, int narrow) {
  double mean = 0.0, var = 0.0;
  for (int64_t i = 0; i < n; i++) mean += v[i];
  mean /= (double)n;
  for (int64_t i = 0; i < n; i++) var += ((double)v[i] - mean) * ((double)v[i] - mean);
  var /= (double)n;
  double mu[DS__MAX_COMPONENTS];
  for (int32_t k = 0; k < K; k++) {
    double pos = ((k + 0.5) / K) * (double)(n - 1);
    int64_t i = (int64_t)floor(pos);
    double f = pos - (double)i;
    mu[k] = i + 1 < n ? (1.0 - f) * v[i] + f * v[i + 1] : v[n - 1];
  }
  /* A logistic of scale s has variance s^2 pi^2 / 3. Two candidate widths: the data's
     variance (broad) and what the spread of the means leaves over, at least (std / K)^2
     (narrow). Measured on the 2-D sets (K = 8, 3 seeds, docs/results.md): a conditional
     model p(x | c), whose targets given c spread far less than their marginal, trains
     best from narrow components (stage 2 on rings 0.655 vs 0.800 nats with broad); a
     direct model from the geometric mean of the two variances (rings 2.700, 2 spirals
     2.704; broad 2.727 / 2.744, narrow 2.971 / 2.685). */
  double mu_mean = 0.0, mu_var = 0.0;
  for (int32_t k = 0; k < K; k++) mu_mean += mu[k] / K;
  for (int32_t k = 0; k < K; k++) mu_var += (mu[k] - mu_mean) * (mu[k] - mu_mean) / K;
  double narrow_var = var - mu_var;
  if (narrow_var < var / ((double)K * K)) narrow_var = var / ((double)K * K);
  double comp_var = narrow ? narrow_var : sqrt(var * narrow_var);
  if (comp_var < 1e-12) comp_var = 1e-12;
  float log_scale = (float)(0.5 * log(comp_var * 3.0) - log(M_PI));
  head->set_components(bias, K, ch, mu, log_scale);
}

void ds__model_data_init(ds_model *m, const float *x, const float *c, int64_t rows) {
  int64_t D = m->cfg.dim, G = m->groups;
  int32_t K = m->cfg.components, gd = m->group_dims, shared = 0;
  int64_t off = m->arch->head_bias(m, &shared); /* shared: one bias for all groups, pooled */
  int64_t per = shared ? rows * G : rows;
  float *v = ds__calloc(m->ctx, (size_t)per, sizeof(float));
  if (!v) return; /* an optimisation only: without memory, keep the default heads */
  m->arch->data_init(m, x, c, rows);
  for (int64_t g = 0; off >= 0 && g < (shared ? 1 : G); g++) {
    for (int32_t ch = 0; ch < gd; ch++) {
      int64_t n = 0;
      for (int64_t r = 0; r < rows; r++) {
        if (shared)
          for (int64_t p = 0; p < G; p++) v[n++] = x[r * D + p * gd + ch];
        else v[n++] = x[r * D + g * gd + ch];
      }
      qsort(v, (size_t)n, sizeof *v, compare_float);
      init_channel(m->head, m->params + off + g * m->group_params, K, ch, v, n,
                   m->cfg.cond_dim > 0);
    }
  }
  ds__free(m->ctx, v);
  ds__model_weights_changed(m);
}
