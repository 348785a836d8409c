/* Determinism: a trial's config is a function of (seed, trial id, parameter) alone. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/trial_json.h"
#include "scratch.h"
#include "spec_support.h"

static const char *space =
    "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-5, \"max\": 1},"
    "\"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.8, \"max\": 0.999},"
    "\"hidden\": {\"distribution\": \"q_log_uniform_values\", \"min\": 16, \"max\": 1024, \"q\": 16},"
    "\"optimizer\": {\"values\": [\"sgd\", \"momentum\", \"rmsprop\", \"adam\"]},"
    "\"l2\": {\"distribution\": \"log_normal\", \"mu\": -9, \"sigma\": 1}";

static void draw(const char *parameters, unsigned long long seed, long long count, caviar_trial *out, long long first,
                 long long n) {
  char text[4096];
  snprintf(text, sizeof text, "{\"method\": \"random\", \"parameters\": {%s}}", parameters);
  caviar_spec spec;
  spec_ok(text, &spec);
  caviar_sampler s;
  caviar_error err;
  cr_assert_eq(caviar_sampler_init(&s, &spec, seed, count, &err), CAVIAR_OK, "%s", err.msg);
  for (long long i = 0; i < n; i++) caviar_sampler_draw(&s, (uint32_t)(first + i), &out[i]);
  caviar_sampler_free(&s);
  caviar_spec_free(&spec);
}

Test(sampler, same_seed_same_configs) {
  caviar_trial a[50], b[50];
  draw(space, 123, 50, a, 0, 50);
  draw(space, 123, 50, b, 0, 50);
  for (int i = 0; i < 50; i++) cr_assert(memcmp(&a[i].hp, &b[i].hp, sizeof a[i].hp) == 0, "trial %d", i);
}

Test(sampler, different_seeds_differ) {
  caviar_trial a[50], b[50];
  draw(space, 123, 50, a, 0, 50);
  draw(space, 124, 50, b, 0, 50);
  int same = 0;
  for (int i = 0; i < 50; i++) same += a[i].hp.learning_rate == b[i].hp.learning_rate;
  cr_expect_eq(same, 0);
}

Test(sampler, trial_k_does_not_depend_on_how_many_are_drawn) {
  caviar_trial few[10], many_tail[10];
  draw(space, 9, 10, few, 0, 10);
  caviar_trial *many = calloc(10000, sizeof *many);
  draw(space, 9, 10000, many, 0, 10000);
  for (int i = 0; i < 10; i++) cr_assert(memcmp(&few[i].hp, &many[i].hp, sizeof few[i].hp) == 0, "trial %d", i);
  /* Drawing only trials 9990..9999 gives what the full run gave them. */
  draw(space, 9, 10000, many_tail, 9990, 10);
  for (int i = 0; i < 10; i++)
    cr_assert(memcmp(&many_tail[i].hp, &many[9990 + i].hp, sizeof many_tail[i].hp) == 0, "trial %d", 9990 + i);
  free(many);
}

Test(sampler, adding_a_parameter_leaves_the_others_draws_alone) {
  caviar_trial base[20], extended[20];
  draw(space, 5, 20, base, 0, 20);
  char more[2048];
  snprintf(more, sizeof more, "\"dropout\": {\"min\": 0, \"max\": 0.5}, %s", space);
  draw(more, 5, 20, extended, 0, 20);
  for (int i = 0; i < 20; i++) {
    cr_expect_eq(base[i].hp.learning_rate, extended[i].hp.learning_rate);
    cr_expect_eq(base[i].hp.hidden, extended[i].hp.hidden);
    cr_expect_eq(base[i].hp.optimizer, extended[i].hp.optimizer);
    cr_expect_neq(extended[i].hp.dropout, 0.0);
  }
}

Test(sampler, fixed_model_values_and_defaults_fill_the_rest) {
  caviar_spec spec;
  spec_ok("{\"method\": \"random\", \"model\": {\"layers\": 3, \"activation\": \"tanh\"},"
          "\"parameters\": {\"hidden\": {\"values\": [64]}}}",
          &spec);
  caviar_sampler s;
  caviar_error err;
  cr_assert_eq(caviar_sampler_init(&s, &spec, 0, 4, &err), CAVIAR_OK);
  caviar_trial t;
  caviar_sampler_draw(&s, 3, &t);
  cr_expect_eq(t.hp.layers, 3);
  cr_expect_eq(t.hp.activation, CAVIAR_ACT_TANH);
  cr_expect_eq(t.hp.hidden, 64);
  cr_expect_eq(t.hp.optimizer, CAVIAR_OPT_ADAM);
  cr_expect_eq(t.hp.learning_rate, 1e-3);
  cr_expect_eq(t.hp.beta2, 0.999);
  caviar_sampler_free(&s);
  caviar_spec_free(&spec);
}

Test(sampler, printed_numbers_read_back_exactly) {
  caviar_trial t[200];
  draw(space, 77, 200, t, 0, 200);
  char buf[64];
  for (int i = 0; i < 200; i++) {
    double values[] = {t[i].hp.learning_rate, t[i].hp.beta1, t[i].hp.l2, 1e-8, 0.1, 0.3, 1.0 / 3};
    for (size_t j = 0; j < sizeof values / sizeof values[0]; j++) {
      caviar_format_number(buf, sizeof buf, values[j]);
      cr_assert_eq(strtod(buf, NULL), values[j], "%s", buf);
    }
  }
  caviar_format_number(buf, sizeof buf, 0.001);
  cr_expect_str_eq(buf, "0.001");
  caviar_format_number(buf, sizeof buf, 128);
  cr_expect_str_eq(buf, "128");
}

Test(sampler, cli_prefix_is_the_same_for_10_and_10000) {
  cli_result few = run_caviar("sample -n 10 --seed 4");
  cli_result many = run_caviar("sample -n 10000 --seed 4");
  cr_assert_eq(few.status, 0, "%s", few.err);
  cr_assert_eq(many.status, 0, "%s", many.err);
  cr_expect_eq(count_lines(few.out), 10);
  cr_expect_eq(count_lines(many.out), 10000);
  cr_expect_eq(strncmp(few.out, many.out, strlen(few.out)), 0);
  cli_result_free(&few);
  cli_result_free(&many);
}
