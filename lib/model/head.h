/* The output head: the distribution of one head group (group_dims dimensions) given its
 * group_params parameters (model/arch.h's head layout). A model's head is chosen once, at
 * creation, from DS_MODEL_HEAD and the architecture's dimensions per group
 * (ds__head_for); model.c calls it without knowing which one it is.
 *
 * Heads (maths in kernels/logistic_mixture.h):
 *   continuous   1 dim,  3K params   logistic mixture: density, score
 *   discretized  1 dim,  3K params   logistic mixture over the bins: mass
 *   RGB          3 dims, 10K params  PixelCNN++'s coupled mixture, continuous or over
 *                                    the bins
 * Every function takes `bins`: NULL for a continuous model (DS_HEAD_CONTINUOUS), the
 * model's bins for a discretized one (ds__model_bins). To add a head: its maths in
 * kernels/, one descriptor in model/head.c, its case in ds__head_for. */
#ifndef DS_MODEL_HEAD_H
#define DS_MODEL_HEAD_H

#include <stdint.h>

#include "kernels/logistic_mixture.h"

/* Dimensions of the largest group (RGB) and uniforms any head needs per group and draw (the
 * largest: RGB by Gumbel-max, K + 3): callers' fixed buffers. */
#define DS__HEAD_MAX_GROUP_DIMS 3
#define DS__HEAD_MAX_UNIFORMS (DS__MIX_MAX_COMPONENTS + 3)

typedef struct ds__head {
  const char *name;
  int32_t group_dims; /* dimensions per group */
  /* Parameters per group for K components (the head width). */
  int32_t (*group_params)(int32_t K);
  /* log p(x) of x (group_dims) given p (group_params). grad_p (group_params, may be NULL) is
   * overwritten with d log p / d p; grad_x (group_dims, may be NULL) gets d log p / d x,
   * which only a continuous head has (discretized: zeros, or left as it is). */
  double (*log_prob)(const float *p, int32_t K, const ds__bins *bins, const float *x,
                     float *grad_p, double *grad_x);
  /* Uniforms in (0, 1) one draw of a group takes for a DS__MIX_SAMPLE_* method (at most
   * DS__HEAD_MAX_UNIFORMS). */
  int32_t (*uniforms)(int32_t K, int32_t method);
  /* A draw into x (group_dims) from those uniforms. */
  void (*sample)(const float *p, int32_t K, const ds__bins *bins, int32_t method,
                 const double *u, float *x);
  /* The greedy mean into x (group_dims). */
  void (*mean)(const float *p, int32_t K, const ds__bins *bins, float *x);
  /* Data-dependent initialisation (model/model_init.c): equal component weights, and
   * channel ch's (< group_dims) component k at mean mu[k] with log-scale log_scale; the
   * rest of p (group_params) is left as it is. */
  void (*set_components)(float *p, int32_t K, int32_t ch, const double *mu, float log_scale);
} ds__head;

/* The head for a ds_head value and dimensions per group; NULL if there is none (groups of
 * 1 or 3 dimensions). */
const ds__head *ds__head_for(int32_t head, int32_t group_dims);

#endif
