/* The `parameters` section of a spec: one search-space entry per swept hyperparameter of caviar's
 * models, or, for outside code, per parameter of the program as W&B reads it (any name, any
 * values, nested entries, W&B's rule for which distribution {min, max} means). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/grid.h"
#include "caviar/trial_json.h"
#include "spec/json_read.h"
#include "spec/spec_internal.h"
#include "caviar/number_format.h"

static const char *const param_keys[] = {"distribution", "value", "values", "probabilities", "min", "max",
                                         "mu", "sigma", "q", "a", "b", "grid_points", "when", NULL};

/* Whether key belongs to the distribution (so a stray `q` on uniform is an error, not ignored). */
static bool key_allowed(caviar_dist dist, const char *key) {
  const caviar_dist_info *info = caviar_dist_get(dist);
  bool is = false;
  switch (info->family) {
    case CAVIAR_FAMILY_LIST:
      is = dist == CAVIAR_DIST_CONSTANT ? strcmp(key, "value") == 0
                                        : !strcmp(key, "values") || !strcmp(key, "probabilities");
      break;
    case CAVIAR_FAMILY_INTEGER:
    case CAVIAR_FAMILY_BOX:
      is = !strcmp(key, "min") || !strcmp(key, "max") || !strcmp(key, "grid_points");
      break;
    case CAVIAR_FAMILY_NORMAL: is = !strcmp(key, "mu") || !strcmp(key, "sigma"); break;
    case CAVIAR_FAMILY_BETA: is = !strcmp(key, "a") || !strcmp(key, "b"); break;
  }
  return is || (info->quantized && strcmp(key, "q") == 0) || strcmp(key, "distribution") == 0 ||
         strcmp(key, "when") == 0;
}

static caviar_status infer_distribution(const caviar_json_ctx *ctx, const cJSON *entry, const char *path,
                                        const caviar_hp_info *hp, caviar_dist *dist) {
  const cJSON *given = cJSON_GetObjectItemCaseSensitive(entry, "distribution");
  if (given) {
    char p[512];
    const char *name;
    caviar_json_path(p, sizeof p, path, "distribution");
    if (caviar_json_string(ctx, given, p, &name) != CAVIAR_OK) return CAVIAR_EINPUT;
    if (!caviar_dist_lookup(name, dist))
      return caviar_json_fail(ctx, p, "unknown distribution \"%s\" (expected one of: %s)", name,
                              caviar_dist_names());
    return CAVIAR_OK;
  }
  /* Like W&B, the keys decide. For caviar's models, unlike W&B, {min, max} follows the
   * hyperparameter's type rather than whether the bounds happen to be written as integers, so
   * learning_rate {min: 0, max: 1} is not silently an integer choice between 0 and 1; outside
   * code gets W&B's rule: int_uniform when both are written as integers, else uniform. */
  const cJSON *min = cJSON_GetObjectItemCaseSensitive(entry, "min"), *max = cJSON_GetObjectItemCaseSensitive(entry, "max");
  if (cJSON_GetObjectItemCaseSensitive(entry, "value")) {
    *dist = CAVIAR_DIST_CONSTANT;
  } else if (cJSON_GetObjectItemCaseSensitive(entry, "values")) {
    *dist = CAVIAR_DIST_CATEGORICAL;
  } else if (min || max) {
    bool integers = hp ? hp->type == CAVIAR_HP_INT : caviar_json_written_as_integer(min) && caviar_json_written_as_integer(max);
    *dist = integers ? CAVIAR_DIST_INT_UNIFORM : CAVIAR_DIST_UNIFORM;
  } else {
    return caviar_json_fail(ctx, path, "expected value, values, min and max, or a distribution");
  }
  return CAVIAR_OK;
}

static caviar_status check_type_fits(const caviar_json_ctx *ctx, const char *path, const caviar_hp_info *hp,
                                     const caviar_dist_info *info) {
  if (hp->type == CAVIAR_HP_CHOICE && info->family != CAVIAR_FAMILY_LIST)
    return caviar_json_fail(ctx, path, "%s takes names, so it needs value or values, not %s", hp->name,
                            info->name);
  if (hp->type == CAVIAR_HP_INT && (info->family == CAVIAR_FAMILY_BOX || info->family == CAVIAR_FAMILY_NORMAL) &&
      !info->quantized)
    return caviar_json_fail(ctx, path,
                            "%s is an integer, so it needs int_uniform, value(s) or a q_ distribution, not %s",
                            hp->name, info->name);
  return CAVIAR_OK;
}

caviar_status caviar_parse_hp_value(const caviar_json_ctx *ctx, const cJSON *item, const char *path,
                                const caviar_hp_info *hp, double *out) {
  char range[160];
  caviar_hp_range_text(hp, range, sizeof range);
  if (hp->type == CAVIAR_HP_CHOICE) {
    /* An off/on switch (batchnorm) also takes JSON's and YAML's false and true. */
    int on = caviar_hp_choice_index(hp, "on"), off = caviar_hp_choice_index(hp, "off");
    if (cJSON_IsBool(item) && on >= 0 && off >= 0) {
      *out = cJSON_IsTrue(item) ? on : off;
      return CAVIAR_OK;
    }
    if (!cJSON_IsString(item))
      return caviar_json_fail(ctx, path, "expected a string (%s%s), got %s", range,
                              on >= 0 && off >= 0 ? ", or true or false" : "", caviar_json_type_name(item));
    int index = caviar_hp_choice_index(hp, item->valuestring);
    if (index < 0) return caviar_json_fail(ctx, path, "expected %s, got \"%s\"", range, item->valuestring);
    *out = index;
    return CAVIAR_OK;
  }
  if (caviar_json_number(ctx, item, path, out) != CAVIAR_OK) return CAVIAR_EINPUT;
  if (!caviar_hp_in_range(hp, *out))
    return caviar_json_fail(ctx, path, "%s must be %s, got %s", hp->name, range, CAVIAR_NUM(*out));
  return CAVIAR_OK;
}

static caviar_status parse_list(const caviar_json_ctx *ctx, const cJSON *entry, const char *path,
                                caviar_param *p) {
  char sub[512], item_path[512];
  bool constant = p->dist == CAVIAR_DIST_CONSTANT;
  const cJSON *src = cJSON_GetObjectItemCaseSensitive(entry, constant ? "value" : "values");
  caviar_json_path(sub, sizeof sub, path, constant ? "value" : "values");
  if (!src) return caviar_json_fail(ctx, sub, "missing (%s needs it)", caviar_dist_get(p->dist)->name);
  int n = constant ? 1 : cJSON_GetArraySize(src);
  if (!constant && !cJSON_IsArray(src))
    return caviar_json_fail(ctx, sub, "expected an array, got %s", caviar_json_type_name(src));
  if (n == 0) return caviar_json_fail(ctx, sub, "must not be empty");
  p->values = caviar_alloc((size_t)n, sizeof *p->values, "parameter values", ctx->err);
  if (!p->values) return CAVIAR_ERUNTIME;
  if (!p->hp && !(p->value_text = caviar_alloc((size_t)n, sizeof *p->value_text, "parameter values", ctx->err)))
    return CAVIAR_ERUNTIME;
  p->n_values = n;
  int i = 0;
  for (const cJSON *item = constant ? src : src->child; i < n; item = item->next, i++) {
    const char *ip = constant ? sub : caviar_json_index_path(item_path, sizeof item_path, sub, i);
    if (!p->hp) {
      /* Outside code: any JSON value, repeats included (W&B draws a repeated value more often). */
      p->values[i] = i;
      if (!(p->value_text[i] = caviar_value_json_text(item, ctx->err))) return CAVIAR_ERUNTIME;
      continue;
    }
    if (caviar_parse_hp_value(ctx, item, ip, p->hp, &p->values[i]) != CAVIAR_OK) return CAVIAR_EINPUT;
    for (int j = 0; j < i; j++)
      if (p->values[j] == p->values[i]) return caviar_json_fail(ctx, ip, "repeats values[%d]", j);
  }
  const cJSON *probs = cJSON_GetObjectItemCaseSensitive(entry, "probabilities");
  if (!probs && p->dist == CAVIAR_DIST_CATEGORICAL_W_PROBABILITIES)
    return caviar_json_fail(ctx, caviar_json_path(sub, sizeof sub, path, "probabilities"),
                            "missing (categorical_w_probabilities needs them)");
  if (!probs) return CAVIAR_OK;
  caviar_json_path(sub, sizeof sub, path, "probabilities");
  if (!cJSON_IsArray(probs))
    return caviar_json_fail(ctx, sub, "expected an array, got %s", caviar_json_type_name(probs));
  if (cJSON_GetArraySize(probs) != n)
    return caviar_json_fail(ctx, sub, "has %d entries, but values has %d", cJSON_GetArraySize(probs), n);
  p->cumulative = caviar_alloc((size_t)n, sizeof *p->cumulative, "probabilities", ctx->err);
  if (!p->cumulative) return CAVIAR_ERUNTIME;
  double sum = 0;
  i = 0;
  for (const cJSON *item = probs->child; item; item = item->next, i++) {
    double prob;
    caviar_json_index_path(item_path, sizeof item_path, sub, i);
    if (caviar_json_number(ctx, item, item_path, &prob) != CAVIAR_OK) return CAVIAR_EINPUT;
    if (prob < 0) return caviar_json_fail(ctx, item_path, "must be >= 0, got %g", prob);
    sum += prob;
    p->cumulative[i] = sum;
  }
  if (fabs(sum - 1.0) > 1e-6) return caviar_json_fail(ctx, sub, "must sum to 1, got %s", CAVIAR_NUM(sum));
  /* Scaled to a sum of 1 (a sum a hair over 1 made the last value's share negative: never drawn),
   * and exactly 1 from the last value of probability above 0 on, so the values of probability 0
   * after it keep a probability of exactly 0 (sampled never, proposed never). */
  if (sum != 1.0)
    for (int k = 0; k < n; k++) p->cumulative[k] /= sum;
  int last = n - 1;
  while (last > 0 && p->cumulative[last] == p->cumulative[last - 1]) last--;
  for (int k = last; k < n; k++) p->cumulative[k] = 1.0;
  return CAVIAR_OK;
}

static caviar_status required_number(const caviar_json_ctx *ctx, const cJSON *entry, const char *path,
                                     const char *key, const char *dist_name, double *out) {
  char sub[512];
  caviar_json_path(sub, sizeof sub, path, key);
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(entry, key);
  if (!item) return caviar_json_fail(ctx, sub, "missing (%s needs min and max)", dist_name);
  return caviar_json_number(ctx, item, sub, out);
}

static caviar_status optional_number(const caviar_json_ctx *ctx, const cJSON *entry, const char *path,
                                     const char *key, double fallback, double *out) {
  char sub[512];
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(entry, key);
  *out = fallback;
  return item ? caviar_json_number(ctx, item, caviar_json_path(sub, sizeof sub, path, key), out) : CAVIAR_OK;
}

/* min and max, checked against the distribution's own rules, and the box [t_lo, t_hi] on its scale. */
static caviar_status parse_bounds(const caviar_json_ctx *ctx, const cJSON *entry, const char *path,
                                  caviar_param *p) {
  const caviar_dist_info *info = caviar_dist_get(p->dist);
  char min_path[512], max_path[512];
  caviar_json_path(min_path, sizeof min_path, path, "min");
  caviar_json_path(max_path, sizeof max_path, path, "max");
  if (required_number(ctx, entry, path, "min", info->name, &p->min) != CAVIAR_OK ||
      required_number(ctx, entry, path, "max", info->name, &p->max) != CAVIAR_OK)
    return CAVIAR_EINPUT;
  if (info->family == CAVIAR_FAMILY_INTEGER) {
    if (p->min != floor(p->min)) return caviar_json_fail(ctx, min_path, "must be an integer for int_uniform, got %s", CAVIAR_NUM(p->min));
    if (p->max != floor(p->max)) return caviar_json_fail(ctx, max_path, "must be an integer for int_uniform, got %s", CAVIAR_NUM(p->max));
  }
  if (p->min > p->max || (!p->hp && p->min == p->max))
    return caviar_json_fail(ctx, min_path, "must be %s max (%s), got %s", p->hp ? "<=" : "less than (W&B's rule)",
                            CAVIAR_NUM(p->max), CAVIAR_NUM(p->min));
  bool values_on_log = info->scale == CAVIAR_SCALE_LN && !info->exponent_bounds;
  if (values_on_log && p->min <= 0)
    return caviar_json_fail(ctx, min_path, "must be > 0 for %s, got %s", info->name, CAVIAR_NUM(p->min));
  if (info->scale == CAVIAR_SCALE_ONE_MINUS) {
    if (p->min < 0) return caviar_json_fail(ctx, min_path, "must be >= 0 for %s, got %s", info->name, CAVIAR_NUM(p->min));
    if (p->max >= 1) return caviar_json_fail(ctx, max_path, "must be < 1 for %s, got %s", info->name, CAVIAR_NUM(p->max));
  }
  if (info->exponent_bounds && p->min > 0 && p->max <= 1) {
    /* wandb/wandb#507: bounds that look like values give learning rates of 1.0001 to 1.1. */
    char values_name[64];
    snprintf(values_name, sizeof values_name, "%s_values", info->name);
    caviar_json_warn(ctx, 0, path,
                     "%s's min and max are natural-log exponents, so this draws values from %s to %s; for values "
                     "from %s to %s write distribution: %s",
                     info->name, CAVIAR_NUM(exp(p->dist == CAVIAR_DIST_INV_LOG_UNIFORM ? -p->max : p->min)),
                     CAVIAR_NUM(exp(p->dist == CAVIAR_DIST_INV_LOG_UNIFORM ? -p->min : p->max)), CAVIAR_NUM(p->min),
                     CAVIAR_NUM(p->max), values_name);
  }
  if (p->dist == CAVIAR_DIST_INV_LOG_UNIFORM) {
    /* exp(-U(min, max)): on the ln scale the box is [-max, -min]. */
    p->t_lo = -p->max;
    p->t_hi = -p->min;
  } else if (info->exponent_bounds) {
    p->t_lo = p->min;
    p->t_hi = p->max;
  } else {
    double a = caviar_scale_from_value(info->scale, p->min), b = caviar_scale_from_value(info->scale, p->max);
    p->t_lo = fmin(a, b);
    p->t_hi = fmax(a, b);
  }
  if (!isfinite(caviar_scale_to_value(info->scale, p->t_hi)) || !isfinite(caviar_scale_to_value(info->scale, p->t_lo)))
    return caviar_json_fail(ctx, path, "exp(max) overflows; min and max of %s are natural-log exponents",
                            info->name);
  return CAVIAR_OK;
}

static caviar_status parse_shape(const caviar_json_ctx *ctx, const cJSON *entry, const char *path,
                                 caviar_param *p) {
  const caviar_dist_info *info = caviar_dist_get(p->dist);
  char sub[512];
  if (info->family == CAVIAR_FAMILY_LIST) return parse_list(ctx, entry, path, p);
  if (info->family == CAVIAR_FAMILY_NORMAL) {
    if (optional_number(ctx, entry, path, "mu", 0.0, &p->mu) != CAVIAR_OK ||
        optional_number(ctx, entry, path, "sigma", 1.0, &p->sigma) != CAVIAR_OK)
      return CAVIAR_EINPUT;
    /* W&B takes sigma 0 (the value is mu); caviar's models need a spread to sample. */
    if (p->hp ? p->sigma <= 0 : p->sigma < 0)
      return caviar_json_fail(ctx, caviar_json_path(sub, sizeof sub, path, "sigma"), "must be %s 0, got %s",
                              p->hp ? ">" : ">=", CAVIAR_NUM(p->sigma));
    if (!isfinite(caviar_scale_to_value(info->scale, p->mu + CAVIAR_NORMAL_REACH * p->sigma)))
      return caviar_json_fail(ctx, path, "exp(mu + 9 sigma) overflows; mu and sigma of %s are natural-log ones", info->name);
  } else if (info->family == CAVIAR_FAMILY_BETA) {
    if (optional_number(ctx, entry, path, "a", 1.0, &p->a) != CAVIAR_OK ||
        optional_number(ctx, entry, path, "b", 1.0, &p->b) != CAVIAR_OK)
      return CAVIAR_EINPUT;
    if (!(p->a > 0 && p->a <= 1e6))
      return caviar_json_fail(ctx, caviar_json_path(sub, sizeof sub, path, "a"), "must be in (0, 1e6], got %s", CAVIAR_NUM(p->a));
    if (!(p->b > 0 && p->b <= 1e6))
      return caviar_json_fail(ctx, caviar_json_path(sub, sizeof sub, path, "b"), "must be in (0, 1e6], got %s", CAVIAR_NUM(p->b));
  } else if (parse_bounds(ctx, entry, path, p) != CAVIAR_OK) {
    return CAVIAR_EINPUT;
  }
  if (info->family == CAVIAR_FAMILY_INTEGER) p->integer = true;
  if (info->quantized) {
    caviar_json_path(sub, sizeof sub, path, "q");
    if (optional_number(ctx, entry, path, "q", 1.0, &p->q) != CAVIAR_OK) return CAVIAR_EINPUT;
    if (p->q <= 0) return caviar_json_fail(ctx, sub, "must be > 0, got %s", CAVIAR_NUM(p->q));
    if (p->hp && p->hp->type == CAVIAR_HP_INT && p->q != floor(p->q))
      return caviar_json_fail(ctx, sub, "must be an integer, since %s is an integer, got %s", p->hp->name, CAVIAR_NUM(p->q));
    /* W&B: a q written as an integer gives integers (its default, 1.0, gives floats). */
    p->integer = caviar_json_written_as_integer(cJSON_GetObjectItemCaseSensitive(entry, "q"));
  }
  const cJSON *points = cJSON_GetObjectItemCaseSensitive(entry, "grid_points");
  if (points) {
    long long n;
    if (caviar_json_int(ctx, points, caviar_json_path(sub, sizeof sub, path, "grid_points"), 2,
                        CAVIAR_GRID_MAX_POINTS, &n) != CAVIAR_OK)
      return CAVIAR_EINPUT;
    p->grid_points = (int)n;
  }
  return CAVIAR_OK;
}

/* Every value the distribution can produce must be a valid value of the hyperparameter. */
static caviar_status check_support(const caviar_json_ctx *ctx, const char *path, const caviar_param *p) {
  if (caviar_dist_get(p->dist)->family == CAVIAR_FAMILY_LIST) return CAVIAR_OK; /* checked one by one */
  double lo, hi;
  caviar_param_support(p, &lo, &hi);
  char range[160];
  caviar_hp_range_text(p->hp, range, sizeof range);
  const char *dist = caviar_dist_get(p->dist)->name;
  if (!caviar_hp_in_range(p->hp, lo))
    return caviar_json_fail(ctx, path, "%s can produce %s, but %s must be %s", dist, CAVIAR_NUM(lo), p->hp->name, range);
  if (!caviar_hp_in_range(p->hp, hi))
    return caviar_json_fail(ctx, path, "%s can produce %s, but %s must be %s", dist, CAVIAR_NUM(hi), p->hp->name, range);
  /* An odd-only hyperparameter (kernel_size): a range of integers holds the even ones between its
   * odd ends too. */
  double even = ceil(lo);
  if (fmod(even, 2.0) != 0) even += 1;
  if (p->hp->odd && even <= hi)
    return caviar_json_fail(ctx, path, "%s can produce %s, but %s must be %s (list the odd sizes with values)", dist,
                            CAVIAR_NUM(even), p->hp->name, range);
  return CAVIAR_OK;
}

/* A grid must be able to put the parameter on its points. */
static caviar_status check_grid(const caviar_json_ctx *ctx, const char *path, const caviar_param *p) {
  double *points;
  int count;
  caviar_error why;
  caviar_status st = caviar_param_grid(p, &points, &count, &why);
  if (st == CAVIAR_OK) free(points);
  else if (st == CAVIAR_EINPUT) caviar_json_fail(ctx, path, "%s", why.msg);
  else *ctx->err = why;
  return st;
}

static caviar_status parse_param(const caviar_json_ctx *ctx, const cJSON *entry, const char *path,
                                 caviar_method method, caviar_param *p) {
  p->hp = caviar_hp_find(entry->string);
  if (!p->hp)
    return caviar_json_fail(ctx, path, "unknown hyperparameter (expected one of: %s)", caviar_hp_names());
  if (caviar_json_object(ctx, entry, path) != CAVIAR_OK ||
      caviar_json_known_keys(ctx, entry, path, param_keys) != CAVIAR_OK ||
      infer_distribution(ctx, entry, path, p->hp, &p->dist) != CAVIAR_OK)
    return CAVIAR_EINPUT;
  const caviar_dist_info *info = caviar_dist_get(p->dist);
  char sub[512];
  for (const cJSON *key = entry->child; key; key = key->next)
    if (!key_allowed(p->dist, key->string))
      return caviar_json_fail(ctx, caviar_json_path(sub, sizeof sub, path, key->string),
                              "not used by %s (it takes %s)", info->name, info->keys);
  caviar_status st = check_type_fits(ctx, path, p->hp, info);
  if (st == CAVIAR_OK) st = parse_shape(ctx, entry, path, p);
  if (st == CAVIAR_OK) st = check_support(ctx, path, p);
  if (st == CAVIAR_OK && method == CAVIAR_METHOD_GRID) st = check_grid(ctx, path, p);
  return st;
}

/* W&B's rule for parameter names (its schema's pattern). */
static bool wandb_name(const char *name) {
  if (!((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) return false;
  return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == strlen(name);
}

/* One parameter of outside code, as W&B reads it. */
static caviar_status parse_outside_param(const caviar_json_ctx *ctx, const cJSON *entry, const char *path,
                                         caviar_method method, caviar_param *p) {
  p->hp = NULL;
  if (caviar_json_object(ctx, entry, path) != CAVIAR_OK ||
      caviar_json_known_keys(ctx, entry, path, param_keys) != CAVIAR_OK ||
      infer_distribution(ctx, entry, path, NULL, &p->dist) != CAVIAR_OK)
    return CAVIAR_EINPUT;
  const caviar_dist_info *info = caviar_dist_get(p->dist);
  char sub[512];
  for (const cJSON *key = entry->child; key; key = key->next) {
    if (!strcmp(key->string, "when"))
      return caviar_json_fail(ctx, caviar_json_path(sub, sizeof sub, path, key->string),
                              "conditions are for caviar's own hyperparameters, not outside code's");
    if (!key_allowed(p->dist, key->string))
      return caviar_json_fail(ctx, caviar_json_path(sub, sizeof sub, path, key->string),
                              "not used by %s (it takes %s)", info->name, info->keys);
  }
  caviar_status st = parse_shape(ctx, entry, path, p);
  if (st == CAVIAR_OK && method == CAVIAR_METHOD_GRID && p->cumulative)
    return caviar_json_fail(ctx, path, "a grid takes no probabilities (W&B's rule); use method random");
  if (st == CAVIAR_OK && method == CAVIAR_METHOD_GRID) st = check_grid(ctx, path, p);
  return st;
}

/* One condition of `when`: the parent must be a categorical (or constant) parameter of this space,
 * and each value one it can take. */
static caviar_status parse_condition(const caviar_json_ctx *ctx, const cJSON *item, const char *path,
                                     const caviar_space *space, int self, caviar_condition *c) {
  int parent = -1;
  for (int j = 0; j < space->n; j++)
    if (strcmp(space->params[j].name, item->string) == 0) parent = j;
  if (parent < 0)
    return caviar_json_fail(ctx, path, "unknown parameter \"%s\" (a condition names a categorical parameter of "
                            "parameters)", item->string);
  if (parent == self) return caviar_json_fail(ctx, path, "a parameter cannot depend on itself");
  const caviar_param *pp = &space->params[parent];
  if (caviar_dist_get(pp->dist)->family != CAVIAR_FAMILY_LIST)
    return caviar_json_fail(ctx, path, "%s is %s, not categorical: a condition needs a parameter given by values",
                            item->string, caviar_dist_get(pp->dist)->name);
  c->parent = parent;
  bool list = cJSON_IsArray(item);
  int n = list ? cJSON_GetArraySize(item) : 1;
  if (n == 0) return caviar_json_fail(ctx, path, "must not be empty (the values of %s that switch this on)", item->string);
  c->values = caviar_alloc((size_t)n, sizeof *c->values, "a condition", ctx->err);
  if (!c->values) return CAVIAR_ERUNTIME;
  int i = 0;
  for (const cJSON *v = list ? item->child : item; i < n; v = v->next, i++) {
    char vp[512];
    const char *ip = list ? caviar_json_index_path(vp, sizeof vp, path, i) : path;
    if (caviar_parse_hp_value(ctx, v, ip, pp->hp, &c->values[i]) != CAVIAR_OK) return CAVIAR_EINPUT;
    bool known = false;
    for (int k = 0; k < pp->n_values && !known; k++) known = pp->values[k] == c->values[i];
    if (!known) return caviar_json_fail(ctx, ip, "is not one of parameters.%s's values", item->string);
    c->n_values++;
  }
  return CAVIAR_OK;
}

static caviar_status parse_when(const caviar_json_ctx *ctx, const cJSON *entry, const char *path,
                                caviar_space *space, int self) {
  const cJSON *when = cJSON_GetObjectItemCaseSensitive(entry, "when");
  if (!when) return CAVIAR_OK;
  char sub[512], cp[512];
  caviar_json_path(sub, sizeof sub, path, "when");
  if (caviar_json_object(ctx, when, sub) != CAVIAR_OK) return CAVIAR_EINPUT;
  int n = cJSON_GetArraySize(when);
  if (n == 0) return caviar_json_fail(ctx, sub, "must not be empty (e.g. {\"optimizer\": [\"adam\"]})");
  caviar_param *p = &space->params[self];
  p->when = caviar_alloc((size_t)n, sizeof *p->when, "conditions", ctx->err);
  if (!p->when) return CAVIAR_ERUNTIME;
  for (const cJSON *item = when->child; item; item = item->next) {
    caviar_status st = parse_condition(ctx, item, caviar_json_path(cp, sizeof cp, sub, item->string), space, self,
                                       &p->when[p->n_when++]);
    if (st != CAVIAR_OK) return st;
  }
  return CAVIAR_OK;
}

/* A chain of conditions that comes back to where it started would leave its members undecided:
 * the transitive closure of "depends on" must have no parameter depending on itself. */
static caviar_status check_cycles(const caviar_json_ctx *ctx, const caviar_space *space) {
  enum { MAX = 64 };
  bool on[MAX][MAX] = {{false}};
  int n = space->n < MAX ? space->n : MAX;
  for (int i = 0; i < n; i++)
    for (int c = 0; c < space->params[i].n_when; c++) on[i][space->params[i].when[c].parent] = true;
  for (int k = 0; k < n; k++)
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) on[i][j] = on[i][j] || (on[i][k] && on[k][j]);
  for (int i = 0; i < n; i++) {
    if (!on[i][i]) continue;
    char path[512], sub[512];
    caviar_json_path(path, sizeof path, "parameters", space->params[i].name);
    return caviar_json_fail(ctx, caviar_json_path(sub, sizeof sub, path, "when"),
                            "conditions form a cycle (%s depends, through its conditions, on itself)",
                            space->params[i].name);
  }
  return CAVIAR_OK;
}

/* Counts outside code's parameters, nested ones included: entries {parameters: {...}} hold more. */
static int count_outside(const cJSON *params, int depth) {
  int n = 0;
  for (const cJSON *e = params->child; e; e = e->next) {
    const cJSON *inner = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "parameters") : NULL;
    n += inner && cJSON_IsObject(inner) && depth < 64 ? count_outside(inner, depth + 1) : 1;
  }
  return n;
}

/* Outside code's parameters under `params` (at `path`, nested under keys[0 .. depth)), in order. */
static caviar_status parse_outside_level(const caviar_json_ctx *ctx, const cJSON *params, const char *path,
                                         caviar_method method, char **keys, int depth, caviar_space *out) {
  if (caviar_json_object(ctx, params, path) != CAVIAR_OK) return CAVIAR_EINPUT;
  for (const cJSON *entry = params->child; entry; entry = entry->next) {
    char entry_path[512];
    caviar_json_path(entry_path, sizeof entry_path, path, entry->string);
    if (!wandb_name(entry->string))
      return caviar_json_fail(ctx, entry_path, "a parameter name starts with a letter or _ and holds letters, digits, _ . - (W&B's rule)");
    const cJSON *inner = cJSON_IsObject(entry) ? cJSON_GetObjectItemCaseSensitive(entry, "parameters") : NULL;
    if (inner) {
      /* A nested entry: its parameters go into the trial's config under its name. */
      static const char *const nested_keys[] = {"parameters", NULL};
      char inner_path[512];
      if (caviar_json_known_keys(ctx, entry, entry_path, nested_keys) != CAVIAR_OK) return CAVIAR_EINPUT;
      if (depth >= 32) return caviar_json_fail(ctx, entry_path, "nested more than 32 levels deep");
      keys[depth] = entry->string;
      caviar_status st = parse_outside_level(ctx, inner, caviar_json_path(inner_path, sizeof inner_path, entry_path, "parameters"),
                                             method, keys, depth + 1, out);
      if (st != CAVIAR_OK) return st;
      continue;
    }
    caviar_param *p = &out->params[out->n++];
    caviar_status st = parse_outside_param(ctx, entry, entry_path, method, p);
    if (st != CAVIAR_OK) return st;
    keys[depth] = entry->string;
    size_t len = 0;
    for (int k = 0; k <= depth; k++) len += strlen(keys[k]) + 1;
    if (!(p->name = caviar_alloc(len, 1, "a parameter name", ctx->err))) return CAVIAR_ERUNTIME;
    for (int k = 0; k <= depth; k++) {
      if (k) strcat(p->name, ".");
      strcat(p->name, keys[k]);
    }
    if (depth == 0) continue;
    if (!(p->keys = caviar_alloc((size_t)depth + 1, sizeof *p->keys, "a parameter's path", ctx->err))) return CAVIAR_ERUNTIME;
    for (int k = 0; k <= depth; k++) {
      if (!(p->keys[k] = caviar_strdup(keys[k], ctx->err))) return CAVIAR_ERUNTIME;
      p->n_keys++;
    }
  }
  return CAVIAR_OK;
}

caviar_status caviar_parse_outside_parameters(const caviar_json_ctx *ctx, const cJSON *params, caviar_method method,
                                              caviar_space *out) {
  memset(out, 0, sizeof *out);
  if (!params) return CAVIAR_OK; /* W&B does not require any */
  if (caviar_json_object(ctx, params, "parameters") != CAVIAR_OK) return CAVIAR_EINPUT;
  int n = count_outside(params, 0);
  out->params = caviar_alloc(n > 0 ? (size_t)n : 1, sizeof *out->params, "the search space", ctx->err);
  if (!out->params) return CAVIAR_ERUNTIME;
  char *keys[33];
  caviar_status st = parse_outside_level(ctx, params, "parameters", method, keys, 0, out);
  if (st != CAVIAR_OK) caviar_space_free(out);
  return st;
}

caviar_status caviar_parse_parameters(const caviar_json_ctx *ctx, const cJSON *params, caviar_method method,
                                      caviar_space *out) {
  memset(out, 0, sizeof *out);
  if (caviar_json_object(ctx, params, "parameters") != CAVIAR_OK) return CAVIAR_EINPUT;
  int n = cJSON_GetArraySize(params);
  out->params = caviar_alloc((size_t)n, sizeof *out->params, "the search space", ctx->err);
  if (!out->params) return CAVIAR_ERUNTIME;
  for (const cJSON *entry = params->child; entry; entry = entry->next) {
    char path[512];
    if (!strcmp(entry->string, "epochs")) continue; /* {value: N}: the spec's model.epochs (spec.c) */
    caviar_param *p = &out->params[out->n++];
    caviar_status st = parse_param(ctx, entry, caviar_json_path(path, sizeof path, "parameters", entry->string),
                                   method, p);
    if (st == CAVIAR_OK) {
      p->name = caviar_strdup(entry->string, ctx->err);
      if (!p->name) st = CAVIAR_ERUNTIME;
    }
    if (st != CAVIAR_OK) {
      caviar_space_free(out);
      return st;
    }
  }
  /* Conditions, once every parameter they may name is known. */
  int i = 0;
  caviar_status st = CAVIAR_OK;
  for (const cJSON *entry = params->child; st == CAVIAR_OK && entry; entry = entry->next) {
    char path[512];
    if (!strcmp(entry->string, "epochs")) continue;
    st = parse_when(ctx, entry, caviar_json_path(path, sizeof path, "parameters", entry->string), out, i++);
  }
  if (st == CAVIAR_OK) st = check_cycles(ctx, out);
  if (st != CAVIAR_OK) caviar_space_free(out);
  return st;
}
