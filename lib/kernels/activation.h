/* Pointwise activations with their derivatives expressed through the pre-activation z,
 * so a backward pass needs only what the forward pass stored. */
#ifndef DS_KERNELS_ACTIVATION_H
#define DS_KERNELS_ACTIVATION_H

#include <math.h>
#include <stdint.h>

#include "dsmooth.h"

static inline float ds__act(int32_t kind, float z) {
  switch (kind) {
    case DS_ACTIVATION_TANH: return tanhf(z);
    case DS_ACTIVATION_ELU: return z > 0 ? z : expm1f(z);
    default: return z > 0 ? z : 0.0f;
  }
}

/* d act / d z at z */
static inline float ds__act_grad(int32_t kind, float z) {
  switch (kind) {
    case DS_ACTIVATION_TANH: { float t = tanhf(z); return 1.0f - t * t; }
    case DS_ACTIVATION_ELU: return z > 0 ? 1.0f : expf(z);
    default: return z > 0 ? 1.0f : 0.0f;
  }
}

/* h[k] = act(z[k]) (+ skip[k] when skip is not NULL), k < count: the switch is hoisted so
 * each loop is a plain vectorisable map. */
static inline void ds__act_forward(int32_t kind, const float *z, const float *skip, float *h,
                                   int64_t count) {
  switch (kind) {
    case DS_ACTIVATION_RELU:
      for (int64_t k = 0; k < count; k++) h[k] = z[k] > 0.0f ? z[k] : 0.0f;
      break;
    case DS_ACTIVATION_TANH:
      for (int64_t k = 0; k < count; k++) h[k] = tanhf(z[k]);
      break;
    default:
      for (int64_t k = 0; k < count; k++) h[k] = z[k] > 0.0f ? z[k] : expm1f(z[k]);
      break;
  }
  if (skip)
    for (int64_t k = 0; k < count; k++) h[k] += skip[k];
}

/* dz[k] = g[k] * act'(z[k]), k < count. */
static inline void ds__act_backward(int32_t kind, const float *z, const float *g, float *dz,
                                    int64_t count) {
  switch (kind) {
    case DS_ACTIVATION_RELU:
      /* both operands loaded unconditionally so the loop vectorises (no branch on the
         sign of z, which is a coin flip and mispredicts half the time) */
      for (int64_t k = 0; k < count; k++) {
        float gk = g[k];
        dz[k] = z[k] > 0.0f ? gk : 0.0f;
      }
      break;
    default:
      for (int64_t k = 0; k < count; k++) dz[k] = g[k] * ds__act_grad(kind, z[k]);
      break;
  }
}

#endif
