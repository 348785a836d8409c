#ifndef CAVIAR_ATOMIC_FILE_H
#define CAVIAR_ATOMIC_FILE_H

#include <stdio.h>

#include "caviar/status.h"

/* Writing through a temporary file in the same folder, renamed over path on commit, so a reader
 * never sees a half-written file and an interrupted run leaves the old file (or none). */
typedef struct caviar_atomic_file {
  FILE *f;
  char path[4096];
  char tmp[4096];
} caviar_atomic_file;

caviar_status caviar_atomic_open(caviar_atomic_file *af, const char *path, caviar_error *err);
/* Flushes, syncs and renames into place; on failure removes the temporary file. */
caviar_status caviar_atomic_commit(caviar_atomic_file *af, caviar_error *err);
void caviar_atomic_abort(caviar_atomic_file *af);

#endif
