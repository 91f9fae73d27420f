/* The layer graph of the image networks: a list of ops over named activation tensors, run
 * forward in order and backward in exact reverse order, on (rows, C, H, W) activations at
 * up to three resolution levels (level l + 1 has size (ceil(H_l / 2), ceil(W_l / 2))).
 *
 * One module, one description of every op kind (ds__op_kinds below), read by
 *   model/graph_build.c      growable tensor / op arrays, the builder primitives
 *   model/graph_ops.c        the kind table and the pointwise kernels' adapters
 *   model/graph_exec.c       forward, backward and parameter gradients (planar, NCHW)
 *   model/graph_sample.c     the cached incremental sampler (channels-last)
 *   model/graph_data_init.c  the data-dependent initialisation, op by op
 * and built by one file per architecture:
 *   model/arch_pixelcnnpp.c       PixelCNN++ (DS_ARCH_PIXELCNNPP)
 *   model/arch_pixelcnn_masked.c  the masked PixelCNN (DS_ARCH_PIXELCNN)
 * model/pixelcnn.h declares the entry points model.c and model_init.c call.
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
 * Kind values are stable (appended only).
 *
 * Filling the inputs. Everything a pass computes is an op of the graph, except filling
 * these tensors from x (rows, D) and c = x~ (rows, D), both pixel-major with the channels
 * of a pixel together (x[(i * W + j) * C + k]); storage is planar per row:
 *   input (rows, C + 1, h[0], w[0]): channel k < C, level-0 pixel (x_row0 + i, j) =
 *        x[(i * W + j) * C + k]; channel C = 1 everywhere. Stacked only: channel k < C,
 *        pixel (i, j) with i < H = x~[(i * W + j) * C + k] (the top half).
 *   cond_in (-1 without conditioning channels) (rows, C, H, W): pixel (i, j) channel k
 *        = x~[(i * W + j) * C + k]. cond[0..2] are outputs of ops (cond[0] == cond_in
 *        without cond convs), never filled directly.
 *   Output: the heads of x's pixel (i, j) are head tensor pixel (x_row0 + i, j), channels
 *        0..P-1 (model/arch.h's layout, H*W groups); d_x is read from the same pixels of
 *        the input's gradient, channels 0..C-1.
 * Readiness for an incremental sampler: cond_in and every tensor computed only from it
 * (e.g. PixelCNN++'s 3x3 conditioning convs are NOT causal: they are ready whole at step
 * 0, never position by position) and the stacked input's top half (rows < x_row0) are
 * known before the first pixel of x; x's pixel (i, j), level-0 input pixel (x_row0 + i, j),
 * becomes known at step i * W + j. Stacked, input pixel (r, j) is thus known at step
 * max(0, r * W + j - H * W), and the network's causality does the rest.
 *
 * Flat parameters: each CONV / DECONV op owns its weight at w_offset and its bias (if any)
 * at b_offset, in the order the builder created the ops:
 *   conv   w (Cout, Cin, kh, kw), bias (Cout)        (PyTorch Conv2d layout)
 *   deconv w (Cin, Cout, kh, kw), bias (Cout)        (PyTorch ConvTranspose2d layout)
 * Each architecture file documents its own order (tests/golden/ rebuild it in PyTorch).
 *
 * Non-finite activations. A masked CONV's structurally zero taps multiply their input by
 * 0: a full pass computes 0 * inf = NaN there, while the cached sampler, which reads only
 * the live taps (a pixel's true dependencies), does not — and a later RELU turns the NaN
 * into 0, so both would return different finite samples. Hence the policy: an image whose
 * masked-conv inputs are not all finite has no result. The executor's forward pass gives
 * such a row NaN heads (every log-prob, score, loss and sample from it is then refused as
 * non-finite, DS_ERR_NUMERIC); the cached sampler checks the same tensors once per block
 * and fails with DS_ERR_NUMERIC naming the op. Unmasked convs have no dead taps, so
 * non-finite values elsewhere (e.g. in PixelCNN++) flow through both paths identically;
 * a non-finite head group gives a NaN sample (model.c) and so DS_ERR_NUMERIC. */
#ifndef DS_MODEL_GRAPH_H
#define DS_MODEL_GRAPH_H

#include <stdint.h>

#include "core/pool.h"
#include "dsmooth.h"
#include "model/model.h"

enum {
  DS__OP_CONV = 0,
  DS__OP_DECONV,
  DS__OP_CELU,
  DS__OP_ELU,
  DS__OP_DSHIFT,
  DS__OP_RSHIFT,
  DS__OP_ADD,
  DS__OP_GATE,
  DS__OP_CONCAT,
  DS__OP_DROPOUT,
  DS__OP_AVGPOOL,
  DS__OP_RELU,
  DS__OP_TGATE,
  DS__OP_KIND_COUNT
};

/* How the executor, the sampler and the initialisation treat a kind. Each role but
 * POINTWISE has its own code in graph_exec.c and graph_sample.c; a POINTWISE kind is run
 * entirely from its table entry. */
enum {
  DS__ROLE_CONV = 0, /* weights (Cout, Cin, kh, kw) [+ bias], stride, pads, mask */
  DS__ROLE_DECONV,   /* weights (Cin, Cout, kh, kw) + bias, stride 2, up one level */
  DS__ROLE_POINTWISE, /* out position p depends on in (and in2) at p only */
  DS__ROLE_SHIFT,    /* out (i, j) = in (i - shift_y, j - shift_x), 0 outside */
  DS__ROLE_POOL,     /* out (level l + 1) (i, j) from the 2x2 block (2i, 2j) of level l */
  DS__ROLE_DROPOUT   /* in place on out (in == out), training passes only */
};

/* Output channels from the inputs' c (in) and c2 (in2). */
enum {
  DS__CHANNELS_COUT = 0, /* op->cout */
  DS__CHANNELS_SAME,     /* c; GATE-like kinds read in2 with 2c channels */
  DS__CHANNELS_DOUBLE,   /* 2c */
  DS__CHANNELS_SUM       /* c + c2 */
};

/* POINTWISE kernels on planar (rows, c, plane) tensors a, b (in2, c2 channels, or NULL), y.
 * forward_rows is the sampler's variant on gathered channels-last values (rows, c), with
 * `scratch` (rows * c floats) free to use: the same arithmetic per element as `forward`
 * (so the cached sampler stays bitwise equal to a full pass), only without the per-plane
 * jobs; NULL means `forward` with plane 1. backward: da (+)= (acc), db (+)= (acc2), each
 * NULL when not wanted, from the values a, b, y and the output gradient dy. */
typedef void ds__op_forward_fn(ds__pool *pool, int64_t rows, int64_t c, int64_t c2,
                               int64_t plane, const float *a, const float *b, float *y);
typedef void ds__op_rows_fn(int64_t rows, int64_t c, int64_t c2, const float *a,
                            const float *b, float *y, float *scratch);
typedef void ds__op_backward_fn(ds__pool *pool, int64_t rows, int64_t c, int64_t c2,
                                int64_t plane, const float *a, const float *b, const float *y,
                                const float *dy, float *da, float *db, int acc, int acc2);
/* SHIFT kernels on (planes, h, w). */
typedef void ds__op_shift_fn(ds__pool *pool, int64_t planes, int64_t h, int64_t w,
                             const float *x, float *y);
typedef void ds__op_shift_backward_fn(ds__pool *pool, int64_t planes, int64_t h, int64_t w,
                                      const float *dy, float *dx, int accumulate);

typedef struct ds__op_kind {
  const char *name;
  int8_t arity;    /* inputs: 1 (in) or 2 (in, in2) */
  int8_t weights;  /* owns parameters (w_offset, b_offset) */
  int8_t role;     /* DS__ROLE_* */
  int8_t channels; /* DS__CHANNELS_*: the output's channel count */
  int8_t shift_y, shift_x; /* SHIFT only */
  ds__op_forward_fn *forward;       /* POINTWISE */
  ds__op_rows_fn *forward_rows;     /* POINTWISE, optional */
  ds__op_backward_fn *backward;     /* POINTWISE */
  ds__op_shift_fn *shift;           /* SHIFT */
  ds__op_shift_backward_fn *shift_backward;
} ds__op_kind;

/* Indexed by DS__OP_* (model/graph_ops.c). */
extern const ds__op_kind ds__op_kinds[DS__OP_KIND_COUNT];

/* POOL: the average of the 2x2 block of output pixel (i, j) in a (H, W) plane whose pixel
 * (y, x) is src[(y * W + x) * stride] (stride 1 planar, c channels-last), edge blocks
 * over the pixels they have, summed in this order: the executor's and the sampler's value. */
static inline float ds__graph_avg2x2(const float *src, int64_t H, int64_t W, int64_t stride,
                                     int64_t i, int64_t j) {
  float acc = 0.0f;
  int n = 0;
  for (int64_t di = 0; di < 2; di++)
    for (int64_t dj = 0; dj < 2; dj++)
      if (2 * i + di < H && 2 * j + dj < W) {
        acc += src[((2 * i + di) * W + 2 * j + dj) * stride];
        n++;
      }
  return acc / (float)n;
}

/* CONV mask: which taps of a kh x kw kernel (odd sizes, centred pads) are structural zeros
 * for every (output, input) channel pair — ds__mask_allows() of kernels/masked_conv.h:
 *   NONE  every tap free;
 *   A     rows below the centre, and the centre row at and right of the centre, are zero
 *         (output pixel (i, j) reads only pixels before it in raster order);
 *   B     as A but the centre tap is free (reads (i, j) itself too). */
enum { DS__OP_MASK_NONE = 0, DS__OP_MASK_A, DS__OP_MASK_B };

/* An activation: `c` channels at `level`; rows of it live at storage + capacity * offset,
 * (rows, c, H_level, W_level). */
typedef struct ds__graph_tensor {
  int64_t c;
  int32_t level;
  int32_t needs_grad; /* 0 for the conditioning input; the input only for the score */
  int32_t consumed;   /* read by some layer (else its gradient is zero) */
  int64_t offset;
} ds__graph_tensor;

typedef struct ds__graph_op {
  int32_t kind;
  int32_t in, in2, out;   /* tensor ids (in2: ADD, GATE's ab, CONCAT's second; else -1) */
  int32_t accumulate;     /* CONV: out += conv(in) */
  int64_t cin, cout, kh, kw, stride, pad_t, pad_b, pad_l, pad_r; /* DECONV: pad_l = crop */
  int64_t w_offset, b_offset; /* b_offset -1: no bias */
  int32_t dropout_id;
  int32_t mask;           /* CONV: DS__OP_MASK_* */
  /* backward: this layer is the first (in reverse order) to write the gradient of in / in2,
   * so it overwrites instead of adding and no gradient buffer needs clearing */
  int32_t grad_first_in, grad_first_in2;
} ds__graph_op;

typedef struct ds__graph {
  int64_t channels, cond_channels, filters, K, head_channels;
  int32_t cond_convs;   /* unmasked 3x3 convs over x~ (DS_MODEL_COND_CONVS) */
  int32_t stacked;      /* DS_COND_STACKED: the network runs on [x~; x] (2H, W) */
  int64_t x_row0;       /* first level-0 row holding x: 0, or H when stacked */
  int64_t h[3], w[3];
  int32_t tensor_count, op_count, tensor_cap, op_cap; /* caps: allocated (graph_build.c) */
  ds__graph_tensor *tensors;
  ds__graph_op *ops;
  int32_t input, head;  /* tensor ids (filled as described at the top) */
  int32_t cond_in;      /* tensor id of x~ as given, -1 without conditioning channels */
  int32_t cond[3];      /* per level, what enters every conditioning 1x1 conv (computed by
                           ops from cond_in); -1 without conditioning channels */
  int64_t floats_per_row;
  int64_t param_count;
  float dropout;
  /* the cached sampler's arenas kept between calls (graph_sample.c): taken by one call at
     a time with an atomic exchange, put back at its end, freed by ds__pcnn_teardown */
  struct ds__sampler_arenas *_Atomic kept_arenas;
} ds__graph;

/* The layer graph of an image model (NULL for other architectures). */
static inline ds__graph *ds__pcnn_of(const ds_model *m) {
  return m->arch == &ds__arch_pixelcnnpp || m->arch == &ds__arch_pixelcnn_masked
             ? (ds__graph *)m->arch_state
             : NULL;
}

static inline const ds__op_kind *ds__op_kind_of(const ds__graph_op *o) {
  return &ds__op_kinds[o->kind];
}

/* ---- building (model/graph_build.c) ---------------------------------------------------
 * An architecture's build function (called by ds__graph_setup below) fills the shape
 * fields of a fresh graph, then adds tensors and ops with these primitives. The arrays
 * grow as needed; after a failed allocation every primitive is a no-op returning tensor
 * id 0 / a scratch op, and ds__graph_finish reports DS_ERR_OUT_OF_MEMORY. */
typedef struct ds__graph_builder {
  ds_model *m;
  ds__graph *g;
  int64_t params;    /* parameters so far */
  int32_t dropouts;  /* dropout ops so far */
  int32_t failed;    /* an allocation failed */
  ds__graph_op scratch;
} ds__graph_builder;

/* The shape fields from cfg: channels, filters, K, head_channels, w[0] = width,
 * h[0] = height (2H for a stacked image), levels 1 and 2 halved (rounding up) or, with
 * halving 0, equal to level 0. The rest (conditioning, x_row0, dropout) is the caller's. */
void ds__graph_set_image(ds__graph *g, const ds_model_config *cfg, int64_t height,
                         int halving);
/* A new (rows, c, H_level, W_level) activation that needs a gradient. */
int32_t ds__graph_add_tensor(ds__graph_builder *b, int64_t c, int32_t level);
/* A new op (b_offset -1, everything else zero); fill its kind-specific fields. */
ds__graph_op *ds__graph_op_new(ds__graph_builder *b, int32_t kind, int32_t in, int32_t in2,
                               int32_t out);
/* out = kind(in[, in2]) for a POINTWISE, SHIFT or POOL kind: a new tensor with the kind's
 * channel rule at in's level (one up for POOL). */
int32_t ds__graph_apply(ds__graph_builder *b, int32_t kind, int32_t in, int32_t in2);
/* The output of the first op `kind` reading `in` alone, or -1. */
int32_t ds__graph_find(const ds__graph *g, int32_t kind, int32_t in);
/* out (+)= conv(in) + bias: out < 0 makes a new tensor (one level down when stride 2);
 * pads {top, bottom, left, right}; weights (and bias) appended to the parameters. */
int32_t ds__graph_conv(ds__graph_builder *b, int32_t in, int32_t out, int64_t cout, int64_t kh,
                       int64_t kw, int64_t stride, const int64_t pads[4], int32_t mask,
                       int bias);
/* Stride-2 transposed conv one level up, cropped by crop_l columns on the left, + bias. */
int32_t ds__graph_deconv(ds__graph_builder *b, int32_t in, int64_t cout, int64_t kh,
                         int64_t kw, int64_t crop_l);
/* After the last op: check every op against its kind (a mismatch is a bug: INTERNAL),
 * mark the gradient writers, set the parameter count and m's head groups. */
ds_status ds__graph_finish(ds__graph_builder *b);

/* An image architecture's setup hook (model/arch.h): a new graph, build(b, cfg) — set the
 * shape (ds__graph_set_image and the conditioning fields), then add the ops — and
 * ds__graph_finish. */
ds_status ds__graph_setup(ds_model *m, void (*build)(ds__graph_builder *b,
                                                    const ds_model_config *cfg));

/* Shared by the architectures:
 * teardown: free the graph.
 * init: Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) for every weight and bias,
 *   fan_in = Cin kh kw (PyTorch's Conv2d default); 0 where m->mask is 0. */
void ds__pcnn_teardown(ds_model *m);
void ds__pcnn_init(const ds_model *m, uint64_t seed, float *params);

/* Rows per evaluation pass for this network (activations and gradients of about 256 MB),
 * a multiple of `threads` when that fits. */
int64_t ds__pixelcnn_block_rows(const ds__graph *p, int32_t threads);

/* The first masked CONV op (DS__OP_MASK_A / B) whose input is not all finite in row `row`
 * of an activation buffer laid out for `capacity` rows (planar or channels-last: a row of
 * a tensor is one block of c * H_l * W_l floats either way), or -1 (model/graph_finite.c). */
int32_t ds__graph_dead_tap_overflow(const ds__graph *g, const float *vals, int64_t capacity,
                                    int64_t row);

/* ---- running (model/graph_exec.c) ------------------------------------------------------ */

/* The network's inputs for rows [0, rows), as "Filling the inputs" above: `input` from x
 * (rows, D) (and, stacked, its top half from c), `cond_in` from c (rows, C) in the channel
 * layout; c may be NULL for an unconditional model. Everything else, the pooled
 * conditioning included, is computed by ops. Into an activation buffer laid out for
 * `capacity` rows (tensor t of row r at vals + capacity * offset_t + r * c_t * H_l * W_l). */
void ds__pcnn_fill_inputs(const ds_model *m, float *vals, int64_t capacity, const float *x,
                          const float *c, int64_t rows);

/* The architecture entry points of model/arch.h. */
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

/* Layer by layer (the data-dependent initialisation), on a forward-only workspace of
 * ds__pcnn_ws_init: fill the inputs of rows [0, rows) as ds__pcnn_forward does, run op `op`
 * alone (no dropout), and where tensor t's values live ((rows, c, H_l, W_l) at the returned
 * pointer). Running ops 0..op_count-1 in order after the fill computes exactly what
 * ds__pcnn_forward computes. */
void ds__pcnn_ws_fill_inputs(const ds_model *m, struct ds__model_ws *ws, const float *x,
                             const float *c, int64_t rows);
void ds__pcnn_forward_op(const ds_model *m, struct ds__model_ws *ws, int32_t op, int64_t rows);
float *ds__pcnn_values(const ds_model *m, struct ds__model_ws *ws, int32_t tensor);

/* ---- sampling (model/graph_sample.c) --------------------------------------------------- */

/* Cached incremental sampling: the same samples as ds__model_sample_rows (bitwise), each
 * activation computed once instead of once per pixel. x (n, D); example i uses uniforms
 * addressed by first + i. Fails (on m->ctx) with OUT_OF_MEMORY, or INTERNAL if the graph
 * is not causal. */
ds_status ds__pcnn_sample(const ds_model *m, const float *c, int64_t n, int64_t first,
                          uint64_t stream, int32_t method, int32_t greedy_mean, float *x);
/* Free the arenas a sampling call kept (at teardown). */
void ds__pcnn_sampler_free_kept(ds_model *m);

/* ---- initialisation (model/graph_data_init.c) ------------------------------------------ */

/* Data-dependent initialisation of every weighted op from x (rows, D) and c (rows, C) or
 * NULL (at most the first 16 rows are used). Without memory it leaves the weights
 * unchanged. */
void ds__pcnn_data_init(ds_model *m, const float *x, const float *c, int64_t rows);

#endif
