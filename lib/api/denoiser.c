/* ds_denoiser and the two-stage entry points: argument checks in front of model/denoiser.c. */
#include <math.h>

#include "api/check.h"
#include "model/denoiser.h"

/* The one way a denoiser handle comes to life: *dn_out a zeroed denoiser of `kind` over
 * `model`, holding a reference to the model's context. */
static ds_status new_denoiser(const ds_model *model, const char *fn, int32_t kind,
                              ds_denoiser **dn_out) {
  ds_denoiser *dn = ds__calloc(model->ctx, 1, sizeof *dn);
  if (!dn) return ds__fail(model->ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
  dn->ctx = model->ctx;
  dn->kind = kind;
  dn->model = model;
  ds__context_retain(model->ctx);
  *dn_out = dn;
  return DS_OK;
}

ds_status ds_denoiser_create_gradient(const ds_model *stage1, const ds_smoother *sm,
                                      int32_t kind, ds_denoiser **out) {
  DS_CHECK_NOT_NULL(NULL, stage1);
  DS_CHECK_NOT_NULL(stage1->ctx, sm);
  DS_CHECK_NOT_NULL(stage1->ctx, out);
  ds_context *ctx = stage1->ctx;
  if (kind != DS_SCORE_EXACT && kind != DS_SCORE_LOCAL)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: kind = %d is not a ds_score_kind", __func__, (int)kind);
  if (stage1->cfg.cond_dim != 0 || stage1->cfg.head != DS_HEAD_CONTINUOUS)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: the gradient denoiser needs an unconditional model with a continuous head",
                    __func__);
  ds_status st = ds__check_smoothing(stage1, sm, __func__, "stage-1 model");
  ds_denoiser *dn = NULL;
  if (st == DS_OK) st = new_denoiser(stage1, __func__, DS__DENOISE_GRADIENT, &dn);
  if (st != DS_OK) return st;
  dn->smoother = sm;
  dn->score_kind = kind;
  *out = dn;
  return DS_OK;
}

ds_status ds_denoiser_create_conditional(const ds_model *stage2, int32_t output,
                                         ds_denoiser **out) {
  DS_CHECK_NOT_NULL(NULL, stage2);
  DS_CHECK_NOT_NULL(stage2->ctx, out);
  ds_context *ctx = stage2->ctx;
  if (output != DS_CONDITIONAL_SAMPLE && output != DS_CONDITIONAL_MEAN)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: output = %d is not a ds_conditional_output",
                    __func__, (int)output);
  if (stage2->cfg.cond_dim != stage2->cfg.dim)
    return ds__fail(ctx, DS_ERR_SHAPE_MISMATCH,
                    "%s: a conditional denoiser needs p(x | x~) with C = D (got C = %lld, D = %lld)",
                    __func__, (long long)stage2->cfg.cond_dim, (long long)stage2->cfg.dim);
  ds_denoiser *dn = NULL;
  ds_status st = new_denoiser(stage2, __func__, DS__DENOISE_CONDITIONAL, &dn);
  if (st != DS_OK) return st;
  dn->output = output;
  *out = dn;
  return DS_OK;
}

void ds_denoiser_free(ds_denoiser *dn) {
  if (!dn) return;
  ds_context *ctx = dn->ctx;
  ds__free(ctx, dn);
  ds__context_release(ctx);
}

ds_status ds_denoiser_apply(const ds_denoiser *dn, const float *x_tilde, int64_t n,
                            uint64_t stream, float *x) {
  DS_CHECK_NOT_NULL(NULL, dn);
  DS_CHECK_NOT_NULL(dn->ctx, x_tilde);
  DS_CHECK_NOT_NULL(dn->ctx, x);
  int64_t D = dn->model->cfg.dim;
  DS_CHECK_POSITIVE(dn->ctx, n);
  DS_CHECK_ELEMENTS(dn->ctx, n, D);
  DS_CHECK_FINITE_F32(dn->ctx, x_tilde, n * D, D);
  return ds__denoiser_apply(dn, __func__, x_tilde, n, stream, x);
}

static ds_status check_pair(const ds_model *stage1, const ds_model *stage2, const char *fn) {
  ds_context *ctx = stage1->ctx;
  if (stage1->cfg.cond_dim != 0 || stage1->cfg.head != DS_HEAD_CONTINUOUS)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: stage 1 must be an unconditional model with a continuous head", fn);
  if (stage2->cfg.dim != stage1->cfg.dim || stage2->cfg.cond_dim != stage1->cfg.dim)
    return ds__fail(ctx, DS_ERR_SHAPE_MISMATCH,
                    "%s: stage 2 must model p(x | x~) with D = C = %lld (got D = %lld, C = %lld)",
                    fn, (long long)stage1->cfg.dim, (long long)stage2->cfg.dim,
                    (long long)stage2->cfg.cond_dim);
  return DS_OK;
}

/* The two-stage entry points begin with the same checks written out: DS_CHECK_* name the
 * calling function and argument in the detail, which a shared helper would lose. */
ds_status ds_two_stage_log_prob_bound(const ds_model *stage1, const ds_model *stage2,
                                      const ds_smoother *sm, const float *x, int64_t n,
                                      int32_t k_samples, uint64_t stream, double *bound) {
  DS_CHECK_NOT_NULL(NULL, stage1);
  ds_context *ctx = stage1->ctx;
  DS_CHECK_NOT_NULL(ctx, stage2);
  DS_CHECK_NOT_NULL(ctx, sm);
  DS_CHECK_NOT_NULL(ctx, x);
  DS_CHECK_NOT_NULL(ctx, bound);
  ds_status st = check_pair(stage1, stage2, __func__);
  if (st != DS_OK) return st;
  int64_t D = stage1->cfg.dim;
  DS_CHECK_POSITIVE(ctx, n);
  DS_CHECK_ELEMENTS(ctx, n, D);
  if (k_samples < 1 || k_samples > 1000000)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: k_samples = %d is outside 1..1000000",
                    __func__, (int)k_samples);
  DS_CHECK_FINITE_F32(ctx, x, n * D, D);
  st = ds__check_smoothing(stage1, sm, __func__, "stage-1 model");
  if (st == DS_OK) st = ds__check_smoothing(stage2, sm, __func__, "stage-2 model");
  if (st != DS_OK) return st;
  return ds__two_stage_bound(stage1, stage2, sm, x, n, k_samples, stream, bound);
}

ds_status ds_two_stage_log_prob_grid(const ds_model *stage1, const ds_model *stage2,
                                     const float *x, int64_t n, double lo, double hi,
                                     int32_t points, double *log_prob) {
  DS_CHECK_NOT_NULL(NULL, stage1);
  ds_context *ctx = stage1->ctx;
  DS_CHECK_NOT_NULL(ctx, stage2);
  DS_CHECK_NOT_NULL(ctx, x);
  DS_CHECK_NOT_NULL(ctx, log_prob);
  ds_status st = check_pair(stage1, stage2, __func__);
  if (st != DS_OK) return st;
  int64_t D = stage1->cfg.dim;
  if (D > 2)
    return ds__fail(ctx, DS_ERR_UNSUPPORTED, "%s: quadrature needs D <= 2 (D = %lld)", __func__,
                    (long long)D);
  DS_CHECK_POSITIVE(ctx, n);
  DS_CHECK_ELEMENTS(ctx, n, D);
  if (!(isfinite(lo) && isfinite(hi) && lo < hi))
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: need finite lo < hi (got %g, %g)", __func__, lo, hi);
  if (points < 2 || points > 4096)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: points = %d is outside 2..4096", __func__, (int)points);
  DS_CHECK_FINITE_F32(ctx, x, n * D, D);
  return ds__two_stage_grid(stage1, stage2, x, n, lo, hi, points, log_prob);
}

ds_status ds_two_stage_sample(const ds_model *stage1, const ds_denoiser *dn, int64_t n,
                              uint64_t stream, float *x) {
  DS_CHECK_NOT_NULL(NULL, stage1);
  ds_context *ctx = stage1->ctx;
  DS_CHECK_NOT_NULL(ctx, dn);
  DS_CHECK_NOT_NULL(ctx, x);
  int64_t D = stage1->cfg.dim;
  DS_CHECK_POSITIVE(ctx, n);
  DS_CHECK_ELEMENTS(ctx, n, D);
  if (stage1->cfg.cond_dim != 0 || dn->model->cfg.dim != D)
    return ds__fail(ctx, DS_ERR_SHAPE_MISMATCH,
                    "%s: stage 1 must be unconditional with the denoiser's dimension", __func__);
  return ds__two_stage_sample(stage1, dn, __func__, n, stream, x);
}
