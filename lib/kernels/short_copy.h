/* Copies of short float runs (a 28-pixel image row, a 16- or 32-float GEMM panel row) kept
 * inline. GCC's loop distribution turns a plain copy loop into a libc memcpy call, whose
 * call and size dispatch cost more than copying 100 bytes (20 % of a log-prob call was
 * __memmove_avx512_unaligned_erms from im2col and B packing); the files that include this
 * are compiled with -fno-tree-loop-distribute-patterns (lib/CMakeLists.txt), so the loop
 * stays a loop, which the vectoriser widens. */
#ifndef DS_KERNELS_SHORT_COPY_H
#define DS_KERNELS_SHORT_COPY_H

#include <stdint.h>

static inline void ds__copy_short(float *restrict d, const float *restrict s, int64_t n) {
  for (int64_t i = 0; i < n; i++) d[i] = s[i];
}

static inline void ds__zero_short(float *restrict d, int64_t n) {
  for (int64_t i = 0; i < n; i++) d[i] = 0.0f;
}

#endif
