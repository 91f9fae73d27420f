/* PixelCNN++: the layer list and flat parameter layout (see model/pixelcnn.h), and its
 * initialisation. */
#include <math.h>
#include <string.h>

#include "core/philox.h"
#include "model/model.h"
#include "model/pixelcnn.h"

typedef struct builder {
  ds__pixelcnn *p;
  int64_t params;
  int32_t dropouts;
  int32_t *celu_of; /* (tensor_cap) id of concat_elu(tensor) once computed, else -1 */
} builder;

static int32_t tensor(builder *b, int64_t c, int32_t level) {
  ds__pixelcnn *p = b->p;
  int32_t id = p->tensor_count++;
  if (id >= p->tensor_cap) id = p->tensor_cap - 1; /* reported after the build */
  ds__pcnn_tensor *t = &p->tensors[id];
  t->c = c;
  t->level = level;
  t->needs_grad = 1;
  t->offset = p->floats_per_row;
  p->floats_per_row += c * p->h[level] * p->w[level];
  return id;
}

static ds__pcnn_op *op(builder *b, int32_t kind, int32_t in, int32_t in2, int32_t out) {
  int32_t id = b->p->op_count++;
  ds__pcnn_op *o = &b->p->ops[id < b->p->op_cap ? id : b->p->op_cap - 1];
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->in = in;
  o->in2 = in2;
  o->out = out;
  o->b_offset = -1;
  return o;
}

static int32_t unary(builder *b, int32_t kind, int32_t in, int64_t cout) {
  int32_t out = tensor(b, cout, b->p->tensors[in].level);
  op(b, kind, in, -1, out);
  return out;
}

/* Shifted convolution shapes. */
enum { K2X3 = 0, K1X3, K2X1, K2X2, K1X1, K3X3 /* unshifted, x~ only */ };

/* out (+)= conv(in); `out` < 0 makes a new tensor at the output level. */
static int32_t conv(builder *b, int32_t in, int32_t out, int64_t cout, int shape,
                    int64_t stride, int bias) {
  ds__pixelcnn *p = b->p;
  int32_t level = p->tensors[in].level + (stride == 2);
  int fresh = out < 0;
  if (fresh) out = tensor(b, cout, level);
  ds__pcnn_op *o = op(b, DS__PCNN_CONV, in, -1, out);
  o->accumulate = !fresh;
  o->cin = p->tensors[in].c;
  o->cout = cout;
  o->stride = stride;
  static const int64_t geo[6][6] = {/* kh kw pad_t pad_b pad_l pad_r */
                                    {2, 3, 1, 0, 1, 1}, {1, 3, 0, 0, 1, 1}, {2, 1, 1, 0, 0, 0},
                                    {2, 2, 1, 0, 1, 0}, {1, 1, 0, 0, 0, 0}, {3, 3, 1, 1, 1, 1}};
  o->kh = geo[shape][0];
  o->kw = geo[shape][1];
  o->pad_t = geo[shape][2];
  o->pad_b = geo[shape][3];
  o->pad_l = geo[shape][4];
  o->pad_r = geo[shape][5];
  o->w_offset = b->params;
  b->params += cout * o->cin * o->kh * o->kw;
  if (bias) {
    o->b_offset = b->params;
    b->params += cout;
  }
  return out;
}

/* Stride-2 transposed conv up one level, 2x3 (down-shifted) or 2x2 (down-right-shifted). */
static int32_t deconv(builder *b, int32_t in, int right) {
  ds__pixelcnn *p = b->p;
  int32_t out = tensor(b, p->filters, p->tensors[in].level - 1);
  ds__pcnn_op *o = op(b, DS__PCNN_DECONV, in, -1, out);
  o->cin = o->cout = p->filters;
  o->kh = 2;
  o->kw = right ? 2 : 3;
  o->stride = 2;
  o->pad_l = right ? 0 : 1; /* the crop of the output */
  o->w_offset = b->params;
  b->params += o->cin * o->cout * o->kh * o->kw;
  o->b_offset = b->params;
  b->params += o->cout;
  return out;
}

/* concat_elu(t), computed once per tensor: a stream's output feeds both the next resnet
 * of its stream and a skip of the other, and is a skip again in the down pass. */
static int32_t celu(builder *b, int32_t t) {
  if (t < b->p->tensor_cap && b->celu_of[t] >= 0) return b->celu_of[t];
  int32_t e = unary(b, DS__PCNN_CELU, t, 2 * b->p->tensors[t].c);
  if (t < b->p->tensor_cap) b->celu_of[t] = e;
  return e;
}

/* Gated resnet on x (F) with optional skip a; `shape` K2X3 (u) or K2X2 (ul). */
static int32_t gated_resnet(builder *b, int32_t x, int32_t a, int shape) {
  ds__pixelcnn *p = b->p;
  int64_t F = p->filters;
  int32_t level = p->tensors[x].level;
  int32_t e = celu(b, x);
  int32_t ea = a >= 0 ? celu(b, a) : -1;
  int32_t h = conv(b, e, -1, F, shape, 1, 1);
  if (ea >= 0) conv(b, ea, h, F, K1X1, 1, 1);
  if (p->cond[0] >= 0) conv(b, p->cond[level], h, F, K1X1, 1, 0);
  int32_t e2 = unary(b, DS__PCNN_CELU, h, 2 * F);
  if (p->dropout > 0.0f) op(b, DS__PCNN_DROPOUT, e2, -1, e2)->dropout_id = b->dropouts++;
  int32_t ab = conv(b, e2, -1, 2 * F, shape, 1, 1);
  int32_t y = tensor(b, F, level);
  op(b, DS__PCNN_GATE, x, ab, y);
  return y;
}

/* out (c, level + 1) = 2x2 average of in (c, level). */
static int32_t avg_pool(builder *b, int32_t in) {
  const ds__pcnn_tensor *t = &b->p->tensors[in];
  int32_t out = tensor(b, t->c, t->level + 1);
  op(b, DS__PCNN_AVGPOOL, in, -1, out);
  return out;
}

static int32_t concat(builder *b, int32_t x, int32_t y) {
  ds__pixelcnn *p = b->p;
  int32_t out = tensor(b, p->tensors[x].c + p->tensors[y].c, p->tensors[x].level);
  op(b, DS__PCNN_CONCAT, x, y, out);
  return out;
}

static void build(builder *b, int32_t resnets) {
  ds__pixelcnn *p = b->p;
  int64_t F = p->filters;
  p->input = tensor(b, p->channels + 1, 0);
  p->tensors[p->input].needs_grad = 0; /* switched on for the exact score */
  p->cond_in = p->cond[0] = p->cond[1] = p->cond[2] = -1;
  if (p->cond_channels > 0) {
    /* x~ (C, H, W) [-> conv3x3 -> (concat_elu -> conv3x3)* : (F, H, W)], pooled to the
       lower levels; only the convs' weights are trained through this path */
    p->cond_in = tensor(b, p->cond_channels, 0);
    p->tensors[p->cond_in].needs_grad = 0;
    int32_t h = p->cond_in;
    for (int32_t i = 0; i < p->cond_convs; i++) h = conv(b, i ? celu(b, h) : h, -1, F, K3X3, 1, 1);
    p->cond[0] = h;
    for (int32_t l = 1; l < 3; l++) {
      p->cond[l] = avg_pool(b, p->cond[l - 1]);
      p->tensors[p->cond[l]].needs_grad = p->tensors[p->cond[l - 1]].needs_grad;
    }
  }
  int32_t u = unary(b, DS__PCNN_DSHIFT, conv(b, p->input, -1, F, K2X3, 1, 1), F);
  int32_t t1 = unary(b, DS__PCNN_DSHIFT, conv(b, p->input, -1, F, K1X3, 1, 1), F);
  int32_t t2 = unary(b, DS__PCNN_RSHIFT, conv(b, p->input, -1, F, K2X1, 1, 1), F);
  int32_t ul = tensor(b, F, 0);
  op(b, DS__PCNN_ADD, t1, t2, ul);
  int32_t us[3 * 66], uls[3 * 66], n = 0;
  us[n] = u, uls[n++] = ul;
  for (int32_t level = 0; level < 3; level++) {
    for (int32_t i = 0; i < resnets; i++) {
      u = gated_resnet(b, u, -1, K2X3);
      ul = gated_resnet(b, ul, u, K2X2);
      us[n] = u, uls[n++] = ul;
    }
    if (level < 2) {
      u = conv(b, u, -1, F, K2X3, 2, 1);
      ul = conv(b, ul, -1, F, K2X2, 2, 1);
      us[n] = u, uls[n++] = ul;
    }
  }
  u = us[--n];
  ul = uls[n];
  for (int32_t i = 0; i < 3; i++) {
    int32_t count = i == 0 ? resnets : resnets + 1;
    for (int32_t k = 0; k < count; k++) {
      --n;
      u = gated_resnet(b, u, us[n], K2X3);
      ul = gated_resnet(b, ul, concat(b, u, uls[n]), K2X2);
    }
    if (i < 2) {
      u = deconv(b, u, 0);
      ul = deconv(b, ul, 1);
    }
  }
  int32_t e = unary(b, DS__PCNN_ELU, ul, F);
  p->head = conv(b, e, -1, p->head_channels, K1X1, 1, 1);
}

void ds__pcnn_mark_gradient_writers(ds__pixelcnn *p, int32_t *written) {
  for (int32_t t = 0; t < p->tensor_count; t++) written[t] = 0;
  for (int32_t i = p->op_count - 1; i >= 0; i--) {
    ds__pcnn_op *o = &p->ops[i];
    if (o->kind == DS__PCNN_DROPOUT) continue; /* in place on its output gradient */
    p->tensors[o->in].consumed = 1;
    o->grad_first_in = !written[o->in];
    written[o->in] = 1;
    if (o->in2 >= 0) {
      p->tensors[o->in2].consumed = 1;
      o->grad_first_in2 = !written[o->in2];
      written[o->in2] = 1;
    }
  }
}

static ds_status pcnn_setup(ds_model *m) {
  const ds_model_config *cfg = &m->cfg;
  ds__pixelcnn *p = ds__calloc(m->ctx, 1, sizeof *p);
  if (!p) return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY, "ds_model: out of memory");
  p->channels = cfg->channels;
  p->stacked = cfg->cond_dim > 0 && cfg->cond_layout == DS_COND_STACKED;
  p->cond_channels = cfg->cond_dim > 0 && !p->stacked ? cfg->channels : 0;
  p->cond_convs = cfg->cond_convs;
  p->filters = cfg->filters;
  p->K = cfg->components;
  p->head_channels = (cfg->channels == 3 ? 10 : 3) * p->K;
  p->dropout = cfg->dropout;
  p->h[0] = p->stacked ? 2 * cfg->height : cfg->height; /* x~ above x */
  p->x_row0 = p->stacked ? cfg->height : 0;
  p->w[0] = cfg->width;
  for (int l = 1; l < 3; l++) {
    p->h[l] = (p->h[l - 1] - 1) / 2 + 1;
    p->w[l] = (p->w[l - 1] - 1) / 2 + 1;
  }
  int32_t resnet_count = 12 * cfg->resnets + 4; /* both streams, up and down */
  p->tensor_cap = 16 + 2 * cfg->cond_convs + 12 * resnet_count;
  p->op_cap = 16 + 2 * cfg->cond_convs + 12 * resnet_count;
  p->tensors = ds__calloc(m->ctx, (size_t)p->tensor_cap, sizeof *p->tensors);
  p->ops = ds__calloc(m->ctx, (size_t)p->op_cap, sizeof *p->ops);
  m->arch_state = p;
  if (!p->tensors || !p->ops)
    return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY, "ds_model: out of memory");
  builder b = {p, 0, 0, ds__calloc(m->ctx, (size_t)p->tensor_cap, sizeof(int32_t))};
  if (!b.celu_of) return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY, "ds_model: out of memory");
  for (int32_t i = 0; i < p->tensor_cap; i++) b.celu_of[i] = -1;
  build(&b, cfg->resnets);
  if (p->tensor_count <= p->tensor_cap) ds__pcnn_mark_gradient_writers(p, b.celu_of);
  ds__free(m->ctx, b.celu_of);
  if (p->tensor_count > p->tensor_cap || p->op_count > p->op_cap) /* a bug, not a user error */
    return ds__fail(m->ctx, DS_ERR_BAD_STATE, "ds_model: PixelCNN++ layer table overflow");
  p->param_count = b.params;
  m->param_count = b.params;
  m->groups = cfg->height * cfg->width; /* x's pixels (the bottom half when stacked) */
  m->group_dims = (int32_t)p->channels;
  m->group_params = (int32_t)p->head_channels;
  return DS_OK;
}

void ds__pcnn_teardown(ds_model *m) {
  ds__pixelcnn *p = ds__pcnn_of(m);
  if (!p) return;
  ds__free(m->ctx, p->tensors);
  ds__free(m->ctx, p->ops);
  ds__free(m->ctx, p);
  m->arch_state = NULL;
}

static void pcnn_masks(const ds_model *m, float *mask) {
  for (int64_t k = 0; k < m->param_count; k++) mask[k] = 1.0f;
}

void ds__pcnn_init(const ds_model *m, uint64_t seed, float *params) {
  const ds__pixelcnn *p = ds__pcnn_of(m);
  for (int32_t i = 0; i < p->op_count; i++) {
    const ds__pcnn_op *o = &p->ops[i];
    if (o->kind != DS__PCNN_CONV && o->kind != DS__PCNN_DECONV) continue;
    double bound = 1.0 / sqrt((double)(o->cin * o->kh * o->kw));
    int64_t end = o->w_offset + o->cin * o->cout * o->kh * o->kw;
    if (o->b_offset >= 0) end = o->b_offset + o->cout;
    for (int64_t k = o->w_offset; k < end; k++) {
      double u = ds__uniform_at(seed, DS__STREAM_INIT, (uint64_t)k);
      params[k] = m->mask[k] != 0.0f ? (float)((2.0 * u - 1.0) * bound) : 0.0f;
    }
  }
}

int64_t ds__pixelcnn_block_rows(const ds__pixelcnn *p, int32_t threads) {
  int64_t rows = ((int64_t)1 << 26) / (2 * p->floats_per_row + 1);
  rows = rows < 1 ? 1 : rows > 64 ? 64 : rows;
  return rows >= threads ? rows / threads * threads : rows;
}

const ds__arch ds__arch_pixelcnnpp = {
    "PixelCNN++",     0,                 pcnn_setup,        ds__pcnn_teardown,
    pcnn_masks,       ds__pcnn_init,         ds__pcnn_ws_init,  ds__pcnn_ws_free,
    ds__pcnn_forward, ds__pcnn_backward, ds__pcnn_param_grads, ds__pcnn_sample,
    DS__IMAGE_ARCH_HOOKS(&ds__pixelcnnpp_section),
};
