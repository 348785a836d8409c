/* tpe and bayes over outside code's values (a W&B config's parameters, any names and families):
 * fed a known objective, they propose near its optimum far more often than random draws would
 * (binomial tests against the random draws' own probabilities); every proposal is a value its
 * distribution gives, for every family W&B has; a study of outside code proposes from what was
 * told through `caviar ask`/`caviar tell` (moving toward the optimum after its start), counts a
 * failed trial as the worst, and a study reopened for every call (each `caviar ask` replays the
 * journal) proposes exactly what one kept open does when told the same results in the same
 * order. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/sampler.h"
#include "caviar/study.h"
#include "caviar/tpe.h"
#include "caviar/trial_json.h"
#include "scratch.h"
#include "spec_support.h"

/* lr (log_uniform_values), layers (int_uniform), opt (categorical of strings): values[0 .. 2]. */
#define MIXED                                                                                                   \
  "\"parameters\": {\"lr\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-5, \"max\": 1}, "            \
  "\"layers\": {\"distribution\": \"int_uniform\", \"min\": 1, \"max\": 8}, "                                     \
  "\"opt\": {\"values\": [\"sgd\", \"adam\", \"rmsprop\", \"adagrad\"]}}"

static void load_mixed(const char *method, caviar_spec *spec) {
  char text[1024];
  snprintf(text, sizeof text, "{\"method\": \"%s\", \"program\": \"train.py\", \"metric\": {\"name\": \"loss\"}, " MIXED "}",
           method);
  spec_ok(text, spec);
  cr_assert(spec->outside, "not read as outside code");
  cr_assert_eq(spec->method, CAVIAR_METHOD_TPE);
}

/* The bowl: its floor at lr 10^-2.5, 6 layers, adam (index 1). */
static double bowl(const double *v) {
  double a = log10(v[0]) + 2.5, b = v[1] - 6;
  return a * a + 0.25 * b * b + (v[2] == 1 ? 0 : 1);
}

/* Near the floor, and the probability of each under the random draws (uniform on each scale). */
static bool lr_near(const double *v) { return fabs(log10(v[0]) + 2.5) <= 0.5; }     /* 1 decade of 5 */
static bool layers_near(const double *v) { return v[1] >= 5 && v[1] <= 7; }         /* 3 of 8 */
static bool opt_near(const double *v) { return v[2] == 1; }                         /* 1 of 4 */
static const double P_LR = 0.2, P_LAYERS = 3.0 / 8, P_OPT = 0.25;

static void expect_valid_mixed(const double *v) {
  cr_expect(v[0] >= 1e-5 && v[0] <= 1, "lr %.17g outside [1e-5, 1]", v[0]);
  cr_expect(v[1] == floor(v[1]) && v[1] >= 1 && v[1] <= 8, "layers %.17g: not a whole number in [1, 8]", v[1]);
  cr_expect(v[2] == floor(v[2]) && v[2] >= 0 && v[2] <= 3, "opt %.17g: not the index of one of its 4 values", v[2]);
}

/* P(X >= k) for X ~ Binomial(n, p). */
static double at_least(int k, double p, int n) { return k <= 0 ? 1.0 : gsl_cdf_binomial_Q((unsigned)(k - 1), p, (unsigned)n); }

#define SEEDS 3
#define STARTUP 10
#define PROPOSED 30

/* Per seed: STARTUP random draws told, then PROPOSED proposals, each told before the next (as a
 * study one trial at a time): how many proposals were near the floor on each parameter. */
static void race(const char *method, bool tell_results, int *lr, int *layers, int *opt, int *total) {
  *lr = *layers = *opt = *total = 0;
  caviar_spec spec;
  load_mixed(method, &spec);
  for (uint64_t seed = 1; seed <= SEEDS; seed++) {
    caviar_tpe *t;
    caviar_error err;
    cr_assert_eq(caviar_tpe_new_values(&spec.tpe, seed, spec.space.n, &t, &err), CAVIAR_OK);
    double v[3];
    for (uint32_t id = 0; id < STARTUP + PROPOSED; id++) {
      if (id < STARTUP) {
        for (int i = 0; i < 3; i++) v[i] = caviar_sample_param(&spec.space.params[i], seed, id);
      } else {
        cr_assert(caviar_tpe_propose_values(t, &spec.space, id, NULL, 0, v), "%s: trial %u: no proposal", method, id);
        expect_valid_mixed(v);
        *lr += lr_near(v);
        *layers += layers_near(v);
        *opt += opt_near(v);
        ++*total;
      }
      /* The control: every result the same, so nothing tells one config from another. */
      cr_assert_eq(caviar_tpe_observe_values(t, v, 1, tell_results ? bowl(v) : 1.0, &err), CAVIAR_OK);
    }
    caviar_tpe_free(t);
  }
  caviar_spec_free(&spec);
}

static void concentrates(const char *method) {
  int lr, layers, opt, n;
  race(method, true, &lr, &layers, &opt, &n);
  double p_lr = at_least(lr, P_LR, n), p_layers = at_least(layers, P_LAYERS, n), p_opt = at_least(opt, P_OPT, n);
  cr_expect_lt(p_lr, 1e-4, "%s: lr near 10^-2.5 in %d of %d proposals (random: %g): p = %g", method, lr, n, P_LR, p_lr);
  cr_expect_lt(p_layers, 1e-4, "%s: 5-7 layers in %d of %d proposals (random: %g): p = %g", method, layers, n, P_LAYERS,
               p_layers);
  cr_expect_lt(p_opt, 1e-4, "%s: adam in %d of %d proposals (random: %g): p = %g", method, opt, n, P_OPT, p_opt);
  /* The control: told nothing that ranks the configs, they do not concentrate (so the test can
   * fail when proposals ignore what they are told). */
  race(method, false, &lr, &layers, &opt, &n);
  cr_expect_gt(at_least(lr, P_LR, n) * at_least(layers, P_LAYERS, n) * at_least(opt, P_OPT, n), 1e-6,
               "%s told nothing still concentrates: %d, %d, %d of %d", method, lr, layers, opt, n);
}

Test(outside_models, tpe_over_mixed_values_proposes_near_the_optimum_far_more_often_than_random_draws) {
  concentrates("tpe");
}

Test(outside_models, bayes_over_mixed_values_proposes_near_the_optimum_far_more_often_than_random_draws) {
  concentrates("bayes");
}

/* Every family W&B has, written as W&B users write them; each value checked against the spec as
 * written (bounds, whole numbers, multiples of q, list indices). */
static const char *FAMILIES =
    "\"parameters\": {"
    "\"c\": {\"values\": [\"a\", 2, 3.5, true]}, "
    "\"cp\": {\"distribution\": \"categorical_w_probabilities\", \"values\": [1, 2, 3], \"probabilities\": [0.2, 0.5, 0.3]}, "
    "\"k\": {\"value\": 7}, "
    "\"i\": {\"distribution\": \"int_uniform\", \"min\": -3, \"max\": 4}, "
    "\"u\": {\"distribution\": \"uniform\", \"min\": -1.5, \"max\": 2.5}, "
    "\"qu\": {\"distribution\": \"q_uniform\", \"min\": 0, \"max\": 100, \"q\": 5}, "
    "\"lu\": {\"distribution\": \"log_uniform\", \"min\": -4, \"max\": 0}, "
    "\"luv\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 0.1}, "
    "\"qluv\": {\"distribution\": \"q_log_uniform_values\", \"min\": 16, \"max\": 512, \"q\": 8}, "
    "\"ilu\": {\"distribution\": \"inv_log_uniform\", \"min\": 0, \"max\": 3}, "
    "\"iluv\": {\"distribution\": \"inv_log_uniform_values\", \"min\": 0.01, \"max\": 10}, "
    "\"n\": {\"distribution\": \"normal\", \"mu\": 1, \"sigma\": 2}, "
    "\"qn\": {\"distribution\": \"q_normal\", \"mu\": 10, \"sigma\": 3, \"q\": 2}, "
    "\"ln\": {\"distribution\": \"log_normal\", \"mu\": 0, \"sigma\": 1}, "
    "\"qln\": {\"distribution\": \"q_log_normal\", \"mu\": 2, \"sigma\": 0.5, \"q\": 1}, "
    "\"b\": {\"distribution\": \"beta\", \"a\": 2, \"b\": 5}, "
    "\"qb\": {\"distribution\": \"q_beta\", \"a\": 2, \"b\": 2, \"q\": 0.25}, "
    "\"nested\": {\"parameters\": {\"lr\": {\"min\": 0.001, \"max\": 0.1}}}}";

static bool multiple_of(double x, double q) { return fabs(x / q - nearbyint(x / q)) < 1e-9; }

static void expect_valid(const caviar_space *space, const double *v) {
  for (int i = 0; i < space->n; i++) {
    const char *name = space->params[i].name;
    double x = v[i];
    bool ok = isfinite(x);
    if (!strcmp(name, "c")) ok = x == floor(x) && x >= 0 && x <= 3;
    else if (!strcmp(name, "cp")) ok = x == floor(x) && x >= 0 && x <= 2;
    else if (!strcmp(name, "k")) ok = x == 0;
    else if (!strcmp(name, "i")) ok = x == floor(x) && x >= -3 && x <= 4;
    else if (!strcmp(name, "u")) ok = x >= -1.5 && x <= 2.5;
    else if (!strcmp(name, "qu")) ok = multiple_of(x, 5) && x >= 0 && x <= 100;
    else if (!strcmp(name, "lu")) ok = x >= exp(-4) && x <= 1;
    else if (!strcmp(name, "luv")) ok = x >= 1e-4 && x <= 0.1;
    else if (!strcmp(name, "qluv")) ok = multiple_of(x, 8) && x >= 16 && x <= 512;
    else if (!strcmp(name, "ilu")) ok = x >= exp(-3) && x <= 1;
    else if (!strcmp(name, "iluv")) ok = x >= 0.01 && x <= 10;
    else if (!strcmp(name, "qn")) ok = multiple_of(x, 2) && isfinite(x);
    else if (!strcmp(name, "ln")) ok = x > 0 && isfinite(x);
    else if (!strcmp(name, "qln")) ok = x == floor(x) && x >= 0;
    else if (!strcmp(name, "b")) ok = x >= 0 && x <= 1;
    else if (!strcmp(name, "qb")) ok = multiple_of(x, 0.25) && x >= 0 && x <= 1;
    else if (!strcmp(name, "nested.lr")) ok = x >= 0.001 && x <= 0.1;
    cr_expect(ok, "%s: %.17g is not a value of its distribution", name, x);
  }
  /* And the config reads back as the same values. */
  int need = caviar_values_json(space, v, NULL, 0);
  char *text = malloc((size_t)need + 1);
  caviar_values_json(space, v, text, (size_t)need + 1);
  cJSON *json = cJSON_Parse(text);
  double *back = malloc((size_t)space->n * sizeof *back);
  char why[256] = "";
  cr_expect(caviar_values_parse(space, json, back, why, sizeof why), "%s: %s", text, why);
  for (int i = 0; i < space->n; i++) cr_expect_eq(back[i], v[i], "%s: %s read back as %.17g", text, space->params[i].name, back[i]);
  free(back);
  cJSON_Delete(json);
  free(text);
}

static void every_family(const char *method) {
  char text[4096];
  snprintf(text, sizeof text, "{\"method\": \"%s\", \"program\": \"train.py\", \"metric\": {\"name\": \"loss\"}, %s}", method,
           FAMILIES);
  caviar_spec spec;
  spec_ok(text, &spec);
  cr_assert(spec.outside);
  int n = spec.space.n;
  caviar_tpe *t;
  caviar_error err;
  cr_assert_eq(caviar_tpe_new_values(&spec.tpe, 5, n, &t, &err), CAVIAR_OK);
  double *v = malloc((size_t)n * sizeof *v), *pending = malloc((size_t)n * 4 * sizeof *pending);
  for (uint32_t id = 0; id < 40; id++) {
    if (id < 12) {
      for (int i = 0; i < n; i++) v[i] = caviar_sample_param(&spec.space.params[i], 5, id);
    } else {
      /* With up to three configs still running as pending. */
      int n_pending = (int)(id % 4);
      for (int k = 0; k < n_pending; k++)
        for (int i = 0; i < n; i++) pending[k * n + i] = caviar_sample_param(&spec.space.params[i], 6, id * 4 + (uint32_t)k);
      cr_assert(caviar_tpe_propose_values(t, &spec.space, id, pending, n_pending, v), "%s: trial %u: no proposal", method, id);
    }
    expect_valid(&spec.space, v);
    double loss = 0;
    for (int i = 0; i < n; i++) loss += fabs(caviar_param_cdf(&spec.space.params[i], v[i]) - 0.3);
    /* Some fail: the worst. */
    cr_assert_eq(caviar_tpe_observe_values(t, v, 1, id % 7 == 3 ? INFINITY : loss, &err), CAVIAR_OK);
  }
  free(v);
  free(pending);
  caviar_tpe_free(t);
  caviar_spec_free(&spec);
}

Test(outside_models, every_tpe_proposal_is_a_value_of_its_distribution_for_every_wandb_family) { every_family("tpe"); }

Test(outside_models, every_bayes_proposal_is_a_value_of_its_distribution_for_every_wandb_family) { every_family("bayes"); }

/* ---- studies ---- */

/* lr and x: the bowl, loss = (log10(lr) + 2.5)^2 + (x - 0.3)^2. */
#define BOWL_SPEC                                                                                                \
  "{\"method\": \"%s\", \"program\": \"train.py\", \"run_cap\": %d, "                               \
  "\"metric\": {\"name\": \"loss\", \"goal\": \"minimize\"}, \"parameters\": {"                                   \
  "\"lr\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-5, \"max\": 1}, "                               \
  "\"x\": {\"distribution\": \"uniform\", \"min\": 0.0, \"max\": 1.0}}}"

static double bowl_of(const cJSON *params) {
  double lr = cJSON_GetObjectItem(params, "lr")->valuedouble, x = cJSON_GetObjectItem(params, "x")->valuedouble;
  cr_assert(lr >= 1e-5 && lr <= 1 && x >= 0 && x <= 1, "lr %g, x %g: outside the box", lr, x);
  return (log10(lr) + 2.5) * (log10(lr) + 2.5) + (x - 0.3) * (x - 0.3);
}

/* `caviar study init --seed seed` of the bowl for method into scratch folder name; its path. */
static const char *bowl_study(const char *name, const char *method, int seed, int trials) {
  char text[1024], flags[64];
  snprintf(text, sizeof text, BOWL_SPEC, method, trials);
  snprintf(flags, sizeof flags, "--seed %d", seed);
  return scratch_study(name, text, flags);
}

/* `caviar tell DIR ID --loss LOSS`, or --status failed for a NaN loss. */
static void tell_cli(const char *dir, int id, double loss) {
  char args[1400];
  if (isnan(loss)) snprintf(args, sizeof args, "tell %s %d --status failed --reason 'out of memory'", dir, id);
  else snprintf(args, sizeof args, "tell %s %d --loss %.17g", dir, id, loss);
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s: %s", args, r.err);
  cli_result_free(&r);
}

/* One trial at a time through the CLI: the losses in ask order, the params texts in *texts. */
static void drive_cli(const char *dir, int trials, double *loss, char **texts) {
  for (int k = 0; k < trials; k++) {
    cJSON *line = scratch_ask(dir);
    cr_assert_eq(cJSON_GetObjectItem(line, "trial")->valueint, k);
    const cJSON *params = cJSON_GetObjectItem(line, "params");
    loss[k] = bowl_of(params);
    if (texts) texts[k] = cJSON_PrintUnformatted(params);
    tell_cli(dir, k, loss[k]);
    cJSON_Delete(line);
  }
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *x, int n) {
  qsort(x, (size_t)n, sizeof *x, by_value);
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* After the startup (tpe: 10 results; bayes: 2), the proposals' losses are far below the startup
 * draws' (quasi-random, the same whether the model reads results or not); medians, as tpe's prior
 * kernel still sends a proposal far out now and then. */
static void moves_toward_the_optimum(const char *method) {
  enum { TRIALS = 40, LATER = 16 };
  double first[20], later[2 * LATER];
  for (int seed = 1; seed <= 2; seed++) {
    char name[64];
    snprintf(name, sizeof name, "%s-%d", method, seed);
    double loss[TRIALS];
    drive_cli(bowl_study(name, method, seed, TRIALS), TRIALS, loss, NULL);
    memcpy(first + (seed - 1) * 10, loss, 10 * sizeof *loss);
    memcpy(later + (seed - 1) * LATER, loss + TRIALS - LATER, LATER * sizeof *loss);
  }
  double start = median(first, 20), end = median(later, 2 * LATER);
  cr_expect_lt(end, 0.2 * start, "%s: the last %d trials' median loss %g, the first 10's %g", method, LATER, end, start);
}

Test(outside_models, a_tpe_study_of_outside_code_proposes_from_what_ask_and_tell_were_told, .timeout = 300) {
  moves_toward_the_optimum("tpe");
}

Test(outside_models, a_bayes_study_of_outside_code_proposes_from_what_ask_and_tell_were_told, .timeout = 300) {
  moves_toward_the_optimum("bayes");
}

/* The same results told in the same order, three trials out at a time (the oldest told first):
 * one study kept open in this process, the other reopened by every `caviar ask` and `caviar tell`
 * (each replays the journal, as a resumed agent does). */
static void same_configs_kept_open_and_reopened(const char *method) {
  enum { TRIALS = 30, OUT = 3 };
  const char *cli_dir = bowl_study(method[0] == 't' ? "cli-tpe" : "cli-bayes", method, 7, TRIALS);
  char cli[1024];
  snprintf(cli, sizeof cli, "%s", cli_dir);
  const char *open_dir = bowl_study(method[0] == 't' ? "open-tpe" : "open-bayes", method, 7, TRIALS);
  caviar_study *s;
  caviar_error err;
  cr_assert_eq(caviar_study_open(open_dir, &s, &err), CAVIAR_OK, "%s", err.msg);
  char *by_cli[TRIALS], *kept[TRIALS];
  double loss[TRIALS];
  int asked = 0, told = 0;
  while (told < TRIALS) {
    while (asked < TRIALS && asked - told < OUT) {
      cJSON *line = scratch_ask(cli);
      cr_assert_eq(cJSON_GetObjectItem(line, "trial")->valueint, asked);
      by_cli[asked] = cJSON_PrintUnformatted(cJSON_GetObjectItem(line, "params"));
      loss[asked] = bowl_of(cJSON_GetObjectItem(line, "params"));
      cJSON_Delete(line);
      caviar_ask_outcome outcome;
      caviar_study_trial trial;
      cr_assert_eq(caviar_study_ask(s, "here", &outcome, &trial, &err), CAVIAR_OK, "%s", err.msg);
      cr_assert_eq(outcome, CAVIAR_ASK_TRIAL);
      cr_assert_eq(trial.id, (uint32_t)asked);
      cJSON *params = cJSON_Parse(trial.params);
      kept[asked] = cJSON_PrintUnformatted(params);
      cJSON_Delete(params);
      caviar_study_trial_free(&trial);
      cr_expect_str_eq(kept[asked], by_cli[asked], "%s: trial %d", method, asked);
      asked++;
    }
    tell_cli(cli, told, loss[told]);
    const char *names[] = {"loss"};
    caviar_study_values v = {1, names, &loss[told]};
    caviar_study_verdict verdict;
    char why[256];
    cr_assert_eq(caviar_study_tell(s, (uint32_t)told, 0, false, 0, &v, NULL, &verdict, why, sizeof why, &err), CAVIAR_OK,
                 "%s", err.msg);
    told++;
  }
  /* Proposed, not drawn (equal drawn configs would prove nothing): the later trials do far better
   * than the first. */
  double start = median(loss, 8), end = median(loss + TRIALS - 8, 8);
  cr_expect_lt(end, 0.5 * start, "%s: the last 8 trials' median loss %g, the first 8's %g", method, end, start);
  for (int k = 0; k < TRIALS; k++) {
    free(by_cli[k]);
    free(kept[k]);
  }
  caviar_study_close(s);
}

Test(outside_models, a_tpe_study_reopened_for_every_call_proposes_what_one_kept_open_does, .timeout = 300) {
  same_configs_kept_open_and_reopened("tpe");
}

Test(outside_models, a_bayes_study_reopened_for_every_call_proposes_what_one_kept_open_does, .timeout = 300) {
  same_configs_kept_open_and_reopened("bayes");
}

/* A journal whose trial has a value its parameter cannot take (edited by hand) is refused in one
 * line naming the line and the parameter, and left as it was. */
Test(outside_models, a_journal_value_the_model_cannot_read_is_one_line_naming_it) {
  char dir[1024], path[1200], args[1300];
  snprintf(dir, sizeof dir, "%s", bowl_study("edited", "bayes", 3, 10));
  cJSON_Delete(scratch_ask(dir));
  snprintf(path, sizeof path, "%s/journal.jsonl", dir);
  char *text = scratch_read(path, NULL);
  char *lr = strstr(text, "\"lr\":");
  cr_assert_not_null(lr, "%s", text);
  char *end = lr + 5 + strspn(lr + 5, " ");
  size_t digits = strcspn(end, ",}");
  char edited[8192];
  snprintf(edited, sizeof edited, "%.*s5%s", (int)(end - text), text, end + digits);
  scratch_write_text("edited/journal.jsonl", edited);
  snprintf(args, sizeof args, "ask %s", dir);
  cli_result r = run_caviar(args);
  cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
  cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
  cr_expect(strstr(r.err, "journal.jsonl: line 1: params.lr: not a value of the spec's parameter"), "%s", r.err);
  char *after = scratch_read(path, NULL);
  cr_expect_str_eq(after, edited);
  free(after);
  free(text);
  cli_result_free(&r);
}

/* Trials with x above 0.6 fail (told failed, no values: at epoch 1, where the others complete at
 * the budget); the loss of the others falls toward x = 0.9. Told as the worst result at every
 * budget, the failures keep the proposals out of the failing region: bayes's far below the
 * quasi-random start's 4 in 10, tpe's (which explores more) no more often than it. A model that
 * never saw them follows the slope into the region (checked by leaving them out: bayes then
 * proposes there 40 times in 40, tpe 32). */
static int failing_region(const char *method, int *proposed) {
  enum { TRIALS = 30 };
  int above = 0;
  *proposed = 0;
  for (int seed = 1; seed <= 2; seed++) {
    char name[64];
    snprintf(name, sizeof name, "fail-%s-%d", method, seed);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", bowl_study(name, method, seed, TRIALS));
    for (int k = 0; k < TRIALS; k++) {
      cJSON *line = scratch_ask(dir);
      const cJSON *params = cJSON_GetObjectItem(line, "params");
      double lr = cJSON_GetObjectItem(params, "lr")->valuedouble, x = cJSON_GetObjectItem(params, "x")->valuedouble;
      if (k >= 10) {
        above += x > 0.6;
        ++*proposed;
      }
      double a = log10(lr) + 2.5;
      tell_cli(dir, k, x > 0.6 ? NAN : 0.1 * a * a + (x - 0.9) * (x - 0.9));
      cJSON_Delete(line);
    }
  }
  return above;
}

Test(outside_models, a_failed_trial_counts_as_the_worst_result_for_bayes_and_tpe, .timeout = 300) {
  int n, above = failing_region("bayes", &n);
  cr_expect_leq(above, n / 5, "bayes: %d of %d proposals in the failing region", above, n);
  above = failing_region("tpe", &n);
  cr_expect_leq(above, 2 * n / 5, "tpe: %d of %d proposals in the failing region", above, n);
}
