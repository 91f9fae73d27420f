/* The non-finite policy of the layer graph (model/graph.h, "Non-finite activations"). */
#include "core/finite.h"
#include "model/graph.h"

int32_t ds__graph_dead_tap_overflow(const ds__graph *g, const float *vals, int64_t capacity,
                                    int64_t row) {
  for (int32_t i = 0; i < g->op_count; i++) {
    const ds__graph_op *o = &g->ops[i];
    if (ds__op_kinds[o->kind].role != DS__ROLE_CONV || o->mask == DS__OP_MASK_NONE) continue;
    const ds__graph_tensor *t = &g->tensors[o->in];
    int64_t n = t->c * g->h[t->level] * g->w[t->level];
    if (ds__first_nonfinite_f32(vals + capacity * t->offset + row * n, n) >= 0) return i;
  }
  return -1;
}
