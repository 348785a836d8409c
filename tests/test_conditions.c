/* Conditional parameters ("when"): a parameter whose condition fails (or names a parameter the model
 * does not use) is not drawn, not printed and not reported; grids skip the combinations that only
 * differ in inactive parameters. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/trial_json.h"
#include "caviar/zoom.h"
#include "spec_support.h"

#define SPACE                                                                                              \
  "\"optimizer\": {\"values\": [\"sgd\", \"momentum\", \"rmsprop\", \"adam\"]},"                            \
  "\"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.8, \"max\": 0.99, "         \
  "\"when\": {\"optimizer\": [\"momentum\", \"adam\"]}},"                                                  \
  "\"beta2\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.99, \"max\": 0.9999, "      \
  "\"when\": {\"optimizer\": [\"rmsprop\", \"adam\"]}},"                                                   \
  "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1e-1}"

static void sampler_for(const char *method, const char *space, caviar_spec *spec, caviar_sampler *s, long long n) {
  char text[4096];
  snprintf(text, sizeof text, "{\"method\": \"%s\", \"seed\": 3, \"parameters\": {%s}}",
           method, space);
  spec_ok(text, spec);
  caviar_error err;
  cr_assert_eq(caviar_sampler_init(s, spec, spec->seed, n, &err), CAVIAR_OK, "%s", err.msg);
}

static void check_activity(const char *method) {
  caviar_spec spec;
  caviar_sampler s;
  sampler_for(method, SPACE, &spec, &s, 400);
  const caviar_hp_info *b1 = caviar_hp_find("beta1"), *b2 = caviar_hp_find("beta2");
  int on1 = 0, on2 = 0;
  for (uint32_t i = 0; i < 400; i++) {
    caviar_trial t;
    caviar_sampler_draw(&s, i, &t);
    int opt = t.hp.optimizer;
    bool want1 = opt == CAVIAR_OPT_MOMENTUM || opt == CAVIAR_OPT_ADAM, want2 = opt == CAVIAR_OPT_RMSPROP || opt == CAVIAR_OPT_ADAM;
    cr_assert_eq(caviar_hp_active(&t.hp, b1), want1, "%s trial %u (%s): beta1", method, i, caviar_optimizer_name(opt));
    cr_assert_eq(caviar_hp_active(&t.hp, b2), want2, "%s trial %u (%s): beta2", method, i, caviar_optimizer_name(opt));
    cr_assert(caviar_hp_active(&t.hp, caviar_hp_find("learning_rate")));
    /* Inactive: the fixed value (here the default), and absent from the printed line. */
    if (!want1) cr_assert_eq(t.hp.beta1, 0.9);
    else cr_assert(t.hp.beta1 >= 0.8 && t.hp.beta1 <= 0.99, "beta1 %g", t.hp.beta1);
    if (!want2) cr_assert_eq(t.hp.beta2, 0.999);
    else cr_assert(t.hp.beta2 >= 0.99 && t.hp.beta2 <= 0.9999, "beta2 %g", t.hp.beta2);
    char line[4096];
    caviar_trial_json(&t, line, sizeof line);
    cr_assert_eq(strstr(line, "\"beta1\"") != NULL, want1, "%s", line);
    cr_assert_eq(strstr(line, "\"beta2\"") != NULL, want2, "%s", line);
    cr_assert(strstr(line, "\"learning_rate\"") && strstr(line, "\"optimizer\""), "%s", line);
    on1 += want1;
    on2 += want2;
  }
  cr_expect(on1 > 150 && on1 < 250 && on2 > 150 && on2 < 250, "%s: beta1 active %d, beta2 %d of 400", method, on1, on2);
  caviar_sampler_free(&s);
  caviar_spec_free(&spec);
}

Test(conditions, random_and_sobol_draw_a_parameter_only_when_its_condition_holds) {
  check_activity("random");
  check_activity("sobol");
}

Test(conditions, a_condition_does_not_change_what_the_other_parameters_draw) {
  caviar_spec with, without;
  caviar_sampler a, b;
  sampler_for("random", SPACE, &with, &a, 100);
  sampler_for("random",
              "\"optimizer\": {\"values\": [\"sgd\", \"momentum\", \"rmsprop\", \"adam\"]},"
              "\"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.8, \"max\": 0.99},"
              "\"beta2\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.99, \"max\": 0.9999},"
              "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1e-1}",
              &without, &b, 100);
  for (uint32_t i = 0; i < 100; i++) {
    caviar_trial x, y;
    caviar_sampler_draw(&a, i, &x);
    caviar_sampler_draw(&b, i, &y);
    cr_assert_eq(x.hp.learning_rate, y.hp.learning_rate);
    cr_assert_eq(x.hp.optimizer, y.hp.optimizer);
    if (caviar_hp_active(&x.hp, caviar_hp_find("beta1"))) cr_assert_eq(x.hp.beta1, y.hp.beta1);
  }
  caviar_sampler_free(&a);
  caviar_sampler_free(&b);
  caviar_spec_free(&with);
  caviar_spec_free(&without);
}

Test(conditions, nested_conditions_need_every_parent_active) {
  caviar_spec spec;
  caviar_sampler s;
  sampler_for("random",
              "\"optimizer\": {\"values\": [\"sgd\", \"adam\"]},"
              "\"activation\": {\"values\": [\"relu\", \"tanh\"], \"when\": {\"optimizer\": \"adam\"}},"
              "\"dropout\": {\"values\": [0.1, 0.2], \"when\": {\"activation\": [\"relu\"]}}",
              &spec, &s, 200);
  int seen = 0;
  for (uint32_t i = 0; i < 200; i++) {
    caviar_trial t;
    caviar_sampler_draw(&s, i, &t);
    bool act = t.hp.optimizer == CAVIAR_OPT_ADAM;
    bool drop = act && t.hp.activation == CAVIAR_ACT_RELU;
    cr_assert_eq(caviar_hp_active(&t.hp, caviar_hp_find("activation")), act, "trial %u", i);
    cr_assert_eq(caviar_hp_active(&t.hp, caviar_hp_find("dropout")), drop, "trial %u", i);
    /* An inactive parent holds its default (relu), yet its child stays off. */
    if (!act) cr_assert_eq(t.hp.dropout, 0.0);
    seen += drop;
  }
  cr_expect(seen > 20, "dropout active in %d trials", seen);
  caviar_sampler_free(&s);
  caviar_spec_free(&spec);
}

Test(conditions, a_grid_skips_combinations_that_differ_only_in_inactive_parameters) {
  caviar_spec spec;
  caviar_sampler s;
  sampler_for("grid",
              "\"optimizer\": {\"values\": [\"sgd\", \"momentum\", \"adam\"]},"
              "\"beta1\": {\"values\": [0.8, 0.9, 0.95], \"when\": {\"optimizer\": [\"momentum\", \"adam\"]}},"
              "\"beta2\": {\"values\": [0.99, 0.999], \"when\": {\"optimizer\": \"adam\"}},"
              "\"hidden\": {\"values\": [32, 64]}",
              &spec, &s, -1);
  /* sgd: 2 (hidden); momentum: 3 * 2; adam: 3 * 2 * 2 — not the full product 3 * 3 * 2 * 2 = 36. */
  cr_assert_eq(s.count, 2 + 6 + 12);
  char lines[20][1024];
  int per_opt[4] = {0};
  for (uint32_t i = 0; i < 20; i++) {
    caviar_trial t;
    caviar_sampler_draw(&s, i, &t);
    caviar_trial_json(&(caviar_trial){.id = 0, .hp = t.hp}, lines[i], sizeof lines[i]);
    for (uint32_t j = 0; j < i; j++) cr_assert_str_neq(lines[i], lines[j], "grid points %u and %u", i, j);
    per_opt[t.hp.optimizer]++;
    if (t.hp.optimizer == CAVIAR_OPT_SGD) cr_assert(!strstr(lines[i], "beta1") && !strstr(lines[i], "beta2"));
  }
  cr_expect_eq(per_opt[CAVIAR_OPT_SGD], 2);
  cr_expect_eq(per_opt[CAVIAR_OPT_MOMENTUM], 6);
  cr_expect_eq(per_opt[CAVIAR_OPT_ADAM], 12);
  caviar_sampler_free(&s);
  caviar_spec_free(&spec);
}

Test(conditions, a_condition_on_a_parameter_the_model_does_not_use_does_not_hold) {
  /* An MLP has no channels: its dropout (when channels is 4) is off, and so is what hangs on it. */
  caviar_spec spec;
  caviar_sampler s;
  sampler_for("random",
              "\"model\": {\"values\": [\"mlp\", \"cnn\"]}, \"channels\": {\"values\": [2, 4]},"
              "\"dropout\": {\"values\": [0.1, 0.3], \"when\": {\"channels\": 4}},"
              "\"l2\": {\"values\": [0.01, 0.1], \"when\": {\"dropout\": 0.3}}",
              &spec, &s, 200);
  const caviar_hp_info *dropout = caviar_hp_find("dropout"), *l2 = caviar_hp_find("l2");
  int mlp_four = 0, cnn_four = 0;
  for (uint32_t i = 0; i < 200; i++) {
    caviar_trial t;
    caviar_sampler_draw(&s, i, &t);
    /* channels as drawn, before the model put it back */
    bool four = caviar_sample_param(&spec.space.params[1], s.seed, i) == 4;
    bool cnn = t.hp.model == CAVIAR_MODEL_CNN;
    mlp_four += !cnn && four;
    cnn_four += cnn && four;
    cr_assert_eq(caviar_hp_active(&t.hp, dropout), cnn && four, "trial %u", i);
    if (!caviar_hp_active(&t.hp, dropout)) {
      cr_assert_not(caviar_hp_active(&t.hp, l2), "trial %u: l2 hangs on an inactive dropout", i);
      cr_assert_eq(t.hp.dropout, spec.fixed.dropout, "trial %u: the fixed dropout", i);
    }
    cr_assert_eq(t.hp.channels, cnn ? (four ? 4 : 2) : spec.fixed.channels, "trial %u", i);
  }
  cr_expect_gt(mlp_four, 0);
  cr_expect_gt(cnn_four, 0);
  caviar_sampler_free(&s);
  caviar_spec_free(&spec);
}

Test(conditions, a_grid_skips_points_that_differ_only_in_what_the_model_does_not_use) {
  /* mlp x channels {2, 4} is one MLP; and an MLP's dropout (when channels is 4) is off. */
  caviar_spec spec;
  caviar_sampler s;
  sampler_for("grid",
              "\"model\": {\"values\": [\"mlp\", \"cnn\"]}, \"channels\": {\"values\": [2, 4]},"
              "\"dropout\": {\"values\": [0.1, 0.3], \"when\": {\"channels\": 4}}",
              &spec, &s, -1);
  /* mlp: 1; cnn: channels 2, and channels 4 with two dropouts. */
  cr_assert_eq(s.count, 1 + 1 + 2);
  char lines[4][1024];
  for (uint32_t i = 0; i < 4; i++) {
    caviar_trial t;
    caviar_sampler_draw(&s, i, &t);
    caviar_trial_json(&(caviar_trial){.id = 0, .hp = t.hp}, lines[i], sizeof lines[i]);
    for (uint32_t j = 0; j < i; j++) cr_assert_str_neq(lines[i], lines[j], "grid points %u and %u", i, j);
  }
  caviar_sampler_free(&s);
  caviar_spec_free(&spec);
  /* Without conditions too: the CNN's rows of an MLP. */
  sampler_for("grid", "\"model\": {\"values\": [\"mlp\", \"cnn\"]}, \"channels\": {\"values\": [2, 4, 8]}", &spec, &s,
              -1);
  cr_expect_eq(s.count, 1 + 3);
  caviar_sampler_free(&s);
  caviar_spec_free(&spec);
}

Test(conditions, a_proposal_given_a_drawn_shape_keeps_its_values_only_where_they_still_agree) {
  caviar_spec spec;
  spec_ok("{\"method\": \"tpe\", \"parameters\": {\"layers\": {\"values\": [1, 2]}, \"hidden\": {\"values\": [16, 32]},"
          "\"dropout\": {\"min\": 0.1, \"max\": 0.5, \"when\": {\"layers\": 2}},"
          "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1}}}",
          &spec);
  caviar_hparams drawn = spec.fixed, proposal = spec.fixed;
  drawn.layers = 2, drawn.hidden = 32, drawn.dropout = 0.3, drawn.learning_rate = 0.01;
  caviar_space_apply_conditions(&spec.space, &spec.fixed, &drawn);
  /* The same number of layers: the proposal keeps its learning rate and dropout, takes hidden 32. */
  proposal.layers = 2, proposal.hidden = 16, proposal.dropout = 0.2, proposal.learning_rate = 0.001;
  caviar_space_apply_conditions(&spec.space, &spec.fixed, &proposal);
  caviar_hparams hp = proposal;
  caviar_space_take_shape(&spec.space, &spec.fixed, &drawn, &hp);
  cr_expect_eq(hp.hidden, 32);
  cr_expect_eq(hp.learning_rate, 0.001);
  cr_expect_eq(hp.dropout, 0.2);
  /* One layer: its dropout is off, at the fixed 0, outside [0.1, 0.5]; two layers would switch it on
   * there, so the drawn config is taken whole. */
  proposal.layers = 1;
  caviar_space_apply_conditions(&spec.space, &spec.fixed, &proposal);
  cr_assert_not(caviar_hp_active(&proposal, caviar_hp_find("dropout")));
  hp = proposal;
  caviar_space_take_shape(&spec.space, &spec.fixed, &drawn, &hp);
  cr_expect_eq(memcmp(&hp, &drawn, sizeof hp), 0, "dropout %g, learning rate %g", hp.dropout, hp.learning_rate);
  /* The other way: two layers' dropout switched off by one drawn layer is put back to the fixed one. */
  caviar_hparams one = drawn;
  one.layers = 1;
  caviar_space_apply_conditions(&spec.space, &spec.fixed, &one);
  proposal.layers = 2;
  caviar_space_apply_conditions(&spec.space, &spec.fixed, &proposal);
  hp = proposal;
  caviar_space_take_shape(&spec.space, &spec.fixed, &one, &hp);
  cr_expect_eq(hp.layers, 1);
  cr_expect_not(caviar_hp_active(&hp, caviar_hp_find("dropout")));
  cr_expect_eq(hp.dropout, spec.fixed.dropout);
  cr_expect_eq(hp.learning_rate, 0.001);
  caviar_spec_free(&spec);
}

Test(conditions, the_search_box_of_coarse_to_fine_keeps_conditions) {
  caviar_spec spec;
  caviar_sampler s;
  sampler_for("random", SPACE, &spec, &s, 1);
  caviar_space copy;
  caviar_error err;
  cr_assert_eq(caviar_space_copy(&spec.space, &copy, &err), CAVIAR_OK);
  cr_assert_eq(copy.params[1].n_when, 1);
  cr_assert_eq(copy.params[1].when[0].parent, 0);
  cr_assert_eq(copy.params[1].when[0].n_values, 2);
  cr_assert_neq(copy.params[1].when[0].values, spec.space.params[1].when[0].values);
  caviar_space_free(&copy);
  caviar_sampler_free(&s);
  caviar_spec_free(&spec);
}
