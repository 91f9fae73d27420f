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
  float *conv_ws;         /* threads slots of conv_per_thread floats */
  int64_t conv_per_thread;
  const float *packed;    /* every CONV op's weights in the GEMM's layout: the model's
                             packed cache (model.h), set at the start of each forward */
  int64_t *packed_off;    /* (op_count) offset in packed, -1 for other ops */
  uint8_t *dropped;       /* (tensor_count) a DROPOUT op changes the tensor in place */
  int32_t train;          /* the last forward was a training pass */
  uint64_t train_seed, train_stream;
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
      need = ds__conv2d_workspace(&s, 1);
    } else if (ds__op_kind_of(o)->role == DS__ROLE_DECONV) {
      ds__deconv2d_shape s = deconv_shape(p, o, capacity);
      need = ds__deconv2d_workspace(&s, 1);
    }
    if (need > conv_floats) conv_floats = need;
  }
  const size_t conv_per_thread = conv_floats;
  conv_floats *= (size_t)(threads > 0 ? threads : 1);
  size_t packed_floats = 1;
  for (int32_t i = 0; i < p->op_count; i++)
    if (ds__op_kind_of(&p->ops[i])->role == DS__ROLE_CONV) {
      ds__conv2d_shape s = conv_shape(p, &p->ops[i], 1);
      packed_floats += (size_t)ds__conv2d_packed_weights(&s);
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
    w->conv_per_thread = (int64_t)conv_per_thread;
    w->val = ds__calloc(m->ctx, (size_t)act, sizeof(float));
    w->head = ds__calloc(m->ctx, (size_t)head, sizeof(float));
    w->conv_ws = ds__calloc(m->ctx, conv_floats, sizeof(float));
    w->packed_off = ds__calloc(m->ctx, (size_t)p->op_count + 1, sizeof(int64_t));
    w->dropped = ds__calloc(m->ctx, (size_t)p->tensor_count + 1, 1);
    if (ws->backprop) { /* a forward-only workspace keeps nothing for a backward pass */
      w->grad = ds__calloc(m->ctx, (size_t)act, sizeof(float));
      w->dhead = ds__calloc(m->ctx, (size_t)head, sizeof(float));
    }
  }
  ws->arch_ws = w;
  if (!w || !w->val || !w->head || !w->conv_ws || !w->packed_off || !w->dropped ||
      (ws->backprop && (!w->grad || !w->dhead))) {
    ds__pcnn_ws_free(m, ws);
    return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY,
                    "ds_model: out of memory for the activations of %lld images",
                    (long long)capacity);
  }
  for (int32_t i = 0; i < p->op_count; i++)
    if (ds__op_kind_of(&p->ops[i])->role == DS__ROLE_DROPOUT) w->dropped[p->ops[i].out] = 1;
  int64_t off = 0;
  for (int32_t i = 0; i < p->op_count; i++) {
    w->packed_off[i] = -1;
    if (ds__op_kind_of(&p->ops[i])->role != DS__ROLE_CONV) continue;
    ds__conv2d_shape s = conv_shape(p, &p->ops[i], 1);
    w->packed_off[i] = off;
    off += ds__conv2d_packed_weights(&s);
  }
  ws->head = w->head;
  ws->dhead = w->dhead;
  ws->head_stride = m->groups * p->head_channels;
  ds_status st = ds__model_packed_reserve(m, packed_floats);
  if (st != DS_OK) ds__pcnn_ws_free(m, ws);
  return st;
}

void ds__pcnn_ws_free(const ds_model *m, ds__model_ws *ws) {
  pcnn_ws *w = ws->arch_ws;
  if (!w) return;
  ds__free(m->ctx, w->val);
  ds__free(m->ctx, w->grad);
  ds__free(m->ctx, w->head);
  ds__free(m->ctx, w->dhead);
  ds__free(m->ctx, w->conv_ws);
  ds__free(m->ctx, w->packed_off);
  ds__free(m->ctx, w->dropped);
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

/* on rows [lo, lo + rows) of the workspace, x the first of them */
static void dropout(const ds_model *m, const pcnn_ws *w, const ds__graph_op *o,
                    ds__pool *pool, int64_t lo, int64_t rows, float *x) {
  const ds__graph *p = ds__pcnn_of(m);
  double keep = 1.0 - (double)p->dropout;
  dropout_job j = {rows, p->tensors[o->out].c * plane(p, o->out), w->first_row + lo, x,
                   w->train_seed,
                   DS__STREAM_DROPOUT |
                       (((w->train_stream << 12) | (uint64_t)o->dropout_id) & 0x00ffffffffffffffull),
                   (uint32_t)((double)p->dropout * 4294967296.0), (float)(1.0 / keep)};
  ds__pool_run(pool, dropout_part, &j);
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

/* Tensor t from row `lo` of the workspace. */
static float *val_at(const ds__graph *p, const pcnn_ws *w, int32_t t, int64_t lo) {
  return val(p, w, t) + lo * p->tensors[t].c * plane(p, t);
}
static float *grd_at(const ds__graph *p, const pcnn_ws *w, int32_t t, int64_t lo) {
  return grd(p, w, t) + lo * p->tensors[t].c * plane(p, t);
}

/* Op i forward on workspace rows [lo, lo + rows) (dropout only in a training pass), its
 * kernels on `pool` (inline when called from a pool job) with conv workspace conv_ws. */
static void forward_op_rows(const ds_model *m, pcnn_ws *w, int32_t i, int64_t lo, int64_t rows,
                            ds__pool *pool, float *conv_ws, int packed) {
  const ds__graph *p = ds__pcnn_of(m);
  const float *params = m->params;
  const ds__graph_op *o = &p->ops[i];
  const float *a = val_at(p, w, o->in, lo);
  float *y = val_at(p, w, o->out, lo);
  int64_t c = p->tensors[o->in].c, P = plane(p, o->in);
  const ds__op_kind *k = ds__op_kind_of(o);
  switch (k->role) {
    case DS__ROLE_CONV: {
      ds__conv2d_shape s = conv_shape(p, o, rows);
      const float *bias = o->b_offset >= 0 ? params + o->b_offset : NULL;
      if (packed)
        ds__conv2d_forward_packed(pool, &s, a, w->packed + w->packed_off[i], bias, y,
                                  o->accumulate, conv_ws);
      else
        ds__conv2d_forward(pool, &s, a, params + o->w_offset, bias, y, o->accumulate, conv_ws);
      break;
    }
    case DS__ROLE_DECONV: {
      ds__deconv2d_shape s = deconv_shape(p, o, rows);
      ds__deconv2d_forward(pool, &s, a, params + o->w_offset, params + o->b_offset, y,
                           conv_ws);
      break;
    }
    case DS__ROLE_SHIFT: {
      int32_t l = p->tensors[o->in].level;
      k->shift(pool, rows * c, p->h[l], p->w[l], a, y);
      break;
    }
    case DS__ROLE_POOL: avg_pool(p, pool, rows * c, p->tensors[o->out].level, a, y); break;
    case DS__ROLE_DROPOUT:
      if (w->train) dropout(m, w, o, pool, lo, rows, y);
      break;
    default: /* POINTWISE */
      k->forward(pool, rows, c, o->in2 >= 0 ? p->tensors[o->in2].c : 0, P, a,
                 o->in2 >= 0 ? val_at(p, w, o->in2, lo) : NULL, y);
      break;
  }
}

/* One op on the whole batch with the weights as they are now (the data-dependent
 * initialisation changes them between ops). */
static void forward_op(const ds_model *m, pcnn_ws *w, int32_t i, int64_t rows) {
  forward_op_rows(m, w, i, 0, rows, m->ctx->pool, w->conv_ws, 0);
}

/* Every CONV op's weights into the model's packed cache, ops split over the pool; runs
 * only when the weights changed since the last pack (ds__model_packed). */
typedef struct pack_job {
  const ds_model *m;
  float *packed;
} pack_job;

static void pack_part(void *arg, int32_t t, int32_t threads) {
  const pack_job *j = arg;
  const ds__graph *p = ds__pcnn_of(j->m);
  int64_t i0, i1;
  ds__split_range(p->op_count, t, threads, &i0, &i1);
  int64_t off = 0; /* the layout of ds__pcnn_ws_init's packed_off */
  for (int64_t i = 0; i < i1; i++)
    if (ds__op_kind_of(&p->ops[i])->role == DS__ROLE_CONV) {
      ds__conv2d_shape s = conv_shape(p, &p->ops[i], 1);
      if (i >= i0) ds__conv2d_pack_weights(&s, j->m->params + p->ops[i].w_offset, j->packed + off);
      off += ds__conv2d_packed_weights(&s);
    }
}

static void pack_weights(const ds_model *m, float *packed) {
  pack_job j = {m, packed};
  ds__pool_run(m->ctx->pool, pack_part, &j);
}

/* ---- images split over threads ---------------------------------------------------------
 * With at least as many images as threads, each thread takes its share of the rows and
 * runs every op on them, a few images at a time, with the kernels inline on its own conv
 * workspace slot: one pool job per pass instead of one per op, and a block's activations
 * stay in cache from one op to the next. Every kernel computes an image's elements in an
 * order fixed by the shapes alone, so the bits are those of whole-batch ops. */
enum { THREAD_BLOCK_ROWS = 2 };

typedef struct rows_job {
  const ds_model *m;
  pcnn_ws *w;
  int64_t rows;
  float *d_x; /* backward */
} rows_job;

static int split_rows(const ds_model *m, int64_t rows) {
  int32_t threads = ds__pool_threads(m->ctx->pool);
  return rows >= threads && rows > 1;
}

static void forward_rows_part(void *arg, int32_t t, int32_t threads) {
  const rows_job *j = arg;
  const ds__graph *p = ds__pcnn_of(j->m);
  int64_t r0, r1;
  ds__split_range(j->rows, t, threads, &r0, &r1);
  float *conv_ws = j->w->conv_ws + t * j->w->conv_per_thread;
  for (int64_t lo = r0; lo < r1; lo += THREAD_BLOCK_ROWS) {
    int64_t n = r1 - lo < THREAD_BLOCK_ROWS ? r1 - lo : THREAD_BLOCK_ROWS;
    for (int32_t i = 0; i < p->op_count; i++)
      forward_op_rows(j->m, j->w, i, lo, n, j->m->ctx->pool, conv_ws, 1);
  }
}

void ds__pcnn_forward(const ds_model *m, ds__model_ws *ws, const ds__arch_pass *pass,
                      int64_t r0, int64_t r1) {
  const ds__graph *p = ds__pcnn_of(m);
  pcnn_ws *w = ws->arch_ws;
  int64_t rows = r1 - r0, HW = m->groups, HW0 = p->h[0] * p->w[0];
  int64_t X0 = p->x_row0 * p->w[0];
  w->train = pass->train && p->dropout > 0.0f;
  w->train_seed = pass->train_seed;
  w->train_stream = pass->train_stream;
  w->first_row = pass->first_row;
  ds__pcnn_fill_inputs(m, w->val, w->capacity, pass->x + r0 * m->cfg.dim,
                       pass->c ? pass->c + r0 * m->cfg.cond_dim : NULL, rows);
  w->packed = ds__model_packed(m, pack_weights);
  if (split_rows(m, rows)) {
    rows_job j = {m, w, rows, NULL};
    ds__pool_run(m->ctx->pool, forward_rows_part, &j);
  } else {
    for (int32_t i = 0; i < p->op_count; i++)
      forward_op_rows(m, w, i, 0, rows, m->ctx->pool, w->conv_ws, 1);
  }
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

/* Backward through every op, in reverse, on workspace rows [lo, lo + rows); d_x (rows, D)
 * or NULL. */
static void backward_rows(const ds_model *m, pcnn_ws *w, int64_t lo, int64_t rows,
                          const float *dhead, int64_t head_stride, float *d_x, ds__pool *pool,
                          float *conv_ws) {
  const ds__graph *p = ds__pcnn_of(m);
  int64_t HW = m->groups, HW0 = p->h[0] * p->w[0], C = p->channels;
  int64_t X0 = p->x_row0 * p->w[0];
  /* every gradient is overwritten by its first writer; only unread tensors stay zero, and
     the head's top half in the stacked layout (its conditionals are not in the loss) */
  for (int32_t t = 0; t < p->tensor_count; t++)
    if ((!p->tensors[t].consumed && t != p->head) || (t == p->head && p->stacked))
      memset(grd_at(p, w, t, lo), 0,
             sizeof(float) * (size_t)(rows * p->tensors[t].c * plane(p, t)));
  to_planar(dhead + lo * head_stride, rows, HW, p->head_channels, p->head_channels, HW0, X0,
            grd_at(p, w, p->head, lo));
  const float *params = m->params;
  for (int32_t i = p->op_count - 1; i >= 0; i--) {
    const ds__graph_op *o = &p->ops[i];
    const float *a = val_at(p, w, o->in, lo);
    const float *dy = grd_at(p, w, o->out, lo);
    int want = p->tensors[o->in].needs_grad || (o->in == p->input && d_x);
    float *da = want ? grd_at(p, w, o->in, lo) : NULL;
    float *db = o->in2 >= 0 ? grd_at(p, w, o->in2, lo) : NULL;
    int acc = !o->grad_first_in, acc2 = !o->grad_first_in2;
    int64_t c = p->tensors[o->in].c, P = plane(p, o->in);
    int32_t l = p->tensors[o->in].level;
    const ds__op_kind *k = ds__op_kind_of(o);
    switch (k->role) {
      case DS__ROLE_CONV:
        if (da) {
          ds__conv2d_shape s = conv_shape(p, o, rows);
          ds__conv2d_backward(pool, &s, a, params + o->w_offset, dy, da, NULL, NULL, acc,
                              conv_ws);
        }
        break;
      case DS__ROLE_DECONV: {
        ds__deconv2d_shape s = deconv_shape(p, o, rows);
        ds__deconv2d_backward(pool, &s, a, params + o->w_offset, dy, da, NULL, NULL, acc,
                              conv_ws);
        break;
      }
      case DS__ROLE_SHIFT: k->shift_backward(pool, rows * c, p->h[l], p->w[l], dy, da, acc); break;
      case DS__ROLE_POOL:
        if (da) avg_pool_backward(p, pool, rows * c, p->tensors[o->out].level, dy, da, acc);
        break;
      case DS__ROLE_DROPOUT:
        if (w->train) dropout(m, w, o, pool, lo, rows, grd_at(p, w, o->out, lo));
        break;
      default: { /* POINTWISE; concat_elu reads its exponential from its output unless
                    dropout changed that output in place (then y NULL: recomputed) */
        const float *y = val_at(p, w, o->out, lo);
        if (o->kind == DS__OP_CELU && w->train && w->dropped[o->out]) y = NULL;
        k->backward(pool, rows, c, o->in2 >= 0 ? p->tensors[o->in2].c : 0, P, a,
                    o->in2 >= 0 ? val_at(p, w, o->in2, lo) : NULL, y, dy, da, db, acc, acc2);
        break;
      }
    }
  }
  if (d_x)
    from_planar(grd_at(p, w, p->input, lo), rows, HW, C, C + 1, HW0, X0,
                d_x + lo * m->cfg.dim);
}

typedef struct backward_job {
  rows_job r;
  const float *dhead;
  int64_t head_stride;
} backward_job;

static void backward_rows_part(void *arg, int32_t t, int32_t threads) {
  const backward_job *j = arg;
  int64_t r0, r1;
  ds__split_range(j->r.rows, t, threads, &r0, &r1);
  float *conv_ws = j->r.w->conv_ws + t * j->r.w->conv_per_thread;
  for (int64_t lo = r0; lo < r1; lo += THREAD_BLOCK_ROWS) {
    int64_t n = r1 - lo < THREAD_BLOCK_ROWS ? r1 - lo : THREAD_BLOCK_ROWS;
    backward_rows(j->r.m, j->r.w, lo, n, j->dhead, j->head_stride, j->r.d_x, j->r.m->ctx->pool,
                  conv_ws);
  }
}

void ds__pcnn_backward(const ds_model *m, ds__model_ws *ws, int64_t r0, int64_t r1,
                       float *d_x) {
  pcnn_ws *w = ws->arch_ws;
  int64_t rows = r1 - r0;
  const float *dhead = w->dhead + r0 * ws->head_stride;
  if (split_rows(m, rows)) {
    backward_job j = {{m, w, rows, d_x}, dhead, ws->head_stride};
    ds__pool_run(m->ctx->pool, backward_rows_part, &j);
  } else {
    backward_rows(m, w, 0, rows, dhead, ws->head_stride, d_x, m->ctx->pool, w->conv_ws);
  }
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
