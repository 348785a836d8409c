/* The progress line: it never exceeds the width it is given, and it keeps the most important
 * fields (the epoch, the best so far, the ETA) longest. The trainer's epochs in chunks: the same
 * training as whole epochs, with progress from inside them. */
#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "caviar/progress_line.h"
#include "caviar/sweep_state.h"
#include "scratch.h"
#include "spec_support.h"
#include "synth_support.h"
#include "train/trainer_internal.h"

/* A mid-sweep state with every field present: round, rung, best alive, a known ETA. */
static caviar_progress busy(void) {
  caviar_progress p = {0};
  p.round = 1;
  p.rounds = 3;
  p.epoch = 12;
  p.epochs = 27;
  p.epoch_lo = p.epoch_hi = 12;
  p.within_epoch = true;
  p.epoch_done = 0.375;
  p.rung = 2;
  p.rungs = 4;
  p.alive = 123;
  p.trials = 1234;
  p.budget = 4096;
  p.metric = "val_acc";
  p.best = 0.91234f;
  p.best_trial = 17;
  p.best_epoch = 9;
  p.best_alive = 0.8765f;
  p.model_samples_per_s = 123456789.0;
  p.elapsed_s = 4000;
  p.eta_s = 7325;
  return p;
}

static caviar_progress starting(void) {
  caviar_progress p = {0};
  p.rounds = 1;
  p.epochs = 27;
  p.alive = 54;
  p.trials = 54;
  p.budget = 54;
  p.metric = "val_loss";
  p.best = NAN;
  p.best_trial = -1;
  p.best_alive = NAN;
  p.eta_s = -1;
  return p;
}

static void expect_fits(const caviar_progress *p, int width) {
  char line[512];
  size_t n = caviar_progress_line(p, width, line, sizeof line);
  cr_expect_eq(n, strlen(line));
  cr_expect_leq(n, (size_t)width, "width %d: %zu characters: '%s'", width, n, line);
  cr_expect_null(strchr(line, '\n'), "a newline in '%s'", line);
  cr_expect_null(strchr(line, '\r'), "a carriage return in '%s'", line);
}

Test(progress, the_line_never_exceeds_the_width_at_40_80_and_200) {
  caviar_progress states[] = {busy(), starting()};
  states[1].within_epoch = false;
  for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
    expect_fits(&states[i], 40);
    expect_fits(&states[i], 80);
    expect_fits(&states[i], 200);
  }
}

Test(progress, no_width_from_1_to_250_is_exceeded) {
  caviar_progress p = busy();
  for (int w = 1; w <= 250; w++) expect_fits(&p, w);
}

Test(progress, at_200_columns_every_field_is_there) {
  caviar_progress p = busy();
  char line[512];
  caviar_progress_line(&p, 200, line, sizeof line);
  const char *expected[] = {"round 2/3", "epoch 13/27 37%", "rung 3/4", "alive 123", "started 1234/4096",
                            "best val_acc 0.9123 (trial 17, epoch 9)", "best alive 0.8765", "123456.8k model-samples/s",
                            "elapsed 1h06m", "ETA 2h02m"};
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
    cr_expect(strstr(line, expected[i]) != NULL, "'%s' missing from '%s'", expected[i], line);
}

Test(progress, at_80_columns_the_epoch_best_so_far_and_eta_stay) {
  caviar_progress p = busy();
  char line[512];
  caviar_progress_line(&p, 80, line, sizeof line);
  cr_expect(strstr(line, "13/27 37%") != NULL, "%s", line);
  cr_expect(strstr(line, "0.9123") != NULL, "best so far missing: %s", line);
  cr_expect(strstr(line, "ETA 2h02m") != NULL, "%s", line);
  cr_expect(strstr(line, "model-samples/s") == NULL, "the least important fields go first: %s", line);
}

Test(progress, at_40_columns_the_epoch_and_best_so_far_stay) {
  caviar_progress p = busy();
  char line[512];
  caviar_progress_line(&p, 40, line, sizeof line);
  cr_expect(strstr(line, "13/27") != NULL, "%s", line);
  cr_expect(strstr(line, "best 0.9123") != NULL, "%s", line);
}

Test(progress, before_any_measurement_the_eta_says_so_rather_than_zero) {
  caviar_progress p = starting();
  char line[512];
  caviar_progress_line(&p, 200, line, sizeof line);
  cr_expect(strstr(line, "ETA measuring") != NULL, "%s", line);
  cr_expect(strstr(line, "ETA 0s") == NULL, "%s", line);
  cr_expect(strstr(line, "best val_loss -") != NULL, "no best yet, and the spec's metric named: %s", line);
  cr_expect(strstr(line, "epoch 0/27") != NULL, "%s", line);
}

Test(progress, durations_read_as_seconds_minutes_and_hours) {
  char buf[32];
  caviar_format_duration(0.4, buf, sizeof buf);
  cr_expect_str_eq(buf, "0s");
  caviar_format_duration(59.4, buf, sizeof buf);
  cr_expect_str_eq(buf, "59s");
  caviar_format_duration(187, buf, sizeof buf);
  cr_expect_str_eq(buf, "3m07s");
  caviar_format_duration(7325, buf, sizeof buf);
  cr_expect_str_eq(buf, "2h02m");
  caviar_format_duration(NAN, buf, sizeof buf);
  cr_expect_str_eq(buf, "0s");
}

/* The trainer's chunked epochs: the same steps whatever the chunks, progress from inside them. */

typedef struct within {
  int reports, within, decreasing_fraction;
  double last_fraction;
  float best;
  int best_trial, best_epoch;
} within;

static void count_within(const caviar_progress *p, void *ctx) {
  within *w = ctx;
  w->reports++;
  if (p->within_epoch) {
    w->within++;
    if (p->epoch_done <= w->last_fraction || p->epoch_done >= 1) w->decreasing_fraction++;
    w->last_fraction = p->epoch_done;
  } else {
    w->last_fraction = 0;
  }
  w->best = p->best;
  w->best_trial = p->best_trial;
  w->best_epoch = p->best_epoch;
}

static void run_chunked(int chunk_steps, caviar_sweep_result *r, within *w) {
  char text[2048];
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"seed\": 4, \"trials\": 9, \"data\": {\"dir\": \"%s\", \"validation\": 0.2},"
           " \"model\": {\"batch_size\": 16, \"hidden\": 8},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-3, \"max\": 3e-1},"
           "   \"optimizer\": {\"values\": [\"sgd\", \"adam\"]}, \"layers\": {\"values\": [1, 2]},"
           "   \"dropout\": {\"values\": [0, 0.2]}},"
           " \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 4, \"eta\": 3}}",
           synth_idx_dir("chunks", 500, 100, 12, 3, 1.5, true));
  caviar_backend *be;
  caviar_error err;
  cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
  caviar_test_chunk_steps = chunk_steps;
  sweep_text_on(be, text, r, count_within, w);
  caviar_test_chunk_steps = 0;
  be->destroy(be);
}

Test(progress, chunked_epochs_train_exactly_as_whole_ones_and_report_from_inside) {
  caviar_sweep_result whole, chunked;
  within w1 = {.best = NAN, .best_trial = -1}, w2 = {.best = NAN, .best_trial = -1};
  run_chunked(1 << 30, &whole, &w1); /* one chunk per epoch */
  run_chunked(3, &chunked, &w2);     /* 25 steps an epoch: 9 chunks, the last one short */
  cr_expect_eq(w1.within, 0, "one chunk an epoch: no report from inside");
  cr_expect_gt(w2.within, 8 * 3, "a report after every chunk but the last of each epoch");
  cr_expect_eq(w2.decreasing_fraction, 0, "within an epoch the fraction done grows and stays below 1");
  /* The last report's best is the leaderboard's first: its trial, value and epoch. */
  int order[9];
  caviar_spec spec;
  spec_ok("{\"method\": \"random\", \"parameters\": {}}", &spec);
  caviar_result_order(&spec, &whole, order);
  const caviar_trial_result *first = &whole.trials[order[0]];
  cr_expect_eq(w1.best_trial, (int)first->trial.id, "the progress line's best is trial %d, the leaderboard's %u",
               w1.best_trial, (unsigned)first->trial.id);
  cr_expect(w1.best == first->val_acc, "best %g vs the leaderboard's %g", (double)w1.best, (double)first->val_acc);
  cr_expect_eq(w1.best_epoch, first->epochs);
  caviar_spec_free(&spec);
  cr_assert_eq(whole.n_curve, chunked.n_curve);
  for (size_t i = 0; i < whole.n_curve; i++) {
    const caviar_curve_point *a = &whole.curve[i], *b = &chunked.curve[i];
    cr_expect_eq(a->trial, b->trial);
    cr_expect_eq(a->epoch, b->epoch);
    /* The same steps on the same rows: the same weights, so bit-identical evaluations. */
    cr_expect(a->val_loss == b->val_loss || (isnan(a->val_loss) && isnan(b->val_loss)), "trial %u epoch %d: %.9g vs %.9g",
              a->trial, a->epoch, (double)a->val_loss, (double)b->val_loss);
    cr_expect(a->val_acc == b->val_acc || (isnan(a->val_acc) && isnan(b->val_acc)));
    /* The epoch's mean loss, summed chunk by chunk: equal to rounding. */
    if (isfinite(a->train_loss))
      cr_expect_float_eq(a->train_loss, b->train_loss, 1e-5f * fabsf(a->train_loss) + 1e-7f, "trial %u epoch %d",
                         a->trial, a->epoch);
  }
  for (int i = 0; i < whole.n_trials; i++) cr_expect_eq(whole.trials[i].status, chunked.trials[i].status);
  caviar_sweep_result_free(&whole);
  caviar_sweep_result_free(&chunked);
}

/* ---- The progress line's fields against what the sweep did: refill, Hyperband, a resume ---- */

#define MAX_REPORTS 256

/* Every report at an epoch boundary: the fields, and the members trained in the epoch just done. */
typedef struct boundaries {
  int n;
  caviar_progress p[MAX_REPORTS];
  char line[MAX_REPORTS][512];
  volatile sig_atomic_t stop; /* set at the boundary after stop_at epochs (0: never) */
  int stop_at;
} boundaries;

static void record_boundary(const caviar_progress *p, void *ctx) {
  boundaries *b = ctx;
  if (p->within_epoch) return;
  cr_assert_lt(b->n, MAX_REPORTS);
  b->p[b->n] = *p;
  caviar_progress_line(p, 200, b->line[b->n], sizeof b->line[b->n]);
  b->n++;
  if (b->stop_at > 0 && p->epoch == b->stop_at) b->stop = 1;
}

static const char *progress_spec(const char *name, const char *extra) {
  static char text[2048];
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"seed\": 7, \"data\": {\"dir\": \"%s\", \"validation\": 0.2},"
           " \"model\": {\"batch_size\": 32, \"hidden\": 8, \"epochs\": 9},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 3e-3, \"max\": 3e-2},"
           "   \"layers\": {\"values\": [1, 2]}}, %s}",
           synth_idx_dir(name, 400, 100, 12, 3, 1.5, true), extra);
  return text;
}

/* Member-epochs trained after report k: the members each later epoch trained. */
static double trained_after(const boundaries *b, int k) {
  double sum = 0;
  for (int j = k + 1; j < b->n; j++) sum += b->p[j].trained;
  return sum;
}

static void run_recorded(const char *text, caviar_sweep_result *r, boundaries *b) {
  caviar_backend *be;
  caviar_error err;
  cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
  sweep_text_on(be, text, r, record_boundary, b);
  be->destroy(be);
}

Test(progress, everyone_started_together_the_epochs_left_are_exactly_what_was_then_trained) {
  /* Successive halving and Hyperband with the whole population at once: the culls are known in
   * advance, so the count behind the ETA must be exact at every epoch boundary. */
  const char *kinds[] = {"\"trials\": 9, \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, "
                         "\"max_epochs\": 9, \"eta\": 3}",
                         "\"early_terminate\": {\"type\": \"hyperband\", \"min_iter\": 1, \"max_iter\": 9, \"eta\": 3}"};
  for (int kind = 0; kind < 2; kind++) {
    boundaries *b = calloc(1, sizeof *b);
    caviar_sweep_result r;
    run_recorded(progress_spec(kind ? "hb" : "sh", kinds[kind]), &r, b);
    cr_assert_gt(b->n, 3);
    for (int k = 1; k < b->n; k++) {
      cr_expect_float_eq(b->p[k].epochs_left, trained_after(b, k), 1e-9, "%s, epoch %d: %g member-epochs left, %g trained",
                         kind ? "hyperband" : "successive halving", b->p[k].epoch, b->p[k].epochs_left, trained_after(b, k));
      cr_expect_eq(b->p[k].epochs, 9);
      cr_expect(b->p[k].epoch_lo == b->p[k].epoch_hi, "started together, trained together: %s", b->line[k]);
      if (b->p[k].alive > 0) cr_expect_eq(b->p[k].epoch_lo, b->p[k].epoch, "%s", b->line[k]);
    }
    cr_expect_eq(b->p[b->n - 1].epochs_left, 0);
    cr_expect_eq(b->p[b->n - 1].eta_s, 0);
    /* The run trained what the first report planned: the member-epochs in the curves. */
    cr_expect_float_eq(b->p[0].epochs_left, (double)r.n_curve, 1e-9, "%g planned, %zu trained", b->p[0].epochs_left,
                       r.n_curve);
    caviar_sweep_result_free(&r);
    free(b);
  }
}

Test(progress, a_refilled_population_shows_its_members_epochs_out_of_max_epochs_and_ends_exact) {
  /* Refill: 12 trials, 4 at a time, rungs at 1 and 3 of 9 epochs. */
  boundaries *b = calloc(1, sizeof *b);
  caviar_sweep_result r;
  run_recorded(progress_spec("refill", "\"trials\": 12, \"population\": 4, \"early_terminate\": {\"type\": "
                                       "\"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 9, \"eta\": 3}"),
               &r, b);
  int apart = 0;
  for (int k = 1; k < b->n; k++) {
    const caviar_progress *p = &b->p[k];
    cr_expect_eq(p->epochs, 9, "max_epochs, not the population's epoch count: %s", b->line[k]);
    cr_expect(p->epoch_lo <= p->epoch_hi && p->epoch_hi <= 9, "%s", b->line[k]);
    apart += p->epoch_lo != p->epoch_hi;
    int lo, hi, max;
    if (sscanf(b->line[k], "epochs %d-%d/%d", &lo, &hi, &max) == 3) cr_expect(hi <= max && lo < hi, "%s", b->line[k]);
    else cr_expect(sscanf(b->line[k], "epoch %d/%d", &lo, &max) == 2 && lo <= max, "%s", b->line[k]);
    /* Every trial started and every one training past the last rung: what is left is known. */
    if (p->trials == p->budget && p->epoch_lo >= 3)
      cr_expect_float_eq(p->epochs_left, trained_after(b, k), 1e-9, "%s: %g left, %g trained", b->line[k],
                         p->epochs_left, trained_after(b, k));
    cr_expect_geq(p->epochs_left, 0);
  }
  cr_expect_gt(apart, 0, "refill never had members at different epochs");
  cr_expect_eq(b->p[b->n - 1].epochs_left, 0);
  cr_expect(strstr(b->line[b->n - 1], "ETA 0s"), "%s", b->line[b->n - 1]);
  caviar_sweep_result_free(&r);
  free(b);
}

/* The sweep in text with its state in dir: stopped at the boundary after stop_at epochs (0: run to
 * the end), or resumed from the snapshot there. */
static void run_with_state(const char *text, const char *dir, bool resume, boundaries *b, caviar_sweep_result *r) {
  caviar_spec spec;
  spec_ok(text, &spec);
  caviar_data data;
  caviar_error err;
  cr_assert_eq(caviar_data_load(&spec.data, spec.seed, &data, &err), CAVIAR_OK, "%s", err.msg);
  caviar_backend *be;
  cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
  caviar_sweep_state *state;
  char note[2600];
  if (resume) cr_assert_eq(caviar_state_resume(dir, 0, &state, note, sizeof note, &err), CAVIAR_OK, "%s", err.msg);
  else cr_assert_eq(caviar_state_create(dir, "{}", 0, &state, &err), CAVIAR_OK, "%s", err.msg);
  caviar_sweep sweep = {.spec = &spec, .seed = spec.seed, .trials = -1, .backend = be, .data = &data,
                        .progress = record_boundary, .progress_ctx = b, .state = state, .stop = &b->stop};
  cr_assert_eq(caviar_sweep_run(&sweep, r, &err), CAVIAR_OK, "%s", err.msg);
  caviar_state_close(state, !r->interrupted);
  be->destroy(be);
  caviar_data_free(&data);
  caviar_spec_free(&spec);
}

Test(progress, after_a_resume_the_rate_counts_only_this_runs_samples_and_the_fields_go_on_as_before) {
  const char *text = progress_spec("resume", "\"trials\": 12, \"population\": 4, \"early_terminate\": {\"type\": "
                                             "\"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 9, \"eta\": 3}");
  boundaries *whole = calloc(1, sizeof *whole), *first = calloc(1, sizeof *first), *rest = calloc(1, sizeof *rest);
  caviar_sweep_result a, b, c;
  run_with_state(text, scratch_path("whole"), false, whole, &a);
  first->stop_at = 4;
  run_with_state(text, scratch_path("stopped"), false, first, &b);
  cr_assert(b.interrupted, "the stop at epoch 4 did not stop the sweep");
  run_with_state(text, scratch_path("stopped"), true, rest, &c);
  cr_assert_gt(rest->n, 1);
  /* The resumed run's reports are the uninterrupted run's after epoch 4, the boundary it stopped at. */
  int stop = 0, at = 0;
  while (stop < whole->n && whole->p[stop].epoch != 4) stop++;
  while (at < whole->n && whole->p[at].epoch != rest->p[0].epoch) at++;
  cr_assert_lt(at, whole->n, "the resumed run starts at epoch %d, which the whole run never reported", rest->p[0].epoch);
  cr_assert_eq(at, stop + 1, "the resumed run's first report is after epoch %d", rest->p[0].epoch);
  cr_assert_eq(whole->n - at, rest->n, "%d reports after the resume, %d in the whole run from there", rest->n, whole->n - at);
  double before = whole->p[stop].model_samples;
  for (int k = 0; k < rest->n; k++) {
    const caviar_progress *p = &rest->p[k], *q = &whole->p[at + k];
    /* Samples this process trained: the whole run's since that boundary, not since the start. */
    cr_expect_float_eq(p->model_samples, q->model_samples - before, 1e-6,
                       "epoch %d: %g samples counted after the resume, %g trained", p->epoch, p->model_samples,
                       q->model_samples - before);
    if (p->training_s > 0) cr_expect_float_eq(p->model_samples_per_s, p->model_samples / p->training_s, 1e-9);
    cr_expect_eq(p->epoch_lo, q->epoch_lo, "epoch %d", p->epoch);
    cr_expect_eq(p->epoch_hi, q->epoch_hi, "epoch %d", p->epoch);
    cr_expect_float_eq(p->epochs_left, q->epochs_left, 1e-9, "epoch %d: %g left resumed, %g uninterrupted", p->epoch,
                       p->epochs_left, q->epochs_left);
    cr_expect_eq(p->best_trial, q->best_trial, "epoch %d", p->epoch);
    cr_expect(p->best == q->best, "epoch %d: best %g resumed, %g uninterrupted", p->epoch, (double)p->best, (double)q->best);
  }
  caviar_sweep_result_free(&a);
  caviar_sweep_result_free(&b);
  caviar_sweep_result_free(&c);
  free(whole);
  free(first);
  free(rest);
}

/* ---- The progress report looks at the running trials only: the same answers as a full scan ---- */

/* At each epoch boundary, after the progress report: the report's leader and epochs against a
 * scan of every trial of the results (caviar_result_leader, the running trials' epochs). */
typedef struct scanned {
  const caviar_spec *spec;
  caviar_progress last; /* the last report at an epoch boundary */
  int checked, with_leader, rounds;
} scanned;

static void keep_boundary(const caviar_progress *p, void *ctx) {
  if (!p->within_epoch) ((scanned *)ctx)->last = *p;
}

static caviar_status scan_every_trial(const caviar_sweep_result *r, void *ctx, caviar_error *err) {
  (void)err;
  scanned *s = ctx;
  const caviar_progress *p = &s->last;
  int leader = caviar_result_leader(s->spec, r), epoch = 0, expected = -1;
  if (leader >= 0 && !isnan(caviar_trial_value(s->spec, &r->trials[leader], r->target_std, &epoch)))
    expected = (int)r->trials[leader].trial.id;
  cr_expect_eq(p->best_trial, expected, "epoch %d of round %d: the report's leader is trial %d, a scan of all %d finds %d",
               p->epoch, p->round, p->best_trial, r->n_trials, expected);
  if (expected >= 0) cr_expect_eq(p->best_epoch, epoch, "epoch %d: the leader's epoch", p->epoch);
  int lo = INT_MAX, hi = 0, alive = 0;
  for (int i = 0; i < r->n_trials; i++)
    if (r->trials[i].status == CAVIAR_TRIAL_RUNNING) {
      alive++;
      if (r->trials[i].epochs < lo) lo = r->trials[i].epochs;
      if (r->trials[i].epochs > hi) hi = r->trials[i].epochs;
    }
  if (alive > 0) {
    cr_expect_eq(p->epoch_lo, lo, "epoch %d: the running trials' fewest epochs", p->epoch);
    cr_expect_eq(p->epoch_hi, hi, "epoch %d: the running trials' most epochs", p->epoch);
  }
  s->checked++;
  s->with_leader += expected >= 0;
  if (p->round + 1 > s->rounds) s->rounds = p->round + 1;
  return CAVIAR_OK;
}

/* text with its first from replaced by to. */
static void replace_once(char *text, size_t size, const char *from, const char *to) {
  char *at = strstr(text, from), rest[2048];
  cr_assert(at && strlen(text) - strlen(from) + strlen(to) < size);
  snprintf(rest, sizeof rest, "%s", at + strlen(from));
  snprintf(at, size - (size_t)(at - text), "%s%s", to, rest);
}

Test(progress, the_reported_leader_and_epochs_equal_a_scan_of_every_trial_in_every_strategy) {
  const char *kinds[][2] = {
      {"sh", "\"trials\": 9, \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 9, "
             "\"eta\": 3}"},
      {"refill", "\"trials\": 14, \"population\": 4, \"early_terminate\": {\"type\": \"successive_halving\", "
                 "\"min_epochs\": 1, \"max_epochs\": 9, \"eta\": 3}"},
      {"hb", "\"early_terminate\": {\"type\": \"hyperband\", \"min_iter\": 1, \"max_iter\": 9, \"eta\": 3}"},
      {"pbt", "\"trials\": 6, \"early_terminate\": {\"type\": \"pbt\", \"interval\": 2}"},
      {"best", "\"trials\": 8, \"population\": 3, \"early_terminate\": {\"type\": "
               "\"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 9, \"eta\": 2}"},
      {"c2f", "\"trials\": 6, \"coarse_to_fine\": {\"rounds\": 3, \"zoom\": 0.5, \"top_k\": 2}, \"early_terminate\": "
              "{\"type\": \"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 9, \"eta\": 3}"}};
  for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
    char text[2048];
    snprintf(text, sizeof text, "%s", progress_spec(kinds[k][0], kinds[k][1]));
    if (!strcmp(kinds[k][0], "c2f")) replace_once(text, sizeof text, "\"random\"", "\"coarse-to-fine\"");
    if (!strcmp(kinds[k][0], "best")) replace_once(text, sizeof text, "\"epochs\": 9}", "\"epochs\": 9, \"keep\": \"best\"}");
    caviar_spec spec; /* for the scan's ranking */
    spec_ok(text, &spec);
    scanned s = {.spec = &spec};
    caviar_sweep_result r;
    sweep_text_hooked(text, &r, &(caviar_sweep){.progress = keep_boundary, .progress_ctx = &s,
                                                .each_epoch = scan_every_trial, .each_epoch_ctx = &s});
    cr_expect_gt(s.checked, 8, "%s: %d epoch boundaries checked", kinds[k][0], s.checked);
    cr_expect_gt(s.with_leader, 4, "%s", kinds[k][0]);
    if (!strcmp(kinds[k][0], "c2f")) cr_expect_eq(s.rounds, 3, "coarse to fine: every round checked");
    caviar_sweep_result_free(&r);
    caviar_spec_free(&spec);
  }
}
