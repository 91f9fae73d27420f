/* The masked PixelCNN (van den Oord et al. 2016; DS_ARCH_PIXELCNN in dsmooth.h) as a layer
 * list for the PixelCNN++ executor (model/pixelcnn.h), at a single resolution level:
 *
 *   in   = [x, 1]                                          (B, C + 1, H, W)
 *   h    = conv7x7_A(in)                                   (B, F, H, W)
 *   L blocks:  p = conv3x3_B(h) [+ conv1x1(x~)]            (B, G, H, W), G = 2F gated, F plain
 *              gated: h = TGATE(h, p) = h + tanh(p[:F]) * sigmoid(p[F:])
 *              plain: h = ADD(h, act(p))                   act = RELU or ELU
 *   head = conv1x1(act(conv1x1(act(h))))                   (B, 3K or 10K, H, W)
 *
 * Masked convolutions are CONV ops with centred pads (k/2 on every side) and op->mask A or
 * B; their structurally zero taps are zero in the weights: at initialisation, in every
 * parameter gradient (so Adam never moves them), and checked on load.
 *
 * Flat parameter layout, each conv as weight (Cout, Cin, kh, kw) then bias (Cout):
 *   conv7x7_A (F, C+1, 7, 7) (F);
 *   per block conv3x3_B (G, F, 3, 3) (G), then the conditioning 1x1 (G, C, 1, 1), no bias;
 *   head 1x1 (F, F, 1, 1) (F), then 1x1 (3K or 10K, F, 1, 1) (3K or 10K).
 * tests/golden/make_masked_pixelcnn_golden.py builds the same network from PyTorch modules. */
#include <math.h>
#include <string.h>

#include "core/philox.h"
#include "kernels/masked_conv.h"
#include "model/model.h"
#include "model/pixelcnn.h"

typedef struct builder {
  ds__pixelcnn *p;
  int64_t params;
} builder;

/* A new (rows, c, H, W) activation; ids past the capacity are reported after the build. */
static int32_t tensor(builder *b, int64_t c) {
  ds__pixelcnn *p = b->p;
  int32_t id = p->tensor_count++;
  ds__pcnn_tensor *t = &p->tensors[id < p->tensor_cap ? id : p->tensor_cap - 1];
  memset(t, 0, sizeof *t);
  t->c = c;
  t->needs_grad = 1;
  t->offset = p->floats_per_row;
  p->floats_per_row += c * p->h[0] * p->w[0];
  return id;
}

/* Channels of tensor `id` (the last slot past the capacity, reported after the build). */
static int64_t channels_of(const builder *b, int32_t id) {
  return b->p->tensors[id < b->p->tensor_cap ? id : b->p->tensor_cap - 1].c;
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

static int32_t unary(builder *b, int32_t kind, int32_t in) {
  int32_t out = tensor(b, channels_of(b, in));
  op(b, kind, in, -1, out);
  return out;
}

/* out (+)= k x k conv(in) with centred pads and `mask`; `out` < 0 makes a new tensor. */
static int32_t conv(builder *b, int32_t in, int32_t out, int64_t cout, int64_t k,
                    int32_t mask, int bias) {
  int fresh = out < 0;
  if (fresh) out = tensor(b, cout);
  ds__pcnn_op *o = op(b, DS__PCNN_CONV, in, -1, out);
  o->accumulate = !fresh;
  o->cin = channels_of(b, in);
  o->cout = cout;
  o->kh = o->kw = k;
  o->stride = 1;
  o->pad_t = o->pad_b = o->pad_l = o->pad_r = k / 2;
  o->mask = mask;
  o->w_offset = b->params;
  b->params += cout * o->cin * k * k;
  if (bias) {
    o->b_offset = b->params;
    b->params += cout;
  }
  return out;
}

static void build(builder *b, const ds_model_config *cfg) {
  ds__pixelcnn *p = b->p;
  int64_t F = p->filters, G = cfg->gated ? 2 * F : F;
  int32_t act = cfg->activation == DS_ACTIVATION_ELU ? DS__PCNN_ELU : DS__PCNN_RELU;
  p->input = tensor(b, p->channels + 1);
  p->tensors[p->input].needs_grad = 0; /* switched on for the exact score */
  p->cond_in = p->cond[0] = p->cond[1] = p->cond[2] = -1;
  if (p->cond_channels > 0) { /* x~ as given enters every block: cond[0] = cond_in */
    p->cond_in = p->cond[0] = tensor(b, p->cond_channels);
    p->tensors[p->cond_in].needs_grad = 0;
  }
  int32_t h = conv(b, p->input, -1, F, 7, DS__PCNN_MASK_A, 1);
  for (int32_t l = 0; l < cfg->layers; l++) {
    int32_t pre = conv(b, h, -1, G, 3, DS__PCNN_MASK_B, 1);
    if (p->cond[0] >= 0) conv(b, p->cond[0], pre, G, 1, DS__PCNN_MASK_NONE, 0);
    int32_t next = tensor(b, F);
    if (cfg->gated) {
      op(b, DS__PCNN_TGATE, h, pre, next);
    } else {
      op(b, DS__PCNN_ADD, h, unary(b, act, pre), next);
    }
    h = next;
  }
  int32_t o1 = conv(b, unary(b, act, h), -1, F, 1, DS__PCNN_MASK_NONE, 1);
  p->head = conv(b, unary(b, act, o1), -1, p->head_channels, 1, DS__PCNN_MASK_NONE, 1);
}

static ds_status masked_setup(ds_model *m) {
  const ds_model_config *cfg = &m->cfg;
  ds__pixelcnn *p = ds__calloc(m->ctx, 1, sizeof *p);
  if (!p) return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY, "ds_model: out of memory");
  m->arch_state = p;
  p->channels = cfg->channels;
  p->cond_channels = cfg->cond_dim > 0 ? cfg->channels : 0;
  p->filters = cfg->filters;
  p->K = cfg->components;
  p->head_channels = (cfg->channels == 3 ? 10 : 3) * p->K;
  p->stacked = 0; /* x fills the whole input, from row 0 */
  p->x_row0 = 0;
  for (int l = 0; l < 3; l++) { /* one level; the others mirror it and hold no tensor */
    p->h[l] = cfg->height;
    p->w[l] = cfg->width;
  }
  /* at most: tensors input, cond, first layer, 3 per block, 4 in the head; ops first
     layer, 4 per block, 4 in the head */
  p->tensor_cap = 8 + 3 * cfg->layers;
  p->op_cap = 8 + 4 * cfg->layers;
  p->tensors = ds__calloc(m->ctx, (size_t)p->tensor_cap, sizeof *p->tensors);
  p->ops = ds__calloc(m->ctx, (size_t)p->op_cap, sizeof *p->ops);
  int32_t *scratch = ds__calloc(m->ctx, (size_t)p->tensor_cap, sizeof(int32_t));
  if (!p->tensors || !p->ops || !scratch) {
    ds__free(m->ctx, scratch);
    return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY, "ds_model: out of memory");
  }
  builder b = {p, 0};
  build(&b, cfg);
  int overflow = p->tensor_count > p->tensor_cap || p->op_count > p->op_cap;
  if (!overflow) ds__pcnn_mark_gradient_writers(p, scratch);
  ds__free(m->ctx, scratch);
  if (overflow) /* a bug, not a user error */
    return ds__fail(m->ctx, DS_ERR_BAD_STATE, "ds_model: PixelCNN layer table overflow");
  p->param_count = b.params;
  m->param_count = b.params;
  m->groups = p->h[0] * p->w[0];
  m->group_dims = (int32_t)p->channels;
  m->group_params = (int32_t)p->head_channels;
  return DS_OK;
}

/* mask (param_count): 0 on the structurally zero taps of the masked convs, 1 elsewhere. */
static void masked_masks(const ds_model *m, float *mask) {
  const ds__pixelcnn *p = ds__pcnn_of(m);
  for (int64_t k = 0; k < m->param_count; k++) mask[k] = 1.0f;
  for (int32_t i = 0; i < p->op_count; i++) {
    const ds__pcnn_op *o = &p->ops[i];
    if (o->kind != DS__PCNN_CONV || o->mask == DS__PCNN_MASK_NONE) continue;
    int type = o->mask == DS__PCNN_MASK_A ? DS_MASK_A : DS_MASK_B;
    for (int64_t pair = 0; pair < o->cout * o->cin; pair++)
      for (int64_t ky = 0; ky < o->kh; ky++)
        for (int64_t kx = 0; kx < o->kw; kx++)
          if (!ds__mask_allows(type, o->kh, o->kw, ky, kx))
            mask[o->w_offset + (pair * o->kh + ky) * o->kw + kx] = 0.0f;
  }
}

/* The executor's gradient with the masked taps zeroed. */
static void masked_param_grads(const ds_model *m, ds__model_ws *ws, int64_t rows,
                               float *grad) {
  const ds__pixelcnn *p = ds__pcnn_of(m);
  ds__pcnn_param_grads(m, ws, rows, grad);
  for (int32_t i = 0; i < p->op_count; i++) {
    const ds__pcnn_op *o = &p->ops[i];
    if (o->kind != DS__PCNN_CONV || o->mask == DS__PCNN_MASK_NONE) continue;
    int64_t end = o->w_offset + o->cout * o->cin * o->kh * o->kw;
    for (int64_t k = o->w_offset; k < end; k++)
      if (m->mask[k] == 0.0f) grad[k] = 0.0f;
  }
}

const ds__arch ds__arch_pixelcnn_masked = {
    "PixelCNN",       0,                 masked_setup,      ds__pcnn_teardown,
    masked_masks,     ds__pcnn_init,       ds__pcnn_ws_init,  ds__pcnn_ws_free,
    ds__pcnn_forward, ds__pcnn_backward, masked_param_grads,
    ds__pcnn_sample,
    DS__IMAGE_ARCH_HOOKS(&ds__pixelcnn_masked_section),
};
