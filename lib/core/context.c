/* Context internals: allocation through the user's hooks with a memory budget, failure
 * detail per (thread, context), reference counting, logging. */
#include "core/context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocation -------------------------------------------------------------------- */

/* Precedes every block: its size, so that frees can be counted. Keeps malloc's alignment. */
typedef union block_header {
  size_t size;
  max_align_t align;
} block_header;

/* Why the last allocation on this thread was refused by a budget (0 requested = none). */
static _Thread_local struct {
  uint64_t requested, in_use, limit;
} budget_refusal;

static int reserve(ds_context *ctx, size_t bytes) {
  uint64_t now = atomic_fetch_add(&ctx->memory_in_use, bytes) + bytes;
  if (ctx->memory_limit && now > ctx->memory_limit) {
    atomic_fetch_sub(&ctx->memory_in_use, bytes);
    budget_refusal.requested = bytes;
    budget_refusal.in_use = now - bytes;
    budget_refusal.limit = ctx->memory_limit;
    return 0;
  }
  uint64_t peak = atomic_load(&ctx->memory_peak);
  while (now > peak && !atomic_compare_exchange_weak(&ctx->memory_peak, &peak, now)) {}
  return 1;
}

static void unreserve(ds_context *ctx, size_t bytes) {
  atomic_fetch_sub(&ctx->memory_in_use, bytes);
}

void *ds__malloc(ds_context *ctx, size_t size) {
  if (size == 0) size = 1;
  if (size > SIZE_MAX - sizeof(block_header) || !reserve(ctx, size)) return NULL;
  block_header *h = ctx->hooks.malloc_fn(ctx->hooks.alloc_user, sizeof *h + size);
  if (!h) {
    unreserve(ctx, size);
    return NULL;
  }
  h->size = size;
  return h + 1;
}

void *ds__calloc(ds_context *ctx, size_t n, size_t size) {
  if (size != 0 && n > SIZE_MAX / size) return NULL;
  void *p = ds__malloc(ctx, n * size);
  if (p && n > 0 && size > 0) memset(p, 0, n * size);
  return p;
}

void *ds__realloc(ds_context *ctx, void *ptr, size_t size) {
  if (!ptr) return ds__malloc(ctx, size);
  if (size == 0) size = 1;
  block_header *h = (block_header *)ptr - 1;
  size_t old = h->size;
  if (size > SIZE_MAX - sizeof *h || (size > old && !reserve(ctx, size - old))) return NULL;
  block_header *p = ctx->hooks.realloc_fn(ctx->hooks.alloc_user, h, sizeof *h + size);
  if (!p) {
    if (size > old) unreserve(ctx, size - old);
    return NULL;
  }
  if (size < old) unreserve(ctx, old - size);
  p->size = size;
  return p + 1;
}

void ds__free(ds_context *ctx, void *ptr) {
  if (!ptr) return;
  block_header *h = (block_header *)ptr - 1;
  unreserve(ctx, h->size);
  ctx->hooks.free_fn(ctx->hooks.alloc_user, h);
}

/* ---- lifetime ---------------------------------------------------------------------- */

void ds__context_retain(ds_context *ctx) { atomic_fetch_add(&ctx->refs, 1); }

void ds__context_release(ds_context *ctx) {
  if (atomic_fetch_sub(&ctx->refs, 1) != 1) return;
  ds__pool_free(ctx, ctx->pool);
  ctx->hooks.free_fn(ctx->hooks.alloc_user, ctx); /* the context itself came from malloc_fn directly */
}

/* ---- failure detail ---------------------------------------------------------------- */

/* Each thread keeps the detail of its latest failure on up to ERROR_SLOTS contexts (the
 * least recently failed one is reused) plus one for failures without a context. `seq`
 * (from a process-wide clock) orders them. Only the clock is shared between threads. */
#define ERROR_SLOTS 8
typedef struct error_slot {
  uint64_t ctx_id, seq;
  char text[DS__ERROR_CAPACITY];
} error_slot;
static _Thread_local error_slot slots[ERROR_SLOTS];
static _Thread_local error_slot no_context;
/* Orders failures (all threads) and context creations, see ds__failure_clock. */
static atomic_uint_fast64_t failure_clock = 1;

uint64_t ds__failure_clock(void) { return atomic_load(&failure_clock); }

static error_slot *slot_for(uint64_t ctx_id, int create) {
  error_slot *oldest = &slots[0];
  for (int i = 0; i < ERROR_SLOTS; i++) {
    if (slots[i].seq && slots[i].ctx_id == ctx_id) return &slots[i];
    if (slots[i].seq < oldest->seq) oldest = &slots[i];
  }
  if (!create) return NULL;
  oldest->ctx_id = ctx_id;
  return oldest;
}

const char *ds__last_error(const ds_context *ctx) {
  if (!ctx) return no_context.text;
  const error_slot *s = slot_for(ctx->id, 0);
  /* a context-less failure counts for ctx if it is newer than ctx and than ctx's own */
  int take_free = no_context.seq >= ctx->created_at && (!s || no_context.seq > s->seq);
  if (take_free) return no_context.text;
  return s ? s->text : "";
}

ds_status ds__fail(ds_context *ctx, ds_status status, const char *fmt, ...) {
  char message[DS__ERROR_CAPACITY];
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  if (status == DS_ERR_OUT_OF_MEMORY && budget_refusal.requested && len >= 0 &&
      (size_t)len < sizeof message)
    snprintf(message + len, sizeof message - (size_t)len,
             " (the context's memory limit of %llu bytes: %llu in use, %llu more requested)",
             (unsigned long long)budget_refusal.limit, (unsigned long long)budget_refusal.in_use,
             (unsigned long long)budget_refusal.requested);
  budget_refusal.requested = 0;
  error_slot *s = ctx ? slot_for(ctx->id, 1) : &no_context;
  memcpy(s->text, message, sizeof message);
  s->seq = atomic_fetch_add(&failure_clock, 1);
  if (ctx && ctx->hooks.log_fn && ctx->hooks.log_level >= DS_LOG_DEBUG) {
    char line[DS__ERROR_CAPACITY + 32];
    snprintf(line, sizeof line, "%s: %s", ds_status_str(status), message);
    ctx->hooks.log_fn(ctx->hooks.log_user, DS_LOG_DEBUG, line);
  }
  return status;
}

void ds__log(ds_context *ctx, int32_t level, const char *fmt, ...) {
  if (!ctx || !ctx->hooks.log_fn || level > ctx->hooks.log_level) return;
  char line[DS__ERROR_CAPACITY];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  ctx->hooks.log_fn(ctx->hooks.log_user, level, line);
}
