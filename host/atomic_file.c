#include "caviar/atomic_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

caviar_status caviar_atomic_open(caviar_atomic_file *af, const char *path, caviar_error *err) {
  memset(af, 0, sizeof *af);
  if (snprintf(af->path, sizeof af->path, "%s", path) >= (int)sizeof af->path ||
      snprintf(af->tmp, sizeof af->tmp, "%s.tmp-XXXXXX", path) >= (int)sizeof af->tmp)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: path too long", path);
  int fd = mkstemp(af->tmp);
  if (fd < 0) return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot create: %s", path, strerror(errno));
  /* mkstemp makes the file private; give it the permissions an ordinary create would. */
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  af->f = fdopen(fd, "wb");
  if (!af->f) {
    close(fd);
    unlink(af->tmp);
    return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot open a stream: %s", path, strerror(errno));
  }
  return CAVIAR_OK;
}

caviar_status caviar_atomic_commit(caviar_atomic_file *af, caviar_error *err) {
  int failure = 0;
  errno = 0;
  if (ferror(af->f) || fflush(af->f) != 0 || fsync(fileno(af->f)) != 0) failure = errno ? errno : EIO;
  if (fclose(af->f) != 0 && !failure) failure = errno;
  af->f = NULL;
  if (!failure && rename(af->tmp, af->path) != 0) failure = errno;
  if (!failure) return CAVIAR_OK;
  unlink(af->tmp);
  return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot write: %s", af->path, strerror(failure));
}

void caviar_atomic_abort(caviar_atomic_file *af) {
  if (!af->f) return;
  fclose(af->f);
  af->f = NULL;
  unlink(af->tmp);
}
