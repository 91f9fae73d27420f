/* Philox4x32-10 against the published known-answer vectors (Random123's kat_vectors), and
 * the addressing scheme: a number depends only on (seed, stream, index). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>

#include "core/philox.h"

static void philox_known_answers(void **state) {
  (void)state;
  /* counter[4], key[2] -> output[4]; Random123 tests/kat_vectors, "philox4x32 10" lines */
  static const uint32_t kat[3][10] = {
      {0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000,
       0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
      {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
       0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
      {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
       0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
  };
  for (int v = 0; v < 3; v++) {
    ds__philox_block b = ds__philox4x32_10(&kat[v][0], &kat[v][4]);
    for (int i = 0; i < 4; i++) assert_int_equal(b.v[i], kat[v][6 + i]);
  }
}

static void addressing_maps_seed_stream_index_to_counter_and_key(void **state) {
  (void)state;
  uint64_t seed = 0x299f31d0a4093822ull, stream = 0x0370734413198a2eull,
           block = 0x85a308d3243f6a88ull;
  ds__philox_block b = ds__philox_at(seed, stream, block);
  assert_int_equal(b.v[0], 0xd16cfe09);
  assert_int_equal(b.v[3], 0x24126ea1);
  /* elements 2b and 2b+1 share block b, taking its halves */
  uint64_t small = 0x05a308d3243f6a88ull;
  ds__philox_block s = ds__philox_at(seed, stream, small);
  uint32_t a0, a1, c0, c1;
  ds__philox_pair(seed, stream, small * 2, &a0, &a1);
  ds__philox_pair(seed, stream, small * 2 + 1, &c0, &c1);
  assert_int_equal(a0, s.v[0]);
  assert_int_equal(a1, s.v[1]);
  assert_int_equal(c0, s.v[2]);
  assert_int_equal(c1, s.v[3]);
}

static void uniforms_stay_strictly_inside_the_unit_interval(void **state) {
  (void)state;
  assert_true(ds__uniform_open(0) > 0.0);
  assert_true(ds__uniform_open(0xffffffffu) < 1.0);
  double lo = 1, hi = 0, sum = 0;
  for (uint64_t i = 0; i < 100000; i++) {
    double u = ds__uniform_at(1, 2, i);
    lo = u < lo ? u : lo;
    hi = u > hi ? u : hi;
    sum += u;
  }
  assert_true(lo > 0.0 && hi < 1.0);
  assert_true(sum / 100000 > 0.49 && sum / 100000 < 0.51);
}

static void streams_and_seeds_give_different_numbers(void **state) {
  (void)state;
  assert_true(ds__normal_at(1, 0, 5) != ds__normal_at(1, 1, 5));
  assert_true(ds__normal_at(1, 0, 5) != ds__normal_at(2, 0, 5));
  assert_true(ds__normal_at(1, 0, 5) != ds__normal_at(1, 0, 6));
  assert_true(ds__normal_at(1, 0, 5) == ds__normal_at(1, 0, 5));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(philox_known_answers),
      cmocka_unit_test(addressing_maps_seed_stream_index_to_counter_and_key),
      cmocka_unit_test(uniforms_stay_strictly_inside_the_unit_interval),
      cmocka_unit_test(streams_and_seeds_give_different_numbers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
