/* caviar sweep's flags end to end on synthetic data: --json against summary.json, --quiet, the
 * log's one line per epoch, the leaderboard's swept columns, --keep, --time-budget, --dry-run,
 * -p/--population, --threads; and every command's help listing -h. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scratch.h"
#include "synth_support.h"

/* 9 trials, successive halving over 9 epochs (rungs at 1 and 3), 2 shapes (layers 1 or 2). */
static const char *write_spec(const char *name, int trials) {
  const char *dir = synth_idx_dir(name, 600, 200, 16, 4, 1.5, true);
  char text[2048], file[256];
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"trials\": %d, \"seed\": 5,"
           " \"data\": {\"dir\": \"%s\", \"validation\": 0.2},"
           " \"model\": {\"batch_size\": 32, \"hidden\": 8},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-3, \"max\": 3e-2},"
           "   \"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.8, \"max\": 0.95},"
           "   \"l2\": {\"values\": [0, 1e-4]},"
           "   \"layers\": {\"values\": [1, 2]}, \"activation\": {\"values\": [\"relu\", \"tanh\"]}},"
           " \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 9, \"eta\": 3}}",
           trials, dir);
  snprintf(file, sizeof file, "%s.json", name);
  scratch_write_text(file, text);
  return scratch_path(file);
}

static cli_result sweep(const char *spec, const char *out, const char *flags) {
  char args[4096];
  snprintf(args, sizeof args, "sweep %s -o %s --force %s", spec, out, flags);
  return run_caviar(args);
}

static cJSON *trial_by_id(cJSON *trials, int id) {
  cJSON *t;
  cJSON_ArrayForEach(t, trials) if (cJSON_GetObjectItem(t, "trial")->valueint == id) return t;
  return NULL;
}

Test(sweep_flags, json_leaderboard_parses_and_matches_summary_json) {
  char out[1024];
  strcpy(out, scratch_path("json-out"));
  cli_result r = sweep(write_spec("json", 9), out, "--json");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cJSON *board = cJSON_Parse(r.out);
  cr_assert_not_null(board, "stdout is not JSON: %s", r.out);
  char path[1200];
  snprintf(path, sizeof path, "%s/summary.json", out);
  cJSON *summary = scratch_read_json(path);
  cJSON *rows = cJSON_GetObjectItem(board, "leaderboard"), *trials = cJSON_GetObjectItem(summary, "trials");
  cr_assert_eq(cJSON_GetArraySize(rows), cJSON_GetArraySize(trials));
  cr_expect_str_eq(cJSON_GetObjectItem(board, "metric")->valuestring, "val_acc");
  int rank = 0;
  cJSON *row;
  double last_survivor_acc = INFINITY;
  cJSON_ArrayForEach(row, rows) {
    cr_expect_eq(cJSON_GetObjectItem(row, "rank")->valueint, ++rank);
    cJSON *t = trial_by_id(trials, cJSON_GetObjectItem(row, "trial")->valueint);
    cr_assert_not_null(t);
    /* Every field summary.json has, the same. */
    cJSON *field;
    cJSON_ArrayForEach(field, t) {
      cJSON *same = cJSON_GetObjectItem(row, field->string);
      cr_expect(same && cJSON_Compare(field, same, true), "trial %d: %s differs", rank, field->string);
    }
    if (!strcmp(cJSON_GetObjectItem(row, "status")->valuestring, "survived")) {
      double acc = cJSON_GetObjectItem(row, "val_acc")->valuedouble;
      cr_expect_leq(acc, last_survivor_acc, "survivors best first");
      last_survivor_acc = acc;
    }
  }
  cr_expect_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0), "trial")->valueint,
               cJSON_GetObjectItem(cJSON_GetObjectItem(summary, "best"), "trial")->valueint, "rank 1 is summary's best");
  cJSON_Delete(board);
  cJSON_Delete(summary);
  cli_result_free(&r);
}

Test(sweep_flags, a_log_gets_one_plain_line_per_epoch_and_quiet_gets_none) {
  char out[1024];
  strcpy(out, scratch_path("log-out"));
  const char *spec = write_spec("log", 9);
  cli_result r = sweep(spec, out, "");
  cr_assert_eq(r.status, 0, "%s", r.err);
  int epoch_lines = 0;
  for (const char *line = r.err; (line = strstr(line, "\nepoch")); line++) epoch_lines++;
  /* The line at the start, then one per epoch: 9 epochs (someone survives to the end). */
  cr_expect_eq(epoch_lines, 10, "%s", r.err);
  cr_expect_null(strchr(r.err, '\r'), "no redraws outside a terminal");
  cr_expect_null(strstr(r.err, "\033["), "no escape codes outside a terminal");
  cr_expect(strstr(r.err, "best val_acc") != NULL, "%s", r.err);
  /* The leaderboard names the spec's swept parameters (no width limit outside a terminal). */
  const char *columns[] = {"status", "epochs", "val_acc", "lr", "beta1", "l2", "layers", "act", "test_acc"};
  for (size_t i = 0; i < sizeof columns / sizeof columns[0]; i++)
    cr_expect(strstr(r.out, columns[i]) != NULL, "no %s column: %s", columns[i], r.out);
  cr_expect(strstr(r.out, "not shown") == NULL, "%s", r.out);
  cli_result_free(&r);

  r = sweep(spec, out, "--quiet");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_expect_str_eq(r.err, "", "--quiet printed: %s", r.err);
  cr_expect(strstr(r.out, "rank") != NULL, "the leaderboard still goes to stdout");
  cli_result_free(&r);
}

static int count_models(const char *out) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "ls %s/best | wc -l > %s", out, scratch_path("count"));
  cr_assert_eq(system(cmd), 0);
  char *text = scratch_read(scratch_path("count"), NULL);
  int n = atoi(text);
  free(text);
  return n;
}

Test(sweep_flags, keep_caps_best_at_the_top_survivors) {
  char out[1024], path[1200];
  strcpy(out, scratch_path("keep-out"));
  /* 27 trials, eta 3: three survivors; keep the best two. */
  const char *spec = write_spec("keep", 27);
  cli_result r = sweep(spec, out, "-q --keep 2");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  cr_expect_eq(count_models(out), 2);
  snprintf(path, sizeof path, "%s/summary.json", out);
  cJSON *summary = scratch_read_json(path);
  cJSON *t;
  int survivors = 0, listed = 0;
  double kept_worst = INFINITY, dropped_best = -INFINITY;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(summary, "trials")) {
    if (strcmp(cJSON_GetObjectItem(t, "status")->valuestring, "survived")) continue;
    survivors++;
    double acc = cJSON_GetObjectItem(t, "val_acc")->valuedouble;
    cJSON *model = cJSON_GetObjectItem(t, "model");
    if (model) {
      listed++;
      snprintf(path, sizeof path, "%s/%s", out, model->valuestring);
      cr_expect(access(path, F_OK) == 0, "%s listed but missing", path);
      kept_worst = fmin(kept_worst, acc);
    } else {
      dropped_best = fmax(dropped_best, acc);
    }
  }
  cr_expect_eq(survivors, 3);
  cr_expect_eq(listed, 2, "summary.json lists the models best/ holds");
  cr_expect_geq(kept_worst, dropped_best, "the best survivors are the ones kept");
  cJSON_Delete(summary);
  /* 0 keeps them all. */
  r = sweep(spec, out, "-q --keep 0");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  cr_expect_eq(count_models(out), 3);
}

Test(sweep_flags, a_time_budget_stops_at_an_epoch_boundary_and_reports_what_finished) {
  char out[1024], path[1200];
  strcpy(out, scratch_path("budget-out"));
  const char *spec = write_spec("budget", 9);
  /* A budget spent before the first epoch ends: the sweep stops at its first boundary, a rung. */
  cli_result r = sweep(spec, out, "--time-budget 0.001s");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.err, "time budget") != NULL, "%s", r.err);
  cli_result_free(&r);
  snprintf(path, sizeof path, "%s/summary.json", out);
  cJSON *summary = scratch_read_json(path);
  cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(summary, "stopped_by_time_budget")));
  cJSON *t;
  int running = 0;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(summary, "trials")) {
    cr_expect_eq(cJSON_GetObjectItem(t, "epochs")->valueint, 1, "everyone stopped after the first epoch");
    running += !strcmp(cJSON_GetObjectItem(t, "status")->valuestring, "running");
  }
  cr_expect_eq(running, 3, "the rung at epoch 1 promoted 3 of 9, then the budget stopped them");
  cJSON_Delete(summary);
  cr_expect_eq(count_models(out), 0);
  /* A generous budget changes nothing. */
  r = sweep(spec, out, "-q --time-budget 1h");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  summary = scratch_read_json(path);
  cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(summary, "stopped_by_time_budget")));
  cr_expect_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(summary, "best"), "epochs")->valueint, 9);
  cJSON_Delete(summary);
}

Test(sweep_flags, dry_run_reports_trials_cohorts_memory_and_time_and_writes_nothing) {
  char out[1024];
  strcpy(out, scratch_path("dry-out"));
  const char *spec = write_spec("dry", 27);
  cli_result r = sweep(spec, out, "--dry-run -p 4");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.out, "trials       27\n") != NULL, "%s", r.out);
  cr_expect(strstr(r.out, "population   4 at once") != NULL, "-p sets the population: %s", r.out);
  cr_expect(strstr(r.out, "cohorts      2 ") != NULL, "layers 1 or 2: two shapes: %s", r.out);
  cr_expect(strstr(r.out, "MiB of arenas") != NULL, "%s", r.out);
  cr_expect(strstr(r.out, "host memory  ") != NULL && strstr(r.out, "bytes a trial") != NULL, "%s", r.out);
  const char *time = strstr(r.out, "time         ~");
  cr_expect(time != NULL && strstr(r.out, "estimated") != NULL, "%s", r.out);
  cr_expect(access(out, F_OK) != 0, "a dry run wrote %s", out);
  cli_result_free(&r);
}

Test(sweep_flags, population_and_threads_take_effect) {
  char out[1024], path[1200];
  strcpy(out, scratch_path("pop-out"));
  const char *spec = write_spec("pop", 9);
  cli_result r = sweep(spec, out, "-p 3 --threads 1");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.err, "1 OpenMP thread)") != NULL, "--threads 1: %s", r.err);
  /* Trials start as slots free up: the progress line shows the epochs of those training, out of
   * the 9 any trial trains, never the population's count of epoch boundaries. */
  for (const char *at = strstr(r.err, "epoch"); at; at = strstr(at + 1, "\nepoch")) {
    int lo, hi, max;
    const char *line = at[0] == '\n' ? at + 1 : at;
    if (sscanf(line, "epochs %d-%d/%d", &lo, &hi, &max) == 3) cr_expect(lo < hi && hi <= 9 && max == 9, "%.80s", line);
    else cr_expect(sscanf(line, "epoch %d/%d", &lo, &max) == 2 && lo <= 9 && max == 9, "%.80s", line);
  }
  cli_result_free(&r);
  snprintf(path, sizeof path, "%s/summary.json", out);
  cJSON *summary = scratch_read_json(path);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(summary, "trials")), 9, "every trial ran, 3 at a time");
  cJSON_Delete(summary);
}

Test(sweep_flags, bad_flag_values_are_one_line_usage_errors) {
  const char *cases[][2] = {{"sweep --time-budget soon", "--time-budget expects a duration"},
                            {"sweep --time-budget 0", "--time-budget expects a duration"},
                            {"sweep --threads 0", "--threads expects a whole number from 1"},
                            {"train --threads x", "--threads expects a whole number from 1"},
                            {"bench --threads -2", "--threads expects a whole number from 1"},
                            {"sweep -p x", "--population expects a whole number"},
                            {"sweep --keep -1", "--keep expects a whole number"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cli_result r = run_caviar(cases[i][0]);
    cr_expect_eq(r.status, 2, "%s", cases[i][0]);
    cr_expect_eq(count_lines(r.err), 1, "%s: %s", cases[i][0], r.err);
    cr_expect(strstr(r.err, cases[i][1]) != NULL, "%s: %s", cases[i][0], r.err);
    cli_result_free(&r);
  }
}

Test(sweep_flags, every_command_lists_h_and_its_data_and_threads_flags) {
  const char *commands[] = {"sweep", "sample", "train", "eval", "bench", "spec", "synth", "info", "report"};
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    char args[64];
    snprintf(args, sizeof args, "%s -h", commands[i]);
    cli_result r = run_caviar(args);
    cr_expect_eq(r.status, 0, "%s", args);
    cr_expect(strstr(r.out, "-h, --help") != NULL, "%s does not list -h: %s", args, r.out);
    bool trains = !strcmp(commands[i], "sweep") || !strcmp(commands[i], "train") || !strcmp(commands[i], "bench");
    if (trains) cr_expect(strstr(r.out, "--threads N") != NULL, "%s: no --threads", args);
    if (trains || !strcmp(commands[i], "eval")) cr_expect(strstr(r.out, "--data") != NULL, "%s: no --data", args);
    cli_result_free(&r);
  }
}

Test(sweep_flags, overrides_that_contradict_the_spec_are_refused_or_follow_the_new_method) {
  const char *dir = synth_idx_dir("contra", 600, 200, 16, 4, 1.5, true);
  char text[1024];
  /* PBT trains its whole population together: -p cannot cut it into groups. */
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"trials\": 8, \"seed\": 5, \"data\": {\"dir\": \"%s\"},"
           " \"model\": {\"batch_size\": 32, \"hidden\": 8},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-3, \"max\": 3e-2}},"
           " \"early_terminate\": {\"type\": \"pbt\", \"interval\": 1}}",
           dir);
  scratch_write_text("contra-pbt.json", text);
  cli_result r = sweep(scratch_path("contra-pbt.json"), scratch_path("contra-out"), "-p 4");
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "pbt trains the whole population together") != NULL, "%s", r.err);
  cli_result_free(&r);
  /* Hyperband's brackets hold 5 trials of their own; -n scales them (sample -n draws the same). */
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"seed\": 5, \"data\": {\"dir\": \"%s\"},"
           " \"model\": {\"batch_size\": 32, \"hidden\": 8},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-3, \"max\": 3e-2}},"
           " \"early_terminate\": {\"type\": \"hyperband\", \"min_iter\": 1, \"max_iter\": 3, \"eta\": 3}}",
           dir);
  scratch_write_text("contra-hb.json", text);
  r = sweep(scratch_path("contra-hb.json"), scratch_path("contra-out"), "-n 7 --dry-run");
  cr_expect_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.out, "trials       7\n") != NULL, "%s", r.out);
  cr_expect(strstr(r.err, "caviar: note: hyperband runs 7 trials: bracket 1: 4 trials, rungs at epochs 1; bracket 0: 3 trials, no rung; every trial ends by epoch 3") != NULL, "%s", r.err);
  cli_result_free(&r);
  r = sweep(scratch_path("contra-hb.json"), scratch_path("contra-out"), "--dry-run");
  cr_expect_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.out, "trials       5\n") != NULL, "%s", r.out);
  cr_expect(strstr(r.err, "caviar: note: hyperband runs 5 trials: bracket 1: 3 trials, rungs at epochs 1; bracket 0: 2 trials, no rung") != NULL, "%s", r.err);
  cli_result_free(&r);
  /* A grid without trials means all its points; switched to random it means the usual 16. */
  snprintf(text, sizeof text,
           "{\"method\": \"grid\", \"seed\": 5, \"data\": {\"dir\": \"%s\"}, \"model\": {\"batch_size\": 32},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-3, \"max\": 3e-2,"
           " \"grid_points\": 4}}}",
           dir);
  scratch_write_text("contra-grid.json", text);
  r = sweep(scratch_path("contra-grid.json"), scratch_path("contra-out"), "--method random --dry-run");
  cr_expect_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.out, "trials       16\n") != NULL, "%s", r.out);
  cli_result_free(&r);
  r = sweep(scratch_path("contra-grid.json"), scratch_path("contra-out"), "--dry-run --json");
  cJSON *estimate = cJSON_Parse(r.out);
  cr_expect(estimate != NULL, "--dry-run --json: %s", r.out);
  cr_expect_eq(cJSON_GetObjectItem(estimate, "trials") ? cJSON_GetObjectItem(estimate, "trials")->valueint : -1, 4);
  cJSON_Delete(estimate);
  cli_result_free(&r);
  /* --trial picks a trial of a spec; a sample line is one trial already. */
  char args[2400];
  snprintf(args, sizeof args, "%s sample %s -n 1 > %s", CAVIAR_BIN, scratch_path("contra-grid.json"),
           scratch_path("line.json"));
  cr_assert_eq(system(args), 0, "%s", args);
  snprintf(args, sizeof args, "train %s --trial 3 --epochs 1", scratch_path("line.json"));
  r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "--trial picks a trial of a sweep spec") != NULL, "%s", r.err);
  cli_result_free(&r);
}

Test(sweep_flags, an_output_folder_in_folders_not_made_yet_is_made_as_mkdir_p_would) {
  char out[1024];
  snprintf(out, sizeof out, "%s/runs/deep/a", scratch_dir());
  cli_result r = sweep(write_spec("parents", 3), out, "-q");
  cr_expect_eq(r.status, 0, "%s", r.err);
  char path[1200];
  snprintf(path, sizeof path, "%s/summary.json", out);
  cr_expect_eq(access(path, F_OK), 0, "no %s", path);
  cli_result_free(&r);
  /* A file where a folder must go is one line naming it. */
  scratch_write_text("afile", "x");
  snprintf(out, sizeof out, "%s/x/y", scratch_path("afile"));
  r = sweep(write_spec("parents2", 3), out, "-q");
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
  cr_expect(strstr(r.err, "afile: exists and is not a folder") != NULL, "%s", r.err);
  cli_result_free(&r);
  /* A dry run makes nothing. */
  snprintf(out, sizeof out, "%s/dry/runs/a", scratch_dir());
  r = sweep(write_spec("parents3", 3), out, "--dry-run");
  cr_expect_eq(r.status, 0, "%s", r.err);
  snprintf(path, sizeof path, "%s/dry", scratch_dir());
  cr_expect_neq(access(path, F_OK), 0, "a dry run made %s", path);
  cli_result_free(&r);
}

Test(sweep_flags, a_grid_error_names_its_json_path_before_any_data_is_read) {
  /* The data folder does not exist: the grid's error must come first. */
  scratch_write_text("grid.json",
                     "{\"method\": \"random\", \"data\": {\"dir\": \"/nonexistent/data\"}, \"parameters\": {"
                     " \"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1e-1}}}");
  cli_result r = sweep(scratch_path("grid.json"), scratch_path("grid-out"), "--method grid");
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
  cr_expect(strstr(r.err, "grid.json: parameters.learning_rate: a grid over log_uniform_values needs grid_points") != NULL,
            "%s", r.err);
  cli_result_free(&r);
}

/* The leaderboard's first row, summary.json's best and the last progress line say the same best:
 * the trial, its value and the epoch it is from; the ranking rule is printed under the board. */
static void expect_one_best(const char *keep) {
  const char *dir = synth_idx_dir("onebest", 400, 150, 24, 4, 2.5, false);
  char text[2048], name[64], out[1024], path[1200];
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"trials\": 6, \"seed\": 3, \"data\": {\"dir\": \"%s\", \"validation\": 0.3},"
           " \"model\": {\"batch_size\": 16, \"hidden\": 32, \"epochs\": 9, \"keep\": \"%s\"},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 3e-3, \"max\": 1e-1}},"
           " \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 3, \"max_epochs\": 9, \"eta\": 3}}",
           dir, keep);
  snprintf(name, sizeof name, "onebest-%s.json", keep);
  scratch_write_text(name, text);
  snprintf(out, sizeof out, "%s", scratch_path(keep));
  cli_result r = sweep(scratch_path(name), out, "");
  cr_assert_eq(r.status, 0, "%s", r.err);
  snprintf(path, sizeof path, "%s/summary.json", out);
  cJSON *summary = scratch_read_json(path), *best = cJSON_GetObjectItem(summary, "best");
  cr_assert_not_null(best);
  int trial = cJSON_GetObjectItem(best, "trial")->valueint, epoch = cJSON_GetObjectItem(best, "value_epoch")->valueint;
  double value = cJSON_GetObjectItem(best, "value")->valuedouble;
  /* The value is the kept weights' figure, from the epoch they are from. */
  bool kept_best = !strcmp(keep, "best");
  cr_expect_eq(epoch, cJSON_GetObjectItem(best, kept_best ? "best_epoch" : "epochs")->valueint);
  cr_expect_float_eq(value, cJSON_GetObjectItem(best, kept_best ? "best_val_acc" : "val_acc")->valuedouble, 1e-9);
  cr_expect_eq(cJSON_GetObjectItem(best, "kept_epoch")->valueint, epoch);
  /* The leaderboard's first row: trial, value, and the at_epoch column. */
  char row[256], header[256];
  cr_assert(sscanf(r.out, "%255[^\n]\n%255[^\n]", header, row) == 2, "%s", r.out);
  cr_expect(strstr(header, "val_acc at_epoch") != NULL, "%s", header);
  int rank, row_trial, epochs, at;
  char status[32];
  double row_value;
  cr_assert_eq(sscanf(row, "%d %d %31s %d %lf %d", &rank, &row_trial, status, &epochs, &row_value, &at), 6, "%s", row);
  cr_expect_eq(row_trial, trial);
  cr_expect_float_eq(row_value, value, 5e-5, "%s", row);
  cr_expect_eq(at, epoch, "%s", row);
  /* Every row's value is its trial's in summary.json; the rule follows the rows. */
  cr_expect(strstr(r.out, "Ranked: survivors, then culled or stopped trials (more epochs first)") != NULL, "%s", r.out);
  cr_expect(strstr(r.out, kept_best ? "(a survivor's best epoch's, the others' last: at_epoch)" : "(its last epoch's: at_epoch)") != NULL, "%s",
            r.out);
  cr_expect(cJSON_IsString(cJSON_GetObjectItem(summary, "ranking")));
  /* The last progress line (a log: one line per epoch) names the same trial, value and epoch. */
  const char *last = NULL;
  for (const char *at_line = r.err; (at_line = strstr(at_line, "best val_acc ")); at_line++) last = at_line;
  cr_assert_not_null(last, "%s", r.err);
  double shown;
  int shown_trial, shown_epoch;
  cr_assert_eq(sscanf(last, "best val_acc %lf (trial %d, epoch %d)", &shown, &shown_trial, &shown_epoch), 3, "%.80s", last);
  cr_expect_eq(shown_trial, trial);
  cr_expect_eq(shown_epoch, epoch);
  cr_expect_float_eq(shown, value, 5e-5);
  cJSON_Delete(summary);
  cli_result_free(&r);
}

Test(sweep_flags, the_best_is_one_trial_value_and_epoch_everywhere_with_keep_last) { expect_one_best("last"); }
Test(sweep_flags, the_best_is_one_trial_value_and_epoch_everywhere_with_keep_best) { expect_one_best("best"); }

/* caviar bench times epoch after epoch (up to 2 s, at most 20) and reports the fastest as its speed:
 * a tiny population's epochs are milliseconds, so it times all 20. */
Test(sweep_flags, bench_times_repeated_epochs_and_reports_the_fastest_with_the_slowest) {
  const char *dir = synth_idx_dir("bench", 600, 200, 16, 4, 1.5, true);
  char args[1024];
  snprintf(args, sizeof args, "bench --data %s --models 1,3 --hidden 8 --batch 32 --threads 1 --json", dir);
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  int rows = 0;
  for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n"), rows++) {
    cJSON *row = cJSON_Parse(line);
    cr_assert(row, "not JSON: %s", line);
    int models = cJSON_GetObjectItem(row, "models")->valueint, epochs = cJSON_GetObjectItem(row, "epochs_timed")->valueint;
    double fastest = cJSON_GetObjectItem(row, "epoch_seconds")->valuedouble,
           slowest = cJSON_GetObjectItem(row, "slowest_epoch_seconds")->valuedouble,
           rate = cJSON_GetObjectItem(row, "model_samples_per_second")->valuedouble;
    double samples = cJSON_GetObjectItem(row, "steps")->valuedouble * 32;
    cr_expect_eq(models, rows ? 3 : 1);
    cr_expect_eq(epochs, 20, "%d epochs timed of a population whose epoch takes %g s", epochs, fastest);
    cr_expect(fastest > 0 && fastest <= slowest, "fastest %g, slowest %g", fastest, slowest);
    cr_expect_float_eq(rate, models * samples / fastest, 1e-3 * rate, "the speed is not the fastest epoch's: %s", line);
    cJSON_Delete(row);
  }
  cr_expect_eq(rows, 2, "%s", r.out);
  cli_result_free(&r);
}
