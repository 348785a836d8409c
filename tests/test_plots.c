/* scripts/plot_sweep.py on a sweep of every method (random, hyperband, pbt, coarse-to-fine) over
 * synthetic data writes every picture it promises, each a real PNG; --help works; and
 * `caviar report` makes one well-formed page of it that references nothing outside itself. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scratch.h"
#include "synth_support.h"

/* Debian's interpreter, where python3-matplotlib and python3-sklearn are installed. */
#define PYTHON "/usr/bin/python3"
#define PLOT CAVIAR_SOURCE_DIR "/scripts/plot_sweep.py"

static const char *const common[] = {"curves.png", "params.png", "history.png", "parallel.png", "importance.png"};

/* Runs a sweep of the method's spec into DIR (under the scratch folder) and returns DIR. */
static const char *sweep_of(const char *method) {
  static char out[1024];
  const char *data = synth_idx_dir("plots", 800, 200, 16, 4, 3.0, true);
  const char *params =
      "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-3, \"max\": 1e-1},"
      " \"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.8, \"max\": 0.95,"
      "  \"when\": {\"optimizer\": [\"adam\"]}},"  /* trials without it: every picture copes */
      " \"hidden\": {\"values\": [8, 16]}, \"activation\": {\"values\": [\"relu\", \"tanh\"]},"
      " \"optimizer\": {\"values\": [\"momentum\", \"adam\"]}";
  char text[4096], file[64];
  if (!strcmp(method, "random"))
    snprintf(text, sizeof text,
             "{\"method\": \"random\", \"trials\": 18, \"seed\": 1, \"model\": {\"batch_size\": 32},"
             " \"data\": {\"dir\": \"%s\"}, \"parameters\": {%s}, \"early_terminate\": {\"type\": \"successive_halving\","
             " \"min_epochs\": 1, \"max_epochs\": 4, \"eta\": 3}}",
             data, params);
  else if (!strcmp(method, "hyperband"))
    snprintf(text, sizeof text,
             "{\"method\": \"random\", \"seed\": 1, \"model\": {\"batch_size\": 32}, \"data\": {\"dir\": \"%s\"},"
             " \"parameters\": {%s}, \"early_terminate\": {\"type\": \"hyperband\", \"min_iter\": 1, \"max_iter\": 9,"
             " \"eta\": 3}}",
             data, params);
  else if (!strcmp(method, "pbt"))
    snprintf(text, sizeof text,
             "{\"method\": \"random\", \"trials\": 8, \"seed\": 1, \"model\": {\"batch_size\": 32, \"epochs\": 6},"
             " \"data\": {\"dir\": \"%s\"}, \"parameters\": {%s}, \"early_terminate\": {\"type\": \"pbt\", \"interval\": 2}}",
             data, params);
  else
    snprintf(text, sizeof text,
             "{\"method\": \"coarse-to-fine\", \"trials\": 9, \"seed\": 1, \"model\": {\"batch_size\": 32},"
             " \"coarse_to_fine\": {\"rounds\": 3, \"zoom\": 0.5, \"top_k\": 3}, \"data\": {\"dir\": \"%s\"},"
             " \"parameters\": {%s}, \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1,"
             " \"max_epochs\": 3, \"eta\": 3}}",
             data, params);
  snprintf(file, sizeof file, "%s.json", method);
  scratch_write_text(file, text);
  snprintf(out, sizeof out, "%s", scratch_path(method));
  char args[4096];
  snprintf(args, sizeof args, "sweep %s -o %s -q", scratch_path(file), out);
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s: %s", method, r.err);
  cli_result_free(&r);
  return out;
}

static void expect_png(const char *dir, const char *name) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  size_t len = 0;
  char *bytes = scratch_read(path, &len);
  cr_assert_not_null(bytes, "%s was not written", path);
  cr_expect(len > 8 && memcmp(bytes, "\x89PNG\r\n\x1a\n", 8) == 0, "%s is not a PNG", path);
  cr_expect_gt(len, 10000, "%s: %zu bytes, too small to hold a plot", path, len);
  free(bytes);
}

static void expect_absent(const char *dir, const char *name) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  struct stat sb;
  cr_expect_neq(stat(path, &sb), 0, "%s written for a sweep without what it shows", path);
}

static void plot(const char *dir) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, PYTHON " " PLOT " %s > %s/written.txt 2> %s/plot-errors.txt", dir, dir, dir);
  int rc = system(cmd);
  snprintf(cmd, sizeof cmd, "%s/plot-errors.txt", dir);
  char *errors = scratch_read(cmd, NULL);
  cr_assert_eq(rc, 0, "plot_sweep.py %s failed: %s", dir, errors ? errors : "");
  free(errors);
}

static void check_method(const char *method, const char *extra, const char *absent) {
  const char *dir = sweep_of(method);
  plot(dir);
  for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) expect_png(dir, common[i]);
  if (extra) expect_png(dir, extra);
  if (absent) expect_absent(dir, absent);
}

Test(plots, random_sweep_gets_every_picture) { check_method("random", NULL, "lineage.png"); }
Test(plots, hyperband_sweep_gets_every_picture) { check_method("hyperband", NULL, "rounds.png"); }
/* tests/check_report.py's verdict on a page: well-formed, self-contained, and what it holds. */
static cJSON *check_report(const char *page) {
  char cmd[2048], result[1100];
  snprintf(result, sizeof result, "%s.check", page);
  snprintf(cmd, sizeof cmd, PYTHON " " CAVIAR_SOURCE_DIR "/tests/check_report.py %s > %s 2>&1", page, result);
  int rc = system(cmd);
  char *text = scratch_read(result, NULL);
  cr_assert_eq(rc, 0, "%s", text ? text : "");
  cJSON *json = cJSON_Parse(text);
  cr_assert_not_null(json, "%s", text);
  free(text);
  return json;
}

Test(plots, pbt_sweep_gets_its_lineage_too_and_a_self_contained_report) {
  check_method("pbt", "lineage.png", "rounds.png");
  const char *dir = scratch_path("pbt");
  char args[1200], page[1200];
  snprintf(args, sizeof args, "report %s", dir);
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  snprintf(page, sizeof page, "%s/report.html", dir);
  cr_expect(strstr(r.out, page) != NULL, "%s", r.out);
  cli_result_free(&r);
  cJSON *verdict = check_report(page);
  cr_expect_eq(cJSON_GetObjectItem(verdict, "pictures")->valueint, 6, "five pictures and the lineage, embedded");
  cr_expect_eq(cJSON_GetObjectItem(verdict, "trials")->valueint, 8, "a details block per trial");
  cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(verdict, "fragments_ok")), "a link to a missing anchor");
  const char *headers[] = {"rank", "status", "val_acc", "learning_rate", "beta1", "hidden", "activation", "optimizer"};
  cJSON *got = cJSON_GetObjectItem(verdict, "headers");
  for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
    bool found = false;
    cJSON *h;
    cJSON_ArrayForEach(h, got) found |= !strcmp(h->valuestring, headers[i]);
    cr_expect(found, "the leaderboard has no %s column", headers[i]);
  }
  cJSON_Delete(verdict);
  /* The spec is on the page. */
  char *html = scratch_read(page, NULL);
  cr_expect(strstr(html, "&quot;interval&quot;") && strstr(html, "&quot;pbt&quot;"), "the spec is not on the page");
  free(html);
}

Test(plots, a_report_without_pictures_is_still_whole_and_a_missing_folder_is_one_line) {
  const char *data = synth_idx_dir("nopics", 400, 100, 8, 3, 1.5, true);
  char text[1024], args[2400], page[1200];
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"trials\": 3, \"model\": {\"batch_size\": 32, \"epochs\": 2},"
           " \"data\": {\"dir\": \"%s\"}, \"parameters\": {\"learning_rate\": {\"values\": [0.01, 0.03]}}}",
           data);
  scratch_write_text("nopics.json", text);
  snprintf(args, sizeof args, "sweep %s -q -o %s", scratch_path("nopics.json"), scratch_path("nopics-out"));
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  snprintf(page, sizeof page, "%s", scratch_path("elsewhere.html"));
  snprintf(args, sizeof args, "report %s -o %s", scratch_path("nopics-out"), page);
  r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.err, "0 picture(s)") && strstr(r.err, "plot_sweep.py"), "%s", r.err);
  cli_result_free(&r);
  cJSON *verdict = check_report(page);
  cr_expect_eq(cJSON_GetObjectItem(verdict, "pictures")->valueint, 0);
  cr_expect_eq(cJSON_GetObjectItem(verdict, "trials")->valueint, 3);
  cJSON *headers = cJSON_GetObjectItem(verdict, "headers");
  bool at_epoch = false;
  cJSON *h;
  cJSON_ArrayForEach(h, headers) at_epoch |= !strcmp(h->valuestring, "at_epoch");
  cr_expect(at_epoch, "the leaderboard does not say which epoch each value is from");
  cJSON_Delete(verdict);
  /* The best as summary.json says it (trial, value, epoch), and the ranking rule under the board. */
  snprintf(args, sizeof args, "%s/summary.json", scratch_path("nopics-out"));
  char *text_summary = scratch_read(args, NULL), *html = scratch_read(page, NULL);
  cJSON *summary = cJSON_Parse(text_summary), *best = cJSON_GetObjectItem(summary, "best");
  char fact[256];
  snprintf(fact, sizeof fact, "<dt>best</dt><dd>trial %d: val_acc %.4g at epoch %d</dd>",
           cJSON_GetObjectItem(best, "trial")->valueint, cJSON_GetObjectItem(best, "value")->valuedouble,
           cJSON_GetObjectItem(best, "value_epoch")->valueint);
  cr_expect(strstr(html, fact) != NULL, "no '%s' on the page", fact);
  cr_expect(strstr(html, cJSON_GetObjectItem(summary, "ranking")->valuestring) != NULL, "no ranking rule on the page");
  cJSON_Delete(summary);
  free(text_summary);
  free(html);

  r = run_caviar("report /nonexistent/sweep");
  cr_expect_eq(r.status, 2);
  cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
  cr_expect(strstr(r.err, "/nonexistent/sweep/summary.json: cannot read") != NULL, "%s", r.err);
  cli_result_free(&r);
}
Test(plots, coarse_to_fine_sweep_gets_its_rounds_too) { check_method("coarse-to-fine", "rounds.png", "lineage.png"); }

Test(plots, help_works_and_a_missing_folder_is_one_line) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, PYTHON " " PLOT " --help > %s 2>&1", scratch_path("help.txt"));
  cr_assert_eq(system(cmd), 0);
  char *help = scratch_read(scratch_path("help.txt"), NULL);
  cr_expect(strstr(help, "usage: plot_sweep.py") && strstr(help, "importance.png"), "%s", help);
  free(help);
  snprintf(cmd, sizeof cmd, PYTHON " " PLOT " /nonexistent > /dev/null 2> %s", scratch_path("err.txt"));
  cr_expect_neq(system(cmd), 0);
  char *err = scratch_read(scratch_path("err.txt"), NULL);
  cr_expect_eq(count_lines(err), 1, "%s", err);
  cr_expect(strstr(err, "/nonexistent") != NULL, "%s", err);
  free(err);
}
