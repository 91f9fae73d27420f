/* ds_context and its options. */
#include <stdatomic.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "api/check.h"
#include "core/context.h"
#include "core/pool.h"

struct ds_context_options {
  int32_t threads;
  uint64_t seed;
  ds__context_hooks hooks; /* copied into the context */
  uint64_t memory_limit;
};

static void *libc_malloc(void *user, size_t size) { (void)user; return malloc(size); }
static void *libc_realloc(void *user, void *p, size_t size) { (void)user; return realloc(p, size); }
static void libc_free(void *user, void *p) { (void)user; free(p); }

static void set_default_options(ds_context_options *o) {
  memset(o, 0, sizeof *o);
  o->hooks.malloc_fn = libc_malloc;
  o->hooks.realloc_fn = libc_realloc;
  o->hooks.free_fn = libc_free;
  o->hooks.log_level = DS_LOG_WARN;
}

ds_status ds_context_options_create(ds_context_options **out) {
  DS_CHECK_NOT_NULL(NULL, out);
  ds_context_options *o = malloc(sizeof *o);
  if (!o) return ds__fail(NULL, DS_ERR_OUT_OF_MEMORY, "%s: out of memory", __func__);
  set_default_options(o);
  *out = o;
  return DS_OK;
}

void ds_context_options_free(ds_context_options *opts) { free(opts); }

ds_status ds_context_options_set_threads(ds_context_options *opts, int32_t threads) {
  DS_CHECK_NOT_NULL(NULL, opts);
  if (threads < 0 || threads > DS_MAX_THREADS)
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                    "%s: threads = %d is outside 0..%d (0 = all cores)", __func__,
                    (int)threads, DS_MAX_THREADS);
  opts->threads = threads;
  return DS_OK;
}

ds_status ds_context_options_set_seed(ds_context_options *opts, uint64_t seed) {
  DS_CHECK_NOT_NULL(NULL, opts);
  opts->seed = seed;
  return DS_OK;
}

ds_status ds_context_options_set_allocator(ds_context_options *opts, ds_malloc_fn malloc_fn,
                                           ds_realloc_fn realloc_fn, ds_free_fn free_fn,
                                           void *user) {
  DS_CHECK_NOT_NULL(NULL, opts);
  int given = (malloc_fn != NULL) + (realloc_fn != NULL) + (free_fn != NULL);
  if (given != 0 && given != 3)
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT,
                    "%s: give all three of malloc, realloc and free, or none", __func__);
  if (given == 0) {
    opts->hooks.malloc_fn = libc_malloc;
    opts->hooks.realloc_fn = libc_realloc;
    opts->hooks.free_fn = libc_free;
    opts->hooks.alloc_user = NULL;
  } else {
    opts->hooks.malloc_fn = malloc_fn;
    opts->hooks.realloc_fn = realloc_fn;
    opts->hooks.free_fn = free_fn;
    opts->hooks.alloc_user = user;
  }
  return DS_OK;
}

ds_status ds_context_options_set_log(ds_context_options *opts, ds_log_fn fn, void *user,
                                     int32_t max_level) {
  DS_CHECK_NOT_NULL(NULL, opts);
  if (max_level < DS_LOG_ERROR || max_level > DS_LOG_DEBUG)
    return ds__fail(NULL, DS_ERR_INVALID_ARGUMENT, "%s: max_level = %d is outside %d..%d",
                    __func__, (int)max_level, DS_LOG_ERROR, DS_LOG_DEBUG);
  opts->hooks.log_fn = fn;
  opts->hooks.log_user = user;
  opts->hooks.log_level = max_level;
  return DS_OK;
}

ds_status ds_context_options_set_memory_limit(ds_context_options *opts, uint64_t bytes) {
  DS_CHECK_NOT_NULL(NULL, opts);
  opts->memory_limit = bytes;
  return DS_OK;
}

/* Context ids start at 1 and are never reused, so a thread's error slot cannot be mistaken
 * for a later context allocated at the same address. */
static atomic_uint_fast64_t next_context_id = 1;

ds_status ds_context_create(const ds_context_options *opts, ds_context **out) {
  DS_CHECK_NOT_NULL(NULL, out);
  ds_context_options defaults;
  if (!opts) {
    set_default_options(&defaults);
    opts = &defaults;
  }
  int32_t threads = opts->threads;
  if (threads == 0) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    threads = cores < 1 ? 1 : cores > DS_MAX_THREADS ? DS_MAX_THREADS : (int32_t)cores;
  }
  ds_context *ctx = opts->hooks.malloc_fn(opts->hooks.alloc_user, sizeof *ctx);
  if (!ctx) return ds__fail(NULL, DS_ERR_OUT_OF_MEMORY, "%s: out of memory for the context", __func__);
  memset(ctx, 0, sizeof *ctx);
  ctx->hooks = opts->hooks;
  ctx->seed = opts->seed;
  atomic_init(&ctx->objects_created, 0);
  ctx->memory_limit = opts->memory_limit;
  ctx->id = atomic_fetch_add(&next_context_id, 1);
  ctx->created_at = ds__failure_clock();
  atomic_init(&ctx->refs, 1);
  atomic_init(&ctx->memory_in_use, 0);
  atomic_init(&ctx->memory_peak, 0);
  int rc = ds__pool_create(ctx, threads, &ctx->pool);
  if (rc) {
    ctx->hooks.free_fn(ctx->hooks.alloc_user, ctx);
    if (rc == 1)
      return ds__fail(NULL, DS_ERR_OUT_OF_MEMORY, "%s: out of memory for a pool of %d threads",
                      __func__, (int)threads);
    return ds__fail(NULL, DS_ERR_THREAD, "%s: cannot start %d worker threads", __func__,
                    (int)threads - 1);
  }
  ds__log(ctx, DS_LOG_INFO, "libdsmooth %s: context with %d threads, seed %llu",
          DS_VERSION_STRING, (int)threads, (unsigned long long)ctx->seed);
  *out = ctx;
  return DS_OK;
}

void ds_context_free(ds_context *ctx) {
  if (!ctx) return;
  if (atomic_load(&ctx->refs) > 1)
    ds__log(ctx, DS_LOG_DEBUG, "ds_context_free: %lld handles still use the context; it is "
            "destroyed when the last of them is freed", (long long)(atomic_load(&ctx->refs) - 1));
  ds__context_release(ctx);
}

const char *ds_context_last_error(const ds_context *ctx) { return ds__last_error(ctx); }

int64_t ds_context_last_error_r(const ds_context *ctx, char *buffer, int64_t capacity) {
  const char *text = ds__last_error(ctx);
  size_t len = strlen(text);
  if (buffer && capacity > 0) {
    size_t n = len < (size_t)capacity - 1 ? len : (size_t)capacity - 1;
    memcpy(buffer, text, n);
    buffer[n] = '\0';
  }
  return (int64_t)len;
}

uint64_t ds_context_memory_in_use(const ds_context *ctx) {
  return ctx ? (uint64_t)atomic_load(&ctx->memory_in_use) : 0;
}

uint64_t ds_context_memory_peak(const ds_context *ctx) {
  return ctx ? (uint64_t)atomic_load(&ctx->memory_peak) : 0;
}

int32_t ds_context_threads(const ds_context *ctx) {
  return ctx ? ds__pool_threads(ctx->pool) : 0;
}

uint64_t ds_context_seed(const ds_context *ctx) { return ctx ? ctx->seed : 0; }
