/* Real W&B sweep configs from public repositories (tests/wandb_configs/, each file unedited, its
 * repository, path and commit in SOURCES.tsv with W&B's own schema's verdict on it), through the
 * CLI as their authors would run them: `caviar sample FILE` reads and samples each, every
 * parameter it names in every trial, nested ones nested; `caviar sweep FILE` refuses outside
 * code in one line; the configs refused are refused for a stated reason. The target: at least
 * 95% of the configs W&B accepts are read and sampled. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/spec.h"
#include "scratch.h"

#define CORPUS CAVIAR_SOURCE_DIR "/tests/wandb_configs"
#define TRIALS 25

typedef struct row {
  char file[256];
  bool wandb_accepts;
} row;

static int read_sources(row *rows, int max) {
  FILE *f = fopen(CORPUS "/SOURCES.tsv", "r");
  cr_assert_not_null(f, "no %s/SOURCES.tsv", CORPUS);
  char line[2048];
  int n = 0;
  cr_assert_not_null(fgets(line, sizeof line, f)); /* the header */
  while (n < max && fgets(line, sizeof line, f)) {
    char *fields[5] = {line};
    int k = 1;
    for (char *c = line; *c && k < 5; c++)
      if (*c == '\t') *c = '\0', fields[k++] = c + 1;
    cr_assert_eq(k, 5, "SOURCES.tsv: a row without 5 fields");
    cr_assert(strlen(fields[3]) >= 40, "SOURCES.tsv: %s has no commit", fields[0]);
    snprintf(rows[n].file, sizeof rows[n].file, "%.255s", fields[0]);
    rows[n].wandb_accepts = strncmp(fields[4], "accepts", 7) == 0;
    n++;
  }
  fclose(f);
  return n;
}

/* The configs caviar refuses, and why (W&B's schema refuses both as well). */
static const struct {
  const char *file, *fragment;
} refused[] = {
    {"julian-q_graph-attention-network_sweep.yml", "sweep.yml:5: metric: key given twice (first at line 2)"},
    {"wandb_examples_examples_keras_keras-cnn-fashion_sweep-tune-hyperopt.yaml",
     "sweep-tune-hyperopt.yaml:2: tune: unknown key (expected one of: name, description, method"},
};

static const char *expected_refusal(const char *file) {
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    if (!strcmp(refused[i].file, file)) return refused[i].fragment;
  return NULL;
}

/* Every parameter's path in the config (nested entries' leaves), as "a", "optimizer.lr". */
static int parameter_paths(const cJSON *params, const char *prefix, char paths[][256], int n, int max) {
  for (const cJSON *e = params ? params->child : NULL; e && n < max; e = e->next) {
    char path[256];
    snprintf(path, sizeof path, "%.120s%s%.120s", prefix, prefix[0] ? "\x1f" : "", e->string);
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(e, "parameters");
    if (inner) n = parameter_paths(inner, path, paths, n, max);
    else snprintf(paths[n++], 256, "%.250s", path);
  }
  return n;
}

/* The value at path (keys separated by \x1f) in a trial's params. */
static const cJSON *at_path(const cJSON *params, const char *path) {
  char copy[256];
  snprintf(copy, sizeof copy, "%.255s", path);
  const cJSON *node = params;
  for (char *key = strtok(copy, "\x1f"); key && node; key = strtok(NULL, "\x1f"))
    node = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, key) : NULL;
  return node;
}

/* caviar sample on one config: every line a trial with every parameter; the spec's own tree
 * names the parameters. */
static void check_samples(const char *file, const char *out) {
  char path[2048];
  snprintf(path, sizeof path, "%.1500s/%.255s", CORPUS, file);
  size_t len;
  char *text = scratch_read(path, &len);
  caviar_spec spec;
  caviar_error err;
  cr_assert_eq(caviar_spec_parse(text, len, path, NULL, &spec, &err), CAVIAR_OK, "%s", err.msg);
  cJSON *tree = caviar_spec_tree(&spec);
  cr_assert_not_null(tree, "%s", file);
  static char paths[256][256];
  int n_paths = parameter_paths(cJSON_GetObjectItemCaseSensitive(tree, "parameters"), "", paths, 0, 256);
  int lines = 0;
  for (const char *line = out; *line; lines++) {
    const char *end = strchr(line, '\n');
    cr_assert_not_null(end);
    cJSON *trial = cJSON_ParseWithLength(line, (size_t)(end - line));
    cr_assert_not_null(trial, "%s: not JSON: %.*s", file, (int)(end - line), line);
    cr_expect_eq(cJSON_GetObjectItem(trial, "trial")->valueint, lines);
    const cJSON *params = cJSON_GetObjectItem(trial, "params");
    cr_assert(cJSON_IsObject(params), "%s", file);
    for (int p = 0; p < n_paths; p++)
      cr_expect_not_null(at_path(params, paths[p]), "%s: trial %d has no %s: %.*s", file, lines, paths[p], (int)(end - line),
                         line);
    cJSON_Delete(trial);
    line = end + 1;
  }
  /* A grid may hold fewer points than asked for; anything else gives them all. */
  if (spec.method == CAVIAR_METHOD_GRID) cr_expect(lines >= 1 && lines <= TRIALS, "%s: %d lines", file, lines);
  else cr_expect_eq(lines, TRIALS, "%s", file);
  cJSON_Delete(tree);
  caviar_spec_free(&spec);
  free(text);
}

Test(wandb, real_configs_are_read_and_sampled_with_every_parameter_in_every_trial, .timeout = 600) {
  static row rows[256];
  int n = read_sources(rows, 256), accepted = 0, wandb_accepted = 0, both = 0;
  cr_assert_geq(n, 50, "the corpus has %d configs", n);
  for (int i = 0; i < n; i++) {
    char args[2048];
    snprintf(args, sizeof args, "sample -n %d %.1500s/%.255s", TRIALS, CORPUS, rows[i].file);
    cli_result r = run_caviar(args);
    const char *why = expected_refusal(rows[i].file);
    wandb_accepted += rows[i].wandb_accepts;
    if (r.status == 0) {
      accepted++;
      both += rows[i].wandb_accepts;
      cr_expect_null(why, "%s: accepted, but listed as refused", rows[i].file);
      check_samples(rows[i].file, r.out);
    } else {
      cr_expect_eq(r.status, 2, "%s: status %d", rows[i].file, r.status);
      cr_expect_eq(count_lines(r.err), 1, "%s: not one line: %s", rows[i].file, r.err);
      cr_expect(why && strstr(r.err, why), "%s: refused for a reason not listed: %s", rows[i].file, r.err);
    }
    cli_result_free(&r);
  }
  cr_log_info("caviar reads %d of %d configs; %d of the %d W&B accepts", accepted, n, both, wandb_accepted);
  cr_expect_geq(both * 100, 95 * wandb_accepted, "only %d of the %d configs W&B accepts are read and sampled", both,
                wandb_accepted);
}

/* Each config for outside code is refused by caviar sweep and caviar train in one line that says
 * why, before any data is read; caviar's models' own configs are not refused for it. */
Test(wandb, sweep_and_train_refuse_outside_code_in_one_line, .timeout = 600) {
  static row rows[256];
  int n = read_sources(rows, 256), outside = 0;
  for (int i = 0; i < n; i++) {
    if (expected_refusal(rows[i].file)) continue;
    char path[1800], args[2048];
    snprintf(path, sizeof path, "%.1500s/%.255s", CORPUS, rows[i].file);
    caviar_spec spec;
    caviar_error err;
    size_t len;
    char *text = scratch_read(path, &len);
    cr_assert_eq(caviar_spec_parse(text, len, path, NULL, &spec, &err), CAVIAR_OK, "%s", err.msg);
    free(text);
    if (!spec.outside) {
      caviar_spec_free(&spec);
      continue;
    }
    outside++;
    const char *commands[] = {"sweep", "train"};
    for (int c = 0; c < 2; c++) {
      snprintf(args, sizeof args, "%s %.1800s %s", commands[c], path, c == 0 ? "-o /nonexistent/never-written" : "");
      cli_result r = run_caviar(args);
      cr_expect_eq(r.status, 2, "%s %s: status %d", commands[c], rows[i].file, r.status);
      cr_expect_eq(count_lines(r.err), 1, "%s: not one line: %s", rows[i].file, r.err);
      char want[2048];
      snprintf(want, sizeof want, ": a config for outside code (%s): caviar %s trains caviar's own models; run its program with caviar agent ",
               spec.outside_reason, commands[c]);
      cr_expect(strstr(r.err, want) != NULL, "%s:\n  expected: %s\n  got:      %s", rows[i].file, want, r.err);
      cli_result_free(&r);
    }
    caviar_spec_free(&spec);
  }
  cr_expect_gt(outside, 40);
}
