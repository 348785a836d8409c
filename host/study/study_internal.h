#ifndef CAVIAR_STUDY_INTERNAL_H
#define CAVIAR_STUDY_INTERNAL_H
/* The study's journal file as several processes share it (records.c): whole lines appended under
 * an flock, read by anyone without one. Not part of the public API. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

typedef struct study_log {
  char path[4200];
  int fd;          /* -1 until opened */
  bool writable;   /* opened for appending (else read only) */
  bool locked;
  uint64_t offset; /* bytes of whole lines read so far */
  long lines;      /* whole lines read so far */
} study_log;

/* Called with each whole line read (without its newline), numbered from 1. */
typedef caviar_status (*study_line_fn)(void *ctx, const char *line, size_t len, long line_no, caviar_error *err);

caviar_status study_log_open(study_log *log, const char *path, caviar_error *err);
void study_log_close(study_log *log);
/* Reads the whole lines appended since the last read and hands each to fn in order; a last line
 * without its newline is left for later (its writer is still writing it, or died: see cut). */
caviar_status study_log_read(study_log *log, study_line_fn fn, void *ctx, caviar_error *err);
/* Takes the writers' lock (waiting for it; a dead holder's lock is gone with it), reads what is new
 * and cuts off a last line without its newline: its writer died while writing it. */
caviar_status study_log_begin(study_log *log, study_line_fn fn, void *ctx, caviar_error *err);
void study_log_end(study_log *log);
/* Under the lock: appends text (whole lines) with one write; on failure the journal is cut back to
 * what it was. Then reads it back through fn, so the caller's state is the journal's. */
caviar_status study_log_append(study_log *log, const char *text, size_t len, study_line_fn fn, void *ctx,
                               caviar_error *err);

CAVIAR_C_END

#endif
