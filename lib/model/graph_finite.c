/* The non-finite policy of the layer graph (model/graph.h, "Non-finite activations"). */
#include <string.h>

#include "model/graph.h"

/* 1 when x (n) holds no NaN or infinity. An element's exponent field plus one unit of it
 * carries into bit 31 exactly when the field is all ones (Inf, NaN); OR-ed over x without
 * an early exit (and/add/or only, so the compiler vectorises it even for SSE2): the scan
 * runs after every forward pass of a masked network. */
static int all_finite(const float *x, int64_t n) {
  uint32_t any = 0;
  for (int64_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &x[i], sizeof u);
    any |= (u & 0x7f800000u) + 0x00800000u;
  }
  return !(any & 0x80000000u);
}

int32_t ds__graph_dead_tap_overflow(const ds__graph *g, const float *vals, int64_t capacity,
                                    int64_t row) {
  for (int32_t i = 0; i < g->op_count; i++) {
    const ds__graph_op *o = &g->ops[i];
    if (ds__op_kinds[o->kind].role != DS__ROLE_CONV || o->mask == DS__OP_MASK_NONE) continue;
    const ds__graph_tensor *t = &g->tensors[o->in];
    int64_t n = t->c * g->h[t->level] * g->w[t->level];
    if (!all_finite(vals + capacity * t->offset + row * n, n)) return i;
  }
  return -1;
}
