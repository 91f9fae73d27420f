/* The layer graph's executor (model/graph.h): forward, backward and parameter gradients of
 * any graph an architecture file builds, on planar (rows, c, H_l, W_l) activations, every op
 * a kernel call on the context's pool. POINTWISE and SHIFT kinds run from their entry in
 * ds__op_kinds; the other roles have their code here. */
#include <math.h>
#include <string.h>

#include "core/philox.h"
#include "core/pool.h"
#include "kernels/conv2d.h"
#include "kernels/conv_transpose.h"
#include "model/model.h"
#include "model/graph.h"

typedef struct pcnn_ws {
  int64_t capacity;
  float *val;     /* (capacity * floats_per_row) activations */
  float *grad;    /* same layout: their gradients */
  float *head;    /* (capacity, H*W, P) head parameters, pixel-major */
  float *dhead;
  float *conv_ws;
  int32_t train;          /* the last forward was a training pass */
  uint64_t train_stream;
  int64_t first_row;      /* of the last forward: row 0 is this row of the step's batch */
} pcnn_ws;

static ds__conv2d_shape conv_shape(const ds__graph *p, const ds__graph_op *o, int64_t rows) {
  int32_t l = p->tensors[o->in].level;
  ds__conv2d_shape s = {rows, o->cin, p->h[l], p->w[l], o->cout, o->kh, o->kw, o->stride,
                        o->pad_t, o->pad_b, o->pad_l, o->pad_r};
  return s;
}

/* The output of level l - 1 is cropped to that level's size (odd sizes drop a row/col). */
static ds__deconv2d_shape deconv_shape(const ds__graph *p, const ds__graph_op *o,
                                       int64_t rows) {
  int32_t l = p->tensors[o->in].level;
  ds__deconv2d_shape s = {rows, o->cin, p->h[l], p->w[l], o->cout, o->kh, o->kw, 2,
                          0, o->pad_l, p->h[l - 1], p->w[l - 1]};
  return s;
}

ds_status ds__pcnn_ws_init(const ds_model *m, int64_t capacity, ds__model_ws *ws) {
  const ds__graph *p = ds__pcnn_of(m);
  int32_t threads = ds__pool_threads(m->ctx->pool);
  size_t conv_floats = 1;
  for (int32_t i = 0; i < p->op_count; i++) {
    const ds__graph_op *o = &p->ops[i];
    size_t need = 0;
    if (ds__op_kind_of(o)->role == DS__ROLE_CONV) {
      ds__conv2d_shape s = conv_shape(p, o, capacity);
      need = ds__conv2d_workspace(&s, threads);
    } else if (ds__op_kind_of(o)->role == DS__ROLE_DECONV) {
      ds__deconv2d_shape s = deconv_shape(p, o, capacity);
      need = ds__deconv2d_workspace(&s, threads);
    }
    if (need > conv_floats) conv_floats = need;
  }
  int64_t head, act;
  if (__builtin_mul_overflow(capacity, m->groups * p->head_channels, &head) ||
      __builtin_mul_overflow(capacity, p->floats_per_row, &act))
    return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY,
                    "ds_model: activations of %lld images exceed the address space",
                    (long long)capacity);
  pcnn_ws *w = ds__calloc(m->ctx, 1, sizeof *w);
  if (w) {
    w->capacity = capacity;
    w->val = ds__calloc(m->ctx, (size_t)act, sizeof(float));
    w->head = ds__calloc(m->ctx, (size_t)head, sizeof(float));
    w->conv_ws = ds__calloc(m->ctx, conv_floats, sizeof(float));
    if (ws->backprop) { /* a forward-only workspace keeps nothing for a backward pass */
      w->grad = ds__calloc(m->ctx, (size_t)act, sizeof(float));
      w->dhead = ds__calloc(m->ctx, (size_t)head, sizeof(float));
    }
  }
  ws->arch_ws = w;
  if (!w || !w->val || !w->head || !w->conv_ws || (ws->backprop && (!w->grad || !w->dhead))) {
    ds__pcnn_ws_free(m, ws);
    return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY,
                    "ds_model: out of memory for the activations of %lld images",
                    (long long)capacity);
  }
  ws->head = w->head;
  ws->dhead = w->dhead;
  ws->head_stride = m->groups * p->head_channels;
  return DS_OK;
}

void ds__pcnn_ws_free(const ds_model *m, ds__model_ws *ws) {
  pcnn_ws *w = ws->arch_ws;
  if (!w) return;
  ds__free(m->ctx, w->val);
  ds__free(m->ctx, w->grad);
  ds__free(m->ctx, w->head);
  ds__free(m->ctx, w->dhead);
  ds__free(m->ctx, w->conv_ws);
  ds__free(m->ctx, w);
  ws->arch_ws = NULL;
}

static float *val(const ds__graph *p, const pcnn_ws *w, int32_t t) {
  return w->val + w->capacity * p->tensors[t].offset;
}
static float *grd(const ds__graph *p, const pcnn_ws *w, int32_t t) {
  return w->grad + w->capacity * p->tensors[t].offset;
}
static int64_t plane(const ds__graph *p, int32_t t) {
  int32_t l = p->tensors[t].level;
  return p->h[l] * p->w[l];
}

/* ---- ops without an entry in the kind table's kernels --------------------------- */

typedef struct dropout_job {
  int64_t rows, per_row, first_row;
  float *x;
  uint64_t seed, stream;
  uint32_t threshold; /* drop when the 32-bit draw is below */
  float scale;
} dropout_job;

/* x *= keep / (1 - p) with keep from (seed, stream, (first_row + row) * per_row + i): the
 * same mask for the forward value and its gradient, and for a row whichever pass holds it. */
static void dropout_part(void *arg, int32_t t, int32_t threads) {
  const dropout_job *j = arg;
  int64_t r0, r1;
  ds__split_range(j->rows, t, threads, &r0, &r1);
  for (int64_t r = r0; r < r1; r++)
    for (int64_t i = 0; i < j->per_row; i++) {
      uint64_t index = (uint64_t)((j->first_row + r) * j->per_row + i);
      ds__philox_block blk = ds__philox_at(j->seed, j->stream, index >> 2);
      float *v = j->x + r * j->per_row + i;
      *v = blk.v[index & 3u] < j->threshold ? 0.0f : *v * j->scale;
    }
}

static void dropout(const ds_model *m, const pcnn_ws *w, const ds__graph_op *o, int64_t rows,
                    float *x) {
  const ds__graph *p = ds__pcnn_of(m);
  double keep = 1.0 - (double)p->dropout;
  dropout_job j = {rows, p->tensors[o->out].c * plane(p, o->out), w->first_row, x, m->seed,
                   DS__STREAM_DROPOUT |
                       (((w->train_stream << 12) | (uint64_t)o->dropout_id) & 0x00ffffffffffffffull),
                   (uint32_t)((double)p->dropout * 4294967296.0), (float)(1.0 / keep)};
  ds__pool_run(m->ctx->pool, dropout_part, &j);
}

typedef struct pool_job {
  const ds__graph *p;
  int64_t planes;
  int32_t level; /* of the pooled side */
  const float *src;
  float *dst;
  int32_t accumulate; /* backward only */
} pool_job;

/* dst (planes, H_l, W_l) = 2x2 average of src (planes, H_{l-1}, W_{l-1}), edge blocks over
 * the pixels they have. */
static void avg_pool_part(void *arg, int32_t t, int32_t threads) {
  const pool_job *j = arg;
  int64_t q0, q1, H = j->p->h[j->level - 1], W = j->p->w[j->level - 1];
  int64_t h = j->p->h[j->level], w = j->p->w[j->level];
  ds__split_range(j->planes, t, threads, &q0, &q1);
  for (int64_t q = q0; q < q1; q++)
    for (int64_t i = 0; i < h; i++)
      for (int64_t k = 0; k < w; k++)
        j->dst[(q * h + i) * w + k] = ds__graph_avg2x2(j->src + q * H * W, H, W, 1, i, k);
}

/* Backward: dst (planes, H_{l-1}, W_{l-1}) (+)= src[block] / (pixels in the block), src the
 * gradient at level l (blocks do not overlap: each pixel has exactly one). */
static void avg_pool_backward_part(void *arg, int32_t t, int32_t threads) {
  const pool_job *j = arg;
  int64_t q0, q1, H = j->p->h[j->level - 1], W = j->p->w[j->level - 1];
  int64_t h = j->p->h[j->level], w = j->p->w[j->level];
  ds__split_range(j->planes, t, threads, &q0, &q1);
  for (int64_t q = q0; q < q1; q++)
    for (int64_t y = 0; y < H; y++)
      for (int64_t x = 0; x < W; x++) {
        int64_t i = y / 2, k = x / 2;
        int n = (2 * i + 1 < H ? 2 : 1) * (2 * k + 1 < W ? 2 : 1);
        float g = j->src[(q * h + i) * w + k] / (float)n;
        float *d = &j->dst[(q * H + y) * W + x];
        *d = j->accumulate ? *d + g : g;
      }
}

static void avg_pool(const ds__graph *p, ds__pool *pool, int64_t planes, int32_t level,
                     const float *x, float *y) {
  pool_job j = {p, planes, level, x, y, 0};
  ds__pool_run(pool, avg_pool_part, &j);
}

static void avg_pool_backward(const ds__graph *p, ds__pool *pool, int64_t planes,
                              int32_t level, const float *dy, float *dx, int accumulate) {
  pool_job j = {p, planes, level, dy, dx, accumulate};
  ds__pool_run(pool, avg_pool_backward_part, &j);
}

/* (rows, pixels, c) pixel-major <-> (rows, plane_c, plane) planar: pixel q of the
 * pixel-major side is pixel `first + q` of channels 0..c-1 of the planar side (first > 0:
 * the bottom half of a stacked image). */
static void to_planar(const float *src, int64_t rows, int64_t pixels, int64_t c,
                      int64_t plane_c, int64_t plane, int64_t first, float *dst) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t q = 0; q < pixels; q++)
      for (int64_t k = 0; k < c; k++)
        dst[(r * plane_c + k) * plane + first + q] = src[(r * pixels + q) * c + k];
}

static void from_planar(const float *src, int64_t rows, int64_t pixels, int64_t c,
                        int64_t plane_c, int64_t plane, int64_t first, float *dst) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t k = 0; k < c; k++)
      for (int64_t q = 0; q < pixels; q++)
        dst[(r * pixels + q) * c + k] = src[(r * plane_c + k) * plane + first + q];
}

/* ---- forward ---------------------------------------------------------------------- */

void ds__pcnn_fill_inputs(const ds_model *m, float *vals, int64_t capacity, const float *x,
                          const float *c, int64_t rows) {
  const ds__graph *p = ds__pcnn_of(m);
  /* HW pixels of x; the network's level-0 plane has HW0 (2 HW stacked), x from pixel X0 */
  int64_t HW = m->groups, HW0 = p->h[0] * p->w[0], C = p->channels;
  int64_t X0 = p->x_row0 * p->w[0];
  /* in = [x, 1] (rows, C + 1, H, W), stacked: [[x~; x], 1] (rows, C + 1, 2H, W) */
  float *in = vals + capacity * p->tensors[p->input].offset;
  to_planar(x, rows, HW, C, C + 1, HW0, X0, in);
  if (p->stacked) to_planar(c, rows, HW, C, C + 1, HW0, 0, in);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t k = 0; k < HW0; k++) in[(r * (C + 1) + C) * HW0 + k] = 1.0f;
  if (p->cond_in >= 0) /* cond_in = x~ (rows, C, H, W) */
    to_planar(c, rows, HW, C, C, HW, 0, vals + capacity * p->tensors[p->cond_in].offset);
}

/* Op i of the table forward on rows [0, rows) of w's activations (dropout only in a
 * training pass). */
static void forward_op(const ds_model *m, pcnn_ws *w, int32_t i, int64_t rows) {
  const ds__graph *p = ds__pcnn_of(m);
  ds__pool *pool = m->ctx->pool;
  const float *params = m->params;
  const ds__graph_op *o = &p->ops[i];
  const float *a = val(p, w, o->in);
  float *y = val(p, w, o->out);
  int64_t c = p->tensors[o->in].c, P = plane(p, o->in);
  const ds__op_kind *k = ds__op_kind_of(o);
  switch (k->role) {
    case DS__ROLE_CONV: {
      ds__conv2d_shape s = conv_shape(p, o, rows);
      ds__conv2d_forward(pool, &s, a, params + o->w_offset,
                         o->b_offset >= 0 ? params + o->b_offset : NULL, y, o->accumulate,
                         w->conv_ws);
      break;
    }
    case DS__ROLE_DECONV: {
      ds__deconv2d_shape s = deconv_shape(p, o, rows);
      ds__deconv2d_forward(pool, &s, a, params + o->w_offset, params + o->b_offset, y,
                           w->conv_ws);
      break;
    }
    case DS__ROLE_SHIFT: {
      int32_t l = p->tensors[o->in].level;
      k->shift(pool, rows * c, p->h[l], p->w[l], a, y);
      break;
    }
    case DS__ROLE_POOL: avg_pool(p, pool, rows * c, p->tensors[o->out].level, a, y); break;
    case DS__ROLE_DROPOUT:
      if (w->train) dropout(m, w, o, rows, y);
      break;
    default: /* POINTWISE */
      k->forward(pool, rows, c, o->in2 >= 0 ? p->tensors[o->in2].c : 0, P, a,
                 o->in2 >= 0 ? val(p, w, o->in2) : NULL, y);
      break;
  }
}

void ds__pcnn_forward(const ds_model *m, ds__model_ws *ws, const ds__arch_pass *pass,
                      int64_t r0, int64_t r1) {
  const ds__graph *p = ds__pcnn_of(m);
  pcnn_ws *w = ws->arch_ws;
  int64_t rows = r1 - r0, HW = m->groups, HW0 = p->h[0] * p->w[0];
  int64_t X0 = p->x_row0 * p->w[0];
  w->train = pass->train && p->dropout > 0.0f;
  w->train_stream = pass->train_stream;
  w->first_row = pass->first_row;
  ds__pcnn_fill_inputs(m, w->val, w->capacity, pass->x + r0 * m->cfg.dim,
                       pass->c ? pass->c + r0 * m->cfg.cond_dim : NULL, rows);
  for (int32_t i = 0; i < p->op_count; i++) forward_op(m, w, i, rows);
  /* head (rows, H*W, P) pixel-major for the heads loop: x's pixels only */
  from_planar(val(p, w, p->head), rows, HW, p->head_channels, p->head_channels, HW0, X0,
              w->head + r0 * ws->head_stride);
  /* graph.h, "Non-finite activations": no result for a row a dead tap would corrupt */
  for (int64_t r = 0; r < rows; r++)
    if (ds__graph_dead_tap_overflow(p, w->val, w->capacity, r) >= 0)
      for (int64_t k = 0; k < ws->head_stride; k++) w->head[(r0 + r) * ws->head_stride + k] = NAN;
}

void ds__pcnn_ws_fill_inputs(const ds_model *m, ds__model_ws *ws, const float *x,
                             const float *c, int64_t rows) {
  pcnn_ws *w = ws->arch_ws;
  ds__pcnn_fill_inputs(m, w->val, w->capacity, x, c, rows);
}

void ds__pcnn_forward_op(const ds_model *m, ds__model_ws *ws, int32_t op, int64_t rows) {
  forward_op(m, ws->arch_ws, op, rows);
}

float *ds__pcnn_values(const ds_model *m, ds__model_ws *ws, int32_t tensor) {
  return val(ds__pcnn_of(m), ws->arch_ws, tensor);
}

/* ---- backward --------------------------------------------------------------------- */

void ds__pcnn_backward(const ds_model *m, ds__model_ws *ws, int64_t r0, int64_t r1,
                       float *d_x) {
  const ds__graph *p = ds__pcnn_of(m);
  pcnn_ws *w = ws->arch_ws;
  ds__pool *pool = m->ctx->pool;
  int64_t rows = r1 - r0, HW = m->groups, HW0 = p->h[0] * p->w[0], C = p->channels;
  int64_t X0 = p->x_row0 * p->w[0];
  /* every gradient is overwritten by its first writer; only unread tensors stay zero, and
     the head's top half in the stacked layout (its conditionals are not in the loss) */
  for (int32_t t = 0; t < p->tensor_count; t++)
    if ((!p->tensors[t].consumed && t != p->head) || (t == p->head && p->stacked))
      memset(grd(p, w, t), 0, sizeof(float) * (size_t)(rows * p->tensors[t].c * plane(p, t)));
  to_planar(w->dhead + r0 * ws->head_stride, rows, HW, p->head_channels, p->head_channels, HW0,
            X0, grd(p, w, p->head));
  const float *params = m->params;
  for (int32_t i = p->op_count - 1; i >= 0; i--) {
    const ds__graph_op *o = &p->ops[i];
    const float *a = val(p, w, o->in);
    const float *dy = grd(p, w, o->out);
    int want = p->tensors[o->in].needs_grad || (o->in == p->input && d_x);
    float *da = want ? grd(p, w, o->in) : NULL;
    float *db = o->in2 >= 0 ? grd(p, w, o->in2) : NULL;
    int acc = !o->grad_first_in, acc2 = !o->grad_first_in2;
    int64_t c = p->tensors[o->in].c, P = plane(p, o->in);
    int32_t l = p->tensors[o->in].level;
    const ds__op_kind *k = ds__op_kind_of(o);
    switch (k->role) {
      case DS__ROLE_CONV:
        if (da) {
          ds__conv2d_shape s = conv_shape(p, o, rows);
          ds__conv2d_backward(pool, &s, a, params + o->w_offset, dy, da, NULL, NULL, acc,
                              w->conv_ws);
        }
        break;
      case DS__ROLE_DECONV: {
        ds__deconv2d_shape s = deconv_shape(p, o, rows);
        ds__deconv2d_backward(pool, &s, a, params + o->w_offset, dy, da, NULL, NULL, acc,
                              w->conv_ws);
        break;
      }
      case DS__ROLE_SHIFT: k->shift_backward(pool, rows * c, p->h[l], p->w[l], dy, da, acc); break;
      case DS__ROLE_POOL:
        if (da) avg_pool_backward(p, pool, rows * c, p->tensors[o->out].level, dy, da, acc);
        break;
      case DS__ROLE_DROPOUT:
        if (w->train) dropout(m, w, o, rows, grd(p, w, o->out));
        break;
      default: /* POINTWISE */
        k->backward(pool, rows, c, o->in2 >= 0 ? p->tensors[o->in2].c : 0, P, a,
                    o->in2 >= 0 ? val(p, w, o->in2) : NULL, val(p, w, o->out), dy, da, db,
                    acc, acc2);
        break;
    }
  }
  if (d_x) from_planar(grd(p, w, p->input), rows, HW, C, C + 1, HW0, X0, d_x);
}

void ds__pcnn_param_grads(const ds_model *m, ds__model_ws *ws, int64_t rows, float *grad) {
  const ds__graph *p = ds__pcnn_of(m);
  pcnn_ws *w = ws->arch_ws;
  ds__pool *pool = m->ctx->pool;
  for (int32_t i = 0; i < p->op_count; i++) {
    const ds__graph_op *o = &p->ops[i];
    const float *a = val(p, w, o->in), *dy = grd(p, w, o->out);
    float *db = o->b_offset >= 0 ? grad + o->b_offset : NULL;
    if (ds__op_kind_of(o)->role == DS__ROLE_CONV) {
      ds__conv2d_shape s = conv_shape(p, o, rows);
      ds__conv2d_backward(pool, &s, a, m->params + o->w_offset, dy, NULL, grad + o->w_offset,
                          db, 0, w->conv_ws);
    } else if (ds__op_kind_of(o)->role == DS__ROLE_DECONV) {
      ds__deconv2d_shape s = deconv_shape(p, o, rows);
      ds__deconv2d_backward(pool, &s, a, m->params + o->w_offset, dy, NULL,
                            grad + o->w_offset, db, 0, w->conv_ws);
    }
  }
}
