/* Valid specs: what each key turns into. */
#include <criterion/criterion.h>
#include <string.h>

#include "scratch.h"
#include "spec_support.h"

Test(spec, default_spec_parses_and_describes_fashion_mnist) {
  caviar_spec spec;
  caviar_error err;
  cr_assert_eq(caviar_spec_load_default(&spec, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect_eq(spec.method, CAVIAR_METHOD_SOBOL);
  cr_expect_eq(spec.data.format, CAVIAR_DATA_IDX);
  cr_expect_str_eq(spec.data.dir, CAVIAR_DEFAULT_DATA_DIR);
  cr_expect_eq(spec.early_terminate.type, CAVIAR_STOP_SUCCESSIVE_HALVING);
  const caviar_param *lr = caviar_space_find(&spec.space, "learning_rate");
  cr_assert_not_null(lr);
  cr_expect_eq(lr->dist, CAVIAR_DIST_LOG_UNIFORM_VALUES);
  cr_expect_str_eq(spec.source, "default spec");
  caviar_spec_free(&spec);
}

Test(spec, wandb_style_spec_with_defaults) {
  caviar_spec spec;
  spec_ok("{\"method\": \"random\", \"metric\": {\"name\": \"val_loss\"},"
          " \"parameters\": {\"learning_rate\": {\"min\": 0.0001, \"max\": 0.1},"
          " \"hidden\": {\"min\": 32, \"max\": 256}, \"optimizer\": {\"values\": [\"adam\", \"sgd\"]}}}",
          &spec);
  cr_expect_eq(spec.metric.name, CAVIAR_METRIC_VAL_LOSS);
  cr_expect_eq(spec.metric.maximize, false);
  cr_expect_eq(caviar_space_find(&spec.space, "learning_rate")->dist, CAVIAR_DIST_UNIFORM);
  cr_expect_eq(caviar_space_find(&spec.space, "hidden")->dist, CAVIAR_DIST_INT_UNIFORM);
  cr_expect_eq(caviar_space_find(&spec.space, "optimizer")->dist, CAVIAR_DIST_CATEGORICAL);
  cr_expect_eq(spec.trials, CAVIAR_DEFAULT_TRIALS);
  cr_expect_eq(spec.seed, 0);
  cr_expect_eq(spec.epochs, CAVIAR_DEFAULT_EPOCHS);
  cr_expect_eq(spec.early_terminate.type, CAVIAR_STOP_NONE);
  cr_expect_float_eq(spec.data.validation, 0.1, 1e-15);
  caviar_spec_free(&spec);
}

Test(spec, successive_halving_takes_its_budget_from_model_epochs) {
  caviar_spec spec;
  spec_ok("{\"method\": \"random\", \"model\": {\"epochs\": 27},"
          " \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 3}, \"parameters\": {}}",
          &spec);
  cr_expect_eq(spec.early_terminate.min_epochs, 3);
  cr_expect_eq(spec.early_terminate.max_epochs, 27);
  cr_expect_eq(spec.early_terminate.eta, 3);
  cr_expect_eq(spec.epochs, 27);
  caviar_spec_free(&spec);
}

Test(spec, hyperband_accepts_wandb_keys) {
  caviar_spec spec;
  spec_ok("{\"method\": \"random\", \"early_terminate\": {\"type\": \"hyperband\", \"min_iter\": 2, \"eta\": 2,"
          " \"strict\": true}, \"parameters\": {}}",
          &spec);
  cr_expect_eq(spec.early_terminate.type, CAVIAR_STOP_HYPERBAND);
  cr_expect_eq(spec.early_terminate.min_epochs, 2);
  cr_expect_eq(spec.early_terminate.eta, 2);
  cr_expect(spec.early_terminate.strict);
  caviar_spec_free(&spec);
  spec_ok("{\"method\": \"random\", \"early_terminate\": {\"type\": \"hyperband\", \"max_iter\": 27, \"s\": 2},"
          " \"parameters\": {}}",
          &spec);
  cr_expect_eq(spec.early_terminate.min_epochs, 3, "27 / 3^2");
  cr_expect_eq(spec.early_terminate.max_epochs, 27);
  caviar_spec_free(&spec);
}

Test(spec, coarse_to_fine_options) {
  caviar_spec spec;
  spec_ok("{\"method\": \"coarse-to-fine\", \"trials\": 20, \"coarse_to_fine\": {\"rounds\": 4, \"zoom\": 0.25,"
          " \"top_k\": 5}, \"parameters\": {}}",
          &spec);
  cr_expect_eq(spec.method, CAVIAR_METHOD_COARSE_TO_FINE);
  cr_expect_eq(spec.coarse_to_fine.rounds, 4);
  cr_expect_float_eq(spec.coarse_to_fine.zoom, 0.25, 1e-15);
  cr_expect_eq(spec.coarse_to_fine.top_k, 5);
  caviar_spec_free(&spec);
}

Test(spec, relative_data_paths_resolve_against_the_spec_folder) {
  scratch_write_text("csv-spec.json",
                     "{\"method\": \"random\", \"data\": {\"format\": \"csv\", \"train\": \"train.csv\","
                     " \"test\": \"/abs/test.csv\", \"scaling\": \"standardize\", \"classes\": 3}, \"parameters\": {}}");
  caviar_spec spec;
  caviar_error err;
  cr_assert_eq(caviar_spec_load(scratch_path("csv-spec.json"), &spec, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect_str_eq(spec.data.train_csv, scratch_path("train.csv"));
  cr_expect_str_eq(spec.data.test_csv, "/abs/test.csv");
  cr_expect_eq(spec.data.scaling, CAVIAR_SCALING_STANDARDIZE);
  cr_expect_eq(spec.data.classes, 3);
  cr_expect(strstr(spec.source, "csv-spec.json") != NULL);
  caviar_spec_free(&spec);
}

Test(spec, missing_file_is_an_input_error_naming_it) {
  caviar_spec spec;
  caviar_error err;
  cr_expect_eq(caviar_spec_load("/nonexistent/sweep.json", &spec, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "/nonexistent/sweep.json: cannot open") != NULL, "%s", err.msg);
}

Test(spec, model_section_fixes_hyperparameters) {
  caviar_spec spec;
  spec_ok("{\"method\": \"random\", \"model\": {\"type\": \"mlp\", \"optimizer\": \"momentum\", \"beta1\": 0.95,"
          " \"layers\": 2}, \"parameters\": {}}",
          &spec);
  cr_expect_eq(spec.fixed.optimizer, CAVIAR_OPT_MOMENTUM);
  cr_expect_eq(spec.fixed.beta1, 0.95);
  cr_expect_eq(spec.fixed.layers, 2);
  cr_expect_eq(spec.fixed.hidden, 128, "defaults stay where the model says nothing");
  caviar_spec_free(&spec);
}
