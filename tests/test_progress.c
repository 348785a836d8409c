/* The progress line: it never exceeds the width it is given, and it keeps the most important
 * fields (the epoch, the best so far, the ETA) longest. The trainer's epochs in chunks: the same
 * training as whole epochs, with progress from inside them. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "caviar/progress_line.h"
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
  int reports, within, decreasing_fraction, best_dropped;
  double last_fraction;
  float best;
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
  /* Best so far never goes down (val_acc), even as the best trials are culled. */
  if (!isnan(w->best) && (isnan(p->best) || p->best < w->best)) w->best_dropped++;
  if (!isnan(p->best)) w->best = p->best;
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
  within w1 = {.best = NAN}, w2 = {.best = NAN};
  run_chunked(1 << 30, &whole, &w1); /* one chunk per epoch */
  run_chunked(3, &chunked, &w2);     /* 25 steps an epoch: 9 chunks, the last one short */
  cr_expect_eq(w1.within, 0, "one chunk an epoch: no report from inside");
  cr_expect_gt(w2.within, 8 * 3, "a report after every chunk but the last of each epoch");
  cr_expect_eq(w2.decreasing_fraction, 0, "within an epoch the fraction done grows and stays below 1");
  cr_expect_eq(w1.best_dropped + w2.best_dropped, 0, "best so far went down");
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
