/* Tiny PixelCNN++ models for the tests. Include after test_util.h. */
#ifndef DS_TEST_PIXELCNN_FIXTURES_H
#define DS_TEST_PIXELCNN_FIXTURES_H

/* Conditional variants of the tests: how x~ enters (DS_MODEL_COND_LAYOUT, _COND_CONVS). */
typedef struct tiny_cond {
  int conditional;
  int32_t layout;
  int64_t convs;
} tiny_cond;
#define TINY_UNCONDITIONAL ((tiny_cond){0, DS_COND_CHANNELS, 0})
#define TINY_CHANNELS ((tiny_cond){1, DS_COND_CHANNELS, 0})
#define TINY_COND_CONVS ((tiny_cond){1, DS_COND_CHANNELS, 2})
#define TINY_STACKED ((tiny_cond){1, DS_COND_STACKED, 0})

static inline ds_model *tiny_pixelcnn_cond(ds_context *ctx, int64_t channels, int64_t h,
                                           int64_t w, int64_t filters, int64_t resnets,
                                           int64_t K, int32_t head, tiny_cond cond,
                                           double dropout) {
  ds_model_config *cfg = NULL;
  ds_model *m = NULL;
  assert_int_equal(ds_model_config_create(DS_ARCH_PIXELCNNPP, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_CHANNELS, channels), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEIGHT, h), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_WIDTH, w), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_FILTERS, filters), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_RESNETS, resnets), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, K), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEAD, head), DS_OK);
  if (cond.conditional) {
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, channels * h * w), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_LAYOUT, cond.layout), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_CONVS, cond.convs), DS_OK);
  }
  assert_int_equal(ds_model_config_set_float(cfg, DS_MODEL_DROPOUT, dropout), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
  ds_model_config_free(cfg);
  return m;
}

static inline ds_model *tiny_pixelcnn(ds_context *ctx, int64_t channels, int64_t h, int64_t w,
                                      int64_t filters, int64_t resnets, int64_t K, int32_t head,
                                      int conditional, double dropout) {
  return tiny_pixelcnn_cond(ctx, channels, h, w, filters, resnets, K, head,
                            conditional ? TINY_CHANNELS : TINY_UNCONDITIONAL, dropout);
}

/* n images (n, D) of 8-bit values scaled to [-1, 1]: soft diagonal stripes with a random
 * phase and contrast per image, deterministic in seed. */
static inline void stripe_images(float *x, int64_t n, int64_t channels, int64_t h, int64_t w,
                                 uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
  for (int64_t i = 0; i < n; i++) {
    test_xorshift(&s);
    double phase = (double)(s % 1000) / 1000.0 * 6.283185307179586;
    double contrast = 0.4 + 0.5 * (double)((s >> 20) % 1000) / 1000.0;
    for (int64_t p = 0; p < h * w; p++)
      for (int64_t c = 0; c < channels; c++) {
        double v = contrast * sin(phase + 0.9 * (double)(p / w + p % w) + 0.7 * (double)c);
        double q = floor((v + 1.0) * 127.5 + 0.5);
        q = q < 0 ? 0 : q > 255 ? 255 : q;
        x[(i * h * w + p) * channels + c] = (float)(q / 127.5 - 1.0);
      }
  }
}

#endif
