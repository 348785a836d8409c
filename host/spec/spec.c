/* Top level of the sweep spec: reads the document, dispatches each section, checks how they fit. */
#include "caviar/spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/spec_internal.h"
#include "spec/yaml_read.h"
#include "caviar/number_format.h"

extern const char caviar_default_spec[];
extern const unsigned long caviar_default_spec_len;

/* Caviar's own keys: a spec that has one is for caviar's models. */
static const char *const caviar_keys[] = {"trials", "population", "seed", "data", "model", "coarse_to_fine", "tpe", "tensorboard", NULL};
/* W&B's keys that describe code to run: a spec that has one is for outside code. */
static const char *const outside_keys[] = {"program", "command", "job", "image_uri", "scheduler", NULL};
/* Every top-level key of W&B's sweep config (its schema), and caviar's. */
static const char *const own_keys[] = {"name", "description", "method", "metric", "parameters", "early_terminate", "trials",
                                       "population", "seed", "data", "model", "coarse_to_fine", "tpe", "tensorboard", "project", "entity",
                                       "run_cap", "controller", "apiVersion", "kind", NULL};
static const char *const wandb_keys[] = {"name", "description", "method", "metric", "parameters", "early_terminate",
                                         "program", "command", "project", "entity", "run_cap", "controller", "apiVersion",
                                         "kind", "job", "image_uri", "scheduler", "metrics", NULL};
static const char *const methods[] = {"grid", "random", "coarse-to-fine", "sobol", "tpe", NULL};
static const char *const macros[] = {"${env}", "${interpreter}", "${program}", "${args}", "${args_no_hyphens}",
                                     "${args_no_boolean_flags}", "${args_json}", "${args_json_file}", NULL};

const char *caviar_method_name(caviar_method method) { return methods[method]; }

const char *caviar_spec_method(const caviar_spec *spec) {
  return spec->method_text ? spec->method_text : methods[spec->method];
}

bool caviar_spec_use_method(caviar_spec *spec, const char *name) {
  static const char *const usable[] = {"grid", "random", "sobol", "tpe", "bayes", NULL};
  int index = 0;
  while (usable[index] && strcmp(usable[index], name)) index++;
  if (!usable[index]) return false;
  bool bayes = !strcmp(name, "bayes"), tpe = !strcmp(name, "tpe");
  spec->method = bayes || tpe ? CAVIAR_METHOD_TPE : !strcmp(name, "grid") ? CAVIAR_METHOD_GRID
                 : !strcmp(name, "sobol") ? CAVIAR_METHOD_SOBOL : CAVIAR_METHOD_RANDOM;
  free(spec->method_text);
  spec->method_text = bayes ? strdup("bayes") : NULL;
  if (bayes) spec->tpe = CAVIAR_BAYES_OPTIONS;
  else if (spec->tpe.gp) spec->tpe = CAVIAR_TPE_DEFAULT_OPTIONS; /* tpe's own, not bayes's */
  return !bayes || spec->method_text;
}

const char *caviar_spec_default_text(void) { return caviar_default_spec; }

static bool has_any(const cJSON *root, const char *const *keys) {
  for (; *keys; keys++)
    if (cJSON_GetObjectItemCaseSensitive(root, *keys)) return true;
  return false;
}

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
    if (regression) spec->metric = (caviar_metric){CAVIAR_METRIC_VAL_RMSE, false, false, 0};
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

const char *caviar_spec_metric(const caviar_spec *spec) {
  return spec->outside && spec->metric_text ? spec->metric_text : caviar_metric_text(spec->metric.name);
}

static caviar_status optional_text(const caviar_json_ctx *ctx, const cJSON *root, const char *key, char **out) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
  const char *text;
  if (!item) return CAVIAR_OK;
  if (caviar_json_string(ctx, item, key, &text)) return CAVIAR_EINPUT;
  return (*out = caviar_strdup(text, ctx->err)) ? CAVIAR_OK : CAVIAR_ERUNTIME;
}

/* The keys every W&B config may have, recorded: name, description, project, entity, controller,
 * apiVersion, kind; run_cap (caviar's trials) is read by the caller. */
static caviar_status parse_wandb_common(const caviar_json_ctx *ctx, const cJSON *root, caviar_spec *spec) {
  caviar_status st = optional_text(ctx, root, "name", &spec->name);
  if (st == CAVIAR_OK) st = optional_text(ctx, root, "description", &spec->description);
  if (st == CAVIAR_OK) st = optional_text(ctx, root, "project", &spec->project);
  if (st == CAVIAR_OK) st = optional_text(ctx, root, "entity", &spec->entity);
  if (st != CAVIAR_OK) return st;
  const cJSON *api = cJSON_GetObjectItemCaseSensitive(root, "apiVersion");
  const char *text;
  if (api && caviar_json_string(ctx, api, "apiVersion", &text)) return CAVIAR_EINPUT;
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
  static const char *const kinds[] = {"sweep", NULL};
  int index;
  if (kind && caviar_json_enum(ctx, kind, "kind", kinds, &index)) return CAVIAR_EINPUT;
  const cJSON *controller = cJSON_GetObjectItemCaseSensitive(root, "controller");
  if (controller) {
    /* W&B's controller runs the search on its server or locally; caviar's always runs here. */
    static const char *const keys[] = {"type", NULL};
    static const char *const types[] = {"local", "cloud", NULL};
    if (caviar_json_object(ctx, controller, "controller") || caviar_json_known_keys(ctx, controller, "controller", keys))
      return CAVIAR_EINPUT;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(controller, "type");
    if (!type) return caviar_json_fail(ctx, "controller.type", "missing (expected local or cloud)");
    if (caviar_json_enum(ctx, type, "controller.type", types, &index)) return CAVIAR_EINPUT;
  }
  return CAVIAR_OK;
}

/* run_cap (W&B's cap on runs) is caviar's trials; a spec gives one of them. */
static caviar_status parse_trials(const caviar_json_ctx *ctx, const cJSON *root, caviar_spec *spec) {
  const cJSON *trials = cJSON_GetObjectItemCaseSensitive(root, "trials");
  const cJSON *run_cap = cJSON_GetObjectItemCaseSensitive(root, "run_cap");
  if (trials && run_cap) return caviar_json_fail(ctx, "run_cap", "is W&B's name for trials; give one of them");
  const cJSON *given = trials ? trials : run_cap;
  spec->trials = CAVIAR_DEFAULT_TRIALS;
  if (given && caviar_json_int(ctx, given, trials ? "trials" : "run_cap", 1, (double)CAVIAR_MAX_TRIALS, &spec->trials))
    return CAVIAR_EINPUT;
  spec->trials_given = given != NULL;
  if (spec->method == CAVIAR_METHOD_GRID && !given) spec->trials = CAVIAR_MAX_TRIALS;
  return CAVIAR_OK;
}

/* method: caviar's, or W&B's bayes (run as tpe) and custom (a W&B Launch scheduler's own search:
 * sampled as random); outside code takes W&B's methods and caviar's tpe. */
static caviar_status parse_method(const caviar_json_ctx *ctx, const cJSON *root, bool outside, caviar_spec *spec) {
  const cJSON *method = cJSON_GetObjectItemCaseSensitive(root, "method");
  static const char *const wandb_methods[] = {"grid", "random", "bayes", "custom", "tpe", NULL};
  if (!method)
    return caviar_json_fail(ctx, "method", outside ? "missing (expected grid, random, bayes, custom or tpe)"
                                                   : "missing (expected grid, random, bayes, coarse-to-fine, sobol or tpe)");
  const char *text;
  if (caviar_json_string(ctx, method, "method", &text)) return CAVIAR_EINPUT;
  int index;
  if (!strcmp(text, "bayes") || !strcmp(text, "custom")) {
    /* bayes: W&B's Gaussian process, in tpe's place in the sweep (caviar_gp_propose). */
    bool bayes = text[0] == 'b';
    if (!outside && !bayes)
      return caviar_json_fail(ctx, "method", "custom is a W&B Launch scheduler's own search; caviar's models take grid, random, bayes, coarse-to-fine, sobol or tpe");
    spec->method = bayes ? CAVIAR_METHOD_TPE : CAVIAR_METHOD_RANDOM;
    if (!(spec->method_text = caviar_strdup(text, ctx->err))) return CAVIAR_ERUNTIME;
    if (!bayes) caviar_json_warn(ctx, 0, "method", "custom (a W&B Launch scheduler's own search) is sampled as random");
    return CAVIAR_OK;
  }
  if (caviar_json_enum(ctx, method, "method", outside ? wandb_methods : methods, &index)) return CAVIAR_EINPUT;
  spec->method = outside && !strcmp(text, "tpe") ? CAVIAR_METHOD_TPE : (caviar_method)index;
  return CAVIAR_OK;
}

/* command: W&B's list of arguments, macros such as ${args} among them (recorded for the agent that
 * will run it; an unknown ${...} is passed on as written, as W&B's agent does, with a warning). */
static caviar_status parse_command(const caviar_json_ctx *ctx, const cJSON *command, caviar_spec *spec) {
  char path[64], got[96];
  if (!cJSON_IsArray(command))
    return caviar_json_fail(ctx, "command", "expected a list of arguments, got %s", caviar_json_describe(command, got, sizeof got));
  int n = cJSON_GetArraySize(command);
  if (n == 0) return caviar_json_fail(ctx, "command", "must not be empty");
  if (!(spec->command = caviar_alloc((size_t)n, sizeof *spec->command, "the command", ctx->err))) return CAVIAR_ERUNTIME;
  for (const cJSON *item = command->child; item; item = item->next) {
    caviar_json_index_path(path, sizeof path, "command", spec->n_command);
    if (!cJSON_IsString(item) && !cJSON_IsNumber(item))
      return caviar_json_fail(ctx, path, "expected an argument (a string), got %s", caviar_json_describe(item, got, sizeof got));
    const char *arg = cJSON_IsString(item) ? item->valuestring : item->valuestring ? item->valuestring : CAVIAR_NUM(item->valuedouble);
    if (!(spec->command[spec->n_command++] = caviar_strdup(arg, ctx->err))) return CAVIAR_ERUNTIME;
    for (int m = 0; macros[m]; m++)
      if (strstr(arg, macros[m])) spec->command_macros |= 1u << m;
    for (const char *at = strstr(arg, "${"); at; at = strstr(at + 2, "${")) {
      bool known = false;
      for (int m = 0; macros[m] && !known; m++) known = !strncmp(at, macros[m], strlen(macros[m]));
      if (!known)
        caviar_json_warn(ctx, 0, path, "%.40s is not one of W&B's macros (${env}, ${interpreter}, ${program}, ${args}, ${args_no_hyphens}, ${args_no_boolean_flags}, ${args_json}, ${args_json_file}); it is passed on as written", at);
    }
  }
  return CAVIAR_OK;
}

/* Outside code's metric: any name W&B's program logs; goal minimize unless said (W&B's default). */
static caviar_status parse_outside_metric(const caviar_json_ctx *ctx, const cJSON *item, caviar_spec *spec) {
  spec->metric = (caviar_metric){CAVIAR_METRIC_VAL_LOSS, false, false, 0};
  if (!item) return CAVIAR_OK;
  caviar_status st = caviar_parse_metric(ctx, item, true, &spec->metric, &spec->metric_text);
  /* Ranked where caviar ranks its own metric of the same direction: a goal of maximize as val_acc
   * is (the higher the better), minimize as val_loss (caviar_spec_metric names it). */
  spec->metric.name = spec->metric.maximize ? CAVIAR_METRIC_VAL_ACC : CAVIAR_METRIC_VAL_LOSS;
  return st;
}

static caviar_status parse_outside(const caviar_json_ctx *ctx, const cJSON *root, caviar_spec *spec) {
  if (caviar_json_known_keys(ctx, root, "", wandb_keys)) return CAVIAR_EINPUT;
  caviar_status st = parse_wandb_common(ctx, root, spec);
  if (st == CAVIAR_OK) st = parse_method(ctx, root, true, spec);
  if (st == CAVIAR_OK) st = parse_trials(ctx, root, spec);
  if (st == CAVIAR_OK) st = optional_text(ctx, root, "program", &spec->program);
  if (st == CAVIAR_OK) st = optional_text(ctx, root, "job", &spec->job);
  if (st == CAVIAR_OK) st = optional_text(ctx, root, "image_uri", &spec->image_uri);
  const cJSON *command = cJSON_GetObjectItemCaseSensitive(root, "command");
  if (st == CAVIAR_OK && command) st = parse_command(ctx, command, spec);
  const cJSON *scheduler = cJSON_GetObjectItemCaseSensitive(root, "scheduler");
  if (st == CAVIAR_OK && scheduler) st = caviar_json_object(ctx, scheduler, "scheduler"); /* W&B Launch's; recorded in text */
  const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(root, "metrics");
  if (st == CAVIAR_OK && metrics && cJSON_GetObjectItemCaseSensitive(root, "metric"))
    return caviar_json_fail(ctx, "metrics", "is W&B's list of objectives for method custom; give metric or metrics");
  if (st == CAVIAR_OK && metrics) {
    /* Several objectives (W&B: method custom): the first one stands for them here. */
    char got[96];
    if (!cJSON_IsArray(metrics) || cJSON_GetArraySize(metrics) < 2)
      return caviar_json_fail(ctx, "metrics", "expected a list of two or more metrics, got %s", caviar_json_describe(metrics, got, sizeof got));
    st = parse_outside_metric(ctx, metrics->child, spec);
  } else if (st == CAVIAR_OK) {
    st = parse_outside_metric(ctx, cJSON_GetObjectItemCaseSensitive(root, "metric"), spec);
  }
  if (st == CAVIAR_OK)
    st = caviar_parse_early_terminate(ctx, cJSON_GetObjectItemCaseSensitive(root, "early_terminate"), -1, &spec->early_terminate);
  spec->epochs = spec->early_terminate.max_epochs;
  caviar_hparams_default(&spec->fixed);
  spec->rounds = 1;
  spec->tpe = spec->method_text && !strcmp(spec->method_text, "bayes") ? CAVIAR_BAYES_OPTIONS : CAVIAR_TPE_DEFAULT_OPTIONS;
  if (st == CAVIAR_OK) st = caviar_parse_data(ctx, NULL, NULL, &spec->data);
  if (st == CAVIAR_OK)
    st = caviar_parse_outside_parameters(ctx, cJSON_GetObjectItemCaseSensitive(root, "parameters"), spec->method, &spec->space);
  spec->outside = true;
  return st;
}

/* W&B's `epochs: {value: N}` (the program's epochs) is caviar's model.epochs for its own models. */
static caviar_status epochs_parameter(const caviar_json_ctx *ctx, const cJSON *params, int *epochs) {
  const cJSON *entry = params ? cJSON_GetObjectItemCaseSensitive(params, "epochs") : NULL;
  if (!entry || !cJSON_IsObject(entry)) return CAVIAR_OK;
  const cJSON *value = cJSON_GetObjectItemCaseSensitive(entry, "value");
  const cJSON *dist = cJSON_GetObjectItemCaseSensitive(entry, "distribution");
  int keys = cJSON_GetArraySize(entry);
  bool constant = value && (keys == 1 || (keys == 2 && dist && cJSON_IsString(dist) && !strcmp(dist->valuestring, "constant")));
  if (!constant)
    return caviar_json_fail(ctx, "parameters.epochs",
                            "epochs is the training budget, not a swept hyperparameter: give {value: N}, or set model.epochs "
                            "or early_terminate.max_epochs");
  long long v;
  if (caviar_json_int(ctx, value, "parameters.epochs.value", 1, 100000, &v)) return CAVIAR_EINPUT;
  *epochs = (int)v;
  return CAVIAR_OK;
}

static caviar_status parse_own(const caviar_json_ctx *ctx, const cJSON *root, const char *base_dir, caviar_spec *spec) {
  if (caviar_json_known_keys(ctx, root, "", own_keys)) return CAVIAR_EINPUT;
  caviar_status st = parse_wandb_common(ctx, root, spec);
  const cJSON *tensorboard = cJSON_GetObjectItemCaseSensitive(root, "tensorboard");
  if (st == CAVIAR_OK && tensorboard)
    st = caviar_spec_path(ctx, tensorboard, "tensorboard", base_dir, &spec->tensorboard);
  if (st == CAVIAR_OK) st = parse_method(ctx, root, false, spec);
  if (st == CAVIAR_OK) st = parse_trials(ctx, root, spec);
  if (st != CAVIAR_OK) return st;
  const cJSON *trials = cJSON_GetObjectItemCaseSensitive(root, "trials");
  if (!trials) trials = cJSON_GetObjectItemCaseSensitive(root, "run_cap");
  const cJSON *population = cJSON_GetObjectItemCaseSensitive(root, "population");
  if (population && caviar_json_int(ctx, population, "population", 1, (double)CAVIAR_MAX_TRIALS, &spec->population))
    return CAVIAR_EINPUT;
  const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
  long long seed_value = 0;
  if (seed && caviar_json_int(ctx, seed, "seed", 0, CAVIAR_MAX_SEED, &seed_value)) return CAVIAR_EINPUT;
  spec->seed = (uint64_t)seed_value;

  st = caviar_parse_metric(ctx, cJSON_GetObjectItemCaseSensitive(root, "metric"), false, &spec->metric, &spec->metric_text);
  int model_epochs = 0, model_task = -1, param_epochs = 0;
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "parameters");
  if (st == CAVIAR_OK)
    st = caviar_parse_model(ctx, cJSON_GetObjectItemCaseSensitive(root, "model"), &spec->fixed, &model_epochs,
                            &spec->keep, &model_task);
  if (st == CAVIAR_OK) st = epochs_parameter(ctx, params, &param_epochs);
  if (st == CAVIAR_OK && param_epochs && model_epochs && param_epochs != model_epochs)
    return caviar_json_fail(ctx, "parameters.epochs", "is %d but model.epochs is %d; give one of them", param_epochs, model_epochs);
  if (param_epochs) model_epochs = param_epochs;
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
  if (st == CAVIAR_OK && tpe && spec->method_text)
    return caviar_json_fail(ctx, "tpe", "only used with method tpe, not %s", spec->method_text);
  if (st == CAVIAR_OK) st = caviar_parse_tpe(ctx, tpe, &spec->tpe);
  if (st != CAVIAR_OK) return st;
  if (spec->method_text && !strcmp(spec->method_text, "bayes")) spec->tpe = CAVIAR_BAYES_OPTIONS;
  if (spec->early_terminate.type == CAVIAR_STOP_PBT && population)
    return caviar_json_fail(ctx, "population", "pbt trains the whole population together; remove population");
  if (spec->early_terminate.type == CAVIAR_STOP_PBT &&
      (spec->method == CAVIAR_METHOD_COARSE_TO_FINE || spec->method == CAVIAR_METHOD_TPE))
    return caviar_json_fail(ctx, "early_terminate.type", "pbt explores by itself; use method random, sobol or grid with it");
  if (spec->early_terminate.type == CAVIAR_STOP_HYPERBAND && spec->rounds > 1 && trials)
    return caviar_json_fail(ctx, trials->string, "hyperband's brackets decide how many trials a round runs; remove %s",
                            trials->string);

  if (!params) return caviar_json_fail(ctx, "parameters", "missing (an object of hyperparameter entries)");
  st = caviar_parse_parameters(ctx, params, spec->method, &spec->space);
  if (st != CAVIAR_OK) return st;
  const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
  for (int i = 0; i < spec->space.n; i++) {
    char path[512];
    for (const cJSON *key = model ? model->child : NULL; key; key = key->next)
      if (caviar_hp_find(key->string) == spec->space.params[i].hp)
        return caviar_json_fail(ctx, caviar_json_path(path, sizeof path, "model", key->string),
                                "is also swept in parameters; fix it in one place");
  }
  return CAVIAR_OK;
}

/* The first name in the document that caviar's models do not have, as a reason ("parameters.x:
 * not a hyperparameter of caviar's models"), into reason; false when every name is caviar's. */
static bool foreign_name(const cJSON *root, char *reason, size_t size) {
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "parameters");
  for (const cJSON *e = params && cJSON_IsObject(params) ? params->child : NULL; e; e = e->next) {
    bool nested = cJSON_IsObject(e) && cJSON_GetObjectItemCaseSensitive(e, "parameters");
    if (nested) {
      snprintf(reason, size, "parameters.%s nests parameters; caviar's models take flat hyperparameters", e->string);
      return true;
    }
    if (!strcmp(e->string, "epochs")) {
      const cJSON *value = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "value") : NULL;
      if (value) continue; /* {value: N}: model.epochs */
      snprintf(reason, size, "parameters.epochs is swept; for caviar's models it is the training budget");
      return true;
    }
    if (!caviar_hp_find(e->string)) {
      snprintf(reason, size, "parameters.%s is not a hyperparameter of caviar's models (%s)", e->string, caviar_hp_names());
      return true;
    }
  }
  const cJSON *metric = cJSON_GetObjectItemCaseSensitive(root, "metric");
  const cJSON *name = metric && cJSON_IsObject(metric) ? cJSON_GetObjectItemCaseSensitive(metric, "name") : NULL;
  if (name && cJSON_IsString(name)) {
    static const char *const ours[] = {"val_acc", "val_loss", "val_rmse", "val_mse", NULL};
    for (int i = 0; ours[i]; i++)
      if (!strcmp(ours[i], name->valuestring)) return false;
    snprintf(reason, size, "metric.name %s is not one of caviar's metrics (val_acc, val_loss, val_rmse, val_mse)",
             name->valuestring);
    return true;
  }
  return false;
}

/* Reads the document as caviar's models' spec or as outside code's config: a W&B key naming code
 * to run says outside, and so does a parameter or metric caviar's models do not have (unless a
 * caviar key or method says the spec is caviar's: then that name is an error). */
static caviar_status parse_document(const caviar_json_ctx *ctx, const cJSON *root, const char *base_dir,
                                    caviar_spec *spec) {
  if (caviar_json_object(ctx, root, "")) return CAVIAR_EINPUT;
  char reason[1024];
  const char *key = NULL;
  for (int i = 0; outside_keys[i] && !key; i++)
    if (cJSON_GetObjectItemCaseSensitive(root, outside_keys[i])) key = outside_keys[i];
  const cJSON *method = cJSON_GetObjectItemCaseSensitive(root, "method");
  bool caviar_method = method && cJSON_IsString(method) &&
                       (!strcmp(method->valuestring, "coarse-to-fine") || !strcmp(method->valuestring, "sobol") ||
                        !strcmp(method->valuestring, "tpe"));
  if (!key && (has_any(root, caviar_keys) || caviar_method || !foreign_name(root, reason, sizeof reason)))
    return parse_own(ctx, root, base_dir, spec);
  caviar_status st = parse_outside(ctx, root, spec);
  if (st != CAVIAR_OK) return st;
  if (!key) return (spec->outside_reason = caviar_strdup(reason, ctx->err)) ? CAVIAR_OK : CAVIAR_ERUNTIME;
  const char *what = !strcmp(key, "program") ? spec->program : !strcmp(key, "job") ? spec->job
                     : !strcmp(key, "image_uri") ? spec->image_uri : NULL;
  if (what) snprintf(reason, sizeof reason, "%s: %s", key, what);
  else if (!strcmp(key, "command")) snprintf(reason, sizeof reason, "command: %s ...", spec->command[0]);
  else snprintf(reason, sizeof reason, "it has W&B Launch's %s", key);
  return (spec->outside_reason = caviar_strdup(reason, ctx->err)) ? CAVIAR_OK : CAVIAR_ERUNTIME;
}

bool caviar_spec_is_yaml(const char *source, const char *text, size_t len) {
  size_t n = source ? strlen(source) : 0;
  if (n >= 5 && (!strcmp(source + n - 5, ".yaml"))) return true;
  if (n >= 4 && (!strcmp(source + n - 4, ".yml"))) return true;
  if (n >= 5 && !strcmp(source + n - 5, ".json")) return false;
  for (size_t i = 0; i < len; i++) {
    if (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') continue;
    return text[i] != '{';
  }
  return true;
}

cJSON *caviar_spec_tree(const caviar_spec *spec) {
  if (!spec->text) return NULL;
  size_t len = strlen(spec->text);
  caviar_error err;
  caviar_json_lines lines = {0};
  caviar_json_ctx ctx = {spec->source ? spec->source : "spec", &err, &lines, NULL};
  cJSON *root = NULL;
  if (spec->yaml) caviar_yaml_parse(spec->text, len, &ctx, &root);
  else root = cJSON_ParseWithLength(spec->text, len);
  caviar_json_lines_free(&lines);
  return root;
}

caviar_status caviar_spec_require_own(const caviar_spec *spec, const char *command, caviar_error *err) {
  if (!spec->outside) return CAVIAR_OK;
  return caviar_fail(err, CAVIAR_EINPUT,
                     "%s: a config for outside code (%s): caviar %s trains caviar's own models; run its program with "
                     "caviar agent %s -o DIR (caviar sample draws its trials)",
                     spec->source ? spec->source : "spec", spec->outside_reason ? spec->outside_reason : "?", command,
                     spec->source ? spec->source : "SPEC");
}

caviar_status caviar_spec_parse(const char *text, size_t len, const char *source, const char *base_dir,
                                caviar_spec *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  caviar_json_lines lines = {0};
  caviar_notes notes = {0};
  bool yaml = caviar_spec_is_yaml(source, text, len);
  caviar_json_ctx ctx = {source, err, yaml ? &lines : NULL, &notes};
  cJSON *root = NULL;
  caviar_status st = yaml ? caviar_yaml_parse(text, len, &ctx, &root) : caviar_json_parse(text, len, &ctx, &root);
  if (st == CAVIAR_OK) {
    st = parse_document(&ctx, root, base_dir, out);
    cJSON_Delete(root);
  }
  caviar_json_lines_free(&lines);
  out->yaml = yaml;
  if (st == CAVIAR_OK) {
    out->source = caviar_strdup(source, err);
    out->text = caviar_alloc(len + 1, 1, "the spec text", err);
    if (!out->source || !out->text) st = CAVIAR_ERUNTIME;
    else memcpy(out->text, text, len);
  }
  if (st == CAVIAR_OK) {
    out->warnings = notes.text;
    notes.text = NULL;
  }
  free(notes.text);
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
  free(spec->method_text);
  free(spec->warnings);
  free(spec->description);
  free(spec->project);
  free(spec->entity);
  free(spec->program);
  for (int i = 0; i < spec->n_command; i++) free(spec->command[i]);
  free(spec->command);
  free(spec->job);
  free(spec->image_uri);
  free(spec->metric_text);
  free(spec->outside_reason);
  caviar_data_spec_free(&spec->data);
  caviar_space_free(&spec->space);
  memset(spec, 0, sizeof *spec);
}
