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
  char *text = scratch_read(path, NULL);
  cJSON *root = cJSON_Parse(text);
  free(text);
  cr_assert(root, "%s: not JSON", path);
  return root;
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
