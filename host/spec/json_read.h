#ifndef CAVIAR_JSON_READ_H
#define CAVIAR_JSON_READ_H
/* Typed access to a parsed JSON document (or a YAML one read into the same tree, spec/yaml_read.h)
 * with one-line errors of the form
 *   SOURCE: PATH: what was expected, got what
 * (e.g. "spec.json: parameters.learning_rate.min: expected a number, got a string (\"abc\")"),
 * or SOURCE:LINE: PATH: ... when the document's lines are known (YAML). */

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

/* Where each value of a document was written: its path (as caviar_json_path spells it) and line. */
typedef struct caviar_json_lines {
  char **paths;
  int *lines;
  int n, cap;
} caviar_json_lines;

/* Warnings gathered while reading, each one line ending in a newline. */
typedef struct caviar_notes {
  char *text;
  size_t len, cap;
} caviar_notes;

typedef struct caviar_json_ctx {
  const char *source; /* the file name (or "default spec") every message starts with */
  caviar_error *err;
  caviar_json_lines *lines; /* NULL: lines unknown (JSON) */
  caviar_notes *notes;      /* NULL: warnings dropped */
} caviar_json_ctx;

/* Parses text; a syntax error names the line and column, a repeated key in one object its path.
 * Every number keeps the text it was written as in its valuestring ("1e-5", "10", "10.0"). */
caviar_status caviar_json_parse(const char *text, size_t len, const caviar_json_ctx *ctx, cJSON **out);

caviar_status caviar_json_lines_add(caviar_json_lines *lines, const char *path, int line, caviar_error *err);
/* The line of path, or of its nearest ancestor that has one; 0 when none does. */
int caviar_json_lines_find(const caviar_json_lines *lines, const char *path);
void caviar_json_lines_free(caviar_json_lines *lines);

/* Appends "SOURCE:LINE: PATH: message" (line 0: looked up by path) to ctx->notes. */
void caviar_json_warn(const caviar_json_ctx *ctx, int line, const char *path, const char *fmt, ...)
    CAVIAR_PRINTF(4, 5);

/* Whether a number was written as an integer (10, -3, 0x1f; not 10.0 or 1e3): W&B's types follow
 * how a number was written. */
bool caviar_json_written_as_integer(const cJSON *item);

/* Formats "SOURCE: PATH: message" into ctx->err and returns CAVIAR_EINPUT. */
caviar_status caviar_json_fail(const caviar_json_ctx *ctx, const char *path, const char *fmt, ...)
    CAVIAR_PRINTF(3, 4);

/* path + "." + key, or path + "[index]", into buf. */
const char *caviar_json_path(char *buf, size_t size, const char *path, const char *key);
const char *caviar_json_index_path(char *buf, size_t size, const char *path, int index);

const char *caviar_json_type_name(const cJSON *item);
/* The type and, for a scalar, its value: `a string ("abc")`, `true`, `a number (1e-5)`. */
const char *caviar_json_describe(const cJSON *item, char *buf, size_t size);

/* Rejects any key of obj not in allowed (a NULL-terminated list). */
caviar_status caviar_json_known_keys(const caviar_json_ctx *ctx, const cJSON *obj, const char *path,
                                     const char *const *allowed);

caviar_status caviar_json_object(const caviar_json_ctx *ctx, const cJSON *item, const char *path);
caviar_status caviar_json_number(const caviar_json_ctx *ctx, const cJSON *item, const char *path, double *out);
/* An integer in [lo, hi]. */
caviar_status caviar_json_int(const caviar_json_ctx *ctx, const cJSON *item, const char *path, double lo,
                              double hi, long long *out);
caviar_status caviar_json_string(const caviar_json_ctx *ctx, const cJSON *item, const char *path,
                                 const char **out);
/* A string that must be one of choices (NULL-terminated); returns its index in *out. */
caviar_status caviar_json_enum(const caviar_json_ctx *ctx, const cJSON *item, const char *path,
                               const char *const *choices, int *out);

CAVIAR_C_END

#endif
