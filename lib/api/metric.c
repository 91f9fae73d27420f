/* Sample-quality metrics: improved precision and recall. */
#include "api/check.h"
#include "kernels/knn.h"

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

  /* per point: squared norm, norm, radius; plus the kernels' workspace */
  double *r_stats = ds__calloc(ctx, (size_t)n_real * 3, sizeof(double));
  double *f_stats = ds__calloc(ctx, (size_t)n_fake * 3, sizeof(double));
  void *work = ds__malloc(ctx, ds__knn_workspace_size(ctx->pool, k));
  if (!r_stats || !f_stats || !work) {
    ds__free(ctx, r_stats), ds__free(ctx, f_stats), ds__free(ctx, work);
    return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY,
                    "%s: out of memory for %lld real and %lld fake points", __func__,
                    (long long)n_real, (long long)n_fake);
  }
  ds__knn_points r = {real, r_stats, r_stats + n_real, n_real};
  ds__knn_points f = {fake, f_stats, f_stats + n_fake, n_fake};
  double *r_radius2 = r_stats + 2 * n_real, *f_radius2 = f_stats + 2 * n_fake;
  ds__knn_norms(ctx->pool, real, n_real, dim, r_stats, r_stats + n_real);
  ds__knn_norms(ctx->pool, fake, n_fake, dim, f_stats, f_stats + n_fake);
  /* precision: fakes inside some real ball; recall: reals inside some fake ball */
  int64_t fake_in = 0, real_in = 0;
  if (precision) {
    ds__knn_radii(ctx->pool, &r, dim, k, work, r_radius2);
    fake_in = ds__knn_covered(ctx->pool, &f, &r, r_radius2, dim, work);
  }
  if (recall) {
    ds__knn_radii(ctx->pool, &f, dim, k, work, f_radius2);
    real_in = ds__knn_covered(ctx->pool, &r, &f, f_radius2, dim, work);
  }
  ds__free(ctx, r_stats), ds__free(ctx, f_stats), ds__free(ctx, work);
  if (precision) *precision = (double)fake_in / (double)n_fake;
  if (recall) *recall = (double)real_in / (double)n_real;
  return DS_OK;
}
