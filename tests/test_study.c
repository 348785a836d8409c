/* A study's state and journal, through the library: a study told the values of an in-process
 * sweep, in the order the sweep saw them, hands out the same trials (every sampler, the schedule's
 * culls where the sweep judges one trial at a time); eight processes asking and telling at once
 * lose and duplicate nothing; workers killed with SIGKILL anywhere (inside a record's write too)
 * leave a journal the next reader accepts and a study that finishes; the successive-halving
 * verdicts match the rule computed independently. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "caviar/sampler.h"
#include "caviar/study.h"
#include "caviar/trainer.h"
#include "scratch.h"
#include "spec_support.h"
#include "synth_support.h"

static const char *data_dir(void) {
  static char path[1024];
  if (!path[0]) strcpy(path, synth_idx_dir("study", 800, 200, 16, 4, 1.5, true));
  return path;
}

/* A study of spec text in scratch folder name, opened. */
static caviar_study *new_study(const char *name, const char *text, double timeout_s, int attempts) {
  char spec_name[256];
  snprintf(spec_name, sizeof spec_name, "%s.json", name);
  scratch_write_text(spec_name, text);
  caviar_study_options o = CAVIAR_STUDY_DEFAULT_OPTIONS;
  if (timeout_s > 0) o.timeout_s = timeout_s;
  if (attempts > 0) o.max_attempts = attempts;
  caviar_error err;
  char spec_path[1024], dir[1024];
  snprintf(spec_path, sizeof spec_path, "%s", scratch_path(spec_name));
  snprintf(dir, sizeof dir, "%s", scratch_path(name));
  cr_assert_eq(caviar_study_init(spec_path, dir, &o, &err), CAVIAR_OK, "%s", err.msg);
  caviar_study *s;
  cr_assert_eq(caviar_study_open(dir, &s, &err), CAVIAR_OK, "%s", err.msg);
  return s;
}

static void expect_same_hparams(const caviar_hparams *a, const caviar_hparams *b, uint32_t id) {
  for (int k = 0; k < caviar_hp_count; k++) {
    const caviar_hp_info *info = &caviar_hp_table[k];
    cr_expect_eq(caviar_hp_get(a, info), caviar_hp_get(b, info), "trial %u: %s %.17g in the study, %.17g in the sweep",
                 (unsigned)id, info->name, caviar_hp_get(a, info), caviar_hp_get(b, info));
  }
  cr_expect_eq(a->inactive, b->inactive, "trial %u: which parameters a condition switched off", (unsigned)id);
}

/* What outside code is handed: t's params name the parameters that mean something for the sweep's
 * trial (every one a condition leaves on and its model uses: model and batchnorm of a plain MLP too),
 * with the sweep's values. */
static void expect_params_of(const caviar_study_trial *t, const caviar_space *space, const caviar_hparams *sweep) {
  cJSON *params = cJSON_Parse(t->params);
  cr_assert(cJSON_IsObject(params), "trial %u: params %s", (unsigned)t->id, t->params);
  for (int i = 0; i < space->n; i++) {
    const caviar_param *p = &space->params[i];
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(params, p->name);
    bool on = caviar_hp_active(sweep, p->hp);
    cr_expect_eq(item != NULL, on, "trial %u: %s %s in %s", (unsigned)t->id, p->name, on ? "missing" : "given", t->params);
    if (!item || !on) continue;
    double v = caviar_hp_get(sweep, p->hp);
    if (p->hp->type == CAVIAR_HP_CHOICE)
      cr_expect_str_eq(cJSON_GetStringValue(item), p->hp->choices[(int)v], "trial %u: %s", (unsigned)t->id, p->name);
    else
      cr_expect_eq(cJSON_GetNumberValue(item), v, "trial %u: %s", (unsigned)t->id, p->name);
  }
  cJSON_Delete(params);
}

/* Runs the spec in process, then replays it on a study: asks while trials are given, reports each
 * running trial's epoch in the order the sweep observed them (its learning curve's order), tells
 * those at the last epoch, and asks again, as the sweep refills after each epoch. Every trial must
 * be handed out with the sweep's values and end as it did there. */
static void replay_on(const char *dir, const char *name, const char *spec_body) {
  char text[4096];
  /* The model's fixed hidden width unless the spec sweeps it. */
  const char *hidden = strstr(spec_body, "\"hidden\"") ? "" : "\"hidden\": 8, ";
  snprintf(text, sizeof text, "{\"data\": {\"dir\": \"%s\"}, \"model\": {\"batch_size\": 32, %s\"epochs\": 4}, %s}",
           dir, hidden, spec_body);
  caviar_backend *be;
  caviar_error err;
  cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
  caviar_sweep_result r;
  sweep_text_on(be, text, &r, NULL, NULL);
  be->destroy(be);
  caviar_study *s = new_study(name, text, 0, 0);
  int epochs = caviar_study_spec(s)->epochs;
  uint32_t *running = calloc((size_t)r.n_trials + 1, sizeof *running);
  int n_running = 0, handed = 0, culled = 0;
  size_t c = 0;
  for (;;) {
    caviar_ask_outcome outcome;
    caviar_study_trial t;
    for (;;) {
      cr_assert_eq(caviar_study_ask(s, "replay", &outcome, &t, &err), CAVIAR_OK, "%s", err.msg);
      if (outcome != CAVIAR_ASK_TRIAL) break;
      cr_assert_lt((int)t.id, r.n_trials, "%s: the study hands out trial %u; the sweep had %d", name, (unsigned)t.id,
                   r.n_trials);
      cr_assert_eq(t.attempt, 1);
      const caviar_sweep_result *mine = caviar_study_results(s);
      expect_same_hparams(&mine->trials[t.id].trial.hp, &r.trials[t.id].trial.hp, t.id);
      expect_params_of(&t, &caviar_study_spec(s)->space, &r.trials[t.id].trial.hp);
      cr_expect_eq(t.bracket, r.trials[t.id].bracket, "trial %u's bracket", (unsigned)t.id);
      cr_expect_eq(t.round, r.trials[t.id].trial.round, "trial %u's round", (unsigned)t.id);
      running[n_running++] = t.id;
      handed++;
      caviar_study_trial_free(&t);
    }
    if (outcome == CAVIAR_ASK_DONE) break;
    cr_assert_gt(n_running, 0, "%s: the study waits with nothing out", name);
    /* One epoch of everyone running, in the sweep's order. */
    int tick = n_running;
    for (int k = 0; k < tick; k++) {
      cr_assert_lt(c, r.n_curve, "%s: more epochs than the sweep trained", name);
      const caviar_curve_point *p = &r.curve[c++];
      int at = 0;
      while (at < n_running && running[at] != p->trial) at++;
      cr_assert_lt(at, n_running, "%s: the sweep trained trial %u at this epoch, the study has not handed it out", name,
                   (unsigned)p->trial);
      const char *names[] = {"train_loss", "val_loss", "val_acc"};
      double values[] = {p->train_loss, p->val_loss, p->val_acc};
      caviar_study_values v = {3, names, values};
      caviar_study_verdict verdict;
      char why[512];
      cr_assert_eq(caviar_study_report(s, p->trial, 1, p->epoch, &v, &verdict, why, sizeof why, &err), CAVIAR_OK, "%s",
                   err.msg);
      bool done = verdict == CAVIAR_VERDICT_STOP;
      culled += done;
      if (!done && p->epoch == epochs) {
        caviar_study_values none = {0, NULL, NULL};
        cr_assert_eq(caviar_study_tell(s, p->trial, 1, false, 0, &none, NULL, &verdict, why, sizeof why, &err), CAVIAR_OK,
                     "%s", err.msg);
        done = true;
      }
      if (done) running[at] = running[--n_running];
    }
  }
  cr_expect_eq(c, r.n_curve, "%s: every epoch the sweep trained was told", name);
  cr_expect_eq(handed, r.n_trials, "%s: as many trials as the sweep", name);
  const caviar_sweep_result *mine = caviar_study_results(s);
  int sweep_culled = 0;
  for (int i = 0; i < r.n_trials; i++) {
    cr_expect_eq(mine->trials[i].status, r.trials[i].status, "%s: trial %d ends %s in the study, %s in the sweep", name, i,
                 caviar_trial_status_name(mine->trials[i].status), caviar_trial_status_name(r.trials[i].status));
    cr_expect_eq(mine->trials[i].epochs, r.trials[i].epochs, "%s: trial %d's epochs", name, i);
    sweep_culled += r.trials[i].status == CAVIAR_TRIAL_CULLED;
  }
  cr_expect_eq(culled, sweep_culled);
  caviar_study_counts n;
  caviar_study_counts_of(s, &n);
  cr_expect(n.done);
  free(running);
  caviar_study_close(s);
  caviar_sweep_result_free(&r);
}

static void replay(const char *name, const char *spec_body) {
  replay_on(data_dir(), name, spec_body);
}

#define LR "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-3, \"max\": 0.3}"

Test(study, random_search_with_successive_halving_gives_the_sweeps_trials_and_culls) {
  replay("random-sh", "\"method\": \"random\", \"seed\": 11, \"trials\": 12, \"population\": 1, \"parameters\": {" LR
                      ", \"optimizer\": {\"values\": [\"sgd\", \"adam\"]}}, \"early_terminate\": {\"type\": "
                      "\"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 4, \"eta\": 2}");
}

Test(study, sobol_with_hyperband_gives_the_sweeps_trials_brackets_and_culls) {
  replay("sobol-hb", "\"method\": \"sobol\", \"seed\": 5, \"population\": 1, \"parameters\": {" LR
                     ", \"dropout\": {\"min\": 0, \"max\": 0.5}}, \"early_terminate\": {\"type\": \"hyperband\", "
                     "\"min_iter\": 1, \"max_iter\": 4, \"eta\": 2}");
}

Test(study, a_grid_gives_the_sweeps_points) {
  replay("grid", "\"method\": \"grid\", \"seed\": 2, \"parameters\": {\"learning_rate\": {\"values\": [0.003, 0.03, 0.1]}, "
                 "\"optimizer\": {\"values\": [\"momentum\", \"adam\"]}}");
}

Test(study, tpe_refilling_a_population_proposes_what_the_sweep_proposed) {
  /* Proposals as slots free up, with the trials still out as pending; shapes from the drawn trials. */
  replay("tpe-refill", "\"method\": \"tpe\", \"seed\": 9, \"trials\": 24, \"population\": 4, \"tpe\": {\"startup\": 4}, "
                       "\"parameters\": {" LR ", \"hidden\": {\"min\": 4, \"max\": 40}, \"optimizer\": {\"values\": "
                       "[\"sgd\", \"adam\"]}}");
}

Test(study, tpe_with_successive_halving_one_at_a_time_matches_the_sweep) {
  replay("tpe-sh", "\"method\": \"tpe\", \"seed\": 3, \"trials\": 14, \"population\": 1, \"tpe\": {\"startup\": 3}, "
                   "\"parameters\": {" LR ", \"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.5, "
                   "\"max\": 0.99}}, \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, "
                   "\"max_epochs\": 4, \"eta\": 2}");
}

Test(study, coarse_to_fine_zooms_as_the_sweep_does) {
  replay("c2f", "\"method\": \"coarse-to-fine\", \"seed\": 4, \"trials\": 6, \"coarse_to_fine\": {\"rounds\": 3, "
                "\"zoom\": 0.5, \"top_k\": 2}, \"parameters\": {" LR ", \"l2\": {\"min\": 0, \"max\": 0.01}}");
}

Test(study, tpe_rounds_propose_each_round_at_once_as_the_sweep_does) {
  replay("tpe-rounds", "\"method\": \"tpe\", \"seed\": 8, \"trials\": 8, \"tpe\": {\"startup\": 4}, \"coarse_to_fine\": "
                       "{\"rounds\": 2, \"zoom\": 0.6, \"top_k\": 2}, \"parameters\": {" LR
                       ", \"activation\": {\"values\": [\"relu\", \"tanh\"]}, \"dropout\": {\"min\": 0, \"max\": 0.3, "
                       "\"when\": {\"activation\": \"relu\"}}}");
}

/* Batch norm and the CNN's rows: model and batchnorm are handed out for every trial (a plain MLP's
 * too); bn_momentum, channels and pool only where the trial's model uses them, and a value that
 * means nothing is the fixed one in the sweep as in the study. */
#define MODEL_ROWS                                                                                                     \
  "\"model\": {\"values\": [\"mlp\", \"cnn\"]}, \"batchnorm\": {\"values\": [\"off\", \"on\"]}, "                \
  "\"bn_momentum\": {\"min\": 0.01, \"max\": 0.5}, \"channels\": {\"values\": [2, 4]}, \"pool\": {\"values\": "         \
  "[\"max\", \"avg\"]}"

static const char *images_dir(void) {
  static char path[1024];
  if (!path[0]) strcpy(path, synth_images_dir("study-images", 200, 50, 8, 4));
  return path;
}

Test(study, random_cnn_and_batch_norm_trials_are_handed_out_whole) {
  replay_on(images_dir(), "random-models", "\"method\": \"random\", \"seed\": 6, \"trials\": 10, \"population\": 2, "
                                           "\"parameters\": {" LR ", " MODEL_ROWS "}");
}

Test(study, bayes_over_batch_norm_and_cnn_rows_proposes_what_the_sweep_proposed) {
  /* gp.c reads every value, a meaningless one too: the study must hold the sweep's. */
  replay_on(images_dir(), "bayes-models", "\"method\": \"bayes\", \"seed\": 4, \"trials\": 12, \"population\": 2, "
                                          "\"parameters\": {" LR ", " MODEL_ROWS "}");
}

Test(study, tpe_proposing_a_shape_off_the_round_takes_a_drawn_shape_whose_values_agree) {
  /* Successive halving (one at a time, as the study judges), and conditions on the model rows: a
   * proposal of a shape none of the round's trials has takes the drawn trial's shape, then its
   * conditions are settled again (a CNN's pool given to an MLP would be a record the study refuses:
   * both seeds make such a proposal). */
  for (int seed = 2; seed <= 3; seed++) {
    char name[32], body[2048];
    snprintf(name, sizeof name, "tpe-shapes-%d", seed);
    snprintf(body, sizeof body,
            "\"method\": \"tpe\", \"tpe\": {\"startup\": 3}, \"seed\": %d, \"trials\": 12, \"population\": 1, "
            "\"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 4, \"eta\": 2}, "
            "\"parameters\": {\"model\": {\"values\": [\"mlp\", \"cnn\"]}, \"batchnorm\": {\"values\": [\"off\", \"on\"]}, "
            "\"channels\": {\"values\": [2, 4], \"when\": {\"model\": \"cnn\"}}, \"pool\": {\"values\": [\"max\", \"avg\"], "
            "\"when\": {\"model\": \"cnn\"}}, \"bn_momentum\": {\"min\": 0.01, \"max\": 0.5, \"when\": {\"batchnorm\": \"on\"}}, "
            "\"optimizer\": {\"values\": [\"adam\", \"momentum\"]}, \"momentum\": {\"min\": 0.5, \"max\": 0.95, \"when\": "
            "{\"optimizer\": \"momentum\"}}, " LR "}", seed);
    replay_on(images_dir(), name, body);
  }
}

Test(study, a_condition_on_a_parameter_the_model_does_not_use_does_not_hold) {
  /* dropout when channels is 4: an MLP has no channels, so no dropout, whatever channels drew. */
  replay_on(images_dir(), "when-channels", "\"method\": \"random\", \"seed\": 6, \"trials\": 12, \"population\": 4, "
                                           "\"parameters\": {\"model\": {\"values\": [\"mlp\", \"cnn\"]}, \"channels\": "
                                           "{\"values\": [2, 4]}, \"dropout\": {\"min\": 0.1, \"max\": 0.5, \"when\": "
                                           "{\"channels\": 4}}}");
}

Test(study, tpe_over_the_model_and_batch_norm_proposes_what_the_sweep_proposed) {
  replay_on(images_dir(), "tpe-models", "\"method\": \"tpe\", \"seed\": 12, \"trials\": 10, \"population\": 2, "
                                        "\"tpe\": {\"startup\": 3}, \"parameters\": {" LR ", " MODEL_ROWS "}");
}

/* A study of MODEL_ROWS with its 8 trials handed out (the model section's fixed values begin with
 * model_extra); its folder's journal path in journal. */
static caviar_study *models_study(const char *name, const char *model_extra, char *journal, size_t size) {
  char text[2048];
  snprintf(text, sizeof text, "{\"data\": {\"dir\": \"%s\"}, \"model\": {%s\"batch_size\": 32, \"hidden\": 8, \"epochs\": 2}, "
           "\"method\": \"random\", \"seed\": 6, \"trials\": 8, \"population\": 8, \"parameters\": {" MODEL_ROWS "}}",
           images_dir(), model_extra);
  caviar_study *s = new_study(name, text, 0, 0);
  caviar_error err;
  for (int i = 0; i < 8; i++) {
    caviar_ask_outcome outcome;
    caviar_study_trial t;
    cr_assert_eq(caviar_study_ask(s, "w", &outcome, &t, &err), CAVIAR_OK, "%s", err.msg);
    cr_assert_eq(outcome, CAVIAR_ASK_TRIAL);
    caviar_study_trial_free(&t);
  }
  snprintf(journal, size, "%s/journal.jsonl", scratch_path(name));
  return s;
}

/* The journal's text with every `from` replaced by `to`, written back; how many were replaced. */
static int journal_replace(const char *journal, const char *from, const char *to) {
  size_t len;
  char *text = scratch_read(journal, &len);
  cr_assert(text);
  FILE *f = fopen(journal, "w");
  cr_assert(f);
  int n = 0;
  for (const char *at = text, *hit; *at; at = hit + strlen(from), n++) {
    if (!(hit = strstr(at, from))) {
      fputs(at, f);
      break;
    }
    fwrite(at, 1, (size_t)(hit - at), f);
    fputs(to, f);
  }
  fclose(f);
  free(text);
  return n;
}

Test(study, a_journal_from_before_plain_mlps_named_their_model_reads_back_the_same_trials) {
  /* The second study's fixed model is a CNN: a left-out model must still read as an MLP. */
  const char *names[] = {"models-old", "models-old-cnn"}, *extra[] = {"", "\"type\": \"cnn\", "};
  for (int k = 0; k < 2; k++) {
    char journal[1200];
    caviar_study *s = models_study(names[k], extra[k], journal, sizeof journal);
    const caviar_sweep_result *before = caviar_study_results(s);
    caviar_hparams hp[8];
    for (int i = 0; i < 8; i++) hp[i] = before->trials[i].trial.hp;
    caviar_study_close(s);
    /* The journals of 2026-12-07 and before left model and batchnorm out for a plain MLP (the values
     * such a record reads back must be a plain MLP's, and it must not be refused as incomplete). */
    cr_assert_gt(journal_replace(journal, "{\"model\": \"mlp\", \"batchnorm\": \"off\"", "{\"old\": 1"), 0,
                 "seed 6 draws a plain MLP");
    journal_replace(journal, "{\"old\": 1, ", "{");
    journal_replace(journal, "{\"old\": 1}", "{}");
    caviar_error err;
    cr_assert_eq(caviar_study_open(scratch_path(names[k]), &s, &err), CAVIAR_OK, "%s: %s", names[k], err.msg);
    const caviar_sweep_result *after = caviar_study_results(s);
    for (int i = 0; i < 8; i++) expect_same_hparams(&after->trials[i].trial.hp, &hp[i], (uint32_t)i);
    caviar_study_close(s);
  }
}

Test(study, a_start_record_reads_back_as_its_trial_trained) {
  /* An earlier build let a condition hold on a value the model did not use (dropout when channels
   * is 4, for an MLP that drew channels 4), and wrote dropout for that MLP: it trained with it. A
   * value that means nothing for the model (bn_momentum without batch norm) stays out. Neither
   * record makes the study unreadable. */
  char text[2048];
  snprintf(text, sizeof text, "{\"data\": {\"dir\": \"%s\"}, \"model\": {\"batch_size\": 32, \"hidden\": 8, \"epochs\": 2}, "
           "\"method\": \"random\", \"seed\": 6, \"trials\": 8, \"population\": 8, \"parameters\": {" MODEL_ROWS ", "
           "\"dropout\": {\"min\": 0.1, \"max\": 0.5, \"when\": {\"channels\": 4}}}}",
           images_dir());
  caviar_study *s = new_study("models-old-records", text, 0, 0);
  caviar_error err;
  for (int i = 0; i < 8; i++) {
    caviar_ask_outcome outcome;
    caviar_study_trial t;
    cr_assert_eq(caviar_study_ask(s, "w", &outcome, &t, &err), CAVIAR_OK, "%s", err.msg);
    caviar_study_trial_free(&t);
  }
  caviar_study_close(s);
  char journal[1200];
  snprintf(journal, sizeof journal, "%s/journal.jsonl", scratch_path("models-old-records"));
  /* Every plain MLP's record as the earlier build could write it. */
  int plain = journal_replace(journal, "{\"model\": \"mlp\", \"batchnorm\": \"off\"}",
                              "{\"dropout\": 0.25, \"bn_momentum\": 0.2}");
  cr_assert_gt(plain, 0, "seed 6 draws a plain MLP");
  cr_assert_eq(caviar_study_open(scratch_path("models-old-records"), &s, &err), CAVIAR_OK, "%s", err.msg);
  const caviar_sweep_result *r = caviar_study_results(s);
  const caviar_hp_info *dropout = caviar_hp_find("dropout"), *momentum = caviar_hp_find("bn_momentum");
  int seen = 0;
  for (int i = 0; i < r->n_trials; i++) {
    const caviar_hparams *hp = &r->trials[i].trial.hp;
    if (hp->model != CAVIAR_MODEL_MLP || hp->batchnorm != 0) continue;
    seen++;
    cr_expect(caviar_hp_active(hp, dropout), "trial %d trained with dropout", i);
    cr_expect_eq(hp->dropout, 0.25, "trial %d", i);
    cr_expect_not(caviar_hp_active(hp, momentum), "trial %d: bn_momentum means nothing without batch norm", i);
    cr_expect_eq(hp->bn_momentum, caviar_study_spec(s)->fixed.bn_momentum, "trial %d: the fixed value", i);
  }
  cr_expect_eq(seen, plain);
  caviar_study_close(s);
}

/* ---- the schedule's rule, computed independently ---- */

static int by_value_desc(const void *a, const void *b) {
  const double *x = a, *y = b;
  return (x[0] < y[0]) - (x[0] > y[0]);
}

Test(study, successive_halving_keeps_the_top_third_of_those_at_the_rung_so_far) {
  caviar_study *s = new_study("asha", "{\"method\": \"random\", \"seed\": 1, \"trials\": 60, \"parameters\": {" LR "}, "
                                      "\"model\": {\"epochs\": 9}, \"early_terminate\": {\"type\": \"successive_halving\", "
                                      "\"min_epochs\": 1, \"max_epochs\": 9, \"eta\": 3}}",
                              0, 0);
  caviar_error err;
  for (int i = 0; i < 60; i++) {
    caviar_ask_outcome o;
    caviar_study_trial t;
    cr_assert_eq(caviar_study_ask(s, NULL, &o, &t, &err), CAVIAR_OK, "%s", err.msg);
    cr_assert_eq(o, CAVIAR_ASK_TRIAL);
    caviar_study_trial_free(&t);
  }
  /* Trials report epoch 1 in a shuffled order with distinct values; the reference ranks everyone
   * recorded at the rung so far (itself included) and keeps the top max(1, floor(n / 3)). */
  int order[60];
  double seen[60][2];
  for (int i = 0; i < 60; i++) order[i] = i;
  srand(7);
  for (int i = 59; i > 0; i--) {
    int j = rand() % (i + 1), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  int stopped = 0;
  for (int k = 0; k < 60; k++) {
    int id = order[k];
    double value = 0.3 + 0.6 * ((id * 37) % 60) / 60.0 + 1e-4 * k;
    seen[k][0] = value;
    seen[k][1] = id;
    double sorted[60][2];
    memcpy(sorted, seen, sizeof sorted[0] * (size_t)(k + 1));
    qsort(sorted, (size_t)(k + 1), sizeof sorted[0], by_value_desc);
    int keep = (k + 1) / 3 > 1 ? (k + 1) / 3 : 1;
    bool up = false;
    for (int j = 0; j < keep; j++) up = up || sorted[j][1] == id;
    const char *names[] = {"val_acc"};
    caviar_study_values v = {1, names, &value};
    caviar_study_verdict verdict;
    char why[512];
    cr_assert_eq(caviar_study_report(s, (uint32_t)id, 0, 1, &v, &verdict, why, sizeof why, &err), CAVIAR_OK, "%s",
                 err.msg);
    cr_expect_eq(verdict, up ? CAVIAR_VERDICT_GO : CAVIAR_VERDICT_STOP, "report %d (trial %d, %g): %s", k, id, value, why);
    stopped += verdict == CAVIAR_VERDICT_STOP;
  }
  cr_expect_gt(stopped, 30);
  /* A report past two rungs is judged at both, with its value standing for the skipped one. */
  caviar_study_close(s);
}

/* ---- many processes ---- */

/* Reads the journal independently of the study's code: per trial, starts and tells. */
typedef struct tally {
  int lines, starts, tells, epochs, torn;
  int *start_count, *tell_count, *max_attempt;
} tally;

static void tally_journal(const char *dir, int n, tally *t) {
  char path[1024];
  snprintf(path, sizeof path, "%s/journal.jsonl", dir);
  size_t len;
  char *text = scratch_read(path, &len);
  memset(t, 0, sizeof *t);
  t->start_count = calloc((size_t)n, sizeof(int));
  t->tell_count = calloc((size_t)n, sizeof(int));
  t->max_attempt = calloc((size_t)n, sizeof(int));
  char *line = text;
  for (char *nl; (nl = strchr(line, '\n')); line = nl + 1) {
    *nl = '\0';
    cJSON *rec = cJSON_Parse(line);
    cr_assert(cJSON_IsObject(rec), "journal line %d is not a JSON object: %.200s", t->lines + 1, line);
    t->lines++;
    const char *event = cJSON_GetObjectItem(rec, "event")->valuestring;
    int id = cJSON_GetObjectItem(rec, "trial") ? cJSON_GetObjectItem(rec, "trial")->valueint : -1;
    if (id >= 0) cr_assert_lt(id, n);
    if (!strcmp(event, "start")) {
      t->starts++;
      t->start_count[id]++;
      int attempt = cJSON_GetObjectItem(rec, "attempt")->valueint;
      cr_expect_eq(attempt, t->max_attempt[id] + 1, "trial %d: attempt %d after %d", id, attempt, t->max_attempt[id]);
      t->max_attempt[id] = attempt;
    } else if (!strcmp(event, "tell")) {
      t->tells++;
      t->tell_count[id]++;
    } else if (!strcmp(event, "epoch")) {
      t->epochs++;
    }
    cJSON_Delete(rec);
  }
  t->torn = *line != '\0';
  free(text);
}

static void tally_free(tally *t) {
  free(t->start_count);
  free(t->tell_count);
  free(t->max_attempt);
}

/* A worker: asks, reports `epochs` epochs, tells, until the study is done; exits 0. */
static void work(const char *dir, int epochs, double pause_s) {
  caviar_study *s;
  caviar_error err;
  if (caviar_study_open(dir, &s, &err) != CAVIAR_OK) {
    fprintf(stderr, "worker: %s\n", err.msg);
    _exit(1);
  }
  char who[64];
  snprintf(who, sizeof who, "worker-%d", (int)getpid());
  for (;;) {
    caviar_ask_outcome o;
    caviar_study_trial t;
    if (caviar_study_ask(s, who, &o, &t, &err) != CAVIAR_OK) {
      fprintf(stderr, "worker ask: %s\n", err.msg);
      _exit(1);
    }
    if (o == CAVIAR_ASK_DONE) break;
    if (o == CAVIAR_ASK_WAIT) {
      usleep(20000);
      continue;
    }
    bool gone = false;
    for (int e = 1; e <= epochs && !gone; e++) {
      if (pause_s > 0) usleep((useconds_t)(pause_s * 1e6));
      double value = 0.5 + 0.4 * sin(t.id * 0.7 + e);
      const char *names[] = {"val_acc"};
      caviar_study_values v = {1, names, &value};
      caviar_study_verdict verdict;
      char why[512];
      if (caviar_study_report(s, t.id, t.attempt, e, &v, &verdict, why, sizeof why, &err) != CAVIAR_OK) {
        fprintf(stderr, "worker report: %s\n", err.msg);
        _exit(1);
      }
      gone = verdict != CAVIAR_VERDICT_GO;
    }
    if (!gone) {
      caviar_study_values none = {0, NULL, NULL};
      caviar_study_verdict verdict;
      char why[512];
      if (caviar_study_tell(s, t.id, t.attempt, false, 0, &none, NULL, &verdict, why, sizeof why, &err) != CAVIAR_OK) {
        fprintf(stderr, "worker tell: %s\n", err.msg);
        _exit(1);
      }
    }
    caviar_study_trial_free(&t);
  }
  caviar_study_close(s);
  _exit(0);
}

Test(study, eight_processes_with_200_trials_each_lose_no_record_and_duplicate_no_trial, .timeout = 600) {
  enum { PROCESSES = 8, TRIALS = 1600 };
  caviar_study *s = new_study("eight", "{\"method\": \"random\", \"seed\": 12, \"trials\": 1600, \"model\": {\"epochs\": 2}, "
                                       "\"parameters\": {" LR ", \"hidden\": {\"min\": 4, \"max\": 64}}}",
                              0, 0);
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", caviar_study_dir(s));
  caviar_study_close(s);
  pid_t pids[PROCESSES];
  for (int p = 0; p < PROCESSES; p++) {
    pids[p] = fork();
    cr_assert_geq(pids[p], 0);
    if (pids[p] == 0) work(dir, 1, 0);
  }
  for (int p = 0; p < PROCESSES; p++) {
    int status;
    cr_assert_eq(waitpid(pids[p], &status, 0), pids[p]);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker %d ended with status %d", p, status);
  }
  tally t;
  tally_journal(dir, TRIALS, &t);
  cr_expect_eq(t.torn, 0);
  cr_expect_eq(t.lines, 3 * TRIALS, "a start, an epoch and a tell per trial");
  for (int i = 0; i < TRIALS; i++) {
    cr_expect_eq(t.start_count[i], 1, "trial %d handed out %d times", i, t.start_count[i]);
    cr_expect_eq(t.tell_count[i], 1, "trial %d told %d times", i, t.tell_count[i]);
  }
  /* Each trial's parameters are the sampler's for its id, whoever asked. */
  caviar_error err;
  cr_assert_eq(caviar_study_open(dir, &s, &err), CAVIAR_OK, "%s", err.msg);
  caviar_sampler sampler;
  cr_assert_eq(caviar_sampler_init(&sampler, caviar_study_spec(s), caviar_study_seed(s), -1, &err), CAVIAR_OK);
  const caviar_sweep_result *r = caviar_study_results(s);
  cr_assert_eq(r->n_trials, TRIALS);
  for (int i = 0; i < TRIALS; i++) {
    caviar_trial drawn;
    caviar_sampler_draw(&sampler, (uint32_t)i, &drawn);
    expect_same_hparams(&r->trials[i].trial.hp, &drawn.hp, (uint32_t)i);
    cr_expect_eq(r->trials[i].status, CAVIAR_TRIAL_SURVIVED);
  }
  caviar_study_counts n;
  caviar_study_counts_of(s, &n);
  cr_expect(n.done);
  cr_expect_eq(n.completed, TRIALS);
  caviar_sampler_free(&sampler);
  caviar_study_close(s);
  tally_free(&t);
}

Test(study, workers_killed_at_random_points_leave_a_study_that_finishes_with_every_trial_told_once, .timeout = 600) {
  enum { TRIALS = 120, WORKERS = 5 };
  caviar_study *s = new_study("killed", "{\"method\": \"random\", \"seed\": 13, \"trials\": 120, \"model\": {\"epochs\": 3}, "
                                        "\"parameters\": {" LR "}, \"early_terminate\": {\"type\": \"successive_halving\", "
                                        "\"min_epochs\": 1, \"max_epochs\": 3, \"eta\": 2}}",
                              0.3, 1000);
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", caviar_study_dir(s));
  caviar_study_close(s);
  pid_t pids[WORKERS];
  srand(21);
  int kills = 0, torn_kills = 0;
  for (int w = 0; w < WORKERS; w++) pids[w] = 0;
  /* Two seconds of chaos: workers (some of which die inside a record's write) killed with SIGKILL
   * every 20 to 100 ms and replaced. */
  double end = caviar_now() + 2.0;
  while (caviar_now() < end) {
    for (int w = 0; w < WORKERS; w++) {
      int status;
      if (pids[w] > 0 && waitpid(pids[w], &status, WNOHANG) == pids[w]) {
        torn_kills += WIFSIGNALED(status);
        pids[w] = 0;
      }
      if (pids[w] == 0) {
        int kill_at = rand() % 3 == 0 ? 1 + rand() % 12 : 0;
        pids[w] = fork();
        if (pids[w] == 0) {
          char spec[64];
          snprintf(spec, sizeof spec, "study-append:%d", kill_at);
          if (kill_at) setenv("CAVIAR_KILL_AT", spec, 1);
          else unsetenv("CAVIAR_KILL_AT");
          work(dir, 3, 0.002);
        }
      }
    }
    usleep((useconds_t)(20000 + rand() % 80000));
    int w = rand() % WORKERS;
    if (pids[w] > 0 && kill(pids[w], SIGKILL) == 0) {
      waitpid(pids[w], NULL, 0);
      pids[w] = 0;
      kills++;
    }
  }
  for (int w = 0; w < WORKERS; w++)
    if (pids[w] > 0) {
      kill(pids[w], SIGKILL);
      waitpid(pids[w], NULL, 0);
      kills++;
    }
  cr_expect_gt(kills, 10);
  cr_expect_gt(torn_kills, 0, "some worker died inside a record's write");
  /* Clean workers finish the study; the dead ones' trials come back after the timeout. */
  for (int w = 0; w < 3; w++) {
    pids[w] = fork();
    if (pids[w] == 0) {
      unsetenv("CAVIAR_KILL_AT");
      work(dir, 3, 0);
    }
  }
  for (int w = 0; w < 3; w++) {
    int status;
    waitpid(pids[w], &status, 0);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a clean worker failed (status %d)", status);
  }
  tally t;
  tally_journal(dir, TRIALS, &t);
  cr_expect_eq(t.torn, 0, "the last writer left a whole journal");
  caviar_error err;
  cr_assert_eq(caviar_study_open(dir, &s, &err), CAVIAR_OK, "%s", err.msg);
  const caviar_sweep_result *r = caviar_study_results(s);
  cr_assert_eq(r->n_trials, TRIALS);
  int rehanded = 0;
  for (int i = 0; i < TRIALS; i++) {
    cr_expect(r->trials[i].status == CAVIAR_TRIAL_SURVIVED || r->trials[i].status == CAVIAR_TRIAL_CULLED,
              "trial %d ended %s", i, caviar_trial_status_name(r->trials[i].status));
    cr_expect_leq(t.tell_count[i], 1, "trial %d told %d times", i, t.tell_count[i]);
    cr_expect_eq(t.tell_count[i], r->trials[i].status == CAVIAR_TRIAL_SURVIVED, "trial %d", i);
    rehanded += t.start_count[i] > 1;
  }
  cr_expect_gt(rehanded, 0, "killed workers' trials were handed out again");
  caviar_study_counts n;
  caviar_study_counts_of(s, &n);
  cr_expect(n.done);
  caviar_study_close(s);
  tally_free(&t);
}

Test(study, a_lock_held_by_a_killed_process_and_its_torn_line_are_taken_over, .timeout = 60) {
  caviar_study *s = new_study("stale", "{\"method\": \"random\", \"trials\": 3, \"parameters\": {" LR "}}", 0, 0);
  char dir[1024], journal[1100];
  snprintf(dir, sizeof dir, "%s", caviar_study_dir(s));
  snprintf(journal, sizeof journal, "%s/journal.jsonl", dir);
  caviar_error err;
  caviar_ask_outcome o;
  caviar_study_trial t;
  cr_assert_eq(caviar_study_ask(s, NULL, &o, &t, &err), CAVIAR_OK);
  caviar_study_trial_free(&t);
  size_t before;
  free(scratch_read(journal, &before));
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(journal, O_WRONLY | O_APPEND);
    flock(fd, LOCK_EX);
    if (write(fd, "{\"event\": \"start\", \"tri", 23) != 23) _exit(1);
    kill(getpid(), SIGKILL);
  }
  int status;
  waitpid(pid, &status, 0);
  cr_assert(WIFSIGNALED(status));
  /* A reader ignores the torn line; the next writer takes the lock at once and cuts it off. */
  caviar_study *reader;
  cr_assert_eq(caviar_study_open(dir, &reader, &err), CAVIAR_OK, "%s", err.msg);
  caviar_study_counts n;
  caviar_study_counts_of(reader, &n);
  cr_expect_eq(n.started, 1);
  caviar_study_close(reader);
  double t0 = caviar_now();
  cr_assert_eq(caviar_study_ask(s, NULL, &o, &t, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect_lt(caviar_now() - t0, 5.0);
  cr_expect_eq(t.id, 1);
  caviar_study_trial_free(&t);
  tally tl;
  tally_journal(dir, 3, &tl);
  cr_expect_eq(tl.torn, 0);
  cr_expect_eq(tl.starts, 2);
  tally_free(&tl);
  size_t after;
  free(scratch_read(journal, &after));
  cr_expect_gt(after, before);
  caviar_study_close(s);
}

Test(study, a_silent_trial_goes_out_again_with_its_values_and_fails_after_its_attempts) {
  caviar_study *s = new_study("silent", "{\"method\": \"random\", \"seed\": 4, \"trials\": 2, \"parameters\": {" LR "}}",
                              0.2, 2);
  caviar_error err;
  caviar_ask_outcome o;
  caviar_study_trial first, again, next;
  cr_assert_eq(caviar_study_ask(s, NULL, &o, &first, &err), CAVIAR_OK);
  cr_assert_eq(caviar_study_ask(s, NULL, &o, &next, &err), CAVIAR_OK);
  caviar_study_trial_free(&next);
  usleep(300000);
  /* Trial 1 spoke since; trial 0 did not. */
  cr_assert_eq(caviar_study_alive(s, 1, 1, &err), CAVIAR_OK);
  cr_assert_eq(caviar_study_ask(s, NULL, &o, &again, &err), CAVIAR_OK);
  cr_assert_eq(o, CAVIAR_ASK_TRIAL);
  cr_expect_eq(again.id, 0);
  cr_expect_eq(again.attempt, 2);
  cr_expect_str_eq(again.params, first.params);
  /* The first attempt's worker comes back: its attempt is over, nothing recorded. */
  double value = 0.5;
  const char *names[] = {"val_acc"};
  caviar_study_values v = {1, names, &value};
  caviar_study_verdict verdict;
  char why[512];
  cr_assert_eq(caviar_study_report(s, 0, 1, 1, &v, &verdict, why, sizeof why, &err), CAVIAR_OK);
  cr_expect_eq(verdict, CAVIAR_VERDICT_GONE);
  cr_expect(strstr(why, "attempt 1 of trial 0 is over"), "%s", why);
  /* Silent again: two attempts were all it had. */
  usleep(300000);
  cr_assert_eq(caviar_study_alive(s, 1, 1, &err), CAVIAR_OK);
  cr_assert_eq(caviar_study_ask(s, NULL, &o, &next, &err), CAVIAR_OK);
  cr_expect_eq(o, CAVIAR_ASK_WAIT, "trial 0 failed, trial 1 is out: nothing to hand out");
  const caviar_sweep_result *r = caviar_study_results(s);
  cr_expect_eq(r->trials[0].status, CAVIAR_TRIAL_FAILED);
  caviar_study_trial_free(&first);
  caviar_study_trial_free(&again);
  caviar_study_close(s);
}

Test(study, metric_lines_are_name_value_tokens_and_nothing_else) {
  const char *names[8];
  double values[8];
  int epoch, n;
  char a[] = "epoch=3 val_acc=0.91, val_loss=2.5e-1";
  cr_assert(caviar_study_metric_line(a, &epoch, names, values, 8, &n));
  cr_expect_eq(epoch, 3);
  cr_assert_eq(n, 2);
  cr_expect_str_eq(names[1], "val_loss");
  cr_expect_eq(values[1], 0.25);
  char b[] = "val_acc=0.93";
  cr_assert(caviar_study_metric_line(b, &epoch, names, values, 8, &n));
  cr_expect_eq(epoch, 0);
  char c[] = "val_loss=nan epoch=2";
  cr_assert(caviar_study_metric_line(c, &epoch, names, values, 8, &n), "non-finite values are the caller's to judge");
  cr_expect(isnan(values[0]));
  const char *not_metric[] = {"Epoch 3: val_acc=0.9", "epoch=3", "epoch=2.5 val_acc=1", "x=1 x=2", "a=", "=1", "",
                              "loss=0.3abc", "9x=1", "epoch=1 epoch=2 a=1"};
  for (size_t i = 0; i < sizeof not_metric / sizeof not_metric[0]; i++) {
    char line[64];
    snprintf(line, sizeof line, "%s", not_metric[i]);
    cr_expect_not(caviar_study_metric_line(line, &epoch, names, values, 8, &n), "'%s' is no metric line", not_metric[i]);
  }
}
