#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/trial_json.h"
#include "spec/json_read.h"

/* Appends text; a full buffer truncates silently and the return value says how long it should be. */
static size_t append(char *buf, size_t size, size_t used, const char *text, size_t len) {
  if (used < size) {
    size_t room = size - used - 1;
    memcpy(buf + used, text, len < room ? len : room);
    buf[used + (len < room ? len : room)] = '\0';
  }
  return used + len;
}

int caviar_hparams_json(const caviar_hparams *hp, char *buf, size_t size) {
  size_t used = 0;
  char number[40];
  bool first = true;
  for (int i = 0; i < caviar_hp_count; i++) {
    const caviar_hp_info *info = &caviar_hp_table[i];
    if (!caviar_hp_shown(hp, info)) continue; /* switched off by a condition, or a quiet one at its default */
    double value = caviar_hp_get(hp, info);
    used = append(buf, size, used, first ? "{\"" : ", \"", first ? 2 : 3);
    first = false;
    used = append(buf, size, used, info->name, strlen(info->name));
    used = append(buf, size, used, "\": ", 3);
    if (info->type == CAVIAR_HP_CHOICE) {
      const char *name = info->choices[(int)value];
      used = append(buf, size, used, "\"", 1);
      used = append(buf, size, used, name, strlen(name));
      used = append(buf, size, used, "\"", 1);
    } else {
      int n = caviar_format_number(number, sizeof number, value);
      used = append(buf, size, used, number, (size_t)n);
    }
  }
  return (int)append(buf, size, used, first ? "{}" : "}", first ? 2 : 1);
}

cJSON *caviar_hparams_cjson(const caviar_hparams *hp) {
  cJSON *obj = cJSON_CreateObject();
  for (int i = 0; obj && i < caviar_hp_count; i++) {
    const caviar_hp_info *info = &caviar_hp_table[i];
    if (!caviar_hp_shown(hp, info)) continue;
    double value = caviar_hp_get(hp, info);
    cJSON *item = info->type == CAVIAR_HP_CHOICE ? cJSON_CreateString(info->choices[(int)value]) : cJSON_CreateNumber(value);
    if (!item || !cJSON_AddItemToObject(obj, info->name, item)) {
      cJSON_Delete(item);
      cJSON_Delete(obj);
      obj = NULL;
    }
  }
  return obj;
}

void caviar_hparams_put(caviar_text *t, const caviar_hparams *hp, bool formatted, int depth) {
  int shown[64], n = 0;
  for (int i = 0; i < caviar_hp_count && n < 64; i++)
    if (caviar_hp_shown(hp, &caviar_hp_table[i])) shown[n++] = i;
  caviar_text_put(t, formatted ? "{\n" : "{", formatted ? 2 : 1);
  for (int k = 0; k < n; k++) {
    const caviar_hp_info *info = &caviar_hp_table[shown[k]];
    double value = caviar_hp_get(hp, info);
    if (formatted) caviar_text_tabs(t, depth + 1);
    caviar_json_put_string(t, info->name);
    caviar_text_put(t, formatted ? ":\t" : ":", formatted ? 2 : 1);
    if (info->type == CAVIAR_HP_CHOICE) caviar_json_put_string(t, info->choices[(int)value]);
    else caviar_json_put_number(t, value);
    if (k + 1 < n) caviar_text_put(t, ",", 1);
    if (formatted) caviar_text_put(t, "\n", 1);
  }
  if (formatted) caviar_text_tabs(t, depth);
  caviar_text_put(t, "}", 1);
}

int caviar_trial_json(const caviar_trial *trial, char *buf, size_t size) {
  int head = snprintf(buf, size, "{\"trial\": %u, \"params\": ", (unsigned)trial->id);
  if (head < 0 || (size_t)head >= size) return head;
  size_t used = (size_t)head + (size_t)caviar_hparams_json(&trial->hp, buf + head, size - (size_t)head);
  return (int)append(buf, size, used, "}", 1);
}

/* A float as W&B (Python) writes one: shortest round trip, with a fraction if it has none. */
static int float_text(char *buf, size_t size, double x) {
  int n = caviar_format_number(buf, size, x);
  if (n > 0 && (size_t)n + 2 < size && !strpbrk(buf, ".eEn")) {
    memcpy(buf + n, ".0", 3);
    n += 2;
  }
  return n;
}

static int integer_text(char *buf, size_t size, double x) {
  return fabs(x) < 9.2e18 ? snprintf(buf, size, "%lld", (long long)x) : float_text(buf, size, x);
}

typedef caviar_text text_buf;

static void put_string(text_buf *t, const char *s) {
  cJSON *tmp = cJSON_CreateString(s);
  char *quoted = tmp ? cJSON_PrintUnformatted(tmp) : NULL;
  if (quoted) caviar_text_put(t, quoted, strlen(quoted));
  else t->failed = true;
  free(quoted);
  cJSON_Delete(tmp);
}

static void put_value(text_buf *t, const cJSON *item) {
  char number[48];
  if (cJSON_IsNumber(item)) {
    int n = caviar_json_written_as_integer(item) ? integer_text(number, sizeof number, item->valuedouble)
                                                 : float_text(number, sizeof number, item->valuedouble);
    caviar_text_put(t, number, (size_t)n);
  } else if (cJSON_IsString(item)) {
    put_string(t, item->valuestring);
  } else if (cJSON_IsBool(item)) {
    caviar_text_put(t, cJSON_IsTrue(item) ? "true" : "false", cJSON_IsTrue(item) ? 4 : 5);
  } else if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
    bool object = cJSON_IsObject(item);
    caviar_text_put(t, object ? "{" : "[", 1);
    for (const cJSON *c = item->child; c; c = c->next) {
      if (c != item->child) caviar_text_put(t, ", ", 2);
      if (object) {
        put_string(t, c->string);
        caviar_text_put(t, ": ", 2);
      }
      put_value(t, c);
    }
    caviar_text_put(t, object ? "}" : "]", 1);
  } else {
    caviar_text_put(t, "null", 4);
  }
}

char *caviar_value_json_text(const cJSON *item, caviar_error *err) {
  text_buf t = {0};
  put_value(&t, item);
  if (t.failed || !t.s) {
    free(t.s);
    caviar_fail(err, CAVIAR_ERUNTIME, "out of memory writing a value");
    return NULL;
  }
  return t.s;
}

static size_t append_key(char *buf, size_t size, size_t used, const char *key) {
  cJSON *tmp = cJSON_CreateString(key);
  char *quoted = tmp ? cJSON_PrintUnformatted(tmp) : NULL;
  used = append(buf, size, used, quoted ? quoted : "\"?\"", quoted ? strlen(quoted) : 3);
  free(quoted);
  cJSON_Delete(tmp);
  return append(buf, size, used, ": ", 2);
}

int caviar_values_json(const caviar_space *space, const double *values, char *buf, size_t size) {
  size_t used = append(buf, size, 0, "{", 1);
  const char *open[33]; /* the nested keys currently open */
  bool first[34] = {true};
  int depth = 0;
  char number[48];
  for (int i = 0; i < space->n; i++) {
    const caviar_param *p = &space->params[i];
    int n_keys = p->keys ? p->n_keys : 1;
    const char *const *keys = p->keys ? (const char *const *)p->keys : (const char *const *)&p->name;
    int common = 0;
    while (common < depth && common < n_keys - 1 && !strcmp(open[common], keys[common])) common++;
    for (; depth > common; depth--) used = append(buf, size, used, "}", 1);
    for (; depth < n_keys - 1 && depth < 32; depth++) {
      used = append(buf, size, used, first[depth] ? "" : ", ", first[depth] ? 0 : 2);
      first[depth] = false;
      used = append_key(buf, size, used, keys[depth]);
      used = append(buf, size, used, "{", 1);
      open[depth] = keys[depth];
      first[depth + 1] = true;
    }
    used = append(buf, size, used, first[depth] ? "" : ", ", first[depth] ? 0 : 2);
    first[depth] = false;
    used = append_key(buf, size, used, keys[n_keys - 1]);
    double v = values[i];
    if (p->value_text) {
      const char *text = p->value_text[(int)v];
      used = append(buf, size, used, text, strlen(text));
    } else {
      int n = p->integer ? integer_text(number, sizeof number, v) : float_text(number, sizeof number, v);
      used = append(buf, size, used, number, (size_t)n);
    }
  }
  for (; depth > 0; depth--) used = append(buf, size, used, "}", 1);
  return (int)append(buf, size, used, "}", 1);
}

/* A number parameter's value is one its distribution gives: finite, within its support, whole
 * where W&B gives integers. */
static bool value_fits(const caviar_param *p, double v) {
  double lo, hi;
  caviar_param_support(p, &lo, &hi);
  return isfinite(v) && v >= lo && v <= hi && (!p->integer || v == floor(v));
}

bool caviar_values_parse(const caviar_space *space, const cJSON *params, double *values, char *why, size_t why_size) {
  for (int i = 0; i < space->n; i++) {
    const caviar_param *p = &space->params[i];
    int n_keys = p->keys ? p->n_keys : 1;
    const char *const *keys = p->keys ? (const char *const *)p->keys : (const char *const *)&p->name;
    const cJSON *item = params;
    for (int k = 0; k < n_keys && item; k++)
      item = cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, keys[k]) : NULL;
    if (!item) {
      snprintf(why, why_size, "params.%s: missing", p->name);
      return false;
    }
    if (p->value_text) {
      int v = 0;
      for (; v < p->n_values; v++) {
        cJSON *listed = cJSON_Parse(p->value_text[v]);
        bool same = listed && cJSON_Compare(listed, item, true);
        cJSON_Delete(listed);
        if (same) break;
      }
      values[i] = v;
      if (v < p->n_values) continue;
    } else if (cJSON_IsNumber(item) && value_fits(p, item->valuedouble)) {
      values[i] = item->valuedouble;
      continue;
    }
    snprintf(why, why_size, "params.%s: not a value of the spec's parameter", p->name);
    return false;
  }
  return true;
}
