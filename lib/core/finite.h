/* Scans for NaN/Inf, used to validate inputs before any output is written. */
#ifndef DS_CORE_FINITE_H
#define DS_CORE_FINITE_H

#include <stdint.h>

/* Index of the first non-finite element, or -1. */
int64_t ds__first_nonfinite_f32(const float *x, int64_t count);
int64_t ds__first_nonfinite_f64(const double *x, int64_t count);

#endif
