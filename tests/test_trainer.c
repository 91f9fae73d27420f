/* Training: the loss goes down, results are bitwise identical for any thread count and
 * across save/resume, cancellation works, and bad arguments are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <unistd.h>

#include "test_util.h"
#include "model_fixtures.h"

#define N 2048

typedef struct run_result {
  double first_loss, last_loss;
  float *params_probe; /* log_prob on probe points after training */
} run_result;

/* Train stage 1 (smoother attached) for `steps` and return log p of probe points. */
static void train_run(int32_t threads, int64_t steps, int64_t split, const char *ckpt,
                      double *probe_out, double *loss_first, double *loss_last) {
  ds_context *ctx = test_context(threads, 77);
  ds_smoother *sm = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.3, &sm), DS_OK);
  ds_model *m = small_model(ctx, 2, 0, 3, 32);
  ds_trainer_config *tc = small_trainer_config(128, steps);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, sm, &t), DS_OK);
  static float x[N * 2];
  mixture_data(x, N, 1);
  double l1 = 0, l2 = 0;
  if (split > 0) { /* train `split` steps, save, free everything, resume in a new trainer */
    assert_int_equal(ds_trainer_train(t, x, NULL, N, split, &l1), DS_OK);
    assert_int_equal(ds_trainer_save(t, ckpt), DS_OK);
    ds_trainer_free(t);
    ds_model_free(m);
    m = small_model(ctx, 2, 0, 3, 32); /* fresh weights: resume must overwrite them */
    assert_int_equal(ds_trainer_create(m, tc, sm, &t), DS_OK);
    assert_int_equal(ds_trainer_resume(t, ckpt), DS_OK);
    assert_int_equal(ds_trainer_step(t), split);
    assert_int_equal(ds_trainer_train(t, x, NULL, N, steps - split, &l2), DS_OK);
  } else {
    assert_int_equal(ds_trainer_train(t, x, NULL, N, 10, &l1), DS_OK);
    assert_int_equal(ds_trainer_train(t, x, NULL, N, steps - 10, &l2), DS_OK);
  }
  assert_int_equal(ds_trainer_step(t), steps);
  float probe[8] = {-1.5f, -1.5f, 1.5f, 1.5f, 0.0f, 0.0f, 1.4f, -1.6f};
  assert_int_equal(ds_model_log_prob(m, probe, NULL, 4, probe_out), DS_OK);
  if (loss_first) *loss_first = l1;
  if (loss_last) *loss_last = l2;
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  ds_model_free(m);
  ds_smoother_free(sm);
  ds_context_free(ctx);
}

static void loss_decreases(void **state) {
  (void)state;
  double probe[4], first, last;
  train_run(2, 300, 0, NULL, probe, &first, &last);
  print_message("mean loss of the first 10 steps %.3f, of the rest %.3f\n", first, last);
  assert_true(last < first - 0.3);
  /* the smoothed mixture puts far more mass at its modes than between them */
  assert_true(probe[0] > probe[2] + 1.0 && probe[1] > probe[2] + 1.0);
}

static void bitwise_identical_for_any_thread_count(void **state) {
  (void)state;
  double a[4], b[4], c[4];
  train_run(1, 60, 0, NULL, a, NULL, NULL);
  train_run(3, 60, 0, NULL, b, NULL, NULL);
  train_run(8, 60, 0, NULL, c, NULL, NULL);
  assert_memory_equal(a, b, sizeof a);
  assert_memory_equal(a, c, sizeof a);
}

static void resume_continues_bitwise(void **state) {
  (void)state;
  char path[64];
  snprintf(path, sizeof path, "/tmp/ds_test_resume_%d.ckpt", (int)getpid());
  double straight[4], resumed[4];
  train_run(2, 80, 0, NULL, straight, NULL, NULL);
  train_run(2, 80, 37, path, resumed, NULL, NULL); /* 37: mid-epoch */
  assert_memory_equal(straight, resumed, sizeof straight);
  unlink(path);
}

static int32_t cancel_at_5(void *user, int64_t step, int64_t total, double loss, double rate) {
  (void)total; (void)rate;
  int *calls = user;
  (*calls)++;
  assert_true(isfinite(loss) && loss > 0);
  return step >= 5;
}

static void progress_callback_can_cancel(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 1);
  ds_model *m = small_model(ctx, 2, 0, 2, 16);
  ds_trainer_config *tc = small_trainer_config(64, 100);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  static float x[N * 2];
  mixture_data(x, N, 2);
  int calls = 0;
  assert_int_equal(ds_trainer_set_progress(t, cancel_at_5, &calls, 1), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, N, 100, NULL), DS_ERR_CANCELLED);
  assert_int_equal(ds_trainer_step(t), 5);
  assert_int_equal(calls, 5);
  /* the trainer stays usable */
  assert_int_equal(ds_trainer_set_progress(t, NULL, NULL, 0), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, N, 3, NULL), DS_OK);
  assert_int_equal(ds_trainer_step(t), 8);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  ds_model_free(m);
  ds_context_free(ctx);
}

static void bad_arguments_are_refused(void **state) {
  (void)state;
  ds_context *ctx = test_context(1, 1);
  ds_model *m = small_model(ctx, 2, 0, 2, 8), *cm = small_model(ctx, 2, 3, 2, 8);
  ds_smoother *sm = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.5, &sm), DS_OK);
  ds_trainer_config *tc = small_trainer_config(64, 10);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 0), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_config_set_int(tc, 99, 1), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_LR, -1), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_BETA2, 1.0), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_EPSILON, NAN), DS_ERR_INVALID_ARGUMENT);
  /* values that round to nonsense in the float update */
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_BETA2, 0.99999999), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_EPSILON, 1e-46), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_LR, 1e30), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_create(NULL, tc, NULL, &t), DS_ERR_INVALID_ARGUMENT);
  /* stage 2 needs C = D */
  assert_int_equal(ds_trainer_create(cm, tc, sm, &t), DS_ERR_SHAPE_MISMATCH);
  assert_null(t);
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  float x[128 * 2];
  mixture_data(x, 128, 3);
  float c[128 * 3] = {0};
  assert_int_equal(ds_trainer_train(t, x, NULL, 32, 1, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(ctx), "fewer than one batch"));
  assert_int_equal(ds_trainer_train(t, x, c, 128, 1, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_train(t, NULL, NULL, 128, 1, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_trainer_train(t, x, NULL, 128, -1, NULL), DS_ERR_INVALID_ARGUMENT);
  x[7] = NAN;
  assert_int_equal(ds_trainer_train(t, x, NULL, 128, 1, NULL), DS_ERR_NUMERIC);
  assert_int_equal(ds_trainer_step(t), 0);
  assert_int_equal(ds_trainer_resume(t, "/nonexistent/dir/file"), DS_ERR_IO);
  assert_int_equal(ds_trainer_set_progress(t, cancel_at_5, NULL, 0), DS_ERR_INVALID_ARGUMENT);
  ds_trainer_free(t);
  ds_trainer_free(NULL);
  ds_trainer_config_free(tc);
  ds_model_free(m);
  ds_model_free(cm);
  ds_smoother_free(sm);
  ds_context_free(ctx);
}

/* A corrupted or truncated trainer checkpoint is refused and leaves the trainer as it was. */
static void resume_rejects_damaged_files(void **state) {
  (void)state;
  char path[64], bad[64];
  snprintf(path, sizeof path, "/tmp/ds_test_tr_src_%d.ckpt", (int)getpid());
  snprintf(bad, sizeof bad, "/tmp/ds_test_tr_bad_%d.ckpt", (int)getpid());
  ds_context *ctx = test_context(2, 8);
  ds_model *m = small_model(ctx, 2, 0, 1, 4);
  ds_trainer_config *tc = small_trainer_config(64, 10);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  static float x[256 * 2];
  mixture_data(x, 256, 5);
  assert_int_equal(ds_trainer_train(t, x, NULL, 256, 3, NULL), DS_OK);
  assert_int_equal(ds_trainer_save(t, path), DS_OK);
  FILE *f = fopen(path, "rb");
  static unsigned char data[1 << 16];
  size_t len = fread(data, 1, sizeof data, f);
  fclose(f);
  double before[2], after[2];
  float probe[4] = {1, 1, -1, 0.5f};
  assert_int_equal(ds_model_log_prob(m, probe, NULL, 2, before), DS_OK);
  for (size_t pos = 0; pos < len; pos += 3) {
    for (int mode = 0; mode < 2; mode++) {
      f = fopen(bad, "wb");
      if (mode == 0) fwrite(data, 1, pos, f); /* truncated at pos */
      else { data[pos] ^= 0xa5; fwrite(data, 1, len, f); data[pos] ^= 0xa5; } /* flipped */
      fclose(f);
      ds_status st = ds_trainer_resume(t, bad);
      assert_true(st == DS_ERR_BAD_FORMAT || st == DS_ERR_UNSUPPORTED_VERSION);
    }
  }
  assert_int_equal(ds_trainer_step(t), 3);
  assert_int_equal(ds_model_log_prob(m, probe, NULL, 2, after), DS_OK);
  assert_memory_equal(before, after, sizeof before);
  /* a model file is not a trainer file */
  assert_int_equal(ds_model_save(m, bad), DS_OK);
  assert_int_equal(ds_trainer_resume(t, bad), DS_ERR_BAD_FORMAT);
  assert_non_null(strstr(ds_context_last_error(ctx), "holds a model"));
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  ds_model_free(m);
  ds_context_free(ctx);
  unlink(path);
  unlink(bad);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(loss_decreases),
      cmocka_unit_test(bitwise_identical_for_any_thread_count),
      cmocka_unit_test(resume_continues_bitwise),
      cmocka_unit_test(progress_callback_can_cancel),
      cmocka_unit_test(bad_arguments_are_refused),
      cmocka_unit_test(resume_rejects_damaged_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
