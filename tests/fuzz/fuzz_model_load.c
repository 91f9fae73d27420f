/* libFuzzer target: ds_model_load on arbitrary bytes, each input tried as is and with its
 * checksum fixed. Oracle: a load fails with a file status and changes nothing, or gives a
 * model whose log_prob is DS_OK with finite values (or DS_ERR_NUMERIC / OUT_OF_MEMORY),
 * whose save + load round trip gives the same log-probabilities bit for bit, and — image
 * models of at most 20 values (4x4, 4x5 grayscale: the naive sampler costs H*W passes) —
 * whose cached and naive samplers agree bit for bit. The context's memory in use returns
 * to its baseline after every input (no leak, no accounting drift). */
#include "fuzz_fixtures.h"

#include <math.h>

static ds_context *ctx;
static char path[64], copy[64];
static uint64_t baseline;

static void check_log_prob(const ds_model *m, const float *x, const float *c, int64_t n,
                           double *lp) {
  ds_status st = ds_model_log_prob(m, x, c, n, lp);
  if (st == DS_OK) {
    for (int64_t i = 0; i < n; i++)
      if (!isfinite(lp[i])) fuzz_die("DS_OK with a non-finite log_prob", "");
  } else if (st != DS_ERR_NUMERIC && st != DS_ERR_OUT_OF_MEMORY) {
    fuzz_die("log_prob failed with an unexpected status", ds_context_last_error(ctx));
  }
  if (st != DS_OK) lp[0] = NAN; /* marks "no value" for the round trip */
}

static void oracle(ds_model *m, uint32_t arch) {
  int64_t D = ds_model_dim(m), C = ds_model_cond_dim(m);
  if (D > 4096 || C > 4096) return; /* loaded fine; evaluation is the budget's business */
  float *x = malloc(sizeof(float) * (size_t)(2 * (D + C)));
  float *c = C ? x + 2 * D : NULL;
  fuzz_data(x, 2 * (D + C));
  double lp[2], lp2[2];
  check_log_prob(m, x, c, 2, lp);
  /* round trip: the writer and the reader agree */
  if (ds_model_save(m, copy) == DS_OK) {
    ds_model *again = NULL;
    ds_status st = ds_model_load(ctx, copy, &again);
    if (st != DS_OK && st != DS_ERR_OUT_OF_MEMORY)
      fuzz_die("a saved model does not load", ds_context_last_error(ctx));
    if (st == DS_OK) {
      check_log_prob(again, x, c, 2, lp2);
      if (!isnan(lp[0]) && !isnan(lp2[0]) && memcmp(lp, lp2, sizeof lp) != 0)
        fuzz_die("log_prob differs after save + load", "");
      ds_model_free(again);
    }
  }
  /* image models: the cached sampler against the naive one */
  if ((arch == DS_ARCH_PIXELCNNPP || arch == DS_ARCH_PIXELCNN) && D <= 20) {
    float *a = calloc((size_t)D, sizeof(float)), *b = calloc((size_t)D, sizeof(float));
    ds_status sa = ds_model_sample(m, c, 1, 3, DS_SAMPLE_BISECTION, a);
    ds_status sb = ds_model_sample(m, c, 1, 3, DS_SAMPLE_BISECTION | DS_SAMPLE_NAIVE, b);
    if (sa == DS_OK && sb == DS_OK && memcmp(a, b, sizeof(float) * (size_t)D) != 0)
      fuzz_die("cached and naive samplers disagree", "");
    /* the naive loop may refuse what the cached sampler accepts: it also checks positions
       it computes from pixels not yet sampled (ds_model_sample's non-finite policy) */
    int naive_stricter = sa == DS_OK && sb == DS_ERR_NUMERIC;
    if ((sa == DS_OK) != (sb == DS_OK) && sa != DS_ERR_OUT_OF_MEMORY &&
        sb != DS_ERR_OUT_OF_MEMORY && !naive_stricter)
      fuzz_die("one sampler failed, the other did not", ds_context_last_error(ctx));
    free(a);
    free(b);
  }
  free(x);
}

static void try_load(const uint8_t *data, size_t size, int fix_crc) {
  fuzz_write(path, data, size, fix_crc);
  ds_model *m = NULL;
  ds_status st = ds_model_load(ctx, path, &m);
  if (st == DS_OK) {
    uint32_t arch = size >= 28 ? (uint32_t)data[24] | (uint32_t)data[25] << 8 |
                                     (uint32_t)data[26] << 16 | (uint32_t)data[27] << 24
                               : 99;
    oracle(m, arch);
    ds_model_free(m);
  } else {
    if (m) fuzz_die("a failed load wrote its output", "");
    if (!fuzz_is_expected_failure(st) || !ds_context_last_error(ctx)[0])
      fuzz_die("load failed with an unexpected status or no detail", ds_context_last_error(ctx));
  }
  if (ds_context_memory_in_use(ctx) != baseline) fuzz_die("memory in use drifted", "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!ctx) {
    ctx = fuzz_context(FUZZ_MEMORY_LIMIT);
    baseline = ds_context_memory_in_use(ctx);
    fuzz_path(path, sizeof path, "model.ckpt");
    fuzz_path(copy, sizeof copy, "copy.ckpt");
  }
  try_load(data, size, 0);
  try_load(data, size, 1);
  return 0;
}
