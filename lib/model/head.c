/* The heads of model/head.h over the logistic-mixture maths (kernels/logistic_mixture.h).
 * The RGB kernels have the head's signatures; the scalar ones are adapted here. */
#include "model/head.h"

#include "dsmooth.h"

static int32_t scalar_params(int32_t K) { return DS__MIX_PARAMS(K); }
static int32_t rgb_params(int32_t K) { return DS__MIX_RGB_PARAMS(K); }

static double scalar_density(const float *p, int32_t K, const ds__bins *bins, const float *x,
                             float *grad_p, double *grad_x) {
  (void)bins; /* NULL: a continuous model */
  return ds__mix_log_density(p, K, x[0], grad_p, grad_x);
}

static double scalar_mass(const float *p, int32_t K, const ds__bins *bins, const float *x,
                          float *grad_p, double *grad_x) {
  (void)grad_x; /* a mass has no score */
  return ds__mix_log_mass(p, K, bins, x[0], grad_p);
}

static void scalar_sample(const float *p, int32_t K, const ds__bins *bins, int32_t method,
                          const double *u, float *x) {
  x[0] = ds__mix_sample(p, K, bins, method, u);
}

static void scalar_mean(const float *p, int32_t K, const ds__bins *bins, float *x) {
  x[0] = ds__mix_mean(p, K, bins);
}

static void scalar_set_components(float *p, int32_t K, int32_t ch, const double *mu,
                                  float log_scale) {
  (void)ch; /* one channel */
  ds__mix_set_components(p, K, mu, log_scale);
}

/* The two scalar heads differ only in their log-probability: a density or a bin's mass
 * (sampling, the mean and the bias layout take `bins` and serve both). */
#define SCALAR_HEAD(NAME, LOG_PROB)                                                        \
  {                                                                                        \
    .name = NAME, .group_dims = 1, .group_params = scalar_params, .log_prob = LOG_PROB,    \
    .uniforms = ds__mix_uniforms_needed, .sample = scalar_sample, .mean = scalar_mean,     \
    .set_components = scalar_set_components,                                               \
  }
static const ds__head continuous = SCALAR_HEAD("continuous", scalar_density);
static const ds__head discretized = SCALAR_HEAD("discretized", scalar_mass);

static const ds__head rgb = {
    .name = "RGB",
    .group_dims = 3,
    .group_params = rgb_params,
    .log_prob = ds__mix_rgb_log_prob,
    .uniforms = ds__mix_rgb_uniforms_needed,
    .sample = ds__mix_rgb_sample,
    .mean = ds__mix_rgb_mean,
    .set_components = ds__mix_rgb_set_components,
};

const ds__head *ds__head_for(int32_t head, int32_t group_dims) {
  if (head != DS_HEAD_CONTINUOUS && head != DS_HEAD_DISCRETIZED) return NULL;
  if (group_dims == 3) return &rgb; /* continuous or discretized by its bins argument */
  if (group_dims != 1) return NULL;
  return head == DS_HEAD_DISCRETIZED ? &discretized : &continuous;
}
