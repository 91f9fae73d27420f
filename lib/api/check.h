/* Argument checks shared by the entry points. Each macro returns from the calling function
 * with a status and a detail naming the function and the argument. */
#ifndef DS_API_CHECK_H
#define DS_API_CHECK_H

#include <math.h>
#include <stdint.h>

#include "core/context.h"
#include "core/finite.h"

#define DS_CHECK_NOT_NULL(ctx, p)                                                    \
  do {                                                                               \
    if (!(p)) return ds__fail((ctx), DS_ERR_INVALID_ARGUMENT, "%s: %s is NULL", __func__, #p); \
  } while (0)

#define DS_CHECK_POSITIVE(ctx, v)                                                    \
  do {                                                                               \
    if ((v) < 1)                                                                     \
      return ds__fail((ctx), DS_ERR_INVALID_ARGUMENT, "%s: %s = %lld must be >= 1",  \
                      __func__, #v, (long long)(v));                                 \
  } while (0)

/* n*d elements addressable without overflow (and within size_t for byte counts). */
#define DS_CHECK_ELEMENTS(ctx, n, d)                                                 \
  do {                                                                               \
    if ((n) > INT64_MAX / 8 / (d))                                                   \
      return ds__fail((ctx), DS_ERR_INVALID_ARGUMENT, "%s: %s x %s = %lld x %lld is too large", \
                      __func__, #n, #d, (long long)(n), (long long)(d));             \
  } while (0)

/* Callers check inputs before writing any output so that a failure leaves outputs
 * untouched: DS_ERR_NUMERIC naming `fn` and name[row][column] of the first NaN or infinity
 * of x (count values, cols per row), else DS_OK. */
static inline ds_status ds__check_finite_f32(ds_context *ctx, const char *fn, const char *name,
                                             const float *x, int64_t count, int64_t cols) {
  int64_t bad = ds__first_nonfinite_f32(x, count);
  if (bad < 0) return DS_OK;
  return ds__fail(ctx, DS_ERR_NUMERIC, "%s: %s[%lld][%lld] is %s", fn, name,
                  (long long)(bad / cols), (long long)(bad % cols),
                  isnan(x[bad]) ? "NaN" : "infinite");
}

/* The same, returning from the calling function (named by __func__; x by its expression). */
#define DS_CHECK_FINITE_F32(ctx, x, count, cols)                                     \
  do {                                                                               \
    ds_status st_ = ds__check_finite_f32((ctx), __func__, #x, (x), (count), (cols)); \
    if (st_ != DS_OK) return st_;                                                    \
  } while (0)

/* Result checks (ds__check_result_f32 / _f64) are in core/finite.h: model/ uses them too. */

#endif
