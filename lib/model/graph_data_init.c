/* Data-dependent initialisation of the image networks (PixelCNN++, masked PixelCNN), as
 * PixelCNN++ (Salimans et al. 2017, after Salimans & Kingma 2016) initialises its
 * weight-normalised layers: every convolution and transposed convolution, in the order of
 * the layer table, is run on the first batch and its output channels rescaled so that the
 * layer's own output (its pre-activation) has mean 0 and standard deviation g over the
 * batch and every position: w <- w g / std, b <- g (b - mean) / std. g is 0.1 for the
 * second convolution of a gated resnet (its [a, b] feeds the gate: the resnet starts near
 * the identity, as in the reference) and for the output head (the heads start near the
 * biases model_init.c sets from the data), 1 otherwise. Layers run one by one, so every
 * layer sees the rescaled ones before it. The libdsmooth networks have plain weights, so
 * the scale is folded into them; structurally zero (masked) weights stay 0.
 *
 * A layer accumulating into a tensor (out += conv(in): a resnet's skip nin, its
 * conditioning 1x1) is normalised on its own contribution, as the reference normalises
 * each layer before the sum. A layer without a bias (the conditioning 1x1) is only
 * scaled. A channel whose output is (almost) constant on the batch keeps its weights and is
 * only centred; a channel with non-finite statistics (only from non-finite data) is left
 * as it is.
 *
 * Deterministic whatever the thread count: the layers are the executor's (bitwise equal for
 * any thread count) and the statistics are summed on one thread in a fixed order in
 * double precision. */
#include <math.h>
#include <string.h>

#include "model/graph.h"

/* At most this many images of the first batch (the reference's init batch is 16), and at
 * most about DS__GRAPH_INIT_FLOATS floats of activations: the count depends on the
 * network only, never on the thread count. */
#define DS__GRAPH_INIT_ROWS 16
#define DS__GRAPH_INIT_FLOATS ((int64_t)64 << 20)
/* Scale g of the layers feeding a gate and of the head (see above). */
#define DS__GRAPH_INIT_SMALL 0.1
/* Below this variance (relative to the squared mean plus 1e-12) a channel is constant. */
#define DS__GRAPH_INIT_MIN_VAR 1e-10

static int64_t tensor_floats(const ds__graph *p, int32_t t, int64_t rows) {
  int32_t l = p->tensors[t].level;
  return rows * p->tensors[t].c * p->h[l] * p->w[l];
}

/* The scale g of op o's output (see the top). */
static double target_std(const ds__graph *p, int32_t o) {
  int32_t out = p->ops[o].out;
  if (out == p->head) return DS__GRAPH_INIT_SMALL;
  for (int32_t k = o + 1; k < p->op_count; k++)
    /* GATE only: the masked PixelCNN's TGATE inputs keep g = 1 (its initialisation since
       0.3; changing it would change every trained masked model's bits) */
    if (p->ops[k].kind == DS__OP_GATE && p->ops[k].in2 == out) return DS__GRAPH_INIT_SMALL;
  return 1.0;
}

/* Multiply output channel co's free weights of op o by s (conv weights (Cout, Cin, kh, kw),
 * transposed conv (Cin, Cout, kh, kw)). */
static void scale_channel(ds_model *m, const ds__graph_op *o, int64_t co, float s) {
  int64_t taps = o->kh * o->kw;
  for (int64_t ci = 0; ci < o->cin; ci++) {
    int64_t k0 = o->w_offset +
                 (ds__op_kind_of(o)->role == DS__ROLE_CONV ? (co * o->cin + ci) : (ci * o->cout + co)) * taps;
    for (int64_t k = k0; k < k0 + taps; k++)
      if (m->mask[k] != 0.0f) m->params[k] *= s;
  }
}

/* Normalise op o from its contribution y - before (before NULL: y) over rows images:
 * y, before (rows, cout, plane). */
static void normalise(ds_model *m, const ds__graph_op *o, double g, const float *y,
                      const float *before, int64_t rows, int64_t plane) {
  int64_t C = o->cout;
  double n = (double)(rows * plane);
  for (int64_t co = 0; co < C; co++) {
    double sum = 0.0, sq = 0.0;
    for (int64_t r = 0; r < rows; r++) {
      const float *a = y + (r * C + co) * plane, *b = before ? before + (r * C + co) * plane : NULL;
      for (int64_t q = 0; q < plane; q++) sum += (double)a[q] - (b ? (double)b[q] : 0.0);
    }
    double mean = sum / n;
    for (int64_t r = 0; r < rows; r++) {
      const float *a = y + (r * C + co) * plane, *b = before ? before + (r * C + co) * plane : NULL;
      for (int64_t q = 0; q < plane; q++) {
        double d = (double)a[q] - (b ? (double)b[q] : 0.0) - mean;
        sq += d * d;
      }
    }
    double var = sq / n, s = 1.0;
    if (!isfinite(mean) || !isfinite(var)) continue; /* keep the layer as it is */
    if ( var > DS__GRAPH_INIT_MIN_VAR * (mean * mean + 1e-12)) {
      s = g / sqrt(var);
      scale_channel(m, o, co, (float)s);
    }
    if (o->b_offset >= 0) {
      float *b = &m->params[o->b_offset + co];
      *b = (float)(s * ((double)*b - mean));
    }
  }
}

void ds__pcnn_data_init(ds_model *m, const float *x, const float *c, int64_t rows) {
  const ds__graph *p = ds__pcnn_of(m);
  int64_t cap = DS__GRAPH_INIT_FLOATS / (p->floats_per_row > 0 ? p->floats_per_row : 1);
  if (rows > DS__GRAPH_INIT_ROWS) rows = DS__GRAPH_INIT_ROWS;
  if (rows > cap) rows = cap < 1 ? 1 : cap;
  if (rows < 1) return;
  ds__model_ws ws;
  memset(&ws, 0, sizeof ws);
  if (ds__pcnn_ws_init(m, rows, &ws) != DS_OK) return; /* an optimisation only */
  int64_t before_floats = 1;
  for (int32_t i = 0; i < p->op_count; i++)
    if (p->ops[i].accumulate) { /* CONV only */
      int64_t f = tensor_floats(p, p->ops[i].out, rows);
      if (f > before_floats) before_floats = f;
    }
  float *before = ds__calloc(m->ctx, (size_t)before_floats, sizeof(float));
  if (!before) {
    ds__pcnn_ws_free(m, &ws);
    return;
  }
  ds__pcnn_ws_fill_inputs(m, &ws, x, c, rows);
  for (int32_t i = 0; i < p->op_count; i++) {
    const ds__graph_op *o = &p->ops[i];
    if (!ds__op_kind_of(o)->weights) {
      ds__pcnn_forward_op(m, &ws, i, rows);
      continue;
    }
    float *y = ds__pcnn_values(m, &ws, o->out);
    int64_t floats = tensor_floats(p, o->out, rows);
    int acc = o->accumulate;
    if (acc) memcpy(before, y, sizeof(float) * (size_t)floats);
    ds__pcnn_forward_op(m, &ws, i, rows);
    int32_t l = p->tensors[o->out].level;
    normalise(m, o, target_std(p, i), y, acc ? before : NULL, rows, p->h[l] * p->w[l]);
    /* again with the new weights, so that later layers see exactly the forward pass */
    if (acc) memcpy(y, before, sizeof(float) * (size_t)floats);
    ds__pcnn_forward_op(m, &ws, i, rows);
  }
  ds__free(m->ctx, before);
  ds__pcnn_ws_free(m, &ws);
}
