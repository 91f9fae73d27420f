/* Test reference (not in the library: the models express it as 1x1 CONV ops).
 * "nin": 1x1 convolution over channels, optionally plus a conditioning input through its
 * own 1x1 weights (the conditional model's x~ path):
 *
 *   y (B, Cout, P) = w (Cout, Cin) x (B, Cin, P) [+ wc (Cout, Cc) cond (B, Cc, P)] + bias
 *
 * P = pixels. Two 1x1 ds__conv2d calls; cond == NULL: no conditioning. ws holds
 * ds__nin_workspace(...) floats for the pool's thread count. */
#ifndef DS_TEST_REFERENCE_NIN_H
#define DS_TEST_REFERENCE_NIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"

size_t ds__nin_workspace(int64_t batch, int64_t pixels, int64_t cin, int64_t cout,
                         int64_t ccond, int32_t threads);
void ds__nin_forward(ds__pool *pool, int64_t batch, int64_t pixels, int64_t cin, int64_t cout,
                     const float *x, const float *w, const float *bias, int64_t ccond,
                     const float *cond, const float *wc, float *y, float *ws);
/* Any gradient may be NULL; accumulate adds to them instead of overwriting. */
void ds__nin_backward(ds__pool *pool, int64_t batch, int64_t pixels, int64_t cin,
                      int64_t cout, const float *x, const float *w, int64_t ccond,
                      const float *cond, const float *wc, const float *dy, float *dx, float *dw,
                      float *db, float *dcond, float *dwc, int accumulate,
                      float *ws);

#endif
