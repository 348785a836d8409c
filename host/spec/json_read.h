#ifndef CAVIAR_JSON_READ_H
#define CAVIAR_JSON_READ_H
/* Typed access to a parsed JSON document with one-line errors of the form
 *   SOURCE: PATH: what was expected, got what
 * (e.g. "spec.json: parameters.learning_rate.min: expected a number, got string"). */

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

typedef struct caviar_json_ctx {
  const char *source; /* the file name (or "default spec") every message starts with */
  caviar_error *err;
} caviar_json_ctx;

/* Parses text; a syntax error names the line and column, a repeated key in one object its path. */
caviar_status caviar_json_parse(const char *text, size_t len, const caviar_json_ctx *ctx, cJSON **out);

/* Formats "SOURCE: PATH: message" into ctx->err and returns CAVIAR_EINPUT. */
caviar_status caviar_json_fail(const caviar_json_ctx *ctx, const char *path, const char *fmt, ...)
    CAVIAR_PRINTF(3, 4);

/* path + "." + key, or path + "[index]", into buf. */
const char *caviar_json_path(char *buf, size_t size, const char *path, const char *key);
const char *caviar_json_index_path(char *buf, size_t size, const char *path, int index);

const char *caviar_json_type_name(const cJSON *item);

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
