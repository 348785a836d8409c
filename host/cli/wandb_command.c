/* A trial's command line exactly as `wandb agent` builds it from a sweep config (wandb/wandb_agent.py
 * and wandb/sdk/launch/sweeps/utils.py): the config's `command` (default ${env} ${interpreter}
 * ${program} ${args}); an element that is a whole ${macro} becomes its arguments (an unknown one,
 * none), ${envvar:NAME} anywhere in an element becomes NAME's value (NAME itself when unset), any
 * other element stays as written. A parameter's value is written as Python's str() writes it
 * (True, None, {'lr': 0.1}), which is what the program's argparse sees under W&B. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/trial_json.h"
#include "cli.h"

static void put(caviar_text *t, const char *s, size_t n) { caviar_text_put(t, s, n); }
static void puts_text(caviar_text *t, const char *s) { caviar_text_put(t, s, strlen(s)); }

/* Python's repr() of a str: single quotes unless it holds one and no double quote. */
static void python_repr_string(caviar_text *t, const char *s) {
  char quote = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
  put(t, &quote, 1);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    char esc[8];
    if (*c == '\\' || *c == (unsigned char)quote) {
      esc[0] = '\\';
      esc[1] = (char)*c;
      put(t, esc, 2);
    } else if (*c == '\n') {
      puts_text(t, "\\n");
    } else if (*c == '\t') {
      puts_text(t, "\\t");
    } else if (*c == '\r') {
      puts_text(t, "\\r");
    } else if (*c < 0x20 || *c == 0x7f) {
      snprintf(esc, sizeof esc, "\\x%02x", *c);
      puts_text(t, esc);
    } else {
      put(t, (const char *)c, 1);
    }
  }
  put(t, &quote, 1);
}

static const char *skip_space(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  return p;
}

/* One JSON value of raw text at p as Python's str() (top: a string is its own text) or repr()
 * (inside a list or dict) writes it; numbers keep the digits they were written with. Returns the
 * end of the value, NULL for text that is not JSON. */
static const char *python_value(caviar_text *t, const char *p, bool top) {
  p = skip_space(p);
  if (*p == '"') {
    const char *end = p + 1;
    while (*end && *end != '"') end += *end == '\\' && end[1] ? 2 : 1;
    if (*end != '"') return NULL;
    cJSON *str = cJSON_ParseWithLength(p, (size_t)(end + 1 - p));
    if (!cJSON_IsString(str)) {
      cJSON_Delete(str);
      return NULL;
    }
    if (top) puts_text(t, str->valuestring);
    else python_repr_string(t, str->valuestring);
    cJSON_Delete(str);
    return end + 1;
  }
  if (*p == '{' || *p == '[') {
    bool dict = *p == '{';
    put(t, dict ? "{" : "[", 1);
    p = skip_space(p + 1);
    bool first = true;
    while (*p && *p != (dict ? '}' : ']')) {
      if (!first) {
        if (*p != ',') return NULL;
        p = skip_space(p + 1);
        puts_text(t, ", ");
      }
      first = false;
      if (dict) {
        if (!(p = python_value(t, p, false))) return NULL;
        p = skip_space(p);
        if (*p != ':') return NULL;
        puts_text(t, ": ");
        p++;
      }
      if (!(p = python_value(t, p, false))) return NULL;
      p = skip_space(p);
    }
    if (!*p) return NULL;
    put(t, dict ? "}" : "]", 1);
    return p + 1;
  }
  static const char *const words[][2] = {{"true", "True"}, {"false", "False"}, {"null", "None"}};
  for (int w = 0; w < 3; w++)
    if (!strncmp(p, words[w][0], strlen(words[w][0]))) {
      puts_text(t, words[w][1]);
      return p + strlen(words[w][0]);
    }
  const char *end = p;
  while (*end && strchr("+-0123456789.eE", *end)) end++;
  if (end == p) return NULL;
  put(t, p, (size_t)(end - p));
  return end;
}

typedef struct arg_list {
  char **v;
  int n, cap;
  bool failed;
} arg_list;

static void add_arg(arg_list *l, char *arg) {
  if (!arg) l->failed = true;
  if (l->failed) {
    free(arg);
    return;
  }
  if (l->n + 2 > l->cap) {
    int cap = l->cap ? 2 * l->cap : 16;
    char **grown = realloc(l->v, (size_t)cap * sizeof *grown);
    if (!grown) {
      free(arg);
      l->failed = true;
      return;
    }
    l->v = grown;
    l->cap = cap;
  }
  l->v[l->n++] = arg;
  l->v[l->n] = NULL;
}

static char *joined(const char *a, const char *b, const char *c) {
  size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
  char *s = malloc(n);
  if (s) snprintf(s, n, "%s%s%s", a, b, c);
  return s;
}

/* ${envvar:NAME} anywhere in arg: NAME's value, or NAME where it is unset (as W&B does). */
static char *expand_envvars(const char *arg) {
  caviar_text t = {0};
  const char *p = arg;
  for (const char *at; (at = strstr(p, "${envvar:"));) {
    const char *name = at + 9, *end = name;
    while ((*end >= 'A' && *end <= 'Z') || (*end >= '0' && *end <= '9') || *end == '_') end++;
    if (*end != '}') {
      put(&t, p, (size_t)(end - p));
      p = end;
      continue;
    }
    put(&t, p, (size_t)(at - p));
    char var[256];
    snprintf(var, sizeof var, "%.*s", (int)(end - name), name);
    const char *value = getenv(var);
    puts_text(&t, value ? value : var);
    p = end + 1;
  }
  puts_text(&t, p);
  if (t.failed || !t.s) {
    free(t.s);
    return t.failed ? NULL : strdup("");
  }
  return t.s;
}

static const char *const default_command[] = {"${env}", "${interpreter}", "${program}", "${args}"};

char **caviar_wandb_command(const caviar_wandb_run *run, char *why, size_t why_size) {
  const char *const *command = run->command ? (const char *const *)run->command : default_command;
  int n_command = run->command ? run->n_command : 4;
  cJSON *params = cJSON_Parse(run->params);
  if (!cJSON_IsObject(params)) {
    cJSON_Delete(params);
    snprintf(why, why_size, "the trial's parameters are not a JSON object");
    return NULL;
  }
  /* Each top-level parameter's value as str() writes it, from the text as written. */
  int n = cJSON_GetArraySize(params), k = 0;
  char **names = calloc((size_t)n + 1, sizeof *names), **values = calloc((size_t)n + 1, sizeof *values);
  int *booleans = calloc((size_t)n + 1, sizeof *booleans); /* 1 True, -1 False, 0 not a bool */
  bool ok = names && values && booleans;
  const char *p = skip_space(run->params);
  if (ok && *p == '{') p = skip_space(p + 1);
  for (const cJSON *item = params->child; ok && item; item = item->next, k++) {
    /* The raw text walks in step with cJSON's members: key, colon, value, comma. */
    caviar_text key = {0}, value = {0};
    p = python_value(&key, p, true);
    p = p ? skip_space(p) : NULL;
    if (p && *p == ':') p = python_value(&value, p + 1, true);
    else p = NULL;
    if (p) p = skip_space(p);
    if (p && *p == ',') p = skip_space(p + 1);
    names[k] = key.s ? key.s : strdup("");
    values[k] = value.s ? value.s : strdup("");
    booleans[k] = cJSON_IsTrue(item) ? 1 : cJSON_IsFalse(item) ? -1 : 0;
    ok = p && !key.failed && !value.failed && names[k] && values[k];
  }
  arg_list out = {0};
  for (int c = 0; ok && c < n_command; c++) {
    /* ${envvar:NAME} first, then whole-element macros (W&B's order). */
    char *arg = expand_envvars(command[c]);
    size_t len = arg ? strlen(arg) : 0;
    if (!arg || !(len > 3 && arg[0] == '$' && arg[1] == '{' && arg[len - 1] == '}')) {
      add_arg(&out, arg);
      continue;
    }
    char macro[64];
    snprintf(macro, sizeof macro, "%.*s", (int)(len - 3), arg + 2);
    free(arg);
    if (!strcmp(macro, "env")) {
      add_arg(&out, strdup("/usr/bin/env"));
    } else if (!strcmp(macro, "interpreter")) {
      add_arg(&out, strdup(run->interpreter));
    } else if (!strcmp(macro, "program")) {
      add_arg(&out, strdup(run->program ? run->program : "None"));
    } else if (!strcmp(macro, "args") || !strcmp(macro, "args_no_hyphens") || !strcmp(macro, "args_append_hydra") ||
               !strcmp(macro, "args_override_hydra") || !strcmp(macro, "args_no_boolean_flags") ||
               !strcmp(macro, "args_no_equals")) {
      const char *prefix = !strcmp(macro, "args_no_hyphens")       ? ""
                           : !strcmp(macro, "args_append_hydra")   ? "+"
                           : !strcmp(macro, "args_override_hydra") ? "++"
                                                                   : "--";
      for (int i = 0; i < n; i++) {
        if (!strcmp(macro, "args_no_equals")) {
          add_arg(&out, joined("--", names[i], ""));
          add_arg(&out, strdup(values[i]));
        } else if (!strcmp(macro, "args_no_boolean_flags") && booleans[i]) {
          if (booleans[i] > 0) add_arg(&out, joined("--", names[i], ""));
        } else {
          char *flag = joined(prefix, names[i], "=");
          add_arg(&out, flag ? joined(flag, values[i], "") : NULL);
          free(flag);
        }
      }
    } else if (!strcmp(macro, "args_json")) {
      add_arg(&out, strdup(run->params));
    } else if (!strcmp(macro, "args_json_file")) {
      add_arg(&out, strdup(run->args_json_file));
    }
    /* Any other whole ${...}: nothing, as W&B's agent does. */
  }
  for (int i = 0; i < n; i++) {
    if (names) free(names[i]);
    if (values) free(values[i]);
  }
  free(names);
  free(values);
  free(booleans);
  cJSON_Delete(params);
  if (!ok || out.failed || out.n == 0) {
    snprintf(why, why_size, "%s", !ok ? "the trial's parameters could not be read"
                                  : out.failed ? "out of memory building the command"
                                               : "the config's command is empty once its macros are expanded");
    caviar_wandb_command_free(out.v);
    return NULL;
  }
  return out.v;
}

void caviar_wandb_command_free(char **argv) {
  for (int i = 0; argv && argv[i]; i++) free(argv[i]);
  free(argv);
}
