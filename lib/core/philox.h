/* Philox4x32-10 counter-based generator (Salmon et al., SC'11, "Parallel random numbers:
 * as easy as 1, 2, 3"). A block of 4 x 32-bit outputs is a pure function of a 128-bit
 * counter and a 64-bit key, so every random number the library draws is addressed by
 * (seed, stream, index) and never depends on which thread computes it.
 *
 * Addressing used throughout the library:
 *   key     = seed (low word, high word)
 *   counter = (block low, block high, stream low, stream high)
 * Stream numbers carry a domain tag in their top byte (DS__STREAM_*) so that noise for
 * smoothing, sampling and shuffling never share numbers even for the same user stream. */
#ifndef DS_CORE_PHILOX_H
#define DS_CORE_PHILOX_H

#include <math.h>
#include <stdint.h>

#define DS__STREAM_SMOOTH (0x00ull << 56) /* smoother noise: the user's stream as is */
#define DS__STREAM_SAMPLE (0x01ull << 56)
#define DS__STREAM_SHUFFLE (0x02ull << 56)
#define DS__STREAM_INIT (0x03ull << 56)
#define DS__STREAM_TRAIN_NOISE (0x04ull << 56)
#define DS__STREAM_DROPOUT (0x05ull << 56)
#define DS__STREAM_EVAL (0x06ull << 56)

typedef struct ds__philox_block {
  uint32_t v[4];
} ds__philox_block;

static inline uint32_t ds__mulhilo32(uint32_t a, uint32_t b, uint32_t *hi) {
  uint64_t p = (uint64_t)a * (uint64_t)b;
  *hi = (uint32_t)(p >> 32);
  return (uint32_t)p;
}

/* One Philox4x32-10 block for counter c and key k. */
static inline ds__philox_block ds__philox4x32_10(const uint32_t c[4], const uint32_t k[2]) {
  uint32_t x0 = c[0], x1 = c[1], x2 = c[2], x3 = c[3];
  uint32_t k0 = k[0], k1 = k[1];
  for (int round = 0; round < 10; round++) {
    uint32_t hi0, hi1;
    uint32_t lo0 = ds__mulhilo32(0xD2511F53u, x0, &hi0);
    uint32_t lo1 = ds__mulhilo32(0xCD9E8D57u, x2, &hi1);
    uint32_t n0 = hi1 ^ x1 ^ k0, n1 = lo1, n2 = hi0 ^ x3 ^ k1, n3 = lo0;
    x0 = n0; x1 = n1; x2 = n2; x3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  ds__philox_block out = {{x0, x1, x2, x3}};
  return out;
}

static inline ds__philox_block ds__philox_at(uint64_t seed, uint64_t stream, uint64_t block) {
  uint32_t c[4] = {(uint32_t)block, (uint32_t)(block >> 32), (uint32_t)stream,
                   (uint32_t)(stream >> 32)};
  uint32_t k[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  return ds__philox4x32_10(c, k);
}

/* 32 random bits -> double uniform strictly inside (0, 1): (u + 0.5) / 2^32. */
static inline double ds__uniform_open(uint32_t u) {
  return ((double)u + 0.5) * (1.0 / 4294967296.0);
}

/* Element `index` of a stream owns half a block (two 32-bit words), enough for one
 * Box-Muller normal or one uniform with 32 bits. */
static inline void ds__philox_pair(uint64_t seed, uint64_t stream, uint64_t index,
                                   uint32_t *a, uint32_t *b) {
  ds__philox_block blk = ds__philox_at(seed, stream, index >> 1);
  int half = (int)(index & 1u) * 2;
  *a = blk.v[half];
  *b = blk.v[half + 1];
}

/* Standard normal for (seed, stream, index) by Box-Muller (cosine branch). */
static inline double ds__normal_at(uint64_t seed, uint64_t stream, uint64_t index) {
  uint32_t a, b;
  ds__philox_pair(seed, stream, index, &a, &b);
  double u1 = ds__uniform_open(a), u2 = ds__uniform_open(b);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

/* Uniform in (0, 1) for (seed, stream, index), 53 bits from both words. */
static inline double ds__uniform_at(uint64_t seed, uint64_t stream, uint64_t index) {
  uint32_t a, b;
  ds__philox_pair(seed, stream, index, &a, &b);
  uint64_t bits = ((uint64_t)a << 21) ^ (uint64_t)b; /* 53 bits */
  bits &= (1ull << 53) - 1;
  return ((double)bits + 0.5) * (1.0 / 9007199254740992.0);
}

#endif
