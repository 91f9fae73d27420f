#include "example_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void example_check(const char *program, const ds_context *ctx, ds_status st, const char *what) {
  if (st == DS_OK) return;
  fprintf(stderr, "%s: %s failed: %s: %s\n", program, what, ds_status_str(st),
          ds_context_last_error(ctx));
  exit(1);
}

void *example_xmalloc(const char *program, size_t bytes) {
  void *p = malloc(bytes);
  if (!p) {
    fprintf(stderr, "%s: out of memory\n", program);
    exit(1);
  }
  return p;
}

double example_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int32_t example_on_progress(void *user, int64_t step, int64_t total, double loss, double rate) {
  (void)total;
  example_progress *p = user;
  char detail[96];
  snprintf(detail, sizeof detail, "loss %8.4f  %7.0f examples/s", loss, rate);
  progress_update(&p->bar, step, detail);
  return 0;
}

double example_train(const char *program, ds_context *ctx, ds_model *m, const ds_smoother *sm,
                     const float *x, int64_t n, int64_t steps, int64_t batch, double lr,
                     const char *name, int name_width, int64_t every) {
  ds_trainer_config *cfg = NULL;
  ds_trainer *tr = NULL;
  example_progress p;
  char label[64];
  snprintf(label, sizeof label, "  training %-*s", name_width, name);
  progress_start(&p.bar, label, steps, every <= 0);
  example_check(program, ctx, ds_trainer_config_create(&cfg), "ds_trainer_config_create");
  example_check(program, ctx, ds_trainer_config_set_int(cfg, DS_TRAIN_BATCH, batch), "batch");
  example_check(program, ctx, ds_trainer_config_set_int(cfg, DS_TRAIN_TOTAL_STEPS, steps), "steps");
  example_check(program, ctx, ds_trainer_config_set_int(cfg, DS_TRAIN_SCHEDULE, DS_LR_COSINE),
                "schedule");
  example_check(program, ctx, ds_trainer_config_set_float(cfg, DS_TRAIN_LR, lr), "lr");
  example_check(program, ctx, ds_trainer_create(m, cfg, sm, &tr), "ds_trainer_create");
  ds_trainer_config_free(cfg);
  if (every > 0)
    example_check(program, ctx, ds_trainer_set_progress(tr, example_on_progress, &p, every),
                  "ds_trainer_set_progress");
  double t0 = example_now();
  example_check(program, ctx, ds_trainer_train(tr, x, NULL, n, steps, NULL), "ds_trainer_train");
  progress_finish(&p.bar, NULL);
  ds_trainer_free(tr);
  return example_now() - t0;
}
