#ifndef CAVIAR_YAML_READ_H
#define CAVIAR_YAML_READ_H
/* YAML specs read into the cJSON tree a JSON spec gives (Debian's libyaml underneath): YAML 1.2's
 * core schema for scalars, numbers keeping their text, each value's line recorded in ctx->lines,
 * anchors, aliases and merge keys expanded within fixed bounds, and one-line errors naming the
 * file, line and path. */

#include <cjson/cJSON.h>
#include <stddef.h>

#include "spec/json_read.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

#define CAVIAR_YAML_MAX_NODES 200000 /* values in the document, aliases expanded */
#define CAVIAR_YAML_MAX_DEPTH 64     /* nesting levels, aliases expanded */
#define CAVIAR_YAML_MAX_KEYS 10000   /* keys in one mapping */

/* ctx->lines must not be NULL. */
caviar_status caviar_yaml_parse(const char *text, size_t len, const caviar_json_ctx *ctx, cJSON **out);

CAVIAR_C_END

#endif
