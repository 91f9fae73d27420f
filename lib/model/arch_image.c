/* What the image architectures on the layer graph (PixelCNN++ and the masked PixelCNN,
 * model/graph.h) share behind the architecture table, over the executor's entry points:
 * head groups of `channels` dimensions (one per pixel), blocking, the data-dependent
 * initialisation of every layer, the head convolution's bias. */
#include "core/pool.h"
#include "model/arch.h"
#include "model/model.h"
#include "model/graph.h"

int32_t ds__image_group_dims(const ds_model_config *cfg) { return cfg->channels; }

int64_t ds__image_block_rows(const ds_model *m) {
  return ds__pixelcnn_block_rows(ds__pcnn_of(m), ds__pool_threads(m->ctx->pool));
}

void ds__image_data_init(ds_model *m, const float *x, const float *c, int64_t rows) {
  ds__pcnn_data_init(m, x, m->cfg.cond_dim > 0 ? c : NULL, rows);
}

/* The last convolution writing the head tensor: one bias for every pixel. */
int64_t ds__image_head_bias(const ds_model *m, int32_t *shared) {
  const ds__graph *p = ds__pcnn_of(m);
  *shared = 1;
  for (int32_t o = p->op_count - 1; o >= 0; o--)
    if (p->ops[o].kind == DS__OP_CONV && p->ops[o].out == p->head) return p->ops[o].b_offset;
  return -1;
}
