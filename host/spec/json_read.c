#include "spec/json_read.h"

#include "caviar/json_text.h"
#include "caviar/number_format.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

caviar_status caviar_json_lines_add(caviar_json_lines *lines, const char *path, int line, caviar_error *err) {
  if (lines->n == lines->cap) {
    int cap = lines->cap ? 2 * lines->cap : 64;
    char **paths = realloc(lines->paths, (size_t)cap * sizeof *paths);
    if (paths) lines->paths = paths;
    int *at = paths ? realloc(lines->lines, (size_t)cap * sizeof *at) : NULL;
    if (!at) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory recording lines");
    lines->lines = at;
    lines->cap = cap;
  }
  if (!(lines->paths[lines->n] = caviar_strdup(path, err))) return CAVIAR_ERUNTIME;
  lines->lines[lines->n++] = line;
  return CAVIAR_OK;
}

int caviar_json_lines_find(const caviar_json_lines *lines, const char *path) {
  if (!lines) return 0;
  char p[1024];
  snprintf(p, sizeof p, "%s", path);
  for (;;) {
    for (int i = 0; i < lines->n; i++)
      if (!strcmp(lines->paths[i], p)) return lines->lines[i];
    if (!p[0]) return 0;
    /* The parent: drop the last ".key" or "[index]". */
    char *dot = strrchr(p, '.'), *bracket = strrchr(p, '[');
    char *cut = dot > bracket ? dot : bracket;
    if (cut) *cut = '\0';
    else p[0] = '\0';
  }
}

void caviar_json_lines_free(caviar_json_lines *lines) {
  for (int i = 0; i < lines->n; i++) free(lines->paths[i]);
  free(lines->paths);
  free(lines->lines);
  memset(lines, 0, sizeof *lines);
}

/* "SOURCE:LINE: PATH: what" into err, the line when known, the path when given. */
static caviar_status locate(const caviar_json_ctx *ctx, int line, const char *path, const char *what, caviar_error *err) {
  if (line <= 0 && path) line = caviar_json_lines_find(ctx->lines, path);
  char at[16] = "";
  if (line > 0) snprintf(at, sizeof at, ":%d", line);
  if (path && path[0]) return caviar_fail(err, CAVIAR_EINPUT, "%s%s: %s: %s", ctx->source, at, path, what);
  return caviar_fail(err, CAVIAR_EINPUT, "%s%s: %s", ctx->source, at, what);
}

caviar_status caviar_json_fail(const caviar_json_ctx *ctx, const char *path, const char *fmt, ...) {
  char what[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return locate(ctx, 0, path, what, ctx->err);
}

void caviar_json_warn(const caviar_json_ctx *ctx, int line, const char *path, const char *fmt, ...) {
  caviar_notes *notes = ctx->notes;
  if (!notes) return;
  char what[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  caviar_error located;
  locate(ctx, line, path, what, &located);
  const char *msg = located.msg;
  size_t n = strlen(msg);
  for (size_t at = 0; notes->text && at + n + 1 <= notes->len; at += strcspn(notes->text + at, "\n") + 1)
    if (!strncmp(notes->text + at, msg, n) && notes->text[at + n] == '\n') return; /* said already */
  if (notes->len + n + 2 > notes->cap) {
    size_t cap = (notes->cap + n + 2) * 2;
    char *grown = realloc(notes->text, cap);
    if (!grown) return; /* a warning lost to a full memory; the error that follows says so */
    notes->text = grown;
    notes->cap = cap;
  }
  memcpy(notes->text + notes->len, msg, n);
  notes->text[notes->len + n] = '\n';
  notes->len += n + 1;
  notes->text[notes->len] = '\0';
}

bool caviar_json_written_as_integer(const cJSON *item) {
  if (!cJSON_IsNumber(item)) return false;
  const char *t = item->valuestring;
  if (!t) return item->valuedouble == floor(item->valuedouble) && fabs(item->valuedouble) < 9007199254740992.0;
  if (t[0] == '0' && (t[1] == 'x' || t[1] == 'o')) return true;
  return strpbrk(t, ".eEnN") == NULL; /* no fraction, exponent, inf or nan */
}

const char *caviar_json_path(char *buf, size_t size, const char *path, const char *key) {
  snprintf(buf, size, "%s%s%s", path, path[0] ? "." : "", key);
  return buf;
}

const char *caviar_json_index_path(char *buf, size_t size, const char *path, int index) {
  snprintf(buf, size, "%s[%d]", path, index);
  return buf;
}

const char *caviar_json_type_name(const cJSON *item) {
  if (cJSON_IsNumber(item)) return "a number";
  if (cJSON_IsString(item)) return "a string";
  if (cJSON_IsBool(item)) return "a boolean";
  if (cJSON_IsNull(item)) return "null";
  if (cJSON_IsArray(item)) return "an array";
  if (cJSON_IsObject(item)) return "an object";
  return "an invalid value";
}

const char *caviar_json_describe(const cJSON *item, char *buf, size_t size) {
  if (cJSON_IsString(item)) {
    char text[64];
    size_t used = 0, n = strlen(item->valuestring);
    for (size_t i = 0; i < n && i < 40 && used + 5 < sizeof text; i++) {
      unsigned char c = (unsigned char)item->valuestring[i];
      used += (size_t)snprintf(text + used, sizeof text - used, c >= 0x20 && c < 0x7f && c != '"' ? "%c" : "\\x%02x", c);
    }
    snprintf(buf, size, "a string (\"%s%s\")", text, n > 40 ? "..." : "");
  } else if (cJSON_IsNumber(item)) {
    snprintf(buf, size, "a number (%s)", item->valuestring ? item->valuestring : CAVIAR_NUM(item->valuedouble));
  } else if (cJSON_IsBool(item)) {
    snprintf(buf, size, "%s", cJSON_IsTrue(item) ? "true" : "false");
  } else {
    snprintf(buf, size, "%s", caviar_json_type_name(item));
  }
  return buf;
}

/* Puts each number's text, as written, in its valuestring: the numbers of the text, outside
 * strings, in order, are the number items in document order. */
static void keep_number_text(cJSON *item, const char **at, const char *end) {
  if (cJSON_IsNumber(item)) {
    const char *p = *at;
    while (p < end) {
      if (*p == '"') {
        for (p++; p < end && *p != '"'; p++)
          if (*p == '\\') p++;
        p++;
      } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
        break;
      } else {
        p++;
      }
    }
    size_t n = 0;
    while (p + n < end && strchr("0123456789+-.eE", p[n]) && p[n]) n++;
    if (n > 0 && n < 64 && !item->valuestring && (item->valuestring = malloc(n + 1))) {
      memcpy(item->valuestring, p, n);
      item->valuestring[n] = '\0';
    }
    *at = p + n;
  }
  for (cJSON *c = item->child; c; c = c->next) keep_number_text(c, at, end);
}

static caviar_status check_duplicates(const caviar_json_ctx *ctx, const cJSON *item, const char *path) {
  char child_path[512];
  int index = 0;
  for (const cJSON *a = item->child; a; a = a->next, index++) {
    if (cJSON_IsObject(item)) {
      for (const cJSON *b = item->child; b != a; b = b->next)
        if (strcmp(a->string, b->string) == 0)
          return caviar_json_fail(ctx, caviar_json_path(child_path, sizeof child_path, path, a->string),
                                  "key given twice");
      caviar_json_path(child_path, sizeof child_path, path, a->string);
    } else {
      caviar_json_index_path(child_path, sizeof child_path, path, index);
    }
    caviar_status st = check_duplicates(ctx, a, child_path);
    if (st != CAVIAR_OK) return st;
  }
  return CAVIAR_OK;
}

static caviar_status parse_checked(const char *text, size_t len, const caviar_json_ctx *ctx, cJSON **out) {
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
  if (!root) {
    const char *at = end ? end : text;
    if (at < text || at > text + len) at = text + len;
    int line = 1, column = 1;
    for (const char *p = text; p < at; p++) {
      if (*p == '\n') {
        line++;
        column = 1;
      } else {
        column++;
      }
    }
    if (at == text + len)
      return caviar_fail(ctx->err, CAVIAR_EINPUT, "%s:%d:%d: invalid JSON: unexpected end of input",
                         ctx->source, line, column);
    /* What follows, up to the line's end, with bytes that are not printable ASCII escaped: the
     * message stays one printable line whatever the file holds. */
    char near[96];
    size_t used = 0;
    for (const char *p = at; p < text + len && p < at + 20 && *p != '\n' && *p != '\r'; p++) {
      unsigned char c = (unsigned char)*p;
      used += (size_t)snprintf(near + used, sizeof near - used, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
    }
    near[used] = '\0';
    return caviar_fail(ctx->err, CAVIAR_EINPUT, "%s:%d:%d: invalid JSON near '%s'", ctx->source, line, column, near);
  }
  for (const char *p = end; p < text + len; p++) {
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
      cJSON_Delete(root);
      return caviar_fail(ctx->err, CAVIAR_EINPUT, "%s: invalid JSON: unexpected text after the document",
                         ctx->source);
    }
  }
  caviar_status st = check_duplicates(ctx, root, "");
  if (st != CAVIAR_OK) {
    cJSON_Delete(root);
    return st;
  }
  const char *at = text;
  keep_number_text(root, &at, text + len);
  *out = root;
  return CAVIAR_OK;
}

caviar_status caviar_json_parse(const char *text, size_t len, const caviar_json_ctx *ctx, cJSON **out) {
  caviar_status st = parse_checked(text, len, ctx, out);
  if (st == CAVIAR_OK) return st;
  /* A path's bytes that are not UTF-8, as caviar writes them (\udcXX: json_text.h), which cJSON
   * refuses as lone surrogates: read again with the bytes put back. */
  char *copy = malloc(len + 1);
  if (!copy) return st;
  memcpy(copy, text, len);
  copy[len] = '\0';
  size_t n = caviar_json_unescape_bytes(copy, len);
  caviar_error first = *ctx->err;
  if (n == len || parse_checked(copy, n, ctx, out) != CAVIAR_OK) *ctx->err = first;
  else st = CAVIAR_OK;
  free(copy);
  return st;
}

caviar_status caviar_json_known_keys(const caviar_json_ctx *ctx, const cJSON *obj, const char *path,
                                     const char *const *allowed) {
  for (const cJSON *child = obj->child; child; child = child->next) {
    bool known = false;
    for (const char *const *k = allowed; *k && !known; k++) known = strcmp(*k, child->string) == 0;
    if (known) continue;
    char list[512];
    size_t used = 0;
    for (const char *const *k = allowed; *k && used < sizeof list; k++)
      used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k == allowed ? "" : ", ", *k);
    char child_path[512];
    return caviar_json_fail(ctx, caviar_json_path(child_path, sizeof child_path, path, child->string),
                            "unknown key (expected one of: %s)", list);
  }
  return CAVIAR_OK;
}

caviar_status caviar_json_object(const caviar_json_ctx *ctx, const cJSON *item, const char *path) {
  if (cJSON_IsObject(item)) return CAVIAR_OK;
  char got[96];
  return caviar_json_fail(ctx, path, "expected an object, got %s", caviar_json_describe(item, got, sizeof got));
}

caviar_status caviar_json_number(const caviar_json_ctx *ctx, const cJSON *item, const char *path,
                                 double *out) {
  char got[96];
  if (!cJSON_IsNumber(item))
    return caviar_json_fail(ctx, path, "expected a number, got %s", caviar_json_describe(item, got, sizeof got));
  if (!isfinite(item->valuedouble))
    return caviar_json_fail(ctx, path, "expected a finite number, got %g", item->valuedouble);
  *out = item->valuedouble;
  return CAVIAR_OK;
}

caviar_status caviar_json_int(const caviar_json_ctx *ctx, const cJSON *item, const char *path, double lo,
                              double hi, long long *out) {
  double v = 0;
  caviar_status st = caviar_json_number(ctx, item, path, &v);
  if (st != CAVIAR_OK) return st;
  if (v != floor(v) || v < lo || v > hi)
    return caviar_json_fail(ctx, path, "expected an integer in [%.0f, %.0f], got %s", lo, hi, CAVIAR_NUM(v));
  *out = (long long)v;
  return CAVIAR_OK;
}

caviar_status caviar_json_string(const caviar_json_ctx *ctx, const cJSON *item, const char *path,
                                 const char **out) {
  char got[96];
  if (!cJSON_IsString(item))
    return caviar_json_fail(ctx, path, "expected a string, got %s", caviar_json_describe(item, got, sizeof got));
  *out = item->valuestring;
  return CAVIAR_OK;
}

caviar_status caviar_json_enum(const caviar_json_ctx *ctx, const cJSON *item, const char *path,
                               const char *const *choices, int *out) {
  const char *s = NULL;
  caviar_status st = caviar_json_string(ctx, item, path, &s);
  if (st != CAVIAR_OK) return st;
  char list[256];
  size_t used = 0;
  for (int i = 0; choices[i]; i++) {
    if (strcmp(choices[i], s) == 0) {
      *out = i;
      return CAVIAR_OK;
    }
    used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", choices[i]);
  }
  return caviar_json_fail(ctx, path, "expected one of %s, got \"%s\"", list, s);
}
