/* The model handle and its batched evaluation: forward, heads, backward, in row blocks
 * over the context's pool. The network is behind the architecture table (model/arch.h);
 * the heads, score and sampling live here once for every architecture. The trainer,
 * denoisers and two-stage code build on this. */
#ifndef DS_MODEL_MODEL_H
#define DS_MODEL_MODEL_H

#include <stdint.h>

#include "core/context.h"
#include "kernels/logistic_mixture.h"
#include "model/arch.h"
#include "model/config.h"
#include "model/head.h"

struct ds__ws_cache;

struct ds_model {
  ds_context *ctx;
  ds_model_config cfg;
  const ds__arch *arch;
  void *arch_state;      /* the architecture's own state (MADE: its layout; the image
                            architectures: the layer table), owned by arch->setup/teardown */
  const ds__head *head;  /* the distribution of each head group (model/head.h) */
  int64_t param_count;
  int64_t groups;        /* head groups per example (see model/arch.h) */
  int32_t group_dims;    /* head->group_dims */
  int32_t group_params;  /* head->group_params(K) */
  ds__bins bins;         /* the configuration's bins */
  const ds__bins *head_bins; /* what the head gets: &bins if discretized, else NULL */
  uint64_t seed;   /* init, sampling and dropout seed: DS_MODEL_SEED or derived per model
                      from the context (core/seed.h) at create/load */
  float *params;   /* (param_count) */
  float *mask;     /* (param_count), 1 = free weight */
  int32_t fresh_init;    /* 1: weights are ds_model_create's; a trainer may data-initialise */
  int32_t smooth_family; /* smoothing the model was trained on (stage 1), -1 = none known */
  double smooth_sigma;
  struct ds__ws_cache *ws_cache; /* evaluation workspaces and packed weights kept between
                                    calls (model.c) */
  uint64_t weights_version; /* changes whenever params do: ds__model_weights_changed */
};

/* Activations for up to `capacity` rows. */
typedef struct ds__model_ws {
  int64_t capacity;
  void *arch_ws;         /* the architecture's activations (arch->ws_init/ws_free) */
  const float *head;     /* (capacity, head_stride) head parameters of the last forward */
  float *dhead;          /* (capacity, head_stride) their gradient for the backward */
  int64_t head_stride;   /* groups * group_params */
  float *dx;       /* (capacity, D) network part of the exact score */
  int32_t backprop; /* 0: forward only (no gradient buffers; log-prob, sampling) */
} ds__model_ws;

/* DS__MAX_PARAMS and every other size limit: model/limits.h (via model/config.h). */

/* Allocate a model for cfg with zero weights. stored_count >= 0 (loading a checkpoint):
 * BAD_FORMAT unless the configuration needs exactly that many weights, checked before the
 * weights are allocated. */
ds_status ds__model_alloc(ds_context *ctx, const ds_model_config *cfg, int64_t stored_count,
                          ds_model **out);
void ds__model_free(ds_model *m);
ds_status ds__model_ws_init(const ds_model *m, int64_t capacity, ds__model_ws *ws);
void ds__model_ws_free(const ds_model *m, ds__model_ws *ws);

/* Workspaces kept by the model between evaluation calls, so a steady-state log-prob, score
 * or naive sampling call allocates and clears nothing. A model is shared read-only by any
 * number of threads: each call checks a workspace out (under the cache's lock) and uses it
 * alone until it checks it back in. A cached workspace of at least `capacity` rows (with
 * gradient buffers if `backprop`) is reused; otherwise one is made (a cached one that is
 * too small is replaced); when every slot is checked out, a temporary one is made and
 * freed on check-in. Errors: DS_ERR_OUT_OF_MEMORY (nothing is checked out). */
ds_status ds__model_ws_checkout(const ds_model *m, int64_t capacity, int32_t backprop,
                                ds__model_ws **out);
void ds__model_ws_checkin(const ds_model *m, ds__model_ws *ws);

/* Weights packed once per model for inference (an architecture's GEMM layout), rebuilt
 * when the weights change.
 * Every writer of m->params calls ds__model_weights_changed(m) after writing and before
 * the model is evaluated again: set_params/set_weights, copy_weights, the trainer's update,
 * resume and EMA copy, data initialisation, load.
 * Readers: ds__model_packed_reserve (once per workspace; allocates the buffer the first
 * time, through the context's allocator, freed with the model) and ds__model_packed (at
 * the start of a forward pass). A model is shared read-only by any number of threads and
 * is written only while no call reads it (the public contract), so all concurrent readers
 * want the same version: the first to find the buffer stale packs it under the cache's
 * lock (pack may use the context's pool; it must not be called from inside a pool job)
 * while the others wait; after that they read it without locking (an acquire load of the
 * packed version). Errors (reserve): DS_ERR_OUT_OF_MEMORY; DS_ERR_INTERNAL if the size
 * differs from the first reservation's. */
void ds__model_weights_changed(ds_model *m);
ds_status ds__model_packed_reserve(const ds_model *m, size_t floats);
typedef void (*ds__model_pack_fn)(const ds_model *m, float *packed);
const float *ds__model_packed(const ds_model *m, ds__model_pack_fn pack);

/* What one evaluation pass computes for rows [0, rows) of x (rows, D), c (rows, C):
 *   log_prob (rows)                        always
 *   param_grad_scale != 0: dz of every layer for loss = param_grad_scale * sum(-log p);
 *                          follow with ds__model_param_grads
 *   score != NULL:         grad_x log p (rows, D), exact or local (score_kind) */
typedef struct ds__eval_request {
  const float *x, *c;
  int64_t rows;
  double *log_prob;
  float param_grad_scale;
  float *score;
  int32_t score_kind;
} ds__eval_request;

void ds__model_eval(const ds_model *m, ds__model_ws *ws, const ds__eval_request *req);
/* The same for a training step: dropout (if the architecture has it) is on, its masks
 * drawn from key `seed` (the trainer's seed, not the model's: a trainer resumed into
 * another model instance draws the same masks) at `stream` (the trainer's step). */
void ds__model_eval_train(const ds_model *m, ds__model_ws *ws, const ds__eval_request *req,
                          uint64_t seed, uint64_t stream);
/* The same for a part of the step's batch: row 0 of req is row first_row of the batch, so
 * a batch evaluated in several parts draws the dropout masks of one whole pass. */
void ds__model_eval_train_part(const ds_model *m, ds__model_ws *ws, const ds__eval_request *req,
                               uint64_t seed, uint64_t stream, int64_t first_row);
/* grad (param_count) of the loss requested by the last eval with param_grad_scale. */
void ds__model_param_grads(const ds_model *m, ds__model_ws *ws, int64_t rows, float *grad);

/* Head parameters of rows [0, rows) (see model/arch.h) after a plain forward pass; the
 * pointer is into ws and valid until the next pass. For tests and tools. */
const float *ds__model_forward_heads(const ds_model *m, ds__model_ws *ws, const float *x,
                                     const float *c, int64_t rows);

/* Ancestral sample of rows [0, rows) of x (rows, D), one head group at a time: example
 * `first + i` uses uniforms addressed by (seed, stream, (example * groups + group) * n + k),
 * n the uniforms one group needs, so results do not depend on blocking or threads. */
void ds__model_sample_rows(const ds_model *m, ds__model_ws *ws, const float *c, int64_t rows,
                           int64_t first, uint64_t stream, int32_t method, int32_t greedy_mean,
                           float *x);

/* Draw group `group` of rows [0, rows) of x (rows, D) from head parameters given per row
 * at head + r * head_stride (group_params floats), exactly as ds__model_sample_rows does
 * (same uniforms, same arithmetic); runs on the calling thread. For architectures with
 * their own sampling loop (model/graph_sample.c). */
void ds__model_sample_group(const ds_model *m, const float *head, int64_t head_stride,
                            int64_t rows, int64_t first, int64_t group, uint64_t stream,
                            int32_t method, int32_t greedy_mean, float *x);

/* Rows evaluated per pass: bounds the activation memory of one call. */
#define DS__EVAL_BLOCK 1024

/* Rows per pass for this model (arch->block_rows: at most DS__EVAL_BLOCK). */
int64_t ds__model_block_rows(const ds_model *m);

/* Whole arrays in blocks (inputs already checked). log_prob (n) and/or score (n, D) may
 * be NULL; written only on success (NUMERIC if a result is not finite). `fn` names the
 * public function in error details. */
ds_status ds__model_evaluate(const ds_model *m, const char *fn, const float *x,
                             const float *cond, int64_t n, float *score, int32_t kind,
                             double *log_prob);
/* Ancestral samples x (n, D); method is a DS__MIX_SAMPLE_* value, optionally with
 * DS__SAMPLE_NAIVE (one network pass per dimension even where the architecture has a
 * cached sampler; the same bits, for tests and benchmarks); greedy_mean takes each
 * conditional's mean instead of a draw. */
#define DS__SAMPLE_NAIVE 0x100
ds_status ds__model_sample(const ds_model *m, const char *fn, const float *cond, int64_t n,
                           uint64_t stream, int32_t method, int32_t greedy_mean, float *x);

/* Replace every weight with params (param_count), e.g. from a reference implementation.
 * DS_ERR_INVALID_ARGUMENT if a value is not finite or breaks the mask. */
ds_status ds__model_set_params(ds_model *m, const float *params, int64_t count);
/* Index of the first weight of params (param_count) that is not finite or is non-zero where
 * the mask forbids it; -1 if every weight is valid. */
int64_t ds__model_first_bad_weight(const ds_model *m, const float *params);

/* Data-dependent initialisation from a batch of targets x (rows, D) and conditions c
 * (rows, C) or NULL. The architecture's part first (arch->data_init: image networks
 * normalise every layer on the batch, MADE scales its output weights). Then the output heads:
 * every dimension's (or channel's) mixture means go to the quantiles (k + 1/2)/K of its
 * values and the log-scales to a spread that makes the mixture's variance the data's; the
 * weights stay uniform. Deterministic (a sort per dimension on the calling thread). */
void ds__model_data_init(ds_model *m, const float *x, const float *c, int64_t rows);

/* Free (unmasked) weights. */
int64_t ds__model_free_param_count(const ds_model *m);

#endif
