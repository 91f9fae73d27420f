/* ds_model through the public API: argument checks, normalisation of both heads,
 * reproducible sampling, checkpoint round trip and a checkpoint fuzz-lite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <unistd.h>

#include "test_util.h"
#include "model_fixtures.h"

static void config_rejects_bad_values(void **state) {
  (void)state;
  ds_model_config *cfg = NULL;
  assert_int_equal(ds_model_config_create(7, &cfg), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_create(DS_ARCH_MADE, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, 0), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(NULL), "DS_MODEL_DIM = 0"));
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COMPONENTS, 300), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEAD, 2), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_BINS, 1), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_set_int(cfg, 1234, 1), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_set_float(cfg, DS_MODEL_BIN_LO, NAN), DS_ERR_INVALID_ARGUMENT);
  int64_t widths[2] = {8, 0};
  assert_int_equal(ds_model_config_set_hidden(cfg, widths, 2), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_config_set_hidden(cfg, widths, 0), DS_ERR_INVALID_ARGUMENT);
  ds_context *ctx = test_context(1, 0);
  ds_model *m = NULL;
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_ERR_INVALID_ARGUMENT); /* DIM unset */
  assert_non_null(strstr(ds_context_last_error(ctx), "DS_MODEL_DIM"));
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, 3), DS_OK);
  assert_int_equal(ds_model_config_set_float(cfg, DS_MODEL_BIN_LO, 2.0), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_ERR_INVALID_ARGUMENT); /* lo > hi */
  assert_null(m);
  ds_model_config_free(cfg);
  ds_model_config_free(NULL);
  ds_context_free(ctx);
}

static void calls_reject_bad_arguments(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 0);
  ds_model *m = small_model(ctx, 2, 0, 2, 8), *cm = small_model(ctx, 2, 2, 2, 8);
  float x[4] = {0, 1, 2, 3}, s[4] = {9, 9, 9, 9};
  double lp[2] = {9, 9};
  assert_int_equal(ds_model_log_prob(NULL, x, NULL, 2, lp), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_log_prob(m, NULL, NULL, 2, lp), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_log_prob(m, x, NULL, 0, lp), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_log_prob(m, x, x, 2, lp), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_log_prob(cm, x, NULL, 2, lp), DS_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(ds_context_last_error(ctx), "cond is NULL"));
  x[3] = INFINITY;
  assert_int_equal(ds_model_log_prob(m, x, NULL, 2, lp), DS_ERR_NUMERIC);
  assert_string_equal(ds_context_last_error(ctx), "ds_model_log_prob: x[1][1] is infinite");
  assert_int_equal(ds_model_score(m, x, NULL, 2, DS_SCORE_EXACT, s, NULL), DS_ERR_NUMERIC);
  x[3] = 3;
  assert_int_equal(ds_model_score(m, x, NULL, 2, 5, s, NULL), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_sample(m, NULL, 2, 0, 9, s), DS_ERR_INVALID_ARGUMENT);
  assert_int_equal(ds_model_sample(m, NULL, 0, 0, DS_SAMPLE_GUMBEL, s), DS_ERR_INVALID_ARGUMENT);
  for (int i = 0; i < 4; i++) assert_true(s[i] == 9);
  assert_true(lp[0] == 9 && lp[1] == 9);
  assert_int_equal(ds_model_copy_weights(m, cm), DS_ERR_SHAPE_MISMATCH);
  assert_int_equal(ds_model_dim(m), 2);
  assert_int_equal(ds_model_cond_dim(cm), 2);
  assert_true(ds_model_param_count(m) > 0);
  ds_model_free(NULL);
  ds_model_free(m);
  ds_model_free(cm);
  ds_context_free(ctx);
}

/* A 1-D discretized model is a pmf over its bins; a continuous one a density. */
static void heads_normalise_through_the_model(void **state) {
  (void)state;
  ds_context *ctx = test_context(2, 4);
  ds_model_config *cfg = NULL;
  ds_model *m = NULL;
  assert_int_equal(ds_model_config_create(DS_ARCH_MADE, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, 1), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEAD, DS_HEAD_DISCRETIZED), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_BINS, 17), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
  float bins[17];
  double lp[17], total = 0;
  for (int b = 0; b < 17; b++) bins[b] = -1.0f + 2.0f * (float)b / 16.0f;
  assert_int_equal(ds_model_log_prob(m, bins, NULL, 17, lp), DS_OK);
  for (int b = 0; b < 17; b++) total += exp(lp[b]);
  assert_true(fabs(total - 1.0) < 1e-5);
  ds_model_free(m);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEAD, DS_HEAD_CONTINUOUS), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
  enum { G = 20001 };
  static float grid[G];
  static double dens[G];
  for (int i = 0; i < G; i++) grid[i] = -50.0f + 100.0f * (float)i / (G - 1);
  assert_int_equal(ds_model_log_prob(m, grid, NULL, G, dens), DS_OK);
  total = 0;
  for (int i = 0; i < G; i++) total += exp(dens[i]) * (100.0 / (G - 1));
  assert_true(fabs(total - 1.0) < 1e-3);
  ds_model_free(m);
  ds_model_config_free(cfg);
  ds_context_free(ctx);
}

static void sampling_is_reproducible_and_block_independent(void **state) {
  (void)state;
  float a[200 * 3], b[10 * 3], c[200 * 3];
  for (int method = 0; method < 2; method++) {
    ds_context *c1 = test_context(1, 9), *c3 = test_context(3, 9);
    ds_model *m1 = small_model(c1, 3, 0, 4, 16), *m3 = small_model(c3, 3, 0, 4, 16);
    assert_int_equal(ds_model_sample(m1, NULL, 200, 5, method, a), DS_OK);
    assert_int_equal(ds_model_sample(m3, NULL, 10, 5, method, b), DS_OK);
    assert_int_equal(ds_model_sample(m3, NULL, 200, 5, method, c), DS_OK);
    assert_memory_equal(a, c, sizeof a);          /* any thread count */
    assert_memory_equal(a, b, sizeof b);          /* example i does not depend on n */
    assert_int_equal(ds_model_sample(m3, NULL, 200, 6, method, c), DS_OK);
    assert_true(memcmp(a, c, sizeof a) != 0);     /* another stream, other samples */
    ds_model_free(m1);
    ds_model_free(m3);
    ds_context_free(c1);
    ds_context_free(c3);
  }
}

static void tmp_path(char *buf, size_t size, const char *tag) {
  snprintf(buf, size, "/tmp/ds_test_%s_%d.ckpt", tag, (int)getpid());
}

static void checkpoint_round_trip(void **state) {
  (void)state;
  char path[64];
  tmp_path(path, sizeof path, "model");
  ds_context *ctx = test_context(2, 12);
  ds_model *m = small_model(ctx, 3, 2, 3, 16), *back = NULL;
  assert_int_equal(ds_model_save(m, path), DS_OK);
  assert_int_equal(ds_model_load(ctx, path, &back), DS_OK);
  float x[6] = {0.1f, 0.2f, -0.3f, 1, 2, 3}, c[4] = {0.5f, 0.5f, -1, 1};
  double l1[2], l2[2];
  assert_int_equal(ds_model_log_prob(m, x, c, 2, l1), DS_OK);
  assert_int_equal(ds_model_log_prob(back, x, c, 2, l2), DS_OK);
  assert_memory_equal(l1, l2, sizeof l1);
  assert_int_equal(ds_model_save(m, "/nonexistent/dir/m.ckpt"), DS_ERR_IO);
  assert_int_equal(ds_model_load(ctx, "/nonexistent/m.ckpt", &back), DS_ERR_IO);
  assert_int_equal(ds_model_load(ctx, "/tmp", &back), DS_ERR_IO); /* a directory */
  assert_non_null(strstr(ds_context_last_error(ctx), "directory"));
  ds_model_free(back);
  ds_model_free(m);
  ds_context_free(ctx);
  unlink(path);
}

static void checkpoint_fuzz_lite(void **state) {
  (void)state;
  char path[64], bad[64];
  tmp_path(path, sizeof path, "fuzz_src");
  tmp_path(bad, sizeof bad, "fuzz_bad");
  ds_context *ctx = test_context(1, 3);
  ds_model *m = small_model(ctx, 2, 0, 1, 3);
  assert_int_equal(ds_model_save(m, path), DS_OK);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static unsigned char data[1 << 16];
  size_t len = fread(data, 1, sizeof data, f);
  fclose(f);
  assert_true(len > 40 && len < sizeof data);
  ds_model *out = (ds_model *)0x1;
  /* every truncation */
  for (size_t cut = 0; cut < len; cut++) {
    f = fopen(bad, "wb");
    fwrite(data, 1, cut, f);
    fclose(f);
    ds_status st = ds_model_load(ctx, bad, &out);
    assert_int_equal(st, DS_ERR_BAD_FORMAT);
    assert_ptr_equal(out, (ds_model *)0x1);
  }
  /* every single-byte flip */
  for (size_t pos = 0; pos < len; pos++) {
    data[pos] ^= 0x5a;
    f = fopen(bad, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
    ds_status st = ds_model_load(ctx, bad, &out);
    assert_true(st == DS_ERR_BAD_FORMAT || st == DS_ERR_UNSUPPORTED_VERSION);
    assert_ptr_equal(out, (ds_model *)0x1);
    data[pos] ^= 0x5a;
  }
  /* a header that declares a huge payload the file does not have: refused from its size,
     before any allocation of that size */
  {
    unsigned char hdr[24];
    memcpy(hdr, data, 16);
    uint64_t huge = (uint64_t)1 << 35;
    for (int i = 0; i < 8; i++) hdr[16 + i] = (unsigned char)(huge >> (8 * i));
    f = fopen(bad, "wb");
    fwrite(hdr, 1, sizeof hdr, f);
    fclose(f);
    assert_int_equal(ds_model_load(ctx, bad, &out), DS_ERR_BAD_FORMAT);
    assert_non_null(strstr(ds_context_last_error(ctx), "truncated"));
  }
  /* a newer format version is named as such */
  data[8] = 4; /* format version 3 is current since 0.3 */
  f = fopen(bad, "wb");
  fwrite(data, 1, len, f);
  fclose(f);
  assert_int_equal(ds_model_load(ctx, bad, &out), DS_ERR_UNSUPPORTED_VERSION);
  assert_non_null(strstr(ds_context_last_error(ctx), "version 4"));
  ds_model_free(m);
  ds_context_free(ctx);
  unlink(path);
  unlink(bad);
}

/* Configurations compare by what matters: stale widths past the layer count do not count. */
static void reconfigured_model_round_trips(void **state) {
  (void)state;
  char path[64];
  tmp_path(path, sizeof path, "reconf");
  ds_context *ctx = test_context(1, 2);
  ds_model_config *cfg = NULL;
  ds_model *m = NULL, *back = NULL;
  int64_t three[3] = {8, 8, 8}, two[2] = {8, 8};
  assert_int_equal(ds_model_config_create(DS_ARCH_MADE, &cfg), DS_OK);
  assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_DIM, 2), DS_OK);
  assert_int_equal(ds_model_config_set_hidden(cfg, three, 3), DS_OK);
  assert_int_equal(ds_model_config_set_hidden(cfg, two, 2), DS_OK);
  assert_int_equal(ds_model_create(ctx, cfg, &m), DS_OK);
  assert_int_equal(ds_model_save(m, path), DS_OK);
  assert_int_equal(ds_model_load(ctx, path, &back), DS_OK);
  assert_int_equal(ds_model_copy_weights(m, back), DS_OK);
  assert_int_equal(ds_model_copy_weights(m, m), DS_OK);
  ds_model_free(back);
  ds_model_free(m);
  ds_model_config_free(cfg);
  ds_context_free(ctx);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(config_rejects_bad_values),
      cmocka_unit_test(calls_reject_bad_arguments),
      cmocka_unit_test(heads_normalise_through_the_model),
      cmocka_unit_test(sampling_is_reproducible_and_block_independent),
      cmocka_unit_test(checkpoint_round_trip),
      cmocka_unit_test(checkpoint_fuzz_lite),
      cmocka_unit_test(reconfigured_model_round_trips),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
