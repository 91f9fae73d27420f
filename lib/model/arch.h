/* The per-architecture interface behind ds_model. model.c owns everything that does not
 * depend on the network: the heads loop (one logistic-mixture conditional per head group),
 * the score, sampling, blocking over rows; an architecture supplies the network.
 *
 * Head layout. A forward pass leaves the head parameters of row r at
 *   ws->head + r * ws->head_stride,  `groups` consecutive blocks of `group_params` floats;
 * block g is the conditional of dimensions [g * group_dims, (g + 1) * group_dims):
 *   group_dims 1: a scalar mixture of 3K params (MADE; grayscale PixelCNN++),
 *   group_dims 3: PixelCNN++'s joint RGB mixture of 10K params (one group per pixel).
 * The backward pass starts from ws->dhead (same layout): the gradient of the objective with
 * respect to those head parameters, written by model.c.
 *
 * Two execution styles:
 *   row_local = 1: forward/backward touch only rows [r0, r1) and are called from inside a
 *                  pool job, one row range per thread (MADE).
 *   row_local = 0: forward/backward are called once from the caller's thread with
 *                  [0, rows) and run their kernels on the pool themselves (PixelCNN++,
 *                  PixelCNN).
 * Either way every result is bitwise identical for any thread count. */
#ifndef DS_MODEL_ARCH_H
#define DS_MODEL_ARCH_H

#include <stdint.h>

#include "dsmooth.h"

struct ds__model_ws;

/* What a forward pass is for. */
typedef struct ds__arch_pass {
  const float *x;     /* (rows, D) at row 0 of the pass */
  const float *c;     /* (rows, C) or NULL */
  int32_t train;      /* 1: training step (dropout active) */
  uint64_t train_stream; /* addresses the dropout masks of this step */
  int64_t first_row;  /* row 0 of the pass is row first_row of the step's batch (dropout) */
} ds__arch_pass;

typedef struct ds__arch {
  const char *name;
  int32_t row_local;
  /* Fill m->param_count, m->groups/group_dims/group_params and any per-model state; on
   * failure report on m->ctx. Called once the config is validated. */
  ds_status (*setup)(ds_model *m);
  void (*teardown)(ds_model *m);
  /* mask (param_count): 1 where a weight is free, 0 where it is structurally zero. */
  void (*masks)(const ds_model *m, float *mask);
  /* Fresh weights from (seed, DS__STREAM_INIT, index). */
  void (*init)(const ds_model *m, uint64_t seed, float *params);
  /* Activation memory for `capacity` rows; must set ws->head, ws->dhead, ws->head_stride. */
  ds_status (*ws_init)(const ds_model *m, int64_t capacity, struct ds__model_ws *ws);
  void (*ws_free)(const ds_model *m, struct ds__model_ws *ws);
  void (*forward)(const ds_model *m, struct ds__model_ws *ws, const ds__arch_pass *pass,
                  int64_t r0, int64_t r1);
  /* From ws->dhead: every activation gradient needed by param_grads and, if d_x is not
   * NULL, d_x (rows, D) at row r0 = gradient with respect to x. */
  void (*backward)(const ds_model *m, struct ds__model_ws *ws, int64_t r0, int64_t r1,
                   float *d_x);
  /* grad (param_count), overwritten: parameter gradient of the last backward over rows
   * [0, rows). Called from the caller's thread. */
  void (*param_grads)(const ds_model *m, struct ds__model_ws *ws, int64_t rows, float *grad);
  /* Optional: the architecture's own ancestral sampler, bitwise equal to model.c's naive
   * loop (ds__model_sample_rows) for the same arguments; x (n, D), example i addressed as
   * first + i. NULL: the naive loop. */
  ds_status (*sample)(const ds_model *m, const float *c, int64_t n, int64_t first,
                      uint64_t stream, int32_t method, int32_t greedy_mean, float *x);
} ds__arch;

extern const ds__arch ds__arch_made;
extern const ds__arch ds__arch_pixelcnnpp;
extern const ds__arch ds__arch_pixelcnn_masked; /* DS_ARCH_PIXELCNN */

/* The table for cfg->arch (NULL if unknown). */
const ds__arch *ds__arch_for(int32_t arch);

#endif
