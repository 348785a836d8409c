#ifndef CAVIAR_NUMBER_FORMAT_H
#define CAVIAR_NUMBER_FORMAT_H
/* Numbers as text that reads back exactly: sample lines, summaries and error messages. */

#include <stddef.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

/* A decimal that reads back as exactly x, in at most 17 significant digits and as few as a value
 * written by hand needs (JSON has no inf/nan; callers never pass them).
 * Returns the length written, like snprintf. */
int caviar_format_number(char *buf, size_t size, double x);

/* The same text for messages ("inf", "-inf" and "nan" as such), returned: printf("got %s",
 * CAVIAR_NUM(x)) says 0.1, not 0.10000000000000001. CAVIAR_NUM's buffer lives until the end of
 * the enclosing block. */
const char *caviar_number_text(char *buf, size_t size, double x);

/* Exactly snprintf(buf, size, "%.*g", digits, x) (digits 1..17), much faster for a double that
 * holds a float, as a sweep's figures do: their exact decimal expansion without printf. */
int caviar_float_g_text(char *buf, size_t size, double x, int digits);
#define CAVIAR_NUM(x) caviar_number_text((char[32]){0}, 32, (x))

/* Exactly snprintf(buf, size, "%.*g", digits, x) for digits 15 to 17 (cJSON's and the figures'
 * precisions), without printf where one long double product is exact enough. */
int caviar_double_g_text(char *buf, size_t size, double x, int digits);

/* v's decimal digits at buf (at least 21 bytes), NUL-terminated, as %lld prints it; returns the
 * length. For lines written a million times (the journal, curves.csv). */
int caviar_int_text(char *buf, long long v);

/* strtod(p, end)'s value and end, without strtod for a plain decimal of at most 19 significant
 * digits and a power of ten up to 22 (caviar's own figures: curves.csv's %.9g of floats); anything
 * else (nan, inf, hex, longer texts) goes to strtod. report.html reads millions of them. */
double caviar_decimal_value(const char *p, char **end);

CAVIAR_C_END

#endif
