/* The conditioning options of a conditional PixelCNN++ p(x | x~) through the public API
 * (DS_MODEL_COND_LAYOUT = DS_COND_STACKED, DS_MODEL_COND_CONVS >= 1): configuration
 * checks, training as stage 2 lowers the loss, checkpoints and trainer resumes keep the
 * options, the two-stage calls (bound, conditional denoisers, two-stage sampling) accept
 * such models, and every result is bitwise identical for 1 and 3 threads. (Causality and
 * gradients: test_pixelcnn.c; PyTorch values: test_pixelcnn_golden.c.) */
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

static ds_model_config *image_config(int64_t channels, int64_t h, int64_t w, int64_t filters) {
  ds_model_config *cfg = NULL;
  assert_int_equal(ds_model_config_create(DS_ARCH_PIXELCNNPP, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_CHANNELS, channels), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEIGHT, h), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_WIDTH, w), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_FILTERS, filters), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_RESNETS, 1), DS_OK);
  return cfg;
}

/* Creation fails with `status` and a detail containing `words`; *out is untouched. */
static void refused(ds_context *ctx, const ds_model_config *cfg, const char *words) {
  ds_model *m = (ds_model *)0x1;
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_ERR_INVALID_ARGUMENT);
  assert_ptr_equal(m, (ds_model *)0x1);
  if (!strstr(ds_context_last_error(ctx), words))
    fail_msg("detail '%s' lacks '%s'", ds_context_last_error(ctx), words);
}

static int64_t params_of(ds_context *ctx, const ds_model_config *cfg) {
  ds_model *m = NULL;
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
  int64_t n = ds_model_param_count(m);
  ds_model_free(m);
  return n;
}

static void config_checks(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 0);
  ds_model_config *cfg = NULL;
  /* setters: PixelCNN++ only, values in range */
  assert_int_equal(ds_model_config_create(DS_ARCH_MADE, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_LAYOUT, DS_COND_STACKED),
                   DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(NULL), "DS_MODEL_COND_LAYOUT applies to DS_ARCH_PIXELCNNPP"));
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_CONVS, 1), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(NULL), "DS_MODEL_COND_CONVS applies to DS_ARCH_PIXELCNNPP"));
  ds_model_config_free(cfg);
  const int64_t F = 4, D = 3 * 6 * 5;
  cfg = image_config(3, 6, 5, F);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_LAYOUT, 2), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(NULL), "not a ds_cond_layout"));
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_LAYOUT, -1), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_CONVS, -1), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_CONVS, 17), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(NULL), "DS_MODEL_COND_CONVS = 17 is outside 0..16"));
  int64_t plain = params_of(ctx, cfg);
  /* cross-option checks at creation */
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_LAYOUT, DS_COND_STACKED), DS_OK);
  refused(ctx, cfg, "DS_COND_STACKED needs a conditional model (DS_MODEL_COND_DIM = D = 90)");
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, D), DS_OK);
  assert_int_equal(params_of(ctx, cfg), plain); /* an unmodified PixelCNN++ */
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_CONVS, 2), DS_OK);
  refused(ctx, cfg, "DS_MODEL_COND_CONVS = 2 applies to DS_COND_CHANNELS");
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_LAYOUT, DS_COND_CHANNELS), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_CONVS, 0), DS_OK);
  int64_t channels = params_of(ctx, cfg);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_CONVS, 2), DS_OK);
  /* conv3x3 C -> F and 2F -> F with biases; the 16 resnets' 1x1 convs (one resnet per
     level: 2 streams x (3 up + 5 down)) read F channels instead of C = 3 */
  assert_int_equal(params_of(ctx, cfg),
                   channels + (3 * F * 9 + F) + (2 * F * F * 9 + F) + 16 * (F - 3) * F);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, 0), DS_OK);
  refused(ctx, cfg, "DS_MODEL_COND_CONVS = 2 needs a conditional model");
  ds_model_config_free(cfg);
  ds_context_free(ctx);
}

static ds_trainer_config *trainer_config(int64_t batch, double lr) {
  ds_trainer_config *tc = NULL;
  assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, batch), DS_OK);
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_LR, lr), DS_OK);
  return tc;
}

/* Stage 2 on stripe images, ~200 steps: the held-out loss of p(x | x~) falls. */
static void stage2_training_lowers_the_loss(tiny_cond cond) {
  const image_spec s = PCNNPP(1, 6, 6, 8, 1, 2, DS_HEAD_DISCRETIZED, cond, 0);
  image_training_lowers_the_loss(&s, 0.3);
}

static void training_stacked(void **state) {
  (void)state;
  stage2_training_lowers_the_loss(TINY_STACKED);
}
static void training_cond_convs(void **state) {
  (void)state;
  stage2_training_lowers_the_loss(TINY_COND_CONVS);
}

static char *temp_path(void) {
  static char path[64];
  strcpy(path, "/tmp/ds_pixelcnn_cond_XXXXXX");
  test_temp_path(path);
  return path;
}

/* Save and load keep the option (same log p bit for bit); a trainer of one layout refuses
 * to resume from another's file. */
static void checkpoint_round_trip(tiny_cond cond, tiny_cond other) {
  ds_context *ctx = test_context(1, 6);
  const int64_t H = 5, W = 4, D = 3 * H * W;
  ds_model *m = tiny_pixelcnn_cond(ctx, 3, H, W, 4, 1, 2, DS_HEAD_CONTINUOUS, cond, 0.25);
  ds_model *o = tiny_pixelcnn_cond(ctx, 3, H, W, 4, 1, 2, DS_HEAD_CONTINUOUS, other, 0.25);
  char *path = temp_path();
  assert_int_equal(ds_model_save(m, path), DS_OK);
  ds_model *back = NULL;
  assert_int_equal(ds_model_load(ctx, path, &back), DS_OK);
  assert_int_equal(ds_model_param_count(back), ds_model_param_count(m));
  float *x = malloc(sizeof(float) * (size_t)(2 * D)), *c = malloc(sizeof(float) * (size_t)(2 * D));
  stripe_images(x, 2, 3, H, W, 1);
  stripe_images(c, 2, 3, H, W, 2);
  double a[2], b[2];
  assert_int_equal(ds_model_log_prob(m, x, c, 2, a), DS_OK);
  assert_int_equal(ds_model_log_prob(back, x, c, 2, b), DS_OK);
  assert_memory_equal(a, b, sizeof a);
  assert_int_equal(ds_model_copy_weights(back, m), DS_OK);
  /* trainers: resume into the same configuration, not into the other option */
  ds_trainer_config *tc = trainer_config(2, 1e-3);
  ds_trainer *t = NULL, *u = NULL, *v = NULL;
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, c, 2, 2, NULL), DS_OK);
  assert_int_equal(ds_trainer_save(t, path), DS_OK);
  assert_int_equal(ds_trainer_create(back, tc, NULL, &u), DS_OK);
  assert_int_equal(ds_trainer_resume(u, path), DS_OK);
  assert_int_equal(ds_trainer_step(u), 2);
  assert_int_equal(ds_trainer_create(o, tc, NULL, &v), DS_OK);
  assert_int_not_equal(ds_trainer_resume(v, path), DS_OK);
  assert_int_equal(ds_trainer_step(v), 0);
  ds_trainer_free(t), ds_trainer_free(u), ds_trainer_free(v);
  ds_trainer_config_free(tc);
  unlink(path);
  free(x), free(c);
  ds_model_free(back), ds_model_free(m), ds_model_free(o);
  ds_context_free(ctx);
}

static void checkpoint_stacked(void **state) {
  (void)state;
  checkpoint_round_trip(TINY_STACKED, TINY_CHANNELS);
}
static void checkpoint_cond_convs(void **state) {
  (void)state;
  checkpoint_round_trip(TINY_COND_CONVS, TINY_CHANNELS);
}

/* Stage 1 (continuous, smoothed) and a stage 2 with the option: the two-stage bound, the
 * denoisers and two-stage sampling run and give finite results; samples of x depend on x~
 * (image_two_stage_pipeline, on 2 threads). */
static void two_stage_calls(tiny_cond cond) {
  const image_spec s1 = PCNNPP(1, 4, 4, 4, 1, 2, DS_HEAD_CONTINUOUS, TINY_UNCONDITIONAL, 0);
  const image_spec s2 = PCNNPP(1, 4, 4, 4, 1, 2, DS_HEAD_DISCRETIZED, cond, 0);
  image_two_stage_pipeline(&s1, &s2, 2);
}

static void two_stage_stacked(void **state) {
  (void)state;
  two_stage_calls(TINY_STACKED);
}
static void two_stage_cond_convs(void **state) {
  (void)state;
  two_stage_calls(TINY_COND_CONVS);
}

/* Training (with dropout), log p, the exact score and sampling of one conditional model,
 * hashed. */
static uint64_t run_everything(int32_t threads, tiny_cond cond) {
  const image_spec s = PCNNPP(3, 5, 6, 5, 1, 2, DS_HEAD_CONTINUOUS, cond, 0.2);
  return image_run_everything(threads, &s);
}

static void same_bits_for_1_and_3_threads(void **state) {
  (void)state;
  assert_true(run_everything(1, TINY_STACKED) == run_everything(3, TINY_STACKED));
  assert_true(run_everything(1, TINY_COND_CONVS) == run_everything(3, TINY_COND_CONVS));
  assert_true(run_everything(1, TINY_COND_CONVS) != run_everything(1, TINY_STACKED));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(config_checks),
      cmocka_unit_test(training_stacked),
      cmocka_unit_test(training_cond_convs),
      cmocka_unit_test(checkpoint_stacked),
      cmocka_unit_test(checkpoint_cond_convs),
      cmocka_unit_test(two_stage_stacked),
      cmocka_unit_test(two_stage_cond_convs),
      cmocka_unit_test(same_bits_for_1_and_3_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
