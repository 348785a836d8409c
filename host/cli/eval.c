/* caviar eval MODEL.safetensors [--data DATA]: a saved model's accuracy and loss on a test set. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/model_file.h"
#include "cli.h"

static const char usage[] =
    "usage: caviar eval MODEL.safetensors [--data DATA]\n"
    "\n"
    "Print a saved model's accuracy and mean cross-entropy loss (regression: RMSE and MSE in the\n"
    "target's units) on a test set, with the input scaling, label names and target scaling stored\n"
    "in the model. By default the test set is the one of the data the model was trained on (its\n"
    "test file, or the part of its training file its seed set aside); Fashion-MNIST's for models\n"
    "that do not say. --data names another, and a warning says if its examples were the model's\n"
    "training examples.\n"
    "\n"
    "      --data DATA   an IDX folder (its t10k- files), or a CSV file (the test set, or with\n"
    "                    test=F a fraction of it) with data-section keys after commas\n"
    "                    (test.csv,label_column=species), or a data section's JSON\n"
    "  -h, --help        this text\n";

/* Runs the model as a one-member cohort on the CPU backend. */
static caviar_status evaluate(const caviar_model *model, caviar_data *data, float *loss, float *acc, caviar_error *err) {
  caviar_backend *be;
  caviar_status st = caviar_backend_cpu(&be, err);
  if (st != CAVIAR_OK) return st;
  caviar_cohort cohort;
  caviar_shape shape = model->shape;
  shape.batch = 1;
  caviar_trial trial = {model->trial, 0, model->hp};
  uint32_t *rows = caviar_alloc(data->test.n, sizeof *rows, "test rows", err);
  st = rows ? be->upload(be, data, err) : CAVIAR_ERUNTIME;
  if (st == CAVIAR_OK) st = caviar_cohort_init(&cohort, &shape, 1, 0, err);
  if (st == CAVIAR_OK) {
    caviar_cohort_add(&cohort, &trial);
    st = caviar_cohort_alloc(be, &cohort, err);
    if (st == CAVIAR_OK) {
      for (size_t i = 0; i < data->test.n; i++) rows[i] = (uint32_t)i;
      st = caviar_cohort_write_arena(be, &cohort, CAVIAR_ARENA_PARAMS, 0, model->params, err);
      if (st == CAVIAR_OK) st = be->evaluate(be, &cohort, CAVIAR_SET_TEST, rows, data->test.n, loss, acc, err);
      caviar_cohort_release(be, &cohort);
    }
    caviar_cohort_free(&cohort);
  }
  free(rows);
  be->destroy(be);
  return st;
}

/* The test set: the model's own data's (carved with its seed), or --data's. */
static caviar_status load_test(const caviar_model *model, const char *arg, caviar_data *data, caviar_error *err) {
  caviar_data_spec spec;
  caviar_status st = CAVIAR_OK;
  if (model->has_data) st = caviar_data_spec_copy(&model->data, &spec, err);
  else {
    memset(&spec, 0, sizeof spec);
    spec.format = CAVIAR_DATA_IDX;
    spec.validation = 0.1;
    spec.task = model->shape.classes == 1 ? CAVIAR_TASK_REGRESSION : CAVIAR_TASK_CLASSIFICATION;
    if (!(spec.dir = caviar_strdup(CAVIAR_DEFAULT_DATA_DIR, err))) st = CAVIAR_ERUNTIME;
  }
  if (st == CAVIAR_OK && arg) st = caviar_data_arg(&spec, arg, true, err);
  if (st == CAVIAR_OK && (spec.task == CAVIAR_TASK_REGRESSION) != (model->shape.classes == 1))
    st = caviar_fail(err, CAVIAR_EINPUT, "--data %s: task %s, but the model is a %s", arg ? arg : "",
                     spec.task == CAVIAR_TASK_REGRESSION ? "regression" : "classification",
                     model->shape.classes == 1 ? "regression" : "classifier");
  if (st == CAVIAR_OK) st = caviar_data_load_test(&spec, model->seed, &data->test, data->test_name, sizeof data->test_name, err);
  if (st == CAVIAR_OK && (model->labels || data->test.names))
    st = caviar_labels_map(&data->test, model->labels, model->n_labels, data->test_name, err);
  if (st == CAVIAR_OK && model->shape.classes == 1) caviar_targets_standardize(&data->test, model->target);
  caviar_data_spec_free(&spec);
  return st;
}

int caviar_cmd_eval(int argc, char **argv) {
  static const struct option options[] = {
      {"data", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  const char *data_path = NULL;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
    if (c == 'd') data_path = optarg;
    else if (c == 'h') return fputs(usage, stdout), 0;
    else return caviar_option_error("eval", "h", optopt, argv[optind - 1]);
  }
  if (argc - optind != 1) return caviar_usage_error("eval", "expected one MODEL file, got %d", argc - optind);
  const char *model_path = argv[optind];
  caviar_model model;
  caviar_data data;
  memset(&data, 0, sizeof data);
  caviar_error err;
  caviar_status st = caviar_model_load(model_path, &model, &err);
  if (st != CAVIAR_OK) return caviar_report(st, &err);
  st = load_test(&model, data_path, &data, &err);
  if (st == CAVIAR_OK && data.test.d != (size_t)model.shape.inputs)
    st = caviar_fail(&err, CAVIAR_EINPUT, "%s: %zu features per example, but %s takes %d", data.test_name, data.test.d,
                     model_path, model.shape.inputs);
  for (size_t i = 0; st == CAVIAR_OK && model.shape.classes > 1 && i < data.test.n; i++)
    if (data.test.labels[i] >= model.shape.classes)
      st = caviar_fail(&err, CAVIAR_EINPUT, "%s: label %d of example %zu is out of range for a %d-class model",
                       data.test_name, data.test.labels[i], i, model.shape.classes);
  float loss = 0, acc = 0;
  if (st == CAVIAR_OK) {
    data.scaling = model.scaling;
    st = evaluate(&model, &data, &loss, &acc, &err);
    data.scaling = (caviar_scaling){0};
  }
  if (st == CAVIAR_OK && data_path) caviar_warn_overlap(&model, model_path, &data.test, NULL, data.test.n, "test");
  if (st == CAVIAR_OK && model.shape.classes == 1)
    printf("test_rmse %.6g  test_mse %.6g  (%zu examples of %s; trial %u)\n", sqrt((double)loss) * model.target.std,
           (double)loss * model.target.std * model.target.std, data.test.n, data.test_name, (unsigned)model.trial);
  else if (st == CAVIAR_OK)
    printf("test_acc %.4f  test_loss %.4f  (%zu examples of %s; trial %u)\n", (double)acc, (double)loss, data.test.n,
           data.test_name, (unsigned)model.trial);
  caviar_dataset_free(&data.test);
  caviar_model_free(&model);
  return caviar_report(st, &err);
}
