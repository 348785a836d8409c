#ifndef CAVIAR_ATOMIC_FILE_H
#define CAVIAR_ATOMIC_FILE_H

#include <stdbool.h>
#include <stdio.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

/* Writing through a temporary file in the same folder, renamed over path on commit, so a reader
 * never sees a half-written file and an interrupted run leaves the old file (or none). f writes
 * to the file through a 1 MB buffer (a 100,000-trial summary.json is 74 MB: it never stands in
 * memory whole); the first write that fails keeps its errno, so the commit reports the real
 * reason (ENOSPC as "No space left on device", not a lost errno). */
typedef struct caviar_atomic_file {
  FILE *f;
  int failure; /* the first failed write's errno, 0: none */
  int fd;
  long long written; /* bytes written so far (their write-back already started) */
  char path[4096];
  char tmp[4096];
} caviar_atomic_file;

caviar_status caviar_atomic_open(caviar_atomic_file *af, const char *path, caviar_error *err);
/* Writes, syncs and renames into place; on failure removes the temporary file. */
caviar_status caviar_atomic_commit(caviar_atomic_file *af, caviar_error *err);
void caviar_atomic_abort(caviar_atomic_file *af);

/* Before a long run: whether path can be written (its folder exists and takes a new file; path is
 * not a folder), removing the temporary files of path a killed earlier run left. */
caviar_status caviar_atomic_check(const char *path, caviar_error *err);

/* A temporary name of path that belongs to its writer: PATH.tmp-PID-XXXXXX (for mkstemp); false
 * when it does not fit in size bytes. */
bool caviar_temporary_name(const char *path, char *out, size_t size);
/* Whether name is a temporary file's name whose writer is gone (a killed run's leftover): never a
 * live writer's (a `caviar report` writing report.html beside a running sweep). */
bool caviar_is_stale_temporary(const char *name);

/* Creates the folders above path that do not exist yet, as mkdir -p does for path's folder, so an
 * output may be named in folders not made yet (-o runs/a). An error names the one it cannot make. */
caviar_status caviar_make_parents(const char *path, caviar_error *err);

CAVIAR_C_END

#endif
