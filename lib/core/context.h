/* The context: allocator, memory budget, pool, seed, logging and the reference count that
 * keeps it alive while handles use it. Failure detail lives per (thread, context) in
 * thread-local slots (context.c). Internal; the public face is in dsmooth.h. */
#ifndef DS_CORE_CONTEXT_H
#define DS_CORE_CONTEXT_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dsmooth.h"
#include "core/pool.h"

#define DS__ERROR_CAPACITY 512

/* What a context takes from its options (api/context.c): the allocator hooks and logging. */
typedef struct ds__context_hooks {
  ds_malloc_fn malloc_fn;
  ds_realloc_fn realloc_fn;
  ds_free_fn free_fn;
  void *alloc_user;
  ds_log_fn log_fn;
  void *log_user;
  int32_t log_level;
} ds__context_hooks;

struct ds_context {
  ds__context_hooks hooks;
  uint64_t seed;
  _Atomic uint64_t objects_created; /* models and trainers made so far (core/seed.h) */
  ds__pool *pool;
  uint64_t id;             /* unique in the process (never reused): keys error slots */
  uint64_t created_at;     /* ds__failure_clock() at creation */
  atomic_int_fast64_t refs; /* 1 for the creator + 1 per live handle */
  uint64_t memory_limit;   /* bytes, 0 = none */
  atomic_uint_fast64_t memory_in_use, memory_peak; /* bytes requested and not yet freed */
};

/* Allocation through the context's hooks, counted against its memory budget. Every block
 * carries a small header with its size, so only ds__free / ds__realloc may release it.
 * ds__calloc zeroes; all return NULL on failure (the caller reports DS_ERR_OUT_OF_MEMORY
 * via ds__fail, which then names the budget if that was the cause). n*size overflow
 * returns NULL. */
void *ds__malloc(ds_context *ctx, size_t size);
void *ds__calloc(ds_context *ctx, size_t n, size_t size);
void *ds__realloc(ds_context *ctx, void *ptr, size_t size);
void ds__free(ds_context *ctx, void *ptr);

/* Handles hold a reference to their context: retain when a public handle is made, release
 * when it is freed; the last release (handle or ds_context_free) destroys the context. */
void ds__context_retain(ds_context *ctx);
void ds__context_release(ds_context *ctx);

/* Record a failure for (this thread, ctx) — or for this thread without a context when ctx
 * is NULL — and return `status`, so a check reads
 * `return ds__fail(ctx, DS_ERR_NUMERIC, "x[%lld] is NaN", i);`. */
ds_status ds__fail(ds_context *ctx, ds_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Monotonic count of failures so far in the process (orders failures and contexts). */
uint64_t ds__failure_clock(void);
/* The calling thread's latest detail for ctx (see ds_context_last_error). */
const char *ds__last_error(const ds_context *ctx);
void ds__log(ds_context *ctx, int32_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
