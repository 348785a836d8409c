/* The small sections of a spec: metric, early_terminate, data, model, coarse_to_fine, tpe. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/model.h"
#include "spec/spec_internal.h"
#include "caviar/number_format.h"

caviar_status caviar_parse_metric(const caviar_json_ctx *ctx, const cJSON *item, bool outside, caviar_metric *out,
                                  char **text) {
  static const char *const keys[] = {"name", "goal", "target", "impute", "impute_while_running", NULL};
  static const char *const names[] = {"val_acc", "val_loss", "val_rmse", "val_mse", NULL};
  static const char *const goals[] = {"maximize", "minimize", NULL};
  static const char *const imputes[] = {"latest", "best", "worst", NULL};
  static const char *const imputes_running[] = {"latest", "best", "worst", "false", NULL};
  out->name = CAVIAR_METRIC_VAL_ACC;
  out->maximize = true;
  out->has_target = false;
  out->target = 0;
  if (!item) return CAVIAR_OK;
  if (caviar_json_object(ctx, item, "metric") || caviar_json_known_keys(ctx, item, "metric", keys))
    return CAVIAR_EINPUT;
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
  if (!name)
    return caviar_json_fail(ctx, "metric.name", outside ? "missing (the name of the metric the program logs)"
                                                        : "missing (expected val_acc, val_loss, val_rmse or val_mse)");
  const char *s;
  if (caviar_json_string(ctx, name, "metric.name", &s)) return CAVIAR_EINPUT;
  if (!(*text = caviar_strdup(s, ctx->err))) return CAVIAR_ERUNTIME;
  int index = 0;
  if (!outside && caviar_json_enum(ctx, name, "metric.name", names, &index)) return CAVIAR_EINPUT;
  out->name = (caviar_metric_name)index;
  /* caviar's metrics have a natural direction; W&B's default goal, for any other, is minimize. */
  bool natural = !outside && out->name == CAVIAR_METRIC_VAL_ACC;
  out->maximize = natural;
  const cJSON *impute = cJSON_GetObjectItemCaseSensitive(item, "impute");
  if (impute && caviar_json_enum(ctx, impute, "metric.impute", imputes, &index)) return CAVIAR_EINPUT;
  const cJSON *running = cJSON_GetObjectItemCaseSensitive(item, "impute_while_running");
  if (running && caviar_json_enum(ctx, running, "metric.impute_while_running", imputes_running, &index)) return CAVIAR_EINPUT;
  const cJSON *target = cJSON_GetObjectItemCaseSensitive(item, "target");
  if (target) {
    if (caviar_json_number(ctx, target, "metric.target", &out->target)) return CAVIAR_EINPUT;
    out->has_target = true;
  }
  const cJSON *goal = cJSON_GetObjectItemCaseSensitive(item, "goal");
  if (!goal) return CAVIAR_OK;
  if (caviar_json_enum(ctx, goal, "metric.goal", goals, &index)) return CAVIAR_EINPUT;
  if (outside) {
    out->maximize = index == 0;
    return CAVIAR_OK;
  }
  if ((index == 0) != natural)
    return caviar_json_fail(ctx, "metric.goal", "%s must be %s, got %s", names[out->name],
                            natural ? "maximize" : "minimize", goals[index]);
  return CAVIAR_OK;
}

static caviar_status optional_int(const caviar_json_ctx *ctx, const cJSON *obj, const char *path,
                                  const char *key, double lo, double hi, int *out) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!item) return CAVIAR_OK;
  char sub[256];
  long long v;
  if (caviar_json_int(ctx, item, caviar_json_path(sub, sizeof sub, path, key), lo, hi, &v)) return CAVIAR_EINPUT;
  *out = (int)v;
  return CAVIAR_OK;
}

#define MAX_EPOCHS 100000

/* W&B's hyperband keys: min_iter, or max_iter with s (brackets at max_iter / eta^k, k = 1..s). */
static caviar_status parse_hyperband(const caviar_json_ctx *ctx, const cJSON *item, caviar_early_terminate *out) {
  static const char *const keys[] = {"type", "min_iter", "max_iter", "s", "eta", "strict", NULL};
  if (caviar_json_known_keys(ctx, item, "early_terminate", keys) ||
      optional_int(ctx, item, "early_terminate", "eta", 2, 100, &out->eta) ||
      optional_int(ctx, item, "early_terminate", "min_iter", 1, MAX_EPOCHS, &out->min_epochs) ||
      optional_int(ctx, item, "early_terminate", "max_iter", 1, MAX_EPOCHS, &out->max_epochs) ||
      optional_int(ctx, item, "early_terminate", "s", 1, 30, &out->s))
    return CAVIAR_EINPUT;
  const cJSON *strict = cJSON_GetObjectItemCaseSensitive(item, "strict");
  if (strict && !cJSON_IsBool(strict))
    return caviar_json_fail(ctx, "early_terminate.strict", "expected true or false, got %s",
                            caviar_json_type_name(strict));
  out->strict = strict && cJSON_IsTrue(strict);
  if (out->min_epochs == 0) {
    if (out->max_epochs == 0 || out->s == 0)
      return caviar_json_fail(ctx, "early_terminate", "hyperband needs min_iter, or max_iter and s");
    double first = out->max_epochs / pow(out->eta, out->s);
    if (first < 1)
      return caviar_json_fail(ctx, "early_terminate.s", "max_iter / eta^s = %g is under one epoch", first);
    out->min_epochs = (int)first;
  }
  return CAVIAR_OK;
}

static caviar_status optional_fraction(const caviar_json_ctx *ctx, const cJSON *obj, const char *key, double lo,
                                       bool lo_open, double hi, double *out) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!item) return CAVIAR_OK;
  char path[128];
  caviar_json_path(path, sizeof path, "early_terminate", key);
  if (caviar_json_number(ctx, item, path, out)) return CAVIAR_EINPUT;
  bool above = lo_open ? *out > lo : *out >= lo;
  if (!above || !(*out <= hi))
    return caviar_json_fail(ctx, path, "expected a number in %s%g, %g], got %s", lo_open ? "(" : "[", lo, hi, CAVIAR_NUM(*out));
  return CAVIAR_OK;
}

/* Population-based training: every `interval` epochs the bottom `quantile` copies a top member. */
static caviar_status parse_pbt(const caviar_json_ctx *ctx, const cJSON *item, caviar_early_terminate *out) {
  static const char *const keys[] = {"type", "interval", "quantile", "perturb", "resample_probability", NULL};
  out->interval = 2;
  out->quantile = 0.25;
  out->perturb = 0.2;
  out->resample_probability = 0.25;
  if (caviar_json_known_keys(ctx, item, "early_terminate", keys) ||
      optional_int(ctx, item, "early_terminate", "interval", 1, MAX_EPOCHS, &out->interval) ||
      optional_fraction(ctx, item, "quantile", 0, true, 0.5, &out->quantile) ||
      optional_fraction(ctx, item, "perturb", 0, true, 0.99, &out->perturb) ||
      optional_fraction(ctx, item, "resample_probability", 0, false, 1, &out->resample_probability))
    return CAVIAR_EINPUT;
  return CAVIAR_OK;
}

caviar_status caviar_parse_early_terminate(const caviar_json_ctx *ctx, const cJSON *item, int epochs,
                                           caviar_early_terminate *out) {
  static const char *const types[] = {"successive_halving", "hyperband", "pbt", NULL};
  static const char *const sh_keys[] = {"type", "min_epochs", "max_epochs", "eta", NULL};
  memset(out, 0, sizeof *out);
  out->type = CAVIAR_STOP_NONE;
  out->eta = 3;
  if (!item) {
    /* Every trial trains the whole budget. */
    out->max_epochs = out->min_epochs = epochs > 0 ? epochs : CAVIAR_DEFAULT_EPOCHS;
    return CAVIAR_OK;
  }
  if (caviar_json_object(ctx, item, "early_terminate")) return CAVIAR_EINPUT;
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");
  if (!type) return caviar_json_fail(ctx, "early_terminate.type", "missing (expected successive_halving, hyperband or pbt)");
  int index;
  if (caviar_json_enum(ctx, type, "early_terminate.type", types, &index)) return CAVIAR_EINPUT;
  if (index == 0) {
    out->type = CAVIAR_STOP_SUCCESSIVE_HALVING;
    out->min_epochs = 1;
    if (caviar_json_known_keys(ctx, item, "early_terminate", sh_keys) ||
        optional_int(ctx, item, "early_terminate", "min_epochs", 1, MAX_EPOCHS, &out->min_epochs) ||
        optional_int(ctx, item, "early_terminate", "max_epochs", 1, MAX_EPOCHS, &out->max_epochs) ||
        optional_int(ctx, item, "early_terminate", "eta", 2, 100, &out->eta))
      return CAVIAR_EINPUT;
  } else if (index == 1) {
    out->type = CAVIAR_STOP_HYPERBAND;
    if (parse_hyperband(ctx, item, out)) return CAVIAR_EINPUT;
  } else {
    out->type = CAVIAR_STOP_PBT;
    if (parse_pbt(ctx, item, out)) return CAVIAR_EINPUT;
    out->min_epochs = 1;
  }
  if (epochs < 0) {
    /* Outside code: W&B's hyperband only stops runs (at min_iter, min_iter eta, ...); recorded as
     * written, with no budget of caviar's to fit. */
    if (out->max_epochs < out->min_epochs) out->max_epochs = out->min_epochs;
    return CAVIAR_OK;
  }
  const char *max_key = out->type == CAVIAR_STOP_HYPERBAND ? "early_terminate.max_iter" : "early_terminate.max_epochs";
  if (out->max_epochs && epochs && out->max_epochs != epochs)
    return caviar_json_fail(ctx, max_key, "is %d but model.epochs is %d; give one of them", out->max_epochs, epochs);
  if (!out->max_epochs) out->max_epochs = epochs ? epochs : CAVIAR_DEFAULT_EPOCHS;
  if (out->min_epochs > out->max_epochs)
    return caviar_json_fail(ctx, "early_terminate", "the first rung (%d epochs) is after the last epoch (%d)",
                            out->min_epochs, out->max_epochs);
  return CAVIAR_OK;
}

caviar_status caviar_spec_path(const caviar_json_ctx *ctx, const cJSON *item, const char *path,
                               const char *base_dir, char **out) {
  const char *s;
  if (caviar_json_string(ctx, item, path, &s)) return CAVIAR_EINPUT;
  if (!s[0]) return caviar_json_fail(ctx, path, "must not be empty");
  bool relative = s[0] != '/' && base_dir && base_dir[0];
  size_t n = strlen(s) + (relative ? strlen(base_dir) + 2 : 1);
  *out = caviar_alloc(n, 1, "a path", ctx->err);
  if (!*out) return CAVIAR_ERUNTIME;
  snprintf(*out, n, relative ? "%s/%s" : "%s%s", relative ? base_dir : "", s);
  return CAVIAR_OK;
}

/* data.label_column: a column index (from 0, negative from the end) or a header name. */
static caviar_status parse_label_column(const caviar_json_ctx *ctx, const cJSON *item, caviar_data_spec *out) {
  if (cJSON_IsString(item)) {
    if (!item->valuestring[0]) return caviar_json_fail(ctx, "data.label_column", "must not be empty");
    out->label_name = caviar_strdup(item->valuestring, ctx->err);
    return out->label_name ? CAVIAR_OK : CAVIAR_ERUNTIME;
  }
  if (!cJSON_IsNumber(item))
    return caviar_json_fail(ctx, "data.label_column", "expected a column index or a header name, got %s",
                            caviar_json_type_name(item));
  long long v;
  if (caviar_json_int(ctx, item, "data.label_column", -65536, 65535, &v)) return CAVIAR_EINPUT;
  out->label_column = (int)v;
  return CAVIAR_OK;
}

caviar_status caviar_parse_task(const caviar_json_ctx *ctx, const cJSON *item, const char *path, caviar_task *out) {
  static const char *const tasks[] = {"classification", "regression", NULL};
  int index;
  if (caviar_json_enum(ctx, item, path, tasks, &index)) return CAVIAR_EINPUT;
  *out = (caviar_task)index;
  return CAVIAR_OK;
}

/* data.augment: {"flip": true|false, "shift": pixels}. Whether the data are images, and the shift
 * smaller than them, is checked once they are loaded (caviar_data_load). */
static caviar_status parse_augment(const caviar_json_ctx *ctx, const cJSON *item, caviar_augment *out) {
  static const char *const keys[] = {"flip", "shift", NULL};
  if (caviar_json_object(ctx, item, "data.augment") || caviar_json_known_keys(ctx, item, "data.augment", keys))
    return CAVIAR_EINPUT;
  const cJSON *flip = cJSON_GetObjectItemCaseSensitive(item, "flip");
  if (flip && !cJSON_IsBool(flip))
    return caviar_json_fail(ctx, "data.augment.flip", "expected true or false, got %s", caviar_json_type_name(flip));
  out->flip = flip && cJSON_IsTrue(flip);
  if (optional_int(ctx, item, "data.augment", "shift", 0, 64, &out->shift)) return CAVIAR_EINPUT;
  if (!caviar_augment_on(*out))
    return caviar_json_fail(ctx, "data.augment", "augments nothing: expected \"flip\": true or a \"shift\" of 1 or more");
  return CAVIAR_OK;
}

static caviar_status parse_data_keys(const caviar_json_ctx *ctx, const cJSON *item, const char *base_dir,
                                     caviar_data_spec *out) {
  static const char *const keys[] = {"format", "dir", "train", "test", "validation", "scaling", "classes", "task",
                                     "label_column", "shape", "test_overlap", "augment", NULL};
  static const char *const formats[] = {"idx", "csv", NULL};
  static const char *const scalings[] = {"unit", "standardize", "none", NULL};
  out->format = CAVIAR_DATA_IDX;
  out->validation = 0.1;
  out->scaling = CAVIAR_SCALING_UNIT;
  if (item && (caviar_json_object(ctx, item, "data") || caviar_json_known_keys(ctx, item, "data", keys)))
    return CAVIAR_EINPUT;
  const cJSON *format = item ? cJSON_GetObjectItemCaseSensitive(item, "format") : NULL;
  int index;
  if (format) {
    if (caviar_json_enum(ctx, format, "data.format", formats, &index)) return CAVIAR_EINPUT;
    out->format = (caviar_data_format)index;
  }
  const cJSON *dir = item ? cJSON_GetObjectItemCaseSensitive(item, "dir") : NULL;
  const cJSON *train = item ? cJSON_GetObjectItemCaseSensitive(item, "train") : NULL;
  const cJSON *test = item ? cJSON_GetObjectItemCaseSensitive(item, "test") : NULL;
  const cJSON *label_column = item ? cJSON_GetObjectItemCaseSensitive(item, "label_column") : NULL;
  caviar_status st = CAVIAR_OK;
  if (out->format == CAVIAR_DATA_IDX) {
    if (train || test || label_column)
      return caviar_json_fail(ctx, train ? "data.train" : test ? "data.test" : "data.label_column",
                              "only used with format csv (idx reads dir)");
    if (dir) {
      st = caviar_spec_path(ctx, dir, "data.dir", base_dir, &out->dir);
    } else {
      out->dir = caviar_strdup(CAVIAR_DEFAULT_DATA_DIR, ctx->err);
      if (!out->dir) st = CAVIAR_ERUNTIME;
    }
  } else {
    if (dir) return caviar_json_fail(ctx, "data.dir", "only used with format idx (csv reads train and test)");
    if (!train) return caviar_json_fail(ctx, "data.train", "missing (format csv needs a train file)");
    if (!test)
      return caviar_json_fail(ctx, "data.test", "missing (format csv needs a test file, or a fraction of train)");
    st = caviar_spec_path(ctx, train, "data.train", base_dir, &out->train_csv);
    if (st == CAVIAR_OK && cJSON_IsNumber(test)) {
      out->test_fraction = test->valuedouble;
      if (!(out->test_fraction > 0 && out->test_fraction <= 0.9))
        return caviar_json_fail(ctx, "data.test", "expected a file or a fraction in (0, 0.9], got %s",
                                CAVIAR_NUM(out->test_fraction));
    } else if (st == CAVIAR_OK) {
      if (!cJSON_IsString(test))
        return caviar_json_fail(ctx, "data.test", "expected a file or a fraction of train, got %s",
                                caviar_json_type_name(test));
      st = caviar_spec_path(ctx, test, "data.test", base_dir, &out->test_csv);
    }
    if (st == CAVIAR_OK && label_column) st = parse_label_column(ctx, label_column, out);
  }
  if (st != CAVIAR_OK || !item) return st;
  const cJSON *task = cJSON_GetObjectItemCaseSensitive(item, "task");
  if (task && caviar_parse_task(ctx, task, "data.task", &out->task)) return CAVIAR_EINPUT;
  const cJSON *validation = cJSON_GetObjectItemCaseSensitive(item, "validation");
  if (validation) {
    if (caviar_json_number(ctx, validation, "data.validation", &out->validation)) return CAVIAR_EINPUT;
    if (!(out->validation > 0 && out->validation <= 0.9))
      return caviar_json_fail(ctx, "data.validation", "expected a fraction in (0, 0.9], got %s", CAVIAR_NUM(out->validation));
  }
  const cJSON *scaling = cJSON_GetObjectItemCaseSensitive(item, "scaling");
  if (scaling) {
    if (caviar_json_enum(ctx, scaling, "data.scaling", scalings, &index)) return CAVIAR_EINPUT;
    out->scaling = (caviar_scaling_kind)index;
  }
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
  if (shape) {
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) != 3)
      return caviar_json_fail(ctx, "data.shape", "expected [C, H, W] (channels, height, width), got %s",
                              cJSON_IsArray(shape) ? "an array of another length" : caviar_json_type_name(shape));
    char path[64];
    for (int k = 0; k < 3; k++) {
      long long v;
      snprintf(path, sizeof path, "data.shape[%d]", k);
      if (caviar_json_int(ctx, cJSON_GetArrayItem(shape, k), path, 1, 65536, &v)) return CAVIAR_EINPUT;
      out->shape[k] = (int)v;
    }
    /* The files' features are known only when they are read (caviar_data_load): its error names
     * the spec, as this one's do. */
    int line = caviar_json_lines_find(ctx->lines, "data.shape");
    char at[64] = "";
    if (line > 0) snprintf(at, sizeof at, ":%d", line);
    size_t len = strlen(ctx->source) + strlen(at) + sizeof ": data.shape";
    out->shape_at = malloc(len);
    if (!out->shape_at) return caviar_fail(ctx->err, CAVIAR_ERUNTIME, "out of memory reading data.shape");
    snprintf(out->shape_at, len, "%s%s: data.shape", ctx->source, at);
  }
  const cJSON *overlap = cJSON_GetObjectItemCaseSensitive(item, "test_overlap");
  if (overlap) {
    static const char *const choices[] = {"refuse", "allow", NULL};
    if (caviar_json_enum(ctx, overlap, "data.test_overlap", choices, &index)) return CAVIAR_EINPUT;
    out->allow_test_overlap = index == 1;
  }
  const cJSON *augment = cJSON_GetObjectItemCaseSensitive(item, "augment");
  if (augment && parse_augment(ctx, augment, &out->augment)) return CAVIAR_EINPUT;
  st = optional_int(ctx, item, "data", "classes", 2, CAVIAR_MAX_CLASSES, &out->classes);
  if (st == CAVIAR_OK && out->classes && out->task == CAVIAR_TASK_REGRESSION)
    return caviar_json_fail(ctx, "data.classes", "a regression has no classes (task is regression)");
  return st;
}

caviar_status caviar_parse_data(const caviar_json_ctx *ctx, const cJSON *item, const char *base_dir,
                                caviar_data_spec *out) {
  memset(out, 0, sizeof *out);
  caviar_status st = parse_data_keys(ctx, item, base_dir, out);
  if (st != CAVIAR_OK) caviar_data_spec_free(out);
  return st;
}

caviar_status caviar_parse_model(const caviar_json_ctx *ctx, const cJSON *item, caviar_hparams *fixed,
                                 int *epochs, caviar_keep *keep, int *task) {
  caviar_hparams_default(fixed);
  *epochs = 0;
  *keep = CAVIAR_KEEP_LAST;
  *task = -1;
  if (!item) return CAVIAR_OK;
  if (caviar_json_object(ctx, item, "model")) return CAVIAR_EINPUT;
  char path[512];
  for (const cJSON *key = item->child; key; key = key->next) {
    caviar_json_path(path, sizeof path, "model", key->string);
    if (strcmp(key->string, "type") == 0) {
      /* model.type is the hyperparameter `model` fixed (a sweep may vary it in parameters). */
      static const char *const types[] = {"mlp", "cnn", NULL};
      int index;
      if (caviar_json_enum(ctx, key, path, types, &index)) return CAVIAR_EINPUT;
      fixed->model = index;
    } else if (strcmp(key->string, "epochs") == 0) {
      long long v;
      if (caviar_json_int(ctx, key, path, 1, MAX_EPOCHS, &v)) return CAVIAR_EINPUT;
      *epochs = (int)v;
    } else if (strcmp(key->string, "keep") == 0) {
      static const char *const keeps[] = {"last", "best", NULL};
      int index;
      if (caviar_json_enum(ctx, key, path, keeps, &index)) return CAVIAR_EINPUT;
      *keep = (caviar_keep)index;
    } else if (strcmp(key->string, "task") == 0) {
      caviar_task t;
      if (caviar_parse_task(ctx, key, path, &t)) return CAVIAR_EINPUT;
      *task = (int)t;
    } else {
      const caviar_hp_info *hp = caviar_hp_find(key->string);
      if (!hp)
        return caviar_json_fail(ctx, path, "unknown key (expected type, epochs, keep, task, or a hyperparameter: %s)",
                                caviar_hp_names());
      double value;
      if (caviar_parse_hp_value(ctx, key, path, hp, &value)) return CAVIAR_EINPUT;
      caviar_hp_set(fixed, hp, value);
    }
  }
  caviar_hparams_settle(fixed, 0);
  return CAVIAR_OK;
}

caviar_status caviar_parse_coarse_to_fine(const caviar_json_ctx *ctx, const cJSON *item,
                                          caviar_coarse_to_fine *out) {
  static const char *const keys[] = {"rounds", "zoom", "top_k", NULL};
  out->rounds = 3;
  out->zoom = 0.5;
  out->top_k = 3;
  if (!item) return CAVIAR_OK;
  if (caviar_json_object(ctx, item, "coarse_to_fine") || caviar_json_known_keys(ctx, item, "coarse_to_fine", keys) ||
      optional_int(ctx, item, "coarse_to_fine", "rounds", 1, 100, &out->rounds) ||
      optional_int(ctx, item, "coarse_to_fine", "top_k", 1, 1000000, &out->top_k))
    return CAVIAR_EINPUT;
  const cJSON *zoom = cJSON_GetObjectItemCaseSensitive(item, "zoom");
  if (zoom) {
    if (caviar_json_number(ctx, zoom, "coarse_to_fine.zoom", &out->zoom)) return CAVIAR_EINPUT;
    if (!(out->zoom > 0 && out->zoom <= 1))
      return caviar_json_fail(ctx, "coarse_to_fine.zoom", "expected a fraction in (0, 1], got %s", CAVIAR_NUM(out->zoom));
  }
  return CAVIAR_OK;
}

caviar_status caviar_parse_tpe(const caviar_json_ctx *ctx, const cJSON *item, caviar_tpe_options *out) {
  static const char *const keys[] = {"startup", "candidates", "prior_weight", "history", NULL};
  *out = CAVIAR_TPE_DEFAULT_OPTIONS;
  if (!item) return CAVIAR_OK;
  if (caviar_json_object(ctx, item, "tpe") || caviar_json_known_keys(ctx, item, "tpe", keys) ||
      optional_int(ctx, item, "tpe", "startup", 2, 1000000, &out->startup) ||
      optional_int(ctx, item, "tpe", "candidates", 1, 10000, &out->candidates) ||
      optional_int(ctx, item, "tpe", "history", 0, 100000000, &out->history))
    return CAVIAR_EINPUT;
  if (out->history > 0 && out->history < CAVIAR_TPE_MIN_HISTORY)
    return caviar_json_fail(ctx, "tpe.history", "expected 0 (all) or at least %d, got %d", CAVIAR_TPE_MIN_HISTORY,
                            out->history);
  const cJSON *weight = cJSON_GetObjectItemCaseSensitive(item, "prior_weight");
  if (weight) {
    if (caviar_json_number(ctx, weight, "tpe.prior_weight", &out->prior_weight)) return CAVIAR_EINPUT;
    if (!(out->prior_weight > 0 && out->prior_weight <= 1e6))
      return caviar_json_fail(ctx, "tpe.prior_weight", "expected a number in (0, 1e6], got %s", CAVIAR_NUM(out->prior_weight));
  }
  return CAVIAR_OK;
}
