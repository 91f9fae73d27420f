/* The CRC-32 that closes every checkpoint (IEEE 802.3, reflected, as lib/model/checkpoint.c
 * computes it): for the tests that patch files (file_patch.h) and the fuzz targets
 * (fuzz/fuzz_fixtures.h). No dependencies, so the fuzzers include it without CMocka. */
#ifndef DS_TEST_CHECKPOINT_CRC_H
#define DS_TEST_CHECKPOINT_CRC_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t checkpoint_crc32(const uint8_t *d, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= d[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xffffffffu;
}

#endif
