/* What the image architectures on the layer executor (PixelCNN++ and the masked PixelCNN,
 * model/pixelcnn.h) share behind the architecture table, over the executor's entry points:
 * head groups of `channels` dimensions (one per pixel), blocking, the data-dependent
 * initialisation of every layer, the head convolution's bias. Their checkpoint sections
 * are here too (docs/checkpoints.md). */
#include "core/pool.h"
#include "model/arch.h"
#include "model/model.h"
#include "model/pixelcnn.h"

int32_t ds__image_group_dims(const ds_model_config *cfg) { return cfg->channels; }

int64_t ds__image_block_rows(const ds_model *m) {
  return ds__pixelcnn_block_rows(ds__pcnn_of(m), ds__pool_threads(m->ctx->pool));
}

void ds__image_data_init(ds_model *m, const float *x, const float *c, int64_t rows) {
  ds__pcnn_data_init(m, x, m->cfg.cond_dim > 0 ? c : NULL, rows);
}

/* The last convolution writing the head tensor: one bias for every pixel. */
int64_t ds__image_head_bias(const ds_model *m, int32_t *shared) {
  const ds__pixelcnn *p = ds__pcnn_of(m);
  *shared = 1;
  for (int32_t o = p->op_count - 1; o >= 0; o--)
    if (p->ops[o].kind == DS__PCNN_CONV && p->ops[o].out == p->head) return p->ops[o].b_offset;
  return -1;
}

/* After the shared record: the image shape, then each architecture's options. */
#define IMAGE_SHAPE_FIELDS                                                                 \
  DS__ARCH_FIELD(DS_MODEL_CHANNELS, 1, channels), DS__ARCH_FIELD(DS_MODEL_HEIGHT, 1, height), \
      DS__ARCH_FIELD(DS_MODEL_WIDTH, 1, width), DS__ARCH_FIELD(DS_MODEL_FILTERS, 1, filters)

/* PixelCNN++: the conditioning layout and convs since format version 2. */
static const ds__arch_field pixelcnnpp_fields[] = {
    IMAGE_SHAPE_FIELDS,
    DS__ARCH_FIELD(DS_MODEL_RESNETS, 1, resnets),
    DS__ARCH_FIELD(DS_MODEL_DROPOUT, 1, dropout),
    DS__ARCH_FIELD(DS_MODEL_COND_LAYOUT, 2, cond_layout),
    DS__ARCH_FIELD(DS_MODEL_COND_CONVS, 2, cond_convs),
};
const ds__arch_section ds__pixelcnnpp_section = DS__ARCH_SECTION("image", pixelcnnpp_fields);

static const ds__arch_field pixelcnn_masked_fields[] = {
    IMAGE_SHAPE_FIELDS,
    DS__ARCH_FIELD(DS_MODEL_LAYERS, 1, layers),
    DS__ARCH_FIELD(DS_MODEL_GATED, 1, gated),
};
const ds__arch_section ds__pixelcnn_masked_section =
    DS__ARCH_SECTION("image", pixelcnn_masked_fields);
