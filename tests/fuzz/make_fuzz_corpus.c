/* Seed corpora for the fuzz targets, made through the public API:
 *   make_fuzz_corpus DIR   writes DIR/model/ (a .ckpt per architecture, head and
 *                          conditioning layout, small) and DIR/trainer/ (the
 *                          fixture trainers of fuzz_fixtures.h, fresh and after steps). */
#include <errno.h>
#include <sys/stat.h>

#include "fuzz_fixtures.h"

static ds_context *ctx;

static void need(ds_status st, const char *what) {
  if (st != DS_OK) {
    fprintf(stderr, "make_fuzz_corpus: %s: %s\n", what, ds_context_last_error(ctx));
    exit(1);
  }
}

typedef struct image_spec {
  const char *name;
  int32_t arch, head, layout;
  int64_t channels, h, w, cond, convs, extra; /* extra: resnets (PixelCNN++) / gated (PixelCNN) */
} image_spec;

static void save_image_model(const char *dir, const image_spec *s) {
  ds_model_config *cfg = NULL;
  ds_model *m = NULL;
  char path[512];
  need(ds_model_config_create(s->arch, &cfg), "config");
  need(ds_model_config_set_int(cfg, DS_MODEL_CHANNELS, s->channels), s->name);
  need(ds_model_config_set_int(cfg, DS_MODEL_HEIGHT, s->h), s->name);
  need(ds_model_config_set_int(cfg, DS_MODEL_WIDTH, s->w), s->name);
  need(ds_model_config_set_int(cfg, DS_MODEL_FILTERS, 4), s->name);
  need(ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, 2), s->name);
  need(ds_model_config_set_int(cfg, DS_MODEL_HEAD, s->head), s->name);
  if (s->arch == DS_ARCH_PIXELCNNPP) {
    need(ds_model_config_set_int(cfg, DS_MODEL_RESNETS, s->extra), s->name);
  } else {
    need(ds_model_config_set_int(cfg, DS_MODEL_LAYERS, 1), s->name);
    need(ds_model_config_set_int(cfg, DS_MODEL_GATED, s->extra), s->name);
  }
  if (s->cond) {
    need(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, s->channels * s->h * s->w), s->name);
    if (s->arch == DS_ARCH_PIXELCNNPP) {
      need(ds_model_config_set_int(cfg, DS_MODEL_COND_LAYOUT, s->layout), s->name);
      need(ds_model_config_set_int(cfg, DS_MODEL_COND_CONVS, s->convs), s->name);
    }
  }
  need(ds_model_create(ctx, cfg, &m), s->name);
  snprintf(path, sizeof path, "%s/model/%s.ckpt", dir, s->name);
  need(ds_model_save(m, path), path);
  ds_model_free(m);
  ds_model_config_free(cfg);
}

static void save_made(const char *dir, const char *name, int64_t D, int64_t C, int32_t head) {
  ds_model_config *cfg = NULL;
  ds_model *m = NULL;
  char path[512];
  int64_t widths[2] = {8, 6};
  need(ds_model_config_create(DS_ARCH_MADE, &cfg), "config");
  need(ds_model_config_set_int(cfg, DS_MODEL_DIM, D), name);
  need(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, C), name);
  need(ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, 2), name);
  need(ds_model_config_set_int(cfg, DS_MODEL_HEAD, head), name);
  need(ds_model_config_set_hidden(cfg, widths, 2), name);
  need(ds_model_create(ctx, cfg, &m), name);
  snprintf(path, sizeof path, "%s/model/%s.ckpt", dir, name);
  need(ds_model_save(m, path), path);
  ds_model_free(m);
  ds_model_config_free(cfg);
}

static void save_trainers(const char *dir) {
  float x[FUZZ_DATA_N * 16];
  fuzz_data(x, FUZZ_DATA_N * 16);
  for (int which = 0; which < FUZZ_TRAINERS; which++) {
    fuzz_trainer f;
    fuzz_trainer_open(ctx, which, &f);
    for (int steps = 0; steps <= 3; steps += 3) {
      char path[512];
      if (steps) need(ds_trainer_train(f.trainer, x, NULL, FUZZ_DATA_N, steps, NULL), "train");
      snprintf(path, sizeof path, "%s/trainer/trainer%d_step%d.ckpt", dir, which, steps);
      need(ds_trainer_save(f.trainer, path), path);
    }
    fuzz_trainer_close(&f);
  }
}

static void make_dir(const char *dir, const char *sub) {
  char path[512];
  snprintf(path, sizeof path, "%s%s", dir, sub);
  if (mkdir(path, 0755) != 0 && errno != EEXIST) {
    perror(path);
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_fuzz_corpus DIR\n");
    return 2;
  }
  ctx = fuzz_context(0);
  make_dir(argv[1], "");
  make_dir(argv[1], "/model");
  make_dir(argv[1], "/trainer");
  save_made(argv[1], "made_continuous", 3, 0, DS_HEAD_CONTINUOUS);
  save_made(argv[1], "made_discretized", 3, 0, DS_HEAD_DISCRETIZED);
  save_made(argv[1], "made_conditional", 2, 2, DS_HEAD_CONTINUOUS);
  static const image_spec images[] = {
      {"pixelcnnpp", DS_ARCH_PIXELCNNPP, DS_HEAD_CONTINUOUS, 0, 1, 4, 4, 0, 0, 1},
      {"pixelcnnpp_rgb", DS_ARCH_PIXELCNNPP, DS_HEAD_DISCRETIZED, 0, 3, 4, 4, 0, 0, 1},
      {"pixelcnnpp_cond", DS_ARCH_PIXELCNNPP, DS_HEAD_CONTINUOUS, DS_COND_CHANNELS, 1, 4, 4, 1, 0, 1},
      {"pixelcnnpp_cond_convs", DS_ARCH_PIXELCNNPP, DS_HEAD_DISCRETIZED, DS_COND_CHANNELS, 1, 4, 5, 1, 1, 1},
      {"pixelcnnpp_stacked", DS_ARCH_PIXELCNNPP, DS_HEAD_CONTINUOUS, DS_COND_STACKED, 1, 5, 4, 1, 0, 1},
      {"pixelcnn", DS_ARCH_PIXELCNN, DS_HEAD_CONTINUOUS, 0, 1, 4, 4, 0, 0, 0},
      {"pixelcnn_gated_rgb", DS_ARCH_PIXELCNN, DS_HEAD_DISCRETIZED, 0, 3, 4, 4, 0, 0, 1},
      {"pixelcnn_cond", DS_ARCH_PIXELCNN, DS_HEAD_CONTINUOUS, 0, 1, 4, 4, 1, 0, 1},
  };
  for (size_t i = 0; i < sizeof images / sizeof images[0]; i++) save_image_model(argv[1], &images[i]);
  save_trainers(argv[1]);
  ds_context_free(ctx);
  return 0;
}
