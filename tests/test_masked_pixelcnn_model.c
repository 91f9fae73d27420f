/* The masked PixelCNN (DS_ARCH_PIXELCNN) through the public API: option checks and their
 * messages, checkpoints (round trip, truncation, a masked weight or a bad option in the file
 * refused), and the cases every image architecture shares (image_model_cases.h, with
 * masked PixelCNN models): sampling reproducibility, trainer resume, training lowers the
 * loss, the two-stage pipeline, clean allocation failures, bitwise identical results for 1
 * and 3 threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "test_util.h"
#include "pixelcnn_fixtures.h"
#include "masked_pixelcnn_fixtures.h"
#include "image_model_cases.h"

/* Masked PixelCNN spec: channels, h, w, filters, layers, K, head, conditional, gated,
 * activation. */
#define MASKED(ch, h, w, f, l, k, head, cond, gated, act)                                   \
  ((image_spec){DS_ARCH_PIXELCNN, ch, h, w, f, l, k, head,                                 \
                (cond) ? TINY_CHANNELS : TINY_UNCONDITIONAL, 0, gated, act})

static void expect_error(ds_status st, const char *detail_part) {
  assert_int_equal(st, DS_ERR_INVALID_ARGUMENT);
  if (!strstr(ds_context_last_error(NULL), detail_part))
    fail_msg("detail '%s' lacks '%s'", ds_context_last_error(NULL), detail_part);
}

static void options_are_checked(void **state) {
  (void)state;
  ds_model_config *cfg = NULL;
  assert_int_equal(ds_model_config_create(DS_ARCH_MADE, &cfg), DS_OK);
  expect_error(ds_model_config_set_int(cfg, DS_MODEL_LAYERS, 3), "DS_ARCH_PIXELCNN only");
  expect_error(ds_model_config_set_int(cfg, DS_MODEL_GATED, 0), "DS_ARCH_PIXELCNN only");
  ds_model_config_free(cfg);
  assert_int_equal(ds_model_config_create(DS_ARCH_PIXELCNNPP, &cfg), DS_OK);
  expect_error(ds_model_config_set_int(cfg, DS_MODEL_LAYERS, 3), "DS_ARCH_PIXELCNN only");
  ds_model_config_free(cfg);

  assert_int_equal(ds_model_config_create(DS_ARCH_PIXELCNN, &cfg), DS_OK);
  expect_error(ds_model_config_set_int(cfg, DS_MODEL_RESNETS, 2), "DS_MODEL_LAYERS");
  expect_error(ds_model_config_set_float(cfg, DS_MODEL_DROPOUT, 0.5), "DS_ARCH_PIXELCNNPP only");
  expect_error(ds_model_config_set_int(cfg, DS_MODEL_COND_LAYOUT, DS_COND_STACKED),
               "DS_ARCH_PIXELCNNPP only");
  expect_error(ds_model_config_set_int(cfg, DS_MODEL_COND_CONVS, 1), "DS_ARCH_PIXELCNNPP only");
  expect_error(ds_model_config_set_int(cfg, DS_MODEL_LAYERS, 0),
               "DS_MODEL_LAYERS = 0 is outside 1..64");
  expect_error(ds_model_config_set_int(cfg, DS_MODEL_LAYERS, 65), "outside 1..64");
  expect_error(ds_model_config_set_int(cfg, DS_MODEL_GATED, 2),
               "DS_MODEL_GATED = 2 is outside 0..1");
  expect_error(ds_model_config_set_int(cfg, DS_MODEL_ACTIVATION, DS_ACTIVATION_TANH), "not TANH");
  expect_error(ds_model_config_set_int(cfg, DS_MODEL_CHANNELS, 2), "must be 1 or 3");
  expect_error(ds_model_config_set_int(cfg, DS_MODEL_FILTERS, 0), "outside 1..1024");
  ds_context *ctx = test_context(1, 0);
  ds_model *m = NULL;
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_ERR_INVALID_ARGUMENT); /* no size */
  assert_non_null(strstr(ds_context_last_error(ctx), "PixelCNN needs DS_MODEL_HEIGHT"));
  assert_null(m);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEIGHT, 8), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_WIDTH, 8), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, 65), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(ctx), "channels * height * width = 64"));
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, 64), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, 5), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(ctx), "conditional PixelCNN needs"));
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, 0), DS_OK);
  /* the defaults (F = 32, L = 5 gated blocks, K = 5) after the refused values above */
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
  int64_t want = (32 * 2 * 49 + 32) + 5 * (64 * 32 * 9 + 64) + (32 * 32 + 32) + (15 * 32 + 15);
  assert_int_equal(ds_model_param_count(m), want);
  ds_model_free(m);
  /* plain blocks: F output channels per block */
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_GATED, 0), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_LAYERS, 2), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_ACTIVATION, DS_ACTIVATION_ELU), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
  want = (32 * 2 * 49 + 32) + 2 * (32 * 32 * 9 + 32) + (32 * 32 + 32) + (15 * 32 + 15);
  assert_int_equal(ds_model_param_count(m), want);
  ds_model_free(m);
  ds_model_config_free(cfg);
  ds_context_free(ctx);
}

/* CRC-32 (IEEE), as the checkpoint trailer (docs/checkpoints.md). */
static uint32_t crc32_ieee(const unsigned char *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

/* A copy of a model file with the u32 at payload offset `at` replaced, the CRC fixed. */
static void patched_load(ds_context *ctx, const char *path, const unsigned char *bytes,
                         long size, long at, uint32_t value, const char *detail_part) {
  unsigned char *copy = malloc((size_t)size);
  memcpy(copy, bytes, (size_t)size);
  for (int i = 0; i < 4; i++) copy[24 + at + i] = (unsigned char)(value >> (8 * i));
  uint32_t crc = crc32_ieee(copy, (size_t)size - 4);
  for (int i = 0; i < 4; i++) copy[size - 4 + i] = (unsigned char)(crc >> (8 * i));
  test_write_file(path, copy, size);
  ds_model *m = NULL;
  assert_int_equal(ds_model_load(ctx, path, &m), DS_ERR_BAD_FORMAT);
  assert_null(m);
  if (!strstr(ds_context_last_error(ctx), detail_part))
    fail_msg("detail '%s' lacks '%s'", ds_context_last_error(ctx), detail_part);
  free(copy);
}

/* payload: arch, D, C, K, head, bins, lo, hi, activation (offset 40), residual, 2 hidden
   widths, then channels, height, width, filters, layers (92), gated (96); the weights are
   the last 4 * P bytes before the CRC, and weight 24 (output 0, input 0, the centre tap of
   the 7x7 mask-A conv) is masked */
static void bad_values_in_the_file_are_refused(ds_context *ctx, const ds_model *m,
                                               const char *path, const unsigned char *bytes,
                                               long size) {
  patched_load(ctx, path, bytes, size, 96, 2, "DS_MODEL_GATED = 2");
  patched_load(ctx, path, bytes, size, 40, DS_ACTIVATION_TANH, "not TANH");
  patched_load(ctx, path, bytes, size, 92, 0, "DS_MODEL_LAYERS = 0");
  long weights = size - 28 - 4 * ds_model_param_count(m);
  patched_load(ctx, path, bytes, size, weights + 4 * 24, 0x3f000000u, "masks it");
}

static void checkpoint_round_trip(void **state) {
  (void)state;
  const image_spec s = MASKED(3, 6, 5, 4, 2, 2, DS_HEAD_DISCRETIZED, 1, 0, DS_ACTIVATION_ELU);
  image_checkpoint_round_trip(&s, 6, bad_values_in_the_file_are_refused);
}

/* ---- the shared image cases (image_model_cases.h) with masked-PixelCNN specs: one call
 * each, the same calls as test_pixelcnn_model.c makes with its own (deliberate) ---- */

static void sampling_is_reproducible(void **state) {
  (void)state;
  const image_spec s = MASKED(3, 4, 4, 4, 1, 2, DS_HEAD_DISCRETIZED, 0, 1, DS_ACTIVATION_RELU);
  image_sampling_is_reproducible(&s, 8);
}

static void trainer_resumes_bitwise(void **state) {
  (void)state;
  const image_spec s = MASKED(1, 6, 6, 4, 2, 2, DS_HEAD_DISCRETIZED, 0, 1, DS_ACTIVATION_RELU);
  image_trainer_resumes_bitwise(&s);
}

static void training_lowers_the_loss(void **state) {
  (void)state;
  const image_spec s = MASKED(1, 8, 8, 8, 2, 2, DS_HEAD_DISCRETIZED, 0, 1, DS_ACTIVATION_RELU);
  image_training_lowers_the_loss(&s, 0);
}

static void two_stage_pipeline_runs(void **state) {
  (void)state;
  const image_spec s1 = MASKED(1, 4, 4, 4, 1, 2, DS_HEAD_CONTINUOUS, 0, 1, DS_ACTIVATION_RELU);
  const image_spec s2 = MASKED(1, 4, 4, 4, 1, 2, DS_HEAD_DISCRETIZED, 1, 0, DS_ACTIVATION_RELU);
  image_two_stage_pipeline(&s1, &s2, 1);
}

static void allocation_failures_are_clean(void **state) {
  (void)state;
  image_allocation_failures_are_clean(DS_ARCH_PIXELCNN, 1);
  image_allocation_failures_are_clean(DS_ARCH_PIXELCNN, 0);
}

static void same_bits_for_1_and_3_threads(void **state) {
  (void)state;
  const image_spec rgb = MASKED(3, 5, 6, 5, 2, 2, DS_HEAD_CONTINUOUS, 0, 1, DS_ACTIVATION_RELU);
  const image_spec cond = MASKED(1, 6, 5, 5, 2, 2, DS_HEAD_CONTINUOUS, 1, 0, DS_ACTIVATION_ELU);
  assert_true(image_run_everything(1, &rgb) == image_run_everything(3, &rgb));
  assert_true(image_run_everything(1, &cond) == image_run_everything(3, &cond));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(options_are_checked),
      cmocka_unit_test(checkpoint_round_trip),
      cmocka_unit_test(sampling_is_reproducible),
      cmocka_unit_test(trainer_resumes_bitwise),
      cmocka_unit_test(training_lowers_the_loss),
      cmocka_unit_test(two_stage_pipeline_runs),
      cmocka_unit_test(allocation_failures_are_clean),
      cmocka_unit_test(same_bits_for_1_and_3_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
