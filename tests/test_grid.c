/* Grid search: the exact Cartesian product, points on each parameter's own scale, no repeats. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/grid.h"
#include "spec_support.h"

static caviar_trial *grid_trials(const char *text, long long *count) {
  caviar_spec spec;
  spec_ok(text, &spec);
  caviar_sampler s;
  caviar_error err;
  cr_assert_eq(caviar_sampler_init(&s, &spec, spec.seed, -1, &err), CAVIAR_OK, "%s", err.msg);
  *count = s.count;
  caviar_trial *t = calloc((size_t)s.count, sizeof *t);
  for (long long i = 0; i < s.count; i++) caviar_sampler_draw(&s, (uint32_t)i, &t[i]);
  caviar_sampler_free(&s);
  caviar_spec_free(&spec);
  return t;
}

Test(grid, exact_cartesian_product_last_parameter_fastest) {
  long long n;
  caviar_trial *t = grid_trials(
      "{\"method\": \"grid\", \"parameters\": {"
      "\"optimizer\": {\"values\": [\"sgd\", \"adam\"]},"
      "\"hidden\": {\"distribution\": \"int_uniform\", \"min\": 1, \"max\": 3},"
      "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 0.1, \"grid_points\": 4}}}",
      &n);
  cr_assert_eq(n, 2 * 3 * 4);
  const double lrs[] = {1e-4, 1e-3, 1e-2, 1e-1};
  const int optimizers[] = {CAVIAR_OPT_SGD, CAVIAR_OPT_ADAM};
  int k = 0;
  for (int o = 0; o < 2; o++)
    for (int h = 1; h <= 3; h++)
      for (int l = 0; l < 4; l++, k++) {
        cr_expect_eq(t[k].hp.optimizer, optimizers[o], "trial %d", k);
        cr_expect_eq(t[k].hp.hidden, h, "trial %d", k);
        cr_expect_float_eq(t[k].hp.learning_rate, lrs[l], 1e-12 * lrs[l], "trial %d: %.17g", k, t[k].hp.learning_rate);
      }
  free(t);
}

Test(grid, log_parameter_gets_log_spaced_points_with_exact_ends) {
  long long n;
  caviar_trial *t = grid_trials(
      "{\"method\": \"grid\", \"parameters\": {\"learning_rate\": "
      "{\"distribution\": \"log_uniform_values\", \"min\": 1e-5, \"max\": 1e-1, \"grid_points\": 5}}}",
      &n);
  cr_assert_eq(n, 5);
  cr_expect_eq(t[0].hp.learning_rate, 1e-5, "the written bound, not exp(log(1e-5))");
  cr_expect_eq(t[4].hp.learning_rate, 1e-1);
  for (int i = 1; i < 5; i++)
    cr_expect_float_eq(log10(t[i].hp.learning_rate) - log10(t[i - 1].hp.learning_rate), 1.0, 1e-12);
  free(t);
}

Test(grid, one_minus_parameter_is_spaced_in_log10_of_one_minus) {
  long long n;
  caviar_trial *t = grid_trials(
      "{\"method\": \"grid\", \"parameters\": {\"beta2\": "
      "{\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.9, \"max\": 0.999, \"grid_points\": 3}}}",
      &n);
  cr_assert_eq(n, 3);
  cr_expect_eq(t[0].hp.beta2, 0.9);
  cr_expect_float_eq(t[1].hp.beta2, 0.99, 1e-14);
  cr_expect_eq(t[2].hp.beta2, 0.999);
  free(t);
}

Test(grid, linear_parameter_is_evenly_spaced) {
  long long n;
  caviar_trial *t = grid_trials(
      "{\"method\": \"grid\", \"parameters\": {\"dropout\": "
      "{\"distribution\": \"uniform\", \"min\": 0, \"max\": 0.5, \"grid_points\": 6}}}",
      &n);
  cr_assert_eq(n, 6);
  for (int i = 0; i < 6; i++) cr_expect_float_eq(t[i].hp.dropout, 0.1 * i, 1e-15);
  free(t);
}

Test(grid, q_uniform_enumerates_every_multiple_of_q) {
  long long n;
  caviar_trial *t = grid_trials(
      "{\"method\": \"grid\", \"parameters\": {\"hidden\": "
      "{\"distribution\": \"q_uniform\", \"min\": 32, \"max\": 128, \"q\": 32}}}",
      &n);
  cr_assert_eq(n, 4);
  for (int i = 0; i < 4; i++) cr_expect_eq(t[i].hp.hidden, 32 * (i + 1));
  free(t);
}

Test(grid, quantized_points_are_deduplicated) {
  long long n;
  caviar_trial *t = grid_trials(
      "{\"method\": \"grid\", \"parameters\": {\"hidden\": {\"distribution\": \"q_log_uniform_values\", "
      "\"min\": 16, \"max\": 64, \"q\": 16, \"grid_points\": 12}}}",
      &n);
  cr_assert_leq(n, 4, "12 log-spaced points between 16 and 64 quantized to 16 leave at most 4 values");
  for (long long i = 1; i < n; i++) cr_expect_gt(t[i].hp.hidden, t[i - 1].hp.hidden);
  cr_expect_eq(t[0].hp.hidden, 16);
  cr_expect_eq(t[n - 1].hp.hidden, 64);
  free(t);
}

Test(grid, no_two_trials_are_the_same) {
  long long n;
  caviar_trial *t = grid_trials(
      "{\"method\": \"grid\", \"parameters\": {"
      "\"activation\": {\"values\": [\"relu\", \"tanh\"]},"
      "\"layers\": {\"min\": 1, \"max\": 4},"
      "\"batch_size\": {\"distribution\": \"q_log_uniform_values\", \"min\": 32, \"max\": 256, \"q\": 32, "
      "\"grid_points\": 5},"
      "\"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.5, \"max\": 0.99, "
      "\"grid_points\": 4}}}",
      &n);
  cr_assert_gt(n, 30);
  for (long long i = 0; i < n; i++)
    for (long long j = 0; j < i; j++)
      cr_assert(memcmp(&t[i].hp, &t[j].hp, sizeof t[i].hp) != 0, "trials %lld and %lld are equal", i, j);
  free(t);
}

Test(grid, trials_caps_the_grid) {
  long long n;
  caviar_trial *t = grid_trials(
      "{\"method\": \"grid\", \"trials\": 3, \"parameters\": {\"hidden\": {\"values\": [1, 2, 3, 4, 5]}}}", &n);
  cr_expect_eq(n, 3);
  free(t);
}

/* -n caps a grid as trials and run_cap do (W&B's run_cap does): asking for more than its points
 * gives every point once, in the same order as asking for exactly its points. */
Test(grid, asking_for_more_trials_than_points_gives_every_point_once) {
  caviar_spec spec;
  spec_ok("{\"method\": \"grid\", \"parameters\": {\"hidden\": {\"values\": [1, 2]}, \"layers\": {\"values\": [1, 2, 3]}}}",
          &spec);
  caviar_sampler s, exact;
  caviar_error err;
  cr_assert_eq(caviar_sampler_init(&s, &spec, 0, 50, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_sampler_init(&exact, &spec, 0, 6, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect_eq(s.count, 6);
  int seen[3][4] = {{0}};
  for (uint32_t k = 0; k < (uint32_t)s.count; k++) {
    caviar_trial t, u;
    caviar_sampler_draw(&s, k, &t);
    caviar_sampler_draw(&exact, k, &u);
    cr_expect(t.hp.hidden == u.hp.hidden && t.hp.layers == u.hp.layers, "point %u differs", k);
    seen[t.hp.hidden][t.hp.layers]++;
  }
  for (int h = 1; h <= 2; h++)
    for (int l = 1; l <= 3; l++) cr_expect_eq(seen[h][l], 1, "hidden %d layers %d drawn %d times", h, l, seen[h][l]);
  caviar_sampler_free(&s);
  caviar_sampler_free(&exact);
  caviar_spec_free(&spec);
}

Test(grid, too_large_a_product_is_an_error) {
  caviar_spec spec;
  spec_ok("{\"method\": \"grid\", \"parameters\": {"
          "\"hidden\": {\"min\": 1, \"max\": 60000}, \"batch_size\": {\"min\": 1, \"max\": 60000}}}",
          &spec);
  caviar_sampler s;
  caviar_error err;
  cr_expect_eq(caviar_sampler_init(&s, &spec, 0, -1, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "spec.json: parameters: the grid has more than") != NULL, "%s", err.msg);
  caviar_spec_free(&spec);
}

