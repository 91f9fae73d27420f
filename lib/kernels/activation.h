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

#endif
