#include "spec/json_read.h"

#include "caviar/json_text.h"
#include "caviar/number_format.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

caviar_status caviar_json_fail(const caviar_json_ctx *ctx, const char *path, const char *fmt, ...) {
  char what[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (path && path[0])
    return caviar_fail(ctx->err, CAVIAR_EINPUT, "%s: %s: %s", ctx->source, path, what);
  return caviar_fail(ctx->err, CAVIAR_EINPUT, "%s: %s", ctx->source, what);
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
  return caviar_json_fail(ctx, path, "expected an object, got %s", caviar_json_type_name(item));
}

caviar_status caviar_json_number(const caviar_json_ctx *ctx, const cJSON *item, const char *path,
                                 double *out) {
  if (!cJSON_IsNumber(item))
    return caviar_json_fail(ctx, path, "expected a number, got %s", caviar_json_type_name(item));
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
  if (!cJSON_IsString(item))
    return caviar_json_fail(ctx, path, "expected a string, got %s", caviar_json_type_name(item));
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
