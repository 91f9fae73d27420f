/* ds_smoother entry points: argument checks, then the algorithms in model/smoother.c and
 * model/smoother_grid.c. */
#include <math.h>
#include <stdio.h>

#include "api/check.h"
#include "model/smoother.h"

ds_status ds_smoother_create(ds_context *ctx, int32_t family, double sigma,
                             ds_smoother **out) {
  DS_CHECK_NOT_NULL(NULL, ctx);
  DS_CHECK_NOT_NULL(ctx, out);
  if (!ds__noise_name(family)) {
    char names[128] = ""; /* "0 Gaussian, 1 Laplace, 2 uniform" */
    size_t len = 0;
    for (int32_t f = 0; ds__noise_name(f) && len < sizeof names; f++)
      len += (size_t)snprintf(names + len, sizeof names - len, "%s%d %s", f ? ", " : "",
                              (int)f, ds__noise_name(f));
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: family = %d is not a ds_noise value (%s)",
                    __func__, (int)family, names);
  }
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
  return sm ? ds__smoother_entropy(sm) : NAN;
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

/* The (x~, x) pair of log_q and score, both (n, d), present and finite; the output `out`
 * (named out_name) present. */
static ds_status check_pair(const ds_smoother *sm, const char *fn, const float *x_tilde,
                            const float *x, int64_t n, int64_t d, const void *out,
                            const char *out_name) {
  const char *null = !x_tilde ? "x_tilde" : !x ? "x" : !out ? out_name : NULL;
  if (null) return ds__fail(sm->ctx, DS_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, null);
  ds_status st = ds__check_finite_f32(sm->ctx, fn, "x_tilde", x_tilde, n * d, d);
  return st == DS_OK ? ds__check_finite_f32(sm->ctx, fn, "x", x, n * d, d) : st;
}

ds_status ds_smoother_log_q(const ds_smoother *sm, const float *x_tilde, const float *x,
                            int64_t n, int64_t d, double *log_q) {
  CHECK_ARRAY_ARGS(sm, n, d);
  ds_status st = check_pair(sm, __func__, x_tilde, x, n, d, log_q, "log_q");
  return st == DS_OK ? ds__smoother_log_q(sm, __func__, x_tilde, x, n, d, log_q) : st;
}

ds_status ds_smoother_score(const ds_smoother *sm, const float *x_tilde, const float *x,
                            int64_t n, int64_t d, float *score) {
  CHECK_ARRAY_ARGS(sm, n, d);
  ds_status st = check_pair(sm, __func__, x_tilde, x, n, d, score, "score");
  return st == DS_OK ? ds__smoother_score(sm, __func__, x_tilde, x, n, d, score) : st;
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

ds_status ds_smoother_convolve_grid(const ds_smoother *sm, const double *density, int64_t nx,
                                    int64_t ny, double x0, double dx, double y0, double dy,
                                    double *smoothed) {
  DS_CHECK_NOT_NULL(NULL, sm);
  ds_status st = check_grid(sm, __func__, density, nx, ny, x0, dx, y0, dy, smoothed);
  if (st != DS_OK) return st;
  return ds__smoother_convolve_grid(sm, __func__, density, nx, ny, dx, dy, smoothed);
}

ds_status ds_smoother_grid_posterior_mean(const ds_smoother *sm, const double *density,
                                          int64_t nx, int64_t ny, double x0, double dx,
                                          double y0, double dy, double *mean) {
  DS_CHECK_NOT_NULL(NULL, sm);
  ds_status st = check_grid(sm, __func__, density, nx, ny, x0, dx, y0, dy, mean);
  if (st != DS_OK) return st;
  return ds__smoother_grid_posterior_mean(sm, __func__, density, nx, ny, x0, dx, y0, dy,
                                           mean);
}
