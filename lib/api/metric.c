/* Sample-quality metrics: argument checks in front of model/precision_recall.c. */
#include "api/check.h"
#include "model/precision_recall.h"

ds_status ds_precision_recall(ds_context *ctx, const float *real, int64_t n_real,
                              const float *fake, int64_t n_fake, int64_t dim, int32_t k,
                              double *precision, double *recall) {
  DS_CHECK_NOT_NULL(NULL, ctx);
  DS_CHECK_NOT_NULL(ctx, real);
  DS_CHECK_NOT_NULL(ctx, fake);
  if (!precision && !recall)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: precision and recall are both NULL",
                    __func__);
  DS_CHECK_POSITIVE(ctx, n_real);
  DS_CHECK_POSITIVE(ctx, n_fake);
  DS_CHECK_POSITIVE(ctx, dim);
  DS_CHECK_ELEMENTS(ctx, n_real, dim);
  DS_CHECK_ELEMENTS(ctx, n_fake, dim);
  int64_t n_min = n_real < n_fake ? n_real : n_fake;
  if (k < 1 || k > n_min - 1)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: k = %d must be in 1..%lld (one less than the smaller set's %lld points)",
                    __func__, (int)k, (long long)(n_min - 1), (long long)n_min);
  DS_CHECK_FINITE_F32(ctx, real, n_real * dim, dim);
  DS_CHECK_FINITE_F32(ctx, fake, n_fake * dim, dim);
  return ds__precision_recall(ctx, __func__, real, n_real, fake, n_fake, dim, k, precision,
                              recall);
}
