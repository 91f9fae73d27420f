/* 2-D convolution (cross-correlation, as PyTorch) on NCHW float32 with kernel (kh, kw),
 * stride, and zero padding (top, bottom, left, right):
 *
 *   y[b, o, p, q] = bias[o] + sum_{c, ky, kx} w[o, c, ky, kx] * x[b, c, p*s + ky - pad_t,
 *                                                              q*s + kx - pad_l]
 *   x (B, Cin, H, W)  w (Cout, Cin, kh, kw)  bias (Cout) or NULL  y (B, Cout, OH, OW)
 *   OH = (H + pad_t + pad_b - kh) / s + 1, OW likewise.
 *
 * PixelCNN++: down-shifted 2x3 = pads (1, 0, 1, 1); down-right-shifted 2x2 = (1, 0, 1, 0),
 * 2x1 = (1, 0, 0, 0); their stride-2 forms keep the pads. A 1x1 conv is the "nin".
 *
 * Implementation: GEMMs over implicit im2col panels through conv_engine.h (images split
 * over threads, dW split over its columns, fixed summation order): bitwise identical for
 * any thread count.
 * ws: ds__conv2d_workspace(s, threads) floats, threads = those of the pool that runs the
 * call; nothing is allocated. */
#ifndef DS_KERNELS_CONV2D_H
#define DS_KERNELS_CONV2D_H

#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"

typedef struct ds__conv2d_shape {
  int64_t batch, cin, h, w, cout;
  int64_t kh, kw, stride;
  int64_t pad_t, pad_b, pad_l, pad_r;
} ds__conv2d_shape;

int64_t ds__conv2d_out_h(const ds__conv2d_shape *s);
int64_t ds__conv2d_out_w(const ds__conv2d_shape *s);
/* Workspace in floats for forward and backward. */
size_t ds__conv2d_workspace(const ds__conv2d_shape *s, int32_t threads);

/* y = conv(x) + bias; with accumulate, y += conv(x) + bias. */
void ds__conv2d_forward(ds__pool *pool, const ds__conv2d_shape *s, const float *x,
                        const float *w, const float *bias, float *y, int accumulate,
                        float *ws);

/* The weights packed once for the forward product (the GEMM micro-kernel's layout, valid
 * while the micro-kernel does not change): ds__conv2d_packed_weights(s) floats filled by
 * ds__conv2d_pack_weights; ds__conv2d_forward_packed then gives ds__conv2d_forward's bits
 * without packing them again in every call (or on every thread). */
int64_t ds__conv2d_packed_weights(const ds__conv2d_shape *s);
void ds__conv2d_pack_weights(const ds__conv2d_shape *s, const float *w, float *packed);
void ds__conv2d_forward_packed(ds__pool *pool, const ds__conv2d_shape *s, const float *x,
                               const float *packed, const float *bias, float *y,
                               int accumulate, float *ws);

/* dy (B, Cout, OH, OW) -> dx (B, Cin, H, W), dw (Cout, Cin, kh, kw), db (Cout); any output
 * may be NULL. Overwritten, or added to with accumulate. */
void ds__conv2d_backward(ds__pool *pool, const ds__conv2d_shape *s, const float *x,
                         const float *w, const float *dy, float *dx, float *dw, float *db,
                         int accumulate, float *ws);

#endif
