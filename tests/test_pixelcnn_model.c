/* PixelCNN++ through the public API: configuration checks, checkpoints (round trip; a MADE file of the previous build still loads),
 * sampling reproducibility, training lowers the loss, stage 2 and both denoisers run, and
 * every result is bitwise identical for 1 and 3 threads. (Normalisation of the discretized
 * head at the model level: test_pixelcnn.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "test_util.h"
#include "pixelcnn_fixtures.h"

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
  ds_context *ctx = test_context(1, 6);
  const int64_t H = 6, W = 5, D = 3 * H * W;
  ds_model *m = tiny_pixelcnn(ctx, 3, H, W, 4, 1, 2, DS_HEAD_DISCRETIZED, 1, 0.25);
  char path[] = "/tmp/ds_pixelcnn_ckpt_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(ds_model_save(m, path), DS_OK);
  ds_model *back = NULL;
  assert_int_equal(ds_model_load(ctx, path, &back), DS_OK);
  assert_int_equal(ds_model_param_count(back), ds_model_param_count(m));
  assert_int_equal(ds_model_dim(back), D);
  float *x = malloc(sizeof(float) * (size_t)(2 * D)), *c = malloc(sizeof(float) * (size_t)(2 * D));
  stripe_images(x, 2, 3, H, W, 1);
  stripe_images(c, 2, 3, H, W, 2);
  double a[2], b[2];
  assert_int_equal(ds_model_log_prob(m, x, c, 2, a), DS_OK);
  assert_int_equal(ds_model_log_prob(back, x, c, 2, b), DS_OK);
  assert_memory_equal(a, b, sizeof a);
  assert_int_equal(ds_model_copy_weights(back, m), DS_OK);
  /* truncations are rejected cleanly */
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *bytes = malloc((size_t)size);
  assert_int_equal(fread(bytes, 1, (size_t)size, f), (size_t)size);
  fclose(f);
  for (long cut = 0; cut < size; cut += size / 23 + 1) {
    f = fopen(path, "wb");
    fwrite(bytes, 1, (size_t)cut, f);
    fclose(f);
    ds_model *bad = NULL;
    assert_int_not_equal(ds_model_load(ctx, path, &bad), DS_OK);
    assert_null(bad);
  }
  unlink(path);
  free(bytes), free(x), free(c);
  ds_model_free(back);
  ds_model_free(m);
  ds_context_free(ctx);
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

static void sampling_is_reproducible(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 8);
  const int64_t H = 4, W = 4, D = 3 * H * W;
  ds_model *m = tiny_pixelcnn(ctx, 3, H, W, 4, 1, 2, DS_HEAD_DISCRETIZED, 0, 0);
  float *a = malloc(sizeof(float) * (size_t)(3 * D)), *b = malloc(sizeof(float) * (size_t)(3 * D));
  assert_int_equal(ds_model_sample(m, NULL, 3, 7, DS_SAMPLE_BISECTION, a), DS_OK);
  assert_int_equal(ds_model_sample(m, NULL, 1, 7, DS_SAMPLE_BISECTION, b), DS_OK);
  assert_memory_equal(a, b, sizeof(float) * (size_t)D); /* example 0 alone or in a batch */
  for (int64_t i = 0; i < 3 * D; i++) { /* every value a bin centre */
    double q = (a[i] + 1.0) * 127.5;
    assert_true(fabs(q - round(q)) < 1e-3 && q > -0.01 && q < 255.01);
  }
  assert_true(memcmp(a, a + D, sizeof(float) * (size_t)D) != 0);
  assert_int_equal(ds_model_sample(m, NULL, 3, 8, DS_SAMPLE_GUMBEL, b), DS_OK);
  assert_true(memcmp(a, b, sizeof(float) * (size_t)D) != 0);
  free(a), free(b);
  ds_model_free(m);
  ds_context_free(ctx);
}

static void training_lowers_the_loss(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 10);
  const int64_t H = 8, W = 8, D = H * W, n = 64;
  ds_model *m = tiny_pixelcnn(ctx, 1, H, W, 8, 1, 2, DS_HEAD_DISCRETIZED, 0, 0.1);
  float *x = malloc(sizeof(float) * (size_t)(n * D));
  stripe_images(x, n, 1, H, W, 3);
  ds_trainer_config *tc = NULL;
  assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 8), DS_OK);
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_LR, 3e-3), DS_OK);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  double before, first, last;
  assert_int_equal(ds_trainer_evaluate(t, x, NULL, n, 0, &before), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, n, 20, &first), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, n, 160, NULL), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, n, 20, &last), DS_OK);
  double after;
  assert_int_equal(ds_trainer_evaluate(t, x, NULL, n, 0, &after), DS_OK);
  print_message("nats/image: start %.2f, first 20 steps %.2f, last 20 %.2f, end %.2f\n", before,
                first, last, after);
  assert_true(last < first - 0.15 * fabs(first));
  assert_true(after < 0.8 * before);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  free(x);
  ds_model_free(m);
  ds_context_free(ctx);
}

/* Stage 1 (continuous, smoothed), stage 2 (conditional), both denoisers and the bound. */
static void two_stage_pipeline_runs(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 12);
  const int64_t H = 4, W = 4, D = H * W, n = 16;
  ds_model *s1 = tiny_pixelcnn(ctx, 1, H, W, 4, 1, 2, DS_HEAD_CONTINUOUS, 0, 0);
  ds_model *s2 = tiny_pixelcnn(ctx, 1, H, W, 4, 1, 2, DS_HEAD_DISCRETIZED, 1, 0);
  ds_smoother *sm = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.3, &sm), DS_OK);
  float *x = malloc(sizeof(float) * (size_t)(n * D)), *y = malloc(sizeof(float) * (size_t)(n * D));
  stripe_images(x, n, 1, H, W, 9);
  ds_trainer_config *tc = NULL;
  assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 4), DS_OK);
  ds_trainer *t1 = NULL, *t2 = NULL;
  assert_int_equal(ds_trainer_create(s1, tc, sm, &t1), DS_OK);
  assert_int_equal(ds_trainer_create(s2, tc, sm, &t2), DS_OK);
  assert_int_equal(ds_trainer_train(t1, x, NULL, n, 5, NULL), DS_OK);
  assert_int_equal(ds_trainer_train(t2, x, NULL, n, 5, NULL), DS_OK);
  ds_denoiser *exact = NULL, *local = NULL, *cond = NULL;
  assert_int_equal(ds_denoiser_create_gradient(s1, sm, DS_SCORE_EXACT, &exact), DS_OK);
  assert_int_equal(ds_denoiser_create_gradient(s1, sm, DS_SCORE_LOCAL, &local), DS_OK);
  assert_int_equal(ds_denoiser_create_conditional(s2, DS_CONDITIONAL_SAMPLE, &cond), DS_OK);
  assert_int_equal(ds_smoother_apply(sm, x, n, D, 1, y), DS_OK);
  float *z = malloc(sizeof(float) * (size_t)(n * D));
  assert_int_equal(ds_denoiser_apply(exact, y, 2, 0, z), DS_OK);
  assert_int_equal(ds_denoiser_apply(local, y, 2, 0, z), DS_OK);
  assert_int_equal(ds_two_stage_sample(s1, cond, 2, 3, z), DS_OK);
  double bound[2];
  assert_int_equal(ds_two_stage_log_prob_bound(s1, s2, sm, x, 2, 3, 4, bound), DS_OK);
  assert_true(isfinite(bound[0]) && isfinite(bound[1]));
  ds_denoiser_free(exact), ds_denoiser_free(local), ds_denoiser_free(cond);
  ds_trainer_free(t1), ds_trainer_free(t2);
  ds_trainer_config_free(tc);
  ds_smoother_free(sm);
  free(x), free(y), free(z);
  ds_model_free(s1), ds_model_free(s2);
  ds_context_free(ctx);
}

/* Allocation failure at every allocation of model creation and of a log-prob call: each
 * fails cleanly with OUT_OF_MEMORY and leaks nothing (LSan in the sanitizer build). */
static void allocation_failures_are_clean(void **state) {
  (void)state;
  int created = 0, evaluated = 0;
  for (int64_t fail_at = 0; fail_at < 200 && !evaluated; fail_at++) {
    counting_alloc a = {0, -1, 0};
    ds_context *ctx = NULL;
    assert_int_equal(counting_context(&a, 2, &ctx), DS_OK);
    a.fail_at = a.calls + fail_at;
    ds_model_config *cfg = NULL;
    assert_int_equal(ds_model_config_create(DS_ARCH_PIXELCNNPP, &cfg), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEIGHT, 4), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_WIDTH, 4), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_FILTERS, 2), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_RESNETS, 1), DS_OK);
    ds_model *m = NULL;
    ds_status st = ds_model_create(ctx, cfg, &m);
    ds_model_config_free(cfg);
    if (st == DS_OK) {
      created = 1;
      float x[16] = {0};
      double lp[1] = {-1};
      st = ds_model_log_prob(m, x, NULL, 1, lp);
      if (st == DS_OK) evaluated = 1;
      else {
        assert_int_equal(st, DS_ERR_OUT_OF_MEMORY);
        assert_true(lp[0] == -1);
      }
    } else {
      assert_int_equal(st, DS_ERR_OUT_OF_MEMORY);
      assert_null(m);
    }
    ds_model_free(m);
    ds_context_free(ctx);
    assert_int_equal(a.live, 0);
  }
  assert_true(created && evaluated);
}

/* Everything one model does, hashed. */
static uint64_t run_everything(int32_t threads) {
  ds_context *ctx = test_context(threads, 21);
  const int64_t H = 5, W = 6, D = 3 * H * W, n = 6;
  ds_model *m = tiny_pixelcnn(ctx, 3, H, W, 5, 1, 2, DS_HEAD_CONTINUOUS, 0, 0.2);
  float *x = malloc(sizeof(float) * (size_t)(n * D)), *s = malloc(sizeof(float) * (size_t)(n * D));
  stripe_images(x, n, 3, H, W, 4);
  ds_trainer_config *tc = NULL;
  assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 3), DS_OK);
  ds_trainer *t = NULL;
  double loss, lp[6];
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, n, 4, &loss), DS_OK);
  uint64_t h = 1469598103934665603ull;
#define MIX(p, size)                                                    \
  for (size_t i_ = 0; i_ < (size); i_++) {                             \
    h ^= ((const unsigned char *)(p))[i_];                             \
    h *= 1099511628211ull;                                             \
  }
  MIX(&loss, sizeof loss);
  assert_int_equal(ds_model_log_prob(m, x, NULL, n, lp), DS_OK);
  MIX(lp, sizeof lp);
  assert_int_equal(ds_model_score(m, x, NULL, n, DS_SCORE_EXACT, s, NULL), DS_OK);
  MIX(s, sizeof(float) * (size_t)(n * D));
  assert_int_equal(ds_model_sample(m, NULL, 2, 5, DS_SAMPLE_BISECTION, s), DS_OK);
  MIX(s, sizeof(float) * (size_t)(2 * D));
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  free(x), free(s);
  ds_model_free(m);
  ds_context_free(ctx);
  return h;
}

static void same_bits_for_1_and_3_threads(void **state) {
  (void)state;
  assert_true(run_everything(1) == run_everything(3));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(config_checks),
      cmocka_unit_test(checkpoint_round_trip),
      cmocka_unit_test(old_made_checkpoint_loads),
      cmocka_unit_test(old_pixelcnn_checkpoint_loads),
      cmocka_unit_test(sampling_is_reproducible),
      cmocka_unit_test(training_lowers_the_loss),
      cmocka_unit_test(two_stage_pipeline_runs),
      cmocka_unit_test(allocation_failures_are_clean),
      cmocka_unit_test(same_bits_for_1_and_3_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
