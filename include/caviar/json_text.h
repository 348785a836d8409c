#ifndef CAVIAR_JSON_TEXT_H
#define CAVIAR_JSON_TEXT_H
/* JSON text that stays valid UTF-8 whatever bytes its strings hold (issue 31). A path on Linux is
 * any bytes; cJSON copies a string's bytes as they are, so a data folder named with a 0xff byte
 * would make summary.json, sweep.json and a model's header text that JSON readers reject. Every
 * JSON text caviar writes goes through caviar_json_print_text: each byte of a string that is not
 * part of valid UTF-8 is written as the escape \udcXX (XX the byte: PEP 383's "surrogateescape",
 * so Python's json reads it and os.fsencode gives the bytes back). caviar_json_parse_text turns
 * those escapes back into the bytes before cJSON parses (cJSON refuses a lone surrogate), so a
 * path round-trips through every file caviar reads back (sweep.json, models, checkpoints). A JSON
 * text kept inside another as a string (a safetensors header's metadata) is escaped at its own
 * level, so the outer text is plain UTF-8 that strict readers (serde_json) take too. */

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

/* A growing text (malloc'd s, NUL-ended; failed once memory ran out, after which puts do nothing). */
typedef struct caviar_text {
  char *s;
  size_t len, cap;
  bool failed;
} caviar_text;
void caviar_text_put(caviar_text *t, const char *text, size_t n);
/* n tabs. */
void caviar_text_tabs(caviar_text *t, int n);

/* cJSON_Print (formatted) or cJSON_PrintUnformatted, with bytes that are not UTF-8 escaped as
 * \udcXX; malloc'd, NULL when out of memory. */
char *caviar_json_print_text(const cJSON *item, bool formatted);
/* The same text appended to t, as it reads inside an object whose fields stand depth tabs in
 * (formatted; 0 for a text of its own), written here rather than by cJSON: the same bytes, its
 * numbers without sprintf and sscanf where that is exact (a 100,000-trial PBT sweep prints each
 * member's lineage three times). */
void caviar_json_put(caviar_text *t, const cJSON *item, bool formatted, int depth);
/* A number as cJSON prints one (caviar_json_put's numbers): null where it is not finite; the text
 * in text (40 bytes) and its length. */
int caviar_json_number_text(char *text, double x);
void caviar_json_put_number(caviar_text *t, double x);
/* A string as cJSON prints it (its escapes, \u00xx below 32), bytes that are not UTF-8 as \udcXX. */
void caviar_json_put_string(caviar_text *t, const char *s);
/* The same escaping of a text printed by cJSON itself (takes it; returns it, or a new text, or
 * NULL): caviar prints its own (caviar_json_put); tests check it against cJSON's print through this. */
char *caviar_json_escape_bytes(char *printed);
/* cJSON_ParseWithLength after turning \udc80..\udcff escapes back into their bytes. */
cJSON *caviar_json_parse_text(const char *text, size_t len);
/* That turning back in place (inside strings only); returns the new length (text stays NUL-ended
 * when it was). */
size_t caviar_json_unescape_bytes(char *text, size_t len);
/* The length of the valid UTF-8 sequence at text (at most n bytes), or 0 when it is not one. */
size_t caviar_utf8_length(const char *text, size_t n);
/* Whether text's len bytes are valid UTF-8. */
bool caviar_utf8_valid(const char *text, size_t len);

CAVIAR_C_END

#endif
