/* YAML specs: libyaml's events turned into the cJSON tree a JSON spec gives, so every section
 * parser reads both. Scalars are resolved by YAML 1.2's core schema (1e-5 is a number, yes is a
 * string), each number keeps the text it was written as (valuestring: W&B's types follow it), and
 * every value's line is recorded by its path for messages. Hostile input is bounded: at most
 * CAVIAR_YAML_MAX_NODES values however aliases expand, CAVIAR_YAML_MAX_DEPTH levels, one
 * document, no repeated key, no alias to a node that contains it. */
#include "spec/yaml_read.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "caviar/number_format.h"

typedef struct anchor {
  char *name;
  cJSON *node;
  long nodes;    /* values in the anchored node, counted once it is complete */
  int height;    /* levels in it (a scalar: 0) */
  bool complete; /* false while its own content is being read */
} anchor;

typedef struct frame {
  cJSON *node;  /* an object or an array */
  char *path;   /* its JSON path ("" for the document) */
  anchor *anchored; /* the anchor naming this collection, if any */
  long first_node;  /* the node count when it began */
  char *key;        /* a mapping's key waiting for its value */
  int key_line;
  bool merge_key;   /* the waiting key is YAML's merge key "<<" */
  cJSON *merges;    /* mappings merged in by "<<", applied at the mapping's end */
} frame;

typedef struct reader {
  const caviar_json_ctx *ctx;
  caviar_json_lines *lines;
  yaml_parser_t parser;
  frame stack[CAVIAR_YAML_MAX_DEPTH + 1];
  int depth;
  anchor *anchors;
  int n_anchors, cap_anchors;
  long nodes;
  cJSON *root;
  cJSON *merged; /* mappings merged by "<<", kept to the end (anchors may point into them) */
} reader;

static int line_of(const yaml_event_t *e) { return (int)e->start_mark.line + 1; }

static caviar_status fail_at(reader *r, int line, const char *path, const char *fmt, ...) CAVIAR_PRINTF(4, 5);
static caviar_status fail_at(reader *r, int line, const char *path, const char *fmt, ...) {
  char what[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (path && path[0]) return caviar_fail(r->ctx->err, CAVIAR_EINPUT, "%s:%d: %s: %s", r->ctx->source, line, path, what);
  return caviar_fail(r->ctx->err, CAVIAR_EINPUT, "%s:%d: %s", r->ctx->source, line, what);
}

static caviar_status out_of_memory(reader *r) {
  return caviar_fail(r->ctx->err, CAVIAR_ERUNTIME, "%s: out of memory reading YAML", r->ctx->source);
}

/* Text shown in a message: at most 40 bytes, anything not printable ASCII escaped, so the message
 * stays one printable line whatever the file holds. */
static void shown(const char *text, size_t len, char *buf, size_t size) {
  size_t used = 0;
  for (size_t i = 0; i < len && i < 40 && used + 5 < size; i++) {
    unsigned char c = (unsigned char)text[i];
    used += (size_t)snprintf(buf + used, size - used, c >= 0x20 && c < 0x7f && c != '"' ? "%c" : "\\x%02x", c);
  }
  if (len > 40 && used + 4 < size) used += (size_t)snprintf(buf + used, size - used, "...");
  buf[used] = '\0';
}

/* YAML 1.2 core schema: which plain scalars are null, booleans, integers and floats. */
static bool all_of(const char *s, const char *set) { return *s && strspn(s, set) == strlen(s); }

static bool is_core_int(const char *s) {
  if (s[0] == '0' && s[1] == 'o') return all_of(s + 2, "01234567");
  if (s[0] == '0' && s[1] == 'x') return all_of(s + 2, "0123456789abcdefABCDEF");
  if (*s == '-' || *s == '+') s++;
  return all_of(s, "0123456789");
}

static bool is_core_float(const char *s) {
  if (*s == '-' || *s == '+') s++;
  if (!strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF")) return true;
  size_t digits = strspn(s, "0123456789"), fraction = 0;
  s += digits;
  if (*s == '.') {
    fraction = strspn(s + 1, "0123456789");
    s += 1 + fraction;
  }
  if (digits + fraction == 0) return false;
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '-' || *s == '+') s++;
    size_t exponent = strspn(s, "0123456789");
    if (exponent == 0) return false;
    s += exponent;
  }
  return *s == '\0';
}

static bool is_core_nan(const char *s) { return !strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"); }

static double core_number(const char *s) {
  if (s[0] == '0' && s[1] == 'o') return (double)strtoull(s + 2, NULL, 8);
  if (s[0] == '0' && s[1] == 'x') return (double)strtoull(s + 2, NULL, 16);
  if (is_core_nan(s)) return NAN;
  const char *inf = s + (*s == '-' || *s == '+');
  if (inf[0] == '.' && (inf[1] == 'i' || inf[1] == 'I')) return *s == '-' ? -INFINITY : INFINITY;
  return strtod(s, NULL);
}

static bool one_of(const char *s, const char *const *words) {
  for (; *words; words++)
    if (!strcmp(s, *words)) return true;
  return false;
}

static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const trues[] = {"true", "True", "TRUE", NULL};
static const char *const falses[] = {"false", "False", "FALSE", NULL};
/* YAML 1.1's other booleans, which PyYAML (and so W&B) reads as true or false. */
static const char *const yaml11_trues[] = {"yes", "Yes", "YES", "on", "On", "ON", NULL};
static const char *const yaml11_falses[] = {"no", "No", "NO", "off", "Off", "OFF", NULL};

static cJSON *number_node(const char *text, double value) {
  cJSON *item = cJSON_CreateNumber(value);
  if (item && !(item->valuestring = strdup(text))) {
    cJSON_Delete(item);
    item = NULL;
  }
  return item;
}

#define TAG "tag:yaml.org,2002:"

/* A scalar as a JSON value: quoted scalars and the non-specific tag "!" are strings; plain ones
 * are resolved by the core schema; !!str, !!int, !!float, !!bool and !!null are honoured (the
 * scalar must be what the tag says); any other tag is an error. */
static caviar_status scalar_node(reader *r, const yaml_event_t *e, const char *path, cJSON **out) {
  const char *text = (const char *)e->data.scalar.value, *tag = (const char *)e->data.scalar.tag;
  size_t len = e->data.scalar.length;
  char show[200];
  shown(text, len, show, sizeof show);
  if (strlen(text) != len) return fail_at(r, line_of(e), path, "a NUL byte in \"%s\"", show);
  bool plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  const char *kind = NULL; /* what to resolve it as: NULL by the schema */
  if (tag) {
    if (!strcmp(tag, "!") || !strcmp(tag, TAG "str")) kind = "str";
    else if (!strcmp(tag, TAG "int")) kind = "int";
    else if (!strcmp(tag, TAG "float")) kind = "float";
    else if (!strcmp(tag, TAG "bool")) kind = "bool";
    else if (!strcmp(tag, TAG "null")) kind = "null";
    else {
      char t[200];
      shown(tag, strlen(tag), t, sizeof t);
      return fail_at(r, line_of(e), path, "unsupported YAML tag \"%s\" on \"%s\" (a sweep config holds strings, numbers, booleans, null, lists and mappings)", t, show);
    }
  } else if (!plain) {
    kind = "str";
  }
  if (kind && !strcmp(kind, "str")) {
    *out = cJSON_CreateString(text);
  } else if ((!kind || !strcmp(kind, "null")) && one_of(text, nulls)) {
    *out = cJSON_CreateNull();
  } else if ((!kind || !strcmp(kind, "bool")) && (one_of(text, trues) || one_of(text, falses))) {
    *out = cJSON_CreateBool(one_of(text, trues));
  } else if ((!kind || !strcmp(kind, "int") || !strcmp(kind, "float")) && is_core_int(text)) {
    *out = number_node(text, core_number(text));
    if (*out && kind && !strcmp(kind, "float")) { /* !!float 3 is 3.0: a float, as written now */
      char *as_float = malloc(len + 3);
      if (as_float) snprintf(as_float, len + 3, "%s.0", text);
      free((*out)->valuestring);
      (*out)->valuestring = as_float;
      if (!as_float) {
        cJSON_Delete(*out);
        *out = NULL;
      }
    }
  } else if ((!kind || !strcmp(kind, "float")) && (is_core_float(text) || is_core_nan(text))) {
    *out = number_node(text, core_number(text));
  } else if (kind) {
    return fail_at(r, line_of(e), path, "\"%s\" is not a YAML %s", show, kind);
  } else {
    bool yes = one_of(text, yaml11_trues);
    if (yes || one_of(text, yaml11_falses))
      caviar_json_warn(r->ctx, line_of(e), path,
                       "%s is the string \"%s\" in YAML 1.2 (PyYAML, and so W&B, reads it as %s); write %s, or quote it",
                       text, text, yes ? "true" : "false", yes ? "true" : "false");
    *out = cJSON_CreateString(text);
  }
  return *out ? CAVIAR_OK : out_of_memory(r);
}

static long count_nodes(const cJSON *item) {
  long n = 1;
  for (const cJSON *c = item->child; c; c = c->next) n += count_nodes(c);
  return n;
}

static int height_of(const cJSON *item) {
  int h = 0;
  for (const cJSON *c = item->child; c; c = c->next) {
    int ch = 1 + height_of(c);
    if (ch > h) h = ch;
  }
  return h;
}

static caviar_status too_many(reader *r, int line, const char *path) {
  return fail_at(r, line, path, "more than %d values (aliases included): too large for a sweep config", CAVIAR_YAML_MAX_NODES);
}

static anchor *find_anchor(reader *r, const char *name) {
  for (int i = r->n_anchors - 1; i >= 0; i--) /* the latest definition of a name wins */
    if (!strcmp(r->anchors[i].name, name)) return &r->anchors[i];
  return NULL;
}

static caviar_status add_anchor(reader *r, const char *name, cJSON *node, bool complete, anchor **out) {
  if (r->n_anchors == r->cap_anchors) {
    int cap = r->cap_anchors ? 2 * r->cap_anchors : 16;
    anchor *grown = realloc(r->anchors, (size_t)cap * sizeof *grown);
    if (!grown) return out_of_memory(r);
    r->anchors = grown;
    r->cap_anchors = cap;
  }
  anchor *a = &r->anchors[r->n_anchors];
  if (!(a->name = strdup(name))) return out_of_memory(r);
  a->node = node;
  a->nodes = complete ? count_nodes(node) : 0;
  a->height = complete ? height_of(node) : 0;
  a->complete = complete;
  r->n_anchors++;
  if (out) *out = a;
  return CAVIAR_OK;
}

/* The line a value is named by: its key's, under a mapping (a block mapping's value starts on the
 * next line), else its own. */
static int value_line(const reader *r, const yaml_event_t *e) {
  const frame *f = r->depth > 0 ? &r->stack[r->depth - 1] : NULL;
  return f && f->key ? f->key_line : line_of(e);
}

/* The path of the next value in the innermost collection. */
static void child_path(const frame *f, char *buf, size_t size) {
  if (cJSON_IsArray(f->node)) caviar_json_index_path(buf, size, f->path, cJSON_GetArraySize(f->node));
  else caviar_json_path(buf, size, f->path, f->key ? f->key : "");
}

/* Puts a finished value where it belongs: the document, the open sequence, or the open mapping
 * (as a key, or as the value of the waiting key). Takes ownership of item. */
static caviar_status place(reader *r, cJSON *item, int line) {
  if (r->depth == 0) {
    r->root = item;
    return CAVIAR_OK;
  }
  frame *f = &r->stack[r->depth - 1];
  if (cJSON_IsArray(f->node)) {
    cJSON_AddItemToArray(f->node, item);
    return CAVIAR_OK;
  }
  if (!f->key) {
    /* A key: only scalars (a mapping or list as a key has no JSON form). */
    if (cJSON_IsObject(item) || cJSON_IsArray(item)) {
      cJSON_Delete(item);
      return fail_at(r, line, f->path, "a mapping key must be a scalar, not a list or mapping");
    }
    bool merge = cJSON_IsString(item) && !strcmp(item->valuestring, "<<");
    const char *text = cJSON_IsString(item) ? item->valuestring : item->valuestring ? item->valuestring
                       : cJSON_IsTrue(item) ? "true" : cJSON_IsFalse(item) ? "false" : "null";
    f->key = strdup(text);
    cJSON_Delete(item);
    if (!f->key) return out_of_memory(r);
    f->key_line = line;
    f->merge_key = merge;
    char path[1024];
    caviar_json_path(path, sizeof path, f->path, f->key);
    if (!merge && cJSON_GetObjectItemCaseSensitive(f->node, f->key)) {
      int first = caviar_json_lines_find(r->lines, path);
      return first > 0 ? fail_at(r, line, path, "key given twice (first at line %d)", first)
                       : fail_at(r, line, path, "key given twice");
    }
    if (cJSON_GetArraySize(f->node) >= CAVIAR_YAML_MAX_KEYS)
      return fail_at(r, line, f->path, "more than %d keys in one mapping: too large for a sweep config", CAVIAR_YAML_MAX_KEYS);
    return CAVIAR_OK;
  }
  caviar_status st = CAVIAR_OK;
  if (f->merge_key) {
    /* "<<: *base" or "<<: [*a, *b]": mappings whose keys this one takes unless it has them. */
    bool ok = cJSON_IsObject(item);
    for (const cJSON *c = cJSON_IsArray(item) ? item->child : NULL; c && (ok = cJSON_IsObject(c)); c = c->next) {
    }
    if (!ok || (cJSON_IsArray(item) && !item->child)) {
      cJSON_Delete(item);
      char path[1024];
      caviar_json_path(path, sizeof path, f->path, "<<");
      st = fail_at(r, line, path, "a merge key takes a mapping or a list of mappings");
    } else {
      if (!f->merges && !(f->merges = cJSON_CreateArray())) {
        cJSON_Delete(item);
        return out_of_memory(r);
      }
      cJSON_AddItemToArray(f->merges, item);
    }
  } else {
    cJSON_AddItemToObject(f->node, f->key, item);
  }
  free(f->key);
  f->key = NULL;
  return st;
}

/* The merged mappings' keys that the mapping does not give itself, earlier merges first. */
static caviar_status apply_merges(reader *r, frame *f) {
  if (!f->merges) return CAVIAR_OK;
  for (cJSON *m = f->merges->child; m; m = m->next) {
    const cJSON *list = cJSON_IsArray(m) ? m : NULL;
    for (const cJSON *src = list ? list->child : m; src; src = list ? src->next : NULL) {
      for (const cJSON *kv = src->child; kv; kv = kv->next) {
        if (cJSON_GetObjectItemCaseSensitive(f->node, kv->string)) continue;
        cJSON *copy = cJSON_Duplicate(kv, true);
        if (!copy) return out_of_memory(r);
        cJSON_AddItemToObject(f->node, kv->string, copy);
      }
    }
  }
  if (!r->merged && !(r->merged = cJSON_CreateArray())) return out_of_memory(r);
  cJSON_AddItemToArray(r->merged, f->merges);
  f->merges = NULL;
  return CAVIAR_OK;
}

static caviar_status open_collection(reader *r, const yaml_event_t *e, bool mapping) {
  const yaml_char_t *anchor_name = mapping ? e->data.mapping_start.anchor : e->data.sequence_start.anchor;
  const yaml_char_t *tag = mapping ? e->data.mapping_start.tag : e->data.sequence_start.tag;
  char path[1024] = "";
  int line = value_line(r, e);
  if (r->depth > 0) child_path(&r->stack[r->depth - 1], path, sizeof path);
  if (r->depth >= CAVIAR_YAML_MAX_DEPTH)
    return fail_at(r, line_of(e), path, "nested more than %d levels deep: too deep for a sweep config", CAVIAR_YAML_MAX_DEPTH);
  const char *want = mapping ? TAG "map" : TAG "seq";
  if (tag && strcmp((const char *)tag, want) && strcmp((const char *)tag, "!")) {
    char t[200];
    shown((const char *)tag, strlen((const char *)tag), t, sizeof t);
    return fail_at(r, line_of(e), path, "unsupported YAML tag \"%s\" (a sweep config holds strings, numbers, booleans, null, lists and mappings)", t);
  }
  if (++r->nodes > CAVIAR_YAML_MAX_NODES) return too_many(r, line_of(e), path);
  cJSON *node = mapping ? cJSON_CreateObject() : cJSON_CreateArray();
  frame *f = &r->stack[r->depth];
  memset(f, 0, sizeof *f);
  f->node = node;
  f->path = strdup(path);
  f->first_node = r->nodes;
  if (!node || !f->path) {
    cJSON_Delete(node);
    free(f->path);
    return out_of_memory(r);
  }
  r->depth++;
  caviar_status st = caviar_json_lines_add(r->lines, path, line, r->ctx->err);
  if (st == CAVIAR_OK && anchor_name) st = add_anchor(r, (const char *)anchor_name, node, false, &f->anchored);
  return st;
}

static caviar_status close_collection(reader *r, const yaml_event_t *e) {
  frame *f = &r->stack[r->depth - 1];
  caviar_status st = apply_merges(r, f);
  if (st != CAVIAR_OK) return st;
  if (f->anchored) {
    f->anchored->complete = true;
    f->anchored->nodes = count_nodes(f->node);
    f->anchored->height = height_of(f->node);
  }
  cJSON *node = f->node;
  free(f->path);
  free(f->key);
  r->depth--;
  return place(r, node, line_of(e));
}

static caviar_status on_alias(reader *r, const yaml_event_t *e) {
  char path[1024] = "", name[200];
  if (r->depth > 0) child_path(&r->stack[r->depth - 1], path, sizeof path);
  const char *a_name = (const char *)e->data.alias.anchor;
  shown(a_name, strlen(a_name), name, sizeof name);
  anchor *a = find_anchor(r, a_name);
  if (!a) return fail_at(r, line_of(e), path, "alias *%s names no anchor before it", name);
  if (!a->complete) return fail_at(r, line_of(e), path, "alias *%s refers to a node that contains it", name);
  if (r->depth + a->height > CAVIAR_YAML_MAX_DEPTH)
    return fail_at(r, line_of(e), path, "alias *%s nests more than %d levels deep: too deep for a sweep config", name,
                   CAVIAR_YAML_MAX_DEPTH);
  if (a->nodes > CAVIAR_YAML_MAX_NODES - r->nodes) return too_many(r, line_of(e), path);
  r->nodes += a->nodes;
  cJSON *copy = cJSON_Duplicate(a->node, true);
  if (!copy) return out_of_memory(r);
  caviar_status st = caviar_json_lines_add(r->lines, path, value_line(r, e), r->ctx->err);
  if (st != CAVIAR_OK) {
    cJSON_Delete(copy);
    return st;
  }
  return place(r, copy, line_of(e));
}

static caviar_status on_scalar(reader *r, const yaml_event_t *e) {
  char path[1024] = "";
  bool is_key = r->depth > 0 && cJSON_IsObject(r->stack[r->depth - 1].node) && !r->stack[r->depth - 1].key;
  if (r->depth > 0) child_path(&r->stack[r->depth - 1], path, sizeof path);
  if (++r->nodes > CAVIAR_YAML_MAX_NODES) return too_many(r, line_of(e), path);
  cJSON *item = NULL;
  caviar_status st = scalar_node(r, e, is_key ? r->stack[r->depth - 1].path : path, &item);
  if (st != CAVIAR_OK) return st;
  if (e->data.scalar.anchor && !is_key) {
    st = add_anchor(r, (const char *)e->data.scalar.anchor, item, true, NULL);
    if (st != CAVIAR_OK) {
      cJSON_Delete(item);
      return st;
    }
  }
  if (!is_key && (st = caviar_json_lines_add(r->lines, path, value_line(r, e), r->ctx->err)) != CAVIAR_OK) {
    cJSON_Delete(item);
    return st;
  }
  return place(r, item, line_of(e));
}

static caviar_status syntax_error(reader *r) {
  const yaml_parser_t *p = &r->parser;
  if (p->error == YAML_MEMORY_ERROR) return out_of_memory(r);
  int line = (int)p->problem_mark.line + 1, column = (int)p->problem_mark.column + 1;
  const char *problem = p->problem ? p->problem : "cannot be read";
  if (p->context)
    return caviar_fail(r->ctx->err, CAVIAR_EINPUT, "%s:%d:%d: invalid YAML: %s %s", r->ctx->source, line, column, problem,
                       p->context);
  return caviar_fail(r->ctx->err, CAVIAR_EINPUT, "%s:%d:%d: invalid YAML: %s", r->ctx->source, line, column, problem);
}

static caviar_status read_events(reader *r) {
  int documents = 0;
  for (;;) {
    yaml_event_t e;
    if (!yaml_parser_parse(&r->parser, &e)) return syntax_error(r);
    caviar_status st = CAVIAR_OK;
    switch (e.type) {
      case YAML_STREAM_END_EVENT: yaml_event_delete(&e); return CAVIAR_OK;
      case YAML_DOCUMENT_START_EVENT:
        if (++documents > 1) st = fail_at(r, line_of(&e), "", "a second YAML document (a sweep config is one document)");
        break;
      case YAML_MAPPING_START_EVENT: st = open_collection(r, &e, true); break;
      case YAML_SEQUENCE_START_EVENT: st = open_collection(r, &e, false); break;
      case YAML_MAPPING_END_EVENT:
      case YAML_SEQUENCE_END_EVENT: st = close_collection(r, &e); break;
      case YAML_SCALAR_EVENT: st = on_scalar(r, &e); break;
      case YAML_ALIAS_EVENT: st = on_alias(r, &e); break;
      default: break;
    }
    yaml_event_delete(&e);
    if (st != CAVIAR_OK) return st;
  }
}

caviar_status caviar_yaml_parse(const char *text, size_t len, const caviar_json_ctx *ctx, cJSON **out) {
  reader *r = calloc(1, sizeof *r);
  if (!r) return caviar_fail(ctx->err, CAVIAR_ERUNTIME, "%s: out of memory reading YAML", ctx->source);
  r->ctx = ctx;
  r->lines = ctx->lines;
  caviar_status st = CAVIAR_OK;
  if (!yaml_parser_initialize(&r->parser)) {
    st = out_of_memory(r);
  } else {
    yaml_parser_set_input_string(&r->parser, (const unsigned char *)text, len);
    st = read_events(r);
    yaml_parser_delete(&r->parser);
  }
  for (int d = r->depth - 1; d >= 0; d--) {
    /* An error inside a collection: the open frames own their nodes (a node becomes its parent's
     * only when it closes). */
    cJSON_Delete(r->stack[d].node);
    cJSON_Delete(r->stack[d].merges);
    free(r->stack[d].path);
    free(r->stack[d].key);
  }
  cJSON_Delete(r->merged);
  for (int i = 0; i < r->n_anchors; i++) free(r->anchors[i].name);
  free(r->anchors);
  if (st == CAVIAR_OK && !r->root) st = caviar_fail(ctx->err, CAVIAR_EINPUT, "%s: empty YAML document (expected a sweep config)", ctx->source);
  if (st == CAVIAR_OK) *out = r->root;
  else cJSON_Delete(r->root);
  free(r);
  return st;
}
