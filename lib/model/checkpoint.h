/* Checkpoint files: the container shared by models and trainers.
 *
 *   offset  size  field
 *   0       8     magic "DSMOOTH\x1a"
 *   8       4     format version (u32, currently 2; see docs/checkpoints.md)
 *   12      4     kind (u32: 1 model, 2 trainer)
 *   16      8     payload length L (u64)
 *   24      L     payload (little-endian fields, see model_io.c / trainer.c)
 *   24+L    4     CRC-32 (IEEE) of bytes [0, 24 + L)
 *
 * Writes resolve symlinks, go to a locked temporary file in the target's directory (mode
 * of the replaced file, or 0666 minus the umask), are fsync'd and renamed over the target:
 * readers see the old file or the new one, never half; stale temporaries of the target
 * are removed by the next save. Reads take regular files only and allocate no more than
 * the file holds. docs/checkpoints.md states all of it. */
#ifndef DS_MODEL_CHECKPOINT_H
#define DS_MODEL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "core/context.h"

/* 2: the PixelCNN++ section ends with the conditioning layout and convs (model_io.c);
 * version 1 files are read with their defaults.
 * 3: MADE's section ends with DS_MODEL_COND_SHARE, the model record with the smoothing it
 * was trained on (family, sigma), a trainer's record with its averaged weights (EMA);
 * version 1 and 2 files are read with none. */
#define DS__CHECKPOINT_VERSION 3u
enum { DS__CHECKPOINT_MODEL = 1, DS__CHECKPOINT_TRAINER = 2 };

/* Growable little-endian byte writer; on allocation failure `failed` is set and further
 * writes are ignored. */
typedef struct ds__writer {
  ds_context *ctx;
  uint8_t *data;
  size_t len, cap;
  int failed;
} ds__writer;

void ds__writer_u32(ds__writer *w, uint32_t v);
void ds__writer_u64(ds__writer *w, uint64_t v);
void ds__writer_f32(ds__writer *w, float v);
void ds__writer_f64(ds__writer *w, double v);
void ds__writer_floats(ds__writer *w, const float *v, int64_t count);
void ds__writer_free(ds__writer *w);

/* Bounds-checked reader: reading past the end sets `failed` and yields zeros. */
typedef struct ds__reader {
  const uint8_t *data;
  size_t len, pos;
  int failed;
  uint32_t version; /* format version of the file (set by ds__checkpoint_read) */
} ds__reader;

uint32_t ds__reader_u32(ds__reader *r);
uint64_t ds__reader_u64(ds__reader *r);
float ds__reader_f32(ds__reader *r);
double ds__reader_f64(ds__reader *r);
void ds__reader_floats(ds__reader *r, float *v, int64_t count);

uint32_t ds__crc32(const uint8_t *data, size_t len);

/* Write header + payload + CRC atomically to `path`. */
ds_status ds__checkpoint_write(ds_context *ctx, const char *fn, const char *path, uint32_t kind,
                               const ds__writer *payload);
/* Read and verify `path`; on success *payload is a buffer of the context's allocator the
 * caller frees, and *reader spans the payload. */
ds_status ds__checkpoint_read(ds_context *ctx, const char *fn, const char *path,
                              uint32_t kind, uint8_t **file, ds__reader *reader);

#endif
