/* Nothing lost, nothing silently wrong (issue 31): the moments and resources the hostile-input
 * suites do not reach, each through the CLI. Changed data on --resume and on a checkpoint; closed
 * standard descriptors; data paths that are not UTF-8; a full disk or a file-size limit at the
 * first snapshot and at the final write; a killed test pass; a CSV too small for its test
 * fraction; an address-space limit; output paths too long; caviar report beside a running sweep;
 * duration and symlink messages; SIGHUP. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scratch.h"
#include "synth_support.h"

static char data_dir[1024];

static void setup(void) { strcpy(data_dir, synth_idx_dir("robust", 400, 100, 12, 4, 1.5, false)); }

TestSuite(robust, .init = setup, .timeout = 600);


static const char *spec(void) { return synth_sh_spec(data_dir, "spec.json"); }

static int sh(const char *command) {
  int raw = system(command);
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

static cJSON *read_json(const char *path) {
  char *text = scratch_read(path, NULL);
  cJSON *j = cJSON_Parse(text);
  free(text);
  cr_assert_not_null(j, "%s is not JSON", path);
  return j;
}



/* How many files under dir have a temporary name (*.tmp-*) or a staging folder's. */
static int leftovers(const char *dir) {
  char command[2048];
  snprintf(command, sizeof command, "find %s -name '*.tmp-*' -o -name '.caviar-new-*' | grep -c . >%s", dir,
           scratch_path("leftovers"));
  sh(command);
  char *text = scratch_read(scratch_path("leftovers"), NULL);
  int n = atoi(text);
  free(text);
  return n;
}

static bool finished_flag(const char *dir) {
  char path[1200];
  snprintf(path, sizeof path, "%s/summary.json", dir);
  cJSON *s = read_json(path);
  const cJSON *f = cJSON_GetObjectItem(s, "finished");
  cr_assert(cJSON_IsBool(f), "%s has no \"finished\": true or false", path);
  bool v = cJSON_IsTrue(f);
  cJSON_Delete(s);
  return v;
}

/* ---- 1. changed data ---- */

Test(robust, changed_data_is_refused_on_resume_naming_the_file_and_what_changed) {
  char data[1024], out[1024], args[4096], command[4096];
  strcpy(data, scratch_path("changing"));
  snprintf(command, sizeof command, "%s synth %s --train 400 --test 100 --features 12 --classes 4 2>/dev/null", CAVIAR_BIN,
           data);
  cr_assert_eq(sh(command), 0);
  const char *s = synth_sh_spec(data, "changing.json");
  strcpy(out, scratch_path("out"));
  snprintf(args, sizeof args, "sweep %s -o %s -q --snapshot-every 0", s, out);
  cli_result r = run_caviar_with("CAVIAR_KILL_AT=epoch:3:INT", args);
  cr_assert_eq(r.status, 3, "%s", r.err);
  cli_result_free(&r);
  /* The same files written again by another seed: same sizes at most, other contents. */
  snprintf(command, sizeof command, "%s synth %s --train 400 --test 100 --features 12 --classes 4 --seed 7 2>/dev/null",
           CAVIAR_BIN, data);
  cr_assert_eq(sh(command), 0);
  snprintf(args, sizeof args, "sweep --resume %s -q", out);
  r = run_caviar(args);
  cr_expect_eq(r.status, 2, "a resume on other data went on: %s", r.err);
  cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
  cr_expect(strstr(r.err, "the data changed since the sweep started") != NULL, "%s", r.err);
  cr_expect(strstr(r.err, "train-images-idx3-ubyte.gz") != NULL, "the message names no file: %s", r.err);
  cr_expect_str_eq(r.out, "", "it trained");
  cli_result_free(&r);
  /* Other features: said as a change of the data, not a damaged snapshot. */
  snprintf(command, sizeof command, "%s synth %s --train 400 --test 100 --features 16 --classes 4 2>/dev/null", CAVIAR_BIN,
           data);
  cr_assert_eq(sh(command), 0);
  r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "12 features then, 16 now") != NULL, "%s", r.err);
  cr_expect(strstr(r.err, "damaged") == NULL, "%s", r.err);
  cli_result_free(&r);
  /* The data as it was: the resume goes on, and ends as an uninterrupted run. */
  snprintf(command, sizeof command, "%s synth %s --train 400 --test 100 --features 12 --classes 4 2>/dev/null", CAVIAR_BIN,
           data);
  cr_assert_eq(sh(command), 0);
  r = run_caviar(args);
  cr_expect_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  char ref[1024];
  strcpy(ref, scratch_path("ref"));
  snprintf(args, sizeof args, "sweep %s -o %s -q", s, ref);
  r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  expect_same_results(ref, out, "resumed on the original data");
}

Test(robust, a_csv_cut_short_is_refused_on_resume_and_by_a_checkpoint_and_noted_by_eval_and_train_from) {
  char dir[1024], csv[1200], out[1024], args[8192], command[8192], ck[1024], model[1024];
  strcpy(dir, scratch_path("csv"));
  snprintf(command, sizeof command, "%s synth %s --csv --train 4000 --test 10 --features 8 --classes 3 2>/dev/null",
           CAVIAR_BIN, dir);
  cr_assert_eq(sh(command), 0);
  snprintf(csv, sizeof csv, "%s/train.csv", dir);
  strcpy(out, scratch_path("out"));
  snprintf(args, sizeof args, "sweep %s --data %s,test=0.2 -o %s -q --snapshot-every 0", spec(), csv, out);
  cli_result r = run_caviar_with("CAVIAR_KILL_AT=epoch:2:INT", args);
  cr_assert_eq(r.status, 3, "%s", r.err);
  cli_result_free(&r);
  strcpy(ck, scratch_path("run.ckpt"));
  strcpy(model, scratch_path("model.safetensors"));
  snprintf(args, sizeof args, "train --set hidden=8 --data %s,test=0.2 --epochs 1 --checkpoint %s -o %s", csv, ck, model);
  r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  /* 4,000 rows cut to 1,000. */
  snprintf(command, sizeof command, "head -n 1001 %s >%s.cut && mv %s.cut %s", csv, csv, csv, csv);
  cr_assert_eq(sh(command), 0);
  snprintf(args, sizeof args, "sweep --resume %s -q", out);
  r = run_caviar(args);
  cr_expect_eq(r.status, 2, "a resume on a cut CSV went on: %s", r.err);
  cr_expect(strstr(r.err, "train.csv") && strstr(r.err, "3200 training examples then, 800 now"), "%s", r.err);
  cli_result_free(&r);
  snprintf(args, sizeof args, "train --epochs 1 --checkpoint %s", ck);
  r = run_caviar(args);
  cr_expect_eq(r.status, 2, "a checkpoint went on with a cut CSV: %s", r.err);
  cr_expect(strstr(r.err, "the data changed since this run was checkpointed") != NULL, "%s", r.err);
  cr_expect_str_eq(r.out, "", "it trained");
  cli_result_free(&r);
  /* eval of the model on its own data: a warning that the data changed. */
  snprintf(args, sizeof args, "eval %s", model);
  r = run_caviar(args);
  cr_expect_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.err, "warning: the data changed since") && strstr(r.err, "train.csv"), "eval said nothing: %s", r.err);
  cli_result_free(&r);
  /* --from may mean new data: a warning, and it trains. */
  snprintf(args, sizeof args, "train --from %s --epochs 1", model);
  r = run_caviar(args);
  cr_expect_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.err, "warning: the data changed since") != NULL, "train --from said nothing: %s", r.err);
  cli_result_free(&r);
}

/* ---- 2. closed standard descriptors ---- */

Test(robust, with_stderr_closed_an_interrupted_sweep_still_resumes_to_the_same_results) {
  char out[1024], ref[1024], command[8192];
  strcpy(out, scratch_path("out"));
  strcpy(ref, scratch_path("ref"));
  snprintf(command, sizeof command, "%s sweep %s -o %s -q >/dev/null", CAVIAR_BIN, spec(), ref);
  cr_assert_eq(sh(command), 0);
  /* Not quiet: progress lines would go to descriptor 2, which the first file opened would take. */
  snprintf(command, sizeof command, "CAVIAR_KILL_AT=epoch:3:INT %s sweep %s -o %s --snapshot-every 0 >/dev/null 2>&-",
           CAVIAR_BIN, spec(), out);
  cr_assert_eq(sh(command), 3);
  /* Every line of the journal is JSON (no progress line in it). */
  char path[1200];
  snprintf(path, sizeof path, "%s/sweep-state/journal.jsonl", out);
  char *journal = scratch_read(path, NULL);
  int lines = 0;
  for (char *line = strtok(journal, "\n"); line; line = strtok(NULL, "\n"), lines++) {
    cJSON *j = cJSON_Parse(line);
    cr_expect_not_null(j, "the journal holds a line that is not JSON: %s", line);
    cJSON_Delete(j);
  }
  free(journal);
  cr_expect_gt(lines, 0);
  snprintf(command, sizeof command, "%s sweep --resume %s >/dev/null 2>&- <&-", CAVIAR_BIN, out);
  cr_expect_eq(sh(command), 0, "the resume failed");
  expect_same_results(ref, out, "interrupted and resumed with stderr closed");
}

/* ---- 3. paths that are not UTF-8 ---- */

Test(robust, a_data_path_that_is_not_utf8_leaves_valid_utf8_json_that_reads_back) {
  char data[1200], out[1024], command[8192], args[4096];
  snprintf(data, sizeof data, "%s/data-\xff\xfe-dir", scratch_dir());
  snprintf(command, sizeof command, "cp -r '%s' '%s'", data_dir, data);
  cr_assert_eq(sh(command), 0);
  const char *s = synth_sh_spec(data, "latin.json");
  strcpy(out, scratch_path("out"));
  snprintf(args, sizeof args, "sweep %s -o %s -q --snapshot-every 0", s, out);
  cli_result r = run_caviar_with("CAVIAR_KILL_AT=epoch:2:INT", args);
  cr_assert_eq(r.status, 3, "%s", r.err);
  cli_result_free(&r);
  /* An independent reader: Python's json on text decoded as strict UTF-8; the path's bytes come
   * back through surrogateescape. */
  snprintf(command, sizeof command,
           "python3 -c \"import json,sys; p=json.loads(open(sys.argv[1],'rb').read().decode('utf-8'));"
           "d=p['data_read']['files'][0]['path'];"
           "sys.exit(0 if d.encode('utf-8','surrogateescape').startswith(sys.argv[2].encode('utf-8','surrogateescape')) else 3)\" "
           "'%s/sweep-state/sweep.json' '%s'",
           out, data);
  cr_expect_eq(sh(command), 0, "sweep.json is not UTF-8 JSON naming the path's bytes");
  snprintf(args, sizeof args, "sweep --resume %s -q", out);
  r = run_caviar(args);
  cr_expect_eq(r.status, 0, "the resume could not read its own state: %s", r.err);
  cli_result_free(&r);
  snprintf(command, sizeof command,
           "python3 -c \"import json,sys; p=json.loads(open(sys.argv[1],'rb').read().decode('utf-8'));"
           "sys.exit(0 if p['data']['train'].encode('utf-8','surrogateescape').startswith(sys.argv[2].encode('utf-8',"
           "'surrogateescape')) else 3)\" '%s/summary.json' '%s'",
           out, data);
  cr_expect_eq(sh(command), 0, "summary.json is not UTF-8 JSON naming the path's bytes");
  /* Every model's header: strict UTF-8 JSON, its data section too; eval reads the path back. */
  DIR *d = opendir(strcat(strcpy(args, out), "/best"));
  cr_assert_not_null(d);
  struct dirent *e;
  int models = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char model[2400];
    snprintf(model, sizeof model, "%s/best/%s", out, e->d_name);
    snprintf(command, sizeof command,
             "python3 -c \"import json,struct,sys; b=open(sys.argv[1],'rb').read(); n=struct.unpack('<Q',b[:8])[0];"
             "m=json.loads(b[8:8+n].decode('utf-8'))['__metadata__']; json.loads(m['data']); json.loads(m['data_read'])\" '%s'",
             model);
    cr_expect_eq(sh(command), 0, "%s: its header is not UTF-8 JSON", model);
    snprintf(args, sizeof args, "eval %s", model);
    r = run_caviar(args);
    cr_expect_eq(r.status, 0, "eval could not read the data path back: %s", r.err);
    cli_result_free(&r);
    models++;
  }
  closedir(d);
  cr_expect_gt(models, 0);
  snprintf(args, sizeof args, "report %s -o %s", out, scratch_path("report.html"));
  r = run_caviar(args);
  cr_expect_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  snprintf(command, sizeof command, "python3 %s/tests/check_report.py %s >/dev/null", CAVIAR_SOURCE_DIR,
           scratch_path("report.html"));
  cr_expect_eq(sh(command), 0, "report.html is not well-formed UTF-8 XHTML");
}

/* ---- 4, 7, 10: a full disk or a file-size limit ---- */

Test(robust, a_file_size_limit_at_the_first_snapshot_is_an_error_not_a_death_nor_a_false_promise) {
  char out[1024], command[8192];
  /* 10 KiB: the journal and summary.json fit, the first snapshot (about 12 KiB here) does not. */
  for (int trap = 0; trap < 2; trap++) {
    snprintf(out, sizeof out, "%s/limited-%d", scratch_dir(), trap);
    snprintf(command, sizeof command, "(ulimit -f 10; %s %s sweep %s -o %s -q --snapshot-every 0 >/dev/null 2>%s)",
             trap ? "trap '' XFSZ;" : "", CAVIAR_BIN, spec(), out, scratch_path("limited.err"));
    int status = sh(command);
    char *err = scratch_read(scratch_path("limited.err"), NULL);
    cr_expect_eq(status, 1, "status %d (153: killed by SIGXFSZ): %s", status, err);
    cr_expect(strstr(err, "File too large") != NULL, "%s", err);
    cr_expect(strstr(err, "snapshot.bin") != NULL, "the failed file is not named: %s", err);
    cr_expect(strstr(err, "the last snapshot is kept") == NULL, "promised a snapshot that was never written: %s", err);
    cr_expect_eq(count_lines(err), 1, "%s", err);
    cr_expect_eq(leftovers(out), 0, "temporary files were left in %s", out);
    free(err);
  }
}

Test(robust, a_checkpoint_under_a_file_size_limit_fails_cleanly) {
  char command[8192];
  snprintf(command, sizeof command,
           "(ulimit -f 2; %s train --set hidden=64 --data %s --epochs 2 --checkpoint %s/ck.ckpt >/dev/null 2>%s)", CAVIAR_BIN,
           data_dir, scratch_dir(), scratch_path("ck.err"));
  int status = sh(command);
  char *err = scratch_read(scratch_path("ck.err"), NULL);
  cr_expect_eq(status, 1, "status %d (153: killed by SIGXFSZ): %s", status, err);
  cr_expect(strstr(err, "ck.ckpt: cannot write: File too large") != NULL, "%s", err);
  cr_expect_eq(leftovers(scratch_dir()), 0, "a temporary checkpoint was left");
  free(err);
}

/* A private tmpfs where the machine allows one; script runs inside with $M the mount point. */
static bool in_small_tmpfs(const char *script) {
  char mnt[1024], command[16384];
  strcpy(mnt, scratch_path("tmpfs"));
  mkdir(mnt, 0755);
  snprintf(command, sizeof command, "unshare -rm sh -c 'mount -t tmpfs -o size=64k none %s' 2>/dev/null", mnt);
  if (sh(command) != 0) return false;
  scratch_write_text("tmpfs.sh", script);
  snprintf(command, sizeof command, "unshare -rm sh -c 'mount -t tmpfs -o size=512k none %s && M=%s B=%s S=%s sh %s'", mnt,
           mnt, CAVIAR_BIN, spec(), scratch_path("tmpfs.sh"));
  cr_assert_eq(sh(command), 0, "the tmpfs script failed");
  return true;
}

Test(robust, a_full_disk_at_the_final_write_keeps_the_state_prints_the_leaderboard_and_names_the_real_file) {
  char script[4096];
  /* Paused at the final write, the disk filled, then let go. */
  snprintf(script, sizeof script,
           "CAVIAR_KILL_AT=final:1:STOP $B sweep $S -o $M/out -q >%s 2>%s &\n"
           "pid=$!\n"
           "for i in $(seq 1 600); do [ \"$(cut -d' ' -f3 /proc/$pid/stat)\" = T ] && break; sleep 0.1; done\n"
           "dd if=/dev/zero of=$M/fill bs=1k >/dev/null 2>&1\n"
           "kill -CONT $pid; wait $pid; echo $? >%s\n"
           "ls -a $M/out/sweep-state >%s 2>&1; ls -a $M/out >>%s 2>&1\n",
           scratch_path("final.out"), scratch_path("final.err"), scratch_path("final.status"), scratch_path("final.ls"),
           scratch_path("final.ls"));
  if (!in_small_tmpfs(script)) cr_skip_test("no private tmpfs here (unshare -rm)");
  char *status = scratch_read(scratch_path("final.status"), NULL), *out = scratch_read(scratch_path("final.out"), NULL),
       *err = scratch_read(scratch_path("final.err"), NULL), *ls = scratch_read(scratch_path("final.ls"), NULL);
  cr_expect_eq(atoi(status), 1, "%s", err);
  cr_expect(strstr(out, "rank") && strstr(out, "survived"), "no leaderboard was printed: %s", out);
  cr_expect(strstr(err, "No space left on device") != NULL, "%s", err);
  cr_expect(strstr(err, ".caviar-new-") == NULL, "the error names a staging path that is gone: %s", err);
  cr_expect(strstr(err, "/out/best/trial-") || strstr(err, "/out/curves.csv") || strstr(err, "/out/summary.json") ||
                strstr(err, "/out/best:"),
            "the error names no output file: %s", err);
  cr_expect(strstr(ls, "journal.jsonl") != NULL, "the sweep's state went with the failure: %s", ls);
  cr_expect(strstr(err, "journal") != NULL, "the error does not say what is kept: %s", err);
  cr_expect_eq(count_lines(err), 1, "%s", err);
  free(status);
  free(out);
  free(err);
  free(ls);
}

/* ---- 5. a failed run never reads as finished ---- */

Test(robust, a_sweep_killed_in_its_test_pass_leaves_a_summary_marked_unfinished) {
  char out[1024], args[4096];
  strcpy(out, scratch_path("out"));
  snprintf(args, sizeof args, "sweep %s -o %s -q --results-every 0", spec(), out);
  cli_result r = run_caviar_with("CAVIAR_KILL_AT=test:1", args);
  cr_assert_eq(r.status, 137, "%s", r.err);
  cli_result_free(&r);
  cr_expect_not(finished_flag(out), "a sweep killed in its test pass left a summary that reads as finished");
  snprintf(args, sizeof args, "sweep --resume %s -q", out);
  r = run_caviar(args);
  cr_expect_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  cr_expect(finished_flag(out), "the finished sweep's summary is not marked finished");
  /* Stopped by a signal: the results so far, unfinished. */
  char stopped[1024];
  strcpy(stopped, scratch_path("stopped"));
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec(), stopped);
  r = run_caviar_with("CAVIAR_KILL_AT=epoch:3:TERM", args);
  cr_expect_eq(r.status, 3, "%s", r.err);
  cli_result_free(&r);
  cr_expect_not(finished_flag(stopped), "a stopped sweep's summary reads as finished");
}

/* ---- 6. a CSV too small for its test fraction ---- */

Test(robust, a_test_fraction_that_leaves_too_few_training_rows_is_an_error_not_a_crash) {
  scratch_write_text("rows1.csv", "label,a,b\n1,0.5,0.25\n");
  char text[1024] = "label,a,b\n";
  for (int i = 0; i < 10; i++) snprintf(text + strlen(text), sizeof text - strlen(text), "%d,%d.5,%d.25\n", i % 2, i, i);
  scratch_write_text("rows10.csv", text);
  const char *cases[] = {"rows1.csv,test=0.2", "rows10.csv,test=0.9"};
  for (int i = 0; i < 2; i++) {
    char args[4096];
    for (int train = 0; train < 2; train++) {
      snprintf(args, sizeof args, train ? "train --data %s/%s --epochs 1" : "sweep --data %s/%s -o %s -q", scratch_dir(),
               cases[i], scratch_path("tiny-out"));
      cli_result r = run_caviar(args);
      cr_expect_eq(r.status, 2, "caviar %s: status %d (134/139: a crash): %s", args, r.status, r.err);
      cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
      cr_expect(strstr(r.err, "test") != NULL, "%s", r.err);
      cli_result_free(&r);
    }
  }
}

/* ---- 8. an address-space limit ---- */

Test(robust, an_address_space_limit_ends_in_results_or_a_clear_error_never_a_hang) {
  char command[8192];
  /* AddressSanitizer cannot start under such a limit: nothing to learn there. */
  snprintf(command, sizeof command, "(ulimit -v 300000; %s --version) >/dev/null 2>&1", CAVIAR_BIN);
  if (sh(command) != 0) cr_skip_test("caviar does not start under ulimit -v (a sanitizer build)");
  for (int i = 0; i < 2; i++) {
    const char *what = i ? "eval" : "sweep";
    if (i) snprintf(command, sizeof command,
                    "(ulimit -v 300000; timeout -s KILL 120 %s eval $(ls %s/best/*.safetensors | head -1) >/dev/null 2>%s)",
                    CAVIAR_BIN, scratch_path("limited"), scratch_path("as.err"));
    else snprintf(command, sizeof command,
                  "(ulimit -v 300000; timeout -s KILL 120 %s sweep %s -o %s -q >/dev/null 2>%s)", CAVIAR_BIN, spec(),
                  scratch_path("limited"), scratch_path("as.err"));
    int status = sh(command);
    char *err = scratch_read(scratch_path("as.err"), NULL);
    cr_expect(status == 0 || (status == 1 && strstr(err, "address-space limit")),
              "%s under ulimit -v: status %d (137: hung until killed): %s", what, status, err);
    free(err);
    if (status != 0) break;
  }
}

Test(robust, a_stop_before_training_begins_ends_at_once) {
  char out[1024], args[4096];
  strcpy(out, scratch_path("out"));
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec(), out);
  int pid = spawn_caviar("CAVIAR_KILL_AT=locked:1:STOP", args, "early"), status;
  cr_assert(wait_stopped(pid, &status), "the sweep ended (%d) before pausing", status);
  kill(pid, SIGTERM);
  cr_expect_eq(wait_exit(pid), 3, "a stop before training did not end the sweep with status 3");
  char *err = scratch_read(scratch_path("early.err"), NULL);
  cr_expect(strstr(err, "nothing to save") != NULL, "%s", err);
  free(err);
  snprintf(args, sizeof args, "%s/summary.json", out);
  cr_expect_neq(access(args, F_OK), 0, "it trained after the stop");
}

/* ---- 9. output paths too long ---- */

Test(robust, an_output_path_too_long_is_refused_before_training) {
  char longdir[5000], args[8192];
  snprintf(longdir, sizeof longdir, "%s", scratch_dir());
  /* Longer than any path caviar takes below a folder or beside a file, shorter than PATH_MAX. */
  while (strlen(longdir) < 4070) strcat(longdir, "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  longdir[4075] = '\0';
  for (int i = 0; i < 4; i++) {
    if (i == 0) snprintf(args, sizeof args, "sweep %s -o %s -q", spec(), longdir);
    if (i == 1) snprintf(args, sizeof args, "sweep --resume %s -q", longdir);
    if (i == 2) snprintf(args, sizeof args, "train --data %s --epochs 1 -o %s/m.safetensors", data_dir, longdir);
    if (i == 3) snprintf(args, sizeof args, "train --data %s --epochs 1 --checkpoint %s/c.ckpt", data_dir, longdir);
    cli_result r = run_caviar(args);
    cr_expect_eq(r.status, 2, "%.60s...: status %d: %s", args, r.status, r.err);
    cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
    cr_expect(strstr(r.err, "PATH_MAX") != NULL, "%.300s", r.err);
    cr_expect(strstr(r.err, longdir + strlen(longdir) - 40) != NULL, "the message is cut: %.200s", r.err);
    cr_expect_str_eq(r.out, "", "it trained before refusing");
    cli_result_free(&r);
  }
}

/* ---- 11. temporary names belong to their writer ---- */

Test(robust, a_running_writers_temporary_files_are_never_taken_for_leftovers) {
  char out[1024], args[4096], live[1200], dead[1200], live_model[1200];
  strcpy(out, scratch_path("out"));
  mkdir(out, 0755);
  /* A live writer's (this test's pid: a `caviar report` writing report.html) and a dead one's. */
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, NULL, 0);
  snprintf(live, sizeof live, "%s/report.html.tmp-%d-abcdef", out, (int)getpid());
  snprintf(dead, sizeof dead, "%s/report.html.tmp-%d-abcdef", out, (int)child);
  scratch_write_text("out/report.html.tmp-live", "x");
  rename(scratch_path("out/report.html.tmp-live"), live);
  scratch_write_text("out/report.html.tmp-dead", "x");
  rename(scratch_path("out/report.html.tmp-dead"), dead);
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec(), out);
  cli_result r = run_caviar(args);
  cr_expect_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  cr_expect_eq(access(live, F_OK), 0, "the sweep removed a live writer's temporary file");
  cr_expect_neq(access(dead, F_OK), 0, "the sweep left a dead writer's temporary file");
  /* The same for a model written by train -o. */
  snprintf(live_model, sizeof live_model, "%s.tmp-%d-abcdef", scratch_path("m.safetensors"), (int)getpid());
  scratch_write_text("m.safetensors.tmp-live", "x");
  rename(scratch_path("m.safetensors.tmp-live"), live_model);
  snprintf(args, sizeof args, "train --data %s --epochs 1 -o %s", data_dir, scratch_path("m.safetensors"));
  r = run_caviar(args);
  cr_expect_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  cr_expect_eq(access(live_model, F_OK), 0, "train removed a live writer's temporary file");
}

/* ---- 12, 13: messages ---- */

Test(robust, durations_beyond_the_maximum_and_broken_symlinks_are_said_as_such) {
  const char *cases[][2] = {{"sweep --time-budget 1000000h", "1e+09 s"},
                            {"sweep --snapshot-every 99999999999", "1e+09 s"},
                            {"sweep --results-every 1e400", "1e+09 s"}};
  for (int i = 0; i < 3; i++) {
    cli_result r = run_caviar(cases[i][0]);
    cr_expect_eq(r.status, 2, "%s", cases[i][0]);
    cr_expect(strstr(r.err, cases[i][1]) != NULL, "%s: the maximum is not said: %s", cases[i][0], r.err);
    cli_result_free(&r);
  }
  char dangling[1024], loop[1024], args[4096];
  strcpy(dangling, scratch_path("dangling"));
  strcpy(loop, scratch_path("loop"));
  cr_assert_eq(symlink("nowhere", dangling), 0);
  cr_assert_eq(symlink("loop", loop), 0);
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec(), dangling);
  cli_result r = run_caviar(args);
  cr_expect_eq(r.status, 2);
  cr_expect(strstr(r.err, "symbolic link to nowhere, which does not exist") != NULL, "%s", r.err);
  cli_result_free(&r);
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec(), loop);
  r = run_caviar(args);
  cr_expect_eq(r.status, 2);
  cr_expect(strstr(r.err, "symbolic link that loops") != NULL, "%s", r.err);
  cli_result_free(&r);
}

Test(robust, synth_csv_says_how_many_classes_it_wrote) {
  char args[2048];
  snprintf(args, sizeof args, "synth %s --csv --train 20 --test 5 --classes 3", scratch_path("few"));
  cli_result r = run_caviar(args);
  cr_expect_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.err, "(64 features, 3 classes)") != NULL, "%s", r.err);
  cli_result_free(&r);
}

/* ---- 14. SIGHUP ---- */

Test(robust, sighup_stops_a_sweep_resumably_as_sigterm_does) {
  char out[1024], ref[1024], args[4096];
  strcpy(out, scratch_path("out"));
  strcpy(ref, scratch_path("ref"));
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec(), ref);
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec(), out);
  r = run_caviar_with("CAVIAR_KILL_AT=epoch:3:HUP", args);
  cr_expect_eq(r.status, 3, "SIGHUP: status %d (129: killed without a snapshot): %s", r.status, r.err);
  cli_result_free(&r);
  snprintf(args, sizeof args, "sweep --resume %s -q", out);
  r = run_caviar(args);
  cr_expect_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  expect_same_results(ref, out, "stopped by SIGHUP and resumed");
}
