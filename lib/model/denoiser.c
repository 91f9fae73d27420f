#include "model/denoiser.h"

#include <math.h>
#include <string.h>

#include "core/finite.h"
#include "kernels/log_sum_exp.h"
#include "kernels/noise.h"

/* The non-finite policy (dsmooth.h): a denoised value that overflowed is an error. */
static ds_status denoised_finite(const ds_denoiser *dn, const char *fn, const float *x,
                                 int64_t count, int64_t D) {
  int64_t bad = ds__first_nonfinite_f32(x, count);
  if (bad < 0) return DS_OK;
  return ds__fail(dn->ctx, DS_ERR_NUMERIC,
                  "%s: denoised x[%lld][%lld] is %g (sigma^2 times the model's score overflows "
                  "float there; the output is left unspecified)", fn, (long long)(bad / D),
                  (long long)(bad % D), (double)x[bad]);
}

ds_status ds__denoiser_apply(const ds_denoiser *dn, const char *fn, const float *x_tilde,
                             int64_t n, uint64_t stream, float *x) {
  const ds_model *m = dn->model;
  int64_t D = m->cfg.dim;
  if (dn->kind == DS__DENOISE_CONDITIONAL) {
    ds_status st = ds__model_sample(m, fn, x_tilde, n, stream, DS__MIX_SAMPLE_BISECT,
                                    dn->output == DS_CONDITIONAL_MEAN, x);
    return st == DS_OK ? denoised_finite(dn, fn, x, n * D, D) : st;
  }
  /* x^ = x~ + sigma^2 grad log p(x~) */
  float *score = ds__calloc(dn->ctx, (size_t)(n * D), sizeof *score);
  if (!score) return ds__fail(dn->ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
  ds_status st = ds__model_evaluate(m, fn, x_tilde, NULL, n, score, dn->score_kind, NULL);
  if (st == DS_OK) {
    double s2 = dn->smoother->sigma * dn->smoother->sigma;
    for (int64_t k = 0; k < n * D; k++) x[k] = (float)((double)x_tilde[k] + s2 * (double)score[k]);
    st = denoised_finite(dn, fn, x, n * D, D);
  }
  ds__free(dn->ctx, score);
  return st;
}

ds_status ds__two_stage_bound(const ds_model *stage1, const ds_model *stage2,
                              const ds_smoother *sm, const float *x, int64_t n, int32_t k,
                              uint64_t stream, double *bound) {
  const char *fn = "ds_two_stage_log_prob_bound";
  ds_context *ctx = stage1->ctx;
  int64_t D = stage1->cfg.dim;
  /* examples per block so that a block has about 4096 (example, sample) rows */
  int64_t per_block = 4096 / k > 0 ? 4096 / k : 1;
  if (per_block > n) per_block = n;
  int64_t rows = per_block * k;
  float *xr = ds__calloc(ctx, (size_t)(rows * D), sizeof(float));
  float *xt = ds__calloc(ctx, (size_t)(rows * D), sizeof(float));
  double *lp1 = ds__calloc(ctx, (size_t)rows, sizeof(double));
  double *lp2 = ds__calloc(ctx, (size_t)rows, sizeof(double));
  double *out = ds__calloc(ctx, (size_t)n, sizeof(double));
  ds_status st = DS_OK;
  if (!xr || !xt || !lp1 || !lp2 || !out)
    st = ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
  for (int64_t i0 = 0; st == DS_OK && i0 < n; i0 += per_block) {
    int64_t ne = n - i0 < per_block ? n - i0 : per_block, nr = ne * k;
    for (int64_t e = 0; e < ne; e++)
      for (int32_t s = 0; s < k; s++)
        memcpy(xr + (e * k + s) * D, x + (i0 + e) * D, sizeof(float) * (size_t)D);
    /* sample s of example i takes noise elements ((i k + s) D + d) of `stream` */
    ds__smoother_add_noise(sm, xr, nr * D, stream, i0 * k * D, xt);
    st = ds__model_evaluate(stage1, fn, xt, NULL, nr, NULL, 0, lp1);
    if (st == DS_OK) st = ds__model_evaluate(stage2, fn, xr, xt, nr, NULL, 0, lp2);
    if (st != DS_OK) break;
    for (int64_t e = 0; e < ne; e++) {
      double lw[1024];
      double *w = k <= 1024 ? lw : NULL;
      ds__lse stream_lse = {0.0, 0.0}; /* streaming for very large k */
      for (int32_t s = 0; s < k; s++) {
        int64_t r = e * k + s;
        double lq = 0.0;
        for (int64_t d = 0; d < D; d++)
          lq += ds__noise_log_density(sm->family, sm->sigma,
                                      (double)xt[r * D + d] - (double)xr[r * D + d]);
        double v = lp1[r] + lp2[r] - lq;
        if (w) w[s] = v;
        else ds__lse_add(&stream_lse, v);
      }
      out[i0 + e] = (w ? ds__log_sum_exp(w, k) : ds__lse_value(&stream_lse)) - log((double)k);
    }
  }
  for (int64_t i = 0; st == DS_OK && i < n; i++)
    if (!isfinite(out[i]))
      st = ds__fail(ctx, DS_ERR_NUMERIC,
                    "%s: the bound for example %lld is %g (a model or the noise density gives "
                    "log-probabilities that are not finite there)", fn, (long long)i, out[i]);
  if (st == DS_OK) memcpy(bound, out, sizeof(double) * (size_t)n);
  ds__free(ctx, xr); ds__free(ctx, xt); ds__free(ctx, lp1); ds__free(ctx, lp2); ds__free(ctx, out);
  return st;
}

/* The box must hold the stage-1 mass: Riemann mass of p1 on the grid at least
 * 1 - DS__GRID_MASS_TOL (a coarse grid may overshoot 1; only a shortfall is refused). */
#define DS__GRID_MASS_TOL 1e-2
/* ... and no point's integrand p1(x~) p2(x | x~) may still be large on the box's edge: on
 * the outermost ring of grid points it must stay below DS__GRID_EDGE_TOL of its maximum
 * (about 3 standard deviations out for a Gaussian bump, whatever the spacing). */
#define DS__GRID_EDGE_TOL 1e-2

static ds_status check_stage1_mass(ds_context *ctx, const char *fn, const double *lp1,
                                   int64_t G, double log_cell, double lo, double hi) {
  double mass = exp(ds__log_sum_exp(lp1, G) + log_cell);
  if (mass >= 1.0 - DS__GRID_MASS_TOL) return DS_OK;
  return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                  "%s: the box [%g, %g] holds only %.4f of stage 1's probability mass (at least "
                  "%.2f needed); widen the box", fn, lo, hi, mass, 1.0 - DS__GRID_MASS_TOL);
}

/* Point i (x, D values) inside the box, and its integrand (log values over the grid)
 * small on the boundary ring relative to its largest value. */
static ds_status check_point_covered(ds_context *ctx, const char *fn, const float *x,
                                     int64_t D, int64_t i, const double *log_integrand,
                                     int32_t points, double lo, double hi) {
  for (int64_t d = 0; d < D; d++)
    if (!((double)x[d] >= lo && (double)x[d] <= hi))
      return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                      "%s: x[%lld][%lld] = %g lies outside the box [%g, %g]; widen the box", fn,
                      (long long)i, (long long)d, (double)x[d], lo, hi);
  int64_t G = D == 1 ? points : (int64_t)points * points;
  double top = -INFINITY, edge = -INFINITY;
  for (int64_t g = 0; g < G; g++) {
    int64_t a = g % points, b = g / points;
    int on_edge = a == 0 || a == points - 1 || (D == 2 && (b == 0 || b == points - 1));
    if (log_integrand[g] > top) top = log_integrand[g];
    if (on_edge && log_integrand[g] > edge) edge = log_integrand[g];
  }
  double ratio = exp(edge - top);
  if (!(ratio <= DS__GRID_EDGE_TOL))
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: the integrand p1(x~) p2(x | x~) of example %lld is still %.2g of its "
                    "maximum on the edge of the box [%g, %g] (at most %g allowed): the box cuts "
                    "off mass around that point; widen it", fn, (long long)i, ratio, lo, hi,
                    DS__GRID_EDGE_TOL);
  return DS_OK;
}

ds_status ds__check_smoothing(const ds_model *m, const ds_smoother *sm, const char *fn,
                              const char *role) {
  if (m->smooth_family < 0) return DS_OK;
  double rel = fabs(m->smooth_sigma - sm->sigma) / m->smooth_sigma;
  if (m->smooth_family == sm->family && rel <= 1e-9) return DS_OK;
  return ds__fail(m->ctx, DS_ERR_INVALID_ARGUMENT,
                  "%s: the %s was trained on %s noise with sigma %g but the smoother is %s with "
                  "sigma %g; use the smoother it was trained with", fn, role,
                  ds__noise_name(m->smooth_family), m->smooth_sigma, ds__noise_name(sm->family),
                  sm->sigma);
}

ds_status ds__two_stage_grid(const ds_model *stage1, const ds_model *stage2, const float *x,
                             int64_t n, double lo, double hi, int32_t points, double *log_prob) {
  const char *fn = "ds_two_stage_log_prob_grid";
  ds_context *ctx = stage1->ctx;
  int64_t D = stage1->cfg.dim, G = D == 1 ? points : (int64_t)points * points;
  double h = (hi - lo) / (points - 1), log_cell = (double)D * log(h);
  float *grid = ds__calloc(ctx, (size_t)(G * D), sizeof(float));
  float *xr = ds__calloc(ctx, (size_t)(G * D), sizeof(float));
  double *lp1 = ds__calloc(ctx, (size_t)G, sizeof(double));
  double *lp2 = ds__calloc(ctx, (size_t)G, sizeof(double));
  double *out = ds__calloc(ctx, (size_t)n, sizeof(double));
  ds_status st = DS_OK;
  if (!grid || !xr || !lp1 || !lp2 || !out)
    st = ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory for %lld grid points", fn, (long long)G);
  if (st == DS_OK) {
    for (int64_t g = 0; g < G; g++) {
      grid[g * D] = (float)(lo + (double)(g % points) * h);
      if (D == 2) grid[g * D + 1] = (float)(lo + (double)(g / points) * h);
    }
    st = ds__model_evaluate(stage1, fn, grid, NULL, G, NULL, 0, lp1);
  }
  if (st == DS_OK) st = check_stage1_mass(ctx, fn, lp1, G, log_cell, lo, hi);
  /* trapezoid-free Riemann sum: the integrand vanishes at the box edges when the box
   * covers the mass, where the rule is spectrally accurate */
  for (int64_t i = 0; st == DS_OK && i < n; i++) {
    for (int64_t g = 0; g < G; g++) memcpy(xr + g * D, x + i * D, sizeof(float) * (size_t)D);
    st = ds__model_evaluate(stage2, fn, xr, grid, G, NULL, 0, lp2);
    if (st != DS_OK) break;
    for (int64_t g = 0; g < G; g++) lp2[g] += lp1[g];
    out[i] = ds__log_sum_exp(lp2, G) + log_cell;
    st = check_point_covered(ctx, fn, x + i * D, D, i, lp2, points, lo, hi);
  }
  for (int64_t i = 0; st == DS_OK && i < n; i++)
    if (!isfinite(out[i]))
      st = ds__fail(ctx, DS_ERR_NUMERIC, "%s: log p of example %lld is %g on this grid", fn,
                    (long long)i, out[i]);
  if (st == DS_OK) memcpy(log_prob, out, sizeof(double) * (size_t)n);
  ds__free(ctx, grid); ds__free(ctx, xr); ds__free(ctx, lp1); ds__free(ctx, lp2); ds__free(ctx, out);
  return st;
}

/* The denoiser's randomness must not reuse stage 1's uniforms for the same stream. */
static uint64_t denoise_stream(uint64_t stream) {
  uint64_t z = stream + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

ds_status ds__two_stage_sample(const ds_model *stage1, const ds_denoiser *dn, const char *fn,
                               int64_t n, uint64_t stream, float *x) {
  ds_context *ctx = stage1->ctx;
  int64_t D = stage1->cfg.dim;
  float *xt = ds__calloc(ctx, (size_t)(n * D), sizeof(float));
  float *tmp = ds__calloc(ctx, (size_t)(n * D), sizeof(float));
  if (!xt || !tmp) {
    ds__free(ctx, xt);
    ds__free(ctx, tmp);
    return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
  }
  ds_status st = ds__model_sample(stage1, fn, NULL, n, stream, DS__MIX_SAMPLE_BISECT, 0, xt);
  if (st == DS_OK) st = ds__denoiser_apply(dn, fn, xt, n, denoise_stream(stream), tmp);
  if (st == DS_OK) memcpy(x, tmp, sizeof(float) * (size_t)(n * D));
  ds__free(ctx, xt);
  ds__free(ctx, tmp);
  return st;
}
