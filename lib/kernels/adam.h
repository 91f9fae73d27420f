/* AdamW update (Kingma & Ba 2015; decoupled weight decay, Loshchilov & Hutter 2019). */
#ifndef DS_KERNELS_ADAM_H
#define DS_KERNELS_ADAM_H

#include <stdint.h>

typedef struct ds__adam_hyper {
  float lr;            /* this step's learning rate (schedule applied) */
  float beta1, beta2, epsilon, weight_decay;
  int64_t step;        /* 1-based, for bias correction */
} ds__adam_hyper;

/* Elements [begin, end) of params, moments m and v (all (count)):
 *   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2
 *   p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + lr wd p */
void ds__adam_update(const ds__adam_hyper *h, const float *grad, float *params, float *m,
                     float *v, int64_t begin, int64_t end);

/* Sum of squares of x[0, count) in double, in fixed 4096-element chunks summed in order,
 * so the value does not depend on how callers split the work. partial has
 * ds__sumsq_chunks(count) slots; ds__sumsq_chunk fills chunk j. */
int64_t ds__sumsq_chunks(int64_t count);
void ds__sumsq_chunk(const float *x, int64_t count, int64_t j, double *partial);

#endif
