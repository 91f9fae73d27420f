#include "core/finite.h"

#include <math.h>

int64_t ds__first_nonfinite_f32(const float *x, int64_t count) {
  for (int64_t i = 0; i < count; i++)
    if (!isfinite(x[i])) return i;
  return -1;
}

int64_t ds__first_nonfinite_f64(const double *x, int64_t count) {
  for (int64_t i = 0; i < count; i++)
    if (!isfinite(x[i])) return i;
  return -1;
}
