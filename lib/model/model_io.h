/* Model records inside checkpoints: the configuration, then the weights. */
#ifndef DS_MODEL_MODEL_IO_H
#define DS_MODEL_MODEL_IO_H

#include "model/checkpoint.h"
#include "model/model.h"

void ds__model_serialize(const ds_model *m, ds__writer *w);
/* Validates every field as the setters would; BAD_FORMAT with detail on anything odd. */
ds_status ds__model_deserialize(ds_context *ctx, const char *fn, ds__reader *r, ds_model **out);
/* Read and verify checkpoint `path` of `kind` and the model record it starts with (a model
 * file, or a trainer file's model). On success *out is the model, *file the payload buffer
 * (the caller frees it with ds__free) and *r is positioned after the record; on failure
 * nothing is left allocated. */
ds_status ds__model_read_file(ds_context *ctx, const char *fn, const char *path, uint32_t kind,
                              uint8_t **file, ds__reader *r, ds_model **out);

#endif
