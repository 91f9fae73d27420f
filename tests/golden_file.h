/* Reader for the golden fixtures written by the scripts in tests/golden/ ("DSGOLD1"): a count, then
 * per tensor a name, its dimensions and little-endian float32 values. Include after
 * <cmocka.h>; failures are test assertions. */
#ifndef DS_TEST_GOLDEN_FILE_H
#define DS_TEST_GOLDEN_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { GOLDEN_MAX_TENSORS = 16 };

typedef struct golden {
  int count;
  char name[GOLDEN_MAX_TENSORS][16];
  int64_t dims[GOLDEN_MAX_TENSORS][4], ndim[GOLDEN_MAX_TENSORS], n[GOLDEN_MAX_TENSORS];
  float *data[GOLDEN_MAX_TENSORS];
} golden;

static inline uint32_t golden_u32(FILE *f) {
  unsigned char b[4];
  assert_int_equal(fread(b, 1, 4, f), 4);
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline golden golden_load(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open golden file %s", path);
  char magic[8];
  assert_int_equal(fread(magic, 1, 8, f), 8);
  assert_memory_equal(magic, "DSGOLD1", 8);
  golden g;
  memset(&g, 0, sizeof g);
  g.count = (int)golden_u32(f);
  assert_true(g.count <= GOLDEN_MAX_TENSORS);
  for (int t = 0; t < g.count; t++) {
    uint32_t len = golden_u32(f);
    assert_true(len < 16);
    assert_int_equal(fread(g.name[t], 1, len, f), len);
    g.ndim[t] = golden_u32(f);
    assert_true(g.ndim[t] <= 4);
    g.n[t] = 1;
    for (int d = 0; d < g.ndim[t]; d++) g.dims[t][d] = golden_u32(f), g.n[t] *= g.dims[t][d];
    g.data[t] = malloc(sizeof(float) * (size_t)(g.n[t] > 0 ? g.n[t] : 1));
    assert_non_null(g.data[t]);
    for (int64_t i = 0; i < g.n[t]; i++) {
      uint32_t u = golden_u32(f);
      memcpy(&g.data[t][i], &u, 4);
    }
  }
  fclose(f);
  return g;
}

/* Index of tensor `name`, or -1. */
static inline int golden_find(const golden *g, const char *name) {
  for (int t = 0; t < g->count; t++)
    if (!strcmp(g->name[t], name)) return t;
  return -1;
}

static inline void golden_free(golden *g) {
  for (int t = 0; t < g->count; t++) free(g->data[t]);
  g->count = 0;
}

#endif
