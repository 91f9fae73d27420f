/* The masked PixelCNN (DS_ARCH_PIXELCNN) through the public API: option checks and their
 * messages, checkpoints (round trip, truncation, a masked weight or a bad option in the file
 * refused), trainer resume, training lowers the loss, the two-stage pipeline, clean
 * allocation failures, and bitwise identical results for 1 and 3 threads. */
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

static void temp_path(char *path) {
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
}

static unsigned char *read_all(const char *path, long *size) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *bytes = malloc((size_t)*size);
  assert_int_equal(fread(bytes, 1, (size_t)*size, f), (size_t)*size);
  fclose(f);
  return bytes;
}

static void write_all(const char *path, const unsigned char *bytes, long size) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(bytes, 1, (size_t)size, f), (size_t)size);
  fclose(f);
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
  write_all(path, copy, size);
  ds_model *m = NULL;
  assert_int_equal(ds_model_load(ctx, path, &m), DS_ERR_BAD_FORMAT);
  assert_null(m);
  if (!strstr(ds_context_last_error(ctx), detail_part))
    fail_msg("detail '%s' lacks '%s'", ds_context_last_error(ctx), detail_part);
  free(copy);
}

static void checkpoint_round_trip(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 6);
  const masked_spec spec = {3, 6, 5, 4, 2, 2, DS_HEAD_DISCRETIZED, 1, 0, DS_ACTIVATION_ELU};
  const int64_t D = 3 * 6 * 5;
  ds_model *m = tiny_masked_pixelcnn(ctx, &spec);
  char path[] = "/tmp/ds_masked_ckpt_XXXXXX";
  temp_path(path);
  assert_int_equal(ds_model_save(m, path), DS_OK);
  ds_model *back = NULL;
  assert_int_equal(ds_model_load(ctx, path, &back), DS_OK);
  assert_int_equal(ds_model_param_count(back), ds_model_param_count(m));
  assert_int_equal(ds_model_dim(back), D);
  assert_int_equal(ds_model_cond_dim(back), D);
  float *x = malloc(sizeof(float) * (size_t)(2 * D)), *c = malloc(sizeof(float) * (size_t)(2 * D));
  stripe_images(x, 2, 3, 6, 5, 1);
  stripe_images(c, 2, 3, 6, 5, 2);
  double a[2], b[2];
  assert_int_equal(ds_model_log_prob(m, x, c, 2, a), DS_OK);
  assert_int_equal(ds_model_log_prob(back, x, c, 2, b), DS_OK);
  assert_memory_equal(a, b, sizeof a);
  assert_int_equal(ds_model_copy_weights(back, m), DS_OK);
  long size;
  unsigned char *bytes = read_all(path, &size);
  for (long cut = 0; cut < size; cut += size / 23 + 1) {
    write_all(path, bytes, cut);
    ds_model *bad = NULL;
    assert_int_not_equal(ds_model_load(ctx, path, &bad), DS_OK);
    assert_null(bad);
  }
  /* payload: arch, D, C, K, head, bins, lo, hi, activation (offset 40), residual, 2 hidden
     widths, then channels, height, width, filters, layers (92), gated (96); the weights are
     the last 4 * P bytes before the CRC, and weight 24 (output 0, input 0, the centre tap
     of the 7x7 mask-A conv) is masked */
  patched_load(ctx, path, bytes, size, 96, 2, "DS_MODEL_GATED = 2");
  patched_load(ctx, path, bytes, size, 40, DS_ACTIVATION_TANH, "not TANH");
  patched_load(ctx, path, bytes, size, 92, 0, "DS_MODEL_LAYERS = 0");
  long weights = size - 28 - 4 * ds_model_param_count(m);
  patched_load(ctx, path, bytes, size, weights + 4 * 24, 0x3f000000u, "masks it");
  unlink(path);
  free(bytes), free(x), free(c);
  ds_model_free(back);
  ds_model_free(m);
  ds_context_free(ctx);
}

/* 6 steps, save, 6 more == resume from the file in a new trainer, 6 more: same weights. */
static void trainer_resumes_bitwise(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 3);
  const masked_spec spec = {1, 6, 6, 4, 2, 2, DS_HEAD_DISCRETIZED, 0, 1, DS_ACTIVATION_RELU};
  const int64_t D = 36, n = 16;
  ds_model *a = tiny_masked_pixelcnn(ctx, &spec), *b = tiny_masked_pixelcnn(ctx, &spec);
  float *x = malloc(sizeof(float) * (size_t)(n * D));
  stripe_images(x, n, 1, 6, 6, 7);
  ds_trainer_config *tc = NULL;
  assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 4), DS_OK);
  ds_trainer *ta = NULL, *tb = NULL;
  assert_int_equal(ds_trainer_create(a, tc, NULL, &ta), DS_OK);
  assert_int_equal(ds_trainer_create(b, tc, NULL, &tb), DS_OK);
  char path[] = "/tmp/ds_masked_trainer_XXXXXX";
  temp_path(path);
  assert_int_equal(ds_trainer_train(ta, x, NULL, n, 6, NULL), DS_OK);
  assert_int_equal(ds_trainer_save(ta, path), DS_OK);
  assert_int_equal(ds_trainer_train(ta, x, NULL, n, 6, NULL), DS_OK);
  assert_int_equal(ds_trainer_resume(tb, path), DS_OK);
  assert_int_equal(ds_trainer_train(tb, x, NULL, n, 6, NULL), DS_OK);
  double la[2], lb[2];
  assert_int_equal(ds_model_log_prob(a, x, NULL, 2, la), DS_OK);
  assert_int_equal(ds_model_log_prob(b, x, NULL, 2, lb), DS_OK);
  assert_memory_equal(la, lb, sizeof la);
  unlink(path);
  ds_trainer_free(ta), ds_trainer_free(tb);
  ds_trainer_config_free(tc);
  free(x);
  ds_model_free(a), ds_model_free(b);
  ds_context_free(ctx);
}

static void training_lowers_the_loss(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 10);
  const masked_spec spec = {1, 8, 8, 8, 2, 2, DS_HEAD_DISCRETIZED, 0, 1, DS_ACTIVATION_RELU};
  const int64_t D = 64, n = 64;
  ds_model *m = tiny_masked_pixelcnn(ctx, &spec);
  float *x = malloc(sizeof(float) * (size_t)(n * D));
  stripe_images(x, n, 1, 8, 8, 3);
  ds_trainer_config *tc = NULL;
  assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 8), DS_OK);
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_LR, 3e-3), DS_OK);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  double before, first, last, after;
  assert_int_equal(ds_trainer_evaluate(t, x, NULL, n, 0, &before), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, n, 20, &first), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, n, 160, NULL), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, n, 20, &last), DS_OK);
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
  const masked_spec s1spec = {1, 4, 4, 4, 1, 2, DS_HEAD_CONTINUOUS, 0, 1, DS_ACTIVATION_RELU};
  const masked_spec s2spec = {1, 4, 4, 4, 1, 2, DS_HEAD_DISCRETIZED, 1, 0, DS_ACTIVATION_RELU};
  const int64_t D = 16, n = 16;
  ds_model *s1 = tiny_masked_pixelcnn(ctx, &s1spec), *s2 = tiny_masked_pixelcnn(ctx, &s2spec);
  ds_smoother *sm = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.3, &sm), DS_OK);
  float *x = malloc(sizeof(float) * (size_t)(n * D)), *y = malloc(sizeof(float) * (size_t)(n * D));
  float *z = malloc(sizeof(float) * (size_t)(n * D));
  stripe_images(x, n, 1, 4, 4, 9);
  ds_trainer_config *tc = NULL;
  assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 4), DS_OK);
  ds_trainer *t1 = NULL, *t2 = NULL;
  assert_int_equal(ds_trainer_create(s1, tc, sm, &t1), DS_OK);
  assert_int_equal(ds_trainer_create(s2, tc, sm, &t2), DS_OK);
  assert_int_equal(ds_trainer_train(t1, x, NULL, n, 5, NULL), DS_OK);
  assert_int_equal(ds_trainer_train(t2, x, NULL, n, 5, NULL), DS_OK);
  ds_denoiser *exact = NULL, *cond = NULL;
  assert_int_equal(ds_denoiser_create_gradient(s1, sm, DS_SCORE_EXACT, &exact), DS_OK);
  assert_int_equal(ds_denoiser_create_conditional(s2, DS_CONDITIONAL_MEAN, &cond), DS_OK);
  assert_int_equal(ds_smoother_apply(sm, x, n, D, 1, y), DS_OK);
  assert_int_equal(ds_denoiser_apply(exact, y, 2, 0, z), DS_OK);
  assert_int_equal(ds_denoiser_apply(cond, y, 2, 0, z), DS_OK);
  for (int64_t i = 0; i < 2 * D; i++) { /* the greedy conditional mean is a bin centre */
    double q = (z[i] + 1.0) * 127.5;
    assert_true(fabs(q - round(q)) < 1e-3);
  }
  assert_int_equal(ds_two_stage_sample(s1, cond, 2, 3, z), DS_OK);
  double bound[2];
  assert_int_equal(ds_two_stage_log_prob_bound(s1, s2, sm, x, 2, 3, 4, bound), DS_OK);
  assert_true(isfinite(bound[0]) && isfinite(bound[1]));
  ds_denoiser_free(exact), ds_denoiser_free(cond);
  ds_trainer_free(t1), ds_trainer_free(t2);
  ds_trainer_config_free(tc);
  ds_smoother_free(sm);
  free(x), free(y), free(z);
  ds_model_free(s1), ds_model_free(s2);
  ds_context_free(ctx);
}

/* Allocation failure at every allocation of model creation and of a log-prob call: each
 * fails cleanly with OUT_OF_MEMORY and leaks nothing. */
static void allocation_failures_are_clean(void **state) {
  (void)state;
  int created = 0, evaluated = 0;
  for (int64_t fail_at = 0; fail_at < 200 && !evaluated; fail_at++) {
    counting_alloc a = {0, -1, 0};
    ds_context *ctx = NULL;
    assert_int_equal(counting_context(&a, 2, &ctx), DS_OK);
    a.fail_at = a.calls + fail_at;
    ds_model_config *cfg = NULL;
    assert_int_equal(ds_model_config_create(DS_ARCH_PIXELCNN, &cfg), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEIGHT, 4), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_WIDTH, 4), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_FILTERS, 2), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_LAYERS, 1), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, 16), DS_OK);
    ds_model *m = NULL;
    ds_status st = ds_model_create(ctx, cfg, &m);
    ds_model_config_free(cfg);
    if (st == DS_OK) {
      created = 1;
      float x[16] = {0}, c[16] = {0};
      double lp[1] = {-1};
      st = ds_model_log_prob(m, x, c, 1, lp);
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

/* Everything one model does, hashed: training, log-probs, exact scores, samples. */
static uint64_t run_everything(int32_t threads, const masked_spec *spec) {
  ds_context *ctx = test_context(threads, 21);
  const int64_t C = spec->channels, D = C * spec->h * spec->w, n = 6;
  ds_model *m = tiny_masked_pixelcnn(ctx, spec);
  float *x = malloc(sizeof(float) * (size_t)(n * D)), *s = malloc(sizeof(float) * (size_t)(n * D));
  float *c = spec->conditional ? malloc(sizeof(float) * (size_t)(n * D)) : NULL;
  stripe_images(x, n, C, spec->h, spec->w, 4);
  if (c) stripe_images(c, n, C, spec->h, spec->w, 5);
  ds_trainer_config *tc = NULL;
  assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 3), DS_OK);
  ds_trainer *t = NULL;
  double loss, lp[6];
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, c, n, 4, &loss), DS_OK);
  uint64_t h = 1469598103934665603ull;
#define MIX(p, size)                                                    \
  for (size_t i_ = 0; i_ < (size); i_++) {                             \
    h ^= ((const unsigned char *)(p))[i_];                             \
    h *= 1099511628211ull;                                             \
  }
  MIX(&loss, sizeof loss);
  assert_int_equal(ds_model_log_prob(m, x, c, n, lp), DS_OK);
  MIX(lp, sizeof lp);
  assert_int_equal(ds_model_score(m, x, c, n, DS_SCORE_EXACT, s, NULL), DS_OK);
  MIX(s, sizeof(float) * (size_t)(n * D));
  assert_int_equal(ds_model_sample(m, c, 2, 5, DS_SAMPLE_BISECTION, s), DS_OK);
  MIX(s, sizeof(float) * (size_t)(2 * D));
#undef MIX
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  free(x), free(s), free(c);
  ds_model_free(m);
  ds_context_free(ctx);
  return h;
}

static void same_bits_for_1_and_3_threads(void **state) {
  (void)state;
  const masked_spec rgb = {3, 5, 6, 5, 2, 2, DS_HEAD_CONTINUOUS, 0, 1, DS_ACTIVATION_RELU};
  const masked_spec cond = {1, 6, 5, 5, 2, 2, DS_HEAD_CONTINUOUS, 1, 0, DS_ACTIVATION_ELU};
  assert_true(run_everything(1, &rgb) == run_everything(3, &rgb));
  assert_true(run_everything(1, &cond) == run_everything(3, &cond));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(options_are_checked),
      cmocka_unit_test(checkpoint_round_trip),
      cmocka_unit_test(trainer_resumes_bitwise),
      cmocka_unit_test(training_lowers_the_loss),
      cmocka_unit_test(two_stage_pipeline_runs),
      cmocka_unit_test(allocation_failures_are_clean),
      cmocka_unit_test(same_bits_for_1_and_3_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
