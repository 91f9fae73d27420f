#include "example_util.h"

#include <stdio.h>
#include <stdlib.h>
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
  const example_progress *p = user;
  double eta = rate > 0 ? (double)(total - step) * (double)p->batch / rate : 0.0;
  fprintf(stderr, "\r  training %-*s step %6lld/%lld  loss %8.4f  %7.0f examples/s  ETA %3.0f s ",
          p->name_width, p->name, (long long)step, (long long)total, loss, rate, eta);
  if (step >= total) fputc('\n', stderr);
  fflush(stderr);
  return 0;
}
