/* Data-dependent initialisation of the output heads and the free-parameter count.
 *
 * A freshly initialised network puts every mixture component near mean 0 and log-scale 0,
 * whatever the data: the first hundreds of steps then only move the heads to where the
 * data is. Here the head biases are set from a batch instead: the K means of a dimension
 * (or image channel) at its quantiles (k + 1/2)/K, every component's width from the data's
 * spread (see init_channel), the logits equal; MADE's output weights are scaled by 0.1. The rest of
 * MADE keeps its initialisation, so the heads start as the batch's marginals plus a small
 * random input-dependent part. Image networks first normalise every layer on the batch
 * (model_init_pixelcnn.c; the head's output to std 0.1) before their head biases are set. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "model/pixelcnn.h"

/* Output-layer weights are scaled by this at data initialisation (MADE), so that every
 * conditional starts at the data's marginal with a small input-dependent part: on the 2-D
 * sets (rings, K = 8, 3 seeds) 1.0 left one seed in a 0.15 nats worse optimum. */
#define DS__HEAD_WEIGHT_SCALE 0.1f

static int compare_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Offset in m->params of the head bias of group g (group_params floats), or -1. */
static int64_t head_bias_offset(const ds_model *m, int64_t g) {
  if (!ds__pcnn_of(m)) {
    const ds__made_layer *O = &m->made.layer[m->made.layer_count - 1];
    return O->b_offset + g * m->group_params;
  }
  /* image networks: the last convolution writing the head tensor; one bias for every pixel */
  const ds__pixelcnn *p = ds__pcnn_of(m);
  for (int32_t o = p->op_count - 1; o >= 0; o--)
    if (p->ops[o].kind == DS__PCNN_CONV && p->ops[o].out == p->head)
      return p->ops[o].b_offset;
  return -1;
}

/* Means and log-scales of channel `ch` of a head bias from the sorted values v (n).
 * narrow 1: each component's variance is what the spread of the means leaves of the data's,
 * at least (std / K)^2; 0: the geometric mean of that and the data's variance. */
static void init_channel(float *bias, int32_t K, int32_t ch, const float *v, int64_t n,
                         int narrow) {
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
  for (int32_t k = 0; k < K; k++) {
    bias[k] = 0.0f;                                /* logits: equal weights */
    bias[K + 3 * K * ch + k] = (float)mu[k];       /* means */
    bias[2 * K + 3 * K * ch + k] = log_scale;      /* log-scales */
  }
}

void ds__model_data_init(ds_model *m, const float *x, const float *c, int64_t rows) {
  int64_t D = m->cfg.dim, G = m->groups;
  int32_t K = m->cfg.components, gd = m->group_dims;
  int shared = ds__pcnn_of(m) != NULL; /* one bias for all pixels: pool them */
  int64_t per = shared ? rows * G : rows;
  float *v = ds__calloc(m->ctx, (size_t)per, sizeof(float));
  if (!v) return; /* an optimisation only: without memory, keep the default heads */
  /* image networks: every layer normalised on the batch first (model_init_pixelcnn.c) */
  if (ds__pcnn_of(m)) ds__pcnn_data_init(m, x, m->cfg.cond_dim > 0 ? c : NULL, rows);
  if (!ds__pcnn_of(m)) { /* MADE: the input-dependent part of the heads starts 10x smaller */
    const ds__made_layer *O = &m->made.layer[m->made.layer_count - 1];
    for (int64_t k = O->w_offset; k < O->b_offset; k++) m->params[k] *= DS__HEAD_WEIGHT_SCALE;
  }
  for (int64_t g = 0; g < (shared ? 1 : G); g++) {
    int64_t off = head_bias_offset(m, g);
    if (off < 0) break;
    for (int32_t ch = 0; ch < gd; ch++) {
      int64_t n = 0;
      for (int64_t r = 0; r < rows; r++) {
        if (shared)
          for (int64_t p = 0; p < G; p++) v[n++] = x[r * D + p * gd + ch];
        else v[n++] = x[r * D + g * gd + ch];
      }
      qsort(v, (size_t)n, sizeof *v, compare_float);
      init_channel(m->params + off, K, ch, v, n, m->cfg.cond_dim > 0);
    }
  }
  ds__free(m->ctx, v);
}

int64_t ds__model_free_param_count(const ds_model *m) {
  int64_t free_count = 0;
  for (int64_t k = 0; k < m->param_count; k++) free_count += m->mask[k] != 0.0f;
  return free_count;
}
