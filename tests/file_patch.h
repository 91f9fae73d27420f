/* Read a checkpoint, change bytes, fix its CRC-32 so only the changed field is wrong, and
 * write it back: how the tests make hostile files. Include after <cmocka.h>. */
#ifndef DS_TEST_FILE_PATCH_H
#define DS_TEST_FILE_PATCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint_crc.h"

typedef struct file_bytes {
  uint8_t *data;
  size_t len;
} file_bytes;

static inline file_bytes read_bytes(const char *path) {
  file_bytes b = {NULL, 0};
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  b.len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  b.data = malloc(b.len);
  assert_non_null(b.data);
  assert_int_equal(fread(b.data, 1, b.len, f), b.len);
  fclose(f);
  return b;
}

/* Recompute the trailing CRC and write the bytes to path. */
static inline void write_bytes_fixed(const char *path, file_bytes b) {
  uint32_t c = checkpoint_crc32(b.data, b.len - 4);
  for (int i = 0; i < 4; i++) b.data[b.len - 4 + (size_t)i] = (uint8_t)(c >> (8 * i));
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
  fclose(f);
}

static inline void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_f32(uint8_t *p, float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(u >> (8 * i));
}

#endif
