/* The trainer: minibatch maximum likelihood with AdamW, schedules, clipping, the three
 * data modes (direct, stage 1 smoothed, stage 2 pairs) and checkpoint/resume. */
#ifndef DS_MODEL_TRAINER_H
#define DS_MODEL_TRAINER_H

#include <stdint.h>

#include "model/checkpoint.h"
#include "model/limits.h"
#include "model/model.h"
#include "model/smoother.h"

/* The options' fields; ranges, defaults and which are checkpointed: model/trainer_options.c */
struct ds_trainer_config {
  int64_t batch, total_steps;
  int32_t schedule;
  double lr, beta1, beta2, epsilon, weight_decay, lr_decay, lr_min, clip_norm;
  /* since 0.3; not part of the checkpointed configuration */
  int32_t total_steps_set; /* 1: DS_TRAIN_TOTAL_STEPS given; else the horizon is each call's end */
  int32_t data_init;       /* DS_TRAIN_DATA_INIT */
  int32_t seed_set;        /* 1: DS_TRAIN_SEED given; else derived per trainer */
  uint64_t seed;
  double ema_decay;        /* DS_TRAIN_EMA_DECAY, 0 = no averaged weights */
};

enum ds__train_mode {
  DS__TRAIN_DIRECT = 0,      /* fit p(x)                         */
  DS__TRAIN_SMOOTHED = 1,    /* stage 1: fit p(x + noise)        */
  DS__TRAIN_PAIRS = 2,       /* stage 2: fit p(x | x + noise)    */
  DS__TRAIN_CONDITIONAL = 3  /* fit p(x | c) on the caller's c   */
};

struct ds_trainer {
  ds_model *model;
  const ds_smoother *smoother;
  ds_trainer_config cfg;
  int32_t mode;
  uint64_t seed;            /* shuffling, training noise, dropout: DS_TRAIN_SEED or derived
                               per trainer from the context (core/seed.h) */
  int64_t step;             /* steps done */
  float *grad, *adam_m, *adam_v; /* (param_count) */
  double *sumsq;            /* clipping partial sums */
  ds__model_ws ws;          /* (batch) rows */
  float *batch_x, *batch_c; /* (batch, D), (batch, C) */
  double *batch_log_prob;   /* (batch) */
  int64_t *order;           /* (n) permutation of the current epoch */
  int64_t order_n, order_epoch;
  int64_t horizon;          /* the cosine schedule's horizon of the running call */
  float *ema;               /* (param_count) averaged weights, NULL without EMA */
  int32_t ema_ready;        /* ema holds an average (set at the first step) */
  ds_progress_fn progress;
  void *progress_user;
  int64_t progress_every;
  struct ds__dist *dist;    /* data-parallel training (model/trainer_dist.h) or NULL */
};

/* model/trainer_config.c: the option table's defaults, setters and getters (failures on
 * the NULL context, cfg unchanged), and the configuration record of a trainer checkpoint. */
void ds__trainer_config_defaults(ds_trainer_config *cfg);
ds_status ds__trainer_config_set_int(ds_trainer_config *cfg, int32_t option, int64_t value);
ds_status ds__trainer_config_set_float(ds_trainer_config *cfg, int32_t option, double value);
ds_status ds__trainer_config_get_int(const ds_trainer_config *cfg, int32_t option,
                                     int64_t *value);
ds_status ds__trainer_config_get_float(const ds_trainer_config *cfg, int32_t option,
                                       double *value);
void ds__trainer_config_write(ds__writer *w, const ds_trainer_config *cfg);
ds_status ds__trainer_create(ds_model *model, const ds_trainer_config *cfg,
                             const ds_smoother *sm, ds_trainer **out);
void ds__trainer_free(ds_trainer *t);
ds_status ds__trainer_train(ds_trainer *t, const float *x, const float *cond, int64_t n,
                            int64_t steps, double *loss_out);
/* The same, with every batch from `fn` instead of arrays (see ds_trainer_train_source). */
ds_status ds__trainer_train_source(ds_trainer *t, ds_batch_fn fn, void *user, int64_t steps,
                                   double *loss_out);
ds_status ds__trainer_evaluate(ds_trainer *t, const float *x, const float *cond, int64_t n,
                               uint64_t stream, double *mean_nll);
ds_status ds__trainer_save(const ds_trainer *t, const char *path);
ds_status ds__trainer_resume(ds_trainer *t, const char *path);
/* Rows [r0, r1) of step `step`'s batch into batch_x / batch_c at the same rows, with the
 * mode's noise addressed by the row's position in the whole batch. */
void ds__trainer_assemble_rows(ds_trainer *t, const float *x, const float *cond, int64_t step,
                               int64_t r0, int64_t r1);
/* The dropout stream of the trainer's current step (the same for every rank's rows). */
uint64_t ds__trainer_dropout_stream(const ds_trainer *t);
/* The learning rate of step `step` (0-based) under the schedule with the cosine horizon
 * `horizon` (steps at or past it run at lr_min). */
double ds__trainer_lr(const ds_trainer_config *cfg, int64_t horizon, int64_t step);

#endif
