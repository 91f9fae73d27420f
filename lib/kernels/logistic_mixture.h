/* Logistic-mixture output heads (docs/method.md §3): log-density, log-mass of a bin, their
 * gradients, CDF and sampling for one dimension's conditional. Pure math on float params,
 * double inside (log-sum-exp, CDF differences), no allocation, deterministic. Shared by the
 * MADE vector model and PixelCNN++.
 *
 * Parameter layout of one conditional with K components, p[0..3K) (DS__MIX_PARAMS(K)):
 *   logits p[0..K), means p[K..2K), log-scales p[2K..3K).
 * Each log-scale is clamped below at DS__MIX_LOG_SCALE_MIN before use; its gradient is 0
 * where the clamp is active (raw value < the bound). */
#ifndef DS_KERNELS_LOGISTIC_MIXTURE_H
#define DS_KERNELS_LOGISTIC_MIXTURE_H

#include <stdint.h>

#define DS__MIX_LOG_SCALE_MIN (-7.0f)
#define DS__MIX_PARAMS(K) (3 * (K))
/* Largest K the heads take (DS_MODEL_COMPONENTS): fixed-size per-component scratch. */
#define DS__MIX_MAX_COMPONENTS 256

/* Discretized head: `count` >= 2 bins (lo < hi) with centres lo + b*(hi-lo)/(count-1),
 * b = 0..count-1, half-width (hi-lo)/(2(count-1)); the edge bins are open to -inf / +inf.
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

/* Sampling from uniforms in the open (0, 1) supplied by the caller (the caller owns the
 * counter-based RNG). DS__MIX_SAMPLE_BISECT: inverse CDF of the whole mixture (1 uniform;
 * continuous by bisection to float precision, discretized by binary search over bin edges,
 * an exact bin choice). DS__MIX_SAMPLE_GUMBEL: Gumbel-max component choice, then a logistic
 * draw (K + 1 uniforms: u[0..K) for the choice, u[K] for the draw), snapped to the nearest
 * bin centre if discretized. bins NULL = continuous sample (not clipped); otherwise the
 * result is a bin centre. */
enum { DS__MIX_SAMPLE_BISECT = 0, DS__MIX_SAMPLE_GUMBEL = 1 };
int32_t ds__mix_uniforms_needed(int32_t K, int32_t method);
float ds__mix_sample(const float *p, int32_t K, const ds__bins *bins, int32_t method,
                     const double *u);

/* Mixture CDF at x (continuous), for tests and bisection. */
double ds__mix_cdf(const float *p, int32_t K, float x);

/* RGB pixel, PixelCNN++'s joint mixture: one component choice for all three channels,
 *   log p(x) = LSE_k(log pi_k + log P_k(x_R) + log P_k(x_G | x_R) + log P_k(x_B | x_R, x_G)),
 * with coupled means mu_G += c0 x_R, mu_B += c1 x_R + c2 x_G, c = tanh(raw coeffs).
 * Layout as the official code, p[0..10K): logits K, then for channel c = R, G, B the block
 * p[K + 3Kc ..) = means K | log-scales K | raw coeffs K (R's coeffs are c0, G's c1, B's c2).
 * Each channel is continuous (bins NULL) or discretized exactly as the scalar heads; the
 * coupling uses the snapped (bin-centre) values. grad_p (10K, may be NULL) is overwritten;
 * grad_x (3, may be NULL) = d log p / d x, continuous only (zeros when discretized). */
#define DS__MIX_RGB_PARAMS(K) (10 * (K))
double ds__mix_rgb_log_prob(const float *p, int32_t K, const ds__bins *bins, const float x[3],
                            float *grad_p, double *grad_x);
/* RGB sample into x[3]. BISECT (3 uniforms): R from its marginal mixture, then G and B each by
 * inverting their conditional mixture, whose weights are the posterior over components given
 * the channels already drawn. GUMBEL (K + 3 uniforms): Gumbel-max component from u[0..K), then
 * R, G, B from that component's coupled logistics (u[K], u[K+1], u[K+2]). */
int32_t ds__mix_rgb_uniforms_needed(int32_t K, int32_t method);
void ds__mix_rgb_sample(const float *p, int32_t K, const ds__bins *bins, int32_t method,
                        const double *u, float x[3]);

/* Greedy means. Scalar: sum_k softmax(logits)_k mu_k. RGB into x[3]: each channel the
 * prior-weighted mean of its coupled component means given the channels before it (an
 * approximation of the conditional mean). Discretized (bins not NULL): each value moved to
 * the nearest bin centre, clamped to the bins, before the next channel uses it. */
float ds__mix_mean(const float *p, int32_t K, const ds__bins *bins);
void ds__mix_rgb_mean(const float *p, int32_t K, const ds__bins *bins, float x[3]);

/* Set equal weights (logits 0) and every component k of the scalar mixture, or of RGB
 * channel ch, to mean mu[k] (K) and log-scale log_scale; the rest of p stays (the RGB
 * coupling coefficients). For the data-dependent initialisation of a head's bias. */
void ds__mix_set_components(float *p, int32_t K, const double *mu, float log_scale);
void ds__mix_rgb_set_components(float *p, int32_t K, int32_t ch, const double *mu,
                                float log_scale);

#endif
