/* The context: allocator, pool, seed, logging and last-error detail shared by every handle
 * created from it. Internal; the public face is in dsmooth.h. */
#ifndef DS_CORE_CONTEXT_H
#define DS_CORE_CONTEXT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "dsmooth.h"
#include "core/pool.h"

#define DS__ERROR_CAPACITY 512

struct ds_context {
  ds_malloc_fn malloc_fn;
  ds_realloc_fn realloc_fn;
  ds_free_fn free_fn;
  void *alloc_user;
  ds_log_fn log_fn;
  void *log_user;
  int32_t log_level;
  uint64_t seed;
  _Atomic uint64_t objects_created; /* models and trainers made so far (core/seed.h) */
  ds__pool *pool;
  pthread_mutex_t error_lock; /* guards error[] */
  char error[DS__ERROR_CAPACITY];
};

/* Allocation through the context's hooks. ds__calloc zeroes; all return NULL on failure
 * (the caller reports DS_ERR_OUT_OF_MEMORY via ds__fail). n*size overflow returns NULL. */
void *ds__malloc(ds_context *ctx, size_t size);
void *ds__calloc(ds_context *ctx, size_t n, size_t size);
void ds__free(ds_context *ctx, void *ptr);

/* Record a failure on ctx (or, ctx NULL, on this thread) and return `status`, so a check
 * reads `return ds__fail(ctx, DS_ERR_NUMERIC, "x[%lld] is NaN", i);`. */
ds_status ds__fail(ds_context *ctx, ds_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The calling thread's context-less failure detail. */
const char *ds__thread_error(void);
void ds__log(ds_context *ctx, int32_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
