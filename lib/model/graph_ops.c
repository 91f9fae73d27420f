/* The op-kind table of the layer graph (model/graph.h): what each kind reads, owns and
 * produces, and the kernels of the POINTWISE and SHIFT kinds in the one signature the
 * executor (planar, plane = H_l * W_l) and the cached sampler (gathered positions,
 * plane = 1) both call. To add a pointwise kind: its DS__OP_* value (appended), its
 * kernels, one entry below. */
#include <string.h>

#include "kernels/pointwise.h"
#include "kernels/vec_math.h"
#include "model/graph.h"

/* ---- y (=|+=) a + b over n floats, in fixed chunks on the pool ------------------------- */

typedef struct add_job {
  int64_t n;
  const float *a, *b;
  float *y;
  int32_t accumulate;
} add_job;

/* b may be NULL (y (=|+=) a + 0, the backward pass's copy of dy). */
static void add_part(void *arg, int32_t t, int32_t threads) {
  const add_job *j = arg;
  int64_t i0, i1;
  ds__split_range(j->n, t, threads, &i0, &i1);
  for (int64_t i = i0; i < i1; i++) {
    float v = j->a[i] + (j->b ? j->b[i] : 0.0f);
    j->y[i] = j->accumulate ? j->y[i] + v : v;
  }
}

static void add(ds__pool *pool, int64_t n, const float *a, const float *b, float *y,
                int32_t accumulate) {
  add_job j = {n, a, b, y, accumulate};
  ds__pool_run(pool, add_part, &j);
}

/* ---- adapters: (rows, c, plane) planar, b has c2 channels ------------------------------ */

static void add_fwd(ds__pool *pool, int64_t rows, int64_t c, int64_t c2, int64_t plane,
                    const float *a, const float *b, float *y) {
  (void)c2;
  add(pool, rows * c * plane, a, b, y, 0);
}

static void add_rows(int64_t rows, int64_t c, int64_t c2, const float *a, const float *b,
                     float *y, float *scratch) {
  (void)c2, (void)scratch;
  for (int64_t i = 0; i < c * rows; i++) y[i] = a[i] + b[i];
}

static void add_bwd(ds__pool *pool, int64_t rows, int64_t c, int64_t c2, int64_t plane,
                    const float *a, const float *b, const float *y, const float *dy,
                    float *da, float *db, int acc, int acc2) {
  (void)c2, (void)a, (void)b, (void)y;
  add(pool, rows * c * plane, dy, NULL, da, acc);
  add(pool, rows * c * plane, dy, NULL, db, acc2);
}

static void celu_fwd(ds__pool *pool, int64_t rows, int64_t c, int64_t c2, int64_t plane,
                     const float *a, const float *b, float *y) {
  (void)c2, (void)b;
  ds__concat_elu_forward(pool, rows, c, plane, a, y);
}

/* As kernels/pointwise.c's concat_elu, e = expm1(-|v|) once for both halves, vectorised
 * over the gathered (rows, c) values instead of one call per 1-pixel plane. */
static void celu_rows(int64_t rows, int64_t c, int64_t c2, const float *a, const float *b,
                      float *y, float *e) {
  (void)c2, (void)b;
  ds__expm1_neg_abs(a, e, c * rows);
  for (int64_t j = 0; j < rows; j++)
    for (int64_t k = 0; k < c; k++) {
      float v = a[j * c + k], ek = e[j * c + k];
      y[j * 2 * c + k] = v > 0.0f ? v : ek;
      y[j * 2 * c + c + k] = v < 0.0f ? -v : ek;
    }
}

static void celu_bwd(ds__pool *pool, int64_t rows, int64_t c, int64_t c2, int64_t plane,
                     const float *a, const float *b, const float *y, const float *dy,
                     float *da, float *db, int acc, int acc2) {
  (void)c2, (void)b, (void)db, (void)acc2;
  /* y NULL: the executor's output was changed in place (dropout): recompute from a */
  if (y) ds__concat_elu_backward_from_y(pool, rows, c, plane, a, y, dy, da, acc);
  else ds__concat_elu_backward(pool, rows, c, plane, a, dy, da, acc);
}

/* Elementwise kinds: one flat kernel over rows * c * plane floats; backward from y. */
#define ELEMENTWISE_KIND(name, forward_kernel, backward_kernel)                              \
  static void name##_fwd(ds__pool *pool, int64_t rows, int64_t c, int64_t c2, int64_t plane, \
                         const float *a, const float *b, float *y) {                         \
    (void)c2, (void)b;                                                                       \
    forward_kernel(pool, rows * c * plane, a, y);                                            \
  }                                                                                          \
  static void name##_bwd(ds__pool *pool, int64_t rows, int64_t c, int64_t c2, int64_t plane, \
                         const float *a, const float *b, const float *y, const float *dy,    \
                         float *da, float *db, int acc, int acc2) {                          \
    (void)c2, (void)a, (void)b, (void)db, (void)acc2;                                        \
    backward_kernel(pool, rows * c * plane, y, dy, da, acc);                                 \
  }
ELEMENTWISE_KIND(elu, ds__elu_forward, ds__elu_backward)
ELEMENTWISE_KIND(relu, ds__relu_forward, ds__relu_backward)

/* Gated residuals y = a + f(u) * sigmoid(v), [u, v] = b: the kernels read b, overwrite
 * d(b) whatever acc2 says (they are its only reader) and add into da with acc. */
#define GATE_KIND(name, forward_kernel, backward_kernel)                                     \
  static void name##_fwd(ds__pool *pool, int64_t rows, int64_t c, int64_t c2, int64_t plane, \
                         const float *a, const float *b, float *y) {                         \
    (void)c2;                                                                                \
    forward_kernel(pool, rows, c, plane, a, b, y);                                           \
  }                                                                                          \
  static void name##_bwd(ds__pool *pool, int64_t rows, int64_t c, int64_t c2, int64_t plane, \
                         const float *a, const float *b, const float *y, const float *dy,    \
                         float *da, float *db, int acc, int acc2) {                          \
    (void)c2, (void)a, (void)y, (void)acc2;                                                  \
    backward_kernel(pool, rows, c, plane, b, dy, da, db, acc);                               \
  }
GATE_KIND(gate, ds__gate_forward, ds__gate_backward)
GATE_KIND(tgate, ds__tanh_gate_forward, ds__tanh_gate_backward)

static void concat_fwd(ds__pool *pool, int64_t rows, int64_t c, int64_t c2, int64_t plane,
                       const float *a, const float *b, float *y) {
  ds__concat_channels_forward(pool, rows, c, c2, plane, a, b, y);
}

static void concat_rows(int64_t rows, int64_t c, int64_t c2, const float *a, const float *b,
                        float *y, float *scratch) {
  (void)scratch;
  for (int64_t j = 0; j < rows; j++) {
    memcpy(y + j * (c + c2), a + j * c, sizeof(float) * (size_t)c);
    memcpy(y + j * (c + c2) + c, b + j * c2, sizeof(float) * (size_t)c2);
  }
}

static void concat_bwd(ds__pool *pool, int64_t rows, int64_t c, int64_t c2, int64_t plane,
                       const float *a, const float *b, const float *y, const float *dy,
                       float *da, float *db, int acc, int acc2) {
  (void)a, (void)b, (void)y;
  ds__concat_channels_backward(pool, rows, c, c2, plane, dy, da, NULL, acc);
  ds__concat_channels_backward(pool, rows, c, c2, plane, dy, NULL, db, acc2);
}

/* name, arity, weights, role, channels, shift_y, shift_x,
 * forward, forward_rows, backward, shift, shift_backward */
const ds__op_kind ds__op_kinds[DS__OP_KIND_COUNT] = {
    [DS__OP_CONV] = {"conv", 1, 1, DS__ROLE_CONV, DS__CHANNELS_COUT, 0, 0,
                     NULL, NULL, NULL, NULL, NULL},
    [DS__OP_DECONV] = {"deconv", 1, 1, DS__ROLE_DECONV, DS__CHANNELS_COUT, 0, 0,
                       NULL, NULL, NULL, NULL, NULL},
    [DS__OP_CELU] = {"concat_elu", 1, 0, DS__ROLE_POINTWISE, DS__CHANNELS_DOUBLE, 0, 0,
                     celu_fwd, celu_rows, celu_bwd, NULL, NULL},
    [DS__OP_ELU] = {"elu", 1, 0, DS__ROLE_POINTWISE, DS__CHANNELS_SAME, 0, 0,
                    elu_fwd, NULL, elu_bwd, NULL, NULL},
    [DS__OP_DSHIFT] = {"down_shift", 1, 0, DS__ROLE_SHIFT, DS__CHANNELS_SAME, 1, 0,
                       NULL, NULL, NULL, ds__down_shift_forward, ds__down_shift_backward},
    [DS__OP_RSHIFT] = {"right_shift", 1, 0, DS__ROLE_SHIFT, DS__CHANNELS_SAME, 0, 1,
                       NULL, NULL, NULL, ds__right_shift_forward, ds__right_shift_backward},
    [DS__OP_ADD] = {"add", 2, 0, DS__ROLE_POINTWISE, DS__CHANNELS_SAME, 0, 0,
                    add_fwd, add_rows, add_bwd, NULL, NULL},
    [DS__OP_GATE] = {"gate", 2, 0, DS__ROLE_POINTWISE, DS__CHANNELS_SAME, 0, 0,
                     gate_fwd, NULL, gate_bwd, NULL, NULL},
    [DS__OP_CONCAT] = {"concat", 2, 0, DS__ROLE_POINTWISE, DS__CHANNELS_SUM, 0, 0,
                       concat_fwd, concat_rows, concat_bwd, NULL, NULL},
    [DS__OP_DROPOUT] = {"dropout", 1, 0, DS__ROLE_DROPOUT, DS__CHANNELS_SAME, 0, 0,
                        NULL, NULL, NULL, NULL, NULL},
    [DS__OP_AVGPOOL] = {"avgpool", 1, 0, DS__ROLE_POOL, DS__CHANNELS_SAME, 0, 0,
                        NULL, NULL, NULL, NULL, NULL},
    [DS__OP_RELU] = {"relu", 1, 0, DS__ROLE_POINTWISE, DS__CHANNELS_SAME, 0, 0,
                     relu_fwd, NULL, relu_bwd, NULL, NULL},
    [DS__OP_TGATE] = {"tanh_gate", 2, 0, DS__ROLE_POINTWISE, DS__CHANNELS_SAME, 0, 0,
                      tgate_fwd, NULL, tgate_bwd, NULL, NULL},
};
