/* W&B's meanings through the CLI, no silent surprises: Hyperband over a grid runs every point;
 * `caviar sample -n` and `caviar sweep -n` draw the same trials under Hyperband; -n caps a grid as
 * trials and run_cap do; Hyperband says what it will run; a log_uniform with value-like bounds
 * warns; run_cap is trials; metric.target stops a sweep; a YAML spec sweeps end to end with its
 * tree in summary.json. On synthetic data. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scratch.h"
#include "synth_support.h"

static const char *data_dir(void) {
  static char dir[1024];
  if (!dir[0]) snprintf(dir, sizeof dir, "%s", synth_idx_dir("wandb-cli", 600, 200, 16, 4, 1.5, true));
  return dir;
}

/* A spec of caviar's models on the synthetic data, `rest` being its method, parameters and the
 * rest; its path is kept (scratch_path's buffers rotate) until the test ends. */
static const char *spec_file(const char *name, const char *rest) {
  char text[4096];
  snprintf(text, sizeof text,
           "{\"seed\": 4, \"data\": {\"dir\": \"%s\", \"validation\": 0.2}, \"model\": {\"batch_size\": 32, \"hidden\": 8}, %s}",
           data_dir(), rest);
  scratch_write_text(name, text);
  static char paths[8][1024];
  static int next;
  char *path = paths[next++ % 8];
  snprintf(path, 1024, "%s", scratch_path(name));
  return path;
}

/* DIR/summary.json, parsed (the caller deletes it). */
static cJSON *summary_of(const char *dir) {
  char path[1200];
  snprintf(path, sizeof path, "%s/summary.json", dir);
  return scratch_read_json(path);
}

static cli_result caviar(const char *fmt, const char *path, const char *extra) {
  char args[4096];
  snprintf(args, sizeof args, fmt, path, extra);
  return run_caviar(args);
}

/* The params objects of `caviar sample`'s lines, as text, one per line. */
static int params_of(const char *out, char lines[][512], int max) {
  int n = 0;
  for (const char *line = out; *line && n < max; n++) {
    const char *end = strchr(line, '\n');
    cJSON *o = cJSON_ParseWithLength(line, (size_t)(end - line));
    cr_assert_not_null(o);
    char *p = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "params"));
    snprintf(lines[n], 512, "%s", p);
    free(p);
    cJSON_Delete(o);
    line = end + 1;
  }
  return n;
}

static const char *GRID_HB =
    "\"method\": \"grid\", \"parameters\": {\"learning_rate\": {\"values\": [0.001, 0.003, 0.01, 0.03]},"
    " \"dropout\": {\"values\": [0, 0.1, 0.2]}},"
    " \"early_terminate\": {\"type\": \"hyperband\", \"min_iter\": 1, \"max_iter\": 3, \"eta\": 3}";

/* W&B's hyperband stops runs; it never decides how many a grid has: all 12 points run, in
 * Hyperband's proportions across its brackets (today's 5 of Li et al. scaled to 12). */
Test(wandb_cli, hyperband_over_a_grid_runs_every_point) {
  const char *spec = spec_file("grid-hb.json", GRID_HB);
  cli_result s = caviar("sample %s%s", spec, "");
  cr_assert_eq(s.status, 0, "%s", s.err);
  static char lines[64][512];
  cr_expect_eq(params_of(s.out, lines, 64), 12);
  for (int i = 0; i < 12; i++)
    for (int j = 0; j < i; j++) cr_expect_str_neq(lines[i], lines[j], "grid points %d and %d coincide", i, j);
  cr_expect(strstr(s.err, "caviar: note: hyperband runs 12 trials: bracket 1: 7 trials, rungs at epochs 1; bracket 0: 5 trials, no rung; every trial ends by epoch 3") != NULL,
            "%s", s.err);
  cli_result d = caviar("sweep %s -o %s --dry-run", spec, scratch_path("grid-hb-out"));
  cr_assert_eq(d.status, 0, "%s", d.err);
  cr_expect(strstr(d.out, "trials       12\n") != NULL, "%s", d.out);
  cli_result_free(&s);
  cli_result_free(&d);
  /* And the sweep trains all 12: summary.json lists them, each in one of the two brackets. */
  cli_result r = caviar("sweep %s -o %s --quiet", spec, scratch_path("grid-hb-run"));
  cr_assert_eq(r.status, 0, "%s", r.err);
  cJSON *summary = summary_of(scratch_path("grid-hb-run"));
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(summary, "trials")), 12);
  cJSON_Delete(summary);
  cli_result_free(&r);
}

/* sample -n N and sweep -n N draw the same N trials under Hyperband (the brackets scaled to N). */
Test(wandb_cli, sample_and_sweep_agree_on_hyperbands_trials) {
  const char *spec = spec_file("hb.json",
                               "\"method\": \"random\", \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\","
                               " \"min\": 1e-3, \"max\": 3e-2}}, \"early_terminate\": {\"type\": \"hyperband\", \"min_iter\": 1,"
                               " \"max_iter\": 9, \"eta\": 3}");
  cli_result own = caviar("sample %s%s", spec, ""), seven = caviar("sample %s%s", spec, " -n 7");
  cr_assert_eq(own.status, 0, "%s", own.err);
  cr_assert_eq(seven.status, 0, "%s", seven.err);
  /* Its own brackets: s = 2, 1, 0 with 9, 5 and 3 trials (Li et al.). */
  cr_expect_eq(count_lines(own.out), 17);
  cr_expect_eq(count_lines(seven.out), 7);
  cr_expect(strstr(own.err, "hyperband runs 17 trials: bracket 2: 9 trials, rungs at epochs 1, 3; bracket 1: 5 trials, rungs at epochs 3;"
                            " bracket 0: 3 trials, no rung; every trial ends by epoch 9") != NULL,
            "%s", own.err);
  cr_expect(strstr(seven.err, "hyperband runs 7 trials: bracket 2: 4 trials") != NULL, "%s", seven.err);
  /* Trial k is the same in both: the first 7 of the 17. */
  cr_expect_eq(strncmp(own.out, seven.out, strlen(seven.out)), 0);
  cli_result d = caviar("sweep %s -o %s --dry-run -n 7", spec, scratch_path("hb-out")),
             e = caviar("sweep %s -o %s --dry-run", spec, scratch_path("hb-out"));
  cr_expect(strstr(d.out, "trials       7\n") != NULL, "%s%s", d.out, d.err);
  cr_expect(strstr(e.out, "trials       17\n") != NULL, "%s%s", e.out, e.err);
  cli_result_free(&own);
  cli_result_free(&seven);
  cli_result_free(&d);
  cli_result_free(&e);
}

/* -n caps a grid as trials and run_cap do: asking for 50 of a 6-point grid gives its 6. */
Test(wandb_cli, n_caps_a_grid_as_trials_and_run_cap_do) {
  const char *grid = "\"method\": \"grid\", \"parameters\": {\"dropout\": {\"values\": [0, 0.2]}, \"layers\": {\"values\": [1, 2, 3]}}";
  const char *spec = spec_file("grid.json", grid);
  cli_result a = caviar("sample %s%s", spec, " -n 50"), b = caviar("sample %s%s", spec, " -n 4");
  cr_expect_eq(a.status, 0, "%s", a.err);
  cr_expect_eq(count_lines(a.out), 6);
  cr_expect_eq(count_lines(b.out), 4);
  cr_expect_eq(strncmp(a.out, b.out, strlen(b.out)), 0);
  char rest[512];
  snprintf(rest, sizeof rest, "\"run_cap\": 5, %s", grid);
  cli_result c = caviar("sample %s%s", spec_file("grid-cap.json", rest), "");
  cr_expect_eq(count_lines(c.out), 5, "%s", c.err);
  cli_result d = caviar("sweep %s -o %s --dry-run -n 50", spec, scratch_path("grid-out"));
  cr_expect(strstr(d.out, "trials       6\n") != NULL, "%s%s", d.out, d.err);
  cli_result_free(&a);
  cli_result_free(&b);
  cli_result_free(&c);
  cli_result_free(&d);
}

/* wandb/wandb#507: log_uniform takes exponents, so bounds of 1e-4 and 0.1 mean 1.0001 to 1.105. */
Test(wandb_cli, log_uniform_with_value_like_bounds_warns) {
  const char *spec = spec_file("lu.json",
                               "\"method\": \"random\", \"trials\": 3, \"parameters\": {\"learning_rate\": {\"distribution\":"
                               " \"log_uniform\", \"min\": 1e-4, \"max\": 0.1}}");
  cli_result r = caviar("sample %s%s", spec, "");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.err, "caviar: warning: ") && strstr(r.err, "lu.json: parameters.learning_rate: log_uniform's min and max are"
                                                                 " natural-log exponents, so this draws values from 1.0001") &&
                strstr(r.err, "write distribution: log_uniform_values"),
            "%s", r.err);
  cli_result_free(&r);
  /* Exponents that look like exponents: no warning. */
  r = caviar("sample %s%s", spec_file("lu2.json", "\"method\": \"random\", \"trials\": 3, \"parameters\": {\"learning_rate\":"
                                                  " {\"distribution\": \"log_uniform\", \"min\": -9, \"max\": -2}}"),
             "");
  cr_expect_str_eq(r.err, "");
  cli_result_free(&r);
}

/* metric.target: once a trial's metric reaches it, the sweep stops at that epoch boundary. */
Test(wandb_cli, metric_target_stops_the_sweep_where_a_trial_reaches_it) {
  char text[2048];
  snprintf(text, sizeof text,
           "{\"seed\": 4, \"data\": {\"dir\": \"%s\", \"validation\": 0.2}, \"model\": {\"batch_size\": 32, \"hidden\": 8, \"epochs\": 5},"
           " \"method\": \"random\", \"trials\": 4, \"metric\": {\"name\": \"val_acc\", \"target\": 0.01},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-3, \"max\": 3e-2}}}",
           data_dir());
  scratch_write_text("target.json", text);
  cli_result r = caviar("sweep %s -o %s --quiet", scratch_path("target.json"), scratch_path("target-out"));
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.err, "caviar: a trial reached metric.target (val_acc >= 0.01), which stopped the sweep") != NULL, "%s", r.err);
  cJSON *summary = summary_of(scratch_path("target-out"));
  cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(summary, "stopped_at_target")));
  cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(summary, "stopped_by_time_budget")));
  const cJSON *t;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(summary, "trials")) {
    cr_expect_eq(cJSON_GetObjectItem(t, "epochs")->valueint, 1, "every trial stopped after the first epoch");
  }
  cJSON_Delete(summary);
  cli_result_free(&r);
}

/* A YAML spec of caviar's models sweeps end to end; summary.json holds its tree; sample, sweep
 * and train read it alike. */
Test(wandb_cli, a_yaml_spec_sweeps_end_to_end) {
  char text[2048];
  snprintf(text, sizeof text,
           "method: random\n"
           "run_cap: 3          # W&B's name for trials\n"
           "seed: 4\n"
           "data: {dir: %s, validation: 0.2}\n"
           "model: {batch_size: 32, hidden: 8}\n"
           "parameters:\n"
           "  lr: {distribution: log_uniform_values, min: 1e-3, max: 3e-2}   # lr: learning_rate\n"
           "  activation: {values: [gelu, swish]}\n"
           "  optimizer: {values: [AdamW, nag]}\n"
           "  momentum: {value: 0.9}\n"
           "  epochs: {value: 2}\n",
           data_dir());
  scratch_write_text("sweep.yaml", text);
  cli_result s = caviar("sample %s%s", scratch_path("sweep.yaml"), "");
  cr_assert_eq(s.status, 0, "%s", s.err);
  cr_expect_eq(count_lines(s.out), 3);
  cr_expect(strstr(s.out, "\"learning_rate\": ") && strstr(s.out, "\"momentum\": 0.9") && !strstr(s.out, "\"lr\""), "%s", s.out);
  cli_result r = caviar("sweep %s -o %s --quiet", scratch_path("sweep.yaml"), scratch_path("yaml-out"));
  cr_assert_eq(r.status, 0, "%s", r.err);
  cJSON *summary = summary_of(scratch_path("yaml-out"));
  const cJSON *spec = cJSON_GetObjectItem(summary, "spec");
  cr_assert(cJSON_IsObject(spec), "summary.json's spec is not the YAML spec's tree");
  cr_expect_eq(cJSON_GetObjectItem(spec, "run_cap")->valueint, 3);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(summary, "trials")), 3);
  const cJSON *t;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(summary, "trials")) {
    cr_expect_eq(cJSON_GetObjectItem(t, "epochs")->valueint, 2);
    cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(t, "val_acc")), "a trial did not train");
  }
  cJSON_Delete(summary);
  cli_result_free(&s);
  cli_result_free(&r);
  /* train SPEC --trial k reads it too. */
  cli_result tr = caviar("train %s --trial 1 --epochs 1 -o %s", scratch_path("sweep.yaml"), scratch_path("m.safetensors"));
  cr_expect_eq(tr.status, 0, "%s", tr.err);
  cli_result_free(&tr);
}
