/* Tiny masked PixelCNN models (DS_ARCH_PIXELCNN) for the tests. Include after test_util.h
 * (stripe_images: pixelcnn_fixtures.h). */
#ifndef DS_TEST_MASKED_PIXELCNN_FIXTURES_H
#define DS_TEST_MASKED_PIXELCNN_FIXTURES_H

typedef struct masked_spec {
  int64_t channels, h, w, filters, layers, K;
  int32_t head;        /* ds_head */
  int conditional;     /* COND_DIM = D */
  int gated;           /* DS_MODEL_GATED */
  int32_t activation;  /* RELU or ELU */
} masked_spec;

static inline ds_model *tiny_masked_pixelcnn(ds_context *ctx, const masked_spec *s) {
  ds_model_config *cfg = NULL;
  ds_model *m = NULL;
  assert_int_equal(ds_model_config_create(DS_ARCH_PIXELCNN, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_CHANNELS, s->channels), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEIGHT, s->h), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_WIDTH, s->w), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_FILTERS, s->filters), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_LAYERS, s->layers), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, s->K), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEAD, s->head), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_GATED, s->gated), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_ACTIVATION, s->activation), DS_OK);
  if (s->conditional)
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, s->channels * s->h * s->w),
                     DS_OK);
  /* the weights of 0.2 (seeded by the context): with 4 ReLU filters some random draws
     block a perturbation's path, which the causality tests would read as "no effect" */
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_SEED, (int64_t)ds_context_seed(ctx)),
                   DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
  ds_model_config_free(cfg);
  return m;
}

#endif
