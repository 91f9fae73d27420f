/* Shared test helpers: contexts with a given thread count, a counting allocator that can
 * fail on demand, the tests' deterministic generator and temporary files. Include after
 * <cmocka.h>. */
#ifndef DS_TEST_UTIL_H
#define DS_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* xorshift64 (Marsaglia 2003, shifts 13, 7, 17): the tests' one deterministic generator.
 * Advances *state (never 0) and returns the new value. */
static inline uint64_t test_xorshift(uint64_t *state) {
  uint64_t s = *state;
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return *state = s;
}

/* A uniform double in [0, 1) from the top 53 bits of the next xorshift value. */
static inline double test_uniform01(uint64_t *state) {
  return (double)(test_xorshift(state) >> 11) / 9007199254740992.0;
}

/* Make path (a mkstemp template ending in XXXXXX) an empty temporary file's name. */
static inline void test_temp_path(char *path) {
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
}

/* The whole file (malloc'ed; free it) and its size. */
static inline unsigned char *test_read_file(const char *path, long *size) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *bytes = malloc((size_t)(*size > 0 ? *size : 1));
  assert_non_null(bytes);
  assert_int_equal(fread(bytes, 1, (size_t)*size, f), (size_t)*size);
  fclose(f);
  return bytes;
}

static inline void test_write_file(const char *path, const unsigned char *bytes, long size) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(bytes, 1, (size_t)size, f), (size_t)size);
  fclose(f);
}

#endif
