/* Per-object seeds: every model and trainer draws from its own Philox key, derived from the
 * context seed and the object's creation number in that context, so two objects of one
 * context never share random numbers unless the caller gives them the same explicit seed. */
#ifndef DS_CORE_SEED_H
#define DS_CORE_SEED_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/context.h"

/* SplitMix64 finaliser (Steele et al. 2014): a bijection on 64 bits with full avalanche. */
static inline uint64_t ds__mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* Seed of object number `index` of a context with seed `seed`. */
static inline uint64_t ds__derive_seed(uint64_t seed, uint64_t index) {
  return ds__mix64(seed ^ ds__mix64(index + 0x6473736565640000ull));
}

/* The next object's seed: atomically takes the context's creation counter. */
static inline uint64_t ds__context_next_seed(ds_context *ctx) {
  uint64_t index = atomic_fetch_add_explicit(&ctx->objects_created, 1, memory_order_relaxed);
  return ds__derive_seed(ctx->seed, index);
}

#endif
