/* Shared test helpers: contexts with a given thread count and a counting allocator that
 * can fail on demand. Include after <cmocka.h>. */
#ifndef DS_TEST_UTIL_H
#define DS_TEST_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsmooth.h"

static inline ds_context *test_context(int32_t threads, uint64_t seed) {
  ds_context_options *o = NULL;
  ds_context *ctx = NULL;
  assert_int_equal(ds_context_options_create(&o), DS_OK);
  assert_int_equal(ds_context_options_set_threads(o, threads), DS_OK);
  assert_int_equal(ds_context_options_set_seed(o, seed), DS_OK);
  assert_int_equal(ds_context_create(o, &ctx), DS_OK);
  ds_context_options_free(o);
  return ctx;
}

/* Counting allocator: allocation number `fail_at` (0-based) and later ones fail while
 * `fail_at` >= 0; `live` counts blocks not yet freed. */
typedef struct counting_alloc {
  int64_t calls;
  int64_t fail_at;
  int64_t live;
} counting_alloc;

static inline void *counting_malloc(void *user, size_t size) {
  counting_alloc *a = user;
  if (a->fail_at >= 0 && a->calls >= a->fail_at) return NULL;
  a->calls++;
  void *p = malloc(size);
  if (p) a->live++;
  return p;
}

static inline void *counting_realloc(void *user, void *ptr, size_t size) {
  counting_alloc *a = user;
  if (a->fail_at >= 0 && a->calls >= a->fail_at) return NULL;
  a->calls++;
  void *p = realloc(ptr, size);
  if (p && !ptr) a->live++;
  return p;
}

static inline void counting_free(void *user, void *ptr) {
  counting_alloc *a = user;
  if (ptr) a->live--;
  free(ptr);
}

static inline ds_status counting_context(counting_alloc *a, int32_t threads, ds_context **out) {
  ds_context_options *o = NULL;
  assert_int_equal(ds_context_options_create(&o), DS_OK);
  assert_int_equal(ds_context_options_set_threads(o, threads), DS_OK);
  assert_int_equal(ds_context_options_set_allocator(o, counting_malloc, counting_realloc,
                                                    counting_free, a), DS_OK);
  ds_status st = ds_context_create(o, out);
  ds_context_options_free(o);
  return st;
}

#endif
