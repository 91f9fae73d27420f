#include "model/smoother.h"

#include <math.h>

#include "core/finite.h"
#include "kernels/noise.h"

const char *ds__noise_name(int32_t family) {
  static const char *const names[] = {
      [DS_NOISE_GAUSSIAN] = "Gaussian",
      [DS_NOISE_LAPLACE] = "Laplace",
      [DS_NOISE_UNIFORM] = "uniform",
  };
  return family >= 0 && family < (int32_t)(sizeof names / sizeof *names) ? names[family] : NULL;
}

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

double ds__smoother_entropy(const ds_smoother *sm) {
  return ds__noise_entropy(sm->family, sm->sigma);
}

ds_status ds__smoother_log_q(const ds_smoother *sm, const char *fn, const float *x_tilde,
                             const float *x, int64_t n, int64_t d, double *log_q) {
  for (int64_t i = 0; i < n; i++) {
    double acc = 0.0;
    for (int64_t j = 0; j < d; j++) {
      double r = (double)x_tilde[i * d + j] - (double)x[i * d + j];
      acc += ds__noise_log_density(sm->family, sm->sigma, r);
    }
    log_q[i] = acc;
  }
  /* UNIFORM's -INFINITY outside the support is a documented value; nothing else is */
  for (int64_t i = 0; i < n; i++)
    if (isnan(log_q[i]) || (!isfinite(log_q[i]) && sm->family != DS_NOISE_UNIFORM))
      return ds__check_result_f64(sm->ctx, fn, "log_q", log_q + i, 1);
  return DS_OK;
}

ds_status ds__smoother_score(const ds_smoother *sm, const char *fn, const float *x_tilde,
                             const float *x, int64_t n, int64_t d, float *score) {
  double support = ds__noise_support(sm->family, sm->sigma);
  for (int64_t k = 0; k < n * d; k++) {
    double r = (double)x_tilde[k] - (double)x[k];
    if (fabs(r) > support)
      return ds__fail(sm->ctx, DS_ERR_NUMERIC,
                      "%s: x_tilde[%lld][%lld] - x = %g lies outside the uniform noise's "
                      "support [-%g, %g], where the score does not exist",
                      fn, (long long)(k / d), (long long)(k % d), r, support, support);
  }
  for (int64_t k = 0; k < n * d; k++)
    score[k] = (float)ds__noise_score(sm->family, sm->sigma, (double)x_tilde[k] - (double)x[k]);
  return ds__check_result_f32(sm->ctx, fn, "score", score, n * d, d);
}
