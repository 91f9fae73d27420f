/* Pointwise ops of PixelCNN++ and the masked PixelCNN on NCHW float32, split over (image, channel) planes on the
 * pool; each output element depends on fixed inputs only, so any thread count gives the same
 * bits. P = pixels per plane (H*W). Backward functions overwrite their gradient outputs, or
 * add to them with accumulate. */
#ifndef DS_KERNELS_POINTWISE_H
#define DS_KERNELS_POINTWISE_H

#include <stdint.h>

#include "core/pool.h"

/* elu(x) = x > 0 ? x : expm1(x); x, y (n). Backward uses the output y. */
void ds__elu_forward(ds__pool *pool, int64_t n, const float *x, float *y);
void ds__elu_backward(ds__pool *pool, int64_t n, const float *y, const float *dy, float *dx,
                      int accumulate);

/* relu(x) = x > 0 ? x : 0; x, y (n). Backward uses the output y: dx (+)= y > 0 ? dy : 0. */
void ds__relu_forward(ds__pool *pool, int64_t n, const float *x, float *y);
void ds__relu_backward(ds__pool *pool, int64_t n, const float *y, const float *dy, float *dx,
                       int accumulate);

/* y (B, 2C, P) = elu([x, -x]) along channels, x (B, C, P). Backward uses x. */
void ds__concat_elu_forward(ds__pool *pool, int64_t batch, int64_t c, int64_t pixels,
                            const float *x, float *y);
void ds__concat_elu_backward(ds__pool *pool, int64_t batch, int64_t c, int64_t pixels,
                             const float *x, const float *dy, float *dx, int accumulate);
/* The same bits, reading the exponential from the forward output y (B, 2C, P) instead of
 * recomputing it: y must be exactly what ds__concat_elu_forward wrote (not dropped out). */
void ds__concat_elu_backward_from_y(ds__pool *pool, int64_t batch, int64_t c, int64_t pixels,
                                    const float *x, const float *y, const float *dy, float *dx,
                                    int accumulate);

/* Gated residual: y (B, F, P) = x + a * sigmoid(g) with [a, g] = ab (B, 2F, P). x may be
 * NULL (no residual). Backward: dab (B, 2F, P) overwritten; dx (+)= dy when dx != NULL. */
void ds__gate_forward(ds__pool *pool, int64_t batch, int64_t f, int64_t pixels, const float *x,
                      const float *ab, float *y);
void ds__gate_backward(ds__pool *pool, int64_t batch, int64_t f, int64_t pixels,
                       const float *ab, const float *dy, float *dx, float *dab, int accumulate);

/* Tanh gate with residual (gated PixelCNN): y (B, F, P) = x + tanh(a) * sigmoid(g) with
 * [a, g] = ab (B, 2F, P); x may be NULL (no residual). Backward: da = dy (1 - tanh(a)^2)
 * sigmoid(g), dg = dy tanh(a) sigmoid(g) (1 - sigmoid(g)) into dab (B, 2F, P), overwritten;
 * dx (+)= dy when dx != NULL. */
void ds__tanh_gate_forward(ds__pool *pool, int64_t batch, int64_t f, int64_t pixels,
                           const float *x, const float *ab, float *y);
void ds__tanh_gate_backward(ds__pool *pool, int64_t batch, int64_t f, int64_t pixels,
                            const float *ab, const float *dy, float *dx, float *dab,
                            int accumulate);

/* Shifts with zero fill, x, y (B, C, H, W): down: y[.., i, j] = x[.., i-1, j];
 * right: y[.., i, j] = x[.., i, j-1]. Backward is the opposite shift. */
void ds__down_shift_forward(ds__pool *pool, int64_t planes, int64_t h, int64_t w,
                            const float *x, float *y);
void ds__down_shift_backward(ds__pool *pool, int64_t planes, int64_t h, int64_t w,
                             const float *dy, float *dx, int accumulate);
void ds__right_shift_forward(ds__pool *pool, int64_t planes, int64_t h, int64_t w,
                             const float *x, float *y);
void ds__right_shift_backward(ds__pool *pool, int64_t planes, int64_t h, int64_t w,
                              const float *dy, float *dx, int accumulate);

/* y (B, Ca + Cb, P) = [a (B, Ca, P), b (B, Cb, P)]; backward splits dy (NULL skips). */
void ds__concat_channels_forward(ds__pool *pool, int64_t batch, int64_t ca, int64_t cb,
                                 int64_t pixels, const float *a, const float *b, float *y);
void ds__concat_channels_backward(ds__pool *pool, int64_t batch, int64_t ca, int64_t cb,
                                  int64_t pixels, const float *dy, float *da, float *db,
                                  int accumulate);

#endif
