/* Context internals: allocation through the user's hooks, failure detail, logging. */
#include "core/context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *ds__malloc(ds_context *ctx, size_t size) {
  if (size == 0) size = 1;
  return ctx->malloc_fn(ctx->alloc_user, size);
}

void *ds__calloc(ds_context *ctx, size_t n, size_t size) {
  if (size != 0 && n > SIZE_MAX / size) return NULL;
  void *p = ds__malloc(ctx, n * size);
  if (p && n > 0 && size > 0) memset(p, 0, n * size);
  return p;
}

void ds__free(ds_context *ctx, void *ptr) {
  if (ptr) ctx->free_fn(ctx->alloc_user, ptr);
}

/* Detail of failures that have no context (context creation, NULL handles). */
static _Thread_local char thread_error[DS__ERROR_CAPACITY];

const char *ds__thread_error(void) { return thread_error; }

ds_status ds__fail(ds_context *ctx, ds_status status, const char *fmt, ...) {
  char message[DS__ERROR_CAPACITY];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  if (!ctx) {
    memcpy(thread_error, message, sizeof message);
    return status;
  }
  pthread_mutex_lock(&ctx->error_lock);
  memcpy(ctx->error, message, sizeof message);
  pthread_mutex_unlock(&ctx->error_lock);
  if (ctx->log_fn && ctx->log_level >= DS_LOG_DEBUG) {
    char line[DS__ERROR_CAPACITY + 32];
    snprintf(line, sizeof line, "%s: %s", ds_status_str(status), message);
    ctx->log_fn(ctx->log_user, DS_LOG_DEBUG, line);
  }
  return status;
}

void ds__log(ds_context *ctx, int32_t level, const char *fmt, ...) {
  if (!ctx || !ctx->log_fn || level > ctx->log_level) return;
  char line[DS__ERROR_CAPACITY];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  ctx->log_fn(ctx->log_user, level, line);
}
