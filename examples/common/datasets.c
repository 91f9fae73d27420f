#include "datasets.h"

#include <math.h>
#include <string.h>

void example_rng_seed(example_rng *r, uint64_t seed) { r->state = seed ^ 0x9E3779B97F4A7C15ull; }

/* splitmix64: small, fast, good enough for generating example data. */
static uint64_t next_u64(example_rng *r) {
  uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double example_rng_uniform(example_rng *r) {
  return ((double)(next_u64(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double example_rng_normal(example_rng *r) {
  double u1 = example_rng_uniform(r), u2 = example_rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* FFJORD's toy sets. checkerboard: 8 squares of side 2 in [-4, 4]^2. */
static void checkerboard(example_rng *r, float *p) {
  double x1 = example_rng_uniform(r) * 4 - 2;
  double x2 = example_rng_uniform(r) - (example_rng_uniform(r) < 0.5 ? 2.0 : 0.0);
  double column_parity = floor(x1) - 2 * floor(floor(x1) / 2); /* floor(x1) mod 2 */
  p[0] = (float)(x1 * 2);
  p[1] = (float)((x2 + column_parity) * 2);
}

/* rings: circles of radius 0.75, 1.5, 2.25, 3 plus N(0, 0.08^2) noise. */
static void rings(example_rng *r, float *p) {
  int ring = (int)(example_rng_uniform(r) * 4);
  double radius = (ring + 1) * 0.75;
  double angle = example_rng_uniform(r) * 2 * M_PI;
  p[0] = (float)(radius * cos(angle) + 0.08 * example_rng_normal(r));
  p[1] = (float)(radius * sin(angle) + 0.08 * example_rng_normal(r));
}

/* 8gaussians: N(4 u_k, 0.5^2 I) / 1.414 for the 8 unit vectors u_k at angles k pi/4. */
static void eight_gaussians(example_rng *r, float *p) {
  int k = (int)(example_rng_uniform(r) * 8);
  double angle = k * M_PI / 4;
  p[0] = (float)((4.0 * cos(angle) + 0.5 * example_rng_normal(r)) / 1.414);
  p[1] = (float)((4.0 * sin(angle) + 0.5 * example_rng_normal(r)) / 1.414);
}

/* 2spirals: two interleaved arms of 540 degrees, scaled by 1/3, plus N(0, 0.1^2). */
static void two_spirals(example_rng *r, float *p) {
  double n = sqrt(example_rng_uniform(r)) * 540.0 * (2 * M_PI) / 360.0;
  double sign = example_rng_uniform(r) < 0.5 ? -1.0 : 1.0;
  double d1x = -cos(n) * n + example_rng_uniform(r) * 0.5;
  double d1y = sin(n) * n + example_rng_uniform(r) * 0.5;
  p[0] = (float)(sign * d1x / 3.0 + 0.1 * example_rng_normal(r));
  p[1] = (float)(sign * d1y / 3.0 + 0.1 * example_rng_normal(r));
}

/* Five narrow uniforms of width 0.2 centred at -2, -1, 0, 1, 2: a density with jumps. */
static void sharp1d(example_rng *r, float *p) {
  int k = (int)(example_rng_uniform(r) * 5);
  p[0] = (float)((k - 2) + (example_rng_uniform(r) - 0.5) * 0.2);
}

typedef struct dataset_entry {
  const char *name;
  int dim;
  void (*draw)(example_rng *r, float *p);
} dataset_entry;

static const dataset_entry entries[] = {
    {"checkerboard", 2, checkerboard}, {"rings", 2, rings}, {"8gaussians", 2, eight_gaussians},
    {"2spirals", 2, two_spirals},      {"sharp1d", 1, sharp1d},
};

int dataset_dim(const char *name) {
  for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
    if (strcmp(entries[i].name, name) == 0) return entries[i].dim;
  return 0;
}

int dataset_generate(const char *name, int64_t n, uint64_t seed, float *x) {
  for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
    if (strcmp(entries[i].name, name) != 0) continue;
    example_rng r;
    example_rng_seed(&r, seed);
    for (int64_t k = 0; k < n; k++) entries[i].draw(&r, x + k * entries[i].dim);
    return entries[i].dim;
  }
  return 0;
}

const char *dataset_names(void) { return "checkerboard, rings, 8gaussians, 2spirals, sharp1d"; }
