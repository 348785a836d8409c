/* Hostile model files and checkpoints, and runs that cannot train: each is a one-line error with
 * exit 2 through the CLI, never NaN weights saved or a run that silently trains nothing. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caviar/model_file.h"
#include "caviar/panda.h"
#include "scratch.h"
#include "synth_support.h"

static char data_dir[1024];

static void setup(void) { strcpy(data_dir, synth_idx_dir("hostile", 600, 150, 20, 4, 1.5, true)); }

TestSuite(hostile, .init = setup);

/* Trains trial 2 of a small config for one epoch into a checkpoint (also a model file). */
static const char *make_checkpoint(const char *name) {
  static char path[1024];
  char cfg[1400], args[4096];
  snprintf(cfg, sizeof cfg,
           "{\"trial\": 2, \"params\": {\"hidden\": 8, \"batch_size\": 32, \"optimizer\": \"adam\"}, "
           "\"data\": {\"dir\": \"%s\"}, \"seed\": 4}",
           data_dir);
  scratch_write_text("cfg.json", cfg);
  strcpy(path, scratch_path(name));
  snprintf(args, sizeof args, "train %s --epochs 1 --checkpoint %s", scratch_path("cfg.json"), path);
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  return path;
}

typedef void (*header_edit)(cJSON *header, void *ctx);

/* Copies a safetensors file with its JSON header edited (the tensor bytes unchanged). */
static void edit_header(const char *from, const char *to, header_edit edit, void *ctx) {
  size_t len;
  char *bytes = scratch_read(from, &len);
  size_t header_len = 0;
  for (int i = 7; i >= 0; i--) header_len = header_len << 8 | (unsigned char)bytes[i];
  cJSON *header = cJSON_ParseWithLength(bytes + 8, header_len);
  cr_assert_not_null(header);
  edit(header, ctx);
  char *json = cJSON_PrintUnformatted(header);
  size_t new_len = strlen(json);
  FILE *f = fopen(to, "wb");
  cr_assert_not_null(f);
  for (int i = 0; i < 8; i++) fputc((int)((new_len >> (8 * i)) & 0xff), f);
  fwrite(json, 1, new_len, f);
  fwrite(bytes + 8 + header_len, 1, len - 8 - header_len, f);
  cr_assert_eq(fclose(f), 0);
  free(json);
  cJSON_Delete(header);
  free(bytes);
}

/* Overwrites the first float of tensor name with value, in place. */
static void poke_tensor(const char *path, const char *name, float value) {
  size_t len;
  char *bytes = scratch_read(path, &len);
  size_t header_len = 0;
  for (int i = 7; i >= 0; i--) header_len = header_len << 8 | (unsigned char)bytes[i];
  cJSON *header = cJSON_ParseWithLength(bytes + 8, header_len);
  cJSON *range = cJSON_GetObjectItem(cJSON_GetObjectItem(header, name), "data_offsets");
  cr_assert_not_null(range, "no tensor %s", name);
  memcpy(bytes + 8 + header_len + (size_t)cJSON_GetArrayItem(range, 0)->valuedouble, &value, sizeof value);
  FILE *f = fopen(path, "wb");
  fwrite(bytes, 1, len, f);
  fclose(f);
  cJSON_Delete(header);
  free(bytes);
}

static void expect_exit_2(const char *args, const char *fragment) {
  cli_result r = run_caviar(args);
  cr_expect_eq(r.status, 2, "caviar %s: exit %d: %s", args, r.status, r.err);
  cr_expect_eq(count_lines(r.err), 1, "caviar %s: not one line: %s", args, r.err);
  cr_expect(strstr(r.err, fragment) != NULL, "caviar %s: expected '%s' in: %s", args, fragment, r.err);
  cli_result_free(&r);
}

Test(hostile, eval_of_a_model_with_a_nan_weight_is_refused) {
  char model[1024], args[4096];
  strcpy(model, make_checkpoint("nan.ckpt"));
  poke_tensor(model, "layers.1.weight", NAN);
  snprintf(args, sizeof args, "eval %s --data %s", model, data_dir);
  expect_exit_2(args, "layers.1.weight[0] is nan: expected finite numbers");
}

Test(hostile, train_from_a_model_with_an_infinite_input_scale_is_refused) {
  char model[1024], args[4096];
  strcpy(model, make_checkpoint("inf.ckpt"));
  poke_tensor(model, "input.scale", INFINITY);
  snprintf(args, sizeof args, "train --from %s --data %s --epochs 1 -o %s", model, data_dir, scratch_path("never.st"));
  expect_exit_2(args, "input.scale[0] is inf: expected finite numbers");
  cr_expect_neq(access(scratch_path("never.st"), F_OK), 0, "a model was saved");
}

Test(hostile, a_negative_second_moment_in_a_checkpoint_is_refused) {
  char ckpt[1024], args[4096];
  strcpy(ckpt, make_checkpoint("neg.ckpt"));
  poke_tensor(ckpt, "optimizer.second.layers.0.weight", -1.0f);
  snprintf(args, sizeof args, "train --checkpoint %s --epochs 1", ckpt);
  expect_exit_2(args, "optimizer.second.layers.0.weight[0] is -1: expected numbers >= 0");
}

Test(hostile, nan_parameters_stop_a_run_even_when_the_loss_stays_finite) {
  /* A NaN in the first layer hides behind ReLU: every hidden unit is 0, the loss finite. */
  caviar_panda p;
  caviar_error err;
  caviar_hparams hp;
  caviar_hparams_default(&hp);
  hp.hidden = 8;
  hp.batch_size = 32;
  hp.activation = CAVIAR_ACT_RELU;
  caviar_data_spec spec = {.format = CAVIAR_DATA_IDX, .dir = data_dir, .validation = 0.2, .scaling = CAVIAR_SCALING_UNIT};
  cr_assert_eq(caviar_panda_init(&p, &hp, 1, 3, &spec, "test", &err), CAVIAR_OK, "%s", err.msg);
  caviar_backend *be;
  caviar_data data;
  cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
  cr_assert_eq(caviar_data_load(&p.data, p.seed, &data, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_panda_train(&p, be, &data, 1, NULL, NULL, NULL, &err), CAVIAR_OK, "%s", err.msg);
  caviar_layout layout;
  caviar_layout_make(&p.shape, 1, &layout);
  for (size_t k = 0; k < layout.size[0]; k++) p.params[k] = NAN;
  char ckpt[1024];
  strcpy(ckpt, scratch_path("never.ckpt"));
  cr_expect_eq(caviar_panda_train(&p, be, &data, 1, ckpt, NULL, NULL, &err), CAVIAR_ERUNTIME, "trained on NaN weights");
  cr_expect(strstr(err.msg, "diverged in epoch 2 (NaN or Inf parameters)") != NULL, "%s", err.msg);
  cr_expect_neq(access(ckpt, F_OK), 0, "a checkpoint of NaN weights was written");
  caviar_data_free(&data);
  be->destroy(be);
  caviar_panda_free(&p);
}

typedef struct field_edit {
  const char *key, *value;
} field_edit;

static void set_run_field(cJSON *header, void *ctx) {
  const field_edit *e = ctx;
  cJSON *meta = cJSON_GetObjectItem(header, "__metadata__");
  cJSON *run = cJSON_Parse(cJSON_GetObjectItem(meta, "checkpoint")->valuestring);
  cJSON_ReplaceItemInObject(run, e->key, cJSON_Parse(e->value));
  char *text = cJSON_PrintUnformatted(run);
  cJSON_ReplaceItemInObject(meta, "checkpoint", cJSON_CreateString(text));
  free(text);
  cJSON_Delete(run);
}

Test(hostile, checkpoint_run_fields_out_of_range_are_refused) {
  char ckpt[1024], edited[1024], args[4096];
  strcpy(ckpt, make_checkpoint("fields.ckpt"));
  strcpy(edited, scratch_path("edited.ckpt"));
  const field_edit edits[] = {{"epochs_done", "2147483647"}, {"epochs_done", "2.5"},  {"steps", "1e300"},
                              {"steps", "-1"},               {"batch_size", "1e9"},   {"batch_size", "1.5"},
                              {"seed", "-3"},                {"seed", "1e300"}};
  const char *expected[] = {"epochs_done: expected an integer in [0, 1000000000]",
                            "epochs_done: expected an integer in [0, 1000000000], got 2.5",
                            "steps: expected an integer in [0, 2147483647]",
                            "steps: expected an integer in [0, 2147483647], got -1",
                            "batch_size: expected an integer in [1, 65536]",
                            "batch_size: expected an integer in [1, 65536], got 1.5",
                            "seed: expected an integer in [0, 9007199254740992], got -3",
                            "seed: expected an integer in [0, 9007199254740992]"};
  for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
    edit_header(ckpt, edited, set_run_field, (void *)&edits[i]);
    snprintf(args, sizeof args, "train --checkpoint %s --epochs 1", edited);
    expect_exit_2(args, expected[i]);
  }
  /* In range, but training on would overflow a counter: refused before the first step. */
  const field_edit near_limits[] = {{"steps", "2147483640"}, {"epochs_done", "999999999"}};
  const char *refusals[] = {"would overflow the step counter", "2 epochs on top of 999999999 would pass the limit"};
  for (int i = 0; i < 2; i++) {
    edit_header(ckpt, edited, set_run_field, (void *)&near_limits[i]);
    snprintf(args, sizeof args, "train --checkpoint %s --epochs 2", edited);
    cli_result r = run_caviar(args);
    cr_expect_eq(r.status, 2, "%s", r.err);
    cr_expect(strstr(r.err, refusals[i]) != NULL, "%s", r.err);
    cr_expect_str_eq(r.out, "", "trained: %s", r.out);
    cli_result_free(&r);
  }
}

Test(hostile, a_checkpoint_resumes_from_another_working_folder) {
  /* --data names the data folder relative to the working folder the run started in. */
  char dir[1024], ckpt[1024], args[4096], saved[1024];
  strcpy(dir, scratch_dir());
  cr_assert_eq(strncmp(data_dir, dir, strlen(dir)), 0);
  strcpy(ckpt, scratch_path("rel.ckpt"));
  cr_assert_not_null(getcwd(saved, sizeof saved));
  cr_assert_eq(chdir(dir), 0);
  snprintf(args, sizeof args, "train --epochs 1 --set hidden=8 --set batch_size=32 --data .%s --checkpoint %s",
           data_dir + strlen(dir), ckpt);
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  cr_assert_eq(chdir("/"), 0);
  snprintf(args, sizeof args, "train --checkpoint %s --epochs 1", ckpt);
  r = run_caviar(args);
  cr_assert_eq(chdir(saved), 0);
  cr_expect_eq(r.status, 0, "resuming from / failed: %s", r.err);
  cli_result_free(&r);
}

static void fractional_shape(cJSON *header, void *ctx) {
  (void)ctx;
  cJSON *shape = cJSON_GetObjectItem(cJSON_GetObjectItem(header, "layers.1.bias"), "shape");
  cJSON_ReplaceItemInArray(shape, 0, cJSON_CreateNumber(4.5));
}

static void fractional_offset(cJSON *header, void *ctx) {
  (void)ctx;
  cJSON *range = cJSON_GetObjectItem(cJSON_GetObjectItem(header, "layers.1.bias"), "data_offsets");
  double begin = cJSON_GetArrayItem(range, 0)->valuedouble;
  cJSON_ReplaceItemInArray(range, 0, cJSON_CreateNumber(begin + 0.5));
}

static void overlapping(cJSON *header, void *ctx) {
  (void)ctx;
  /* input.shift's range moved onto input.scale's: two tensors share bytes. */
  cJSON *shift = cJSON_GetObjectItem(cJSON_GetObjectItem(header, "input.shift"), "data_offsets");
  cJSON *scale = cJSON_GetObjectItem(cJSON_GetObjectItem(header, "input.scale"), "data_offsets");
  cJSON_ReplaceItemInObject(cJSON_GetObjectItem(header, "input.shift"), "data_offsets", cJSON_Duplicate(scale, true));
  (void)shift;
}

Test(hostile, fractional_shapes_or_offsets_and_overlapping_tensors_are_refused) {
  char model[1024], edited[1024], args[4096];
  strcpy(model, make_checkpoint("shape.ckpt"));
  strcpy(edited, scratch_path("edited.safetensors"));
  header_edit edits[] = {fractional_shape, fractional_offset, overlapping};
  const char *expected[] = {"layers.1.bias: bad dimension 4.5", "layers.1.bias: expected data_offsets [begin, end] of whole numbers",
                            "tensors overlap"};
  for (int i = 0; i < 3; i++) {
    edit_header(model, edited, edits[i], NULL);
    snprintf(args, sizeof args, "eval %s --data %s", edited, data_dir);
    expect_exit_2(args, expected[i]);
  }
}

Test(hostile, a_model_file_gzip_bomb_stops_after_the_promised_tensors) {
  char model[1024], args[4096];
  strcpy(model, make_checkpoint("bomb.ckpt"));
  size_t len;
  char *bytes = scratch_read(model, &len);
  scratch_write_gzip_bomb("bomb.safetensors.gz", bytes, len, 1024);
  free(bytes);
  snprintf(args, sizeof args, "eval %s --data %s", scratch_path("bomb.safetensors.gz"), data_dir);
  expect_exit_2(args, "unexpected bytes after the");
}

Test(hostile, a_batch_larger_than_the_training_split_is_refused_up_front) {
  /* 600 examples, 20% validation: 480 train. */
  char spec[1400], args[4096];
  snprintf(spec, sizeof spec,
           "{\"method\": \"random\", \"trials\": 3, \"data\": {\"dir\": \"%s\", \"validation\": 0.2}, "
           "\"model\": {\"batch_size\": 512, \"hidden\": 8}, \"parameters\": {}, "
           "\"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 2, \"eta\": 3}}",
           data_dir);
  scratch_write_text("big-batch.json", spec);
  snprintf(args, sizeof args, "sweep %s -o %s", scratch_path("big-batch.json"), scratch_path("never-out"));
  cli_result r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "big-batch.json: trial 0: batch_size 512 is larger than the training split") != NULL, "%s",
            r.err);
  cli_result_free(&r);
  cr_expect_neq(access(scratch_path("never-out"), F_OK), 0, "an output folder was written");
  char cfg[1400];
  snprintf(cfg, sizeof cfg, "{\"params\": {\"hidden\": 8, \"batch_size\": 512}, \"data\": {\"dir\": \"%s\", \"validation\": 0.2}}",
           data_dir);
  scratch_write_text("big-batch-cfg.json", cfg);
  snprintf(args, sizeof args, "train %s --epochs 1", scratch_path("big-batch-cfg.json"));
  r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "caviar: batch_size 512 is larger than the training split") != NULL, "%s", r.err);
  cli_result_free(&r);
}

static void set_trial(cJSON *header, void *ctx) {
  cJSON_ReplaceItemInObject(cJSON_GetObjectItem(header, "__metadata__"), "trial", cJSON_CreateString(ctx));
}

Test(hostile, a_model_trial_id_that_is_not_one_is_refused) {
  char model[1024], edited[1024], args[4096];
  strcpy(model, make_checkpoint("trial.ckpt"));
  strcpy(edited, scratch_path("trial.safetensors"));
  const char *bad[] = {"-1", "4294967296", "7x", ""};
  for (int i = 0; i < 4; i++) {
    edit_header(model, edited, set_trial, (void *)bad[i]);
    snprintf(args, sizeof args, "eval %s --data %s", edited, data_dir);
    expect_exit_2(args, "__metadata__.trial: expected a trial id from 0 to 4294967295");
  }
}

/* A copy of the synthetic data folder with its training images replaced by bytes. */
static const char *data_with_images(const char *name, const void *images, size_t len, bool bomb) {
  static char dir[1024];
  char command[4096];
  strcpy(dir, scratch_path(name));
  snprintf(command, sizeof command, "cp -r %s %s && rm %s/train-images-idx3-ubyte.gz", data_dir, dir, dir);
  cr_assert_eq(system(command), 0);
  char file[1200];
  snprintf(file, sizeof file, "%s/train-images-idx3-ubyte.gz", name);
  if (bomb) scratch_write_gzip_bomb(file, images, len, 1024);
  else scratch_write(file, images, len);
  return dir;
}

Test(hostile, data_whose_header_overflows_or_is_a_gzip_bomb_is_refused_by_sweep) {
  char args[4096], dir[1024];
  /* 4 x 2^31 x 2^31 images: the product wraps to 0 if checked only after multiplying. */
  const unsigned char wraps[] = {0, 0, 8, 3, 0, 0, 0, 4, 0x80, 0, 0, 0, 0x80, 0, 0, 0};
  strcpy(dir, data_with_images("wraps", wraps, sizeof wraps, false));
  snprintf(args, sizeof args, "sweep --data %s -o %s", dir, scratch_path("never"));
  expect_exit_2(args, "train-images-idx3-ubyte.gz: header claims over 2^40 elements");
  /* 600 images of 20 bytes, then 1 GiB of zeros. */
  unsigned char header[16 + 600 * 20] = {0, 0, 8, 3, 0, 0, 0x02, 0x58, 0, 0, 0, 4, 0, 0, 0, 5};
  strcpy(dir, data_with_images("bomb", header, sizeof header, true));
  snprintf(args, sizeof args, "sweep --data %s -o %s", dir, scratch_path("never"));
  expect_exit_2(args, "unexpected bytes after the 12000 bytes of data");
}

Test(hostile, csv_values_beyond_float_range_are_refused_by_sweep) {
  scratch_write_text("train.csv", "label,a,b\n0,1,2\n1,2,1e39\n0,1,1\n1,3,3\n");
  scratch_write_text("test.csv", "0,1,2\n1,2,3\n");
  char spec[4096], args[4096];
  snprintf(spec, sizeof spec,
           "{\"method\": \"random\", \"trials\": 2, \"data\": {\"format\": \"csv\", \"train\": \"%s\", \"test\": \"%s\"},"
           " \"model\": {\"batch_size\": 1}, \"parameters\": {}}",
           scratch_path("train.csv"), scratch_path("test.csv"));
  scratch_write_text("csv.json", spec);
  snprintf(args, sizeof args, "sweep %s -o %s", scratch_path("csv.json"), scratch_path("never"));
  expect_exit_2(args, "train.csv:3: column 3: 1e+39 is beyond the range");
}
