/* The per-architecture interface behind ds_model: the only place that knows which networks
 * exist (registry: model/arch.c). model.c owns everything that does not depend on the
 * network: the heads loop (one conditional per head group, model/head.h), the score,
 * sampling, blocking over rows; an architecture supplies the network, its state
 * (m->arch_state, owned by setup/teardown), its workspace part (ws->arch_ws, owned by
 * ws_init/ws_free). Its options, their ranges and their place in the checkpoint's
 * configuration record are rows of the option table (model/model_options.c).
 *
 * Head layout. A forward pass leaves the head parameters of row r at
 *   ws->head + r * ws->head_stride,  `groups` consecutive blocks of `group_params` floats;
 * block g is the conditional of dimensions [g * group_dims, (g + 1) * group_dims), its
 * distribution the model's head (m->head, chosen from the configuration and group_dims
 * before setup; group_params = m->head->group_params(K)).
 * The backward pass starts from ws->dhead (same layout): the gradient of the objective with
 * respect to those head parameters, written by model.c.
 *
 * Two execution styles:
 *   row_local = 1: forward/backward touch only rows [r0, r1) and are called from inside a
 *                  pool job, one row range per thread (MADE).
 *   row_local = 0: forward/backward are called once from the caller's thread with
 *                  [0, rows) and run their kernels on the pool themselves (PixelCNN++,
 *                  PixelCNN).
 * Either way every result is bitwise identical for any thread count.
 *
 * Tables are written with designated initialisers (.forward = ...); every member is
 * required unless marked optional. */
#ifndef DS_MODEL_ARCH_H
#define DS_MODEL_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "dsmooth.h"

struct ds__model_ws;
struct ds_model_config;

/* What a forward pass is for. */
typedef struct ds__arch_pass {
  const float *x;     /* (rows, D) at row 0 of the pass */
  const float *c;     /* (rows, C) or NULL */
  int32_t train;      /* 1: training step (dropout active) */
  uint64_t train_seed;   /* key of the dropout masks: the trainer's seed (saved with it, so
                            a resumed run draws the same masks in any model instance) */
  uint64_t train_stream; /* addresses the dropout masks of this step */
  int64_t first_row;  /* row 0 of the pass is row first_row of the step's batch (dropout) */
} ds__arch_pass;

/* Members up to `sample` keep their order (positional tables elsewhere rely on it); new
 * members go at the end. */
typedef struct ds__arch {
  const char *name;
  int32_t row_local;
  /* Fill m->param_count, m->groups and m->arch_state; on failure report on m->ctx
   * (teardown is still called). m->head, m->group_dims and m->group_params are set
   * already (from group_dims below and the configuration); setup may only confirm them.
   * Called once the config is validated. */
  ds_status (*setup)(ds_model *m);
  /* Free m->arch_state (also after a failed setup; NULL is fine). */
  void (*teardown)(ds_model *m);
  /* mask (param_count): 1 where a weight is free, 0 where it is structurally zero. */
  void (*masks)(const ds_model *m, float *mask);
  /* Fresh weights from (seed, DS__STREAM_INIT, index). */
  void (*init)(const ds_model *m, uint64_t seed, float *params);
  /* Activation memory for `capacity` rows in ws->arch_ws; must set ws->head, ws->dhead,
   * ws->head_stride. On failure leaves nothing allocated. */
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
  /* Dimensions per head group for cfg (1: scalar conditionals; an image's channels);
   * with cfg->head it selects the model's head (model/head.h) before setup. */
  int32_t (*group_dims)(const struct ds_model_config *cfg);
  /* Rows per evaluation pass: bounds the activation memory of one call. */
  int64_t (*block_rows)(const ds_model *m);
  /* Data-dependent initialisation (model/model_init.c), the network's part, run before
   * the head biases are set from the batch x (rows, D), c (rows, C) or NULL.
   * Deterministic; without memory it may leave the weights as they are. */
  void (*data_init)(ds_model *m, const float *x, const float *c, int64_t rows);
  /* Offset in m->params of group 0's head bias (group_params floats), -1 if none; group
   * g's is at + g * group_params unless *shared is set to 1 (one bias for every group, as
   * a convolution's). */
  int64_t (*head_bias)(const ds_model *m, int32_t *shared);
} ds__arch;

extern const ds__arch ds__arch_made;
extern const ds__arch ds__arch_pixelcnnpp;
extern const ds__arch ds__arch_pixelcnn_masked; /* DS_ARCH_PIXELCNN */

/* The table for a ds_arch value (NULL if unknown): model/arch.c, one line per
 * architecture. */
const ds__arch *ds__arch_for(int32_t arch);

/* Hooks shared by the image architectures on the layer executor (model/arch_image.c),
 * appended to their tables as  DS__IMAGE_ARCH_HOOKS  after .sample. */
int32_t ds__image_group_dims(const struct ds_model_config *cfg);
int64_t ds__image_block_rows(const ds_model *m);
void ds__image_data_init(ds_model *m, const float *x, const float *c, int64_t rows);
int64_t ds__image_head_bias(const ds_model *m, int32_t *shared);
#define DS__IMAGE_ARCH_HOOKS                                                              \
  .group_dims = ds__image_group_dims, .block_rows = ds__image_block_rows,                  \
  .data_init = ds__image_data_init, .head_bias = ds__image_head_bias

#endif
