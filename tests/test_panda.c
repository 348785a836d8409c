/* Panda mode: a checkpointed, resumed run equals an uninterrupted one bit for bit on the CPU; a
 * changed learning rate is used from the very next step; the history records every change. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/model_file.h"
#include "caviar/panda.h"
#include "scratch.h"
#include "synth_support.h"

static const char *data_dir;

static void setup(void) {
  static char dir[1024];
  strcpy(dir, synth_idx_dir("panda", 600, 150, 20, 4, 1.5, true));
  data_dir = dir;
}

TestSuite(panda, .init = setup);

static void fresh(caviar_panda *p) {
  caviar_hparams hp;
  caviar_hparams_default(&hp);
  hp.hidden = 12;
  hp.layers = 2;
  hp.batch_size = 32;
  hp.dropout = 0.25; /* the dropout stream must resume where it stopped too */
  hp.lr_decay = 0.3; /* and the per-epoch learning rate */
  caviar_data_spec data = {.format = CAVIAR_DATA_IDX, .dir = (char *)data_dir, .validation = 0.2,
                           .scaling = CAVIAR_SCALING_UNIT};
  caviar_error err;
  cr_assert_eq(caviar_panda_init(p, &hp, 5, 11, &data, "test", &err), CAVIAR_OK, "%s", err.msg);
}

static void train(caviar_panda *p, int epochs, const char *checkpoint) {
  caviar_backend *be;
  caviar_error err;
  caviar_data data;
  cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
  cr_assert_eq(caviar_data_load(&p->data, p->seed, &data, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_panda_train(p, be, &data, epochs, checkpoint, NULL, NULL, &err), CAVIAR_OK, "%s", err.msg);
  caviar_data_free(&data);
  be->destroy(be);
}

static size_t state_size(const caviar_panda *p) {
  caviar_layout layout;
  caviar_layout_make(&p->shape, 1, &layout);
  return layout.per_member * sizeof(float);
}

Test(panda, checkpoint_then_resume_equals_an_uninterrupted_run) {
  caviar_panda straight, first, resumed;
  fresh(&straight);
  train(&straight, 4, NULL);
  char ckpt[1024];
  strcpy(ckpt, scratch_path("run.ckpt"));
  fresh(&first);
  train(&first, 2, ckpt);
  caviar_error err;
  cr_assert_eq(caviar_panda_load(ckpt, &resumed, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect_eq(resumed.epochs_done, 2);
  cr_expect_eq(resumed.steps, first.steps);
  train(&resumed, 2, ckpt);
  cr_expect_eq(resumed.epochs_done, 4);
  cr_expect_eq(resumed.steps, straight.steps);
  size_t n = state_size(&straight);
  cr_expect_eq(memcmp(resumed.params, straight.params, n), 0, "weights differ from the uninterrupted run");
  cr_expect_eq(memcmp(resumed.first, straight.first, n), 0, "first moments differ");
  cr_expect_eq(memcmp(resumed.second, straight.second, n), 0, "second moments differ");
  cr_expect_eq(cJSON_GetArraySize(resumed.curve), 4, "the curve continues across the resume");
  caviar_panda_free(&straight);
  caviar_panda_free(&first);
  caviar_panda_free(&resumed);
}

Test(panda, a_changed_learning_rate_is_used_from_the_next_step) {
  caviar_panda run, changed, unchanged;
  fresh(&run);
  char ckpt[1024];
  strcpy(ckpt, scratch_path("lr.ckpt"));
  train(&run, 2, ckpt);
  caviar_error err;
  cr_assert_eq(caviar_panda_load(ckpt, &changed, &err), CAVIAR_OK);
  cr_assert_eq(caviar_panda_load(ckpt, &unchanged, &err), CAVIAR_OK);
  /* At 1e-30 every Adam step is below the resolution of any nonzero weight (and moves an exact
   * zero by at most a few 1e-30): if a single step after the resume used the old rate, weights
   * would move by about 1e-3. */
  cr_assert_eq(caviar_panda_set(&changed, "learning_rate=1e-30", &err), CAVIAR_OK, "%s", err.msg);
  train(&changed, 1, NULL);
  train(&unchanged, 1, NULL);
  size_t n = state_size(&run);
  for (size_t k = 0; k < n / sizeof(float); k++) {
    if (run.params[k] != 0.0f)
      cr_assert_eq(changed.params[k], run.params[k], "weight %zu moved at learning_rate 1e-30", k);
    else
      cr_assert_leq(fabsf(changed.params[k]), 1e-29f, "zero weight %zu moved to %g", k, changed.params[k]);
  }
  cr_expect_neq(memcmp(changed.first, run.first, n), 0, "the optimizer kept running");
  cr_expect_neq(memcmp(unchanged.params, run.params, n), 0, "without the change the weights move");
  cr_expect_eq(changed.hp.learning_rate, 1e-30);
  const cJSON *last = cJSON_GetArrayItem(changed.history, cJSON_GetArraySize(changed.history) - 1);
  cr_expect_eq(cJSON_GetObjectItem(last, "epoch")->valueint, 2);
  cr_expect_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(last, "set"), "learning_rate")->valuedouble, 1e-30);
  caviar_panda_free(&run);
  caviar_panda_free(&changed);
  caviar_panda_free(&unchanged);
}

Test(panda, set_rejects_what_cannot_apply) {
  caviar_panda p;
  fresh(&p);
  caviar_error err;
  cr_expect_eq(caviar_panda_set(&p, "learning_rate", &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "expected name=value") != NULL, "%s", err.msg);
  cr_expect_eq(caviar_panda_set(&p, "lion_beta=0.9", &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "unknown hyperparameter") != NULL, "%s", err.msg);
  cr_expect_eq(caviar_panda_set(&p, "dropout=1", &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "--set dropout: expected [0, 1), got '1'") != NULL, "%s", err.msg);
  cr_expect_eq(caviar_panda_set(&p, "optimizer=lion", &err), CAVIAR_EINPUT);
  cr_expect_eq(caviar_panda_set(&p, "hidden=20", &err), CAVIAR_OK, "before training the shape may change");
  train(&p, 1, NULL);
  cr_expect_eq(caviar_panda_set(&p, "hidden=24", &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "changes the model's shape") != NULL, "%s", err.msg);
  cr_expect_eq(caviar_panda_set(&p, "optimizer=momentum", &err), CAVIAR_OK);
  caviar_panda_free(&p);
}

Test(panda, a_checkpoint_loads_as_a_model) {
  caviar_panda p;
  fresh(&p);
  char ckpt[1024];
  strcpy(ckpt, scratch_path("model.ckpt"));
  train(&p, 1, ckpt);
  caviar_model model;
  caviar_error err;
  cr_assert_eq(caviar_model_load(ckpt, &model, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect_eq(memcmp(model.params, p.params, state_size(&p)), 0);
  cr_expect_eq(model.shape.layers, 2);
  cr_expect_eq(model.trial, 5u);
  caviar_model_free(&model);
  caviar_panda_free(&p);
}

Test(panda, a_model_file_is_not_a_checkpoint) {
  caviar_panda p;
  fresh(&p);
  char ckpt[1024], model_path[1024];
  strcpy(ckpt, scratch_path("m.ckpt"));
  strcpy(model_path, scratch_path("m.safetensors"));
  train(&p, 1, ckpt);
  caviar_model model = {.shape = p.shape, .hp = p.hp, .trial = p.trial, .params = p.params, .scaling = p.scaling};
  caviar_error err;
  cr_assert_eq(caviar_model_save(model_path, &model, &err), CAVIAR_OK);
  caviar_panda back;
  cr_expect_eq(caviar_panda_load(model_path, &back, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "not a caviar checkpoint") && strstr(err.msg, "--from"), "%s", err.msg);
  caviar_panda_free(&p);
}

Test(panda, cli_resume_refuses_a_second_starting_point) {
  char cfg[1200], args[4096];
  snprintf(cfg, sizeof cfg,
           "{\"trial\": 2, \"params\": {\"hidden\": 8, \"batch_size\": 32}, \"data\": {\"dir\": \"%s\"}, \"seed\": 4}",
           data_dir);
  scratch_write_text("cfg.json", cfg);
  char cfg_path[1024], ckpt[1024];
  strcpy(cfg_path, scratch_path("cfg.json"));
  strcpy(ckpt, scratch_path("cli.ckpt"));
  snprintf(args, sizeof args, "train %s --epochs 2 --checkpoint %s", cfg_path, ckpt);
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_expect_eq(count_lines(r.out), 2, "one curve line per epoch: %s", r.out);
  cr_expect(strncmp(r.out, "epoch    1  train_loss", 22) == 0, "%s", r.out);
  cli_result_free(&r);
  r = run_caviar(args);
  cr_expect_eq(r.status, 2);
  cr_expect(strstr(r.err, "exists: resume it without CONFIG") != NULL, "%s", r.err);
  cli_result_free(&r);
  snprintf(args, sizeof args, "train --checkpoint %s --epochs 1 --set learning_rate=0.01", ckpt);
  r = run_caviar(args);
  cr_expect_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.out, "epoch    3") != NULL, "the resumed run continues the epoch count: %s", r.out);
  cr_expect(strstr(r.out, "lr 0.01") != NULL, "%s", r.out);
  cli_result_free(&r);
}

Test(panda, a_spec_config_trains_its_trial_k) {
  char spec[1200];
  snprintf(spec, sizeof spec,
           "{\"method\": \"grid\", \"data\": {\"dir\": \"%s\"}, \"parameters\": {\"hidden\": {\"values\": [4, 8, 16]}}}",
           data_dir);
  scratch_write_text("spec.json", spec);
  caviar_panda p;
  caviar_error err;
  cr_assert_eq(caviar_panda_from_config(&p, scratch_path("spec.json"), 2, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect_eq(p.hp.hidden, 16);
  cr_expect_eq(p.trial, 2u);
  caviar_panda_free(&p);
  cr_expect_eq(caviar_panda_from_config(&p, scratch_path("spec.json"), 5, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "--trial 5: the spec's sampler draws 3 trials (0 to 2)") != NULL, "%s", err.msg);
}
