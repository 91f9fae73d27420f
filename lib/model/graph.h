/* PixelCNN++ (Salimans et al. 2017; METHOD.md §4) as a list of layers run forward in order
 * and backward in exact reverse order, on (rows, C, H, W) activations.
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
 * Filling the inputs. Everything a pass computes is an op of the table, except filling
 * these tensors from x (rows, D) and c = x~ (rows, D), both pixel-major with the channels
 * of a pixel together (x[(i * W + j) * C + k]); storage is planar per row:
 *   input (rows, C + 1, h[0], w[0]): channel k < C, level-0 pixel (x_row0 + i, j) =
 *        x[(i * W + j) * C + k]; channel C = 1 everywhere. Stacked only: channel k < C,
 *        pixel (i, j) with i < H = x~[(i * W + j) * C + k] (the top half).
 *   cond_in (channels layout only, -1 otherwise) (rows, C, H, W): pixel (i, j) channel k
 *        = x~[(i * W + j) * C + k]. cond[0..2] are outputs of ops (cond[0] == cond_in
 *        without cond convs), never filled directly.
 *   Output: the heads of x's pixel (i, j) are head tensor pixel (x_row0 + i, j), channels
 *        0..P-1 (model/arch.h's layout, H*W groups); d_x is read from the same pixels of
 *        the input's gradient, channels 0..C-1.
 * Readiness for an incremental sampler: cond_in and every tensor computed only from it
 * (the 3x3 conditioning convs are NOT causal: they are ready whole at step 0, never
 * position by position) and the stacked input's top half (rows < x_row0) are known before
 * the first pixel of x; x's pixel (i, j), level-0 input pixel (x_row0 + i, j), becomes
 * known at step i * W + j. Stacked, input pixel (r, j) is thus known at step
 * max(0, r * W + j - H * W), and the network's causality does the rest.
 *
 * Flat parameter layout: the layers in the order above — the conditioning convs first,
 * then the network (within a gated resnet: input conv, skip nin, conditioning 1x1, output
 * conv), each as weight then bias:
 *   conv   w (Cout, Cin, kh, kw), bias (Cout)        (PyTorch Conv2d layout)
 *   deconv w (Cin, Cout, kh, kw), bias (Cout)        (PyTorch ConvTranspose2d layout)
 *   the per-resnet conditioning 1x1 conv has no bias.
 * tests/golden/make_pixelcnn_golden.py builds the same list from PyTorch modules.
 *
 * The masked PixelCNN (DS_ARCH_PIXELCNN, model/pixelcnn_masked_layout.c) is another list
 * for the same executor, at a single level: masked convolutions are CONV ops with centred
 * padding whose structurally zero taps (`mask` below) hold zero weights.
 *
 * Op kinds, elementwise over (rows, c, H_l, W_l) with a = in, b = in2, y = out:
 *   CONV     y (+)= conv(a) + bias  (weights (cout, cin, kh, kw), pads, stride; conv2d.h)
 *   DECONV   y = deconv(a) + bias, cropped to the level above (conv_transpose.h)
 *   CELU     y = [elu(a), elu(-a)] along channels (2c channels)
 *   ELU      y = a > 0 ? a : expm1(a)
 *   DSHIFT   y[.., i, j] = a[.., i-1, j], 0 in row 0
 *   RSHIFT   y[.., i, j] = a[.., i, j-1], 0 in column 0
 *   ADD      y = a + b
 *   GATE     y = a + u * sigmoid(v),        [u, v] = b (2c channels: u first)
 *   CONCAT   y = [a, b] along channels
 *   DROPOUT  out *= keep / (1 - rate) in place (in = out; training passes only)
 *   AVGPOOL  y (level l + 1) = 2x2 average of a (level l), edge blocks over their pixels
 *   RELU     y = a > 0 ? a : 0                                   (masked PixelCNN)
 *   TGATE    y = a + tanh(u) * sigmoid(v),  [u, v] = b (2c channels: u first)
 * Kind values are stable (appended only). */
#ifndef DS_MODEL_GRAPH_H
#define DS_MODEL_GRAPH_H

#include <stdint.h>

#include "dsmooth.h"
#include "model/model.h"

enum {
  DS__PCNN_CONV = 0,
  DS__PCNN_DECONV,
  DS__PCNN_CELU,
  DS__PCNN_ELU,
  DS__PCNN_DSHIFT,
  DS__PCNN_RSHIFT,
  DS__PCNN_ADD,
  DS__PCNN_GATE,
  DS__PCNN_CONCAT,
  DS__PCNN_DROPOUT,
  DS__PCNN_AVGPOOL, /* out (level l + 1) = 2x2 average of in (level l), edge blocks over
                       the pixels they have */
  DS__PCNN_RELU,
  DS__PCNN_TGATE
};

/* CONV mask: which taps of a kh x kw kernel (odd sizes, centred pads) are structural zeros
 * for every (output, input) channel pair — ds__mask_allows() of kernels/masked_conv.h:
 *   NONE  every tap free;
 *   A     rows below the centre, and the centre row at and right of the centre, are zero
 *         (output pixel (i, j) reads only pixels before it in raster order);
 *   B     as A but the centre tap is free (reads (i, j) itself too). */
enum { DS__PCNN_MASK_NONE = 0, DS__PCNN_MASK_A, DS__PCNN_MASK_B };

/* An activation: `c` channels at `level`; rows of it live at storage + capacity * offset,
 * (rows, c, H_level, W_level). */
typedef struct ds__pcnn_tensor {
  int64_t c;
  int32_t level;
  int32_t needs_grad; /* 0 for the conditioning input; the input only for the score */
  int32_t consumed;   /* read by some layer (else its gradient is zero) */
  int64_t offset;
} ds__pcnn_tensor;

typedef struct ds__pcnn_op {
  int32_t kind;
  int32_t in, in2, out;   /* tensor ids (in2: ADD, GATE's ab, CONCAT's second) */
  int32_t accumulate;     /* CONV: out += conv(in) */
  int64_t cin, cout, kh, kw, stride, pad_t, pad_b, pad_l, pad_r;
  int64_t w_offset, b_offset; /* b_offset -1: no bias */
  int32_t dropout_id;
  int32_t mask;           /* CONV: DS__PCNN_MASK_* */
  /* backward: this layer is the first (in reverse order) to write the gradient of in / in2,
   * so it overwrites instead of adding and no gradient buffer needs clearing */
  int32_t grad_first_in, grad_first_in2;
} ds__pcnn_op;

typedef struct ds__pixelcnn {
  int64_t channels, cond_channels, filters, K, head_channels;
  int32_t cond_convs;   /* unmasked 3x3 convs over x~ (DS_MODEL_COND_CONVS) */
  int32_t stacked;      /* DS_COND_STACKED: the network runs on [x~; x] (2H, W) */
  int64_t x_row0;       /* first level-0 row holding x: 0, or H when stacked */
  int64_t h[3], w[3];
  int32_t tensor_count, op_count, tensor_cap, op_cap;
  ds__pcnn_tensor *tensors;
  ds__pcnn_op *ops;
  int32_t input, head;  /* tensor ids (filled as described at the top) */
  int32_t cond_in;      /* tensor id of x~ as given, -1 without conditioning channels */
  int32_t cond[3];      /* per level, what enters every gated resnet's conditioning 1x1
                           conv (computed by ops from cond_in); -1 when cond_in is */
  int64_t floats_per_row;
  int64_t param_count;
  float dropout;
} ds__pixelcnn;

/* The layer table of an image model (NULL for other architectures). */
static inline ds__pixelcnn *ds__pcnn_of(const ds_model *m) {
  return m->arch == &ds__arch_pixelcnnpp || m->arch == &ds__arch_pixelcnn_masked
             ? (ds__pixelcnn *)m->arch_state
             : NULL;
}

/* Shared by the layouts (model/pixelcnn_layout.c):
 * mark_gradient_writers: which op writes each gradient first in the backward pass
 *   (grad_first_in / grad_first_in2) and which tensors are read; written (tensor_count) is
 *   scratch. Dropout ops (in place on their output gradient) are skipped.
 * teardown: free the layer table.
 * init: Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) for every conv and transposed-conv weight
 *   and bias, fan_in = Cin kh kw (PyTorch's Conv2d default); 0 where m->mask is 0. */
void ds__pcnn_mark_gradient_writers(ds__pixelcnn *p, int32_t *written);
void ds__pcnn_teardown(ds_model *m);
void ds__pcnn_init(const ds_model *m, uint64_t seed, float *params);

/* Rows per evaluation pass for this network (activations and gradients of about 256 MB),
 * a multiple of `threads` when that fits. */
int64_t ds__pixelcnn_block_rows(const ds__pixelcnn *p, int32_t threads);

/* The network's inputs for rows [0, rows), as "Filling the inputs" above: `input` from x
 * (rows, D) (and, stacked, its top half from c), `cond_in` from c (rows, C) in the channel
 * layout; c may be NULL for an unconditional model. Everything else, the pooled
 * conditioning included, is computed by ops. Into an activation buffer laid out for
 * `capacity` rows (tensor t of row r at vals + capacity * offset_t + r * c_t * H_l * W_l). */
void ds__pcnn_fill_inputs(const ds_model *m, float *vals, int64_t capacity, const float *x,
                          const float *c, int64_t rows);

/* Cached incremental sampling (model/pixelcnn_sampler.c): the same samples as
 * ds__model_sample_rows (bitwise), each activation computed once instead of once per
 * pixel. x (n, D); example i uses uniforms addressed by first + i. Fails (on m->ctx) with
 * OUT_OF_MEMORY, or BAD_STATE if the layer table is not causal. */
ds_status ds__pcnn_sample(const ds_model *m, const float *c, int64_t n, int64_t first,
                          uint64_t stream, int32_t method, int32_t greedy_mean, float *x);

/* The architecture entry points of model/arch.h (model/pixelcnn.c). */
struct ds__model_ws;
struct ds__arch_pass;
ds_status ds__pcnn_ws_init(const ds_model *m, int64_t capacity, struct ds__model_ws *ws);
void ds__pcnn_ws_free(const ds_model *m, struct ds__model_ws *ws);
void ds__pcnn_forward(const ds_model *m, struct ds__model_ws *ws,
                      const struct ds__arch_pass *pass, int64_t r0, int64_t r1);
void ds__pcnn_backward(const ds_model *m, struct ds__model_ws *ws, int64_t r0, int64_t r1,
                       float *d_x);
void ds__pcnn_param_grads(const ds_model *m, struct ds__model_ws *ws, int64_t rows,
                          float *grad);

/* Data-dependent initialisation of every conv / transposed conv from x (rows, D) and
 * c (rows, C) or NULL (at most the first 16 rows are used): see
 * model/model_init_pixelcnn.c. Without memory it leaves the weights unchanged. */
void ds__pcnn_data_init(ds_model *m, const float *x, const float *c, int64_t rows);

/* Layer by layer (the data-dependent initialisation, model/model_init_pixelcnn.c), on a
 * forward-only workspace of ds__pcnn_ws_init: fill the inputs of rows [0, rows) as
 * ds__pcnn_forward does, run op `op` alone (no dropout), and where tensor t's values live
 * ((rows, c, H_l, W_l) at the returned pointer). Running ops 0..op_count-1 in order after
 * the fill computes exactly what ds__pcnn_forward computes. */
void ds__pcnn_ws_fill_inputs(const ds_model *m, struct ds__model_ws *ws, const float *x,
                             const float *c, int64_t rows);
void ds__pcnn_forward_op(const ds_model *m, struct ds__model_ws *ws, int32_t op, int64_t rows);
float *ds__pcnn_values(const ds_model *m, struct ds__model_ws *ws, int32_t tensor);

#endif
