/* Top level of the sweep spec: reads the document, dispatches each section, checks how they fit. */
#include "caviar/spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/spec_internal.h"

extern const char caviar_default_spec[];
extern const unsigned long caviar_default_spec_len;

static const char *const top_keys[] = {"name",   "description", "method", "metric", "parameters",     "early_terminate",
                                       "trials", "population",  "seed",   "data",   "model",          "coarse_to_fine",
                                       "tpe",    "tensorboard", NULL};
static const char *const methods[] = {"grid", "random", "coarse-to-fine", "sobol", "tpe", NULL};

const char *caviar_method_name(caviar_method method) { return methods[method]; }

const char *caviar_spec_default_text(void) { return caviar_default_spec; }

/* The task may be given in data or in model (not differently); the metric must fit it. */
static caviar_status settle_task(const caviar_json_ctx *ctx, const cJSON *root, int model_task, caviar_spec *spec) {
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
  bool data_task = data && cJSON_GetObjectItemCaseSensitive(data, "task");
  if (model_task >= 0 && data_task && (int)spec->data.task != model_task)
    return caviar_json_fail(ctx, "model.task", "is %s but data.task is %s; give one of them",
                            model_task == CAVIAR_TASK_REGRESSION ? "regression" : "classification",
                            spec->data.task == CAVIAR_TASK_REGRESSION ? "regression" : "classification");
  if (model_task >= 0) spec->data.task = (caviar_task)model_task;
  if (spec->data.task == CAVIAR_TASK_REGRESSION && spec->data.format != CAVIAR_DATA_CSV)
    return caviar_json_fail(ctx, data_task ? "data.task" : "model.task", "regression needs CSV data (data.format csv)");
  bool regression = spec->data.task == CAVIAR_TASK_REGRESSION;
  bool regression_metric = spec->metric.name == CAVIAR_METRIC_VAL_RMSE || spec->metric.name == CAVIAR_METRIC_VAL_MSE;
  if (!cJSON_GetObjectItemCaseSensitive(root, "metric")) {
    if (regression) spec->metric = (caviar_metric){CAVIAR_METRIC_VAL_RMSE, false};
    return CAVIAR_OK;
  }
  if (regression && spec->metric.name == CAVIAR_METRIC_VAL_ACC)
    return caviar_json_fail(ctx, "metric.name", "val_acc needs classification; a regression ranks by val_rmse, val_mse or val_loss");
  if (!regression && regression_metric)
    return caviar_json_fail(ctx, "metric.name", "%s needs task regression (data.task)", caviar_metric_text(spec->metric.name));
  return CAVIAR_OK;
}

const char *caviar_metric_text(caviar_metric_name name) {
  static const char *const names[] = {"val_acc", "val_loss", "val_rmse", "val_mse"};
  return names[name];
}

static caviar_status parse_document(const caviar_json_ctx *ctx, const cJSON *root, const char *base_dir,
                                    caviar_spec *spec) {
  if (caviar_json_object(ctx, root, "") || caviar_json_known_keys(ctx, root, "", top_keys)) return CAVIAR_EINPUT;
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
  const cJSON *description = cJSON_GetObjectItemCaseSensitive(root, "description");
  const char *text;
  if (name) {
    if (caviar_json_string(ctx, name, "name", &text)) return CAVIAR_EINPUT;
    if (!(spec->name = caviar_strdup(text, ctx->err))) return CAVIAR_ERUNTIME;
  }
  if (description && caviar_json_string(ctx, description, "description", &text)) return CAVIAR_EINPUT;
  const cJSON *tensorboard = cJSON_GetObjectItemCaseSensitive(root, "tensorboard");
  if (tensorboard) {
    caviar_status st = caviar_spec_path(ctx, tensorboard, "tensorboard", base_dir, &spec->tensorboard);
    if (st != CAVIAR_OK) return st;
  }

  const cJSON *method = cJSON_GetObjectItemCaseSensitive(root, "method");
  if (!method) return caviar_json_fail(ctx, "method", "missing (expected grid, random, coarse-to-fine, sobol or tpe)");
  if (cJSON_IsString(method) && strcmp(method->valuestring, "bayes") == 0)
    return caviar_json_fail(ctx, "method",
                            "bayes (W&B's Gaussian-process search) is not supported; use tpe, the model-based "
                            "sampler (tree-structured Parzen estimator)");
  int index;
  if (caviar_json_enum(ctx, method, "method", methods, &index)) return CAVIAR_EINPUT;
  spec->method = (caviar_method)index;

  spec->trials = CAVIAR_DEFAULT_TRIALS;
  const cJSON *trials = cJSON_GetObjectItemCaseSensitive(root, "trials");
  if (trials && caviar_json_int(ctx, trials, "trials", 1, (double)CAVIAR_MAX_TRIALS, &spec->trials)) return CAVIAR_EINPUT;
  spec->trials_given = trials != NULL;
  const cJSON *population = cJSON_GetObjectItemCaseSensitive(root, "population");
  if (population && caviar_json_int(ctx, population, "population", 1, (double)CAVIAR_MAX_TRIALS, &spec->population))
    return CAVIAR_EINPUT;
  if (spec->method == CAVIAR_METHOD_GRID && !trials) spec->trials = CAVIAR_MAX_TRIALS;
  const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
  long long seed_value = 0;
  if (seed && caviar_json_int(ctx, seed, "seed", 0, CAVIAR_MAX_SEED, &seed_value)) return CAVIAR_EINPUT;
  spec->seed = (uint64_t)seed_value;

  caviar_status st = caviar_parse_metric(ctx, cJSON_GetObjectItemCaseSensitive(root, "metric"), &spec->metric);
  int model_epochs = 0, model_task = -1;
  if (st == CAVIAR_OK)
    st = caviar_parse_model(ctx, cJSON_GetObjectItemCaseSensitive(root, "model"), &spec->fixed, &model_epochs,
                            &spec->keep, &model_task);
  if (st == CAVIAR_OK)
    st = caviar_parse_early_terminate(ctx, cJSON_GetObjectItemCaseSensitive(root, "early_terminate"),
                                      model_epochs, &spec->early_terminate);
  spec->epochs = spec->early_terminate.max_epochs;
  if (st == CAVIAR_OK)
    st = caviar_parse_data(ctx, cJSON_GetObjectItemCaseSensitive(root, "data"), base_dir, &spec->data);
  if (st == CAVIAR_OK) st = settle_task(ctx, root, model_task, spec);
  const cJSON *c2f = cJSON_GetObjectItemCaseSensitive(root, "coarse_to_fine");
  if (st == CAVIAR_OK && c2f && spec->method != CAVIAR_METHOD_COARSE_TO_FINE && spec->method != CAVIAR_METHOD_TPE)
    return caviar_json_fail(ctx, "coarse_to_fine", "only used with method coarse-to-fine or tpe, not %s",
                            methods[spec->method]);
  if (st == CAVIAR_OK) st = caviar_parse_coarse_to_fine(ctx, c2f, &spec->coarse_to_fine);
  spec->rounds = spec->method == CAVIAR_METHOD_COARSE_TO_FINE || c2f ? spec->coarse_to_fine.rounds : 1;
  const cJSON *tpe = cJSON_GetObjectItemCaseSensitive(root, "tpe");
  if (st == CAVIAR_OK && tpe && spec->method != CAVIAR_METHOD_TPE)
    return caviar_json_fail(ctx, "tpe", "only used with method tpe, not %s", methods[spec->method]);
  if (st == CAVIAR_OK) st = caviar_parse_tpe(ctx, tpe, &spec->tpe);
  if (st != CAVIAR_OK) return st;
  if (spec->early_terminate.type == CAVIAR_STOP_HYPERBAND && trials)
    return caviar_json_fail(ctx, "trials", "hyperband's brackets decide how many trials run; remove trials");
  if (spec->early_terminate.type == CAVIAR_STOP_PBT && population)
    return caviar_json_fail(ctx, "population", "pbt trains the whole population together; remove population");
  if (spec->early_terminate.type == CAVIAR_STOP_PBT &&
      (spec->method == CAVIAR_METHOD_COARSE_TO_FINE || spec->method == CAVIAR_METHOD_TPE))
    return caviar_json_fail(ctx, "early_terminate.type", "pbt explores by itself; use method random, sobol or grid with it");

  const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "parameters");
  if (!params) return caviar_json_fail(ctx, "parameters", "missing (an object of hyperparameter entries)");
  st = caviar_parse_parameters(ctx, params, spec->method, &spec->space);
  if (st != CAVIAR_OK) return st;
  const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
  for (int i = 0; i < spec->space.n; i++) {
    char path[512];
    if (model && cJSON_GetObjectItemCaseSensitive(model, spec->space.params[i].name))
      return caviar_json_fail(ctx, caviar_json_path(path, sizeof path, "model", spec->space.params[i].name),
                              "is also swept in parameters; fix it in one place");
  }
  return CAVIAR_OK;
}

caviar_status caviar_spec_parse(const char *text, size_t len, const char *source, const char *base_dir,
                                caviar_spec *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  caviar_json_ctx ctx = {source, err};
  cJSON *root = NULL;
  caviar_status st = caviar_json_parse(text, len, &ctx, &root);
  if (st != CAVIAR_OK) return st;
  st = parse_document(&ctx, root, base_dir, out);
  cJSON_Delete(root);
  if (st == CAVIAR_OK) {
    out->source = caviar_strdup(source, err);
    out->text = caviar_alloc(len + 1, 1, "the spec text", err);
    if (!out->source || !out->text) st = CAVIAR_ERUNTIME;
    else memcpy(out->text, text, len);
  }
  if (st != CAVIAR_OK) caviar_spec_free(out);
  return st;
}

/* Reads a whole file; a one-line error names it and says why it could not be read. */
static caviar_status read_file(const char *path, char **text, size_t *len, caviar_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    char *grown = cap > (64u << 20) ? NULL : realloc(buf, cap * 2);
    if (!grown) {
      free(buf);
      fclose(f);
      return caviar_fail(err, CAVIAR_EINPUT, "%s: too large for a sweep spec (over 64 MiB)", path);
    }
    buf = grown;
    cap *= 2;
  }
  bool failed = !buf || ferror(f);
  fclose(f);
  if (failed) {
    caviar_status st = buf ? CAVIAR_EINPUT : CAVIAR_ERUNTIME;
    free(buf);
    return caviar_fail(err, st, "%s: cannot read", path);
  }
  *text = buf;
  *len = n;
  return CAVIAR_OK;
}

caviar_status caviar_spec_load(const char *path, caviar_spec *out, caviar_error *err) {
  char *text = NULL;
  size_t len = 0;
  caviar_status st = read_file(path, &text, &len, err);
  if (st != CAVIAR_OK) return st;
  char base_dir[4096];
  snprintf(base_dir, sizeof base_dir, "%s", path);
  char *slash = strrchr(base_dir, '/');
  if (slash) *slash = '\0';
  else strcpy(base_dir, ".");
  if (slash == base_dir) strcpy(base_dir, "/");
  st = caviar_spec_parse(text, len, path, base_dir, out, err);
  free(text);
  return st;
}

caviar_status caviar_spec_load_default(caviar_spec *out, caviar_error *err) {
  return caviar_spec_parse(caviar_default_spec, caviar_default_spec_len, "default spec", NULL, out, err);
}

void caviar_spec_free(caviar_spec *spec) {
  free(spec->source);
  free(spec->name);
  free(spec->tensorboard);
  free(spec->text);
  caviar_data_spec_free(&spec->data);
  caviar_space_free(&spec->space);
  memset(spec, 0, sizeof *spec);
}
