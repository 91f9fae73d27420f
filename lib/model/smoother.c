#include "model/smoother.h"

#include "kernels/noise.h"

typedef struct noise_job {
  const ds_smoother *sm;
  const float *x;
  float *out;
  int64_t count, first;
  uint64_t stream;
} noise_job;

static void add_noise_range(void *p, int32_t t, int32_t threads) {
  const noise_job *job = p;
  int64_t begin, end;
  ds__split_range(job->count, t, threads, &begin, &end);
  for (int64_t k = begin; k < end; k++)
    job->out[k] = (float)((double)job->x[k] + ds__noise_draw(job->sm->family, job->sm->sigma,
                                                               job->sm->seed, job->stream,
                                                               (uint64_t)(job->first + k)));
}

void ds__smoother_add_noise(const ds_smoother *sm, const float *x, int64_t count,
                            uint64_t stream, int64_t first, float *x_tilde) {
  noise_job job = {sm, x, x_tilde, count, first, stream};
  ds__pool_run(sm->ctx->pool, add_noise_range, &job);
}
