/* method bayes: W&B's Gaussian process (host/spec/gp.c), the sampler alone, on cheap objectives
 * computed here: it finds better points than random search at the same budget, one at a time and
 * with a refilled population (pending trials as the GP's fantasies); a proposal is a pure function
 * of the seed, trial id and results; failed trials count as the worst; pending ones spread a
 * batch. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/tpe.h"
#include "spec_support.h"

static void load(caviar_spec *spec, unsigned long long seed) {
  char text[1024];
  snprintf(text, sizeof text,
           "{\"method\": \"bayes\", \"seed\": %llu, \"parameters\": {"
           "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-5, \"max\": 1},"
           "\"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.5, \"max\": 0.999},"
           "\"dropout\": {\"min\": 0, \"max\": 0.9}}}",
           seed);
  spec_ok(text, spec);
  cr_assert(spec->tpe.gp, "method bayes is not the GP");
  cr_assert_eq(spec->tpe.startup, 2);
  cr_assert_eq(spec->tpe.candidates, 1000);
}

/* A smooth bowl on each parameter's own scale, its floor (0) at lr 10^-2.5, beta1 0.99, dropout 0.3. */
static double objective(const caviar_hparams *hp) {
  double a = log10(hp->learning_rate) + 2.5, b = log10(1 - hp->beta1) + 2, d = (hp->dropout - 0.3) / 0.3;
  return a * a + b * b + d * d;
}

#define BUDGET 30

static const model_race race = {load, objective, BUDGET, 2};

static void beats_random(int population) {
  double model, by_random;
  int wins = race_wins(&race, 10, population, &model, &by_random);
  cr_expect_geq(wins, 8, "population %d: the GP beat random in %d of 10 seeds (mean best %g vs %g)", population, wins,
                model, by_random);
  cr_expect_lt(model, 0.5 * by_random, "population %d: mean best %g vs random's %g", population, model, by_random);
}

Test(gp, finds_better_points_than_random_search_at_the_same_budget) { beats_random(1); }

Test(gp, still_beats_random_when_a_refilled_population_trains_four_at_once) { beats_random(4); }

Test(gp, the_same_seed_and_results_give_the_same_proposals) { race_is_reproducible(&race); }

/* Proposals for one freed slot after another, each earlier one still pending: the fantasies keep
 * them apart, where without pending configs the same results give the same point. */
Test(gp, pending_trials_spread_a_batch_of_proposals) {
  caviar_spec spec;
  load(&spec, 3);
  caviar_tpe *gp;
  caviar_error err;
  cr_assert_eq(caviar_tpe_new(&spec.tpe, 3, &gp, &err), CAVIAR_OK);
  for (uint32_t id = 0; id < 12; id++) {
    caviar_hparams hp;
    caviar_sample_random(&spec.space, &spec.fixed, 3, id, &hp);
    cr_assert_eq(caviar_tpe_observe(gp, &hp, 1, objective(&hp), &err), CAVIAR_OK);
  }
  caviar_hparams batch[4];
  for (int k = 0; k < 4; k++) cr_assert(caviar_tpe_propose(gp, &spec.space, &spec.fixed, 100, batch, k, &batch[k]));
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < i; j++)
      cr_expect(batch[i].learning_rate != batch[j].learning_rate || batch[i].dropout != batch[j].dropout,
                "proposals %d and %d coincide", i, j);
  caviar_tpe_free(gp);
  caviar_spec_free(&spec);
}

/* A failed trial (NaN loss) counts as the worst result: with every learning rate above 0.1
 * failing, the GP's proposals stay below it. */
Test(gp, failed_trials_count_as_the_worst_result) {
  caviar_spec spec;
  load(&spec, 4);
  caviar_tpe *gp;
  caviar_error err;
  cr_assert_eq(caviar_tpe_new(&spec.tpe, 4, &gp, &err), CAVIAR_OK);
  int high = 0;
  for (uint32_t id = 0; id < 40; id++) {
    caviar_hparams hp;
    if (id < 10 || !caviar_tpe_propose(gp, &spec.space, &spec.fixed, id, NULL, 0, &hp))
      caviar_sample_random(&spec.space, &spec.fixed, 4, id, &hp);
    else high += hp.learning_rate > 0.1;
    double f = hp.learning_rate > 0.1 ? NAN : objective(&hp);
    cr_assert_eq(caviar_tpe_observe(gp, &hp, 1, f, &err), CAVIAR_OK);
  }
  cr_expect_leq(high, 3, "%d of 30 proposals in the region where every trial failed", high);
  caviar_tpe_free(gp);
  caviar_spec_free(&spec);
}

/* `caviar sweep --method` switches between the two models with their own options. */
Test(gp, the_method_flag_switches_between_tpe_and_bayes) {
  caviar_spec spec;
  load(&spec, 1);
  cr_expect_str_eq(caviar_spec_method(&spec), "bayes");
  cr_assert(caviar_spec_use_method(&spec, "tpe"));
  cr_expect(!spec.tpe.gp);
  cr_expect_eq(spec.tpe.startup, 10);
  cr_expect_str_eq(caviar_spec_method(&spec), "tpe");
  cr_assert(caviar_spec_use_method(&spec, "bayes"));
  cr_expect(spec.tpe.gp);
  cr_expect_eq(spec.method, CAVIAR_METHOD_TPE);
  cr_expect_str_eq(caviar_spec_method(&spec), "bayes");
  cr_assert(caviar_spec_use_method(&spec, "sobol"));
  cr_expect_eq(spec.method, CAVIAR_METHOD_SOBOL);
  cr_expect_str_eq(caviar_spec_method(&spec), "sobol");
  cr_expect(!caviar_spec_use_method(&spec, "hyperopt"));
  caviar_spec_free(&spec);
}
