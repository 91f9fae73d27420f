#include "model/smoother.h"

#include <math.h>

#include "kernels/noise.h"

typedef struct noise_job {
  const ds_smoother *sm;
  const float *x;
  float *out;
  int64_t count, first;
  uint64_t seed, stream;
} noise_job;

static void add_noise_range(void *p, int32_t t, int32_t threads) {
  const noise_job *job = p;
  int64_t begin, end;
  ds__split_range(job->count, t, threads, &begin, &end);
  double support = ds__noise_support(job->sm->family, job->sm->sigma);
  for (int64_t k = begin; k < end; k++) {
    float x = job->x[k];
    float xt = (float)((double)x + ds__noise_draw(job->sm->family, job->sm->sigma, job->seed,
                                                  job->stream, (uint64_t)(job->first + k)));
    /* rounding to float can carry a uniform draw just past the support's edge, where
       q(x~ | x) = 0: step back inside so the library's own samples always have a density */
    while (fabs((double)xt - (double)x) > support) xt = nextafterf(xt, x);
    job->out[k] = xt;
  }
}

void ds__smoother_add_noise_seeded(const ds_smoother *sm, uint64_t seed, const float *x,
                                   int64_t count, uint64_t stream, int64_t first,
                                   float *x_tilde) {
  noise_job job = {sm, x, x_tilde, count, first, seed, stream};
  ds__pool_run(sm->ctx->pool, add_noise_range, &job);
}

void ds__smoother_add_noise(const ds_smoother *sm, const float *x, int64_t count,
                            uint64_t stream, int64_t first, float *x_tilde) {
  ds__smoother_add_noise_seeded(sm, sm->seed, x, count, stream, first, x_tilde);
}
