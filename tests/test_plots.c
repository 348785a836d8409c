/* scripts/plot_sweep.py on a sweep of every method (random, hyperband, pbt, coarse-to-fine) over
 * synthetic data writes every picture it promises, each a real PNG; and --help works. */
#include <criterion/criterion.h>
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
      " \"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.8, \"max\": 0.95},"
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
Test(plots, pbt_sweep_gets_its_lineage_too) { check_method("pbt", "lineage.png", "rounds.png"); }
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
