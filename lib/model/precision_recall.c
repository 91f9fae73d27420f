#include "model/precision_recall.h"

#include "kernels/knn.h"

ds_status ds__precision_recall(ds_context *ctx, const char *fn, const float *real,
                               int64_t n_real, const float *fake, int64_t n_fake, int64_t dim,
                               int32_t k, double *precision, double *recall) {
  /* per point: squared norm, norm, radius; plus the kernels' workspace */
  double *r_stats = ds__calloc(ctx, (size_t)n_real * 3, sizeof(double));
  double *f_stats = ds__calloc(ctx, (size_t)n_fake * 3, sizeof(double));
  void *work = ds__malloc(ctx, ds__knn_workspace_size(ctx->pool, k));
  if (!r_stats || !f_stats || !work) {
    ds__free(ctx, r_stats), ds__free(ctx, f_stats), ds__free(ctx, work);
    return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY,
                    "%s: out of memory for %lld real and %lld fake points", fn,
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
