/* One writer per output (issue 30): a sweep, a resume and a checkpointed train hold their output
 * folder or files for their whole life. A second writer is refused at once (exit 2, one line
 * naming the folder or file and the holder's pid) before it loads or writes anything, at any
 * moment of the first one's life: just after it took the folder, mid-run, during its final
 * writes; the first one's results are then byte for byte those of a run that was alone. Readers
 * (caviar report, summary.json) are never refused. A holder killed with SIGKILL frees the folder
 * at once. The holders are paused at their fault points (CAVIAR_KILL_AT=POINT:K:STOP). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scratch.h"
#include "synth_support.h"

static char data_dir[1024];

static void setup(void) { strcpy(data_dir, synth_idx_dir("writers", 400, 100, 12, 4, 1.5, false)); }

TestSuite(writers, .init = setup, .timeout = 600);

static const char *spec(void) { return synth_sh_spec(data_dir, "spec.json"); }

static char *read_tagged(const char *tag, const char *suffix) {
  char name[256];
  snprintf(name, sizeof name, "%s.%s", tag, suffix);
  return scratch_read(scratch_path(name), NULL);
}

/* Every file under dir with its size, time and checksum: what "touches nothing" compares. */
static char *listing(const char *dir) {
  char command[2400];
  snprintf(command, sizeof command,
           "cd %s && find . -printf '%%p %%s %%T@\\n' | sort >%s && find . -type f | sort | xargs -r md5sum >>%s", dir,
           scratch_path("listing"), scratch_path("listing"));
  cr_assert_eq(system(command), 0);
  return scratch_read(scratch_path("listing"), NULL);
}

/* The lone run's results, and no lock file left. */
static void expect_as_alone(const char *alone, const char *out, const char *what) {
  expect_same_results(alone, out, what);
  char path[1200];
  snprintf(path, sizeof path, "%s/.caviar-lock", out);
  cr_expect_neq(access(path, F_OK), 0, "%s: the lock file outlived its holder", what);
}

/* The reference: the spec's sweep with seed 1, alone, into dir. */
static void run_alone(const char *dir) {
  char args[4096];
  snprintf(args, sizeof args, "sweep %s -o %s -q --seed 1", spec(), dir);
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
}

/* A refusal: exit 2, one line naming what and the holder's pid. */
static void expect_refused(cli_result *r, const char *what, int holder, const char *when) {
  char pid[64];
  snprintf(pid, sizeof pid, "another caviar (pid %d) is writing", holder);
  cr_expect_eq(r->status, 2, "%s: status %d: %s", when, r->status, r->err);
  cr_expect_eq(count_lines(r->err), 1, "%s: not one line: %s", when, r->err);
  cr_expect(strstr(r->err, what) != NULL, "%s: the message does not name %s: %s", when, what, r->err);
  cr_expect(strstr(r->err, pid) != NULL, "%s: the message does not name the holder's pid %d: %s", when, holder, r->err);
  cr_expect_str_eq(r->out, "", "%s: printed results", when);
}

Test(writers, a_second_sweep_into_a_busy_folder_is_refused_at_once_at_every_moment_of_the_first) {
  char alone[1024], args[4096], env[128];
  strcpy(alone, scratch_path("alone"));
  run_alone(alone);
  cli_result r;
  /* Just after it took the folder (nothing loaded), at an epoch boundary mid-run, at its final write. */
  const char *moments[] = {"locked:1", "epoch:4", "final:1"};
  for (int i = 0; i < 3; i++) {
    char out[1024], tag[32];
    snprintf(out, sizeof out, "%s/busy-%d", scratch_dir(), i);
    snprintf(tag, sizeof tag, "first-%d", i);
    snprintf(env, sizeof env, "CAVIAR_KILL_AT=%s:STOP", moments[i]);
    snprintf(args, sizeof args, "sweep %s -o %s -q --seed 1", spec(), out);
    int first = spawn_caviar(env, args, tag), status;
    cr_assert(wait_stopped(first, &status), "%s: the first sweep ended (%d) before pausing", moments[i], status);
    char *before = listing(out);
    /* --force would replace another sweep, and the data named does not exist: the lock comes first. */
    snprintf(args, sizeof args, "sweep %s -o %s -q --seed 2 --force --data %s/missing", spec(), out, scratch_dir());
    r = run_caviar(args);
    expect_refused(&r, out, first, moments[i]);
    cli_result_free(&r);
    char *after = listing(out);
    cr_expect_str_eq(after, before, "%s: the refused sweep changed the folder", moments[i]);
    free(before);
    free(after);
    cr_expect_eq(wait_exit(first), 0, "%s: the first sweep failed: %s", moments[i], read_tagged(tag, "err"));
    expect_as_alone(alone, out, moments[i]);
  }
}

Test(writers, a_resume_while_the_sweep_runs_and_two_resumes_at_once_are_refused) {
  char alone[1024], out[1024], args[4096];
  strcpy(alone, scratch_path("alone"));
  strcpy(out, scratch_path("out"));
  run_alone(alone);
  cli_result r;
  /* The original, paused mid-run with a snapshot on disk: a resume would fight it. */
  snprintf(args, sizeof args, "sweep %s -o %s -q --seed 1 --snapshot-every 0", spec(), out);
  int original = spawn_caviar("CAVIAR_KILL_AT=epoch:3:STOP", args, "original"), status;
  cr_assert(wait_stopped(original, &status), "the sweep ended (%d) before pausing", status);
  snprintf(args, sizeof args, "sweep --resume %s -q", out);
  r = run_caviar(args);
  expect_refused(&r, out, original, "a resume while the sweep runs");
  cli_result_free(&r);
  /* Stopped for real (SIGINT, status 3), then resumed twice at once. */
  kill(original, SIGINT);
  cr_assert_eq(wait_exit(original), 3, "the interrupted sweep: %s", read_tagged("original", "err"));
  int resume = spawn_caviar("CAVIAR_KILL_AT=epoch:2:STOP", args, "resume");
  cr_assert(wait_stopped(resume, &status), "the resume ended (%d) before pausing: %s", status, read_tagged("resume", "err"));
  char *before = listing(out);
  r = run_caviar(args);
  expect_refused(&r, out, resume, "a second resume");
  cli_result_free(&r);
  char *after = listing(out);
  cr_expect_str_eq(after, before, "the refused resume changed the folder");
  free(before);
  free(after);
  cr_expect_eq(wait_exit(resume), 0, "the resume failed: %s", read_tagged("resume", "err"));
  expect_as_alone(alone, out, "resumed while another resume was refused");
}

Test(writers, a_holder_killed_with_sigkill_frees_the_folder_at_once) {
  char alone[1024], out[1024], args[4096];
  strcpy(alone, scratch_path("alone"));
  strcpy(out, scratch_path("out"));
  run_alone(alone);
  cli_result r;
  snprintf(args, sizeof args, "sweep %s -o %s -q --seed 1 --snapshot-every 0", spec(), out);
  int holder = spawn_caviar("CAVIAR_KILL_AT=epoch:4:STOP", args, "holder"), status;
  cr_assert(wait_stopped(holder, &status), "the sweep ended (%d) before pausing", status);
  kill(holder, SIGKILL);
  cr_assert_eq(wait_exit(holder), 128 + SIGKILL);
  /* Its lock file is still there, naming a dead pid: no stale lock, no wait. */
  snprintf(args, sizeof args, "%s/.caviar-lock", out);
  cr_expect_eq(access(args, F_OK), 0, "the killed holder's lock file is gone (the test shows nothing)");
  snprintf(args, sizeof args, "sweep --resume %s -q", out);
  r = run_caviar(args);
  cr_expect_eq(r.status, 0, "the folder of a killed holder was not taken: %s", r.err);
  cli_result_free(&r);
  expect_as_alone(alone, out, "resumed after the holder was killed");
  /* And a new sweep takes such a folder too (--force replaces the killed one's state). */
  snprintf(args, sizeof args, "sweep %s -o %s -q --seed 1 --snapshot-every 0 --force", spec(), out);
  holder = spawn_caviar("CAVIAR_KILL_AT=epoch:2", args, "killed");
  cr_assert_eq(wait_exit(holder), 128 + SIGKILL, "%s", read_tagged("killed", "err"));
  snprintf(args, sizeof args, "sweep %s -o %s -q --seed 1 --force", spec(), out);
  r = run_caviar(args);
  cr_expect_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  expect_as_alone(alone, out, "a new sweep after the holder was killed");
}

Test(writers, readers_are_never_refused_while_a_sweep_writes) {
  char out[1024], args[4096];
  strcpy(out, scratch_path("out"));
  snprintf(args, sizeof args, "sweep %s -o %s -q --seed 1 --results-every 0", spec(), out);
  int holder = spawn_caviar("CAVIAR_KILL_AT=epoch:4:STOP", args, "holder"), status;
  cr_assert(wait_stopped(holder, &status), "the sweep ended (%d) before pausing", status);
  snprintf(args, sizeof args, "report %s -o %s", out, scratch_path("report.html"));
  cli_result r = run_caviar(args);
  cr_expect_eq(r.status, 0, "caviar report was refused: %s", r.err);
  cli_result_free(&r);
  cJSON *summary = summary_without_time(out);
  cr_expect_not_null(cJSON_GetObjectItem(summary, "trials"), "summary.json of the running sweep has no trials");
  cJSON_Delete(summary);
  cr_expect_eq(wait_exit(holder), 0, "%s", read_tagged("holder", "err"));
}

Test(writers, a_failed_sweep_into_a_new_folder_leaves_no_folder_and_no_lock) {
  char out[1024], args[4096];
  strcpy(out, scratch_path("never"));
  snprintf(args, sizeof args, "sweep %s -o %s -q --data %s/missing", spec(), out, scratch_dir());
  cli_result r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s", r.err);
  cli_result_free(&r);
  cr_expect_neq(access(out, F_OK), 0, "a failed sweep left its folder behind");
}

Test(writers, two_checkpointed_trains_and_two_trains_into_one_model_are_refused) {
  char ck[1024], model[1024], lone_model[1024], args[8192], common[2048];
  strcpy(ck, scratch_path("run.ckpt"));
  strcpy(model, scratch_path("model.safetensors"));
  strcpy(lone_model, scratch_path("lone.safetensors"));
  snprintf(common, sizeof common, "train --set hidden=8 --set batch_size=32 --data %s --epochs 3 --threads 1", data_dir);
  snprintf(args, sizeof args, "%s --checkpoint %s -o %s", common, scratch_path("lone.ckpt"), lone_model);
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  snprintf(args, sizeof args, "%s --checkpoint %s -o %s", common, ck, model);
  int first = spawn_caviar("CAVIAR_KILL_AT=locked:1:STOP", args, "first"), status;
  cr_assert(wait_stopped(first, &status), "the train ended (%d) before pausing", status);
  /* The same checkpoint with another learning rate, then another checkpoint but the same model. */
  snprintf(args, sizeof args, "%s --set learning_rate=0.5 --checkpoint %s", common, ck);
  r = run_caviar(args);
  expect_refused(&r, ck, first, "a second train --checkpoint");
  cli_result_free(&r);
  cr_expect_neq(access(ck, F_OK), 0, "the refused train wrote the checkpoint");
  snprintf(args, sizeof args, "%s --checkpoint %s -o %s", common, scratch_path("other.ckpt"), model);
  r = run_caviar(args);
  expect_refused(&r, model, first, "a second train -o");
  cli_result_free(&r);
  cr_expect_neq(access(scratch_path("other.ckpt"), F_OK), 0, "the refused train wrote its checkpoint");
  cr_expect_eq(wait_exit(first), 0, "the first train failed: %s", read_tagged("first", "err"));
  snprintf(args, sizeof args, "cmp -s %s %s", model, lone_model);
  cr_expect_eq(system(args), 0, "the model differs from a lone run's");
  snprintf(args, sizeof args, "%s/.run.ckpt.caviar-lock", scratch_dir());
  cr_expect_neq(access(args, F_OK), 0, "the checkpoint's lock file outlived the run");
  /* -o and --checkpoint naming one file is a usage error, not a lock on itself. */
  snprintf(args, sizeof args, "%s --checkpoint %s -o %s/./model.safetensors", common, model, scratch_dir());
  r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "name the same file") != NULL, "%s", r.err);
  cli_result_free(&r);
}
