/* Vectorised elementary functions for the pointwise kernels. Results depend only on the
 * input value (never on position or thread count); they are within ~2 ulp of libm. */
#ifndef DS_KERNELS_VEC_MATH_H
#define DS_KERNELS_VEC_MATH_H

#include <stdint.h>

/* y[i] = expm1(-|x[i]|) for i < n (in (-1, 0]): the exponential part of elu, whose argument
 * is never positive. AVX-512 or AVX2+FMA (the same
 * operations, so the same bits) when the CPU has them, libm otherwise. */
void ds__expm1_neg_abs(const float *x, float *y, int64_t n);

/* concat_elu of one row: pos[i] = elu(x[i]), neg[i] = elu(-x[i]) for i < n, with the
 * exponential side from ds__expm1_neg_abs (same bits); AVX-512 in one pass when the CPU has
 * it. */
void ds__concat_elu_row(const float *x, float *pos, float *neg, int64_t n);

/* s[i] = 1 / (1 + expf(-v[i])) for i < n, bit for bit the scalar expression with glibc's
 * expf (vectorised on AVX-512 CPUs with glibc; libm otherwise). s may equal v. */
void ds__sigmoid(const float *v, float *s, int64_t n);

/* Tests: use path `level` (0 plain C/libm, 1 AVX2+FMA, 2 AVX-512) from now on, -1 the
 * widest this CPU runs. Returns 0 (and changes nothing) if the CPU lacks it. */
int ds__vec_math_force(int level);

#endif
