/* The per-model packed-weights cache (model.h: ds__model_packed): after every way weights
 * change — set_weights, copy_weights, a training step (data init included), EMA copy,
 * resume — log-prob must be bit for bit that of a fresh model given the same weights
 * (which packs them on its first call). A writer that forgets ds__model_weights_changed
 * keeps evaluating the old packed weights and fails here. Batch 1 (ops split inside the
 * image) and batch 4 (images split over the 2 threads) both read the cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test_util.h"
#include "pixelcnn_fixtures.h"

enum { H = 6, W = 5, D = H * W, N = 8 };

static ds_model *make(ds_context *ctx) {
  return tiny_pixelcnn(ctx, 1, H, W, 8, 1, 3, DS_HEAD_DISCRETIZED, 0, 0);
}

/* log-prob of m on x (rows 1 and 4) equals a fresh model's with m's weights. */
static void assert_fresh_equal(ds_context *ctx, const ds_model *m, const float *x) {
  int64_t P = ds_model_param_count(m);
  float *w = malloc(sizeof(float) * (size_t)P);
  assert_int_equal(ds_model_get_weights(m, w, P), DS_OK);
  ds_model *f = make(ctx);
  assert_int_equal(ds_model_set_weights(f, w, P), DS_OK);
  for (int64_t rows = 1; rows <= 4; rows += 3) {
    double a[4], b[4];
    assert_int_equal(ds_model_log_prob(m, x, NULL, rows, a), DS_OK);
    assert_int_equal(ds_model_log_prob(f, x, NULL, rows, b), DS_OK);
    assert_memory_equal(a, b, sizeof(double) * (size_t)rows);
  }
  ds_model_free(f);
  free(w);
}

/* Evaluate (so the cache holds the current weights), then check after `m` changed. */
static void warm(const ds_model *m, const float *x) {
  double lp[4];
  assert_int_equal(ds_model_log_prob(m, x, NULL, 4, lp), DS_OK);
  assert_int_equal(ds_model_log_prob(m, x, NULL, 1, lp), DS_OK);
}

static ds_trainer *trainer_for(ds_model *m, double ema) {
  ds_trainer_config *tc = NULL;
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 4), DS_OK);
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_LR, 1e-2), DS_OK);
  if (ema > 0) assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_EMA_DECAY, ema), DS_OK);
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  ds_trainer_config_free(tc);
  return t;
}

static void test_every_writer_invalidates(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 11);
  float *x = malloc(sizeof(float) * N * D);
  stripe_images(x, N, 1, H, W, 3);
  ds_model *m = make(ctx), *other = make(ctx);
  int64_t P = ds_model_param_count(m);
  float *w = malloc(sizeof(float) * (size_t)P);

  warm(m, x); /* set_weights */
  assert_int_equal(ds_model_get_weights(m, w, P), DS_OK);
  for (int64_t k = 0; k < P; k++) w[k] *= 1.5f;
  assert_int_equal(ds_model_set_weights(m, w, P), DS_OK);
  assert_fresh_equal(ctx, m, x);

  ds_trainer *t = trainer_for(other, 0.5); /* a step with data init, then EMA */
  warm(other, x);
  assert_int_equal(ds_trainer_train(t, x, NULL, N, 2, NULL), DS_OK);
  assert_fresh_equal(ctx, other, x);
  warm(m, x); /* copy_weights */
  assert_int_equal(ds_model_copy_weights(m, other), DS_OK);
  assert_fresh_equal(ctx, m, x);
  warm(m, x); /* EMA copy */
  assert_int_equal(ds_trainer_ema_to_model(t, m), DS_OK);
  assert_fresh_equal(ctx, m, x);

  char path[] = "/tmp/ds_packed_weights_XXXXXX"; /* resume restores other's saved weights */
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(ds_trainer_save(t, path), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, N, 1, NULL), DS_OK);
  warm(other, x);
  assert_int_equal(ds_trainer_resume(t, path), DS_OK);
  assert_fresh_equal(ctx, other, x);
  remove(path);

  ds_trainer_free(t);
  ds_model_free(m);
  ds_model_free(other);
  free(w);
  free(x);
  ds_context_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_writer_invalidates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
