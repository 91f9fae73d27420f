/* Small helpers the example programs share: die on a failed call with the library's
 * detail, a monotonic clock, and a training progress line with throughput and ETA. */
#ifndef DS_EXAMPLE_UTIL_H
#define DS_EXAMPLE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "dsmooth.h"
#include "progress.h"

/* Unless st is DS_OK: print "program: what failed: STATUS: detail" and exit(1). */
void example_check(const char *program, const ds_context *ctx, ds_status st, const char *what);
/* malloc or exit(1) with a message. */
void *example_xmalloc(const char *program, size_t bytes);
/* Seconds on a monotonic clock. */
double example_now(void);

/* ds_progress_fn: a progress bar on a terminal, plain lines into a log (progress.h). */
typedef struct example_progress {
  progress_bar bar;
} example_progress;
int32_t example_on_progress(void *user, int64_t step, int64_t total, double loss, double rate);

/* Train m for `steps` Adam steps of `batch` with a cosine schedule from `lr` (smoother NULL:
 * the direct model; given: stage 1, or stage 2 for a conditional m), printing progress every
 * `every` steps (0: quietly). Returns the wall time in seconds; exits on failure. */
double example_train(const char *program, ds_context *ctx, ds_model *m, const ds_smoother *sm,
                     const float *x, int64_t n, int64_t steps, int64_t batch, double lr,
                     const char *name, int name_width, int64_t every);

#endif
