/* ds_smoother entry points: argument checks, then the kernels. */
#include <math.h>
#include <string.h>

#include "api/check.h"
#include "kernels/grid_smooth.h"
#include "kernels/noise.h"
#include "model/smoother.h"

ds_status ds_smoother_create(ds_context *ctx, int32_t family, double sigma,
                             ds_smoother **out) {
  DS_CHECK_NOT_NULL(NULL, ctx);
  DS_CHECK_NOT_NULL(ctx, out);
  if (family != DS_NOISE_GAUSSIAN && family != DS_NOISE_LAPLACE && family != DS_NOISE_UNIFORM)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: family = %d is not a ds_noise value (0 Gaussian, 1 Laplace, 2 uniform)",
                    __func__, (int)family);
  /* sigma^2 must stay a normal double and x + noise a finite float */
  if (!(sigma >= 1e-30 && sigma <= 1e30))
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: sigma = %g must be in [1e-30, 1e30]",
                    __func__, sigma);
  ds_smoother *sm = ds__malloc(ctx, sizeof *sm);
  if (!sm) return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", __func__);
  sm->ctx = ctx;
  sm->family = family;
  sm->sigma = sigma;
  sm->seed = ctx->seed;
  ds__context_retain(ctx);
  *out = sm;
  return DS_OK;
}

void ds_smoother_free(ds_smoother *sm) {
  if (!sm) return;
  ds_context *ctx = sm->ctx;
  ds__free(ctx, sm);
  ds__context_release(ctx);
}

int32_t ds_smoother_family(const ds_smoother *sm) { return sm ? sm->family : -1; }
double ds_smoother_sigma(const ds_smoother *sm) { return sm ? sm->sigma : NAN; }
uint64_t ds_smoother_seed(const ds_smoother *sm) { return sm ? sm->seed : 0; }

double ds_smoother_entropy(const ds_smoother *sm) {
  return sm ? ds__noise_entropy(sm->family, sm->sigma) : NAN;
}

#define CHECK_ARRAY_ARGS(sm, n, d)         \
  DS_CHECK_NOT_NULL(NULL, sm);             \
  DS_CHECK_POSITIVE((sm)->ctx, n);         \
  DS_CHECK_POSITIVE((sm)->ctx, d);         \
  DS_CHECK_ELEMENTS((sm)->ctx, n, d)

ds_status ds_smoother_apply(const ds_smoother *sm, const float *x, int64_t n, int64_t d,
                            uint64_t stream, float *x_tilde) {
  CHECK_ARRAY_ARGS(sm, n, d);
  DS_CHECK_NOT_NULL(sm->ctx, x);
  DS_CHECK_NOT_NULL(sm->ctx, x_tilde);
  DS_CHECK_FINITE_F32(sm->ctx, x, n * d, d);
  ds__smoother_add_noise(sm, x, n * d, stream, 0, x_tilde);
  return ds__check_result_f32(sm->ctx, __func__, "x_tilde", x_tilde, n * d, d);
}

ds_status ds_smoother_log_q(const ds_smoother *sm, const float *x_tilde, const float *x,
                            int64_t n, int64_t d, double *log_q) {
  CHECK_ARRAY_ARGS(sm, n, d);
  DS_CHECK_NOT_NULL(sm->ctx, x_tilde);
  DS_CHECK_NOT_NULL(sm->ctx, x);
  DS_CHECK_NOT_NULL(sm->ctx, log_q);
  DS_CHECK_FINITE_F32(sm->ctx, x_tilde, n * d, d);
  DS_CHECK_FINITE_F32(sm->ctx, x, n * d, d);
  for (int64_t i = 0; i < n; i++) {
    double acc = 0.0;
    for (int64_t j = 0; j < d; j++) {
      double r = (double)x_tilde[i * d + j] - (double)x[i * d + j];
      acc += ds__noise_log_density(sm->family, sm->sigma, r);
    }
    log_q[i] = acc;
  }
  /* UNIFORM's -INFINITY outside the support is a documented value; nothing else is */
  for (int64_t i = 0; i < n; i++)
    if (isnan(log_q[i]) || (!isfinite(log_q[i]) && sm->family != DS_NOISE_UNIFORM))
      return ds__check_result_f64(sm->ctx, __func__, "log_q", log_q + i, 1);
  return DS_OK;
}

ds_status ds_smoother_score(const ds_smoother *sm, const float *x_tilde, const float *x,
                            int64_t n, int64_t d, float *score) {
  CHECK_ARRAY_ARGS(sm, n, d);
  DS_CHECK_NOT_NULL(sm->ctx, x_tilde);
  DS_CHECK_NOT_NULL(sm->ctx, x);
  DS_CHECK_NOT_NULL(sm->ctx, score);
  DS_CHECK_FINITE_F32(sm->ctx, x_tilde, n * d, d);
  DS_CHECK_FINITE_F32(sm->ctx, x, n * d, d);
  double support = ds__noise_support(sm->family, sm->sigma);
  for (int64_t k = 0; k < n * d; k++) {
    double r = (double)x_tilde[k] - (double)x[k];
    if (fabs(r) > support)
      return ds__fail(sm->ctx, DS_ERR_NUMERIC,
                      "%s: x_tilde[%lld][%lld] - x = %g lies outside the uniform noise's "
                      "support [-%g, %g], where the score does not exist",
                      __func__, (long long)(k / d), (long long)(k % d), r, support, support);
  }
  for (int64_t k = 0; k < n * d; k++)
    score[k] = (float)ds__noise_score(sm->family, sm->sigma, (double)x_tilde[k] - (double)x[k]);
  return ds__check_result_f32(sm->ctx, __func__, "score", score, n * d, d);
}

/* ---- tabulated densities ------------------------------------------------------------ */

static ds_status check_grid(const ds_smoother *sm, const char *fn, const double *density,
                            int64_t nx, int64_t ny, double x0, double dx, double y0,
                            double dy, const void *out) {
  ds_context *ctx = sm->ctx;
  if (!density || !out)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                    density ? "output" : "density");
  if (nx < 1 || ny < 1)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: grid %lld x %lld must be at least 1 x 1",
                    fn, (long long)nx, (long long)ny);
  if (nx > (int64_t)1 << 24 || ny > (int64_t)1 << 24 || nx * ny > (int64_t)1 << 30)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: grid %lld x %lld is too large", fn,
                    (long long)nx, (long long)ny);
  if (!(isfinite(x0) && isfinite(dx) && dx > 0))
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: x0 = %g, dx = %g: need finite, dx > 0",
                    fn, x0, dx);
  if (ny > 1 && !(isfinite(y0) && isfinite(dy) && dy > 0))
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: y0 = %g, dy = %g: need finite, dy > 0",
                    fn, y0, dy);
  for (int64_t k = 0; k < nx * ny; k++)
    if (!(isfinite(density[k]) && density[k] >= 0))
      return ds__fail(ctx, isfinite(density[k]) ? DS_ERR_INVALID_ARGUMENT : DS_ERR_NUMERIC,
                      "%s: density[%lld] (row %lld, column %lld) = %g must be finite and >= 0",
                      fn, (long long)k, (long long)(k / nx), (long long)(k % nx), density[k]);
  return DS_OK;
}

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

ds_status ds_smoother_convolve_grid(const ds_smoother *sm, const double *density, int64_t nx,
                                    int64_t ny, double x0, double dx, double y0, double dy,
                                    double *smoothed) {
  DS_CHECK_NOT_NULL(NULL, sm);
  ds_status st = check_grid(sm, __func__, density, nx, ny, x0, dx, y0, dy, smoothed);
  if (st != DS_OK) return st;
  ds_context *ctx = sm->ctx;
  size_t cells = (size_t)(nx * ny);
  double *wx = ds__calloc(ctx, (size_t)nx, sizeof *wx);
  double *wy = ds__calloc(ctx, (size_t)ny, sizeof *wy);
  double *tmp = ds__calloc(ctx, cells, sizeof *tmp);
  double *out = ds__calloc(ctx, cells, sizeof *out); /* smoothed may alias density */
  if (!wx || !wy || !tmp || !out) {
    ds__free(ctx, wx); ds__free(ctx, wy); ds__free(ctx, tmp); ds__free(ctx, out);
    return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory for a %lld x %lld grid",
                    __func__, (long long)nx, (long long)ny);
  }
  ds__grid_offset_weights(sm->family, sm->sigma, dx, nx, wx);
  if (ny > 1) ds__grid_offset_weights(sm->family, sm->sigma, dy, ny, wy);
  smooth_separable(sm, density, nx, ny, wx, wy, tmp, out);
  st = ds__check_result_f64(ctx, __func__, "smoothed", out, (int64_t)cells);
  if (st == DS_OK) memcpy(smoothed, out, cells * sizeof *out);
  ds__free(ctx, wx); ds__free(ctx, wy); ds__free(ctx, tmp); ds__free(ctx, out);
  return st;
}

ds_status ds_smoother_grid_posterior_mean(const ds_smoother *sm, const double *density,
                                          int64_t nx, int64_t ny, double x0, double dx,
                                          double y0, double dy, double *mean) {
  DS_CHECK_NOT_NULL(NULL, sm);
  ds_status st = check_grid(sm, __func__, density, nx, ny, x0, dx, y0, dy, mean);
  if (st != DS_OK) return st;
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
                    __func__, (long long)nx, (long long)ny);
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
  for (size_t k = 0; k < cells * (size_t)dims && st == DS_OK; k++) {
    double q = num[k] / den[k % cells];
    if (den[k % cells] > 0 && !isfinite(q))
      st = ds__fail(ctx, DS_ERR_NUMERIC, "%s: the posterior mean at grid point %zu is %g (the "
                    "density's moments overflow)", __func__, k % cells, q);
  }
  for (size_t k = 0; k < cells && st == DS_OK; k++)
    for (int64_t c = 0; c < dims; c++)
      mean[k * (size_t)dims + (size_t)c] =
          den[k] > 0 ? num[(size_t)c * cells + k] / den[k] : NAN;
  ds__free(ctx, wx); ds__free(ctx, wy); ds__free(ctx, tmp);
  ds__free(ctx, moment); ds__free(ctx, den); ds__free(ctx, num);
  return st;
}
