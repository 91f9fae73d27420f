#include "core/finite.h"

#include <math.h>

#include "core/context.h"

int64_t ds__first_nonfinite_f32(const float *x, int64_t count) {
  for (int64_t i = 0; i < count; i++)
    if (!isfinite(x[i])) return i;
  return -1;
}

int64_t ds__first_nonfinite_f64(const double *x, int64_t count) {
  for (int64_t i = 0; i < count; i++)
    if (!isfinite(x[i])) return i;
  return -1;
}

ds_status ds__check_result_f32(ds_context *ctx, const char *fn, const char *name,
                               const float *v, int64_t count, int64_t cols) {
  int64_t bad = ds__first_nonfinite_f32(v, count);
  if (bad < 0) return DS_OK;
  return ds__fail(ctx, DS_ERR_NUMERIC,
                  "%s: result %s[%lld][%lld] is %g: the model or the arguments overflow float "
                  "there (%s is left unspecified)", fn, name, (long long)(bad / cols),
                  (long long)(bad % cols), (double)v[bad], name);
}

ds_status ds__check_result_f64(ds_context *ctx, const char *fn, const char *name,
                               const double *v, int64_t count) {
  int64_t bad = ds__first_nonfinite_f64(v, count);
  if (bad < 0) return DS_OK;
  return ds__fail(ctx, DS_ERR_NUMERIC,
                  "%s: result %s[%lld] is %g: not finite for these arguments (%s is left "
                  "unspecified)", fn, name, (long long)bad, v[bad], name);
}
