/* Model records inside checkpoints: the configuration, then the weights. */
#ifndef DS_MODEL_MODEL_IO_H
#define DS_MODEL_MODEL_IO_H

#include "model/checkpoint.h"
#include "model/model.h"

void ds__model_serialize(const ds_model *m, ds__writer *w);
/* Validates every field as the setters would; BAD_FORMAT with detail on anything odd. */
ds_status ds__model_deserialize(ds_context *ctx, const char *fn, ds__reader *r, ds_model **out);

#endif
