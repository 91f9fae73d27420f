/* ds_trainer_set_distributed: argument checks in front of model/trainer_dist.c. */
#include "api/check.h"
#include "model/trainer.h"
#include "model/trainer_dist.h"

/* Most ranks one deterministic run can spread its blocks over, and most blocks. */
#define DS__MAX_GRAD_BLOCKS 65536

ds_status ds_trainer_set_distributed(ds_trainer *trainer, int32_t rank, int32_t world,
                                     int32_t reduction, int64_t grad_blocks,
                                     ds_collective_fn fn, void *user) {
  DS_CHECK_NOT_NULL(NULL, trainer);
  ds_context *ctx = trainer->model->ctx;
  if (world < 0 || world > (1 << 24))
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: world = %d must be in 0..%d", __func__,
                    (int)world, 1 << 24);
  if (world == 0) { /* back to single-process training */
    ds__dist_free(ctx, trainer->dist);
    trainer->dist = NULL;
    return DS_OK;
  }
  if (rank < 0 || rank >= world)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT, "%s: rank = %d must be in 0..world-1 = %d",
                    __func__, (int)rank, (int)world - 1);
  if (reduction != DS_REDUCE_DETERMINISTIC && reduction != DS_REDUCE_FAST &&
      reduction != DS_REDUCE_DETERMINISTIC_SCATTER)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: reduction = %d is not a ds_reduction (DS_REDUCE_DETERMINISTIC = 0, "
                    "DS_REDUCE_FAST = 1, DS_REDUCE_DETERMINISTIC_SCATTER = 2)", __func__,
                    (int)reduction);
  int64_t B = trainer->cfg.batch;
  if (reduction != DS_REDUCE_FAST &&
      (grad_blocks < 1 || grad_blocks > B || grad_blocks > DS__MAX_GRAD_BLOCKS))
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: grad_blocks = %lld must be in 1..min(batch = %lld, %d)", __func__,
                    (long long)grad_blocks, (long long)B, DS__MAX_GRAD_BLOCKS);
  if (!fn && world > 1)
    return ds__fail(ctx, DS_ERR_INVALID_ARGUMENT,
                    "%s: fn is NULL with world = %d (only a single rank needs no collective)",
                    __func__, (int)world);
  ds__dist *d = NULL;
  ds_status st = ds__dist_create(trainer, rank, world, reduction, grad_blocks, fn, user, &d);
  if (st != DS_OK) return st;
  ds__dist_free(ctx, trainer->dist);
  trainer->dist = d;
  return DS_OK;
}
