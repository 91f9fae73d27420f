/* The smoother on tabulated densities: exact smoothing and the posterior mean on a regular
 * grid, as separable convolutions with the noise's cell-averaged offset weights
 * (kernels/grid_smooth.h). Arguments are checked by api/smoother.c. */
#include <math.h>
#include <string.h>

#include "core/finite.h"
#include "kernels/grid_smooth.h"
#include "model/smoother.h"

/* Smooth `in` (ny, nx) into `out` with the separable kernel; tmp is (ny, nx) scratch,
 * wx (nx) and wy (ny) the offset weights. */
static void smooth_separable(const ds_smoother *sm, const double *in, int64_t nx, int64_t ny,
                             const double *wx, const double *wy, double *tmp, double *out) {
  if (ny == 1) {
    ds__grid_convolve_along_x(sm->ctx->pool, in, nx, 1, wx, out);
    return;
  }
  ds__grid_convolve_along_x(sm->ctx->pool, in, nx, ny, wx, tmp);
  ds__grid_convolve_along_y(sm->ctx->pool, tmp, nx, ny, wy, out);
}

ds_status ds__smoother_convolve_grid(const ds_smoother *sm, const char *fn,
                                     const double *density, int64_t nx, int64_t ny, double dx,
                                     double dy, double *smoothed) {
  ds_context *ctx = sm->ctx;
  size_t cells = (size_t)(nx * ny);
  double *wx = ds__calloc(ctx, (size_t)nx, sizeof *wx);
  double *wy = ds__calloc(ctx, (size_t)ny, sizeof *wy);
  double *tmp = ds__calloc(ctx, cells, sizeof *tmp);
  double *out = ds__calloc(ctx, cells, sizeof *out); /* smoothed may alias density */
  if (!wx || !wy || !tmp || !out) {
    ds__free(ctx, wx); ds__free(ctx, wy); ds__free(ctx, tmp); ds__free(ctx, out);
    return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory for a %lld x %lld grid",
                    fn, (long long)nx, (long long)ny);
  }
  ds__grid_offset_weights(sm->family, sm->sigma, dx, nx, wx);
  if (ny > 1) ds__grid_offset_weights(sm->family, sm->sigma, dy, ny, wy);
  smooth_separable(sm, density, nx, ny, wx, wy, tmp, out);
  ds_status st = ds__check_result_f64(ctx, fn, "smoothed", out, (int64_t)cells);
  if (st == DS_OK) memcpy(smoothed, out, cells * sizeof *out);
  ds__free(ctx, wx); ds__free(ctx, wy); ds__free(ctx, tmp); ds__free(ctx, out);
  return st;
}

ds_status ds__smoother_grid_posterior_mean(const ds_smoother *sm, const char *fn,
                                           const double *density, int64_t nx, int64_t ny,
                                           double x0, double dx, double y0, double dy,
                                           double *mean) {
  ds_context *ctx = sm->ctx;
  int64_t dims = ny > 1 ? 2 : 1;
  size_t cells = (size_t)(nx * ny);
  double *wx = ds__calloc(ctx, (size_t)nx, sizeof *wx);
  double *wy = ds__calloc(ctx, (size_t)ny, sizeof *wy);
  double *tmp = ds__calloc(ctx, cells, sizeof *tmp);
  double *moment = ds__calloc(ctx, cells, sizeof *moment); /* x p(x) or y p(x) */
  double *den = ds__calloc(ctx, cells, sizeof *den);        /* (p (*) k)     */
  double *num = ds__calloc(ctx, cells * (size_t)dims, sizeof *num);
  if (!wx || !wy || !tmp || !moment || !den || !num) {
    ds__free(ctx, wx); ds__free(ctx, wy); ds__free(ctx, tmp);
    ds__free(ctx, moment); ds__free(ctx, den); ds__free(ctx, num);
    return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory for a %lld x %lld grid",
                    fn, (long long)nx, (long long)ny);
  }
  ds__grid_offset_weights(sm->family, sm->sigma, dx, nx, wx);
  if (ny > 1) ds__grid_offset_weights(sm->family, sm->sigma, dy, ny, wy);
  smooth_separable(sm, density, nx, ny, wx, wy, tmp, den);
  for (int64_t c = 0; c < dims; c++) {
    for (int64_t j = 0; j < ny; j++)
      for (int64_t i = 0; i < nx; i++) {
        double coord = c == 0 ? x0 + (double)i * dx : y0 + (double)j * dy;
        moment[j * nx + i] = coord * density[j * nx + i];
      }
    smooth_separable(sm, moment, nx, ny, wx, wy, tmp, num + (size_t)c * cells);
  }
  /* NaN where the smoothed density is 0 is documented; an overflow is not */
  ds_status st = DS_OK;
  for (size_t k = 0; k < cells * (size_t)dims && st == DS_OK; k++) {
    double q = num[k] / den[k % cells];
    if (den[k % cells] > 0 && !isfinite(q))
      st = ds__fail(ctx, DS_ERR_NUMERIC, "%s: the posterior mean at grid point %zu is %g (the "
                    "density's moments overflow)", fn, k % cells, q);
  }
  for (size_t k = 0; k < cells && st == DS_OK; k++)
    for (int64_t c = 0; c < dims; c++)
      mean[k * (size_t)dims + (size_t)c] =
          den[k] > 0 ? num[(size_t)c * cells + k] / den[k] : NAN;
  ds__free(ctx, wx); ds__free(ctx, wy); ds__free(ctx, tmp);
  ds__free(ctx, moment); ds__free(ctx, den); ds__free(ctx, num);
  return st;
}
