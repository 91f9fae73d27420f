/* ds_model entry points: checks, then the batched evaluator in model/model.c. */
#include <math.h>
#include <string.h>

#include "api/check.h"
#include "model/model.h"
#include "model/model_io.h"

ds_status ds_model_create(ds_context *ctx, const ds_model_config *cfg, ds_model **out) {
  DS_CHECK_NOT_NULL(NULL, ctx);
  DS_CHECK_NOT_NULL(ctx, cfg);
  DS_CHECK_NOT_NULL(ctx, out);
  ds_model_config full = *cfg;
  ds__model_config_derive(&full);
  ds_status st = ds__model_config_validate(ctx, &full);
  if (st != DS_OK) return st;
  ds_model *m = NULL;
  st = ds__model_alloc(ctx, &full, -1, &m);
  if (st != DS_OK) return st;
  m->arch->init(m, m->seed, m->params);
  ds__model_weights_changed(m);
  m->fresh_init = 1;
  ds__context_retain(ctx);
  *out = m;
  return DS_OK;
}

void ds_model_free(ds_model *model) {
  if (!model) return;
  ds_context *ctx = model->ctx;
  ds__model_free(model);
  ds__context_release(ctx);
}
int64_t ds_model_dim(const ds_model *model) { return model ? model->cfg.dim : 0; }
int64_t ds_model_cond_dim(const ds_model *model) { return model ? model->cfg.cond_dim : 0; }
int64_t ds_model_param_count(const ds_model *model) {
  return model ? model->param_count : 0;
}
int64_t ds_model_free_param_count(const ds_model *model) {
  return model ? ds__model_free_param_count(model) : 0;
}
uint64_t ds_model_seed(const ds_model *model) { return model ? model->seed : 0; }

/* A weight array's length against the model's (ds_model_get_weights / _set_weights). */
static ds_status check_weight_count(const ds_model *model, const char *fn, int64_t count) {
  if (count == model->param_count) return DS_OK;
  return ds__fail(model->ctx, DS_ERR_SHAPE_MISMATCH,
                  "%s: count = %lld, the model has %lld weights (ds_model_param_count)", fn,
                  (long long)count, (long long)model->param_count);
}

ds_status ds_model_get_weights(const ds_model *model, float *weights, int64_t count) {
  DS_CHECK_NOT_NULL(NULL, model);
  DS_CHECK_NOT_NULL(model->ctx, weights);
  ds_status st = check_weight_count(model, __func__, count);
  if (st != DS_OK) return st;
  memcpy(weights, model->params, sizeof(float) * (size_t)count);
  return DS_OK;
}

ds_status ds_model_set_weights(ds_model *model, const float *weights, int64_t count) {
  DS_CHECK_NOT_NULL(NULL, model);
  DS_CHECK_NOT_NULL(model->ctx, weights);
  ds_status st = check_weight_count(model, __func__, count);
  if (st != DS_OK) return st;
  for (int64_t k = 0; k < count; k++) {
    if (!isfinite(weights[k]))
      return ds__fail(model->ctx, DS_ERR_NUMERIC, "%s: weights[%lld] is %s", __func__,
                      (long long)k, isnan(weights[k]) ? "NaN" : "infinite");
    if (model->mask[k] == 0.0f && weights[k] != 0.0f)
      return ds__fail(model->ctx, DS_ERR_INVALID_ARGUMENT,
                      "%s: weights[%lld] = %g is a structurally zero (masked) weight and must be "
                      "0", __func__, (long long)k, (double)weights[k]);
  }
  memcpy(model->params, weights, sizeof(float) * (size_t)count);
  ds__model_weights_changed(model);
  model->fresh_init = 0;
  return DS_OK;
}

ds_status ds_model_smoothing(const ds_model *model, int32_t *family, double *sigma) {
  DS_CHECK_NOT_NULL(NULL, model);
  DS_CHECK_NOT_NULL(model->ctx, family);
  DS_CHECK_NOT_NULL(model->ctx, sigma);
  *family = model->smooth_family;
  *sigma = model->smooth_family < 0 ? 0.0 : model->smooth_sigma;
  return DS_OK;
}

/* Shared checks of x (n, D) and cond (n, C). */
static ds_status check_inputs(const ds_model *m, const char *fn, const float *x,
                              const float *cond, int64_t n) {
  ds_context *ctx = m->ctx;
  int64_t D = m->cfg.dim, C = m->cfg.cond_dim;
  if (n < 1) return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: n = %lld must be >= 1", fn, (long long)n);
  if (n > INT64_MAX / 8 / (D + C + 1))
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: n = %lld is too large", fn, (long long)n);
  if (C > 0 && !cond)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: the model is conditional (C = %lld) but cond is NULL", fn, (long long)C);
  if (C == 0 && cond)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: the model is unconditional but cond is not NULL", fn);
  ds_status st = x ? ds__check_finite_f32(ctx, fn, "x", x, n * D, D) : DS_OK;
  if (st == DS_OK && cond) st = ds__check_finite_f32(ctx, fn, "cond", cond, n * C, C);
  return st;
}

ds_status ds_model_log_prob(const ds_model *model, const float *x, const float *cond,
                            int64_t n, double *log_prob) {
  DS_CHECK_NOT_NULL(NULL, model);
  DS_CHECK_NOT_NULL(model->ctx, x);
  DS_CHECK_NOT_NULL(model->ctx, log_prob);
  ds_status st = check_inputs(model, __func__, x, cond, n);
  if (st != DS_OK) return st;
  st = ds__model_evaluate(model, __func__, x, cond, n, NULL, 0, log_prob);
  if (st == DS_OK) st = ds__check_result_f64(model->ctx, __func__, "log_prob", log_prob, n);
  return st;
}

ds_status ds_model_score(const ds_model *model, const float *x, const float *cond, int64_t n,
                         int32_t kind, float *score, double *log_prob) {
  DS_CHECK_NOT_NULL(NULL, model);
  DS_CHECK_NOT_NULL(model->ctx, x);
  DS_CHECK_NOT_NULL(model->ctx, score);
  if (kind != DS_SCORE_EXACT && kind != DS_SCORE_LOCAL)
    return ds__fail(model->ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: kind = %d is not a ds_score_kind", __func__, (int)kind);
  if (model->cfg.head != DS_HEAD_CONTINUOUS)
    return ds__fail(model->ctx, DS_ERR_UNSUPPORTED,
                    "%s: the score needs a continuous head (this model is discretized)", __func__);
  ds_status st = check_inputs(model, __func__, x, cond, n);
  if (st != DS_OK) return st;
  st = ds__model_evaluate(model, __func__, x, cond, n, score, kind, log_prob);
  int64_t D = model->cfg.dim;
  if (st == DS_OK) st = ds__check_result_f32(model->ctx, __func__, "score", score, n * D, D);
  if (st == DS_OK && log_prob)
    st = ds__check_result_f64(model->ctx, __func__, "log_prob", log_prob, n);
  return st;
}

ds_status ds_model_sample(const ds_model *model, const float *cond, int64_t n, uint64_t stream,
                          int32_t method, float *x) {
  DS_CHECK_NOT_NULL(NULL, model);
  DS_CHECK_NOT_NULL(model->ctx, x);
  int32_t base = method & ~(int32_t)DS_SAMPLE_NAIVE;
  if (base != DS_SAMPLE_BISECTION && base != DS_SAMPLE_GUMBEL)
    return ds__fail(model->ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: method = %d is not a ds_sample_method (optionally | DS_SAMPLE_NAIVE)",
                    __func__, (int)method);
  ds_status st = check_inputs(model, __func__, NULL, cond, n);
  if (st != DS_OK) return st;
  st = ds__model_sample(model, __func__, cond, n, stream,
                        (base == DS_SAMPLE_GUMBEL ? DS__MIX_SAMPLE_GUMBEL
                                                  : DS__MIX_SAMPLE_BISECT) |
                            (method & DS_SAMPLE_NAIVE ? DS__SAMPLE_NAIVE : 0),
                        0, x);
  int64_t D = model->cfg.dim;
  if (st == DS_OK) st = ds__check_result_f32(model->ctx, __func__, "x", x, n * D, D);
  return st;
}

ds_status ds_model_save(const ds_model *model, const char *path) {
  DS_CHECK_NOT_NULL(NULL, model);
  DS_CHECK_NOT_NULL(model->ctx, path);
  ds__writer w = {model->ctx, NULL, 0, 0, 0};
  ds__model_serialize(model, &w);
  ds_status st = ds__checkpoint_write(model->ctx, __func__, path, DS__CHECKPOINT_MODEL, &w);
  ds__writer_free(&w);
  return st;
}

ds_status ds_model_load(ds_context *ctx, const char *path, ds_model **out) {
  DS_CHECK_NOT_NULL(NULL, ctx);
  DS_CHECK_NOT_NULL(ctx, path);
  DS_CHECK_NOT_NULL(ctx, out);
  uint8_t *file = NULL;
  ds__reader r;
  ds_model *m = NULL;
  ds_status st = ds__model_read_file(ctx, __func__, path, DS__CHECKPOINT_MODEL, &file, &r, &m);
  if (st != DS_OK) return st;
  if (r.pos != r.len) {
    ds__model_free(m);
    st = ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: '%s' has %zu unexpected bytes after the model",
                  __func__, path, r.len - r.pos);
  }
  ds__free(ctx, file);
  if (st == DS_OK) {
    ds__context_retain(ctx);
    *out = m;
  }
  return st;
}

ds_status ds_model_copy_weights(ds_model *dst, const ds_model *src) {
  DS_CHECK_NOT_NULL(NULL, dst);
  DS_CHECK_NOT_NULL(dst->ctx, src);
  if (dst == src) return DS_OK;
  if (!ds__model_config_equal(&dst->cfg, &src->cfg))
    return ds__fail(dst->ctx, DS_ERR_SHAPE_MISMATCH,
                    "%s: the two models have different configurations", __func__);
  memcpy(dst->params, src->params, sizeof(float) * (size_t)src->param_count);
  ds__model_weights_changed(dst);
  dst->fresh_init = 0;
  dst->smooth_family = src->smooth_family;
  dst->smooth_sigma = src->smooth_sigma;
  return DS_OK;
}
