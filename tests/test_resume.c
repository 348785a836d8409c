/* Interrupted sweeps lose nothing (issue 13): a sweep killed (SIGKILL) at many points — inside
 * an epoch, at an epoch boundary, halfway through a journal write or a snapshot file, during the
 * test pass — and resumed with `caviar sweep --resume` ends with summary.json (but for wall time),
 * curves.csv and best/ byte for byte those of an uninterrupted run, for successive halving,
 * refill, Hyperband, PBT, coarse-to-fine and tpe. Ctrl-C stops at an epoch boundary with status 3
 * and the results so far; a second one stops at once. Damaged snapshots fall back to the previous
 * one or fail clearly; a torn journal line is cut off; a changed spec or flag is refused by name;
 * a folder holding another sweep is refused without --force. Fault points: CAVIAR_KILL_AT
 * (host/train/sweep_state_internal.h). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scratch.h"
#include "synth_support.h"

static char data_dir[1024], image_dir[1024];

static void setup(void) {
  strcpy(data_dir, synth_idx_dir("resume", 400, 100, 12, 4, 1.5, false));
  strcpy(image_dir, synth_images_dir("resume-images", 300, 60, 8, 4));
}

TestSuite(resume, .init = setup, .timeout = 600);

static const char *const params =
    "\"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 0.001, \"max\": 0.3},"
    " \"optimizer\": {\"values\": [\"sgd\", \"momentum\", \"rmsprop\", \"adam\"]},"
    " \"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.8, \"max\": 0.95},"
    " \"hidden\": {\"values\": [8, 16]}, \"layers\": {\"values\": [1, 2]}, \"dropout\": {\"values\": [0, 0.2]},"
    " \"lr_decay\": {\"values\": [0, 0.1]}}";

/* A spec of the kind named (sh, refill, hb, pbt, c2f, tpe; "-best" after it: model.keep best) as
 * NAME.json; returns its path. */
static const char *spec_of(const char *named, double lr_max) {
  static char path[1024];
  char text[4096], file[64], lr[512], kind[32];
  snprintf(kind, sizeof kind, "%s", named);
  char *suffix = strstr(kind, "-best");
  bool keep_best = suffix != NULL;
  if (suffix) *suffix = '\0';
  /* "-aug": the images augmented (data.augment: each epoch's draws keyed on its order, state too). */
  char *aug_suffix = strstr(kind, "-aug");
  bool aug = aug_suffix != NULL;
  if (aug_suffix) *aug_suffix = '\0';
  /* "-cnn": small CNNs with batch norm (its running statistics are state too) on images. */
  char *cnn_suffix = strstr(kind, "-cnn");
  bool cnn = cnn_suffix != NULL;
  if (cnn_suffix) *cnn_suffix = '\0';
  const char *rest = !strcmp(kind, "sh") ? "\"method\": \"random\", \"trials\": 9, \"early_terminate\": {\"type\": "
                                           "\"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 9, \"eta\": 3}"
                     : !strcmp(kind, "refill")
                         ? "\"method\": \"random\", \"trials\": 10, \"population\": 4, \"early_terminate\": {\"type\": "
                           "\"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 9, \"eta\": 3}"
                     : !strcmp(kind, "hb") ? "\"method\": \"random\", \"early_terminate\": {\"type\": \"hyperband\", "
                                             "\"min_iter\": 1, \"max_iter\": 9, \"eta\": 3}"
                     : !strcmp(kind, "pbt") ? "\"method\": \"random\", \"trials\": 6, \"early_terminate\": {\"type\": "
                                              "\"pbt\", \"interval\": 2}"
                     : !strcmp(kind, "random") ? "\"method\": \"random\", \"trials\": 6"
                     : !strcmp(kind, "many") /* a journal write of many start lines */
                         ? "\"method\": \"random\", \"trials\": 240, \"early_terminate\": {\"type\": "
                           "\"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 3, \"eta\": 3}"
                     : !strcmp(kind, "grid")   ? "\"method\": \"grid\""
                     : !strcmp(kind, "c2f")
                         ? "\"method\": \"coarse-to-fine\", \"trials\": 6, \"coarse_to_fine\": {\"rounds\": 3, \"zoom\": "
                           "0.5, \"top_k\": 2}, \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, "
                           "\"max_epochs\": 3, \"eta\": 3}"
                         : "\"method\": \"tpe\", \"trials\": 10, \"population\": 4, \"early_terminate\": {\"type\": "
                           "\"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 3, \"eta\": 3}";
  /* A grid of 2 x 2 x 2 points. */
  if (!strcmp(kind, "grid"))
    snprintf(lr, sizeof lr, "\"parameters\": {\"learning_rate\": {\"values\": [0.01, 0.1]}, \"optimizer\": {\"values\": "
                            "[\"sgd\", \"adam\"]}, \"hidden\": {\"values\": [8, 16]}}");
  else snprintf(lr, sizeof lr, "%s", params);
  if (lr_max != 0.3) {
    char *at = strstr(lr, "\"max\": 0.3");
    char tail[512];
    snprintf(tail, sizeof tail, "%s", at + strlen("\"max\": 0.3"));
    snprintf(at, sizeof lr - (size_t)(at - lr), "\"max\": %g%s", lr_max, tail);
  }
  snprintf(text, sizeof text,
           "{\"metric\": {\"name\": \"val_acc\", \"goal\": \"maximize\"}, \"seed\": 3, \"data\": {\"dir\": \"%s\", "
           "\"validation\": 0.2%s}, \"model\": {\"batch_size\": 32%s%s%s}, %s, %s}",
           cnn ? image_dir : data_dir, aug ? ", \"augment\": {\"flip\": true, \"shift\": 1}" : "",
           !strcmp(kind, "pbt")                                ? ", \"epochs\": 6"
           : !strcmp(kind, "random") || !strcmp(kind, "grid") ? ", \"epochs\": 3"
                                                                : "",
           keep_best ? ", \"keep\": \"best\"" : "",
           cnn ? ", \"type\": \"cnn\", \"conv_blocks\": 1, \"channels\": 3, \"batchnorm\": \"on\"" : "", lr, rest);
  snprintf(file, sizeof file, "%s.json", named);
  scratch_write_text(file, text);
  strcpy(path, scratch_path(file));
  return path;
}

static void run_ok(const char *env, const char *args) {
  cli_result r = run_caviar_with(env, args);
  cr_assert_eq(r.status, 0, "caviar %s: %s", args, r.err);
  cli_result_free(&r);
}


/* The same results as the uninterrupted run, and no state left behind. */
static void expect_finished_as(const char *a, const char *b, const char *what) {
  expect_same_results(a, b, what);
  char path[1200];
  snprintf(path, sizeof path, "%s/sweep-state", b);
  cr_expect_neq(access(path, F_OK), 0, "%s: the finished sweep left its state behind", what);
}

/* (The sweep runs under sh, which reports a child killed by signal S as status 128 + S.) */

/* Runs kind's spec killed at each point, resumes (a resume may be killed again by the same
 * point), and compares with the uninterrupted run. */
static void killed_and_resumed(const char *kind, const char *const *points, int n_points) {
  const char *spec = spec_of(kind, 0.3);
  char ref[1024], out[1024], args[4096], env[256], what[128];
  strcpy(ref, scratch_path("ref"));
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec, ref);
  run_ok("", args);
  int killed = 0;
  for (int i = 0; i < n_points; i++) {
    snprintf(out, sizeof out, "%s/killed-%d", scratch_dir(), i);
    snprintf(env, sizeof env, "CAVIAR_KILL_AT=%s", points[i]);
    snprintf(what, sizeof what, "%s killed at %s", kind, points[i]);
    snprintf(args, sizeof args, "sweep %s -o %s -q --snapshot-every 0", spec, out);
    cli_result r = run_caviar_with(env, args);
    killed += r.status == 137;
    cr_expect(r.status == 137 || r.status == 0, "%s: status %d: %s", what, r.status, r.err);
    cli_result_free(&r);
    snprintf(args, sizeof args, "sweep --resume %s -q", out);
    run_ok("", args);
    expect_finished_as(ref, out, what);
  }
  cr_expect_eq(killed, n_points, "%s: only %d of %d fault points were reached", kind, killed, n_points);
}

/* Kill -9 in a sweep's first moments (issue 27): just after it locked its folder (nothing
 * written), with its state folder made under a temporary name (still nothing in place), with its
 * first sweep.json in place (the spec and flags, before the data loaded), with the data loaded
 * (sweep.json not yet complete), with the whole sweep.json about to replace the first, and in its
 * first chunk of training. Where nothing was written, --resume DIR alone says so in one line naming
 * SPEC, and --resume DIR SPEC starts the sweep; everywhere else --resume DIR alone continues (or
 * starts over); both end as the uninterrupted run. */
static void killed_early_and_resumed(const char *kind) {
  static const char *const early[] = {"locked:1", "state:1", "loaded:1", "state:2", "chunk:1"};
  static const bool nothing_written[] = {true, true, false, false, false};
  const char *spec = spec_of(kind, 0.3);
  char ref[1024], out[1024], args[4096], env[256], what[128], path[1200];
  strcpy(ref, scratch_path("ref"));
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec, ref);
  run_ok("", args);
  for (int i = 0; i < 5; i++) {
    snprintf(out, sizeof out, "%s/early-%d", scratch_dir(), i);
    snprintf(env, sizeof env, "CAVIAR_KILL_AT=%s", early[i]);
    snprintf(what, sizeof what, "%s killed at %s", kind, early[i]);
    snprintf(args, sizeof args, "sweep %s -o %s -q --snapshot-every 0", spec, out);
    cli_result r = run_caviar_with(env, args);
    cr_expect_eq(r.status, 137, "%s: not killed (status %d): %s", what, r.status, r.err);
    cli_result_free(&r);
    snprintf(path, sizeof path, "%s/sweep-state/sweep.json", out);
    cr_expect_eq(access(path, F_OK) == 0, !nothing_written[i], "%s: sweep.json is%s there", what,
                 nothing_written[i] ? "" : " not");
    snprintf(args, sizeof args, "sweep --resume %s -q", out);
    if (nothing_written[i]) {
      r = run_caviar(args);
      cr_expect_eq(r.status, 2, "%s: --resume without SPEC: %d %s", what, r.status, r.err);
      cr_expect_eq(count_lines(r.err), 1, "%s: %s", what, r.err);
      cr_expect(strstr(r.err, "no sweep to resume there") && strstr(r.err, "SPEC"), "%s: %s", what, r.err);
      cli_result_free(&r);
      snprintf(args, sizeof args, "sweep --resume %s %s -q", out, spec);
    }
    run_ok("", args);
    expect_finished_as(ref, out, what);
  }
}

Test(resume, a_random_sweep_killed_in_its_first_moments_resumes_bit_identical) { killed_early_and_resumed("random"); }
Test(resume, a_grid_sweep_killed_in_its_first_moments_resumes_bit_identical) { killed_early_and_resumed("grid"); }
Test(resume, a_successive_halving_sweep_killed_in_its_first_moments_resumes_bit_identical) {
  killed_early_and_resumed("sh");
}
Test(resume, a_hyperband_sweep_killed_in_its_first_moments_resumes_bit_identical) { killed_early_and_resumed("hb"); }
Test(resume, a_refill_sweep_killed_in_its_first_moments_resumes_bit_identical) { killed_early_and_resumed("refill"); }
Test(resume, a_pbt_sweep_killed_in_its_first_moments_resumes_bit_identical) { killed_early_and_resumed("pbt"); }
Test(resume, a_coarse_to_fine_sweep_killed_in_its_first_moments_resumes_bit_identical) {
  killed_early_and_resumed("c2f");
}
Test(resume, a_tpe_sweep_killed_in_its_first_moments_resumes_bit_identical) { killed_early_and_resumed("tpe"); }

static const char *const points[] = {"chunk:3", "chunk:90", "epoch:2", "epoch:4", "journal:3", "snapshot:2", "test:1"};
#define N_POINTS ((int)(sizeof points / sizeof *points))

Test(resume, successive_halving_killed_anywhere_resumes_bit_identical) { killed_and_resumed("sh", points, N_POINTS); }
Test(resume, refill_killed_anywhere_resumes_bit_identical) { killed_and_resumed("refill", points, N_POINTS); }
Test(resume, hyperband_killed_anywhere_resumes_bit_identical) { killed_and_resumed("hb", points, N_POINTS); }
Test(resume, pbt_killed_anywhere_resumes_bit_identical) { killed_and_resumed("pbt", points, N_POINTS); }
Test(resume, coarse_to_fine_killed_anywhere_resumes_bit_identical) {
  /* Its third round too: after two test passes. */
  const char *more[] = {"chunk:3", "epoch:2", "epoch:5", "epoch:8", "journal:6", "snapshot:4", "test:2", "test:3"};
  killed_and_resumed("c2f", more, 8);
}
Test(resume, tpe_killed_anywhere_resumes_bit_identical) { killed_and_resumed("tpe", points, N_POINTS); }
/* 240 trials: the journal's writes are big (its CRC taken in parts side by side, its start lines
 * put together side by side), and a snapshot must still fit its journal. */
Test(resume, a_sweep_of_hundreds_of_trials_killed_anywhere_resumes_bit_identical) {
  static const char *const big[] = {"epoch:2", "journal:2", "snapshot:2"};
  killed_and_resumed("many", big, 3);
}
/* CNN cohorts with batch norm: convolution weights and running statistics through refill's
 * compactions, and PBT's copies. */
Test(resume, a_cnn_refill_sweep_killed_anywhere_resumes_bit_identical) {
  killed_and_resumed("refill-cnn", points, N_POINTS);
}
Test(resume, a_cnn_pbt_sweep_killed_anywhere_resumes_bit_identical) { killed_and_resumed("pbt-cnn", points, N_POINTS); }
/* data.augment: a resumed epoch draws the same mirrors and moves as an uninterrupted one. */
Test(resume, a_cnn_refill_sweep_on_augmented_images_killed_anywhere_resumes_bit_identical) {
  killed_and_resumed("refill-cnn-aug", points, N_POINTS);
}
/* model.keep best: the best epoch's weights (a fifth arena) and each trial's best epoch are part
 * of the state, through PBT's copies and refill's compactions too. */
Test(resume, a_keep_best_refill_sweep_killed_anywhere_resumes_bit_identical) {
  killed_and_resumed("refill-best", points, N_POINTS);
}
Test(resume, a_keep_best_pbt_sweep_killed_anywhere_resumes_bit_identical) {
  killed_and_resumed("pbt-best", points, N_POINTS);
}

Test(resume, ctrl_c_stops_at_an_epoch_boundary_with_the_results_so_far_and_resumes) {
  const char *spec = spec_of("sh", 0.3);
  char ref[1024], out[1024], args[4096], path[1200];
  strcpy(ref, scratch_path("ref"));
  strcpy(out, scratch_path("stopped"));
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec, ref);
  run_ok("", args);
  /* Interrupted inside its second epoch (the first has 2 chunks of 2 steps, then sixteenths). */
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec, out);
  cli_result r = run_caviar_with("CAVIAR_KILL_AT=chunk:30:INT", args);
  cr_expect_eq(r.status, 3, "a graceful stop exits with 3: %s", r.err);
  cr_expect(strstr(r.err, "caviar sweep --resume") != NULL, "it does not say how to resume: %s", r.err);
  cli_result_free(&r);
  cJSON *summary = summary_without_time(out);
  int running = 0, culled = 0, n = 0;
  cJSON *t;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(summary, "trials")) {
    const char *status = cJSON_GetObjectItem(t, "status")->valuestring;
    running += !strcmp(status, "running");
    culled += !strcmp(status, "culled");
    n++;
  }
  cJSON_Delete(summary);
  cr_expect_eq(n, 9, "the results so far list every trial started");
  cr_expect_gt(running, 0, "no trial is listed as running");
  cr_expect_gt(culled, 0, "the first rung's culls are not there");
  snprintf(path, sizeof path, "%s/sweep-state/snapshot.bin", out);
  cr_expect_eq(access(path, F_OK), 0, "no snapshot was written at the stop");
  snprintf(args, sizeof args, "sweep --resume %s -q", out);
  run_ok("", args);
  expect_finished_as(ref, out, "stopped by SIGINT");
  /* SIGTERM the same way; a second signal stops at once, the last good snapshot intact. */
  strcpy(out, scratch_path("twice"));
  snprintf(args, sizeof args, "sweep %s -o %s -q --snapshot-every 0", spec, out);
  r = run_caviar_with("CAVIAR_KILL_AT=chunk:30:TERM,chunk:31:INT", args);
  cr_expect_eq(r.status, 130, "a second signal did not stop it at once (by SIGINT): %d %s", r.status, r.err);
  cli_result_free(&r);
  snprintf(args, sizeof args, "sweep --resume %s -q", out);
  run_ok("", args);
  expect_finished_as(ref, out, "stopped by a second signal");
}

static void copy_file(const char *from, const char *to) {
  char command[4096];
  snprintf(command, sizeof command, "cp %s %s", from, to);
  cr_assert_eq(system(command), 0);
}

Test(resume, a_damaged_snapshot_falls_back_to_the_previous_one_or_fails_clearly) {
  const char *spec = spec_of("refill", 0.3);
  char ref[1024], out[1024], args[4096], snap[1200], prev[1200], saved[1200];
  strcpy(ref, scratch_path("ref"));
  strcpy(out, scratch_path("damaged"));
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec, ref);
  run_ok("", args);
  snprintf(args, sizeof args, "sweep %s -o %s -q --snapshot-every 0", spec, out);
  cli_result r = run_caviar_with("CAVIAR_KILL_AT=epoch:5", args);
  cr_assert_eq(r.status, 137, "not killed: %s", r.err);
  cli_result_free(&r);
  snprintf(snap, sizeof snap, "%s/sweep-state/snapshot.bin", out);
  snprintf(prev, sizeof prev, "%s/sweep-state/snapshot.prev.bin", out);
  strcpy(saved, scratch_path("prev.bin"));
  copy_file(prev, saved);
  struct stat sb;
  cr_assert_eq(stat(snap, &sb), 0);
  cr_assert_eq(truncate(snap, sb.st_size / 2), 0);
  snprintf(args, sizeof args, "sweep --resume %s -q", out);
  r = run_caviar(args);
  cr_expect_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.err, "truncated or corrupt") && strstr(r.err, "previous snapshot"), "no word of the fallback: %s",
            r.err);
  cli_result_free(&r);
  expect_finished_as(ref, out, "resumed from the previous snapshot");
  /* Both damaged: a clear one-line error, nothing crashes, nothing is removed. */
  snprintf(args, sizeof args, "sweep %s -o %s -q --snapshot-every 0 --force", spec, out);
  r = run_caviar_with("CAVIAR_KILL_AT=epoch:5", args);
  cr_assert_eq(r.status, 137, "not killed: %s", r.err);
  cli_result_free(&r);
  FILE *f = fopen(snap, "r+b");
  cr_assert_not_null(f);
  fseek(f, 100, SEEK_SET);
  fputc(0x5a, f);
  fclose(f);
  cr_assert_eq(truncate(prev, 10), 0);
  snprintf(args, sizeof args, "sweep --resume %s -q", out);
  r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
  cr_expect(strstr(r.err, "no usable snapshot") && strstr(r.err, "snapshot.prev.bin"), "%s", r.err);
  cli_result_free(&r);
  cr_expect_eq(access(snap, F_OK), 0, "the damaged state was removed");
}

Test(resume, a_torn_journal_line_is_cut_off_and_a_journal_changed_before_the_snapshot_is_refused) {
  const char *spec = spec_of("sh", 0.3);
  char ref[1024], out[1024], args[4096], journal[1200];
  strcpy(ref, scratch_path("ref"));
  strcpy(out, scratch_path("torn"));
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec, ref);
  run_ok("", args);
  snprintf(args, sizeof args, "sweep %s -o %s -q --snapshot-every 0", spec, out);
  cli_result r = run_caviar_with("CAVIAR_KILL_AT=epoch:3", args);
  cr_assert_eq(r.status, 137, "not killed: %s", r.err);
  cli_result_free(&r);
  snprintf(journal, sizeof journal, "%s/sweep-state/journal.jsonl", out);
  FILE *f = fopen(journal, "ab");
  fputs("{\"event\": \"epoch\", \"trial\": 3, \"ep", f);
  fclose(f);
  snprintf(args, sizeof args, "sweep --resume %s -q", out);
  run_ok("", args);
  expect_finished_as(ref, out, "resumed after a torn journal line");
  /* A journal changed inside what the snapshots vouch for: both refused, clearly. */
  snprintf(args, sizeof args, "sweep %s -o %s -q --snapshot-every 0 --force", spec, out);
  r = run_caviar_with("CAVIAR_KILL_AT=epoch:3", args);
  cr_assert_eq(r.status, 137, "not killed: %s", r.err);
  cli_result_free(&r);
  f = fopen(journal, "r+b");
  fseek(f, 5, SEEK_SET);
  fputc('X', f);
  fclose(f);
  snprintf(args, sizeof args, "sweep --resume %s -q", out);
  r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "journal.jsonl") && strstr(r.err, "changed since the snapshot"), "%s", r.err);
  cli_result_free(&r);
}

Test(resume, a_changed_spec_or_flag_is_refused_naming_what_changed_and_the_same_values_are_accepted) {
  const char *spec = spec_of("sh", 0.3);
  char out[1024], args[4096], ref[1024];
  strcpy(out, scratch_path("changed"));
  strcpy(ref, scratch_path("ref"));
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec, ref);
  run_ok("", args);
  snprintf(args, sizeof args, "sweep %s -o %s -q --snapshot-every 0", spec, out);
  cli_result r = run_caviar_with("CAVIAR_KILL_AT=epoch:2", args);
  cr_assert_eq(r.status, 137, "not killed: %s", r.err);
  cli_result_free(&r);
  spec = spec_of("sh", 0.1);
  snprintf(args, sizeof args, "sweep --resume %s %s -q", out, spec);
  r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "parameters.learning_rate.max: was 0.3, now 0.1") != NULL, "%s", r.err);
  cli_result_free(&r);
  snprintf(args, sizeof args, "sweep --resume %s --seed 9 -q", out);
  r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "--seed") != NULL, "%s", r.err);
  cli_result_free(&r);
  snprintf(args, sizeof args, "sweep --resume %s -n 4 -q", out);
  r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "-n 4 differs") != NULL, "%s", r.err);
  cli_result_free(&r);
  snprintf(args, sizeof args, "sweep --resume %s --method grid -q", out);
  r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "--method grid differs from the sweep's random (the spec's") != NULL, "%s", r.err);
  cli_result_free(&r);
  /* The same spec, and flags that say what the sweep took from it (seed 3, 9 trials, all at once,
   * random), are fine, as is the folder named with a trailing slash. */
  spec = spec_of("sh", 0.3);
  snprintf(args, sizeof args, "sweep --resume %s/ -o %s %s --seed 3 -n 9 -p 0 --method random -q", out, out, spec);
  run_ok("", args);
  expect_finished_as(ref, out, "resumed with its spec and its values given again");
  /* A finished sweep has nothing to resume. */
  r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "nothing to resume") != NULL, "%s", r.err);
  cli_result_free(&r);
}

Test(resume, a_folder_holding_another_sweep_is_refused_without_force_and_stale_plots_go) {
  const char *spec = spec_of("sh", 0.3);
  char out[1024], args[4096], plot[1200], before[1200];
  strcpy(out, scratch_path("taken"));
  snprintf(args, sizeof args, "sweep %s -o %s -q --seed 1", spec, out);
  run_ok("", args);
  snprintf(plot, sizeof plot, "%s/curves.png", out);
  scratch_write_text("taken/curves.png", "an old picture");
  snprintf(before, sizeof before, "%s/summary.json", out);
  char *old = scratch_read(before, NULL);
  snprintf(args, sizeof args, "sweep %s -o %s -q --seed 2", spec, out);
  cli_result r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "holds another sweep (summary.json)") && strstr(r.err, "--force"), "%s", r.err);
  cli_result_free(&r);
  char *now = scratch_read(before, NULL);
  cr_expect_str_eq(now, old, "the refused run touched the old results");
  free(now);
  free(old);
  snprintf(args, sizeof args, "sweep %s -o %s -q --seed 2 --force", spec, out);
  run_ok("", args);
  cr_expect_neq(access(plot, F_OK), 0, "an old plot stayed beside the new results");
}

Test(resume, results_are_rewritten_at_rungs_while_the_sweep_runs) {
  const char *spec = spec_of("sh", 0.3);
  char out[1024], args[4096], path[1200];
  strcpy(out, scratch_path("progress"));
  /* Killed at the boundary after epoch 2: the rung at epoch 1 wrote the results. */
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec, out);
  cli_result r = run_caviar_with("CAVIAR_KILL_AT=epoch:2", args);
  cr_assert_eq(r.status, 137, "not killed: %s", r.err);
  cli_result_free(&r);
  cJSON *summary = summary_without_time(out);
  int running = 0, culled = 0;
  cJSON *t;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(summary, "trials")) {
    const char *status = cJSON_GetObjectItem(t, "status")->valuestring;
    running += !strcmp(status, "running");
    culled += !strcmp(status, "culled");
    cr_expect_eq(cJSON_GetObjectItem(t, "epochs")->valueint, 1);
  }
  cJSON_Delete(summary);
  cr_expect_eq(running, 3, "rung 1 of 9 trials keeps 3");
  cr_expect_eq(culled, 6);
  snprintf(path, sizeof path, "%s/curves.csv", out);
  char *curves = scratch_read(path, NULL);
  cr_assert_not_null(curves);
  cr_expect_eq(count_lines(curves), 1 + 9, "a header and the first epoch of each trial");
  free(curves);
}

/* The journal's lines are put together by hand (host/train/journal.c): each reads as printf
 * writes it from the figures it holds, and there is one per member-epoch of the curve, trial
 * started and status reached. The sweep is killed at its final write, so its whole journal stays. */
static void journal_reads_as_printf(const char *kind) {
  const char *spec = spec_of(kind, 0.3);
  char ref[1024], out[1024], args[4096], path[1200], expected[512];
  snprintf(ref, sizeof ref, "%s/journal-ref-%s", scratch_dir(), kind);
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec, ref);
  run_ok("", args);
  snprintf(out, sizeof out, "%s/journal-%s", scratch_dir(), kind);
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec, out);
  cli_result r = run_caviar_with("CAVIAR_KILL_AT=final:1", args);
  cr_assert_eq(r.status, 137, "%s: %s", kind, r.err);
  cli_result_free(&r);
  snprintf(path, sizeof path, "%s/sweep-state/journal.jsonl", out);
  char *journal = scratch_read(path, NULL);
  cr_assert_not_null(journal);
  cJSON *summary = summary_without_time(ref), *trials = cJSON_GetObjectItem(summary, "trials");
  cr_assert(cJSON_IsArray(trials), "%s", kind);
  int epochs = 0, starts = 0, ends = 0;
  for (char *line = strtok(journal, "\n"); line; line = strtok(NULL, "\n")) {
    cJSON *j = cJSON_Parse(line);
    cr_assert_not_null(j, "%s: not JSON: %s", kind, line);
    const char *event = cJSON_GetObjectItem(j, "event")->valuestring;
    int trial = cJSON_GetObjectItem(j, "trial") ? cJSON_GetObjectItem(j, "trial")->valueint : -1;
    if (!strcmp(event, "epoch")) {
      char figures[3][40];
      const char *keys[3] = {"train_loss", "val_loss", "val_acc"};
      for (int k = 0; k < 3; k++) {
        const cJSON *v = cJSON_GetObjectItem(j, keys[k]);
        if (cJSON_IsNumber(v)) snprintf(figures[k], sizeof figures[k], "%.9g", (double)(float)v->valuedouble);
        else snprintf(figures[k], sizeof figures[k], "null");
      }
      snprintf(expected, sizeof expected,
               "{\"event\": \"epoch\", \"trial\": %d, \"epoch\": %d, \"train_loss\": %s, \"val_loss\": %s, \"val_acc\": %s}",
               trial, cJSON_GetObjectItem(j, "epoch")->valueint, figures[0], figures[1], figures[2]);
      cr_expect_str_eq(line, expected, "%s", kind);
      epochs++;
    } else if (!strcmp(event, "start")) {
      snprintf(expected, sizeof expected, "{\"event\": \"start\", \"trial\": %d, \"round\": %d, \"bracket\": %d, \"params\": {",
               trial, cJSON_GetObjectItem(j, "round")->valueint, cJSON_GetObjectItem(j, "bracket")->valueint);
      cr_expect(strncmp(line, expected, strlen(expected)) == 0, "%s: %s", kind, line);
      cr_expect_eq(trial, starts, "%s: trials start in order: trial %d's line is start line %d", kind, trial, starts);
      /* The values that trial started with: summary.json's, where PBT did not change them. */
      const cJSON *t = cJSON_GetArrayItem(trials, trial);
      cr_assert(t && cJSON_GetObjectItem(t, "trial")->valueint == trial, "%s: trial %d", kind, trial);
      if (!cJSON_GetObjectItem(t, "lineage"))
        cr_expect(cJSON_Compare(cJSON_GetObjectItem(j, "params"), cJSON_GetObjectItem(t, "params"), true),
                  "%s: trial %d started with other values than summary.json's: %s", kind, trial, line);
      starts++;
    } else if (!strcmp(event, "culled") || !strcmp(event, "survived") || !strcmp(event, "diverged")) {
      snprintf(expected, sizeof expected, "{\"event\": \"%s\", \"trial\": %d, \"epochs\": %d}", event, trial,
               cJSON_GetObjectItem(j, "epochs")->valueint);
      cr_expect_str_eq(line, expected, "%s", kind);
      ends++;
    }
    cJSON_Delete(j);
  }
  free(journal);
  /* As many as the uninterrupted run's curve points and trials. */
  snprintf(path, sizeof path, "%s/curves.csv", ref);
  char *curves = scratch_read(path, NULL);
  int points = -1; /* its header */
  for (const char *c = curves; c && *c; c++) points += *c == '\n';
  free(curves);
  int n_trials = cJSON_GetArraySize(trials);
  cJSON_Delete(summary);
  cr_expect_eq(epochs, points, "%s: %d epoch lines against %d curve points", kind, epochs, points);
  cr_expect_eq(starts, n_trials, "%s", kind);
  cr_expect_eq(ends, n_trials, "%s: every trial ends culled, survived or diverged", kind);
}

Test(resume, the_journal_reads_as_printf_writes_it_with_a_line_per_member_epoch_start_and_end) {
  journal_reads_as_printf("hb");
  journal_reads_as_printf("pbt");
  journal_reads_as_printf("many");
}
