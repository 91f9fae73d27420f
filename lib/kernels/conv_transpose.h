/* Transposed 2-D convolution (PyTorch ConvTranspose2d, padding 0) with an output crop:
 *
 *   y[b, o, i*s + ky - crop_t, j*s + kx - crop_l] += w[c, o, ky, kx] * x[b, c, i, j] (+ bias[o])
 *   x (B, Cin, H, W)  w (Cin, Cout, kh, kw)  bias (Cout) or NULL  y (B, Cout, OH, OW)
 *
 * keeping only 0 <= row < OH, 0 <= col < OW. PixelCNN++'s stride-2 deconvs (output_padding
 * 1, then cropped) are ds__deconv2d_pixelcnn(): OH = 2H, OW = 2W, crop_t = 0, crop_l =
 * (kw-1)/2 for the down-shifted 2x3 form and 0 for the down-right-shifted 2x2 form.
 *
 * It is the input gradient of a convolution and shares its machinery: per image
 * W^T x then col2im; backward is im2col + gemm. Bitwise identical for any thread count;
 * ws: ds__deconv2d_workspace(s, threads) floats. */
#ifndef DS_KERNELS_CONV_TRANSPOSE_H
#define DS_KERNELS_CONV_TRANSPOSE_H

#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"

typedef struct ds__deconv2d_shape {
  int64_t batch, cin, h, w, cout;
  int64_t kh, kw, stride;
  int64_t crop_t, crop_l;
  int64_t oh, ow;
} ds__deconv2d_shape;

/* right_shifted: 0 down-shifted (crop centre columns), 1 down-right-shifted. */
ds__deconv2d_shape ds__deconv2d_pixelcnn(int64_t batch, int64_t cin, int64_t h, int64_t w,
                                         int64_t cout, int64_t kh, int64_t kw,
                                         int right_shifted);
size_t ds__deconv2d_workspace(const ds__deconv2d_shape *s, int32_t threads);

void ds__deconv2d_forward(ds__pool *pool, const ds__deconv2d_shape *s, const float *x,
                          const float *w, const float *bias, float *y, float *ws);
/* dy (B, Cout, OH, OW) -> dx, dw (Cin, Cout, kh, kw), db; NULL skips; accumulate adds. */
void ds__deconv2d_backward(ds__pool *pool, const ds__deconv2d_shape *s, const float *x,
                           const float *w, const float *dy, float *dx, float *dw, float *db,
                           int accumulate, float *ws);

#endif
