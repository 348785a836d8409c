/* TPE, the sampler alone, on a cheap synthetic objective computed here: at the same budget it finds
 * a better point than random search in most seeds, sequentially and with a refilled population
 * (constant liar); it is reproducible; it fits the largest budget with enough results (BOHB). */
#include <criterion/criterion.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/qmc.h"
#include "caviar/tpe.h"
#include "spec/tpe_internal.h"
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

/* A TPE sampler over the spec's parameters (JSON members) told n random configs, each with loss 0
 * where good says so and 1 elsewhere. */
static caviar_tpe *tpe_told(const char *params, int n, bool (*good)(const caviar_hparams *), caviar_spec *spec) {
  char text[2048];
  snprintf(text, sizeof text, "{\"method\": \"tpe\", \"parameters\": {%s}}", params);
  spec_ok(text, spec);
  caviar_tpe *tpe;
  caviar_error err;
  caviar_tpe_options opt = CAVIAR_TPE_DEFAULT_OPTIONS;
  cr_assert_eq(caviar_tpe_new(&opt, 1, &tpe, &err), CAVIAR_OK);
  for (uint32_t id = 0; id < (uint32_t)n; id++) {
    caviar_hparams hp;
    caviar_sample_random(&spec->space, &spec->fixed, 1, id, &hp);
    caviar_tpe_observe(tpe, &hp, 1, good(&hp) ? 0 : 1, &err);
  }
  return tpe;
}

/* Of n proposals (ids 100, 101, ...), how many test says yes to. */
static int proposals_where(caviar_tpe *tpe, const caviar_spec *spec, int n, bool (*test)(const caviar_hparams *)) {
  int yes = 0;
  for (uint32_t id = 0; id < (uint32_t)n; id++) {
    caviar_hparams hp;
    cr_assert(caviar_tpe_propose(tpe, &spec->space, &spec->fixed, 100 + id, NULL, 0, &hp));
    yes += test(&hp);
  }
  return yes;
}

static bool uses_sgd(const caviar_hparams *hp) {
  return hp->optimizer == CAVIAR_OPT_SGD;
}

/* sgd, checking that beta1 is proposed with adam alone (else it keeps its default). */
static bool uses_sgd_without_beta1(const caviar_hparams *hp) {
  bool adam = hp->optimizer == CAVIAR_OPT_ADAM;
  cr_assert_eq(caviar_hp_active(hp, caviar_hp_find("beta1")), adam);
  if (!adam) cr_assert_eq(hp->beta1, 0.9);
  return !adam;
}

static bool plain_mlp(const caviar_hparams *hp) {
  /* and both rows mean something there */
  cr_assert(caviar_hp_active(hp, caviar_hp_find("model")) && caviar_hp_active(hp, caviar_hp_find("batchnorm")));
  return hp->model == CAVIAR_MODEL_MLP && hp->batchnorm == 0;
}

Test(tpe, inactive_parameters_are_neither_modelled_nor_proposed) {
  caviar_spec spec;
  /* sgd is better here, so the model should prefer it. */
  caviar_tpe *tpe = tpe_told("\"optimizer\": {\"values\": [\"sgd\", \"adam\"]},"
                             "\"beta1\": {\"min\": 0.5, \"max\": 0.99, \"when\": {\"optimizer\": \"adam\"}},"
                             "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1}",
                             40, uses_sgd, &spec);
  int sgd = proposals_where(tpe, &spec, 40, uses_sgd_without_beta1);
  cr_expect_gt(sgd, 28, "sgd proposed %d times of 40", sgd);
  caviar_tpe_free(tpe);
  caviar_spec_free(&spec);
}

Test(tpe, plain_mlps_count_in_the_model_and_batch_norm_choices) {
  /* A plain MLP (batch norm off) prints without model and batchnorm, yet both mean something there:
   * the model must learn that plain MLPs do best here. */
  caviar_spec spec;
  caviar_tpe *tpe = tpe_told("\"model\": {\"values\": [\"mlp\", \"cnn\"]}, \"batchnorm\": {\"values\": [\"off\", \"on\"]},"
                             "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1}",
                             60, plain_mlp, &spec);
  int plain = proposals_where(tpe, &spec, 40, plain_mlp);
  /* Each choice alone would give a quarter; the two learnt, well over half. */
  cr_expect_gt(plain, 24, "plain MLPs proposed %d times of 40", plain);
  caviar_tpe_free(tpe);
  caviar_spec_free(&spec);
}

typedef struct seen {
  caviar_hparams hp;
  double loss;
  int index;
} seen;

static int better_seen(const void *pa, const void *pb) {
  const seen *a = pa, *b = pb;
  if (a->loss != b->loss) return a->loss < b->loss ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

static int earlier_seen(const void *pa, const void *pb) {
  const seen *a = pa, *b = pb;
  return (a->index > b->index) - (a->index < b->index);
}

Test(tpe, a_bounded_history_proposes_what_tpe_fed_the_best_25_and_the_most_recent_others_would) {
  /* 1500 results at budget 1 (losses rounded, so ties are broken by age) and a few at budget 2 (too
   * few to be fitted on); history 300 reads the best 25 of all 1500 and the 275 most recent others.
   * The reference: a TPE with the whole history given exactly those 300, in the order they arrived
   * (its 300 also make a good group of 25). Both must propose the same, with and without pending. */
  enum { N = 1500, H = 300 };
  caviar_spec spec;
  load(&spec, 5);
  caviar_error err;
  caviar_tpe *bounded, *whole, *reference;
  caviar_tpe_options opt = CAVIAR_TPE_DEFAULT_OPTIONS;
  opt.history = H;
  cr_assert_eq(caviar_tpe_new(&opt, 5, &bounded, &err), CAVIAR_OK);
  opt.history = 0;
  cr_assert_eq(caviar_tpe_new(&opt, 5, &whole, &err), CAVIAR_OK);
  cr_assert_eq(caviar_tpe_new(&opt, 5, &reference, &err), CAVIAR_OK);
  static seen all[N];
  for (int i = 0; i < N; i++) {
    caviar_sample_random(&spec.space, &spec.fixed, 5, (uint32_t)i, &all[i].hp);
    all[i].loss = round(objective(&all[i].hp) * 10) / 10;
    all[i].index = i;
    caviar_tpe_observe(bounded, &all[i].hp, 1, all[i].loss, &err);
    caviar_tpe_observe(whole, &all[i].hp, 1, all[i].loss, &err);
    if (i % 300 == 0) {
      caviar_tpe_observe(bounded, &all[i].hp, 2, 0, &err);
      caviar_tpe_observe(whole, &all[i].hp, 2, 0, &err);
    }
  }
  static seen sorted[N], chosen[H];
  memcpy(sorted, all, sizeof all);
  qsort(sorted, N, sizeof *sorted, better_seen);
  int n = 0;
  for (int k = 0; k < 25; k++) chosen[n++] = sorted[k];
  const seen *last_good = &sorted[24];
  for (int i = N - 1; i >= 0 && n < H; i--)
    if (better_seen(&all[i], last_good) > 0) chosen[n++] = all[i];
  cr_assert_eq(n, H);
  qsort(chosen, H, sizeof *chosen, earlier_seen);
  for (int k = 0; k < H; k++) caviar_tpe_observe(reference, &chosen[k].hp, 1, chosen[k].loss, &err);
  caviar_hparams pending[4];
  for (int k = 0; k < 4; k++) caviar_sample_random(&spec.space, &spec.fixed, 5, 5000 + k, &pending[k]);
  int differs_from_whole = 0;
  for (uint32_t id = 0; id < 12; id++) {
    caviar_hparams a, b, c;
    int n_pending = id % 5;
    cr_assert(caviar_tpe_propose(bounded, &spec.space, &spec.fixed, 100 + id, pending, n_pending, &a));
    cr_assert(caviar_tpe_propose(reference, &spec.space, &spec.fixed, 100 + id, pending, n_pending, &b));
    cr_assert(caviar_tpe_propose(whole, &spec.space, &spec.fixed, 100 + id, pending, n_pending, &c));
    cr_expect_eq(memcmp(&a, &b, sizeof a), 0, "proposal %u differs from the reference's (lr %.17g vs %.17g)", id,
                 a.learning_rate, b.learning_rate);
    differs_from_whole += memcmp(&a, &c, sizeof a) != 0;
  }
  /* The bound does change what is read: some proposal comes out otherwise. */
  cr_expect_gt(differs_from_whole, 0, "the bounded history proposed exactly what the whole one did");
  caviar_tpe_free(bounded);
  caviar_tpe_free(whole);
  caviar_tpe_free(reference);
  caviar_spec_free(&spec);
}

Test(tpe, a_history_bound_above_the_results_changes_nothing) {
  caviar_spec spec;
  load(&spec, 8);
  caviar_error err;
  caviar_tpe *bounded, *whole;
  caviar_tpe_options opt = CAVIAR_TPE_DEFAULT_OPTIONS;
  cr_assert_eq(caviar_tpe_new(&opt, 8, &bounded, &err), CAVIAR_OK);
  opt.history = 0;
  cr_assert_eq(caviar_tpe_new(&opt, 8, &whole, &err), CAVIAR_OK);
  for (uint32_t id = 0; id < CAVIAR_TPE_DEFAULT_HISTORY; id++) {
    caviar_hparams hp;
    caviar_sample_random(&spec.space, &spec.fixed, 8, id, &hp);
    caviar_tpe_observe(bounded, &hp, 1 + id % 3, objective(&hp), &err);
    caviar_tpe_observe(whole, &hp, 1 + id % 3, objective(&hp), &err);
  }
  for (uint32_t id = 0; id < 10; id++) {
    caviar_hparams a, b;
    cr_assert(caviar_tpe_propose(bounded, &spec.space, &spec.fixed, 100 + id, NULL, 0, &a));
    cr_assert(caviar_tpe_propose(whole, &spec.space, &spec.fixed, 100 + id, NULL, 0, &b));
    cr_expect_eq(memcmp(&a, &b, sizeof a), 0, "proposal %u", id);
  }
  caviar_tpe_free(bounded);
  caviar_tpe_free(whole);
  caviar_spec_free(&spec);
}

static unsigned long long xorshift(unsigned long long *r) {
  *r ^= *r << 13;
  *r ^= *r >> 7;
  *r ^= *r << 17;
  return *r;
}

/* The log-sum-exp as the densities took it before it went a block at a time: the terms in order, a
 * term skipped when under the largest before it less 38, or when its exp underflows. */
static double log_sum_exp_term_by_term(const double *terms, int n) {
  double m = -INFINITY;
  for (int i = 0; i < n; i++)
    if (terms[i] > m) m = terms[i];
  if (!isfinite(m)) return -INFINITY;
  double before = -746.0 + 38.0, s = 0;
  for (int i = 0; i < n; i++) {
    double d = terms[i] - m, lost = before - 38.0 > -746.0 ? before - 38.0 : -746.0;
    if (!(d < lost)) s += exp(terms[i] - m);
    before = d > before ? d : before;
  }
  return m + log(s);
}

Test(tpe, a_density_sums_the_same_terms_as_the_rule_taken_term_by_term_bit_for_bit) {
  /* Terms of every shape a mixture makes: spread, clustered, far below the largest (underflowing),
   * on a grid of halves so that many fall exactly on -38 from a running maximum or from the largest,
   * -inf among them, and the largest late, early or repeated; lengths across the block size. */
  enum { CASES = 60000, MAX_N = 300 };
  static double terms[MAX_N], copy[MAX_N];
  static int summed[MAX_N];
  unsigned long long r = 88172645463325252ull;
  int differ = 0, long_double_off = 0;
  for (int c = 0; c < CASES; c++) {
    int n = 1 + (int)(xorshift(&r) % (c % 3 == 0 ? 20 : MAX_N));
    int shape = (int)(xorshift(&r) % 5);
    double top = (double)(xorshift(&r) % 2000) / 10 - 100;
    for (int i = 0; i < n; i++) {
      double u = (double)(xorshift(&r) >> 11) * 0x1p-53;
      switch (shape) {
        case 0: terms[i] = top - 60 * u; break;
        case 1: terms[i] = top - 900 * u * u; break;
        case 2: terms[i] = top - 0.5 * (double)(xorshift(&r) % 1600); break;
        case 3: terms[i] = xorshift(&r) % 7 == 0 ? -INFINITY : top - 40 * u - (i < n / 2 ? 30 : 0); break;
        default: terms[i] = top - 0.5 * (double)(xorshift(&r) % 100) - (xorshift(&r) % 4 == 0 ? 700 : 0); break;
      }
    }
    if (xorshift(&r) % 4 == 0) terms[xorshift(&r) % (unsigned)n] = top; /* the largest, anywhere */
    memcpy(copy, terms, (size_t)n * sizeof *terms);
    double want = log_sum_exp_term_by_term(copy, n), got = caviar_tpe_log_sum_exp(terms, n, summed);
    differ += memcmp(&want, &got, sizeof got) != 0;
    /* And against the sum of them all in long double. */
    long double m = -INFINITY, s = 0;
    for (int i = 0; i < n; i++)
      if (copy[i] > m) m = copy[i];
    for (int i = 0; isfinite((double)m) && i < n; i++) s += expl((long double)copy[i] - m);
    double exact = isfinite((double)m) ? (double)(m + logl(s)) : -INFINITY;
    long_double_off += !(got == exact || fabs(got - exact) <= 1e-13 * fmax(1, fabs(exact)));
  }
  cr_expect_eq(differ, 0, "%d of %d sums differ from the term-by-term rule's", differ, CASES);
  cr_expect_eq(long_double_off, 0, "%d of %d sums are off the long double sum", long_double_off, CASES);
}

Test(tpe, bandwidths_sort_points_as_a_stable_comparison_sort_does) {
  /* Negative and positive points, both zeros, repeats, tiny and huge ones: the order of a stable
   * insertion sort (equal values, -0 and +0 among them, keep their places). */
  enum { MAX_N = 700 };
  static double x[MAX_N];
  static int order[MAX_N], want[MAX_N];
  unsigned long long r = 0x9E3779B97F4A7C15ull;
  int wrong = 0;
  for (int c = 0; c < 3000; c++) {
    int n = 1 + (int)(xorshift(&r) % MAX_N);
    for (int i = 0; i < n; i++) {
      switch (xorshift(&r) % 6) {
        case 0: x[i] = xorshift(&r) % 2 ? 0.0 : -0.0; break;
        case 1: x[i] = (double)(int)(xorshift(&r) % 9) - 4; break;
        case 2: x[i] = ldexp((double)(xorshift(&r) >> 11), (int)(xorshift(&r) % 200) - 150) * (xorshift(&r) % 2 ? 1 : -1); break;
        case 3: x[i] = i > 0 ? x[xorshift(&r) % (unsigned)i] : 1; break;
        default: x[i] = (double)(xorshift(&r) >> 11) * 0x1p-53 * 4 - 2; break;
      }
    }
    for (int i = 0; i < n; i++) {
      int j = i;
      for (; j > 0 && x[want[j - 1]] > x[i]; j--) want[j] = want[j - 1];
      want[j] = i;
    }
    caviar_tpe_sort_order(x, n, order);
    wrong += memcmp(order, want, (size_t)n * sizeof *order) != 0;
  }
  cr_expect_eq(wrong, 0, "%d of 3000 orders differ from the stable sort's", wrong);
}

/* spec's space with learning_rate's range [lo, hi]. */
static void load_box(caviar_spec *spec, double lo, double hi) {
  char text[2048];
  snprintf(text, sizeof text,
           "{\"method\": \"tpe\", \"seed\": 3, \"parameters\": {"
           "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": %.17g, \"max\": %.17g},"
           "\"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.5, \"max\": 0.999},"
           "\"layers\": {\"min\": 1, \"max\": 4}, \"dropout\": {\"min\": 0, \"max\": 0.9}}}",
           lo, hi);
  spec_ok(text, spec);
}

Test(tpe, a_proposal_is_the_same_from_a_sampler_that_proposed_before_as_from_a_fresh_one) {
  /* A sampler keeps each kernel's mass between proposals; what it proposes must not depend on that:
   * a sampler that has proposed many times, in a wider box too (a coarse-to-fine zoom narrows it),
   * proposes what a fresh one fed the same results does, with and without pending trials. */
  caviar_spec wide, narrow;
  load_box(&wide, 1e-5, 1);
  load_box(&narrow, 1e-4, 1e-3);
  caviar_error err;
  caviar_tpe_options opt = CAVIAR_TPE_DEFAULT_OPTIONS;
  caviar_tpe *warm;
  cr_assert_eq(caviar_tpe_new(&opt, 3, &warm, &err), CAVIAR_OK);
  enum { N = 160 };
  static caviar_hparams seen_hp[N];
  static double loss[N];
  caviar_hparams pending[6];
  for (int k = 0; k < 6; k++) caviar_sample_random(&narrow.space, &narrow.fixed, 3, 9000 + k, &pending[k]);
  int compared = 0;
  for (int i = 0; i < N; i++) {
    caviar_sample_random(&wide.space, &wide.fixed, 3, (uint32_t)i, &seen_hp[i]);
    loss[i] = objective(&seen_hp[i]);
    caviar_tpe_observe(warm, &seen_hp[i], 1, loss[i], &err);
    if (i < 20 || i % 7 != 0) {
      caviar_hparams ignored;
      caviar_tpe_propose(warm, i % 3 ? &wide.space : &narrow.space, &wide.fixed, 50000 + (uint32_t)i, pending, i % 7,
                         &ignored);
      continue;
    }
    caviar_tpe *fresh;
    cr_assert_eq(caviar_tpe_new(&opt, 3, &fresh, &err), CAVIAR_OK);
    for (int k = 0; k <= i; k++) caviar_tpe_observe(fresh, &seen_hp[k], 1, loss[k], &err);
    for (int box = 0; box < 2; box++) {
      const caviar_spec *s = box ? &narrow : &wide;
      caviar_hparams a, b;
      cr_assert(caviar_tpe_propose(warm, &s->space, &s->fixed, (uint32_t)i, pending, i % 7, &a));
      cr_assert(caviar_tpe_propose(fresh, &s->space, &s->fixed, (uint32_t)i, pending, i % 7, &b));
      cr_expect_eq(memcmp(&a, &b, sizeof a), 0, "after %d results, box %d: lr %.17g vs a fresh sampler's %.17g", i + 1,
                   box, a.learning_rate, b.learning_rate);
      compared++;
    }
    caviar_tpe_free(fresh);
  }
  cr_expect_gt(compared, 10);
  caviar_tpe_free(warm);
  caviar_spec_free(&wide);
  caviar_spec_free(&narrow);
}

Test(tpe, a_kernels_memo_answers_only_for_the_same_kernel_on_the_same_interval) {
  /* A memo of one place: every kernel meets the one before in it. Its answers must be what a memo
   * never used gives for that kernel on that interval, whichever kernel or interval came before. */
  enum { CASES = 4000 };
  void *one = calloc(1, caviar_tpe_memo_bytes(1)), *fresh = malloc(caviar_tpe_memo_bytes(1));
  cr_assert(one && fresh);
  const double mus[] = {0, 0.5, -1, 2}, sigmas[] = {0.1, 0.5, 1}, los[] = {-2, -1, 0}, his[] = {1, 2, 3};
  unsigned long long r = 7;
  int wrong = 0;
  for (int c = 0; c < CASES; c++) {
    double mu = mus[xorshift(&r) % 4], sigma = sigmas[xorshift(&r) % 3], lo = los[xorshift(&r) % 3],
           hi = his[xorshift(&r) % 3];
    memset(fresh, 0, caviar_tpe_memo_bytes(1));
    double want = caviar_tpe_memo_log_z(fresh, 1, mu, sigma, lo, hi), got = caviar_tpe_memo_log_z(one, 1, mu, sigma, lo, hi);
    wrong += memcmp(&want, &got, sizeof got) != 0;
  }
  cr_expect_eq(wrong, 0, "%d of %d answers differ from a fresh computation's", wrong, CASES);
  free(one);
  free(fresh);
}

Test(tpe, a_kernel_nine_sigmas_inside_both_ends_has_a_mass_of_exactly_one) {
  /* What a fit's shortcut rests on: for such a kernel it sets z = 1 and log z = 0 without the two
   * normal CDFs. GSL's own difference must round to exactly 1 there, at the edge of nine sigmas and
   * far beyond it, for axes and kernels of every size. */
  unsigned long long r = 11;
  int wrong = 0, tried = 0;
  for (int c = 0; c < 200000; c++) {
    double lo = -1e3 + 2e3 * (double)(xorshift(&r) % 1000000) / 1e6, span = pow(10, -3 + 6 * (double)(xorshift(&r) % 1000) / 1e3);
    double hi = lo + span, sigma = span / (18 + (double)(xorshift(&r) % 100000) / 10.0);
    double mu = lo + span * (double)(xorshift(&r) % 1000001) / 1e6;
    if (c % 4 == 0) mu = lo + 9 * sigma; /* at the edge */
    if (c % 4 == 1) mu = hi - 9 * sigma;
    double up = (hi - mu) / sigma, down = (lo - mu) / sigma;
    if (!(up >= 9.0 && down <= -9.0)) continue;
    tried++;
    double z = gsl_cdf_ugaussian_P(up) - gsl_cdf_ugaussian_P(down);
    wrong += z != 1.0 || log(z) != 0.0;
  }
  cr_assert_gt(tried, 50000);
  cr_expect_eq(wrong, 0, "%d of %d kernels nine sigmas inside have a mass other than 1", wrong, tried);
}

Test(tpe, a_quick_density_is_within_1e_10_of_the_exact_one) {
  /* Mixtures of every shape: kernels inside and far outside the interval (their mass on it tiny, so
   * their terms' logarithms large), narrow and wide, weights from 1e-9 up, 1 to 3,000 of them; x
   * anywhere on the interval, its ends too. The quick scores rest on a gap under 1e-11; this wants
   * 1e-10, and the proposals' window is 2e-9. */
  enum { MAX_N = 3000 };
  static double mu[MAX_N], sigma[MAX_N], w[MAX_N];
  unsigned long long r = 12345;
  double worst = 0;
  int cases = 0;
  for (int c = 0; c < 3000; c++) {
    int n = c % 10 == 0 ? 1 + (int)(xorshift(&r) % MAX_N) : 1 + (int)(xorshift(&r) % 500);
    double lo = -5 + (double)(xorshift(&r) % 100) / 10, span = c % 7 == 0 ? 1e-6 : 0.1 + (double)(xorshift(&r) % 100) / 10;
    double hi = lo + span, total = 0;
    for (int i = 0; i < n; i++) {
      double u = (double)(xorshift(&r) >> 11) * 0x1p-53;
      mu[i] = xorshift(&r) % 5 == 0 ? lo - span * (1 + 30 * u) : lo + span * u;
      sigma[i] = span * (xorshift(&r) % 3 == 0 ? 1 : 0.01 + 0.3 * (double)(xorshift(&r) >> 11) * 0x1p-53);
      w[i] = xorshift(&r) % 9 == 0 ? 1e-9 : 1 + (double)(xorshift(&r) % 100);
      total += w[i];
    }
    for (int i = 0; i < n; i++) w[i] /= total;
    for (int k = 0; k < 4; k++) {
      double x = k == 0 ? lo : k == 1 ? hi : lo + span * (double)(xorshift(&r) >> 11) * 0x1p-53;
      double gap = caviar_tpe_quick_gap(mu, sigma, w, n, lo, hi, x);
      cr_assert(gap == gap, "case %d: NaN", c);
      worst = gap > worst ? gap : worst;
      cases++;
    }
  }
  cr_log_info("the largest gap of %d densities: %g", cases, worst);
  cr_expect_leq(worst, 1e-10, "the largest gap of %d densities is %g", cases, worst);
}

Test(tpe, a_float_density_is_within_its_error_bound_of_the_exact_one) {
  /* Mixtures as a bad group's: a prior kernel as wide as the interval at its middle, 63 to 3,000
   * points' kernels on it (clustered or spread, sigma from the least clip up, weights of Optuna's
   * ramp or 1e-9), and some with no wide kernel, whose density may fall too low for floats (they
   * must then say so: NAN and an infinite bound). x anywhere on the interval, its ends too. The float
   * scores rest on each gap being under its bound; a bound over 1e-3 would leave most candidates to
   * the quick scores. */
  enum { MAX_N = 3001 };
  static double mu[MAX_N], sigma[MAX_N], w[MAX_N];
  unsigned long long r = 777;
  double worst = 0, widest = 0;
  int applied = 0, declined = 0;
  for (int c = 0; c < 2000; c++) {
    int n = 64 + (int)(xorshift(&r) % (c % 10 == 0 ? MAX_N - 64 : 500));
    double lo = -8 + (double)(xorshift(&r) % 1000) / 100, span = c % 9 == 0 ? 1e-4 : 0.05 + (double)(xorshift(&r) % 1000) / 50;
    double hi = lo + span, total = 0, centre = lo + span * (double)(xorshift(&r) >> 11) * 0x1p-53;
    double spread = c % 3 == 0 ? span : span * (0.01 + 0.2 * (double)(xorshift(&r) >> 11) * 0x1p-53);
    bool prior = c % 5 != 4; /* without one, the points' kernels narrow: the density far from them falls out of floats */
    for (int i = 0; i < n; i++) {
      double u = (double)(xorshift(&r) >> 11) * 0x1p-53;
      mu[i] = fmin(hi, fmax(lo, centre + spread * (u - 0.5)));
      sigma[i] = span * (!prior ? 0.0005 : xorshift(&r) % 4 == 0 ? 0.01 + 0.5 * (double)(xorshift(&r) >> 11) * 0x1p-53 : 0.01);
      w[i] = xorshift(&r) % 50 == 0 ? 1e-9 : i < n - 25 ? 1.0 / n + (1 - 1.0 / n) * i / (n - 25) : 1;
    }
    if (prior) {
      mu[n - 1] = lo + span / 2;
      sigma[n - 1] = span;
      w[n - 1] = 1;
    }
    for (int i = 0; i < n; i++) total += w[i];
    for (int i = 0; i < n; i++) w[i] /= total;
    for (int k = 0; k < 4; k++) {
      double x = k == 0 ? lo : k == 1 ? hi : lo + span * (double)(xorshift(&r) >> 11) * 0x1p-53;
      double bound, gap = caviar_tpe_float_gap(mu, sigma, w, n, lo, hi, x, &bound);
      if (isinf(bound)) {
        cr_assert(isnan(gap), "case %d: a float density without a bound", c);
        declined++;
        continue;
      }
      cr_assert(gap == gap, "case %d: NaN under a bound of %g", c, bound);
      cr_expect_leq(gap, bound, "case %d (%d kernels): the float density is %g from the exact one, over its bound %g", c,
                    n, gap, bound);
      worst = gap / bound > worst ? gap / bound : worst;
      if (prior) widest = bound > widest ? bound : widest;
      applied++;
    }
  }
  cr_log_info("%d float densities, %d declined: the largest gap is %g of its bound; the widest bound with a prior %g",
              applied, declined, worst, widest);
  cr_expect_gt(applied, 5000);
  cr_expect_gt(declined, 20);
  cr_expect_leq(widest, 1e-3);
}

Test(tpe, proposals_with_float_and_quick_scores_are_the_proposals_of_exact_scores) {
  /* The same samplers, results and pending trials, float and quick scores on and off: every proposal
   * the same bits (the space has three continuous parameters, an integer, a list and a quantized
   * one; the bad groups hold 200 to 300 kernels, so the float scores apply). Five settings:
   *  - the windows as they are;
   *  - quick scores made wrong by up to 0.3 with a window of 0.7, no float scores (the quick pick is
   *    then often not the best: the exact pass must find it);
   *  - windows wider than any score's spread (every candidate scored quickly, then exactly);
   *  - float scores made wrong by up to 0.3 (their window, twice their bound and the noise, must
   *    keep the best among the candidates scored quickly);
   *  - no float scores (quick ones alone). */
  int proposals = 0;
  const double quick_windows[] = {caviar_tpe_quick_window, 0.7, 1e300, caviar_tpe_quick_window, caviar_tpe_quick_window};
  const double quick_noises[] = {0, 0.3, 0, 0, 0}, float_windows[] = {-1, -1, 1e300, -1, -1};
  const double float_noises[] = {0, 0, 0, 0.3, 0};
  const bool floats[] = {true, false, true, true, false}; /* the quick noise's without floats: all meet it */
  int quick_wrong = 0, float_wrong = 0;
  for (unsigned long long seed = 21; seed < 26; seed++) {
    int at = (int)(seed - 21);
    caviar_tpe_quick_window = quick_windows[at];
    caviar_tpe_quick_noise = quick_noises[at];
    caviar_tpe_float_window = float_windows[at];
    caviar_tpe_float_noise = float_noises[at];
    caviar_tpe_float_scores = floats[at];
    caviar_spec spec;
    load(&spec, seed);
    caviar_error err;
    caviar_tpe_options opt = CAVIAR_TPE_DEFAULT_OPTIONS;
    caviar_tpe *t;
    cr_assert_eq(caviar_tpe_new(&opt, seed, &t, &err), CAVIAR_OK);
    static caviar_hparams pending[80];
    for (int k = 0; k < 80; k++) caviar_sample_random(&spec.space, &spec.fixed, seed, 70000 + (uint32_t)k, &pending[k]);
    for (uint32_t i = 0; i < 400; i++) {
      caviar_hparams hp;
      caviar_sample_random(&spec.space, &spec.fixed, seed, i, &hp);
      /* Rounded losses: many ties, so many equal good groups. */
      caviar_tpe_observe(t, &hp, 1, round(objective(&hp) * 4) / 4, &err);
      if (i < 20 || i % 9 != 0) continue;
      caviar_hparams quick, exact;
      int n_pending = (int)(i % 81);
      caviar_tpe_quick_scores = true;
      cr_assert(caviar_tpe_propose(t, &spec.space, &spec.fixed, 900 + i, pending, n_pending, &quick));
      caviar_tpe_quick_scores = false;
      cr_assert(caviar_tpe_propose(t, &spec.space, &spec.fixed, 900 + i, pending, n_pending, &exact));
      caviar_tpe_quick_scores = true;
      cr_expect_eq(memcmp(&quick, &exact, sizeof quick), 0, "seed %llu, after %u results: lr %.17g vs exact scores' %.17g",
                   seed, i + 1, quick.learning_rate, exact.learning_rate);
      proposals++;
      /* That the noise does put the first pick elsewhere: without the pass after it (a window of 0). */
      caviar_hparams alone;
      if (caviar_tpe_quick_noise > 0) {
        caviar_tpe_quick_window = 0;
        cr_assert(caviar_tpe_propose(t, &spec.space, &spec.fixed, 900 + i, pending, n_pending, &alone));
        caviar_tpe_quick_window = quick_windows[at];
        quick_wrong += memcmp(&alone, &exact, sizeof alone) != 0;
      }
      if (caviar_tpe_float_noise > 0) {
        caviar_tpe_float_window = 0;
        cr_assert(caviar_tpe_propose(t, &spec.space, &spec.fixed, 900 + i, pending, n_pending, &alone));
        caviar_tpe_float_window = float_windows[at];
        float_wrong += memcmp(&alone, &exact, sizeof alone) != 0;
      }
    }
    caviar_tpe_free(t);
    caviar_spec_free(&spec);
  }
  cr_expect_gt(proposals, 150);
  cr_expect_gt(quick_wrong, 10, "the noisy quick scores alone picked the exact pick in all but %d proposals", quick_wrong);
  cr_expect_gt(float_wrong, 10, "the noisy float scores alone picked the exact pick in all but %d proposals", float_wrong);
}

Test(tpe, a_fills_proposals_that_keep_their_estimators_are_fresh_proposals) {
  /* A refilled sweep's fills: each proposal's pending trials are the one before's and that proposal.
   * One sampler keeps its estimators from proposal to proposal (the default), another is made to
   * fit from scratch each time: every proposal the same bits. Between fills, results arrive; in one
   * fill a pending trial changes (a trial replaced in place), in another the box narrows (coarse
   * to fine), in a third one proposal is over no parameters: none may reuse what was kept (nor the
   * proposal after the last), and the counter says how many proposals did. */
  caviar_spec spec;
  load(&spec, 41);
  caviar_error err;
  caviar_tpe_options opt = CAVIAR_TPE_DEFAULT_OPTIONS;
  caviar_tpe *kept, *fresh;
  cr_assert_eq(caviar_tpe_new(&opt, 41, &kept, &err), CAVIAR_OK);
  cr_assert_eq(caviar_tpe_new(&opt, 41, &fresh, &err), CAVIAR_OK);
  static caviar_hparams pending[400];
  int proposals = 0, expected_reuse = 0;
  uint32_t next = 0;
  long before = caviar_tpe_fill_reused;
  for (int fill = 0; fill < 6; fill++) {
    for (int k = 0; k < 60; k++, next++) { /* results since the last fill */
      caviar_hparams hp;
      caviar_sample_random(&spec.space, &spec.fixed, 41, next, &hp);
      double loss = round(objective(&hp) * 8) / 8;
      cr_assert_eq(caviar_tpe_observe(kept, &hp, 1, loss, &err), CAVIAR_OK);
      cr_assert_eq(caviar_tpe_observe(fresh, &hp, 1, loss, &err), CAVIAR_OK);
    }
    int n_pending = 0;
    for (int k = 0; k < 100 + 20 * fill; k++)
      caviar_sample_random(&spec.space, &spec.fixed, 41, 50000 + 1000 * (uint32_t)fill + (uint32_t)k, &pending[n_pending++]);
    caviar_space *box = &spec.space;
    double saved_hi = box->params[0].t_hi;
    for (int j = 0; j < 25; j++) {
      if (fill == 3 && j == 10) pending[5].dropout = 0.5 * pending[5].dropout; /* in place: no reuse */
      if (fill == 4 && j == 10) box->params[0].t_hi = saved_hi - 0.5; /* the box narrows: no reuse */
      /* A space of no parameters in the middle of a fill: it fits nothing, so the next may not reuse. */
      caviar_space none = {spec.space.params, 0}, *over = fill == 5 && j == 10 ? &none : box;
      caviar_hparams a, b;
      caviar_tpe_fill_reuse = true;
      cr_assert(caviar_tpe_propose(kept, over, &spec.fixed, 7000 + (uint32_t)proposals, pending, n_pending, &a));
      caviar_tpe_fill_reuse = false;
      cr_assert(caviar_tpe_propose(fresh, over, &spec.fixed, 7000 + (uint32_t)proposals, pending, n_pending, &b));
      caviar_tpe_fill_reuse = true;
      cr_expect_eq(memcmp(&a, &b, sizeof a), 0, "fill %d, proposal %d: lr %.17g, dropout %.17g against fresh %.17g, %.17g",
                   fill, j, a.learning_rate, a.dropout, b.learning_rate, b.dropout);
      expected_reuse += j > 0 && !(fill == 3 && j == 10) && !(fill == 4 && j == 10) && !(fill == 5 && (j == 10 || j == 11));
      pending[n_pending++] = a;
      proposals++;
    }
    box->params[0].t_hi = saved_hi;
  }
  cr_expect_eq(caviar_tpe_fill_reused - before, expected_reuse, "%ld proposals kept their estimators, not %d",
               caviar_tpe_fill_reused - before, expected_reuse);
  caviar_tpe_free(kept);
  caviar_tpe_free(fresh);
  caviar_spec_free(&spec);
}

Test(tpe, a_bad_group_grown_one_point_at_a_time_is_its_fresh_fit_bit_for_bit) {
  /* A fill's proposals grow each bad group by one point (estimator_extend: only the sigmas beside the
   * new point taken again, the prior moved up, the arrays grown when full); at every step the
   * estimator must hold the bits of a fit to the same points from scratch. The sequences meet what
   * changes the sigmas' rule: the least sigma while there are under 99 points, the floats from 64
   * kernels on, runs of equal values (a grid of seven, the axis's ends, -0 and +0), new points at
   * either end, a first point whose sigma is the prior's (the axis's width), configs without the
   * parameter (NAN: no new point), and integer and q_ axes (cells of 1 and of 16, the points on
   * their values). */
  enum { N = 700 };
  static double x[N];
  struct {
    int n, start, kind;
    double lo, hi, step; /* step > 0: an integer or q_ axis's cells */
  } runs[] = {{300, 0, 0, 0, 1, 0},      {260, 5, 1, 0, 1, 0},   {220, 50, 2, -1, 1, 0},
              {240, 1, 3, 0, 1, 0},      {N, 400, 4, -3, 2, 0},  {180, 30, 5, 0, 1, 0},
              {150, 120, 1, -0.5, 0.5, 0}, {60, 0, 6, 0, 1, 0},  {300, 0, 1, 0.5, 7.5, 1},
              {400, 20, 3, 8, 264, 16},  {200, 0, 6, 0.5, 4.5, 1}};
  for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
    double lo = runs[r].lo, hi = runs[r].hi, w = hi - lo;
    uint64_t state = 0x9E3779B97F4A7C15u * (r + 1);
    for (int i = 0; i < runs[r].n; i++) {
      state = state * 6364136223846793005u + 1442695040888963407u;
      double u = (double)(state >> 11) * 0x1p-53;
      switch (runs[r].kind) {
        case 0: x[i] = lo + w * u; break;                                /* spread out */
        case 1: x[i] = lo + w * floor(u * 7) / 6; break;                 /* seven values, the ends among them */
        case 2: x[i] = u < 0.2 ? (i % 2 ? -0.0 : 0.0) : lo + w * u; break; /* -0 and +0 */
        case 3: x[i] = u < 0.15 ? NAN : lo + w * (0.4 + 0.2 * u); break; /* no point, and crowded */
        case 4: x[i] = lo + w * (0.3 + 0.05 * u * u); break;             /* crowded: floats */
        case 6: x[i] = i ? lo + w * u : lo; break; /* the first alone at an end: the widest sigma, the prior's */
        default: x[i] = i % 2 ? lo + w * u * 0.01 : hi - w * u * 0.01;    /* new points at either end */
      }
    }
    if (runs[r].step > 0) /* on the cells' values */
      for (int i = 0; i < runs[r].n; i++)
        if (!isnan(x[i])) x[i] = fmin(lo + runs[r].step * (0.5 + floor((x[i] - lo) / runs[r].step)), hi - 0.5 * runs[r].step);
    long bad = caviar_tpe_extend_mismatches(x, runs[r].n, runs[r].start, lo, hi, runs[r].step);
    cr_expect_eq(bad, 0, "sequence %zu: %ld of %d grown estimators differ from their fresh fits", r, bad,
                 runs[r].n - runs[r].start);
  }
}

Test(tpe, the_float_densities_exp2_is_within_1e_6_of_exp2_at_every_float_of_its_range) {
  /* The float density's error bound (float_parts) takes 2^t within 1e-6 for every t in [-124, 0];
   * the exp2 is checked at each of the 1.1e9 floats there, whatever the machine makes of its
   * multiply-adds. */
  double worst = caviar_tpe_quick_exp2f_error(-124.0f, -0.0f);
  cr_expect_lt(worst, 1e-6, "quick_exp2f is %.3g from exp2 somewhere in [-124, 0]", worst);
  cr_expect_gt(worst, 1e-9, "%.3g: not the float polynomial measured", worst); /* it is no exact exp */
}

Test(tpe, an_integer_or_list_density_with_its_kept_masses_is_the_rule_taken_kernel_by_kernel_bit_for_bit) {
  /* A cell's mass under each kernel is kept by the kernel's (mu, sigma), and a list row's numbers'
   * logarithms by the number: against the rule a kernel at a time, on integer and q_ grids where
   * kernels repeat (a few values, a dozen sigmas: round numbers whose low bits are all zero, which a
   * hash must still tell apart, and more pairs than the memo has places), mixed with spread ones,
   * bit for bit. */
  enum { CASES = 3000, MAX_N = 500 };
  static double mu[MAX_N], sigma[MAX_N], w[MAX_N];
  static int own[MAX_N];
  unsigned long long r = 0x2545F4914F6CDD1Dull;
  int differ = 0, lists_differ = 0;
  for (int c = 0; c < CASES; c++) {
    int n = 1 + (int)(xorshift(&r) % MAX_N), kind = c % 3;
    double step = kind == 0 ? 1 : kind == 1 ? 16 : 0.25, cells = (double)(2 + xorshift(&r) % 14);
    double lo = kind == 1 ? 8 : 0.5 * step, hi = lo + cells * step, total = 0;
    for (int i = 0; i < n; i++) {
      double u = (double)(xorshift(&r) >> 11) * 0x1p-53;
      bool spread = xorshift(&r) % 8 == 0;
      mu[i] = spread ? lo + (hi - lo) * u : lo + step * (0.5 + (double)(xorshift(&r) % (unsigned long long)cells));
      /* a third of the grid's kernels with sigmas of their own: more (mu, sigma) than places */
      sigma[i] = spread || xorshift(&r) % 3 == 0 ? step * (0.05 + 3 * u) : step * (double)(1 + xorshift(&r) % 12) / 4;
      w[i] = 0.5 + u;
      total += w[i];
    }
    for (int i = 0; i < n; i++) w[i] /= total;
    double x = lo + step * (0.5 + (double)(xorshift(&r) % (unsigned long long)cells)), plain;
    double got = caviar_tpe_cell_log_pdf(mu, sigma, w, n, lo, hi, step, x, &plain);
    differ += memcmp(&got, &plain, sizeof got) != 0 || !isfinite(got);
    int values = 2 + (int)(xorshift(&r) % 9);
    for (int i = 0; i < n; i++) own[i] = (int)(xorshift(&r) % (unsigned long long)values);
    int at = (int)(xorshift(&r) % (unsigned long long)values);
    got = caviar_tpe_list_log_pdf(own, n, values, c % 2 ? 1.0 : 0.3, at, &plain);
    lists_differ += memcmp(&got, &plain, sizeof got) != 0 || !isfinite(got);
  }
  cr_expect_eq(differ, 0, "%d of %d cell densities differ from the rule's", differ, CASES);
  cr_expect_eq(lists_differ, 0, "%d of %d list densities differ from the rule's", lists_differ, CASES);
}

Test(tpe, scoring_each_value_once_proposes_what_scoring_every_candidate_does) {
  /* An integer, q_ or list parameter's candidates repeat values (layers has four), so each value is
   * scored once and its candidates share the score; the picks (the first of the highest) must be
   * those of scoring all 24, over this file's space of every kind, with pending trials. */
  caviar_spec spec;
  load(&spec, 17);
  caviar_error err;
  caviar_tpe_options opt = CAVIAR_TPE_DEFAULT_OPTIONS;
  caviar_tpe *t;
  cr_assert_eq(caviar_tpe_new(&opt, 17, &t, &err), CAVIAR_OK);
  static caviar_hparams pending[64];
  int differ = 0, proposals = 0;
  for (uint32_t k = 0; k < 400; k++) {
    caviar_hparams hp;
    caviar_sample_random(&spec.space, &spec.fixed, 17, k, &hp);
    cr_assert_eq(caviar_tpe_observe(t, &hp, 1, round(objective(&hp) * 4) / 4, &err), CAVIAR_OK);
    if (k < 40 || k % 4) continue;
    int n_pending = (int)(k % 64);
    for (int j = 0; j < n_pending; j++) caviar_sample_random(&spec.space, &spec.fixed, 17, 90000 + k * 64 + (uint32_t)j, &pending[j]);
    caviar_hparams once, all;
    caviar_tpe_alike_scores = true;
    cr_assert(caviar_tpe_propose(t, &spec.space, &spec.fixed, 5000 + k, pending, n_pending, &once));
    caviar_tpe_alike_scores = false;
    cr_assert(caviar_tpe_propose(t, &spec.space, &spec.fixed, 5000 + k, pending, n_pending, &all));
    caviar_tpe_alike_scores = true;
    differ += memcmp(&once, &all, sizeof once) != 0;
    proposals++;
  }
  cr_expect_gt(proposals, 80);
  cr_expect_eq(differ, 0, "%d of %d proposals differ when each value is scored once", differ, proposals);
  caviar_tpe_free(t);
  caviar_spec_free(&spec);
}

Test(tpe, a_list_value_of_probability_0_with_no_bad_point_is_scored_without_undefined_arithmetic) {
  /* activation only under adam, one of its values of probability 0; every bad result is sgd, so the
   * bad group has no activation point and that value's bad density is the prior's alone: log 0. Its
   * quick score must not take exp of -inf - -inf (a NaN into an integer: the ASan/UBSan build stops
   * there), and the proposals are the exact scores' (the review that found it, thirteenth session). */
  const char *text =
      "{\"method\": \"tpe\", \"parameters\": {\"optimizer\": {\"values\": [\"sgd\", \"adam\"]},"
      "\"activation\": {\"distribution\": \"categorical_w_probabilities\", \"values\": [\"relu\", \"tanh\", \"sigmoid\"],"
      " \"probabilities\": [0.5, 0.0, 0.5], \"when\": {\"optimizer\": \"adam\"}},"
      "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1}}}";
  caviar_spec spec;
  spec_ok(text, &spec);
  caviar_error err;
  caviar_tpe_options opt = CAVIAR_TPE_DEFAULT_OPTIONS;
  caviar_tpe *t;
  cr_assert_eq(caviar_tpe_new(&opt, 1, &t, &err), CAVIAR_OK);
  int adam = 0, sgd = 0;
  for (uint32_t id = 0; adam + sgd < 20 && id < 10000; id++) {
    caviar_hparams hp;
    caviar_sample_random(&spec.space, &spec.fixed, 1, id, &hp);
    bool is_adam = hp.optimizer == CAVIAR_OPT_ADAM;
    if (is_adam ? adam >= 2 : sgd >= 18) continue;
    is_adam ? adam++ : sgd++;
    cr_assert_eq(caviar_tpe_observe(t, &hp, 1, is_adam ? 0.1 : 1.0, &err), CAVIAR_OK);
  }
  cr_assert_eq(adam + sgd, 20);
  for (uint32_t id = 100; id < 110; id++) {
    caviar_hparams quick, exact;
    caviar_tpe_quick_scores = true;
    cr_assert(caviar_tpe_propose(t, &spec.space, &spec.fixed, id, NULL, 0, &quick));
    caviar_tpe_quick_scores = false;
    cr_assert(caviar_tpe_propose(t, &spec.space, &spec.fixed, id, NULL, 0, &exact));
    caviar_tpe_quick_scores = true;
    cr_expect_eq(memcmp(&quick, &exact, sizeof quick), 0, "proposal %u: quick scores picked otherwise", id);
  }
  caviar_tpe_free(t);
  caviar_spec_free(&spec);
}

Test(tpe, a_value_the_spec_gives_probability_0_is_never_proposed) {
  /* Two lists with a value of probability 0, in the middle and at the end (where the probabilities'
   * sum, 0.2 + 0.7 + 0.1, rounds below 1); the results favour the possible values' neighbours, and a few
   * results told from outside sit on the impossible values, among the best. TPE's good and bad
   * kernels spread mass over every value: it must put none on those two. */
  const char *text =
      "{\"method\": \"tpe\", \"parameters\": {"
      "\"activation\": {\"distribution\": \"categorical_w_probabilities\", \"values\": [\"relu\", \"tanh\", \"sigmoid\"],"
      " \"probabilities\": [0.5, 0.0, 0.5]},"
      "\"optimizer\": {\"distribution\": \"categorical_w_probabilities\","
      " \"values\": [\"sgd\", \"adam\", \"rmsprop\", \"momentum\"], \"probabilities\": [0.2, 0.7, 0.1, 0.0]},"
      "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1}}}";
  caviar_spec spec;
  spec_ok(text, &spec);
  caviar_error err;
  int drawn_impossible = 0, proposed = 0, tanh_seen = 0, momentum_seen = 0;
  for (unsigned long long seed = 1; seed <= 4; seed++) {
    caviar_tpe_options opt = CAVIAR_TPE_DEFAULT_OPTIONS;
    caviar_tpe *t;
    cr_assert_eq(caviar_tpe_new(&opt, seed, &t, &err), CAVIAR_OK);
    caviar_hparams pending[8];
    for (uint32_t id = 0; id < 120; id++) {
      caviar_hparams hp;
      caviar_sample_random(&spec.space, &spec.fixed, seed, id, &hp);
      drawn_impossible += hp.activation == CAVIAR_ACT_TANH || hp.optimizer == CAVIAR_OPT_MOMENTUM;
      if (id >= 20) {
        if (caviar_tpe_propose(t, &spec.space, &spec.fixed, id, pending, (int)(id % 8), &hp)) proposed++;
        tanh_seen += hp.activation == CAVIAR_ACT_TANH;
        momentum_seen += hp.optimizer == CAVIAR_OPT_MOMENTUM;
      }
      pending[id % 8] = hp;
      double loss = fabs(log10(hp.learning_rate) + 2) + (hp.activation == CAVIAR_ACT_SIGMOID) +
                    0.5 * (hp.optimizer == CAVIAR_OPT_ADAM);
      cr_assert_eq(caviar_tpe_observe(t, &hp, 1, loss, &err), CAVIAR_OK);
      if (id % 10 == 5) { /* a told result on the impossible values, among the best */
        caviar_hparams told = hp;
        told.activation = CAVIAR_ACT_TANH;
        told.optimizer = CAVIAR_OPT_MOMENTUM;
        cr_assert_eq(caviar_tpe_observe(t, &told, 1, -1.0, &err), CAVIAR_OK);
      }
    }
    caviar_tpe_free(t);
  }
  cr_expect_eq(drawn_impossible, 0, "random search drew a value of probability 0 %d times", drawn_impossible);
  cr_expect_eq(proposed, 400, "%d of 400 proposals made", proposed);
  cr_expect_eq(tanh_seen, 0, "tanh (probability 0) proposed %d times", tanh_seen);
  cr_expect_eq(momentum_seen, 0, "momentum (probability 0) proposed %d times", momentum_seen);
  caviar_spec_free(&spec);
}
