#ifndef CAVIAR_WRITER_LOCK_H
#define CAVIAR_WRITER_LOCK_H
/* One writer per output (issue 30). A sweep (or a resume) holds its output folder, and a
 * checkpointed `caviar train` its checkpoint and -o model, for its whole life: an exclusive flock
 * on a lock file (DIR/.caviar-lock, or .NAME.caviar-lock beside a file) that holds the holder's
 * pid. The kernel drops the lock when the holder exits in any way (kill -9 included), so a lock is
 * never stale and nobody waits: a second writer is refused at once, naming the holder's pid, before
 * it loads or creates anything. Readers (caviar report, caviar eval, a person opening summary.json)
 * take no lock: every file is written whole and renamed into place (atomic_file.h). */

#include <stdbool.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

/* The lock file inside a folder. */
#define CAVIAR_LOCK_NAME ".caviar-lock"

typedef struct caviar_writer_lock {
  int fd;              /* the locked file; -1 when nothing is held */
  char path[4200];     /* the lock file */
  char made_dir[4096]; /* the folder caviar_lock_folder created ("" when it existed) */
} caviar_writer_lock;

/* A lock that holds nothing (caviar_unlock does nothing with it). */
void caviar_lock_init(caviar_writer_lock *lock);

/* Holds dir (created when missing) for this process: CAVIAR_EINPUT, and nothing touched, when
 * another process holds it ("DIR: another caviar (pid N) is writing there: ADVICE") or when dir is
 * not a usable folder (a file, a dangling or looping symbolic link, a missing parent: said as such). */
caviar_status caviar_lock_folder(const char *dir, const char *advice, caviar_writer_lock *lock, caviar_error *err);

/* Holds the file path (which need not exist) through .NAME.caviar-lock in its folder
 * ("PATH: another caviar (pid N) is writing it: ADVICE"). */
caviar_status caviar_lock_file(const char *path, const char *advice, caviar_writer_lock *lock, caviar_error *err);

/* Releases the lock: its file goes, and the folder caviar_lock_folder made when it is empty. */
void caviar_unlock(caviar_writer_lock *lock);

/* Why path cannot be a folder caviar writes into: "" when it can (it is a folder, or does not exist
 * yet), else "exists and is not a folder", "is a symbolic link to X, which does not exist", "is a
 * symbolic link that loops" (into why, size bytes). */
void caviar_folder_problem(const char *path, char *why, size_t size);

CAVIAR_C_END

#endif
