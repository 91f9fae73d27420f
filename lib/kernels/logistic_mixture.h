/* Logistic-mixture output heads (METHOD.md §3): log-density, log-mass of a bin, their
 * gradients, CDF and sampling for one dimension's conditional. Pure math on float params,
 * double inside (log-sum-exp, CDF differences), no allocation, deterministic. Shared by the
 * MADE vector model and PixelCNN++.
 *
 * Parameter layout of one conditional with K components, p[0..3K):
 *   logits p[0..K), means p[K..2K), log-scales p[2K..3K).
 * Each log-scale is clamped below at DS__MIX_LOG_SCALE_MIN before use; its gradient is 0
 * where the clamp is active (raw value < the bound). */
#ifndef DS_KERNELS_LOGISTIC_MIXTURE_H
#define DS_KERNELS_LOGISTIC_MIXTURE_H

#include <stdint.h>

#define DS__MIX_LOG_SCALE_MIN (-7.0f)

/* Discretized head: `count` >= 2 bins with centres lo + b*(hi-lo)/(count-1), b = 0..count-1,
 * half-width (hi-lo)/(2(count-1)); the edge bins are open to -inf / +inf.
 * 8-bit images: {256, -1, 1}. */
typedef struct ds__bins {
  int32_t count;
  float lo, hi;
} ds__bins;

/* Continuous: log p(x) in nats, log-sum-exp over components of
 * log Logistic(x; mu, e^s) = -z - s - 2 softplus(-z), z = (x - mu) e^-s.
 * grad_p (3K, overwritten, may be NULL) = d log p / d p; grad_x (may be NULL) = d log p / d x. */
double ds__mix_log_density(const float *p, int32_t K, float x, float *grad_p, double *grad_x);

/* Discretized: log P(bin of x), x snapped to the nearest bin centre (clamped to [lo, hi]).
 * Per component, as PixelCNN++: edge bins use log CDF(c + h) / log(1 - CDF(c - h)); interior
 * bins the log CDF difference while it exceeds 1e-5, else log pdf(c) + log(2h).
 * grad_p as above. A NaN x gives NaN (and NaN gradients). */
double ds__mix_log_mass(const float *p, int32_t K, const ds__bins *bins, float x, float *grad_p);

/* Index of the bin whose centre is nearest to x, clamped to [0, count); NaN -> -1. */
int32_t ds__bins_index(const ds__bins *bins, float x);
/* Centre of bin b (as float, the value a discretized sample returns). */
float ds__bins_centre(const ds__bins *bins, int32_t b);

/* Sampling from uniforms in (0, 1) supplied by the caller (the caller owns the counter-based
 * RNG). DS__MIX_SAMPLE_BISECT: inverse CDF of the whole mixture (1 uniform; continuous by
 * bisection to float precision, discretized by binary search over bin edges, an exact bin
 * choice). DS__MIX_SAMPLE_GUMBEL: Gumbel-max component choice, then a logistic draw
 * (K + 1 uniforms: u[0..K) for the choice, u[K] for the draw), snapped to the nearest bin
 * centre if discretized. bins NULL = continuous sample (not clipped); otherwise the result
 * is a bin centre. */
enum { DS__MIX_SAMPLE_BISECT = 0, DS__MIX_SAMPLE_GUMBEL = 1 };
int32_t ds__mix_uniforms_needed(int32_t K, int32_t method);
float ds__mix_sample(const float *p, int32_t K, const ds__bins *bins, int32_t method,
                     const double *u);

/* Mixture CDF at x (continuous), for tests and bisection. */
double ds__mix_cdf(const float *p, int32_t K, float x);

/* PixelCNN++ RGB coupling (one set of mixture weights per pixel, K components):
 *   mu_G[k] += c0[k] x_R,  mu_B[k] += c1[k] x_R + c2[k] x_G,  c = tanh(coeffs),
 * coeffs (3K) = raw c0 | c1 | c2. mean_g, mean_b (K each) are updated in place (pass the means
 * block p + K of the G and B conditionals). */
void ds__mix_rgb_couple(const float *coeffs, int32_t K, float x_r, float x_g, float *mean_g,
                        float *mean_b);
/* Backward of the coupling: given d/d mu_G and d/d mu_B after coupling (K each), writes
 * grad_coeffs (3K, overwritten) and adds to *grad_x_r, *grad_x_g when not NULL. The
 * gradients w.r.t. the uncoupled means are the incoming ones unchanged. */
void ds__mix_rgb_couple_backward(const float *coeffs, int32_t K, float x_r, float x_g,
                                 const float *grad_mean_g, const float *grad_mean_b,
                                 float *grad_coeffs, double *grad_x_r, double *grad_x_g);

#endif
