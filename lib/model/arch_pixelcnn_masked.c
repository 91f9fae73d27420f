/* The masked PixelCNN (van den Oord et al. 2016; DS_ARCH_PIXELCNN in dsmooth.h) as a layer
 * graph (model/graph.h) at a single resolution level:
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
#include "kernels/masked_conv.h"
#include "model/graph.h"

/* out (+)= k x k conv(in) with centred pads and `mask`; `out` < 0 makes a new tensor. */
static int32_t conv(ds__graph_builder *b, int32_t in, int32_t out, int64_t cout, int64_t k,
                    int32_t mask, int bias) {
  const int64_t pads[4] = {k / 2, k / 2, k / 2, k / 2};
  return ds__graph_conv(b, in, out, cout, k, k, 1, pads, mask, bias);
}

static void build(ds__graph_builder *b, const ds_model_config *cfg) {
  ds__graph *p = b->g;
  p->cond_channels = cfg->cond_dim > 0 ? cfg->channels : 0;
  /* x fills the whole input from row 0; one level (the others mirror it, hold no tensor) */
  ds__graph_set_image(p, cfg, cfg->height, 0);
  int64_t F = p->filters, G = cfg->gated ? 2 * F : F;
  int32_t act = cfg->activation == DS_ACTIVATION_ELU ? DS__OP_ELU : DS__OP_RELU;
  p->input = ds__graph_add_tensor(b, p->channels + 1, 0);
  p->tensors[p->input].needs_grad = 0; /* switched on for the exact score */
  if (p->cond_channels > 0) { /* x~ as given enters every block: cond[0] = cond_in */
    p->cond_in = p->cond[0] = ds__graph_add_tensor(b, p->cond_channels, 0);
    p->tensors[p->cond_in].needs_grad = 0;
  }
  int32_t h = conv(b, p->input, -1, F, 7, DS__OP_MASK_A, 1);
  for (int32_t l = 0; l < cfg->layers; l++) {
    int32_t pre = conv(b, h, -1, G, 3, DS__OP_MASK_B, 1);
    if (p->cond[0] >= 0) conv(b, p->cond[0], pre, G, 1, DS__OP_MASK_NONE, 0);
    if (cfg->gated) {
      h = ds__graph_apply(b, DS__OP_TGATE, h, pre);
    } else {
      /* the sum's tensor before the activation's: the activation layout since 0.2 */
      int32_t next = ds__graph_add_tensor(b, F, 0);
      ds__graph_op_new(b, DS__OP_ADD, h, ds__graph_apply(b, act, pre, -1), next);
      h = next;
    }
  }
  int32_t o1 = conv(b, ds__graph_apply(b, act, h, -1), -1, F, 1, DS__OP_MASK_NONE, 1);
  p->head = conv(b, ds__graph_apply(b, act, o1, -1), -1, p->head_channels, 1, DS__OP_MASK_NONE, 1);
}

static ds_status masked_setup(ds_model *m) { return ds__graph_setup(m, build); }

/* mask (param_count): 0 on the structurally zero taps of the masked convs, 1 elsewhere. */
static void masked_masks(const ds_model *m, float *mask) {
  const ds__graph *p = ds__pcnn_of(m);
  for (int64_t k = 0; k < m->param_count; k++) mask[k] = 1.0f;
  for (int32_t i = 0; i < p->op_count; i++) {
    const ds__graph_op *o = &p->ops[i];
    if (o->kind != DS__OP_CONV || o->mask == DS__OP_MASK_NONE) continue;
    int type = o->mask == DS__OP_MASK_A ? DS_MASK_A : DS_MASK_B;
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
  const ds__graph *p = ds__pcnn_of(m);
  ds__pcnn_param_grads(m, ws, rows, grad);
  for (int32_t i = 0; i < p->op_count; i++) {
    const ds__graph_op *o = &p->ops[i];
    if (o->kind != DS__OP_CONV || o->mask == DS__OP_MASK_NONE) continue;
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
    DS__IMAGE_ARCH_HOOKS,
};
