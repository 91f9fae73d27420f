/* Improved precision and recall (ds_precision_recall) over the k-NN kernels. */
#ifndef DS_MODEL_PRECISION_RECALL_H
#define DS_MODEL_PRECISION_RECALL_H

#include <stdint.h>

#include "core/context.h"

/* real (n_real, dim), fake (n_fake, dim), finite; 1 <= k <= min(n_real, n_fake) - 1;
 * precision or recall may be NULL (not both) to skip that half. Checked by the caller.
 * Outputs written only on success; failure: OUT_OF_MEMORY (detail on ctx naming `fn`). */
ds_status ds__precision_recall(ds_context *ctx, const char *fn, const float *real,
                               int64_t n_real, const float *fake, int64_t n_fake, int64_t dim,
                               int32_t k, double *precision, double *recall);

#endif
