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
 * untouched. */
#define DS_CHECK_FINITE_F32(ctx, x, count, cols)                                     \
  do {                                                                               \
    int64_t bad_ = ds__first_nonfinite_f32((x), (count));                            \
    if (bad_ >= 0)                                                                   \
      return ds__fail((ctx), DS_ERR_NUMERIC, "%s: %s[%lld][%lld] is %s", __func__, #x, \
                      (long long)(bad_ / (cols)), (long long)(bad_ % (cols)),        \
                      isnan((x)[bad_]) ? "NaN" : "infinite");                        \
  } while (0)

/* Result checks (ds__check_result_f32 / _f64) are in core/finite.h: model/ uses them too. */

#endif
