/* Vectorised elementary functions for the pointwise kernels. Results depend only on the
 * input value (never on position or thread count); they are within ~2 ulp of libm. */
#ifndef DS_KERNELS_VEC_MATH_H
#define DS_KERNELS_VEC_MATH_H

#include <stdint.h>

/* y[i] = expm1(-|x[i]|) for i < n (in (-1, 0]): the exponential part of elu, whose argument
 * is never positive. AVX2+FMA when the CPU has it, libm otherwise. */
void ds__expm1_neg_abs(const float *x, float *y, int64_t n);

#endif
