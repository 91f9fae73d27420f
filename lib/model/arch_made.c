/* MADE behind the architecture table: its layout as the model's arch_state, its activation
 * buffers as the workspace's arch_ws, row-local forward/backward over row ranges. */
#include <string.h>

#include "core/pool.h"
#include "model/arch.h"
#include "model/made.h"
#include "model/model.h"

/* Output-layer weights are scaled by this at data initialisation, so that every
 * conditional starts at the data's marginal with a small input-dependent part: on the 2-D
 * sets (rings, K = 8, 3 seeds) 1.0 left one seed in a 0.15 nats worse optimum. */
#define DS__HEAD_WEIGHT_SCALE 0.1f

static const ds__made *layout(const ds_model *m) { return m->arch_state; }

/* The workspace part: one block of floats carved into the layer buffers. */
typedef struct made_ws {
  float *storage; /* (capacity, floats_per_row) */
  ds__made_buffers buf;
} made_ws;

static int32_t made_group_dims(const ds_model_config *cfg) {
  (void)cfg;
  return 1; /* one scalar conditional per dimension */
}

static ds_status made_setup(ds_model *m) {
  ds__made *made = ds__calloc(m->ctx, 1, sizeof *made);
  if (!made) return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY, "ds_model: out of memory");
  ds__made_layout(made, &m->cfg, m->group_params);
  m->arch_state = made;
  m->param_count = made->param_count;
  m->groups = m->cfg.dim;
  return DS_OK;
}

static void made_teardown(ds_model *m) {
  ds__free(m->ctx, m->arch_state);
  m->arch_state = NULL;
}

static void made_masks(const ds_model *m, float *mask) { ds__made_masks(layout(m), mask); }

static void made_init(const ds_model *m, uint64_t seed, float *params) {
  ds__made_init(layout(m), seed, m->mask, params);
}

static ds_status made_ws_init(const ds_model *m, int64_t capacity, ds__model_ws *ws) {
  const ds__made *made = layout(m);
  int64_t floats;
  if (__builtin_mul_overflow(capacity, made->floats_per_row, &floats))
    return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY,
                    "ds_model: activations of %lld rows exceed the address space", (long long)capacity);
  made_ws *w = ds__calloc(m->ctx, 1, sizeof *w);
  float *storage = w ? ds__calloc(m->ctx, (size_t)floats, sizeof(float)) : NULL;
  if (!storage) {
    ds__free(m->ctx, w);
    return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY,
                    "ds_model: out of memory for activations of %lld rows", (long long)capacity);
  }
  w->storage = storage;
  ds__made_buffers_bind(made, capacity, storage, &w->buf);
  int32_t last = made->layer_count - 1;
  ws->arch_ws = w;
  ws->head = w->buf.z[last];
  ws->dhead = w->buf.dz[last];
  ws->head_stride = made->out_dim;
  return DS_OK;
}

static void made_ws_free(const ds_model *m, ds__model_ws *ws) {
  made_ws *w = ws->arch_ws;
  if (!w) return;
  ds__free(m->ctx, w->storage);
  ds__free(m->ctx, w);
  ws->arch_ws = NULL;
}

static ds__made_buffers *buffers(ds__model_ws *ws) { return &((made_ws *)ws->arch_ws)->buf; }

/* At most DS__EVAL_BLOCK rows and about 256 MiB of activations per pass. */
static int64_t made_block_rows(const ds_model *m) {
  int64_t per_row = layout(m)->floats_per_row;
  int64_t rows = ((int64_t)1 << 26) / (per_row > 0 ? per_row : 1);
  return rows < 1 ? 1 : rows > DS__EVAL_BLOCK ? DS__EVAL_BLOCK : rows;
}

static void made_forward(const ds_model *m, ds__model_ws *ws, const ds__arch_pass *pass,
                         int64_t r0, int64_t r1) {
  const ds__made *made = layout(m);
  const float *c = made->cond_dim ? pass->c + r0 * made->cond_dim : NULL;
  ds__made_forward_rows(made, m->params, pass->x + r0 * made->dim, c, r0, r1, buffers(ws));
}

static void made_backward(const ds_model *m, ds__model_ws *ws, int64_t r0, int64_t r1,
                          float *d_x) {
  ds__made_backward_rows(layout(m), m->params, r0, r1, buffers(ws), d_x);
}

typedef struct grad_job {
  const ds_model *m;
  ds__model_ws *ws;
  int64_t rows;
  float *grad;
} grad_job;

static void grad_part(void *p, int32_t t, int32_t threads) {
  const grad_job *job = p;
  ds__made_weight_grads(layout(job->m), job->m->mask, job->rows, buffers(job->ws), job->grad,
                        t, threads);
}

static void made_param_grads(const ds_model *m, ds__model_ws *ws, int64_t rows, float *grad) {
  grad_job job = {m, ws, rows, grad};
  ds__pool_run(m->ctx->pool, grad_part, &job);
}

/* The input-dependent part of the heads starts 10x smaller; the network is left as it is. */
static void made_data_init(ds_model *m, const float *x, const float *c, int64_t rows) {
  (void)x, (void)c, (void)rows;
  const ds__made *made = layout(m);
  const ds__made_layer *O = &made->layer[made->layer_count - 1];
  for (int64_t k = O->w_offset; k < O->b_offset; k++) m->params[k] *= DS__HEAD_WEIGHT_SCALE;
}

/* The output layer's bias: dimension d's head parameters at + d * group_params. */
static int64_t made_head_bias(const ds_model *m, int32_t *shared) {
  const ds__made *made = layout(m);
  *shared = 0;
  return made->layer[made->layer_count - 1].b_offset;
}

const ds__arch ds__arch_made = {
    .name = "MADE",
    .row_local = 1,
    .setup = made_setup,
    .teardown = made_teardown,
    .masks = made_masks,
    .init = made_init,
    .ws_init = made_ws_init,
    .ws_free = made_ws_free,
    .forward = made_forward,
    .backward = made_backward,
    .param_grads = made_param_grads,
    .sample = NULL, /* dimension by dimension in model.c: a pass costs as much as a row */
    .group_dims = made_group_dims,
    .block_rows = made_block_rows,
    .data_init = made_data_init,
    .head_bias = made_head_bias,
};
