/* The progress line: it never exceeds the width it is given, and it keeps the most important
 * fields (the epoch, the best so far, the ETA) longest. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "caviar/progress_line.h"

/* A mid-sweep state with every field present: round, rung, best alive, a known ETA. */
static caviar_progress busy(void) {
  caviar_progress p = {0};
  p.round = 1;
  p.rounds = 3;
  p.epoch = 12;
  p.epochs = 27;
  p.within_epoch = true;
  p.epoch_done = 0.375;
  p.rung = 2;
  p.rungs = 4;
  p.alive = 123;
  p.trials = 1234;
  p.budget = 4096;
  p.metric = "val_acc";
  p.best = 0.91234f;
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
                            "best val_acc 0.9123", "best alive 0.8765", "123456.8k model-samples/s",
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
