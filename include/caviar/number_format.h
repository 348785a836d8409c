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

CAVIAR_C_END

#endif
