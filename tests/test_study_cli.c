/* A study through the caviar command: study init, ask, report DIR ID, tell, agent, report DIR.
 * Bad input of every kind gets one line, a non-zero exit and leaves the study's journal as it was;
 * the agent runs a program per trial (parameters in a file and the environment, metric lines from
 * its stdout), stops culled runs with SIGTERM, fails runs that fail, and ends when the study does;
 * an agent killed with SIGKILL leaves a study another agent finishes. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "caviar/study.h"
#include "scratch.h"

#define LR "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1}"

/* `caviar study init` of spec text into scratch folder name (extra: more flags); returns its path. */
static const char *init(const char *name, const char *text, const char *extra) { return scratch_study(name, text, extra); }

static char *journal_of(const char *dir) {
  char path[1200];
  snprintf(path, sizeof path, "%s/journal.jsonl", dir);
  return scratch_read(path, NULL);
}

/* Runs caviar ARGS (a format) and checks one line on stderr and exit status `status`, and that the
 * study's journal is unchanged. */
static void refused(const char *dir, int status, const char *expect, const char *fmt, ...) {
  char args[3000];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  char *before = dir ? journal_of(dir) : NULL;
  cli_result r = run_caviar(args);
  cr_expect_eq(r.status, status, "caviar %s: exit %d, expected %d (%s)", args, r.status, status, r.err);
  cr_expect_eq(count_lines(r.err), 1, "caviar %s: one line expected, got:\n%s", args, r.err);
  cr_expect_str_eq(r.out, "", "caviar %s printed on stdout: %s", args, r.out);
  if (expect) cr_expect(strstr(r.err, expect), "caviar %s: '%s' expected in: %s", args, expect, r.err);
  if (dir) {
    char *after = journal_of(dir);
    cr_expect_str_eq(after, before, "caviar %s changed the study", args);
    free(after);
  }
  free(before);
  cli_result_free(&r);
}

static cJSON *ask(const char *dir) { return scratch_ask(dir); }

static int status_of(const char *fmt, ...) {
  char args[3000];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  cli_result r = run_caviar(args);
  int status = r.status;
  cli_result_free(&r);
  return status;
}

Test(study_cli, ask_report_and_tell_drive_a_trial_and_the_schedule_answers_by_exit_status) {
  const char *dir = init("life", "{\"method\": \"random\", \"seed\": 3, \"trials\": 4, \"model\": {\"epochs\": 3}, "
                                 "\"parameters\": {" LR ", \"optimizer\": {\"values\": [\"sgd\", \"adam\"]}}, "
                                 "\"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, "
                                 "\"max_epochs\": 3, \"eta\": 3}}",
                         NULL);
  char d[1024];
  snprintf(d, sizeof d, "%s", dir);
  cJSON *a = ask(d), *b = ask(d);
  cr_expect_eq(cJSON_GetObjectItem(a, "trial")->valueint, 0);
  cr_expect_eq(cJSON_GetObjectItem(b, "trial")->valueint, 1);
  cr_expect_eq(cJSON_GetObjectItem(a, "attempt")->valueint, 1);
  cr_expect_eq(cJSON_GetObjectItem(a, "epochs")->valueint, 3);
  cJSON *params = cJSON_GetObjectItem(a, "params");
  cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(params, "learning_rate")));
  cr_assert(cJSON_IsString(cJSON_GetObjectItem(params, "optimizer")));
  /* The same values as caviar sample draws for trial 0. */
  char args[2000];
  snprintf(args, sizeof args, "sample %s/../life.json -n 1", d);
  cli_result sample = run_caviar(args);
  cJSON *line = cJSON_Parse(sample.out), *drawn = cJSON_GetObjectItem(line, "params");
  cr_expect_eq(cJSON_GetObjectItem(drawn, "learning_rate")->valuedouble,
               cJSON_GetObjectItem(params, "learning_rate")->valuedouble);
  cJSON_Delete(line);
  cli_result_free(&sample);
  /* Trial 0 reports first: it goes on; trial 1 reports worse at the rung: of two, one goes on. */
  cr_expect_eq(status_of("report %s 0 --epoch 1 --val_acc 0.8 --val_loss 0.5 --lr_now 0.001", d), 0);
  cli_result r = run_caviar((snprintf(args, sizeof args, "report %s 1 --epoch 1 --val_acc=0.6", d), args));
  cr_expect_eq(r.status, 3, "%s", r.err);
  cr_expect_str_eq(r.out, "stop\n");
  cr_expect(strstr(r.err, "culled"), "%s", r.err);
  cli_result_free(&r);
  /* After the cull there is nothing to tell: exit 3, nothing recorded. */
  char *before = journal_of(d);
  cr_expect_eq(status_of("tell %s 1 --val_acc 0.6", d), 3);
  char *after = journal_of(d);
  cr_expect_str_eq(after, before);
  free(before);
  free(after);
  cr_expect_eq(status_of("report %s 0 --epoch 2 --val_acc 0.85", d), 0);
  cr_expect_eq(status_of("tell %s 0 --val_acc 0.9 --epoch 3", d), 0);
  /* The journal says it all, one record a line. */
  char *text = journal_of(d);
  cr_expect_eq(count_lines(text), 6, "%s", text);
  cr_expect(strstr(text, "\"lr_now\":0.001"), "every metric is kept: %s", text);
  free(text);
  snprintf(args, sizeof args, "study status %s", d);
  r = run_caviar(args);
  cr_expect_eq(r.status, 0);
  cr_expect(strstr(r.out, "2 of 4 trials handed out: 0 out, 1 completed, 1 culled, 0 failed"), "%s", r.out);
  cli_result_free(&r);
  cJSON_Delete(a);
  cJSON_Delete(b);
}

Test(study_cli, a_trial_told_failed_without_an_epoch_keeps_its_values_at_the_epoch_they_are_from) {
  const char *dir = init("failed", "{\"method\": \"random\", \"seed\": 3, \"trials\": 2, \"model\": {\"epochs\": 3}, "
                                   "\"parameters\": {" LR "}}",
                         "");
  cJSON_Delete(ask(dir));
  cr_assert_eq(status_of("report %s 0 --epoch 1 --val_acc 0.7", dir), 0);
  cr_assert_eq(status_of("tell %s 0 --status failed", dir), 0);
  cr_assert_eq(status_of("report %s", dir), 0);
  char path[1200];
  snprintf(path, sizeof path, "%s/summary.json", dir);
  cJSON *summary = scratch_read_json(path), *t = cJSON_GetArrayItem(cJSON_GetObjectItem(summary, "trials"), 0);
  cr_expect_str_eq(cJSON_GetObjectItem(t, "status")->valuestring, "failed");
  cr_expect_eq(cJSON_GetObjectItem(t, "epochs")->valueint, 1, "the epoch it failed in was not completed");
  cr_expect_eq(cJSON_GetObjectItem(t, "value_epoch")->valueint, 1, "its value is epoch 1's");
  cr_expect_float_eq(cJSON_GetObjectItem(t, "value")->valuedouble, 0.7, 1e-6);
  cJSON_Delete(summary);
}

Test(study_cli, bad_input_gets_one_line_a_non_zero_exit_and_leaves_the_study_unchanged) {
  const char *dir = init("bad", "{\"method\": \"random\", \"trials\": 3, \"model\": {\"epochs\": 4}, \"parameters\": {" LR "}}",
                         NULL);
  char d[1024];
  snprintf(d, sizeof d, "%s", dir);
  cJSON_Delete(ask(d));
  cJSON_Delete(ask(d));
  cr_assert_eq(status_of("report %s 0 --epoch 2 --val_acc 0.5", d), 0);
  cr_assert_eq(status_of("tell %s 1 --val_acc 0.7", d), 0);
  refused(d, 2, "trial 7 was never handed out", "report %s 7 --epoch 1 --val_acc 0.5", d);
  refused(d, 2, "trial 7 was never handed out", "tell %s 7 --val_acc 0.5", d);
  refused(d, 2, "finite", "report %s 0 --epoch 3 --val_acc nan", d);
  refused(d, 2, "finite", "report %s 0 --epoch 3 --val_acc inf", d);
  refused(d, 2, "finite", "tell %s 0 --val_acc -inf", d);
  refused(d, 2, "finite", "tell %s 0 --val_acc 1e999", d);
  refused(d, 2, "finite", "report %s 0 --epoch 3 --val_acc 0.5x", d);
  refused(d, 2, "told already", "tell %s 1 --val_acc 0.8", d);
  refused(d, 2, "told already", "report %s 1 --epoch 2 --val_acc 0.8", d);
  refused(d, 2, "not after the epoch it reported last", "report %s 0 --epoch 2 --val_acc 0.6", d);
  refused(d, 2, "outside its budget", "report %s 0 --epoch 5 --val_acc 0.6", d);
  refused(d, 2, "needs the study's metric, val_acc", "report %s 0 --epoch 3 --val_loss 0.6", d);
  refused(d, 2, "--epoch E is required", "report %s 0 --val_acc 0.6", d);
  refused(d, 2, "unknown option --9x", "report %s 0 --epoch 3 --9x 1", d);
  refused(d, 2, "given twice", "report %s 0 --epoch 3 --val_acc 1 --val_acc 2", d);
  refused(d, 2, "has no attempt 4", "report %s 0 --epoch 3 --val_acc 1 --attempt 4", d);
  refused(d, 2, "--status expects completed or failed", "tell %s 0 --status done", d);
  refused(d, 2, "values go with a trial", "report %s --epoch 3 --val_acc 1", d);
  refused(d, 2, "unknown option", "ask %s --bogus", d);
  refused(NULL, 2, "not a study (no study.json", "report %s/.. 0 --epoch 1 --val_acc 1", d);
  refused(NULL, 2, "not a study", "tell /nonexistent/x 0 --val_acc 1");
  refused(NULL, 2, "not a study", "ask /tmp");
  refused(NULL, 2, "not a study", "study status /tmp");
  refused(NULL, 2, "not a study", "agent /tmp -- true");
  /* A journal damaged in the middle is named, line and all. */
  char path[1200];
  snprintf(path, sizeof path, "%s/journal.jsonl", d);
  char *text = journal_of(d);
  FILE *f = fopen(path, "w");
  fprintf(f, "{\"event\": \"start\", \"trial\": 9, \"attempt\": 1}\n%s", text);
  fclose(f);
  free(text);
  refused(d, 2, "journal.jsonl: line 1: trial: not the next trial", "ask %s", d);
}

Test(study_cli, study_init_refuses_what_it_cannot_run_and_folders_it_would_clobber) {
  scratch_write_text("pbt.json", "{\"method\": \"random\", \"parameters\": {" LR "}, \"early_terminate\": {\"type\": "
                                 "\"pbt\", \"interval\": 2}}");
  refused(NULL, 2, "pbt", "study init %s -o %s", scratch_path("pbt.json"), scratch_path("p"));
  cr_expect_neq(access(scratch_path("p"), F_OK), 0, "nothing created");
  const char *dir = init("twice", "{\"method\": \"random\", \"parameters\": {" LR "}}", NULL);
  char d[1024];
  snprintf(d, sizeof d, "%s", dir);
  refused(d, 2, "already holds a study", "study init %s -o %s", scratch_path("twice.json"), d);
  mkdir(scratch_path("full"), 0755);
  scratch_write_text("full/notes.txt", "mine");
  refused(NULL, 2, "holds other files", "study init %s -o %s", scratch_path("twice.json"), scratch_path("full"));
  refused(NULL, 2, "-o DIR is required", "study init %s", scratch_path("twice.json"));
  refused(NULL, 2, "--timeout expects", "study init %s -o %s --timeout 0", scratch_path("twice.json"), scratch_path("t"));
  scratch_write_text("grid.json", "{\"method\": \"grid\", \"parameters\": {\"optimizer\": {\"values\": [\"sgd\", \"adam\"]}}}");
  /* -n caps a grid (W&B's run_cap): asking for more than its points gives every point once. */
  char args[2400];
  snprintf(args, sizeof args, "study init %s -o %s -n 5", scratch_path("grid.json"), scratch_path("g"));
  cli_result g = run_caviar(args);
  cr_expect_eq(g.status, 0, "a grid capped above its size: %s", g.err);
  cr_expect(strstr(g.err, ": 2 trials, method grid"), "the grid's 2 points expected: %s", g.err);
  cli_result_free(&g);
}

Test(study_cli, ask_waits_while_the_population_is_out_and_says_when_the_study_is_done) {
  const char *dir = init("pop", "{\"method\": \"random\", \"trials\": 3, \"population\": 2, \"parameters\": {" LR "}}", NULL);
  char d[1024];
  snprintf(d, sizeof d, "%s", dir);
  cJSON_Delete(ask(d));
  cJSON_Delete(ask(d));
  cr_expect_eq(status_of("ask %s --no-wait", d), 4, "two out, population 2: nothing now");
  cr_assert_eq(status_of("tell %s 0 --val_acc 0.1", d), 0);
  cJSON *third = ask(d);
  cr_expect_eq(cJSON_GetObjectItem(third, "trial")->valueint, 2);
  cJSON_Delete(third);
  /* A waiting ask is answered once the last trial is told: the study is done. */
  char args[3000];
  snprintf(args, sizeof args, "sleep 0.3; %s tell %s 1 --val_acc 0.2; %s tell %s 2 --val_acc 0.3", CAVIAR_BIN, d, CAVIAR_BIN,
           d);
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", args, (char *)NULL);
    _exit(127);
  }
  cli_result r = run_caviar((snprintf(args, sizeof args, "ask %s", d), args));
  cr_expect_eq(r.status, 3, "%s", r.err);
  cr_expect(strstr(r.err, "the study is done"), "%s", r.err);
  cli_result_free(&r);
  waitpid(pid, NULL, 0);
}

Test(study_cli, report_on_a_study_writes_its_summary_curves_and_page) {
  const char *dir = init("page", "{\"method\": \"random\", \"seed\": 2, \"trials\": 3, \"model\": {\"epochs\": 2}, "
                                 "\"parameters\": {" LR "}}",
                         NULL);
  char d[1024];
  snprintf(d, sizeof d, "%s", dir);
  for (int i = 0; i < 3; i++) cJSON_Delete(ask(d));
  cr_assert_eq(status_of("report %s 0 --epoch 1 --val_acc 0.5 --val_loss 1.5", d), 0);
  cr_assert_eq(status_of("report %s 0 --epoch 2 --val_acc 0.75 --val_loss 1.25", d), 0);
  cr_assert_eq(status_of("tell %s 0", d), 0);
  cr_assert_eq(status_of("tell %s 1 --val_acc 0.25", d), 0);
  cr_assert_eq(status_of("tell %s 2 --status failed --reason oom", d), 0);
  char args[1200];
  snprintf(args, sizeof args, "report %s", d);
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  char path[1200];
  snprintf(path, sizeof path, "%s/summary.json", d);
  char *text = scratch_read(path, NULL);
  cJSON *summary = cJSON_Parse(text);
  free(text);
  cJSON *best = cJSON_GetObjectItem(summary, "best");
  cr_assert_not_null(best);
  cr_expect_eq(cJSON_GetObjectItem(best, "trial")->valueint, 0);
  cr_expect_float_eq(cJSON_GetObjectItem(best, "val_acc")->valuedouble, 0.75, 1e-7);
  cr_expect_eq(cJSON_GetObjectItem(best, "epochs")->valueint, 2);
  cr_expect(cJSON_IsNull(cJSON_GetObjectItem(summary, "data")));
  cJSON *trials = cJSON_GetObjectItem(summary, "trials");
  cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(trials, 2), "status")->valuestring, "failed");
  cr_expect_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(trials, 1), "epochs")->valueint, 2, "told without reports: its budget");
  cJSON *params = cJSON_GetObjectItem(cJSON_GetArrayItem(trials, 1), "params");
  cr_expect_eq(cJSON_GetArraySize(params), 1, "only the spec's parameters, as handed out");
  cJSON_Delete(summary);
  snprintf(path, sizeof path, "%s/curves.csv", d);
  text = scratch_read(path, NULL);
  cr_expect_str_eq(text, "trial,epoch,train_loss,val_loss,val_acc\n0,1,nan,1.5,0.5\n0,2,nan,1.25,0.75\n1,2,nan,nan,0.25\n");
  free(text);
  /* The page, well-formed and self-contained (tests/check_report.py). */
  snprintf(args, sizeof args, "python3 %s/tests/check_report.py %s/report.html >/dev/null", CAVIAR_SOURCE_DIR, d);
  cr_expect_eq(system(args), 0, "report.html fails tests/check_report.py");
  /* With a trial ID, a folder that is not a study is named as such, not taken for a page. */
  refused(NULL, 2, "not a study", "report %s/.. 0 --epoch 1 --val_acc 1", d);
}

/* ---- the agent ---- */

/* A training program in sh: val_acc from the learning rate, one line an epoch; marks when it gets
 * SIGTERM and what it was given. */
static const char *trainer(const char *name, const char *body) {
  char text[4000];
  snprintf(text, sizeof text,
           "#!/bin/sh\n"
           "marks=%s\n"
           "echo \"$CAVIAR_TRIAL $CAVIAR_ATTEMPT ${CUDA_VISIBLE_DEVICES:-none} $CAVIAR_PARAM_LEARNING_RATE\" >> $marks/env\n"
           "cp \"$CAVIAR_PARAMS\" $marks/params-$CAVIAR_TRIAL.json\n"
           "echo \"$CAVIAR_PARAMS_JSON\" > $marks/json-$CAVIAR_TRIAL.json\n"
           "trap 'echo $CAVIAR_TRIAL >> $marks/terminated; exit 143' TERM\n"
           "lr=$CAVIAR_PARAM_LEARNING_RATE\n"
           "%s\n",
           scratch_dir(), body);
  scratch_write_text(name, text);
  chmod(scratch_path(name), 0755);
  return scratch_path(name);
}

static const char *epochs_loop =
    "e=1\n"
    "while [ $e -le $CAVIAR_EPOCHS ]; do\n"
    "  acc=$(awk -v lr=$lr -v e=$e 'BEGIN{l=log(lr)/log(10); d=l+2; if(d<0)d=-d; print (1-d/4)*(1-1/(e+1))}')\n"
    "  echo \"epoch=$e val_acc=$acc\"\n"
    "  sleep 0.25\n" /* time for the agent to cull it mid-run, even on a loaded machine */
    "  e=$((e+1))\n"
    "done\n";

/* Per trial: the epochs recorded and whether the last one stopped it; counts of tells. */
static void read_journal(const char *dir, int n, int *epochs, bool *stopped, int *tells, char (*status)[16]) {
  char *text = journal_of(dir);
  memset(epochs, 0, (size_t)n * sizeof *epochs);
  memset(stopped, 0, (size_t)n * sizeof *stopped);
  memset(tells, 0, (size_t)n * sizeof *tells);
  char *line = text;
  for (char *nl; (nl = strchr(line, '\n')); line = nl + 1) {
    *nl = '\0';
    cJSON *rec = cJSON_Parse(line);
    cr_assert_not_null(rec, "%s", line);
    const char *event = cJSON_GetObjectItem(rec, "event")->valuestring;
    int id = cJSON_GetObjectItem(rec, "trial") ? cJSON_GetObjectItem(rec, "trial")->valueint : -1;
    if (!strcmp(event, "epoch")) {
      cr_expect_not(stopped[id], "trial %d reported after it was culled", id);
      epochs[id] = cJSON_GetObjectItem(rec, "epoch")->valueint;
      stopped[id] = !strcmp(cJSON_GetObjectItem(rec, "verdict")->valuestring, "stop");
    }
    if (!strcmp(event, "tell")) {
      tells[id]++;
      snprintf(status[id], 16, "%s", cJSON_GetObjectItem(rec, "status")->valuestring);
    }
    cJSON_Delete(rec);
  }
  free(text);
}

static bool listed(const char *file, int id) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", scratch_dir(), file);
  if (access(path, F_OK) != 0) return false;
  char *text = scratch_read(path, NULL);
  bool found = false;
  for (char *line = strtok(text, "\n"); line && !found; line = strtok(NULL, "\n")) found = atoi(line) == id;
  free(text);
  return found;
}

/* The schedule's verdicts in the journal, each recomputed in the journal's order: a report at a
 * rung of its bracket (below the last epoch) goes on when fewer than max(1, floor(n / eta)) of the
 * n values recorded at that rung so far, its own included, beat it (ties: the lower trial). rungs[b]
 * lists bracket b's rungs, ending with 0. Returns how many were culled. */
static int check_verdicts(const char *dir, const int rungs[][4], int eta, int max_epochs) {
  enum { MAX = 256 };
  int bracket[MAX], n_at[4][4] = {{0}}, culled = 0;
  double acc_at[4][4][MAX];
  int id_at[4][4][MAX];
  char *text = journal_of(dir);
  char *line = text;
  for (char *nl; (nl = strchr(line, '\n')); line = nl + 1) {
    *nl = '\0';
    cJSON *rec = cJSON_Parse(line);
    const char *event = cJSON_GetObjectItem(rec, "event")->valuestring;
    int id = cJSON_GetObjectItem(rec, "trial") ? cJSON_GetObjectItem(rec, "trial")->valueint : -1;
    cr_assert_lt(id, MAX);
    if (!strcmp(event, "start")) bracket[id] = cJSON_GetObjectItem(rec, "bracket")->valueint;
    if (!strcmp(event, "epoch")) {
      int e = cJSON_GetObjectItem(rec, "epoch")->valueint, b = bracket[id];
      double acc = cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "metrics"), "val_acc")->valuedouble;
      bool stop = !strcmp(cJSON_GetObjectItem(rec, "verdict")->valuestring, "stop"), expect_stop = false;
      for (int k = 0; rungs[b][k] && e < max_epochs; k++) {
        if (rungs[b][k] != e) continue;
        int n = n_at[b][k]++, better = 0;
        acc_at[b][k][n] = acc;
        id_at[b][k][n] = id;
        for (int j = 0; j < n; j++)
          better += (float)acc_at[b][k][j] > (float)acc || ((float)acc_at[b][k][j] == (float)acc && id_at[b][k][j] < id);
        int keep = (n + 1) / eta > 1 ? (n + 1) / eta : 1;
        expect_stop = better >= keep;
      }
      cr_expect_eq(stop, expect_stop, "trial %d at epoch %d (val_acc %g): the journal says %s", id, e, acc,
                   stop ? "stop" : "go");
      culled += stop;
    }
    cJSON_Delete(rec);
  }
  free(text);
  return culled;
}

Test(study_cli, the_agent_runs_every_trial_stops_culled_runs_with_sigterm_and_ends_with_the_study, .timeout = 300) {
  const char *dir = init("hb", "{\"method\": \"random\", \"seed\": 3, \"model\": {\"epochs\": 9}, \"parameters\": {" LR
                               ", \"optimizer\": {\"values\": [\"sgd\", \"adam\"]}}, \"early_terminate\": {\"type\": "
                               "\"hyperband\", \"min_iter\": 1, \"eta\": 3}}",
                         NULL);
  char d[1024], args[3000];
  snprintf(d, sizeof d, "%s", dir);
  const char *program = trainer("train.sh", epochs_loop);
  snprintf(args, sizeof args, "agent %s -j 3 --gpus 0,1 -- %s", d, program);
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "agent: %s", r.err);
  cr_expect(strstr(r.out, "rank trial status"), "the leaderboard: %s", r.out);
  cr_expect(strstr(r.err, "the study is done"), "%s", r.err);
  cli_result_free(&r);
  enum { N = 17 };
  int epochs[N], tells[N];
  bool stopped[N];
  char status[N][16];
  read_journal(d, N, epochs, stopped, tells, status);
  int culled = 0;
  for (int i = 0; i < N; i++) {
    if (stopped[i]) {
      culled++;
      cr_expect_eq(tells[i], 0, "culled trial %d was told too", i);
      cr_expect(listed("terminated", i), "culled trial %d's run got no SIGTERM", i);
    } else {
      cr_expect_eq(tells[i], 1, "trial %d told %d times", i, tells[i]);
      cr_expect_str_eq(status[i], "completed");
      cr_expect_eq(epochs[i], 9, "trial %d completed after %d epochs", i, epochs[i]);
      cr_expect_not(listed("terminated", i), "trial %d was not culled but got SIGTERM", i);
    }
  }
  /* Which trials are culled depends on the order their reports arrive in (asynchronous successive
   * halving); every verdict must follow from that order. Brackets s = 2, 1, 0: rungs 1 and 3; 3; none. */
  const int rungs[3][4] = {{1, 3, 0}, {3, 0}, {0}};
  cr_expect_eq(check_verdicts(d, rungs, 3, 9), culled);
  cr_expect_gt(culled, 0, "hyperband culled none: the SIGTERM checks above checked nothing");
  /* What each run was given: the parameters in a file, as JSON and one by one; GPUs shared out. */
  for (int i = 0; i < N; i++) {
    char name[64];
    snprintf(name, sizeof name, "params-%d.json", i);
    char *file = scratch_read(scratch_path(name), NULL);
    snprintf(name, sizeof name, "json-%d.json", i);
    char *json = scratch_read(scratch_path(name), NULL);
    cJSON *line = cJSON_Parse(file), *params = cJSON_Parse(json);
    cr_assert_not_null(line);
    cr_expect_eq(cJSON_GetObjectItem(line, "trial")->valueint, i);
    cr_expect(cJSON_Compare(cJSON_GetObjectItem(line, "params"), params, true), "trial %d: %s vs %s", i, file, json);
    cJSON_Delete(line);
    cJSON_Delete(params);
    free(file);
    free(json);
  }
  char *env = scratch_read(scratch_path("env"), NULL);
  int gpu[2] = {0, 0}, lines = 0;
  for (char *line = strtok(env, "\n"); line; line = strtok(NULL, "\n"), lines++) {
    int trial, attempt;
    char device[16];
    double lr;
    cr_assert_eq(sscanf(line, "%d %d %15s %lg", &trial, &attempt, device, &lr), 4, "%s", line);
    cr_expect(!strcmp(device, "0") || !strcmp(device, "1"), "CUDA_VISIBLE_DEVICES=%s", device);
    gpu[device[0] == '1']++;
    cr_expect(lr > 1e-4 && lr < 1, "CAVIAR_PARAM_LEARNING_RATE=%g", lr);
  }
  free(env);
  cr_expect_eq(lines, N);
  cr_expect(gpu[0] > 0 && gpu[1] > 0, "both GPUs used: %d and %d runs", gpu[0], gpu[1]);
  char path[1200];
  snprintf(path, sizeof path, "%s/summary.json", d);
  cr_expect_eq(access(path, F_OK), 0, "the agent wrote the study's summary");
}

Test(study_cli, runs_that_fail_fail_their_trials_and_say_why, .timeout = 300) {
  const char *dir = init("fails", "{\"method\": \"random\", \"seed\": 1, \"trials\": 8, \"model\": {\"epochs\": 2}, "
                                  "\"parameters\": {" LR "}}",
                         NULL);
  char d[1024], args[3000];
  snprintf(d, sizeof d, "%s", dir);
  /* Trial 0 exits 1, 1 prints nan, 2 prints nothing, 3 is killed by a signal, 4 prints only a
   * final line, the others train. */
  const char *program = trainer("fail.sh",
                                "case $CAVIAR_TRIAL in\n"
                                "  0) echo 'epoch=1 val_acc=0.5'; echo oops >&2; exit 1;;\n"
                                "  1) echo 'epoch=1 val_acc=0.5'; echo 'epoch=2 val_acc=nan'; sleep 5; exit 0;;\n"
                                "  2) echo 'training...'; exit 0;;\n"
                                "  3) kill -9 $$;;\n"
                                "  4) echo 'val_acc=0.625'; exit 0;;\n"
                                "  *) echo 'epoch=1 val_acc=0.3'; echo 'epoch=2 val_acc=0.4';;\n"
                                "esac\n");
  snprintf(args, sizeof args, "agent %s -j 2 --grace 1 -- %s", d, program);
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "agent: %s", r.err);
  cr_expect(strstr(r.err, "trial 1 failed: val_acc=nan at epoch 2"), "%s", r.err);
  cli_result_free(&r);
  char *text = journal_of(d);
  cr_expect(strstr(text, "\"trial\":0,\"attempt\":1,\"status\":\"failed\",\"epoch\":2,\"reason\":\"exit status 1; its stderr ended: oops\""), "%s",
            text);
  cr_expect(strstr(text, "\"reason\":\"val_acc=nan at epoch 2\""), "%s", text);
  cr_expect(strstr(text, "\"reason\":\"it logged no val_acc, the study's metric (wandb.log({\\\"val_acc\\\": ...}), or a line 'epoch=1 "
                           "val_acc=0.5'); it logged no values at all\""), "%s", text);
  cr_expect(strstr(text, "\"reason\":\"killed by signal 9\""), "%s", text);
  cr_expect(strstr(text, "\"trial\":4,\"attempt\":1,\"status\":\"completed\",\"epoch\":2,\"metrics\":{\"val_acc\":0.625}"),
            "%s", text);
  free(text);
  char path[1200];
  snprintf(path, sizeof path, "%s/trials/0/output.log", d);
  text = scratch_read(path, NULL);
  cr_expect(strstr(text, "oops"), "stderr goes to the trial's log: %s", text);
  free(text);
  snprintf(args, sizeof args, "study status %s", d);
  r = run_caviar(args);
  cr_expect(strstr(r.out, "8 of 8 trials handed out: 0 out, 4 completed, 0 culled, 4 failed; done"), "%s", r.out);
  cli_result_free(&r);
}

/* Waits (up to a minute) until the study's journal holds at least n records of event. */
static void wait_for(const char *dir, const char *event, int n) {
  char needle[64];
  snprintf(needle, sizeof needle, "\"event\":\"%s\"", event);
  for (int tries = 0; tries < 600; tries++) {
    char *text = journal_of(dir);
    int found = 0;
    for (char *p = text; (p = strstr(p, needle)); p++) found++;
    free(text);
    if (found >= n) return;
    usleep(100000);
  }
  cr_assert_fail("%s: fewer than %d %s records after a minute", dir, n, event);
}

Test(study_cli, a_study_whose_agent_was_killed_is_finished_by_another, .timeout = 300) {
  const char *dir = init("resume", "{\"method\": \"random\", \"seed\": 5, \"trials\": 10, \"model\": {\"epochs\": 4}, "
                                   "\"parameters\": {" LR "}}",
                         "--timeout 1");
  char d[1024], args[3000];
  snprintf(d, sizeof d, "%s", dir);
  const char *program = trainer("slow.sh", "for e in 1 2 3 4; do echo \"epoch=$e val_acc=0.$e\"; sleep 0.1; done\n");
  snprintf(args, sizeof args, "exec %s agent %s -j 3 --quiet -- %s", CAVIAR_BIN, d, program);
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", args, (char *)NULL);
    _exit(127);
  }
  wait_for(d, "epoch", 3); /* its runs are under way */
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  /* Its runs die with it (SIGTERM from the kernel), so their trials fall silent and go out again. */
  snprintf(args, sizeof args, "agent %s -j 3 -- %s", d, program);
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "second agent: %s", r.err);
  cr_expect(strstr(r.err, "(attempt 2)"), "the killed agent's trials went out again: %s", r.err);
  cli_result_free(&r);
  enum { N = 10 };
  int epochs[N], tells[N];
  bool stopped[N];
  char status[N][16];
  read_journal(d, N, epochs, stopped, tells, status);
  for (int i = 0; i < N; i++) {
    cr_expect_eq(tells[i], 1, "trial %d told %d times", i, tells[i]);
    cr_expect_eq(epochs[i], 4);
  }
}

Test(study_cli, a_stopped_agent_gives_its_trials_back_and_one_that_cannot_run_its_program_says_so, .timeout = 300) {
  const char *dir = init("stop", "{\"method\": \"random\", \"seed\": 5, \"trials\": 4, \"model\": {\"epochs\": 4}, "
                                 "\"parameters\": {" LR "}}",
                         NULL);
  char d[1024], args[3000];
  snprintf(d, sizeof d, "%s", dir);
  refused(NULL, 2, "cannot run /nonexistent/train", "agent %s -- /nonexistent/train", d);
  char *text = journal_of(d);
  cr_expect(strstr(text, "\"event\":\"release\""), "the trial went back: %s", text);
  free(text);
  const char *program = trainer("sleepy.sh", "echo 'epoch=1 val_acc=0.5'; sleep 30\n");
  snprintf(args, sizeof args, "exec %s agent %s -j 2 -- %s 2>%s", CAVIAR_BIN, d, program, scratch_path("agent.err"));
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", args, (char *)NULL);
    _exit(127);
  }
  wait_for(d, "epoch", 2); /* both runs started and printed (their SIGTERM traps are set) */
  kill(pid, SIGTERM);
  int status;
  waitpid(pid, &status, 0);
  cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 3, "a stopped agent exits 3 (status %d)", status);
  cr_expect(listed("terminated", 0) || listed("terminated", 1), "its runs got SIGTERM");
  text = journal_of(d);
  int releases = 0;
  for (char *p = text; (p = strstr(p, "\"event\":\"release\"")); p++) releases++;
  cr_expect_eq(releases, 3, "the first refusal's and the two runs' trials: %s", text);
  free(text);
  /* Released trials go out again at once, without waiting for the timeout. */
  cli_result r = run_caviar((snprintf(args, sizeof args, "ask %s --no-wait", d), args));
  cr_expect_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.out, "\"attempt\": "), "%s", r.out);
  cli_result_free(&r);
  refused(NULL, 2, "its config names no program or command: give the one to run after --", "agent %s -j 2", d);
  refused(NULL, 2, "-j expects", "agent %s -j 0 -- true", d);
}
