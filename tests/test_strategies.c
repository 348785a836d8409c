/* Search strategies on synthetic data: Hyperband's brackets and rung budgets match Li et al.'s
 * formulas and run side by side; a population smaller than the budget is refilled and stays full
 * until the budget is spent; PBT copies the right member's weights and optimizer state and records
 * the lineage. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/trainer.h"
#include "spec_support.h"
#include "synth_support.h"

Test(strategies, hyperband_brackets_follow_li_et_al) {
  /* R = 81, eta = 3: Li et al. (2017), table 1: n = 81, 34, 15, 8, 5 starting at r = 1, 3, 9, 27, 81. */
  caviar_early_terminate et = {.type = CAVIAR_STOP_HYPERBAND, .min_epochs = 1, .max_epochs = 81, .eta = 3, .s = 4};
  caviar_brackets hb;
  caviar_brackets_make(&et, 0, &hb);
  const int trials[] = {81, 34, 15, 8, 5}, first_rung[] = {1, 3, 9, 27, 0};
  cr_assert_eq(hb.n_brackets, 5);
  for (int b = 0; b < 5; b++) {
    cr_expect_eq(hb.brackets[b].s, 4 - b);
    cr_expect_eq(hb.brackets[b].trials, trials[b], "bracket s=%d", 4 - b);
    cr_expect_eq(hb.brackets[b].rungs.n, 4 - b, "bracket s=%d has s rungs", 4 - b);
    if (b < 4) cr_expect_eq(hb.brackets[b].rungs.epochs[0], first_rung[b]);
    for (int i = 1; i < hb.brackets[b].rungs.n; i++)
      cr_expect_eq(hb.brackets[b].rungs.epochs[i], 3 * hb.brackets[b].rungs.epochs[i - 1]);
  }
  cr_expect_eq(caviar_brackets_trials(&hb), 143);
  cr_expect_eq(caviar_bracket_of(&hb, 80), 0);
  cr_expect_eq(caviar_bracket_of(&hb, 81), 1);
  cr_expect_eq(caviar_bracket_of(&hb, 142), 4);
  /* s from min and max: 27 / 1 with eta 3 is 3 brackets below the top one. */
  caviar_early_terminate from_min = {.type = CAVIAR_STOP_HYPERBAND, .min_epochs = 1, .max_epochs = 27, .eta = 3};
  caviar_brackets_make(&from_min, 0, &hb);
  cr_expect_eq(hb.n_brackets, 4);
  cr_expect_eq(caviar_brackets_trials(&hb), 27 + 12 + 6 + 4);
  /* Expected epochs of a successive-halving trial: 1 + 2/3 + 6/9 + 18/27 epochs. */
  cr_expect_float_eq(caviar_bracket_expected_epochs(&hb.brackets[0], 3, 27), 1 + 2.0 / 3 + 6.0 / 9 + 18.0 / 27,
                     1e-12);
}

static void run_spec(const char *text, caviar_sweep_result *r, caviar_progress_fn progress, void *ctx) {
  caviar_backend *be;
  caviar_error err;
  cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
  sweep_text_on(be, text, r, progress, ctx);
  be->destroy(be);
}

static const char *dir(void) {
  static char path[1024];
  if (!path[0]) strcpy(path, synth_idx_dir("strategies", 800, 200, 16, 4, 1.5, true));
  return path;
}

Test(strategies, hyperband_runs_its_brackets_side_by_side) {
  char text[2048];
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"seed\": 4, \"data\": {\"dir\": \"%s\"}, \"model\": {\"batch_size\": 32, \"hidden\": 8},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-3, \"max\": 3e-2}},"
           " \"early_terminate\": {\"type\": \"hyperband\", \"min_iter\": 1, \"max_iter\": 9, \"eta\": 3}}",
           dir());
  caviar_sweep_result r;
  run_spec(text, &r, NULL, NULL);
  /* Brackets s = 2, 1, 0: 9 trials with rungs at 1 and 3, 5 with a rung at 3, 3 without rungs. */
  cr_assert_eq(r.brackets.n_brackets, 3);
  cr_assert_eq(r.n_trials, 9 + 5 + 3);
  int culled[3][10] = {{0}}, survived[3] = {0};
  for (int i = 0; i < r.n_trials; i++) {
    const caviar_trial_result *t = &r.trials[i];
    cr_expect_eq(t->bracket, i < 9 ? 0 : i < 14 ? 1 : 2, "trial %d", i);
    if (t->status == CAVIAR_TRIAL_CULLED) culled[t->bracket][t->epochs]++;
    if (t->status == CAVIAR_TRIAL_SURVIVED) survived[t->bracket]++;
  }
  cr_expect_eq(culled[0][1], 6, "bracket 2: 9 -> 3 at epoch 1");
  cr_expect_eq(culled[0][3], 2, "bracket 2: 3 -> 1 at epoch 3");
  cr_expect_eq(survived[0], 1);
  cr_expect_eq(culled[1][3], 4, "bracket 1: 5 -> 1 at epoch 3");
  cr_expect_eq(survived[1], 1);
  cr_expect_eq(survived[2], 3, "bracket 0 trains all of its trials to the end");
  caviar_sweep_result_free(&r);
}

typedef struct fullness {
  int population, violations, reports;
} fullness;

/* While trials remain to start, every epoch trains a full population. */
static void check_full(const caviar_progress *p, void *ctx) {
  fullness *f = ctx;
  if (p->trained == 0) return;
  f->reports++;
  if (p->trials < p->budget && p->trained != f->population) f->violations++;
}

Test(strategies, refill_keeps_the_population_full_until_the_budget_is_spent) {
  char text[2048];
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"seed\": 6, \"trials\": 24, \"population\": 5, \"data\": {\"dir\": \"%s\"},"
           " \"model\": {\"batch_size\": 32},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1e-1},"
           "   \"hidden\": {\"values\": [8, 12]}},"
           " \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 4, \"eta\": 2}}",
           dir());
  fullness f = {5, 0, 0};
  caviar_sweep_result r;
  run_spec(text, &r, check_full, &f);
  cr_expect_gt(f.reports, 5);
  cr_expect_eq(f.violations, 0, "an epoch trained fewer than 5 members while trials were waiting");
  cr_assert_eq(r.n_trials, 24, "the whole budget was spent");
  int survived = 0;
  for (int i = 0; i < r.n_trials; i++) {
    const caviar_trial_result *t = &r.trials[i];
    cr_expect_neq(t->status, CAVIAR_TRIAL_RUNNING);
    if (t->status == CAVIAR_TRIAL_CULLED) cr_expect(t->epochs == 1 || t->epochs == 2, "culled at a rung, not %d", t->epochs);
    if (t->status == CAVIAR_TRIAL_SURVIVED) {
      survived++;
      cr_expect_eq(t->epochs, 4);
      cr_expect(isfinite(t->test_acc));
    }
  }
  /* Asynchronous halving promotes the early arrivals generously, but not everyone. */
  cr_expect(survived >= 1 && survived < 24, "%d survivors", survived);
  caviar_sweep_result_free(&r);
}

static float curve_acc(const caviar_sweep_result *r, uint32_t trial, int epoch) {
  for (size_t i = 0; i < r->n_curve; i++)
    if (r->curve[i].trial == trial && r->curve[i].epoch == epoch) return r->curve[i].val_acc;
  return NAN;
}

Test(strategies, pbt_copies_weights_and_state_from_a_top_member_and_records_it) {
  char text[2048];
  /* A perturbation of 1e-6 and no resampling: a member that copied a donor must end almost exactly
   * where the donor ends, which it cannot unless weights and optimizer state were copied. */
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"seed\": 8, \"trials\": 8, \"data\": {\"dir\": \"%s\"},"
           " \"model\": {\"batch_size\": 32, \"hidden\": 8, \"epochs\": 3},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 3e-2}},"
           " \"early_terminate\": {\"type\": \"pbt\", \"interval\": 2, \"quantile\": 0.25, \"perturb\": 1e-6,"
           "   \"resample_probability\": 0}}",
           dir());
  caviar_sweep_result r;
  run_spec(text, &r, NULL, NULL);
  int copies = 0;
  for (int i = 0; i < r.n_trials; i++) {
    const caviar_trial_result *t = &r.trials[i];
    cr_assert_eq(t->status, CAVIAR_TRIAL_SURVIVED, "pbt culls no one");
    cr_assert_gt(t->n_lineage, 0);
    cr_expect_eq(t->lineage[0].from, -1, "its start copies no one");
    cr_expect_eq(t->lineage[0].epoch, 0);
    if (t->n_lineage < 2) continue;
    copies++;
    const caviar_lineage_event *event = &t->lineage[1];
    cr_expect_eq(event->epoch, 2);
    int donor = (int)event->from;
    cr_expect_geq(curve_acc(&r, (uint32_t)donor, 2), curve_acc(&r, t->trial.id, 2), "the donor ranked above");
    double lr = event->hp.learning_rate;
    double donor_lr = r.trials[donor].trial.hp.learning_rate;
    cr_expect_float_eq(lr / donor_lr, 1.0, 1.5e-6, "perturbed by 1 +- 1e-6");
    caviar_layout layout;
    caviar_layout_make(&t->shape, 1, &layout);
    double diff = 0, norm = 0;
    for (size_t k = 0; k < layout.per_member; k++) {
      double d = (double)t->params[k] - r.trials[donor].params[k];
      diff += d * d;
      norm += (double)r.trials[donor].params[k] * r.trials[donor].params[k];
    }
    cr_expect_lt(sqrt(diff / norm), 1e-4, "trial %d ended %g away from its donor %d", i, sqrt(diff / norm), donor);
  }
  cr_expect_eq(copies, 2, "the bottom quarter of 8 copies once");
  caviar_sweep_result_free(&r);
}

static void tpe_spec(char *text, size_t size, const char *extra) {
  snprintf(text, size,
           "{\"method\": \"tpe\", \"seed\": 8, \"data\": {\"dir\": \"%s\"}, \"model\": {\"batch_size\": 32},"
           " \"tpe\": {\"startup\": 5},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1e-1},"
           "   \"hidden\": {\"values\": [8, 12]}, \"dropout\": {\"values\": [0, 0.2]}}, %s}",
           dir(), extra);
}

/* The trials the spec's sampler (tpe's sobol startup) draws before any proposal. */
static void startup_draws(const char *text, int n, caviar_trial *out) {
  caviar_spec spec;
  spec_ok(text, &spec);
  caviar_sampler s;
  caviar_error err;
  cr_assert_eq(caviar_sampler_init(&s, &spec, spec.seed, n, &err), CAVIAR_OK);
  for (int i = 0; i < n; i++) caviar_sampler_draw(&s, (uint32_t)i, &out[i]);
  caviar_sampler_free(&s);
  caviar_spec_free(&spec);
}

Test(strategies, tpe_proposes_each_refilled_slot_from_every_result_so_far) {
  char text[2048];
  tpe_spec(text, sizeof text,
           "\"trials\": 30, \"population\": 5,"
           " \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 4, \"eta\": 2}");
  fullness f = {5, 0, 0};
  caviar_sweep_result r, again;
  run_spec(text, &r, check_full, &f);
  run_spec(text, &again, NULL, NULL);
  cr_assert_eq(r.n_trials, 30);
  cr_expect_eq(f.violations, 0, "an epoch trained fewer than 5 members while trials were waiting");
  caviar_trial drawn[30];
  startup_draws(text, 30, drawn);
  /* The first population starts before any result: sobol points. Later ones are proposals. */
  int proposed = 0;
  for (int i = 0; i < 30; i++) {
    bool same = r.trials[i].trial.hp.learning_rate == drawn[i].hp.learning_rate;
    if (i < 5) cr_expect(same, "trial %d started before any result", i);
    proposed += !same;
    cr_expect_neq(r.trials[i].status, CAVIAR_TRIAL_RUNNING);
    /* Reproducible: the same seed gives the same proposals and results. */
    cr_expect(memcmp(&r.trials[i].trial.hp, &again.trials[i].trial.hp, sizeof r.trials[i].trial.hp) == 0, "trial %d", i);
    cr_expect_eq(r.trials[i].val_acc, again.trials[i].val_acc, "trial %d", i);
  }
  cr_expect_geq(proposed, 20, "only %d of 25 refilled trials were proposed by the model", proposed);
  caviar_sweep_result_free(&r);
  caviar_sweep_result_free(&again);
}

Test(strategies, tpe_runs_with_hyperband_brackets_and_a_refilled_population) {
  char text[2048];
  tpe_spec(text, sizeof text,
           "\"population\": 6, \"early_terminate\": {\"type\": \"hyperband\", \"min_iter\": 1, \"max_iter\": 4, \"eta\": 2}");
  caviar_sweep_result r;
  run_spec(text, &r, NULL, NULL);
  cr_assert_eq(r.n_trials, (int)caviar_brackets_trials(&r.brackets));
  caviar_trial drawn[64];
  cr_assert_leq(r.n_trials, 64);
  startup_draws(text, r.n_trials, drawn);
  int proposed = 0, survived = 0;
  for (int i = 0; i < r.n_trials; i++) {
    proposed += r.trials[i].trial.hp.learning_rate != drawn[i].hp.learning_rate;
    survived += r.trials[i].status == CAVIAR_TRIAL_SURVIVED;
  }
  /* The first 6 start together from sobol; every refilled slot got a proposal. */
  cr_expect_eq(proposed, r.n_trials - 6, "%d of %d proposed", proposed, r.n_trials);
  cr_expect_gt(survived, 0);
  caviar_sweep_result_free(&r);
}

Test(strategies, tpe_rounds_propose_a_whole_batch_inside_each_zoomed_box) {
  char text[2048];
  snprintf(text, sizeof text,
           "{\"method\": \"tpe\", \"seed\": 8, \"trials\": 8, \"data\": {\"dir\": \"%s\"},"
           " \"model\": {\"batch_size\": 32, \"epochs\": 2, \"hidden\": 8}, \"tpe\": {\"startup\": 5},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1e-1}},"
           " \"coarse_to_fine\": {\"rounds\": 2, \"zoom\": 0.5, \"top_k\": 2}}",
           dir());
  caviar_sweep_result r;
  run_spec(text, &r, NULL, NULL);
  cr_assert_eq(r.n_rounds, 2);
  cr_assert_eq(r.n_trials, 16);
  const caviar_param *box = caviar_space_find(&r.boxes[1], "learning_rate");
  for (int i = 8; i < 16; i++) {
    double lr = r.trials[i].trial.hp.learning_rate;
    cr_expect_eq(r.trials[i].trial.round, 1);
    cr_expect(lr >= box->min * (1 - 1e-12) && lr <= box->max * (1 + 1e-12), "trial %d: %g outside [%g, %g]", i, lr,
              exp(box->t_lo), exp(box->t_hi));
    /* The batch's proposals see each other as pending (constant liar) and spread out. */
    for (int j = 8; j < i; j++) cr_expect_neq(lr, r.trials[j].trial.hp.learning_rate, "trials %d and %d", i, j);
  }
  caviar_sweep_result_free(&r);
}

Test(strategies, a_tpe_sweep_with_conditions_keeps_inactive_parameters_out_of_every_trial) {
  char text[2048];
  snprintf(text, sizeof text,
           "{\"method\": \"tpe\", \"seed\": 3, \"trials\": 16, \"population\": 4, \"data\": {\"dir\": \"%s\"},"
           " \"model\": {\"batch_size\": 32, \"hidden\": 8, \"epochs\": 2}, \"tpe\": {\"startup\": 4},"
           " \"parameters\": {\"optimizer\": {\"values\": [\"sgd\", \"adam\"]},"
           "   \"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-3, \"max\": 1e-1},"
           "   \"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.5, \"max\": 0.99,"
           "               \"when\": {\"optimizer\": [\"adam\"]}}}}",
           dir());
  caviar_sweep_result r;
  run_spec(text, &r, NULL, NULL);
  cr_assert_eq(r.n_trials, 16);
  const caviar_hp_info *beta1 = caviar_hp_find("beta1");
  int sgd = 0, adam = 0;
  for (int i = 0; i < r.n_trials; i++) {
    const caviar_hparams *hp = &r.trials[i].trial.hp;
    bool is_adam = hp->optimizer == CAVIAR_OPT_ADAM;
    cr_expect_eq(caviar_hp_active(hp, beta1), is_adam, "trial %d", i);
    if (!is_adam) cr_expect_eq(hp->beta1, 0.9, "trial %d: an inactive beta1 keeps the default", i);
    sgd += !is_adam;
    adam += is_adam;
  }
  cr_expect(sgd > 0 && adam > 0, "sgd %d, adam %d", sgd, adam);
  caviar_sweep_result_free(&r);
}

Test(strategies, ranking_orders_by_the_metric_then_the_other_then_the_trial_with_nan_last) {
  /* Members at a rung, by accuracy: 3 and 0 tie on accuracy, 0 has the lower loss; 4 and 5 tie on
   * both, the lower trial id first; a NaN accuracy (2) is worse than any number. */
  const float loss[] = {0.30f, 0.50f, 0.10f, 0.40f, 0.60f, 0.60f};
  const float acc[] = {0.90f, 0.70f, NAN, 0.90f, 0.80f, 0.80f};
  const uint32_t trial[] = {10, 11, 12, 13, 15, 14};
  int order[6];
  caviar_rank(loss, acc, trial, 6, true, order);
  const int by_accuracy[] = {0, 3, 5, 4, 1, 2};
  for (int i = 0; i < 6; i++) cr_expect_eq(order[i], by_accuracy[i], "place %d: member %d", i, order[i]);
  /* By loss the NaN-accuracy member is first: the metric decides, the other metric only breaks ties. */
  caviar_rank(loss, acc, trial, 6, false, order);
  const int by_loss[] = {2, 0, 3, 1, 5, 4};
  for (int i = 0; i < 6; i++) cr_expect_eq(order[i], by_loss[i], "place %d: member %d", i, order[i]);
  /* Group and epochs come before the metric. */
  caviar_rank_key survived = caviar_rank_key_of(0.9f, 0.1f, true, 0, 3, 7);
  caviar_rank_key culled_later = caviar_rank_key_of(0.1f, 0.99f, true, 1, 9, 1);
  caviar_rank_key culled_early = caviar_rank_key_of(0.1f, 0.99f, true, 1, 1, 1);
  cr_expect_lt(caviar_rank_key_compare(&survived, &culled_later), 0);
  cr_expect_lt(caviar_rank_key_compare(&culled_later, &culled_early), 0);
  /* Many members: the same order as a sort by hand. */
  enum { N = 1000 };
  static float l[N], a[N];
  static uint32_t id[N];
  static int o[N];
  for (int i = 0; i < N; i++) l[i] = (float)((i * 7919) % 101), a[i] = (float)((i * 104729) % 37), id[i] = (uint32_t)i;
  caviar_rank(l, a, id, N, true, o);
  for (int i = 1; i < N; i++) {
    int p = o[i - 1], q = o[i];
    bool ordered = a[p] > a[q] || (a[p] == a[q] && (l[p] < l[q] || (l[p] == l[q] && id[p] < id[q])));
    cr_expect(ordered, "places %d and %d out of order", i - 1, i);
  }
}

/* method bayes: W&B's GP in tpe's place. The first population starts from sobol points; once two
 * results are in, each refilled slot gets the GP's proposal (the others training as its
 * fantasies); the same seed gives the same sweep. */
Test(strategies, bayes_proposes_each_refilled_slot_from_every_result_so_far) {
  char text[2048];
  snprintf(text, sizeof text,
           "{\"method\": \"bayes\", \"seed\": 8, \"trials\": 20, \"population\": 4, \"data\": {\"dir\": \"%s\"},"
           " \"model\": {\"batch_size\": 32, \"hidden\": 8},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1e-1},"
           "   \"dropout\": {\"min\": 0, \"max\": 0.5}},"
           " \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 2, \"eta\": 2}}",
           dir());
  caviar_sweep_result r, again;
  run_spec(text, &r, NULL, NULL);
  run_spec(text, &again, NULL, NULL);
  cr_assert_eq(r.n_trials, 20);
  caviar_trial drawn[20];
  startup_draws(text, 20, drawn);
  int proposed = 0;
  for (int i = 0; i < 20; i++) {
    bool same = r.trials[i].trial.hp.learning_rate == drawn[i].hp.learning_rate;
    if (i < 4) cr_expect(same, "trial %d started before any result", i);
    proposed += !same;
    cr_expect(memcmp(&r.trials[i].trial.hp, &again.trials[i].trial.hp, sizeof r.trials[i].trial.hp) == 0, "trial %d", i);
    cr_expect_eq(r.trials[i].val_acc, again.trials[i].val_acc, "trial %d", i);
  }
  cr_expect_eq(proposed, 16, "%d of 16 refilled trials were the GP's", proposed);
  caviar_sweep_result_free(&r);
  caviar_sweep_result_free(&again);
}

/* Whether trial `id` is in the first keep(n) of the n members ranked by caviar_rank: the rule the
 * rung record must answer without ranking. */
static bool kept_by_ranking(const float *loss, const float *acc, const uint32_t *id, int n, bool by_accuracy, int eta,
                            uint32_t trial, int *order) {
  caviar_rank(loss, acc, id, n, by_accuracy, order);
  for (int k = 0; k < caviar_rung_keep(n, eta); k++)
    if (id[order[k]] == trial) return true;
  return false;
}

Test(strategies, a_rung_record_keeps_exactly_the_top_that_ranking_everyone_at_each_arrival_would) {
  /* Results arrive in batches (members reaching the rung in the same epoch); after each batch every
   * member of it asks whether it is in the top keep(n) of all recorded so far. Metrics come from a
   * few values, so ties on the metric, on both metrics and NaNs are common; trial ids arrive out of
   * order. Checked against ranking everyone with caviar_rank, for both metrics and eta 2 to 5. */
  enum { N = 600 };
  static float loss[N], acc[N];
  static uint32_t id[N];
  static int order[N];
  uint64_t x = 12345;
  for (int eta = 2; eta <= 5; eta++) {
    for (int by_accuracy = 0; by_accuracy < 2; by_accuracy++) {
      caviar_rung_record rec = {0};
      caviar_error err;
      int n = 0, disagreements = 0, kept = 0;
      while (n < N) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        int batch = 1 + (int)((x >> 33) % 7), first = n;
        for (int b = 0; b < batch && n < N; b++, n++) {
          x = x * 6364136223846793005ULL + 1442695040888963407ULL;
          loss[n] = (x >> 40) % 11 == 0 ? NAN : (float)((x >> 20) % 9) / 8.0f;
          acc[n] = (x >> 50) % 13 == 0 ? NAN : (float)((x >> 8) % 5) / 4.0f;
          id[n] = (uint32_t)((n * 7919) % 10007);
          cr_assert_eq(caviar_rung_record_add(&rec, loss[n], acc[n], id[n], by_accuracy, eta, &err), CAVIAR_OK);
        }
        for (int k = first; k < n; k++) {
          bool want = kept_by_ranking(loss, acc, id, n, by_accuracy, eta, id[k], order);
          bool got = caviar_rung_record_keeps(&rec, loss[k], acc[k], id[k]);
          disagreements += want != got;
          kept += got;
        }
      }
      cr_expect_eq(disagreements, 0, "eta %d, %s: %d answers differ from ranking everyone", eta,
                   by_accuracy ? "val_acc" : "val_loss", disagreements);
      cr_expect_gt(kept, 0, "nobody was ever kept");
      cr_expect_eq(rec.n, N, "every result is recorded, in arrival order");
      for (int k = 0; k < N; k++) cr_expect_eq(rec.trial[k], id[k], "arrival %d", k);
      caviar_rung_record_free(&rec);
    }
  }
}
