/* The causal masks of the original PixelCNN's convolutions: an odd kh x kw kernel whose
 * taps below the centre row and right of the centre are zero; mask A also zeroes the
 * centre (first layer: a pixel must not see itself), mask B keeps it. Single colour group
 * (no R/G/B channel masks). The models apply the rule to the weights of ordinary CONV ops
 * (model/pixelcnn_masked_layout.c); the masked convolution itself, used by the tests as a
 * reference, is tests/reference/masked_conv.h. */
#ifndef DS_KERNELS_MASKED_CONV_H
#define DS_KERNELS_MASKED_CONV_H

#include <stdint.h>

enum { DS_MASK_A = 0, DS_MASK_B = 1 };

/* 1 where tap (ky, kx) of a kh x kw kernel is allowed. */
int ds__mask_allows(int mask_type, int64_t kh, int64_t kw, int64_t ky, int64_t kx);

#endif
