/* CNNs through the command line: a CNN sweep on images trains, saves models `caviar eval`
 * reproduces, and keeps its image's shape; hostile shapes (a data.shape that does not fit the
 * features, a CNN on plain features, pooling below 1 x 1, an even kernel, a shape that is not
 * [C, H, W]) get one line naming the field, exit status 2, and nothing written. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scratch.h"
#include "synth_support.h"

static const char *spec_file(const char *name, const char *data, const char *model, const char *extra) {
  char text[4096];
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"trials\": 3, \"seed\": 5, \"data\": %s, \"model\": {\"epochs\": 2, "
           "\"batch_size\": 16, \"hidden\": 8%s}, \"parameters\": {\"learning_rate\": {\"values\": [0.003, 0.01]}%s}}",
           data, model, extra);
  scratch_write_text(name, text);
  return scratch_path(name);
}


Test(cnn_cli, a_cnn_sweep_on_images_trains_saves_and_evaluates_its_models) {
  const char *dir = synth_images_dir("cnn-images", 400, 100, 8, 3);
  char data[1200], args[2048];
  snprintf(data, sizeof data, "{\"dir\": \"%s\", \"validation\": 0.2}", dir);
  const char *spec = spec_file("cnn.json", data, ", \"type\": \"cnn\", \"conv_blocks\": 2, \"channels\": 3", "");
  snprintf(args, sizeof args, "sweep %s -o %s/out -q", spec, scratch_dir());
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  char path[1200];
  snprintf(path, sizeof path, "%s/out/summary.json", scratch_dir());
  char *text = scratch_read(path, NULL);
  cJSON *summary = cJSON_Parse(text);
  free(text);
  const cJSON *best = cJSON_GetObjectItem(summary, "best");
  const cJSON *params = cJSON_GetObjectItem(best, "params");
  cr_expect_str_eq(cJSON_GetObjectItem(params, "model")->valuestring, "cnn");
  cr_expect_eq(cJSON_GetObjectItem(params, "conv_blocks")->valueint, 2);
  double test_acc = cJSON_GetObjectItem(best, "test_acc")->valuedouble;
  snprintf(args, sizeof args, "eval %s/out/%s", scratch_dir(), cJSON_GetObjectItem(best, "model")->valuestring);
  r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  double eval_acc = 0;
  cr_assert_eq(sscanf(r.out, "test_acc %lf", &eval_acc), 1, "%s", r.out);
  cr_expect_float_eq(eval_acc, test_acc, 1e-4, "eval %s vs the sweep's %g", r.out, test_acc);
  cr_expect_gt(eval_acc, 0.5, "a CNN learns the blobs");
  cli_result_free(&r);
  cJSON_Delete(summary);
}

Test(cnn_cli, a_data_shape_that_does_not_fit_the_features_is_refused) {
  const char *dir = synth_images_dir("cnn-shape", 100, 30, 8, 3);
  char data[1200];
  snprintf(data, sizeof data, "{\"dir\": \"%s\", \"shape\": [1, 8, 9]}", dir);
  expect_sweep_refused(spec_file("s.json", data, ", \"type\": \"cnn\"", ""), "data.shape", "8 x 9 for 64 features");
  snprintf(data, sizeof data, "{\"dir\": \"%s\", \"shape\": [1, 8]}", dir);
  expect_sweep_refused(spec_file("s2.json", data, "", ""), "data.shape", "two dimensions");
  snprintf(data, sizeof data, "{\"dir\": \"%s\", \"shape\": [1, 0, 64]}", dir);
  expect_sweep_refused(spec_file("s3.json", data, "", ""), "data.shape[1]", "a zero dimension");
}

Test(cnn_cli, a_cnn_on_plain_features_or_pooled_below_one_pixel_is_refused) {
  const char *flat = synth_idx_dir("cnn-flat", 100, 30, 12, 3, 1.0, true);
  char data[1200];
  snprintf(data, sizeof data, "{\"dir\": \"%s\"}", flat);
  /* IDX files of n x 12 features: no image. */
  expect_sweep_refused(spec_file("flat.json", data, ", \"type\": \"cnn\"", ""), "data.shape", "features, not an image");
  const char *dir = synth_images_dir("cnn-pool", 100, 30, 8, 3);
  snprintf(data, sizeof data, "{\"dir\": \"%s\"}", dir);
  expect_sweep_refused(spec_file("deep.json", data, ", \"type\": \"cnn\"", ", \"conv_blocks\": {\"values\": [3, 4]}"),
          "conv_blocks 4", "8 -> 4 -> 2 -> 1 -> 0");
  expect_sweep_refused(spec_file("even.json", data, ", \"type\": \"cnn\", \"kernel_size\": 4", ""), "model.kernel_size",
          "an even kernel");
  expect_sweep_refused(spec_file("evens.json", data, ", \"type\": \"cnn\"", ", \"kernel_size\": {\"values\": [3, 4]}"),
          "kernel_size", "an even kernel among the values");
  expect_sweep_refused(spec_file("range.json", data, ", \"type\": \"cnn\"",
                                 ", \"kernel_size\": {\"distribution\": \"int_uniform\", \"min\": 3, \"max\": 7}"),
          "int_uniform can produce 4", "a range of kernel sizes (its even sizes between)");
  expect_sweep_refused(spec_file("switch.json", data, ", \"type\": \"cnn\", \"batchnorm\": 1", ""), "model.batchnorm",
          "a number for an off/on switch (true and false are taken)");
}

Test(cnn_cli, a_csv_of_images_reads_its_shape_from_data_shape) {
  /* The same images as a CSV, 64 features per row: data.shape makes them 1 x 8 x 8. */
  const char *dir = synth_images_dir("cnn-csv", 300, 60, 8, 3);
  char args[2048], data[1200];
  snprintf(args, sizeof args, "synth %s/csv --csv --train 300 --test 60 --features 64 --classes 3", scratch_dir());
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  (void)dir;
  snprintf(data, sizeof data, "{\"format\": \"csv\", \"train\": \"%s/csv/train.csv\", \"test\": \"%s/csv/test.csv\", "
           "\"shape\": [1, 8, 8]}", scratch_dir(), scratch_dir());
  const char *spec = spec_file("csv.json", data, ", \"type\": \"cnn\", \"conv_blocks\": 1, \"channels\": 2", "");
  snprintf(args, sizeof args, "sweep %s -o %s/csv-out -q", spec, scratch_dir());
  r = run_caviar(args);
  cr_expect_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  snprintf(args, sizeof args, "%s/csv-out/summary.json", scratch_dir());
  char *text = scratch_read(args, NULL);
  cr_assert_not_null(text);
  cr_expect(strstr(text, "\"shape\":") && strstr(text, "[1, 8, 8]"), "the data section keeps shape");
  free(text);
}

Test(cnn_cli, a_csv_whose_features_do_not_fit_data_shape_is_refused_naming_the_spec_and_its_line) {
  /* The files' features are known only once they are read, after the spec: the message must still
   * start with the spec's name (and, for YAML, data.shape's line), as every spec error does. */
  char args[2048], data[1200];
  snprintf(args, sizeof args, "synth %s/csv9 --csv --train 100 --test 30 --features 64 --classes 3", scratch_dir());
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  snprintf(data, sizeof data, "{\"format\": \"csv\", \"train\": \"%s/csv9/train.csv\", \"test\": \"%s/csv9/test.csv\", "
           "\"shape\": [1, 8, 9]}", scratch_dir(), scratch_dir());
  char json[1200], yaml_path[1200], yaml[2048];
  snprintf(json, sizeof json, "%s", spec_file("shape9.json", data, "", ""));
  snprintf(yaml, sizeof yaml,
           "method: random\ntrials: 3\ndata:\n  format: csv\n  train: %s/csv9/train.csv\n  test: %s/csv9/test.csv\n"
           "  shape: [1, 8, 9]\nmodel:\n  epochs: 2\nparameters:\n  learning_rate:\n    values: [0.003, 0.01]\n",
           scratch_dir(), scratch_dir());
  scratch_write_text("shape9.yaml", yaml);
  snprintf(yaml_path, sizeof yaml_path, "%s", scratch_path("shape9.yaml"));
  const char *specs[2] = {json, yaml_path};
  const char *starts[2] = {": data.shape: [1, 8, 9] is 72 values per example", ":7: data.shape: [1, 8, 9] is 72 values"};
  for (int k = 0; k < 2; k++) {
    expect_sweep_refused(specs[k], "data.shape", "72 values for 64 features");
    snprintf(args, sizeof args, "sweep %s -o %s/never -q", specs[k], scratch_dir());
    r = run_caviar(args);
    char expected[1400];
    snprintf(expected, sizeof expected, "caviar: %s%s", specs[k], starts[k]);
    cr_expect_eq(strncmp(r.err, expected, strlen(expected)), 0, "expected \"%s...\", got: %s", expected, r.err);
    cr_expect(strstr(r.err, "has 64 features"), "%s", r.err);
    cli_result_free(&r);
    /* --data naming the files again leaves the spec's data.shape, and the message names the spec */
    snprintf(args, sizeof args, "sweep %s -o %s/never -q --data %s/csv9/train.csv,test=%s/csv9/test.csv", specs[k],
             scratch_dir(), scratch_dir(), scratch_dir());
    r = run_caviar(args);
    cr_expect_eq(r.status, 2, "%s", r.err);
    cr_expect_eq(strncmp(r.err, expected, strlen(expected)), 0, "--data: expected \"%s...\", got: %s", expected, r.err);
    cli_result_free(&r);
  }
}
