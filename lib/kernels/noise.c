#include "kernels/noise.h"

#include <math.h>

#include "core/philox.h"
#include "dsmooth.h"

#define DS__SQRT2 1.41421356237309504880
#define DS__SQRT3 1.73205080756887729353

double ds__noise_draw(int32_t family, double sigma, uint64_t seed, uint64_t stream,
                      uint64_t index) {
  switch (family) {
    case DS_NOISE_GAUSSIAN:
      return sigma * ds__normal_at(seed, stream, index);
    case DS_NOISE_LAPLACE: {
      /* inverse CDF: r = -b sign(u - 1/2) log(1 - 2|u - 1/2|), u in (0, 1) */
      double u = ds__uniform_at(seed, stream, index) - 0.5;
      double b = sigma / DS__SQRT2;
      double mag = -b * log1p(-2.0 * fabs(u));
      return u < 0 ? -mag : mag;
    }
    default: { /* DS_NOISE_UNIFORM */
      double a = sigma * DS__SQRT3;
      return a * (2.0 * ds__uniform_at(seed, stream, index) - 1.0);
    }
  }
}

double ds__noise_log_density(int32_t family, double sigma, double r) {
  switch (family) {
    case DS_NOISE_GAUSSIAN: {
      double z = r / sigma;
      return -0.5 * z * z - log(sigma) - 0.91893853320467274178; /* log sqrt(2 pi) */
    }
    case DS_NOISE_LAPLACE: {
      double b = sigma / DS__SQRT2;
      return -fabs(r) / b - log(2.0 * b);
    }
    default: {
      double a = sigma * DS__SQRT3;
      return fabs(r) <= a ? -log(2.0 * a) : -INFINITY;
    }
  }
}

double ds__noise_score(int32_t family, double sigma, double r) {
  switch (family) {
    case DS_NOISE_GAUSSIAN:
      return -r / (sigma * sigma);
    case DS_NOISE_LAPLACE: {
      double b = sigma / DS__SQRT2;
      return r > 0 ? -1.0 / b : r < 0 ? 1.0 / b : 0.0;
    }
    default:
      return 0.0;
  }
}

double ds__noise_entropy(int32_t family, double sigma) {
  switch (family) {
    case DS_NOISE_GAUSSIAN:
      return 0.5 * log(2.0 * M_PI * M_E * sigma * sigma);
    case DS_NOISE_LAPLACE:
      return 1.0 + log(2.0 * sigma / DS__SQRT2);
    default:
      return log(2.0 * sigma * DS__SQRT3);
  }
}

double ds__noise_cdf(int32_t family, double sigma, double r) {
  switch (family) {
    case DS_NOISE_GAUSSIAN:
      return 0.5 * erfc(-r / (sigma * DS__SQRT2));
    case DS_NOISE_LAPLACE: {
      double b = sigma / DS__SQRT2;
      return r < 0 ? 0.5 * exp(r / b) : 1.0 - 0.5 * exp(-r / b);
    }
    default: {
      double a = sigma * DS__SQRT3;
      double c = (r + a) / (2.0 * a);
      return c < 0 ? 0.0 : c > 1 ? 1.0 : c;
    }
  }
}

double ds__noise_support(int32_t family, double sigma) {
  return family == DS_NOISE_UNIFORM ? sigma * DS__SQRT3 : INFINITY;
}
