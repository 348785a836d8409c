/* TPE, the sampler alone, on a cheap synthetic objective computed here: at the same budget it finds
 * a better point than random search in most seeds, sequentially and with a refilled population
 * (constant liar); it is reproducible; it fits the largest budget with enough results (BOHB). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/qmc.h"
#include "caviar/tpe.h"
#include "spec_support.h"

static const char *space =
    "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-5, \"max\": 1},"
    "\"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.5, \"max\": 0.999},"
    "\"layers\": {\"min\": 1, \"max\": 4},"
    "\"optimizer\": {\"values\": [\"sgd\", \"momentum\", \"rmsprop\", \"adam\"]},"
    "\"dropout\": {\"min\": 0, \"max\": 0.9},"
    "\"hidden\": {\"distribution\": \"q_uniform\", \"min\": 16, \"max\": 256, \"q\": 16}";

/* A bowl on each parameter's own scale, its floor (0) at lr 10^-2.5, beta1 0.99, 3 layers, adam,
 * dropout 0.3, 160 units. */
static double objective(const caviar_hparams *hp) {
  double a = log10(hp->learning_rate) + 2.5, b = log10(1 - hp->beta1) + 2, c = hp->layers - 3.0;
  double d = hp->dropout - 0.3, e = (hp->hidden - 160.0) / 64;
  return a * a + b * b + 0.5 * c * c + (hp->optimizer == CAVIAR_OPT_ADAM ? 0 : 1) + 4 * d * d + e * e;
}

static void load(caviar_spec *spec, unsigned long long seed) {
  char text[2048];
  snprintf(text, sizeof text, "{\"method\": \"tpe\", \"seed\": %llu, \"parameters\": {%s}}", seed, space);
  spec_ok(text, spec);
}

#define BUDGET 60

static const model_race race = {load, objective, BUDGET, 10};

static void beats_random(int population) {
  double model, by_random;
  int wins = race_wins(&race, 10, population, &model, &by_random);
  cr_expect_geq(wins, 7, "population %d: TPE beat random in %d of 10 seeds (mean best %g vs %g)", population, wins,
                model, by_random);
  cr_expect_lt(model, by_random, "population %d: mean best %g vs random's %g", population, model, by_random);
}

Test(tpe, finds_better_points_than_random_search_at_the_same_budget) { beats_random(1); }

Test(tpe, still_beats_random_when_a_refilled_population_trains_four_at_once) { beats_random(4); }

Test(tpe, the_same_seed_and_results_give_the_same_proposals) { race_is_reproducible(&race); }

Test(tpe, constant_liar_spreads_a_batch_of_proposals) {
  caviar_spec spec;
  load(&spec, 3);
  caviar_tpe *tpe;
  caviar_error err;
  caviar_tpe_options opt = CAVIAR_TPE_DEFAULT_OPTIONS;
  cr_assert_eq(caviar_tpe_new(&opt, 3, &tpe, &err), CAVIAR_OK);
  for (uint32_t id = 0; id < 30; id++) {
    caviar_hparams hp;
    caviar_sample_random(&spec.space, &spec.fixed, 3, id, &hp);
    caviar_tpe_observe(tpe, &hp, 1, objective(&hp), &err);
  }
  /* Eight proposals for one batch, each seeing the earlier ones as pending: the learning rates
   * differ from one another. */
  caviar_hparams batch[8];
  for (int i = 0; i < 8; i++)
    cr_assert(caviar_tpe_propose(tpe, &spec.space, &spec.fixed, (uint32_t)(100 + i), batch, i, &batch[i]));
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < i; j++) cr_expect_neq(batch[i].learning_rate, batch[j].learning_rate, "%d and %d", i, j);
  caviar_tpe_free(tpe);
  caviar_spec_free(&spec);
}

Test(tpe, it_fits_the_largest_budget_with_enough_results_as_bohb_does) {
  caviar_spec spec;
  load(&spec, 9);
  caviar_tpe *tpe;
  caviar_error err;
  caviar_tpe_options opt = CAVIAR_TPE_DEFAULT_OPTIONS;
  cr_assert_eq(caviar_tpe_new(&opt, 9, &tpe, &err), CAVIAR_OK);
  caviar_hparams probe;
  cr_expect(!caviar_tpe_propose(tpe, &spec.space, &spec.fixed, 0, NULL, 0, &probe), "no results: no model");
  /* At budget 1, small learning rates look best; at budget 9 (fewer results), large ones. */
  for (uint32_t id = 0; id < 60; id++) {
    caviar_hparams hp;
    caviar_sample_random(&spec.space, &spec.fixed, 9, id, &hp);
    double x = log10(hp.learning_rate);
    caviar_tpe_observe(tpe, &hp, 1, (x + 4.5) * (x + 4.5), &err);
    if (id < 9) caviar_tpe_observe(tpe, &hp, 9, (x + 0.5) * (x + 0.5), &err);
  }
  cr_expect_eq(caviar_tpe_budget(tpe), 1, "budget 9 has only 9 results");
  double low = 0;
  for (uint32_t id = 0; id < 20; id++) {
    caviar_hparams hp;
    cr_assert(caviar_tpe_propose(tpe, &spec.space, &spec.fixed, 1000 + id, NULL, 0, &hp));
    low += log10(hp.learning_rate) / 20;
  }
  caviar_hparams hp;
  caviar_sample_random(&spec.space, &spec.fixed, 9, 9, &hp);
  double x = log10(hp.learning_rate);
  caviar_tpe_observe(tpe, &hp, 9, (x + 0.5) * (x + 0.5), &err);
  cr_expect_eq(caviar_tpe_budget(tpe), 9, "budget 9 now has its 10 results");
  double high = 0;
  for (uint32_t id = 0; id < 20; id++) {
    cr_assert(caviar_tpe_propose(tpe, &spec.space, &spec.fixed, 2000 + id, NULL, 0, &hp));
    high += log10(hp.learning_rate) / 20;
  }
  cr_expect_lt(low, -3, "fitted on budget 1: mean log10 lr %g", low);
  cr_expect_gt(high, -2, "fitted on budget 9: mean log10 lr %g", high);
  caviar_tpe_free(tpe);
  caviar_spec_free(&spec);
}

Test(tpe, inactive_parameters_are_neither_modelled_nor_proposed) {
  caviar_spec spec;
  spec_ok("{\"method\": \"tpe\", \"parameters\": {\"optimizer\": {\"values\": [\"sgd\", \"adam\"]},"
          "\"beta1\": {\"min\": 0.5, \"max\": 0.99, \"when\": {\"optimizer\": \"adam\"}},"
          "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1}}}",
          &spec);
  caviar_tpe *tpe;
  caviar_error err;
  caviar_tpe_options opt = CAVIAR_TPE_DEFAULT_OPTIONS;
  cr_assert_eq(caviar_tpe_new(&opt, 1, &tpe, &err), CAVIAR_OK);
  for (uint32_t id = 0; id < 40; id++) {
    caviar_hparams hp;
    caviar_sample_random(&spec.space, &spec.fixed, 1, id, &hp);
    /* sgd is better here, so the model should prefer it. */
    caviar_tpe_observe(tpe, &hp, 1, hp.optimizer == CAVIAR_OPT_SGD ? 0 : 1, &err);
  }
  int sgd = 0;
  for (uint32_t id = 0; id < 40; id++) {
    caviar_hparams hp;
    cr_assert(caviar_tpe_propose(tpe, &spec.space, &spec.fixed, 100 + id, NULL, 0, &hp));
    bool adam = hp.optimizer == CAVIAR_OPT_ADAM;
    cr_assert_eq(caviar_hp_active(&hp, caviar_hp_find("beta1")), adam);
    if (!adam) cr_assert_eq(hp.beta1, 0.9);
    sgd += !adam;
  }
  cr_expect_gt(sgd, 28, "sgd proposed %d times of 40", sgd);
  caviar_tpe_free(tpe);
  caviar_spec_free(&spec);
}
