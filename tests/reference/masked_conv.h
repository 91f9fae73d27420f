/* Test reference (not in the library): the masked convolution of the original PixelCNN,
 * mask rule of kernels/masked_conv.h, "same" zero padding, stride 1. It is ds__conv2d on
 * w * mask (built in the workspace); the weight gradient is masked. The models build the
 * same product as a CONV op on masked weights; the tests check both against it. */
#ifndef DS_TEST_REFERENCE_MASKED_CONV_H
#define DS_TEST_REFERENCE_MASKED_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "kernels/conv2d.h"
#include "kernels/masked_conv.h"

/* Shape of the masked conv: pads kh/2 and kw/2 on each side, stride 1. */
ds__conv2d_shape ds__masked_conv2d_shape(int64_t batch, int64_t cin, int64_t h, int64_t w,
                                         int64_t cout, int64_t kh, int64_t kw);
size_t ds__masked_conv2d_workspace(const ds__conv2d_shape *s, int32_t threads);

void ds__masked_conv2d_forward(ds__pool *pool, const ds__conv2d_shape *s, int mask_type,
                               const float *x, const float *w, const float *bias, float *y,
                               float *ws);
void ds__masked_conv2d_backward(ds__pool *pool, const ds__conv2d_shape *s, int mask_type,
                                const float *x, const float *w, const float *dy, float *dx,
                                float *dw, float *db, int accumulate, float *ws);

#endif
