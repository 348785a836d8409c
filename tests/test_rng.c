/* The counter RNG: Philox4x32-10 known answers, the documented counter layout, and the uniforms. */
#include <criterion/criterion.h>
#include <math.h>

#include "caviar/counter_rng.h"

static void expect_block(philox4x32_ctr_t ctr, philox4x32_key_t key, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  philox4x32_ctr_t r = philox4x32(ctr, key);
  cr_expect_eq(r.v[0], a);
  cr_expect_eq(r.v[1], b);
  cr_expect_eq(r.v[2], c);
  cr_expect_eq(r.v[3], d);
}

/* The known-answer vectors published with Random123 (kat_vectors, philox4x32 10 rounds). */
Test(rng, philox_known_answers) {
  expect_block((philox4x32_ctr_t){{0, 0, 0, 0}}, (philox4x32_key_t){{0, 0}}, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c,
               0x9b00dbd8);
  expect_block((philox4x32_ctr_t){{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}},
               (philox4x32_key_t){{0xffffffff, 0xffffffff}}, 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd);
  expect_block((philox4x32_ctr_t){{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
               (philox4x32_key_t){{0xa4093822, 0x299f31d0}}, 0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1);
}

Test(rng, counter_layout_is_index_stream_purpose_and_seed_key) {
  uint64_t seed = 0x0123456789abcdefULL, index = 0xfedcba9876543210ULL;
  caviar_rng_block b = caviar_rng(seed, 7, CAVIAR_RNG_INIT, index);
  philox4x32_ctr_t ctr = {{0x76543210, 0xfedcba98, 7, CAVIAR_RNG_INIT}};
  philox4x32_key_t key = {{0x89abcdef, 0x01234567}};
  philox4x32_ctr_t r = philox4x32(ctr, key);
  for (int i = 0; i < 4; i++) cr_expect_eq(b.v[i], r.v[i]);
}

Test(rng, every_input_changes_the_output) {
  caviar_rng_block base = caviar_rng(1, 2, 3, 4);
  caviar_rng_block other[] = {caviar_rng(2, 2, 3, 4), caviar_rng(1, 3, 3, 4), caviar_rng(1, 2, 4, 4),
                              caviar_rng(1, 2, 3, 5), caviar_rng(1ULL << 32 | 1, 2, 3, 4),
                              caviar_rng(1, 2, 3, 4ULL | 1ULL << 32)};
  for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
    cr_expect(base.v[0] != other[i].v[0] || base.v[1] != other[i].v[1], "input %zu ignored", i);
}

Test(rng, open_uniform_never_reaches_zero_or_one) {
  double lo = caviar_u01_open(0, 0), hi = caviar_u01_open(0xffffffff, 0xffffffff);
  cr_expect_gt(lo, 0.0);
  cr_expect_lt(hi, 1.0);
  cr_expect(isfinite(log(lo)) && isfinite(log1p(-hi)));
  cr_expect_eq(hi, 1.0 - 0x1p-53, "the largest value is 1 - 2^-53");
  cr_expect_eq(lo, 0x1p-53);
}

Test(rng, uniforms_have_the_right_mean_and_variance) {
  const int n = 200000;
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < n; i++) {
    caviar_rng_block b = caviar_rng(42, 0, CAVIAR_RNG_SYNTH, (uint64_t)i);
    double u = caviar_u01_open(b.v[0], b.v[1]);
    float f = caviar_u01_float(b.v[2]);
    cr_assert(f >= 0.0f && f < 1.0f);
    sum += u;
    sum_sq += u * u;
  }
  double mean = sum / n, var = sum_sq / n - mean * mean;
  /* Standard errors: 1/sqrt(12 n) = 6.5e-4 for the mean; 5 of them. */
  cr_expect_float_eq(mean, 0.5, 5 * 6.5e-4);
  cr_expect_float_eq(var, 1.0 / 12, 2e-3);
}

Test(rng, name_hash_is_fnv1a) {
  cr_expect_eq(caviar_name_hash(""), 2166136261u);
  cr_expect_eq(caviar_name_hash("a"), 0xe40c292cu);
  cr_expect_neq(caviar_name_hash("beta1"), caviar_name_hash("beta2"));
}
