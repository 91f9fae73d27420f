#include "model/denoiser.h"

#include <math.h>
#include <string.h>

#include "core/finite.h"
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

static double log_sum_exp(const double *v, int64_t count) {
  double mx = -INFINITY;
  for (int64_t i = 0; i < count; i++) mx = v[i] > mx ? v[i] : mx;
  if (!isfinite(mx)) return mx;
  double acc = 0.0;
  for (int64_t i = 0; i < count; i++) acc += exp(v[i] - mx);
  return mx + log(acc);
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
      double best = -INFINITY, acc = 0.0;
      for (int32_t s = 0; s < k; s++) {
        int64_t r = e * k + s;
        double lq = 0.0;
        for (int64_t d = 0; d < D; d++)
          lq += ds__noise_log_density(sm->family, sm->sigma,
                                      (double)xt[r * D + d] - (double)xr[r * D + d]);
        double v = lp1[r] + lp2[r] - lq;
        if (w) w[s] = v;
        else if (v == -INFINITY || isnan(v)) { /* streaming log-sum-exp for very large k */
          if (isnan(v)) best = NAN;
        } else if (best == -INFINITY || v > best) {
          acc = best == -INFINITY ? 1.0 : acc * exp(best - v) + 1.0;
          best = v;
        } else {
          acc += exp(v - best);
        }
      }
      out[i0 + e] = (w ? log_sum_exp(w, k) : best + log(acc)) - log((double)k);
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
  /* trapezoid-free Riemann sum: the integrand vanishes at the box edges when the box
   * covers the mass, where the rule is spectrally accurate */
  for (int64_t i = 0; st == DS_OK && i < n; i++) {
    for (int64_t g = 0; g < G; g++) memcpy(xr + g * D, x + i * D, sizeof(float) * (size_t)D);
    st = ds__model_evaluate(stage2, fn, xr, grid, G, NULL, 0, lp2);
    if (st != DS_OK) break;
    for (int64_t g = 0; g < G; g++) lp2[g] += lp1[g];
    out[i] = log_sum_exp(lp2, G) + log_cell;
  }
  for (int64_t i = 0; st == DS_OK && i < n; i++)
    if (!isfinite(out[i]))
      st = ds__fail(ctx, DS_ERR_NUMERIC, "%s: log p of example %lld is %g on this grid", fn,
                    (long long)i, out[i]);
  if (st == DS_OK) memcpy(log_prob, out, sizeof(double) * (size_t)n);
  ds__free(ctx, grid); ds__free(ctx, xr); ds__free(ctx, lp1); ds__free(ctx, lp2); ds__free(ctx, out);
  return st;
}
