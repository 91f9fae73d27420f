/* MADE: a masked MLP whose output block for dimension d depends only on x_<d (and on the
 * unmasked conditioning input c). Germain et al., ICML 2015.
 *
 * Parameters live in one flat float array: for each layer l, W_l (out_l, in_l) row-major,
 * then b_l (out_l). Masked weights are kept at exactly 0 (their gradients are masked), so
 * the forward pass is a plain dense product. The last layer's output for dimension d is
 * the P = group_params head parameters (3K [logits, means, log-scales] for the mixture
 * heads, model/head.h) at columns [P d, P (d + 1)). */
#ifndef DS_MODEL_MADE_H
#define DS_MODEL_MADE_H

#include <stdint.h>

#include "model/config.h"

typedef struct ds__made_layer {
  int64_t in, out;
  int64_t w_offset, b_offset;
  int32_t residual; /* hidden layer with out == in: h = h_prev + act(z) */
} ds__made_layer;

typedef struct ds__made {
  int32_t layer_count; /* hidden layers + the output layer */
  ds__made_layer layer[DS__MAX_HIDDEN_LAYERS + 1];
  int64_t dim, cond_dim, in_dim, out_dim; /* in_dim = D + C, out_dim = group_params D */
  int64_t param_count;
  int32_t activation;
  float cond_share;       /* > 0: share of each hidden layer's units of degree 0 (C > 0, D >= 2) */
  int64_t widest;         /* max(D + C, every layer width) */
  int64_t floats_per_row; /* buffer floats one row needs in ds__made_buffers */
} ds__made;

/* The layout for cfg with group_params head parameters per dimension. */
void ds__made_layout(ds__made *m, const ds_model_config *cfg, int64_t group_params);
/* mask (param_count): 1 where a weight may be non-zero, 0 where MADE forbids it; biases 1.
 * Hidden unit k of every layer has degree deg(k) cycling through [lo, D - 1], lo = 0 when
 * there is a conditioning input (those units see only c) or D = 1, else 1. With
 * cond_share > 0 the first round(cond_share * width) units (at least 1, at most width - 1)
 * have degree 0 and the others cycle through [1, D - 1]. */
void ds__made_masks(const ds__made *m, float *mask);
/* Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) weights from (seed, init stream), then masked. */
void ds__made_init(const ds__made *m, uint64_t seed, const float *mask, float *params);

/* Per-batch activations, all (capacity, width) row-major. */
typedef struct ds__made_buffers {
  int64_t capacity;
  float *input;                         /* (cap, D + C)          */
  float *z[DS__MAX_HIDDEN_LAYERS + 1];  /* pre-activations        */
  float *h[DS__MAX_HIDDEN_LAYERS];      /* hidden outputs         */
  float *dz[DS__MAX_HIDDEN_LAYERS + 1]; /* loss gradient wrt z_l  */
  float *dh;                            /* (cap, max width) scratch */
  float *dh2;
} ds__made_buffers;

/* Carve buffers for `capacity` rows out of `storage` (capacity * floats_per_row floats). */
void ds__made_buffers_bind(const ds__made *m, int64_t capacity, float *storage,
                           ds__made_buffers *buf);

/* Rows [r0, r1): input = [x, c], forward through every layer; z[last] = head parameters.
 * x (rows, D) and c (rows, C) point at row r0 already; c NULL when C = 0. */
void ds__made_forward_rows(const ds__made *m, const float *params, const float *x,
                           const float *c, int64_t r0, int64_t r1, ds__made_buffers *buf);
/* Rows [r0, r1): given dz[last] (gradient wrt head parameters), fill dz[l] for every
 * layer and, if d_x is not NULL, the gradient wrt x (rows, D), pointing at row r0. */
void ds__made_backward_rows(const ds__made *m, const float *params, int64_t r0, int64_t r1,
                            ds__made_buffers *buf, float *d_x);
/* grad (param_count) = sum over rows [0, rows) of dz^T [input or h]: part t of T of the
 * weight rows, so threads never share an element; masked entries set to 0. */
void ds__made_weight_grads(const ds__made *m, const float *mask, int64_t rows,
                           const ds__made_buffers *buf, float *grad, int32_t t, int32_t T);

#endif
