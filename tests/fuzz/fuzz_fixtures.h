/* What the fuzz targets and the seed-corpus generator share: the fixed trainers a fuzzed
 * trainer file is resumed into, the context limits, and the checkpoint CRC
 * (../checkpoint_crc.h, shared with the tests that patch files). */
#ifndef DS_FUZZ_FIXTURES_H
#define DS_FUZZ_FIXTURES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../checkpoint_crc.h"
#include "dsmooth.h"

/* Every evaluation stays below this: a file declaring a huge model must fail cleanly
 * (DS_ERR_OUT_OF_MEMORY), not take the fuzzer down. */
#define FUZZ_MEMORY_LIMIT ((uint64_t)48 << 20)

static inline void fuzz_die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz oracle violated: %s (%s)\n", what, detail ? detail : "");
  abort();
}

static inline ds_context *fuzz_context(uint64_t limit) {
  ds_context_options *o = NULL;
  ds_context *ctx = NULL;
  if (ds_context_options_create(&o) || ds_context_options_set_threads(o, 1) ||
      ds_context_options_set_seed(o, 11) || ds_context_options_set_memory_limit(o, limit) ||
      ds_context_create(o, &ctx))
    fuzz_die("cannot create the context", ds_context_last_error(NULL));
  ds_context_options_free(o);
  return ctx;
}

/* The trainers a trainer file can be resumed into (index 0: MADE direct, 1: PixelCNN
 * stage 1 with a smoother). Same configurations in the generator and the target. */
#define FUZZ_TRAINERS 2
#define FUZZ_DATA_N 16

typedef struct fuzz_trainer {
  ds_model *model;
  ds_smoother *smoother;
  ds_trainer *trainer;
} fuzz_trainer;

static inline ds_model *fuzz_trainer_model(ds_context *ctx, int which) {
  ds_model_config *cfg = NULL;
  ds_model *m = NULL;
  if (which == 0) {
    int64_t widths[2] = {8, 8};
    ds_model_config_create(DS_ARCH_MADE, &cfg);
    ds_model_config_set_int(cfg, DS_MODEL_DIM, 3);
    ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, 2);
    ds_model_config_set_hidden(cfg, widths, 2);
  } else {
    ds_model_config_create(DS_ARCH_PIXELCNN, &cfg);
    ds_model_config_set_int(cfg, DS_MODEL_CHANNELS, 1);
    ds_model_config_set_int(cfg, DS_MODEL_HEIGHT, 4);
    ds_model_config_set_int(cfg, DS_MODEL_WIDTH, 4);
    ds_model_config_set_int(cfg, DS_MODEL_FILTERS, 4);
    ds_model_config_set_int(cfg, DS_MODEL_LAYERS, 1);
    ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, 2);
  }
  if (ds_model_create(ctx, cfg, &m)) fuzz_die("cannot create a fixture model", ds_context_last_error(ctx));
  ds_model_config_free(cfg);
  return m;
}

static inline int fuzz_trainer_open(ds_context *ctx, int which, fuzz_trainer *f) {
  memset(f, 0, sizeof *f);
  ds_trainer_config *tc = NULL;
  f->model = fuzz_trainer_model(ctx, which);
  if (which == 1 && ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.3, &f->smoother))
    fuzz_die("cannot create the smoother", ds_context_last_error(ctx));
  ds_trainer_config_create(&tc);
  ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 4);
  ds_trainer_config_set_int(tc, DS_TRAIN_TOTAL_STEPS, 50);
  ds_trainer_config_set_float(tc, DS_TRAIN_CLIP_NORM, 10.0);
  if (ds_trainer_create(f->model, tc, f->smoother, &f->trainer))
    fuzz_die("cannot create a fixture trainer", ds_context_last_error(ctx));
  ds_trainer_config_free(tc);
  return 0;
}

static inline void fuzz_trainer_close(fuzz_trainer *f) {
  ds_trainer_free(f->trainer);
  ds_smoother_free(f->smoother);
  ds_model_free(f->model);
}

/* Deterministic data in [-1, 1] for D dimensions. */
static inline void fuzz_data(float *x, int64_t count) {
  uint32_t s = 12345;
  for (int64_t i = 0; i < count; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = (float)((double)(s >> 8) / 8388608.0 - 1.0);
  }
}

/* Write bytes to path; with fix_crc, replace the last 4 bytes by the CRC of the rest so
 * that mutations reach the parser behind the checksum. */
static inline void fuzz_write(const char *path, const uint8_t *data, size_t size, int fix_crc) {
  FILE *f = fopen(path, "wb");
  if (!f) fuzz_die("cannot write the input file", path);
  if (fix_crc && size >= 28) {
    uint32_t c = checkpoint_crc32(data, size - 4);
    uint8_t tail[4] = {(uint8_t)c, (uint8_t)(c >> 8), (uint8_t)(c >> 16), (uint8_t)(c >> 24)};
    fwrite(data, 1, size - 4, f);
    fwrite(tail, 1, 4, f);
  } else if (size) {
    fwrite(data, 1, size, f);
  }
  fclose(f);
}

/* A private directory for the input files, in memory when /dev/shm exists (saves fsync
 * there; on disk they would dominate the run time), so that a save's scan for stale
 * temporaries reads a directory of two files. */
static inline void fuzz_path(char *out, size_t size, const char *name) {
  static char dir[64];
  if (!dir[0]) {
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/ds_fuzz_%d", base, (int)getpid());
    mkdir(dir, 0700);
  }
  snprintf(out, size, "%s/%s", dir, name);
}

static inline int fuzz_is_expected_failure(ds_status st) {
  return st == DS_ERR_BAD_FORMAT || st == DS_ERR_UNSUPPORTED_VERSION || st == DS_ERR_IO ||
         st == DS_ERR_OUT_OF_MEMORY || st == DS_ERR_SHAPE_MISMATCH;
}

#endif
