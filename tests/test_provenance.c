/* Results users can trust outside the sweep (issue 16), end to end through the command line on
 * synthetic data: sample lines, models and checkpoints carry their seed and data; CSV labels by
 * name and as names; the test set as a fraction of the training file; regression. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scratch.h"

static cli_result run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static cli_result run(const char *fmt, ...) {
  char args[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  return run_caviar(args);
}

static void ok(cli_result *r, const char *what) {
  cr_assert_eq(r->status, 0, "%s failed: %s", what, r->err);
}

/* caviar synth DIR with extra flags; returns the folder. */
static const char *synth(const char *name, const char *flags) {
  static char dir[1024];
  snprintf(dir, sizeof dir, "%s", scratch_path(name));
  cli_result r = run("synth %s %s", dir, flags);
  ok(&r, "synth");
  cli_result_free(&r);
  return dir;
}

static cJSON *summary(const char *out) {
  char path[1200];
  snprintf(path, sizeof path, "%s/summary.json", out);
  return scratch_read_json(path);
}

static double number(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  cr_assert(cJSON_IsNumber(v), "no number %s", key);
  return v->valuedouble;
}

/* The best trial's entry of a summary and the path of its saved model. */
static const cJSON *best_of(const cJSON *root, const char *out, char *model, size_t size) {
  const cJSON *best = cJSON_GetObjectItemCaseSensitive(root, "best");
  cr_assert(best, "no best trial");
  snprintf(model, size, "%s/%s", out, cJSON_GetObjectItemCaseSensitive(best, "model")->valuestring);
  return best;
}

static const char *csv_spec(const char *dir, const char *data_extra, const char *model_extra, int seed) {
  char text[4096];
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"trials\": 4, \"seed\": %d,"
           " \"data\": {\"format\": \"csv\", \"train\": \"%s/train.csv\", \"validation\": 0.2%s},"
           " \"model\": {\"epochs\": 4, \"batch_size\": 32, \"hidden\": 32%s},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-3, \"max\": 1e-2}}}",
           seed, dir, data_extra, model_extra);
  static char path[1024];
  static int n;
  char name[64];
  snprintf(name, sizeof name, "spec-%d.json", n++);
  scratch_write_text(name, text);
  snprintf(path, sizeof path, "%s", scratch_path(name));
  return path;
}

Test(provenance, a_sample_line_trains_on_the_sweeps_data_seed_and_split) {
  const char *dir = synth("cls", "--csv --train 600 --test 150 --features 10 --classes 4");
  char extra[1200];
  snprintf(extra, sizeof extra, ", \"test\": \"%s/test.csv\"", dir);
  const char *spec = csv_spec(dir, extra, "", 7);
  cli_result line = run("sample %s -n 1", spec);
  ok(&line, "sample");
  cr_expect(strstr(line.out, "\"seed\": 7") && strstr(line.out, "train.csv") && strstr(line.out, "\"validation\":0.2"),
            "the line does not carry seed, data and validation: %s", line.out);
  scratch_write_text("line.json", line.out);
  cli_result from_spec = run("train %s --epochs 2", spec);
  cli_result from_line = run("train %s --epochs 2", scratch_path("line.json"));
  cli_result other_seed = run("train %s --epochs 2 --seed 0", scratch_path("line.json"));
  ok(&from_spec, "train spec");
  ok(&from_line, "train line");
  ok(&other_seed, "train line --seed 0");
  cr_expect_str_eq(from_line.out, from_spec.out, "the sample line trained differently from the sweep's trial 0");
  cr_expect(strstr(from_line.err, "train.csv") && strstr(from_line.err, "seed 7"), "%s", from_line.err);
  cr_expect_str_neq(other_seed.out, from_spec.out, "--seed 0 should change the split and so the curve");
  cli_result_free(&line);
  cli_result_free(&from_spec);
  cli_result_free(&from_line);
  cli_result_free(&other_seed);
}

Test(provenance, train_from_a_survivor_keeps_its_seed_and_warns_when_validation_overlaps_its_training) {
  const char *dir = synth("cls", "--csv --train 600 --test 150 --features 10 --classes 4");
  char extra[1200], out[1100], model[1400];
  snprintf(extra, sizeof extra, ", \"test\": \"%s/test.csv\"", dir);
  snprintf(out, sizeof out, "%s", scratch_path("out"));
  cli_result sweep = run("sweep %s -o %s --quiet", csv_spec(dir, extra, "", 5), out);
  ok(&sweep, "sweep");
  cJSON *root = summary(out);
  best_of(root, out, model, sizeof model);
  cli_result plain = run("train --from %s --epochs 1", model);
  cli_result same = run("train --from %s --epochs 1 --seed 5", model);
  cli_result other = run("train --from %s --epochs 1 --seed 0", model);
  ok(&plain, "train --from");
  ok(&same, "train --from --seed 5");
  ok(&other, "train --from --seed 0");
  cr_expect_str_eq(plain.out, same.out, "train --from did not use the sweep's seed 5");
  cr_expect(strstr(plain.err, "seed 5") && !strstr(plain.err, "warning"), "%s", plain.err);
  cr_expect(!strstr(same.err, "warning"), "the sweep's own split overlaps nothing: %s", same.err);
  cr_expect(strstr(other.err, "warning") && strstr(other.err, "validation examples were in"),
            "no overlap warning with another seed: %s", other.err);
  cJSON_Delete(root);
  cli_result_free(&sweep);
  cli_result_free(&plain);
  cli_result_free(&same);
  cli_result_free(&other);
}

Test(provenance, string_labels_round_trip_through_eval_and_the_test_set_may_be_a_fraction_of_train) {
  const char *dir = synth("names", "--names --train 800 --test 200 --features 10 --classes 4 --noise 1");
  char out[1100], model[1400];
  snprintf(out, sizeof out, "%s", scratch_path("out"));
  /* The label column by header name; the test set a quarter of train.csv, carved by the seed. */
  const char *spec = csv_spec(dir, ", \"test\": 0.25, \"label_column\": \"label\"", "", 11);
  cli_result sweep = run("sweep %s -o %s --quiet", spec, out);
  ok(&sweep, "sweep");
  cJSON *root = summary(out);
  const cJSON *best = best_of(root, out, model, sizeof model);
  double test_acc = number(best, "test_acc");
  cr_expect_gt(test_acc, 0.6, "4 named classes: test_acc %g is near chance", test_acc);
  cr_expect_eq(number(cJSON_GetObjectItem(root, "data"), "test_examples"), 200, "a quarter of 800 rows");
  /* eval with no --data: the model's own carved test set, its names mapped to the same classes. */
  cli_result eval = run("eval %s", model);
  ok(&eval, "eval");
  double acc = -1;
  sscanf(eval.out, "test_acc %lf", &acc);
  cr_expect_float_eq(acc, test_acc, 6e-5, "eval's %g vs the sweep's %g: %s", acc, test_acc, eval.out);
  /* Another file of names (test.csv, label column 0 by default): mapped through the model's names. */
  cli_result other = run("eval %s --data %s/test.csv", model, dir);
  ok(&other, "eval --data");
  double other_acc = -1;
  sscanf(other.out, "test_acc %lf", &other_acc);
  cr_expect_gt(other_acc, 0.6, "names mapped wrongly: %s", other.out);
  /* A name the model never saw is an error naming the file. */
  scratch_write_text("odd.csv", "label,x0,x1,x2,x3,x4,x5,x6,x7,x8,x9\nclass-q0,0,0,0,0,0,0,0,0,0,0\n");
  cli_result odd = run("eval %s --data %s", model, scratch_path("odd.csv"));
  cr_expect_eq(odd.status, 2, "%s", odd.err);
  cr_expect(strstr(odd.err, "odd.csv: label 'class-q0' is not one of the 4 classes"), "%s", odd.err);
  cJSON_Delete(root);
  cli_result_free(&sweep);
  cli_result_free(&eval);
  cli_result_free(&other);
  cli_result_free(&odd);
}

Test(provenance, data_on_the_command_line_names_a_csv_file_with_keys) {
  const char *dir = synth("cls", "--csv --train 600 --test 150 --features 10 --classes 4");
  char out[1100];
  snprintf(out, sizeof out, "%s", scratch_path("out"));
  /* A spec without a data section (Fashion-MNIST's IDX folder): --data replaces it. */
  scratch_write_text("plain.json", "{\"method\": \"random\", \"trials\": 2, \"model\": {\"epochs\": 1, \"hidden\": 16,"
                                   " \"batch_size\": 32}, \"parameters\": {}}");
  cli_result sweep = run("sweep %s --data %s/train.csv,test=0.2,validation=0.25 -o %s --quiet", scratch_path("plain.json"),
                         dir, out);
  ok(&sweep, "sweep --data CSV");
  cJSON *root = summary(out);
  const cJSON *data = cJSON_GetObjectItem(root, "data");
  cr_expect(strstr(cJSON_GetObjectItem(data, "train")->valuestring, "train.csv"));
  cr_expect_eq(number(data, "test_examples"), 120);
  cr_expect_eq(number(data, "validation_examples"), 120);
  cli_result bad = run("sweep %s --data %s/train.csv,test -o %s", scratch_path("plain.json"), dir, scratch_path("never"));
  cr_expect_eq(bad.status, 2);
  cr_expect(strstr(bad.err, "expected key=value after the file"), "%s", bad.err);
  cJSON_Delete(root);
  cli_result_free(&sweep);
  cli_result_free(&bad);
}

/* The first column of a CSV file with a header, as doubles. */
static double *first_column(const char *path, size_t *n) {
  char *text = scratch_read(path, NULL);
  double *v = malloc(100000 * sizeof *v);
  *n = 0;
  for (char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) v[(*n)++] = atof(line + 1);
  free(text);
  return v;
}

Test(provenance, regression_learns_a_noisy_nonlinear_target_well_below_predicting_the_mean) {
  const char *dir = synth("reg", "--regression --train 3000 --test 600 --features 8");
  char extra[1200], out[1100], model[1400];
  snprintf(extra, sizeof extra, ", \"test\": \"%s/test.csv\", \"label_column\": \"y\", \"scaling\": \"standardize\"", dir);
  snprintf(out, sizeof out, "%s", scratch_path("out"));
  char text[4096];
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"trials\": 4, \"seed\": 3,"
           " \"data\": {\"format\": \"csv\", \"train\": \"%s/train.csv\", \"validation\": 0.2%s},"
           " \"model\": {\"epochs\": 20, \"batch_size\": 64, \"hidden\": 64, \"task\": \"regression\"},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 2e-3, \"max\": 1e-2}}}",
           dir, extra);
  scratch_write_text("reg.json", text);
  cli_result sweep = run("sweep %s -o %s --quiet", scratch_path("reg.json"), out);
  ok(&sweep, "regression sweep");
  cr_expect(strstr(sweep.out, "val_rmse") && strstr(sweep.out, "test_rmse"), "%s", sweep.out);
  cJSON *root = summary(out);
  cr_expect_str_eq(cJSON_GetObjectItem(root, "metric")->valuestring, "val_rmse");
  const cJSON *best = best_of(root, out, model, sizeof model);
  double test_rmse = number(best, "test_rmse"), mean = number(cJSON_GetObjectItem(root, "data"), "target_mean");
  /* The independent reference: predicting the training mean for every test example. */
  size_t n;
  char test_csv[1200];
  snprintf(test_csv, sizeof test_csv, "%s/test.csv", dir);
  double *y = first_column(test_csv, &n), sq = 0;
  cr_assert_eq(n, 600);
  for (size_t i = 0; i < n; i++) sq += (y[i] - mean) * (y[i] - mean);
  double baseline = sqrt(sq / (double)n);
  cr_expect_lt(test_rmse, 0.5 * baseline, "test RMSE %g is not well below predicting the mean (%g)", test_rmse, baseline);
  cr_expect_gt(test_rmse, 0.2, "below the noise floor (0.3): %g", test_rmse);
  /* eval reads the target scaling from the model and agrees. */
  cli_result eval = run("eval %s", model);
  ok(&eval, "eval");
  double rmse = -1;
  sscanf(eval.out, "test_rmse %lf", &rmse);
  cr_expect_float_eq(rmse, test_rmse, 1e-4 * test_rmse, "eval %s vs %g", eval.out, test_rmse);
  free(y);
  cJSON_Delete(root);
  cli_result_free(&sweep);
  cli_result_free(&eval);
}

Test(provenance, labels_that_look_like_a_real_valued_target_get_a_warning) {
  char text[64 * 1024] = "label,x\n";
  for (int i = 0; i < 680; i++) {
    char row[64];
    snprintf(row, sizeof row, "%d,%d\n", (i * 37) % 524, i);
    strcat(text, row);
  }
  scratch_write_text("real.csv", text);
  char args[2048];
  snprintf(args, sizeof args, "train --data %s,test=0.1 --epochs 1 --set batch_size=32 --set hidden=8",
           scratch_path("real.csv"));
  cli_result r = run_caviar(args);
  cr_expect(strstr(r.err, "warning") && strstr(r.err, "task: regression"), "no warning: %s", r.err);
  cli_result_free(&r);
}

/* ---- --data overrides the keys it names (issue 36) ---- */

static const char *string_of(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  cr_assert(cJSON_IsString(v), "no string %s", key);
  return v->valuestring;
}

Test(provenance, data_on_the_command_line_overrides_only_the_keys_it_names) {
  const char *dir = synth("names", "--names --train 500 --test 100 --features 6 --classes 3 --noise 1");
  char out[1100];
  snprintf(out, sizeof out, "%s", scratch_path("out"));
  /* The spec standardises and carves a fifth of train.csv for the test set, label in column 0. */
  const char *spec = csv_spec(dir, ", \"test\": 0.2, \"scaling\": \"standardize\"", "", 3);
  cli_result sweep = run("sweep %s --data %s/train.csv,label_column=label,validation=0.25 -o %s --quiet", spec, dir, out);
  ok(&sweep, "sweep --data");
  cJSON *root = summary(out);
  const cJSON *data = cJSON_GetObjectItem(root, "data"), *section = cJSON_GetObjectItem(data, "section");
  cr_assert(section, "summary.json records no data section");
  /* What --data named is there, and what it did not name is the spec's. */
  cr_expect_str_eq(string_of(section, "label_column"), "label");
  cr_expect_eq(number(section, "validation"), 0.25);
  cr_expect_str_eq(string_of(section, "scaling"), "standardize", "the spec's scaling was dropped");
  cr_expect_eq(number(section, "test"), 0.2, "the spec's test fraction was dropped");
  cr_expect_str_eq(string_of(data, "scaling"), "standardize");
  cr_expect_eq(number(data, "test_examples"), 100, "a fifth of 500 rows is the test set");
  cr_expect_eq(number(data, "train_examples") + number(data, "validation_examples"), 400);
  /* A JSON section names one key: the rest stay. */
  cli_result json = run("sweep %s --data '{\"scaling\": \"none\"}' -o %s --force --quiet", spec, out);
  ok(&json, "sweep --data JSON");
  cJSON *again = summary(out);
  section = cJSON_GetObjectItem(cJSON_GetObjectItem(again, "data"), "section");
  cr_expect_str_eq(string_of(section, "scaling"), "none");
  cr_expect_eq(number(section, "test"), 0.2);
  cr_expect(strstr(string_of(section, "train"), "train.csv") != NULL);
  cJSON_Delete(root);
  cJSON_Delete(again);
  cli_result_free(&sweep);
  cli_result_free(&json);
}

static void expect_refused(cli_result *r, const char *fragment, const char *what) {
  cr_expect_eq(r->status, 2, "%s: exit %d: %s", what, r->status, r->err);
  cr_expect_eq(count_lines(r->err), 1, "%s: not one line: %s", what, r->err);
  cr_expect(strstr(r->err, fragment) != NULL, "%s: expected '%s' in: %s", what, fragment, r->err);
}

Test(provenance, a_test_set_sharing_examples_with_the_training_data_is_refused_unless_allowed) {
  const char *dir = synth("cls", "--csv --train 400 --test 100 --features 6 --classes 3");
  char out[1100];
  snprintf(out, sizeof out, "%s", scratch_path("out"));
  const char *spec = csv_spec(dir, ", \"test\": 0.2", "", 1);
  /* The training file as its own test set: every test example was trained on. */
  cli_result same = run("sweep %s --data %s/train.csv,test=%s/train.csv -o %s", spec, dir, dir, out);
  expect_refused(&same, "data.test: 400 of the 400 test examples", "the training file as the test set");
  cr_expect(strstr(same.err, "test_overlap=allow"), "the way out is named: %s", same.err);
  cr_expect_neq(access(out, F_OK), 0, "a refused sweep wrote %s", out);
  /* Half the test file copied into the training file: the count is the shared examples. */
  char path[1200];
  snprintf(path, sizeof path, "%s/train.csv", dir);
  char *train = scratch_read(path, NULL);
  snprintf(path, sizeof path, "%s/test.csv", dir);
  char *test = scratch_read(path, NULL);
  char *body = strchr(test, '\n') + 1, *cut = body;
  for (int k = 0; k < 50; k++) cut = strchr(cut, '\n') + 1;
  size_t len = strlen(train) + (size_t)(cut - body) + 1;
  char *mixed = malloc(len);
  snprintf(mixed, len, "%s%.*s", train, (int)(cut - body), body);
  scratch_write_text("mixed.csv", mixed);
  cli_result half = run("sweep %s --data %s,test=%s/test.csv -o %s", spec, scratch_path("mixed.csv"), dir, out);
  expect_refused(&half, "data.test: 50 of the 100 test examples", "half the test set in the training file");
  /* A spec's own data section is checked as well, before anything trains. */
  char text[4096];
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"trials\": 2, \"data\": {\"format\": \"csv\", \"train\": \"%s/train.csv\","
           " \"test\": \"%s/train.csv\"}, \"model\": {\"epochs\": 1, \"hidden\": 8, \"batch_size\": 32}, \"parameters\": {}}",
           dir, dir);
  scratch_write_text("same.json", text);
  cli_result spec_same = run("sweep %s -o %s", scratch_path("same.json"), out);
  expect_refused(&spec_same, "data.test: 400 of the 400", "a spec testing on its training file");
  /* Allowed explicitly, it runs, and summary.json says so. */
  cli_result allowed = run("sweep %s --data %s/train.csv,test=%s/train.csv,test_overlap=allow -o %s --quiet", spec, dir,
                           dir, out);
  ok(&allowed, "sweep with test_overlap=allow");
  cJSON *root = summary(out);
  cr_expect_str_eq(string_of(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "data"), "section"), "test_overlap"), "allow");
  /* A CSV file named where the spec has no test set (an IDX spec) must say which examples test. */
  scratch_write_text("idx.json", "{\"method\": \"random\", \"trials\": 2, \"model\": {\"epochs\": 1}, \"parameters\": {}}");
  cli_result untold = run("sweep %s --data %s/train.csv -o %s", scratch_path("idx.json"), dir, scratch_path("never"));
  expect_refused(&untold, "which examples are the test set? add test=FILE, or test=FRACTION", "no test set");
  cJSON_Delete(root);
  free(train);
  free(test);
  free(mixed);
  cli_result_free(&same);
  cli_result_free(&half);
  cli_result_free(&spec_same);
  cli_result_free(&allowed);
  cli_result_free(&untold);
}

Test(provenance, a_model_trained_on_named_labels_continues_with_train_from_and_checkpoint) {
  const char *dir = synth("names", "--names --train 600 --test 150 --features 6 --classes 3 --noise 1");
  char out[1100], model[1400], ckpt[1100];
  snprintf(out, sizeof out, "%s", scratch_path("out"));
  snprintf(ckpt, sizeof ckpt, "%s", scratch_path("run.ckpt"));
  char extra[1200];
  snprintf(extra, sizeof extra, ", \"test\": \"%s/test.csv\"", dir);
  cli_result sweep = run("sweep %s -o %s --quiet", csv_spec(dir, extra, "", 2), out);
  ok(&sweep, "sweep");
  cJSON *root = summary(out);
  best_of(root, out, model, sizeof model);
  /* The model's own data, and the same data named again on the command line. */
  cli_result from = run("train --from %s --epochs 1", model);
  ok(&from, "train --from a model of named labels");
  cli_result named = run("train --from %s --epochs 1 --data %s/train.csv,test=%s/test.csv", model, dir, dir);
  ok(&named, "train --from with --data");
  cr_expect_str_eq(from.out, named.out, "the same data named twice trained differently");
  /* A checkpoint of it, started and resumed. */
  cli_result first = run("train --from %s --epochs 1 --checkpoint %s", model, ckpt);
  ok(&first, "train --from --checkpoint");
  cli_result resumed = run("train --checkpoint %s --epochs 1", ckpt);
  ok(&resumed, "train --checkpoint resumed");
  cr_expect(strstr(resumed.out, "epoch    2"), "the checkpoint continued at epoch 2: %s", resumed.out);
  /* A file with only some of the classes maps through the model's list: its val_acc is of those. */
  char path[1200];
  snprintf(path, sizeof path, "%s/train.csv", dir);
  char *text = scratch_read(path, NULL);
  char *sub = calloc(strlen(text) + 1, 1), *unknown = calloc(2 * strlen(text) + 64, 1);
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (strncmp(line, "class-z9", 8) != 0) strcat(strcat(sub, line), "\n");
    strcat(strcat(unknown, strncmp(line, "class-z9", 8) == 0 ? "class-new" : ""),
           strncmp(line, "class-z9", 8) == 0 ? line + 8 : line);
    strcat(unknown, "\n");
  }
  scratch_write_text("sub.csv", sub);
  scratch_write_text("unknown.csv", unknown);
  cli_result subset = run("train --from %s --epochs 1 --data %s,test=0.2", model, scratch_path("sub.csv"));
  ok(&subset, "train --from on a subset of the classes");
  cli_result refused = run("train --from %s --epochs 1 --data %s,test=0.2", model, scratch_path("unknown.csv"));
  cr_expect_eq(refused.status, 2, "%s", refused.err);
  cr_expect(strstr(refused.err, "label 'class-new' is not one of the 3 classes trained on"), "%s", refused.err);
  cJSON_Delete(root);
  free(text);
  free(sub);
  free(unknown);
  cli_result_free(&sweep);
  cli_result_free(&from);
  cli_result_free(&named);
  cli_result_free(&first);
  cli_result_free(&resumed);
  cli_result_free(&subset);
  cli_result_free(&refused);
}
