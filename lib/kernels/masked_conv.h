/* Masked convolution of the original PixelCNN: an odd kh x kw kernel, "same" zero padding,
 * stride 1, whose taps below the centre row and right of the centre are zero; mask A also
 * zeroes the centre (first layer: a pixel must not see itself), mask B keeps it.
 * It is ds__conv2d on w * mask (built in the workspace); the weight gradient is masked.
 * Single colour group (no R/G/B channel masks). */
#ifndef DS_KERNELS_MASKED_CONV_H
#define DS_KERNELS_MASKED_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "kernels/conv2d.h"

enum { DS_MASK_A = 0, DS_MASK_B = 1 };

/* Shape of the masked conv: pads kh/2 and kw/2 on each side, stride 1. */
ds__conv2d_shape ds__masked_conv2d_shape(int64_t batch, int64_t cin, int64_t h, int64_t w,
                                         int64_t cout, int64_t kh, int64_t kw);
/* 1 where tap (ky, kx) is allowed. */
int ds__mask_allows(int mask_type, int64_t kh, int64_t kw, int64_t ky, int64_t kx);
size_t ds__masked_conv2d_workspace(const ds__conv2d_shape *s, int32_t threads);

void ds__masked_conv2d_forward(ds__pool *pool, const ds__conv2d_shape *s, int mask_type,
                               const float *x, const float *w, const float *bias, float *y,
                               float *ws);
void ds__masked_conv2d_backward(ds__pool *pool, const ds__conv2d_shape *s, int mask_type,
                                const float *x, const float *w, const float *dy, float *dx,
                                float *dw, float *db, int accumulate, float *ws);

#endif
