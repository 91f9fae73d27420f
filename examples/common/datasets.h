/* Synthetic data sets of the paper's experiments (FFJORD-style definitions, as in
 * docs/method.md section 5), drawn from a small seeded generator so examples reproduce. */
#ifndef DS_EXAMPLE_DATASETS_H
#define DS_EXAMPLE_DATASETS_H

#include <stdint.h>

typedef struct example_rng {
  uint64_t state;
} example_rng;

void example_rng_seed(example_rng *r, uint64_t seed);
double example_rng_uniform(example_rng *r); /* (0, 1) */
double example_rng_normal(example_rng *r);

/* Names: "checkerboard", "rings", "8gaussians", "2spirals" (2-D) and "sharp1d" (1-D, a
 * mixture of narrow uniforms). Fills x (n, dim) and returns dim, or 0 for an unknown name. */
int dataset_generate(const char *name, int64_t n, uint64_t seed, float *x);
int dataset_dim(const char *name);
/* Comma-separated list of the names, for usage messages. */
const char *dataset_names(void);

#endif
