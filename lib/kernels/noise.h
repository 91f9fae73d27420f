/* Noise kernels of the smoother: draws, log-density, score. Pure math, no allocation.
 * Families and their parameterisation by the standard deviation sigma are documented with
 * ds_noise in dsmooth.h. */
#ifndef DS_KERNELS_NOISE_H
#define DS_KERNELS_NOISE_H

#include <stdint.h>

/* Noise value for element `index` of (seed, stream). */
double ds__noise_draw(int32_t family, double sigma, uint64_t seed, uint64_t stream,
                      uint64_t index);
/* log k(r) in nats (-INFINITY outside a uniform's support). */
double ds__noise_log_density(int32_t family, double sigma, double r);
/* d/dr log k(r); for the uniform 0 inside the support. */
double ds__noise_score(int32_t family, double sigma, double r);
/* Entropy of k in nats. */
double ds__noise_entropy(int32_t family, double sigma);
/* CDF of k at r. */
double ds__noise_cdf(int32_t family, double sigma, double r);
/* Half-width of the uniform's support (sigma * sqrt(3)); INFINITY for the others. */
double ds__noise_support(int32_t family, double sigma);

#endif
