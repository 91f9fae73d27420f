#include "kernels/adam.h"

#include <math.h>

void ds__adam_update(const ds__adam_hyper *h, const float *grad, float *params, float *m,
                     float *v, int64_t begin, int64_t end) {
  double c1 = 1.0 - pow((double)h->beta1, (double)h->step);
  double c2 = 1.0 - pow((double)h->beta2, (double)h->step);
  float inv_c1 = (float)(1.0 / c1), inv_c2 = (float)(1.0 / c2);
  float b1 = h->beta1, b2 = h->beta2, decay = h->lr * h->weight_decay;
  for (int64_t i = begin; i < end; i++) {
    float g = grad[i];
    m[i] = b1 * m[i] + (1.0f - b1) * g;
    v[i] = b2 * v[i] + (1.0f - b2) * g * g;
    float mhat = m[i] * inv_c1, vhat = v[i] * inv_c2;
    params[i] -= h->lr * mhat / (sqrtf(vhat) + h->epsilon) + decay * params[i];
  }
}

#define DS__SUMSQ_CHUNK 4096

int64_t ds__sumsq_chunks(int64_t count) { return (count + DS__SUMSQ_CHUNK - 1) / DS__SUMSQ_CHUNK; }

void ds__sumsq_chunk(const float *x, int64_t count, int64_t j, double *partial) {
  int64_t b = j * DS__SUMSQ_CHUNK, e = b + DS__SUMSQ_CHUNK < count ? b + DS__SUMSQ_CHUNK : count;
  double acc = 0.0;
  for (int64_t i = b; i < e; i++) acc += (double)x[i] * (double)x[i];
  partial[j] = acc;
}
