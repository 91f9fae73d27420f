/* Scans for NaN/Inf: inputs are validated before any output is written, and results are
 * checked against the non-finite policy (dsmooth.h, Conventions) before a call returns. */
#ifndef DS_CORE_FINITE_H
#define DS_CORE_FINITE_H

#include <stdint.h>

#include "dsmooth.h"

/* Index of the first non-finite element, or -1. */
int64_t ds__first_nonfinite_f32(const float *x, int64_t count);
int64_t ds__first_nonfinite_f64(const double *x, int64_t count);

/* The non-finite policy for results: a call never returns DS_OK with a NaN or infinity in
 * an output unless the header documents that value. Run on an output after computing it:
 * DS_OK, or DS_ERR_NUMERIC (detail on ctx naming `fn`, the output `name` and the first bad
 * element; v as (count / cols, cols) for f32). */
ds_status ds__check_result_f32(ds_context *ctx, const char *fn, const char *name,
                               const float *v, int64_t count, int64_t cols);
ds_status ds__check_result_f64(ds_context *ctx, const char *fn, const char *name,
                               const double *v, int64_t count);

#endif
