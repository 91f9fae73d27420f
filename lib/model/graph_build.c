/* Building a layer graph (model/graph.h): growable tensor and op arrays, the primitives the
 * architecture files compose, and the checks and bookkeeping once the last op is added. */
#include <math.h>
#include <string.h>

#include "core/philox.h"
#include "model/graph.h"

/* A new graph as m->arch_state and b->g, builder b on it (OUT_OF_MEMORY on m->ctx). */
static ds_status graph_new(ds_model *m, ds__graph_builder *b) {
  memset(b, 0, sizeof *b);
  /* room for 16 of each from the start, so that tensor id 0 always exists: after a failed
     allocation the primitives hand out id 0 and the build runs on harmlessly */
  ds__graph *g = ds__calloc(m->ctx, 1, sizeof *g);
  if (g) {
    m->arch_state = g;
    g->tensor_cap = g->op_cap = 16;
    g->tensors = ds__calloc(m->ctx, 16, sizeof *g->tensors);
    g->ops = ds__calloc(m->ctx, 16, sizeof *g->ops);
  }
  if (!g || !g->tensors || !g->ops)
    return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY, "ds_model: out of memory for the layer graph");
  g->input = g->head = g->cond_in = -1;
  g->cond[0] = g->cond[1] = g->cond[2] = -1;
  b->m = m;
  b->g = g;
  return DS_OK;
}

void ds__graph_set_image(ds__graph *g, const ds_model_config *cfg, int64_t height,
                         int halving) {
  g->channels = cfg->channels;
  g->filters = cfg->filters;
  g->K = cfg->components;
  g->head_channels = (cfg->channels == 3 ? 10 : 3) * g->K; /* model/arch.h's head groups */
  g->h[0] = height;
  g->w[0] = cfg->width;
  for (int l = 1; l < 3; l++) {
    g->h[l] = halving ? (g->h[l - 1] - 1) / 2 + 1 : g->h[0];
    g->w[l] = halving ? (g->w[l - 1] - 1) / 2 + 1 : g->w[0];
  }
}

/* Room for one more element of `count` in *items (capacity *cap), doubling. */
static int grow(ds__graph_builder *b, void **items, int32_t count, int32_t *cap, size_t size) {
  if (b->failed) return 0;
  if (count < *cap) return 1;
  int32_t next = *cap > INT32_MAX / 2 ? INT32_MAX : 2 * *cap;
  void *p = next > count ? ds__realloc(b->m->ctx, *items, (size_t)next * size) : NULL;
  if (!p) {
    b->failed = 1;
    return 0;
  }
  *items = p;
  *cap = next;
  return 1;
}

int32_t ds__graph_add_tensor(ds__graph_builder *b, int64_t c, int32_t level) {
  ds__graph *g = b->g;
  if (!grow(b, (void **)&g->tensors, g->tensor_count, &g->tensor_cap, sizeof *g->tensors))
    return 0; /* a valid id for the rest of a build that ds__graph_finish will fail */
  int32_t id = g->tensor_count++;
  ds__graph_tensor *t = &g->tensors[id];
  memset(t, 0, sizeof *t);
  t->c = c;
  t->level = level;
  t->needs_grad = 1;
  t->offset = g->floats_per_row;
  g->floats_per_row += c * g->h[level] * g->w[level];
  return id;
}

ds__graph_op *ds__graph_op_new(ds__graph_builder *b, int32_t kind, int32_t in, int32_t in2,
                               int32_t out) {
  ds__graph *g = b->g;
  ds__graph_op *o = &b->scratch;
  if (grow(b, (void **)&g->ops, g->op_count, &g->op_cap, sizeof *g->ops))
    o = &g->ops[g->op_count++];
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->in = in;
  o->in2 = in2;
  o->out = out;
  o->b_offset = -1;
  return o;
}

/* The channels of an op's output by its kind's rule. */
static int64_t out_channels(const ds__graph *g, const ds__graph_op *o) {
  int64_t c = g->tensors[o->in].c;
  switch (ds__op_kinds[o->kind].channels) {
    case DS__CHANNELS_SAME: return c;
    case DS__CHANNELS_DOUBLE: return 2 * c;
    case DS__CHANNELS_SUM: return c + g->tensors[o->in2].c;
    default: return o->cout;
  }
}

int32_t ds__graph_apply(ds__graph_builder *b, int32_t kind, int32_t in, int32_t in2) {
  const ds__graph *g = b->g;
  if (b->failed) return 0;
  ds__graph_op probe = {.kind = kind, .in = in, .in2 = in2};
  int32_t level = g->tensors[in].level + (ds__op_kinds[kind].role == DS__ROLE_POOL);
  int32_t out = ds__graph_add_tensor(b, out_channels(g, &probe), level);
  ds__graph_op_new(b, kind, in, in2, out);
  return out;
}

int32_t ds__graph_find(const ds__graph *g, int32_t kind, int32_t in) {
  for (int32_t i = 0; i < g->op_count; i++)
    if (g->ops[i].kind == kind && g->ops[i].in == in && g->ops[i].in2 < 0) return g->ops[i].out;
  return -1;
}

int32_t ds__graph_conv(ds__graph_builder *b, int32_t in, int32_t out, int64_t cout, int64_t kh,
                       int64_t kw, int64_t stride, const int64_t pads[4], int32_t mask,
                       int bias) {
  ds__graph *g = b->g;
  int fresh = out < 0;
  if (fresh) out = ds__graph_add_tensor(b, cout, g->tensors[in].level + (stride == 2));
  ds__graph_op *o = ds__graph_op_new(b, DS__OP_CONV, in, -1, out);
  o->accumulate = !fresh;
  o->cin = g->tensors[in].c;
  o->cout = cout;
  o->kh = kh;
  o->kw = kw;
  o->stride = stride;
  o->pad_t = pads[0];
  o->pad_b = pads[1];
  o->pad_l = pads[2];
  o->pad_r = pads[3];
  o->mask = mask;
  o->w_offset = b->params;
  b->params += cout * o->cin * kh * kw;
  if (bias) {
    o->b_offset = b->params;
    b->params += cout;
  }
  return out;
}

int32_t ds__graph_deconv(ds__graph_builder *b, int32_t in, int64_t cout, int64_t kh,
                         int64_t kw, int64_t crop_l) {
  ds__graph *g = b->g;
  int32_t out = ds__graph_add_tensor(b, cout, g->tensors[in].level - 1);
  ds__graph_op *o = ds__graph_op_new(b, DS__OP_DECONV, in, -1, out);
  o->cin = g->tensors[in].c;
  o->cout = cout;
  o->kh = kh;
  o->kw = kw;
  o->stride = 2;
  o->pad_l = crop_l;
  o->w_offset = b->params;
  b->params += o->cin * o->cout * o->kh * o->kw;
  o->b_offset = b->params;
  b->params += o->cout;
  return out;
}

/* 0 when op o fits its kind: tensor ids in range, arity, channel and level rules. */
static int op_mismatch(const ds__graph *g, const ds__graph_op *o) {
  if (o->kind < 0 || o->kind >= DS__OP_KIND_COUNT) return 1;
  const ds__op_kind *k = &ds__op_kinds[o->kind];
  int32_t n = g->tensor_count;
  if (o->in < 0 || o->in >= n || o->out < 0 || o->out >= n) return 1;
  if ((k->arity == 2) != (o->in2 >= 0 && o->in2 < n)) return 1;
  if (k->role == DS__ROLE_DROPOUT && o->in != o->out) return 1;
  const ds__graph_tensor *a = &g->tensors[o->in], *y = &g->tensors[o->out];
  if (y->c != out_channels(g, o)) return 1;
  if (k->arity == 2 && g->tensors[o->in2].level != a->level) return 1;
  if (o->kind == DS__OP_GATE || o->kind == DS__OP_TGATE)
    if (g->tensors[o->in2].c != 2 * a->c) return 1;
  if (o->kind == DS__OP_ADD && g->tensors[o->in2].c != a->c) return 1;
  switch (k->role) {
    case DS__ROLE_CONV:
      return o->cin != a->c || y->level != a->level + (o->stride == 2);
    case DS__ROLE_DECONV: return o->cin != a->c || y->level != a->level - 1 || a->level < 1;
    case DS__ROLE_POOL: return y->level != a->level + 1;
    default: return y->level != a->level;
  }
}

/* Which op writes each gradient first in the backward pass (grad_first_in /
 * grad_first_in2) and which tensors are read; written (tensor_count) is scratch. Dropout
 * ops (in place on their output gradient) are skipped. */
static void mark_gradient_writers(ds__graph *g, uint8_t *written) {
  for (int32_t i = g->op_count - 1; i >= 0; i--) {
    ds__graph_op *o = &g->ops[i];
    if (ds__op_kinds[o->kind].role == DS__ROLE_DROPOUT) continue;
    g->tensors[o->in].consumed = 1;
    o->grad_first_in = !written[o->in];
    written[o->in] = 1;
    if (o->in2 >= 0) {
      g->tensors[o->in2].consumed = 1;
      o->grad_first_in2 = !written[o->in2];
      written[o->in2] = 1;
    }
  }
}

ds_status ds__graph_finish(ds__graph_builder *b) {
  ds_model *m = b->m;
  ds__graph *g = b->g;
  uint8_t *written = b->failed ? NULL : ds__calloc(m->ctx, (size_t)g->tensor_count + 1, 1);
  if (!written)
    return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY, "ds_model: out of memory for the layer "
                    "graph (%d tensors, %d ops so far)", (int)g->tensor_count, (int)g->op_count);
  for (int32_t i = 0; i < g->op_count; i++)
    if (op_mismatch(g, &g->ops[i])) {
      ds__free(m->ctx, written);
      return ds__fail(m->ctx, DS_ERR_INTERNAL, "ds_model: %s layer graph: op %d (%s) does "
                      "not fit its kind", m->arch->name, (int)i,
                      g->ops[i].kind >= 0 && g->ops[i].kind < DS__OP_KIND_COUNT
                          ? ds__op_kinds[g->ops[i].kind].name : "?");
    }
  mark_gradient_writers(g, written);
  ds__free(m->ctx, written);
  g->param_count = b->params;
  m->param_count = b->params;
  m->groups = (g->h[0] - g->x_row0) * g->w[0]; /* x's pixels (the bottom half when stacked) */
  m->group_dims = (int32_t)g->channels;
  m->group_params = (int32_t)g->head_channels;
  return DS_OK;
}

ds_status ds__graph_setup(ds_model *m, void (*build)(ds__graph_builder *b,
                                                    const ds_model_config *cfg)) {
  ds__graph_builder b;
  ds_status st = graph_new(m, &b);
  if (st != DS_OK) return st;
  build(&b, &m->cfg);
  return ds__graph_finish(&b);
}

void ds__pcnn_teardown(ds_model *m) {
  ds__graph *g = ds__pcnn_of(m);
  if (!g) return;
  ds__pcnn_sampler_free_kept(m);
  ds__free(m->ctx, g->tensors);
  ds__free(m->ctx, g->ops);
  ds__free(m->ctx, g);
  m->arch_state = NULL;
}

void ds__pcnn_init(const ds_model *m, uint64_t seed, float *params) {
  const ds__graph *g = ds__pcnn_of(m);
  for (int32_t i = 0; i < g->op_count; i++) {
    const ds__graph_op *o = &g->ops[i];
    if (!ds__op_kinds[o->kind].weights) continue;
    double bound = 1.0 / sqrt((double)(o->cin * o->kh * o->kw));
    int64_t end = o->w_offset + o->cin * o->cout * o->kh * o->kw;
    if (o->b_offset >= 0) end = o->b_offset + o->cout;
    for (int64_t k = o->w_offset; k < end; k++) {
      double u = ds__uniform_at(seed, DS__STREAM_INIT, (uint64_t)k);
      params[k] = m->mask[k] != 0.0f ? (float)((2.0 * u - 1.0) * bound) : 0.0f;
    }
  }
}

int64_t ds__pixelcnn_block_rows(const ds__graph *p, int32_t threads) {
  int64_t rows = ((int64_t)1 << 26) / (2 * p->floats_per_row + 1);
  rows = rows < 1 ? 1 : rows > 64 ? 64 : rows;
  return rows >= threads ? rows / threads * threads : rows;
}
