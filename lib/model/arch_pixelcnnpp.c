/* PixelCNN++ (Salimans et al. 2017; DS_ARCH_PIXELCNNPP) as a layer graph (model/graph.h),
 * run forward in order and backward in exact reverse order on (rows, C, H, W) activations.
 *
 * Network (F filters, R = resnets per level, level l has size (H_l, W_l), H_{l+1} =
 * ceil(H_l / 2)):
 *   in   = [x, 1]                                             (B, C + 1, H, W)
 *   u    = down_shift(conv2x3(in))                            (B, F, H, W)
 *   ul   = down_shift(conv1x3(in)) + right_shift(conv2x1(in))
 *   up pass, levels 0, 1, 2: R times  u = res_u(u); ul = res_ul(ul, skip u); store both;
 *        between levels u = conv2x3/2(u), ul = conv2x2/2(ul) (stored too)
 *   down pass, levels 2, 1, 0 with R, R+1, R+1 resnets: u = res_u(u, skip pop(u)),
 *        ul = res_ul(ul, skip [u, pop(ul)]); between levels the stride-2 transposed convs
 *        deconv2x3 / deconv2x2 (cropped to the level above)
 *   head = nin(elu(ul))                                       (B, 3K or 10K, H, W)
 *   res(x, a) = x + a' * sigmoid(b'), [a', b'] = conv(dropout(concat_elu(h))),
 *        h = conv(concat_elu(x)) [+ nin(concat_elu(a))] [+ conv1x1(cond[level])]
 * (u convs are down-shifted 2x3, ul convs down-right-shifted 2x2, pads as conv2d.h.)
 *
 * Conditional models p(x | x~), by DS_MODEL_COND_LAYOUT:
 *   DS_COND_CHANNELS: ops before the network compute the conditioning features
 *        cond[0] = x~                                                     (B, C, H, W)
 *             or with n = DS_MODEL_COND_CONVS >= 1 unmasked 3x3 convs (pad 1, bias):
 *        cond[0] = conv3x3(concat_elu(... conv3x3(concat_elu(conv3x3(x~))) ...))  (B, F, H, W)
 *        cond[l] = avgpool2x2(cond[l - 1]), l = 1, 2 (edge blocks over the pixels they have)
 *     and every gated resnet at level l adds conv1x1(cond[l]). x~ gets no gradient; the
 *     convs' weights do (through the pooling's backward).
 *   DS_COND_STACKED: no conditioning ops: the unconditional network above on the
 *     (2H, W) image [x~; x] (x~ in rows 0..H-1, x in rows H..2H-1). Only the bottom half of
 *     the head enters log p; the top half's head gradient is zero.
 *
 *
 * Flat parameter layout: the layers in the order above — the conditioning convs first,
 * then the network (within a gated resnet: input conv, skip nin, conditioning 1x1, output
 * conv), each as weight then bias:
 *   conv   w (Cout, Cin, kh, kw), bias (Cout)        (PyTorch Conv2d layout)
 *   deconv w (Cin, Cout, kh, kw), bias (Cout)        (PyTorch ConvTranspose2d layout)
 *   the per-resnet conditioning 1x1 conv has no bias.
 * tests/golden/make_pixelcnn_golden.py builds the same list from PyTorch modules. */
#include "model/graph.h"

/* Shifted convolution shapes: kh, kw, pads top, bottom, left, right. */
enum { K2X3 = 0, K1X3, K2X1, K2X2, K1X1, K3X3 /* unshifted, x~ only */ };
static const int64_t geometry[6][6] = {
    {2, 3, 1, 0, 1, 1}, {1, 3, 0, 0, 1, 1}, {2, 1, 1, 0, 0, 0},
    {2, 2, 1, 0, 1, 0}, {1, 1, 0, 0, 0, 0}, {3, 3, 1, 1, 1, 1}};

/* out (+)= conv(in) of a shape above; `out` < 0 makes a new tensor at the output level. */
static int32_t conv(ds__graph_builder *b, int32_t in, int32_t out, int64_t cout, int shape,
                    int64_t stride, int bias) {
  const int64_t *geo = geometry[shape];
  return ds__graph_conv(b, in, out, cout, geo[0], geo[1], stride, geo + 2, DS__OP_MASK_NONE,
                        bias);
}

/* concat_elu(t), computed once per tensor: a stream's output feeds both the next resnet
 * of its stream and a skip of the other, and is a skip again in the down pass. */
static int32_t celu(ds__graph_builder *b, int32_t t) {
  int32_t e = ds__graph_find(b->g, DS__OP_CELU, t);
  return e >= 0 ? e : ds__graph_apply(b, DS__OP_CELU, t, -1);
}

/* Gated resnet on x (F) with optional skip a; `shape` K2X3 (u) or K2X2 (ul). */
static int32_t gated_resnet(ds__graph_builder *b, int32_t x, int32_t a, int shape) {
  const ds__graph *p = b->g;
  int64_t F = p->filters;
  int32_t level = p->tensors[x].level;
  int32_t e = celu(b, x);
  int32_t ea = a >= 0 ? celu(b, a) : -1;
  int32_t h = conv(b, e, -1, F, shape, 1, 1);
  if (ea >= 0) conv(b, ea, h, F, K1X1, 1, 1);
  if (p->cond[0] >= 0) conv(b, p->cond[level], h, F, K1X1, 1, 0);
  int32_t e2 = ds__graph_apply(b, DS__OP_CELU, h, -1);
  if (p->dropout > 0.0f) ds__graph_op_new(b, DS__OP_DROPOUT, e2, -1, e2)->dropout_id = b->dropouts++;
  int32_t ab = conv(b, e2, -1, 2 * F, shape, 1, 1);
  return ds__graph_apply(b, DS__OP_GATE, x, ab);
}

static void build(ds__graph_builder *b, const ds_model_config *cfg) {
  ds__graph *p = b->g;
  p->stacked = cfg->cond_dim > 0 && cfg->cond_layout == DS_COND_STACKED;
  p->cond_channels = cfg->cond_dim > 0 && !p->stacked ? cfg->channels : 0;
  p->cond_convs = cfg->cond_convs;
  p->dropout = cfg->dropout;
  p->x_row0 = p->stacked ? cfg->height : 0; /* x~ above x */
  ds__graph_set_image(p, cfg, p->stacked ? 2 * cfg->height : cfg->height, 1);
  int64_t F = p->filters;
  int32_t resnets = cfg->resnets;
  p->input = ds__graph_add_tensor(b, p->channels + 1, 0);
  p->tensors[p->input].needs_grad = 0; /* switched on for the exact score */
  if (p->cond_channels > 0) {
    /* x~ (C, H, W) [-> conv3x3 -> (concat_elu -> conv3x3)* : (F, H, W)], pooled to the
       lower levels; only the convs' weights are trained through this path */
    p->cond_in = ds__graph_add_tensor(b, p->cond_channels, 0);
    p->tensors[p->cond_in].needs_grad = 0;
    int32_t h = p->cond_in;
    for (int32_t i = 0; i < p->cond_convs; i++) h = conv(b, i ? celu(b, h) : h, -1, F, K3X3, 1, 1);
    p->cond[0] = h;
    for (int32_t l = 1; l < 3; l++) {
      p->cond[l] = ds__graph_apply(b, DS__OP_AVGPOOL, p->cond[l - 1], -1);
      p->tensors[p->cond[l]].needs_grad = p->tensors[p->cond[l - 1]].needs_grad;
    }
  }
  int32_t u = ds__graph_apply(b, DS__OP_DSHIFT, conv(b, p->input, -1, F, K2X3, 1, 1), -1);
  int32_t t1 = ds__graph_apply(b, DS__OP_DSHIFT, conv(b, p->input, -1, F, K1X3, 1, 1), -1);
  int32_t t2 = ds__graph_apply(b, DS__OP_RSHIFT, conv(b, p->input, -1, F, K2X1, 1, 1), -1);
  int32_t ul = ds__graph_apply(b, DS__OP_ADD, t1, t2);
  int32_t us[3 * 66], uls[3 * 66], n = 0; /* resnets <= 64 (DS_MODEL_RESNETS) */
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
      ul = gated_resnet(b, ul, ds__graph_apply(b, DS__OP_CONCAT, u, uls[n]), K2X2);
    }
    if (i < 2) { /* 2x3 (down-shifted) or 2x2 (down-right-shifted), cropped left 1 / 0 */
      u = ds__graph_deconv(b, u, F, 2, 3, 1);
      ul = ds__graph_deconv(b, ul, F, 2, 2, 0);
    }
  }
  int32_t e = ds__graph_apply(b, DS__OP_ELU, ul, -1);
  p->head = conv(b, e, -1, p->head_channels, K1X1, 1, 1);
}

static ds_status pcnn_setup(ds_model *m) { return ds__graph_setup(m, build); }

static void pcnn_masks(const ds_model *m, float *mask) {
  for (int64_t k = 0; k < m->param_count; k++) mask[k] = 1.0f;
}

const ds__arch ds__arch_pixelcnnpp = {
    "PixelCNN++",     0,                 pcnn_setup,        ds__pcnn_teardown,
    pcnn_masks,       ds__pcnn_init,     ds__pcnn_ws_init,  ds__pcnn_ws_free,
    ds__pcnn_forward, ds__pcnn_backward, ds__pcnn_param_grads, ds__pcnn_sample,
    DS__IMAGE_ARCH_HOOKS,
};
