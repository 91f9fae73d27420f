/* Data-parallel training behind ds_trainer_set_distributed: this rank's share of every
 * global batch, the caller's collective, and the combination every rank does the same way.
 * The contract (blocks, bytes, agreement on failure) is documented in dsmooth.h. */
#ifndef DS_MODEL_TRAINER_DIST_H
#define DS_MODEL_TRAINER_DIST_H

#include <stdint.h>

#include "model/trainer.h"

typedef struct ds__dist ds__dist;

/* Arguments checked by the caller (lib/api/trainer.c). */
ds_status ds__dist_create(ds_trainer *t, int32_t rank, int32_t world, int32_t reduction,
                          int64_t grad_blocks, ds_collective_fn fn, void *user, ds__dist **out);
void ds__dist_free(ds_context *ctx, ds__dist *d);

/* Step t->step: assemble and differentiate this rank's rows of the global batch, exchange,
 * and leave the global batch's gradient (scaled by 1/batch) in t->grad and its mean NLL in
 * *loss on every rank alike. Anything but DS_OK (a rank's failure or stop request, ranks
 * that disagree, a failed collective) is returned by every rank with the same status. */
ds_status ds__dist_gradient(ds_trainer *t, const float *x, const float *cond, int64_t n,
                            double *loss);

/* This rank failed with `st` (detail on the context) before the step's exchange: take part
 * in it so the other ranks stop too; returns the agreed status (st, or an earlier rank's). */
ds_status ds__dist_fail(ds_trainer *t, ds_status st, int64_t n);

/* The progress callback asked to stop: announced at the next exchange. */
void ds__dist_request_stop(ds__dist *d);

#endif
