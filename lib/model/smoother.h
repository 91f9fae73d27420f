/* The smoother handle: a noise family and scale, bound to a context and a seed. The
 * trainer and denoisers use these internals directly (arguments already checked). */
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

/* x_tilde[k] = x[k] + noise(seed, stream, first + k) for k in [0, count), parallel on the
 * pool; `first` lets a caller working in blocks address the same noise as one big call. */
void ds__smoother_add_noise(const ds_smoother *sm, const float *x, int64_t count,
                            uint64_t stream, int64_t first, float *x_tilde);
/* The same noise family and scale with another key: a trainer's own noise (core/seed.h). */
void ds__smoother_add_noise_seeded(const ds_smoother *sm, uint64_t seed, const float *x,
                                   int64_t count, uint64_t stream, int64_t first,
                                   float *x_tilde);

#endif
