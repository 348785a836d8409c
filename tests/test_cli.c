/* The command line: help, version, exit codes, stdout for data and one stderr line for errors. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>

#include "caviar/hparams.h"
#include "scratch.h"

static void expect_usage_error(const char *args, const char *fragment) {
  cli_result r = run_caviar(args);
  cr_expect_eq(r.status, 2, "caviar %s: exit %d", args, r.status);
  cr_expect_str_eq(r.out, "", "caviar %s wrote to stdout", args);
  cr_expect_eq(count_lines(r.err), 1, "caviar %s: not one line: %s", args, r.err);
  cr_expect(strstr(r.err, fragment) != NULL, "caviar %s: expected '%s' in: %s", args, fragment, r.err);
  cli_result_free(&r);
}

Test(cli, version_and_help) {
  cli_result r = run_caviar("--version");
  cr_expect_eq(r.status, 0);
  cr_expect(strncmp(r.out, "caviar ", 7) == 0 && strstr(r.out, "backends: cpu"), "%s", r.out);
  cli_result_free(&r);
  const char *helps[] = {"--help",       "sample --help", "spec --help",  "info --help", "sweep --help",
                         "train --help", "eval --help",   "bench --help", "synth --help"};
  for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++) {
    r = run_caviar(helps[i]);
    cr_expect_eq(r.status, 0, "%s", helps[i]);
    cr_expect(strstr(r.out, "usage: caviar") != NULL, "%s: %s", helps[i], r.out);
    cr_expect_str_eq(r.err, "");
    cli_result_free(&r);
  }
}

Test(cli, usage_errors_exit_2_with_one_line) {
  expect_usage_error("frobnicate", "unknown command 'frobnicate'");
  expect_usage_error("sample -n 0", "-n expects a whole number from 1");
  expect_usage_error("sample -n 12x", "got '12x'");
  expect_usage_error("sample --seed -3", "--seed expects a whole number");
  expect_usage_error("sample --bogus", "unknown option");
  expect_usage_error("sample a.json b.json", "expected at most one SPEC, got 2");
  expect_usage_error("sample /nonexistent/spec.json", "caviar: /nonexistent/spec.json: cannot open: No such file");
  expect_usage_error("spec extra", "takes no arguments");
  expect_usage_error("sweep --method hyperopt", "--method expects grid, random, sobol, tpe or bayes, got 'hyperopt'");
  expect_usage_error("sweep --device tpu", "--device: expected auto, cpu or cuda, got 'tpu'");
  expect_usage_error("train --epochs 0", "--epochs expects a whole number from 1");
  expect_usage_error("train --set learning_rate=fast --epochs 1 --data /nonexistent", "--set learning_rate: expected (0, inf), got 'fast'");
  expect_usage_error("eval /nonexistent.safetensors", "/nonexistent.safetensors: cannot open");
  expect_usage_error("bench --models 0", "--models expects a whole number from 1");
  expect_usage_error("bench --models 2,,4", "--models expects whole numbers separated by commas, got '2,,4'");
  expect_usage_error("bench --models 8,x", "--models expects a whole number from 1 to 1048576, got 'x'");
  expect_usage_error("bench --chunks 9", "--chunks expects a whole number from 1 to 8, got '9'");
  expect_usage_error("bench --device cpu --chunks 2", "--chunks: only the CUDA backend splits its steps");
  expect_usage_error("bench --device cpu --eager", "--eager: only the CUDA backend captures step graphs");
  /* The option as typed, and whether it is unknown or lacks its value. */
  expect_usage_error("sweep --data", "option --data needs a value");
  expect_usage_error("sweep -x", "unknown option -x");
  expect_usage_error("sweep -n", "option -n needs a value");
  expect_usage_error("sweep --bogus=3", "unknown option --bogus (");
  expect_usage_error("train --from", "option --from needs a value");
}

Test(cli, output_that_cannot_be_written_is_an_error) {
  /* /dev/full fails every write with ENOSPC: the command says so and exits 1, not 0. */
  const char *commands[] = {"info", "spec", "sample -n 3", "bench --help"};
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    char command[2400];
    snprintf(command, sizeof command, "%s %s >/dev/full 2>%s", CAVIAR_BIN, commands[i], scratch_path("full.err"));
    int raw = system(command);
    char *err = scratch_read(scratch_path("full.err"), NULL);
    cr_expect(WIFEXITED(raw) && WEXITSTATUS(raw) == 1, "caviar %s > /dev/full: status %d", commands[i], raw);
    cr_expect(strstr(err, "cannot write to stdout") != NULL, "caviar %s > /dev/full: %s", commands[i], err);
    free(err);
  }
}

Test(cli, bad_spec_is_one_line_naming_file_and_path) {
  scratch_write_text("bad.json", "{\"method\": \"random\", \"parameters\": {\"learning_rate\": "
                                 "{\"distribution\": \"log_uniform_values\", \"min\": -1, \"max\": 1}}}");
  char args[1200];
  snprintf(args, sizeof args, "sample %s", scratch_path("bad.json"));
  char expected[1200];
  snprintf(expected, sizeof expected,
           "caviar: %s: parameters.learning_rate.min: must be > 0 for log_uniform_values, got -1\n",
           scratch_path("bad.json"));
  cli_result r = run_caviar(args);
  cr_expect_eq(r.status, 2);
  cr_expect_str_eq(r.err, expected);
  cr_expect_str_eq(r.out, "");
  cli_result_free(&r);
}

Test(cli, sample_prints_one_json_object_per_trial) {
  cli_result r = run_caviar("sample -n 25");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_eq(count_lines(r.out), 25);
  char *line = r.out;
  for (int k = 0; k < 25; k++) {
    char *end = strchr(line, '\n');
    *end = '\0';
    cJSON *obj = cJSON_Parse(line);
    cr_assert_not_null(obj, "not JSON: %s", line);
    cr_expect_eq(cJSON_GetObjectItem(obj, "trial")->valueint, k);
    cJSON *params = cJSON_GetObjectItem(obj, "params");
    cr_assert(cJSON_IsObject(params));
    /* Every hyperparameter but those that do not apply to an MLP and the quiet ones at their
     * defaults (momentum, 0 here). */
    int shown = 0;
    caviar_hparams defaults;
    caviar_hparams_default(&defaults);
    for (int i = 0; i < caviar_hp_count; i++) shown += caviar_hp_shown(&defaults, &caviar_hp_table[i]);
    cr_expect_eq(cJSON_GetArraySize(params), shown);
    cr_expect_null(cJSON_GetObjectItem(params, "momentum"));
    cr_expect_null(cJSON_GetObjectItem(params, "conv_blocks"));
    double lr = cJSON_GetObjectItem(params, "learning_rate")->valuedouble;
    cr_expect(lr >= 1e-4 && lr <= 1e-2, "default spec samples lr in [1e-4, 1e-2], got %g", lr);
    cr_expect_str_eq(cJSON_GetObjectItem(params, "optimizer")->valuestring, "adam");
    cJSON_Delete(obj);
    line = end + 1;
  }
  cli_result_free(&r);
}

Test(cli, seed_flag_overrides_the_spec) {
  cli_result a = run_caviar("sample -n 3 --seed 1"), b = run_caviar("sample -n 3"), c = run_caviar("sample -n 3 --seed 2");
  cr_expect_str_eq(a.out, b.out, "the default spec's seed is 1");
  cr_expect_str_neq(a.out, c.out);
  cli_result_free(&a);
  cli_result_free(&b);
  cli_result_free(&c);
}

Test(cli, spec_prints_the_default_which_samples_the_same) {
  cli_result spec = run_caviar("spec");
  cr_assert_eq(spec.status, 0);
  scratch_write_text("default.json", spec.out);
  char args[1200];
  snprintf(args, sizeof args, "sample -n 5 %s", scratch_path("default.json"));
  cli_result from_file = run_caviar(args), built_in = run_caviar("sample -n 5");
  cr_expect_eq(from_file.status, 0, "%s", from_file.err);
  cr_expect_str_eq(from_file.out, built_in.out);
  cli_result_free(&spec);
  cli_result_free(&from_file);
  cli_result_free(&built_in);
}

Test(cli, info_lists_backends) {
  cli_result r = run_caviar("info");
  cr_expect_eq(r.status, 0);
  cr_expect(strstr(r.out, "backends: cpu") != NULL, "%s", r.out);
  cr_expect(strstr(r.out, "devices: cpu") != NULL, "%s", r.out);
  /* A CUDA build sees a GPU (cuda:0 ...) or says it found none, not the CUDA runtime's words for it. */
  if (strstr(r.out, "backends: cpu, cuda"))
    cr_expect(strstr(r.out, "cuda:0 ") || strstr(r.out, "no GPU found") || strstr(r.out, "no usable GPU found"), "%s",
              r.out);
  cr_expect(strstr(r.out, "driver version is insufficient") == NULL, "%s", r.out);
  cli_result_free(&r);
}

Test(cli, help_lists_every_exit_status) {
  cli_result r = run_caviar("--help");
  cr_expect_eq(r.status, 0);
  const char *statuses[] = {"0 ok", "1 runtime failure", "2 bad input or usage", "3 a sweep stopped by SIGINT"};
  for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
    cr_expect(strstr(r.out, statuses[i]) != NULL, "no '%s' in: %s", statuses[i], r.out);
  cli_result_free(&r);
}

Test(cli, a_corrupt_model_file_is_a_one_line_error) {
  scratch_write("bad.safetensors", "\x05\x00\x00\x00\x00\x00\x00\x00{\"a\":", 13);
  scratch_write("short.safetensors", "\xff\xff", 2);
  const char *names[] = {"bad.safetensors", "short.safetensors"};
  const char *expected[] = {"the safetensors header is not a JSON object", "not a safetensors file"};
  for (int i = 0; i < 2; i++) {
    char args[1200];
    snprintf(args, sizeof args, "eval %s", scratch_path(names[i]));
    expect_usage_error(args, expected[i]);
  }
}

Test(cli, a_json_syntax_error_is_one_printable_line) {
  static const char raw[] = "{\"method\": \x01\x7f\xff garbage\nsecond line\n}";
  scratch_write("raw.json", raw, sizeof raw - 1);
  char args[1200];
  snprintf(args, sizeof args, "sample %s", scratch_path("raw.json"));
  expect_usage_error(args, "raw.json:1:13: invalid JSON near '\\x7f\\xff garbage'");
  cli_result r = run_caviar(args);
  for (const char *c = r.err; *c; c++)
    cr_expect((*c >= 0x20 && *c < 0x7f) || *c == '\n', "byte 0x%02x echoed", (unsigned char)*c);
  cli_result_free(&r);
}

Test(cli, a_folder_given_as_a_model_is_named_once) {
  expect_usage_error("eval .", "caviar: .: is a folder, expected a file\n");
}
