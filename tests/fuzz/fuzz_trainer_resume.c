/* libFuzzer target: ds_trainer_resume on arbitrary bytes (as is and with the checksum
 * fixed) into fresh fixture trainers (fuzz_fixtures.h). Oracle: a refused file leaves
 * step and weights exactly as they were; an accepted one leaves a trainer whose next
 * training step returns DS_OK with a finite loss and finite log-probabilities after it, or
 * fails with DS_ERR_NUMERIC and changes nothing; memory returns to its baseline. */
#include "fuzz_fixtures.h"

#include <math.h>

static ds_context *ctx;
static char path[64];
static uint64_t baseline;

static void log_probs(const ds_model *m, const float *x, double *lp, int must_be_ok) {
  ds_status st = ds_model_log_prob(m, x, NULL, 2, lp);
  if (st == DS_OK) {
    if (!isfinite(lp[0]) || !isfinite(lp[1])) fuzz_die("DS_OK with a non-finite log_prob", "");
  } else if (must_be_ok || st != DS_ERR_NUMERIC) {
    fuzz_die("log_prob failed", ds_context_last_error(ctx));
  } else {
    lp[0] = lp[1] = NAN;
  }
}

static void try_resume(int which, const float *x) {
  fuzz_trainer f;
  fuzz_trainer_open(ctx, which, &f);
  double before[2], after[2];
  log_probs(f.model, x, before, 1);
  ds_status st = ds_trainer_resume(f.trainer, path);
  if (st != DS_OK) {
    if (!fuzz_is_expected_failure(st) || !ds_context_last_error(ctx)[0])
      fuzz_die("resume failed with an unexpected status or no detail", ds_context_last_error(ctx));
    log_probs(f.model, x, after, 1);
    if (ds_trainer_step(f.trainer) != 0 || memcmp(before, after, sizeof before) != 0)
      fuzz_die("a refused resume changed the trainer", "");
  } else {
    int64_t step = ds_trainer_step(f.trainer);
    log_probs(f.model, x, before, 0);
    double loss = 0;
    st = ds_trainer_train(f.trainer, x, NULL, FUZZ_DATA_N, 1, &loss);
    if (st == DS_OK) {
      if (!isfinite(loss) || ds_trainer_step(f.trainer) != step + 1)
        fuzz_die("a training step after resume went wrong", "");
      log_probs(f.model, x, after, 0);
    } else if (st == DS_ERR_NUMERIC) {
      log_probs(f.model, x, after, 0);
      if (ds_trainer_step(f.trainer) != step ||
          (!isnan(before[0]) && memcmp(before, after, sizeof before) != 0))
        fuzz_die("a failed training step changed the trainer", "");
    } else if (st != DS_ERR_INVALID_ARGUMENT) { /* at the step limit */
      fuzz_die("training after resume failed unexpectedly", ds_context_last_error(ctx));
    }
  }
  fuzz_trainer_close(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static float x[FUZZ_DATA_N * 16];
  if (!ctx) {
    ctx = fuzz_context(FUZZ_MEMORY_LIMIT);
    baseline = ds_context_memory_in_use(ctx);
    fuzz_path(path, sizeof path, "trainer.ckpt");
    fuzz_data(x, FUZZ_DATA_N * 16);
  }
  for (int fix = 0; fix < 2; fix++) {
    fuzz_write(path, data, size, fix);
    for (int which = 0; which < FUZZ_TRAINERS; which++) try_resume(which, x);
  }
  if (ds_context_memory_in_use(ctx) != baseline) fuzz_die("memory in use drifted", "");
  return 0;
}
