/* Persistent thread pool. One per context; the caller's thread is worker 0.
 *
 * ds__pool_run(pool, fn, arg) calls fn(arg, t, T) once for every part t in [0, T) with
 * T = ds__pool_threads(pool), in parallel, and returns when all have returned. A part is
 * not bound to a thread: whichever thread is free claims the next one (a worker that is
 * slow to wake does not hold the caller up), so fn must not wait for other parts of the
 * same job — phases that depend on each other are separate ds__pool_run calls. Calls from
 * different application threads are serialised (one job at a time). A call made from
 * inside a job (nesting) runs fn(arg, 0, 1) inline, so kernels must give the same result
 * for any T — partition work by data, never reduce in thread order.
 *
 * Workers spin briefly after a job and then sleep on a condition variable, so an idle or
 * oversubscribed pool costs no CPU. */
#ifndef DS_CORE_POOL_H
#define DS_CORE_POOL_H

#include <stdint.h>

typedef struct ds__pool ds__pool;
typedef void (*ds__pool_fn)(void *arg, int32_t thread, int32_t threads);

struct ds_context;
/* Returns 0 on success, 1 out of memory, 2 thread creation failure. */
int ds__pool_create(struct ds_context *ctx, int32_t threads, ds__pool **out);
void ds__pool_free(struct ds_context *ctx, ds__pool *pool);
int32_t ds__pool_threads(const ds__pool *pool);
void ds__pool_run(ds__pool *pool, ds__pool_fn fn, void *arg);

/* Split [0, n) into T nearly equal contiguous chunks; chunk t is [*begin, *end). */
static inline void ds__split_range(int64_t n, int32_t t, int32_t threads, int64_t *begin,
                                   int64_t *end) {
  int64_t base = n / threads, extra = n % threads;
  *begin = t * base + (t < extra ? t : extra);
  *end = *begin + base + (t < extra ? 1 : 0);
}

#endif
