/* MADE behind the architecture table: row-local forward/backward over row ranges. */
#include <string.h>

#include "core/pool.h"
#include "model/arch.h"
#include "model/model.h"

static ds_status made_setup(ds_model *m) {
  ds__made_layout(&m->made, &m->cfg);
  m->param_count = m->made.param_count;
  m->groups = m->cfg.dim;
  m->group_dims = 1;
  m->group_params = 3 * m->cfg.components;
  return DS_OK;
}

static void made_teardown(ds_model *m) { (void)m; }

static void made_masks(const ds_model *m, float *mask) { ds__made_masks(&m->made, mask); }

static void made_init(const ds_model *m, uint64_t seed, float *params) {
  ds__made_init(&m->made, seed, m->mask, params);
}

static ds_status made_ws_init(const ds_model *m, int64_t capacity, ds__model_ws *ws) {
  int64_t floats;
  if (__builtin_mul_overflow(capacity, m->made.floats_per_row, &floats))
    return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY,
                    "ds_model: activations of %lld rows exceed the address space", (long long)capacity);
  ws->storage = ds__calloc(m->ctx, (size_t)floats, sizeof(float));
  if (!ws->storage)
    return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY,
                    "ds_model: out of memory for activations of %lld rows", (long long)capacity);
  ds__made_buffers_bind(&m->made, capacity, ws->storage, &ws->buf);
  int32_t last = m->made.layer_count - 1;
  ws->head = ws->buf.z[last];
  ws->dhead = ws->buf.dz[last];
  ws->head_stride = m->made.out_dim;
  return DS_OK;
}

static void made_ws_free(const ds_model *m, ds__model_ws *ws) {
  ds__free(m->ctx, ws->storage);
  ws->storage = NULL;
}

static void made_forward(const ds_model *m, ds__model_ws *ws, const ds__arch_pass *pass,
                         int64_t r0, int64_t r1) {
  const ds__made *made = &m->made;
  const float *c = made->cond_dim ? pass->c + r0 * made->cond_dim : NULL;
  ds__made_forward_rows(made, m->params, pass->x + r0 * made->dim, c, r0, r1, &ws->buf);
}

static void made_backward(const ds_model *m, ds__model_ws *ws, int64_t r0, int64_t r1,
                          float *d_x) {
  ds__made_backward_rows(&m->made, m->params, r0, r1, &ws->buf, d_x);
}

typedef struct grad_job {
  const ds_model *m;
  ds__model_ws *ws;
  int64_t rows;
  float *grad;
} grad_job;

static void grad_part(void *p, int32_t t, int32_t threads) {
  const grad_job *job = p;
  ds__made_weight_grads(&job->m->made, job->m->mask, job->rows, &job->ws->buf, job->grad, t,
                        threads);
}

static void made_param_grads(const ds_model *m, ds__model_ws *ws, int64_t rows, float *grad) {
  grad_job job = {m, ws, rows, grad};
  ds__pool_run(m->ctx->pool, grad_part, &job);
}

const ds__arch ds__arch_made = {
    "MADE",        1,           made_setup,   made_teardown, made_masks,     made_init,
    made_ws_init,  made_ws_free, made_forward, made_backward, made_param_grads,
    NULL, /* dimension by dimension in model.c: a pass costs as much as a row */
};
