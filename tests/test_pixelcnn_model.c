/* PixelCNN++ through the public API: configuration checks, checkpoints (round trip; a MADE
 * and a PixelCNN++ file of earlier builds still load), and the cases every image
 * architecture shares (image_model_cases.h, with PixelCNN++ models): sampling
 * reproducibility, trainer resume, training lowers the loss, the two-stage pipeline,
 * clean allocation failures, bitwise identical results for 1 and 3 threads.
 * (Normalisation of the discretized head at the model level: test_pixelcnn.c.) */
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

/* PixelCNN++ spec: channels, h, w, filters, resnets, K, head, conditioning, dropout. */
#define PCNNPP(ch, h, w, f, r, k, head, cond, dropout) \
  ((image_spec){DS_ARCH_PIXELCNNPP, ch, h, w, f, r, k, head, cond, dropout, 0, 0})

static void config_checks(void **state) {
  (void)state;
  ds_model_config *cfg = NULL;
  assert_int_equal(ds_model_config_create(DS_ARCH_MADE, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_FILTERS, 8), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(NULL), "image architectures"));
  assert_int_equal(ds_model_config_set_float(cfg, DS_MODEL_DROPOUT, 0.5), DS_ERR_INVALID_ARGUMENT);
  ds_model_config_free(cfg);
  assert_int_equal(ds_model_config_create(DS_ARCH_PIXELCNNPP, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_CHANNELS, 2), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEIGHT, 3), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_RESNETS, 0), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_set_float(cfg, DS_MODEL_DROPOUT, 1.0), DS_ERR_INVALID_ARGUMENT);
  ds_context *ctx = test_context(1, 0);
  ds_model *m = NULL;
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_ERR_INVALID_ARGUMENT); /* no size */
  assert_non_null(strstr(ds_context_last_error(ctx), "DS_MODEL_HEIGHT"));
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEIGHT, 4), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_WIDTH, 5), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, 21), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_ERR_INVALID_ARGUMENT); /* D != 20 */
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, 20), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, 3), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_ERR_INVALID_ARGUMENT); /* C != D */
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, 20), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
  assert_int_equal(ds_model_dim(m), 20);
  assert_int_equal(ds_model_cond_dim(m), 20);
  ds_model_free(m);
  /* images beyond the vector models' 65536 dimensions: create, save, load */
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, 0 + 3 * 160 * 160), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_CHANNELS, 3), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEIGHT, 160), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_WIDTH, 160), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, 3 * 160 * 160), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_FILTERS, 4), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
  char path[] = "/tmp/ds_pixelcnn_big_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(ds_model_save(m, path), DS_OK);
  ds_model *back = NULL;
  assert_int_equal(ds_model_load(ctx, path, &back), DS_OK);
  assert_int_equal(ds_model_cond_dim(back), 3 * 160 * 160);
  unlink(path);
  ds_model_free(back);
  ds_model_free(m);
  ds_model_config_free(cfg);
  ds_context_free(ctx);
}

static void checkpoint_round_trip(void **state) {
  (void)state;
  const image_spec s = PCNNPP(3, 6, 5, 4, 1, 2, DS_HEAD_DISCRETIZED, TINY_CHANNELS, 0.25);
  image_checkpoint_round_trip(&s, 6, NULL);
}

/* Written by the build before PixelCNN++ existed (MADE, D = 2, hidden 8-8, K = 2). */
static void old_made_checkpoint_loads(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 0);
  ds_model *m = NULL;
  assert_int_equal(ds_model_load(ctx, DS_GOLDEN_DIR "/made_checkpoint_v1.bin", &m), DS_OK);
  float x[6] = {0.1f, -0.4f, 1.2f, 0.3f, -0.9f, 0.05f};
  double lp[3], want[3] = {-0x1.98ebcfe0b0818p+1, -0x1.c4807e425a15p+1, -0x1.bbebdb9933be8p+1};
  assert_int_equal(ds_model_log_prob(m, x, NULL, 3, lp), DS_OK);
  /* the weights load exactly; the head's arithmetic may change in the last bits between
     versions (the linear-domain density moved these by one ulp) */
  for (int i = 0; i < 3; i++) assert_true(fabs(lp[i] - want[i]) < 1e-12 * fabs(want[i]));
  ds_model_free(m);
  ds_context_free(ctx);
}

/* Format version 1, written by the build before the conditioning options existed
 * (b0667a1): conditional PixelCNN++, gray 4x4, F = 2, one resnet, K = 1, discretized,
 * dropout 0.25, context seed 77. It loads with the channel layout and no cond convs. */
static void old_pixelcnn_checkpoint_loads(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 0);
  ds_model *m = NULL;
  assert_int_equal(ds_model_load(ctx, DS_GOLDEN_DIR "/pixelcnn_checkpoint_v1.bin", &m), DS_OK);
  assert_int_equal(ds_model_param_count(m), 2453);
  float x[32], c[32];
  stripe_images(x, 2, 1, 4, 4, 1);
  stripe_images(c, 2, 1, 4, 4, 2);
  double lp[2], want[2] = {-0x1.9cbd3208557aep+6, -0x1.9fa8ed353a315p+6};
  assert_int_equal(ds_model_log_prob(m, x, c, 2, lp), DS_OK);
  for (int i = 0; i < 2; i++) assert_true(fabs(lp[i] - want[i]) < 1e-12 * fabs(want[i]));
  /* saved again, it is a version-2 file with the same model */
  char path[] = "/tmp/ds_pixelcnn_v1_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(ds_model_save(m, path), DS_OK);
  ds_model *back = NULL;
  assert_int_equal(ds_model_load(ctx, path, &back), DS_OK);
  double again[2];
  assert_int_equal(ds_model_log_prob(back, x, c, 2, again), DS_OK);
  assert_memory_equal(lp, again, sizeof lp);
  unlink(path);
  ds_model_free(back);
  ds_model_free(m);
  ds_context_free(ctx);
}

/* ---- the shared image cases (image_model_cases.h) with PixelCNN++ specs: one call each,
 * the same calls as test_masked_pixelcnn_model.c makes with its own (deliberate) ---- */

static void sampling_is_reproducible(void **state) {
  (void)state;
  const image_spec s = PCNNPP(3, 4, 4, 4, 1, 2, DS_HEAD_DISCRETIZED, TINY_UNCONDITIONAL, 0);
  image_sampling_is_reproducible(&s, 8);
}

/* With dropout: the masks of a step come from the trainer's seed, which the trainer file
 * keeps, so resuming into another model instance (another model seed) continues bitwise.
 * (Until 0.4 they came from the model's seed and this failed.) */
static void trainer_resumes_bitwise(void **state) {
  (void)state;
  const image_spec s = PCNNPP(1, 6, 6, 4, 1, 2, DS_HEAD_DISCRETIZED, TINY_UNCONDITIONAL, 0);
  image_trainer_resumes_bitwise(&s);
  const image_spec with_dropout =
      PCNNPP(1, 6, 6, 4, 1, 2, DS_HEAD_DISCRETIZED, TINY_UNCONDITIONAL, 0.3);
  image_trainer_resumes_bitwise(&with_dropout);
}

static void training_lowers_the_loss(void **state) {
  (void)state;
  const image_spec s = PCNNPP(1, 8, 8, 8, 1, 2, DS_HEAD_DISCRETIZED, TINY_UNCONDITIONAL, 0.1);
  image_training_lowers_the_loss(&s, 0);
}

static void two_stage_pipeline_runs(void **state) {
  (void)state;
  const image_spec s1 = PCNNPP(1, 4, 4, 4, 1, 2, DS_HEAD_CONTINUOUS, TINY_UNCONDITIONAL, 0);
  const image_spec s2 = PCNNPP(1, 4, 4, 4, 1, 2, DS_HEAD_DISCRETIZED, TINY_CHANNELS, 0);
  image_two_stage_pipeline(&s1, &s2, 1);
}

static void allocation_failures_are_clean(void **state) {
  (void)state;
  image_allocation_failures_are_clean(DS_ARCH_PIXELCNNPP, 0);
  image_allocation_failures_are_clean(DS_ARCH_PIXELCNNPP, 1);
}

static void same_bits_for_1_and_3_threads(void **state) {
  (void)state;
  const image_spec rgb = PCNNPP(3, 5, 6, 5, 1, 2, DS_HEAD_CONTINUOUS, TINY_UNCONDITIONAL, 0.2);
  assert_true(image_run_everything(1, &rgb) == image_run_everything(3, &rgb));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(config_checks),
      cmocka_unit_test(checkpoint_round_trip),
      cmocka_unit_test(old_made_checkpoint_loads),
      cmocka_unit_test(old_pixelcnn_checkpoint_loads),
      cmocka_unit_test(sampling_is_reproducible),
      cmocka_unit_test(trainer_resumes_bitwise),
      cmocka_unit_test(training_lowers_the_loss),
      cmocka_unit_test(two_stage_pipeline_runs),
      cmocka_unit_test(allocation_failures_are_clean),
      cmocka_unit_test(same_bits_for_1_and_3_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
