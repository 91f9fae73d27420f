#include "kernels/grid_smooth.h"

#include <math.h>

#include "dsmooth.h"
#include "kernels/noise.h"

void ds__grid_offset_weights(int32_t family, double sigma, double h, int64_t n, double *w) {
  /* For m >= 1 both ends lie right of 0: use 1 - F(r) = F(-r) so tiny tail masses keep
   * their relative precision instead of cancelling against 1. */
  w[0] = 1.0 - 2.0 * ds__noise_cdf(family, sigma, -0.5 * h);
  for (int64_t m = 1; m < n; m++) {
    double lo = ds__noise_cdf(family, sigma, -(m - 0.5) * h);
    double hi = ds__noise_cdf(family, sigma, -(m + 0.5) * h);
    w[m] = lo - hi;
  }
}

/* Nonzero extent of w: offsets beyond it contribute exactly nothing. */
static int64_t weight_extent(const double *w, int64_t n) {
  int64_t e = n;
  while (e > 1 && w[e - 1] == 0.0) e--;
  return e;
}

typedef struct conv_job {
  const double *in;
  double *out;
  const double *w;
  int64_t nx, ny, extent;
} conv_job;

static void along_x_rows(void *p, int32_t t, int32_t threads) {
  const conv_job *job = p;
  int64_t j0, j1;
  ds__split_range(job->ny, t, threads, &j0, &j1);
  for (int64_t j = j0; j < j1; j++) {
    const double *row = job->in + j * job->nx;
    double *dst = job->out + j * job->nx;
    for (int64_t i = 0; i < job->nx; i++) {
      int64_t lo = i - job->extent + 1 < 0 ? 0 : i - job->extent + 1;
      int64_t hi = i + job->extent > job->nx ? job->nx : i + job->extent;
      double acc = 0.0;
      for (int64_t k = lo; k < hi; k++) acc += job->w[k > i ? k - i : i - k] * row[k];
      dst[i] = acc;
    }
  }
}

static void along_y_rows(void *p, int32_t t, int32_t threads) {
  const conv_job *job = p;
  int64_t j0, j1;
  ds__split_range(job->ny, t, threads, &j0, &j1);
  for (int64_t j = j0; j < j1; j++) {
    double *dst = job->out + j * job->nx;
    for (int64_t i = 0; i < job->nx; i++) dst[i] = 0.0;
    int64_t lo = j - job->extent + 1 < 0 ? 0 : j - job->extent + 1;
    int64_t hi = j + job->extent > job->ny ? job->ny : j + job->extent;
    for (int64_t k = lo; k < hi; k++) {
      double wk = job->w[k > j ? k - j : j - k];
      const double *src = job->in + k * job->nx;
      for (int64_t i = 0; i < job->nx; i++) dst[i] += wk * src[i];
    }
  }
}

void ds__grid_convolve_along_x(ds__pool *pool, const double *in, int64_t nx, int64_t ny,
                               const double *w, double *out) {
  conv_job job = {in, out, w, nx, ny, weight_extent(w, nx)};
  ds__pool_run(pool, along_x_rows, &job);
}

void ds__grid_convolve_along_y(ds__pool *pool, const double *in, int64_t nx, int64_t ny,
                               const double *w, double *out) {
  conv_job job = {in, out, w, nx, ny, weight_extent(w, ny)};
  ds__pool_run(pool, along_y_rows, &job);
}
