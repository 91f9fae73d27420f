/* The smoother handle: a noise family and scale, bound to a context and a seed, and the
 * smoother's algorithms (noise, log q, score here; tabulated densities in smoother_grid.c).
 * api/smoother.c checks the arguments; the trainer and denoisers call these directly.
 * `fn` names the public function in failure details. */
#ifndef DS_MODEL_SMOOTHER_H
#define DS_MODEL_SMOOTHER_H

#include <stdint.h>

#include "core/context.h"

struct ds_smoother {
  ds_context *ctx;
  int32_t family;
  double sigma;
  uint64_t seed;
};

/* The name of a ds_noise family ("Gaussian", "Laplace", "uniform"); NULL for a value that
 * is not one. The one list of families: ds_smoother_create, the checkpoint's smoothing
 * record and the denoisers' messages accept exactly what it names. */
const char *ds__noise_name(int32_t family);

/* x_tilde[k] = x[k] + noise(seed, stream, first + k) for k in [0, count), parallel on the
 * pool; `first` lets a caller working in blocks address the same noise as one big call. */
void ds__smoother_add_noise(const ds_smoother *sm, const float *x, int64_t count,
                            uint64_t stream, int64_t first, float *x_tilde);
/* The same noise family and scale with another key: a trainer's own noise (core/seed.h). */
void ds__smoother_add_noise_seeded(const ds_smoother *sm, uint64_t seed, const float *x,
                                   int64_t count, uint64_t stream, int64_t first,
                                   float *x_tilde);

/* Differential entropy of the noise per dimension, in nats. */
double ds__smoother_entropy(const ds_smoother *sm);

/* log_q (n) = log q(x~_i | x_i) summed over the d dimensions of x_tilde, x (n, d).
 * NUMERIC if a value is NaN or infinite (UNIFORM's -INFINITY outside the support is a
 * value, not an error); log_q is then unspecified. */
ds_status ds__smoother_log_q(const ds_smoother *sm, const char *fn, const float *x_tilde,
                             const float *x, int64_t n, int64_t d, double *log_q);
/* score (n, d) = grad_{x~} log q(x~ | x). NUMERIC, score untouched, if some x~ - x lies
 * outside the noise's support; NUMERIC, score unspecified, for a non-finite result. */
ds_status ds__smoother_score(const ds_smoother *sm, const char *fn, const float *x_tilde,
                             const float *x, int64_t n, int64_t d, float *score);

/* Tabulated densities on the regular grid of ds_smoother_convolve_grid: density
 * (ny, nx), finite and >= 0, nx, ny >= 1, dx (and dy when ny > 1) > 0 (checked by the
 * caller). The output is written only on success (it may alias density); failures are
 * OUT_OF_MEMORY and NUMERIC (a result not finite). */
/* smoothed (ny, nx) = density (*) k. */
ds_status ds__smoother_convolve_grid(const ds_smoother *sm, const char *fn,
                                     const double *density, int64_t nx, int64_t ny, double dx,
                                     double dy, double *smoothed);
/* mean (ny, nx, dims) = E[x | x~ = grid point], dims = 1 (ny = 1) or 2; NaN where the
 * smoothed density is 0. */
ds_status ds__smoother_grid_posterior_mean(const ds_smoother *sm, const char *fn,
                                           const double *density, int64_t nx, int64_t ny,
                                           double x0, double dx, double y0, double dy,
                                           double *mean);

#endif
