/* ds_trainer and ds_trainer_config entry points. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/check.h"
#include "model/trainer.h"
#include "model/trainer_dist.h"

/* The configuration handle's entry points have the shape of ds_model_config's
 * (api/model_config.c) on purpose: one public function each, its NULL check naming it,
 * then the option table. */
ds_status ds_trainer_config_create(ds_trainer_config **out) {
  DS_CHECK_NOT_NULL(NULL, out);
  ds_trainer_config *cfg = malloc(sizeof *cfg);
  if (!cfg) return ds__fail(NULL, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", __func__);
  ds__trainer_config_defaults(cfg);
  *out = cfg;
  return DS_OK;
}

void ds_trainer_config_free(ds_trainer_config *cfg) { free(cfg); }

/* The checks and messages come from the option table (model/trainer_options.c). */
ds_status ds_trainer_config_set_int(ds_trainer_config *cfg, int32_t option, int64_t value) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  return ds__trainer_config_set_int(cfg, option, value);
}

ds_status ds_trainer_config_set_float(ds_trainer_config *cfg, int32_t option, double value) {
  DS_CHECK_NOT_NULL(NULL, cfg);
  return ds__trainer_config_set_float(cfg, option, value);
}

ds_status ds_trainer_create(ds_model *model, const ds_trainer_config *cfg,
                            const ds_smoother *smoother, ds_trainer **out) {
  DS_CHECK_NOT_NULL(NULL, model);
  DS_CHECK_NOT_NULL(model->ctx, cfg);
  DS_CHECK_NOT_NULL(model->ctx, out);
  if (smoother && smoother->ctx != model->ctx)
    return ds__fail(model->ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: the smoother belongs to another context", __func__);
  return ds__trainer_create(model, cfg, smoother, out);
}

void ds_trainer_free(ds_trainer *trainer) { ds__trainer_free(trainer); }

ds_status ds_trainer_set_progress(ds_trainer *trainer, ds_progress_fn fn, void *user,
                                  int64_t every) {
  DS_CHECK_NOT_NULL(NULL, trainer);
  if (fn && every < 1)
    return ds__fail(trainer->model->ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: every = %lld must be >= 1", __func__, (long long)every);
  trainer->progress = fn;
  trainer->progress_user = user;
  trainer->progress_every = every;
  return DS_OK;
}

static ds_status check_data(const ds_trainer *t, const char *fn, const float *x,
                            const float *cond, int64_t n) {
  ds_context *ctx = t->model->ctx;
  int64_t D = t->model->cfg.dim, C = t->model->cfg.cond_dim;
  if (!x) return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: x is NULL", fn);
  if (n < 1) return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: n = %lld must be >= 1", fn, (long long)n);
  if (n > INT64_MAX / 8 / (D + C + 1))
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: n = %lld is too large", fn, (long long)n);
  int needs_cond = t->mode == DS__TRAIN_CONDITIONAL;
  if (needs_cond && !cond)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: the model is conditional and no smoother was given, so cond is required", fn);
  if (!needs_cond && cond)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: cond must be NULL in this mode (the trainer makes its own conditions)", fn);
  ds_status st = ds__check_finite_f32(ctx, fn, "x", x, n * D, D);
  if (st == DS_OK && cond) st = ds__check_finite_f32(ctx, fn, "cond", cond, n * C, C);
  return st;
}

ds_status ds_trainer_train(ds_trainer *trainer, const float *x, const float *cond, int64_t n,
                           int64_t steps, double *loss_out) {
  DS_CHECK_NOT_NULL(NULL, trainer);
  ds_status st = check_data(trainer, __func__, x, cond, n);
  if (st == DS_OK && (steps < 0 || steps > DS__TRAINER_MAX_STEPS - trainer->step))
    st = ds__fail(trainer->model->ctx, DS_ERR_INVALID_ARGUMENT,
                  "%s: steps = %lld must be in 0..%lld (at most %lld steps in all; %lld done)",
                  __func__, (long long)steps, (long long)(DS__TRAINER_MAX_STEPS - trainer->step),
                  (long long)DS__TRAINER_MAX_STEPS, (long long)trainer->step);
  /* distributed: the other ranks are waiting in this step's exchange; stop them too */
  if (st != DS_OK) return trainer->dist ? ds__dist_fail(trainer, st, n) : st;
  return ds__trainer_train(trainer, x, cond, n, steps, loss_out);
}

int64_t ds_trainer_step(const ds_trainer *trainer) { return trainer ? trainer->step : 0; }

uint64_t ds_trainer_seed(const ds_trainer *trainer) { return trainer ? trainer->seed : 0; }

ds_status ds_trainer_train_source(ds_trainer *trainer, ds_batch_fn fn, void *user,
                                  int64_t steps, double *loss_out) {
  DS_CHECK_NOT_NULL(NULL, trainer);
  DS_CHECK_NOT_NULL(trainer->model->ctx, fn);
  if (steps < 0 || steps > DS__TRAINER_MAX_STEPS - trainer->step)
    return ds__fail(trainer->model->ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: steps = %lld must be in 0..%lld (at most %lld steps in all; %lld done)",
                    __func__, (long long)steps, (long long)(DS__TRAINER_MAX_STEPS - trainer->step),
                    (long long)DS__TRAINER_MAX_STEPS, (long long)trainer->step);
  return ds__trainer_train_source(trainer, fn, user, steps, loss_out);
}

ds_status ds_trainer_ema_to_model(const ds_trainer *trainer, ds_model *dst) {
  DS_CHECK_NOT_NULL(NULL, trainer);
  ds_context *ctx = trainer->model->ctx;
  DS_CHECK_NOT_NULL(ctx, dst);
  if (!trainer->ema)
    return ds__fail(ctx, DS_ERR_BAD_STATE,
                    "%s: the trainer keeps no averaged weights (set DS_TRAIN_EMA_DECAY > 0)",
                    __func__);
  if (!trainer->ema_ready)
    return ds__fail(ctx, DS_ERR_BAD_STATE, "%s: no step has been taken since the average began",
                    __func__);
  if (!ds__model_config_equal(&dst->cfg, &trainer->model->cfg))
    return ds__fail(ctx, DS_ERR_SHAPE_MISMATCH,
                    "%s: dst has another configuration than the trained model", __func__);
  memcpy(dst->params, trainer->ema, sizeof(float) * (size_t)dst->param_count);
  ds__model_weights_changed(dst);
  dst->fresh_init = 0;
  dst->smooth_family = trainer->model->smooth_family;
  dst->smooth_sigma = trainer->model->smooth_sigma;
  return DS_OK;
}

ds_status ds_trainer_evaluate(ds_trainer *trainer, const float *x, const float *cond, int64_t n,
                              uint64_t stream, double *mean_nll) {
  DS_CHECK_NOT_NULL(NULL, trainer);
  DS_CHECK_NOT_NULL(trainer->model->ctx, mean_nll);
  ds_status st = check_data(trainer, __func__, x, cond, n);
  if (st != DS_OK) return st;
  return ds__trainer_evaluate(trainer, x, cond, n, stream, mean_nll);
}

ds_status ds_trainer_save(const ds_trainer *trainer, const char *path) {
  DS_CHECK_NOT_NULL(NULL, trainer);
  DS_CHECK_NOT_NULL(trainer->model->ctx, path);
  return ds__trainer_save(trainer, path);
}

ds_status ds_trainer_resume(ds_trainer *trainer, const char *path) {
  DS_CHECK_NOT_NULL(NULL, trainer);
  DS_CHECK_NOT_NULL(trainer->model->ctx, path);
  return ds__trainer_resume(trainer, path);
}
