#ifndef CAVIAR_PROGRESS_LINE_H
#define CAVIAR_PROGRESS_LINE_H
/* The sweep's progress as one line that fits a width: fields are shortened, then dropped, least
 * important first (elapsed, speed, best alive, rung, started, round), so the epoch, the best so far
 * and the ETA stay longest; the line never exceeds the width. */

#include <stddef.h>

#include "caviar/trainer.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

/* Writes the line (no newline, plain ASCII: one byte per column) into buf and returns its length;
 * at most width characters (and size - 1). */
size_t caviar_progress_line(const caviar_progress *p, int width, char *buf, size_t size);

/* "45s", "3m07s", "2h05m". */
void caviar_format_duration(double seconds, char *buf, size_t size);

CAVIAR_C_END

#endif
