/* fopencookie (glibc) */
#define _GNU_SOURCE
#include "caviar/atomic_file.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

bool caviar_temporary_name(const char *path, char *out, size_t size) {
  return snprintf(out, size, "%s.tmp-%ld-XXXXXX", path, (long)getpid()) < (int)size;
}

/* f's writes (a megabyte at a time): straight to the file, the first failure's errno kept and
 * everything after it dropped. The stream is always told the bytes went (a cookie stream told
 * otherwise can lose track of its buffer: a full disk crashed a page write), and the commit
 * reports the failure. Each write's write-back to the disk starts at once (sync_file_range, where
 * the file system has it), so the fsync before the rename waits for the last one only: a
 * 100,000-trial sweep's summary.json and curves.csv are 70 MB each, and their fsyncs took 45 ms
 * each at the end of their writes. */
static ssize_t write_through(void *cookie, const char *buf, size_t size) {
  caviar_atomic_file *af = cookie;
  long long from = af->written;
  for (size_t done = 0; !af->failure && done < size;) {
    ssize_t n = write(af->fd, buf + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) af->failure = n < 0 ? errno : ENOSPC;
    else done += (size_t)n, af->written += n;
  }
  if (!af->failure && af->written > from) sync_file_range(af->fd, (off_t)from, (off_t)(af->written - from), SYNC_FILE_RANGE_WRITE);
  return (ssize_t)size;
}

caviar_status caviar_atomic_open(caviar_atomic_file *af, const char *path, caviar_error *err) {
  memset(af, 0, sizeof *af);
  af->fd = -1;
  if (snprintf(af->path, sizeof af->path, "%s", path) >= (int)sizeof af->path ||
      !caviar_temporary_name(path, af->tmp, sizeof af->tmp))
    return caviar_fail(err, CAVIAR_EINPUT, "%s: path too long", path);
  af->fd = mkstemp(af->tmp);
  if (af->fd < 0) return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot create: %s", path, strerror(errno));
  /* mkstemp makes the file private; give it the permissions an ordinary create would. */
  mode_t mask = umask(0);
  umask(mask);
  fchmod(af->fd, 0666 & ~mask);
  af->f = fopencookie(af, "w", (cookie_io_functions_t){.write = write_through});
  if (af->f) setvbuf(af->f, NULL, _IOFBF, 1 << 20);
  if (!af->f) {
    close(af->fd);
    unlink(af->tmp);
    return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot open a stream: %s", path, strerror(errno));
  }
  return CAVIAR_OK;
}

caviar_status caviar_atomic_commit(caviar_atomic_file *af, caviar_error *err) {
  bool failed = ferror(af->f) != 0;
  if (fclose(af->f) != 0) failed = true;
  af->f = NULL;
  int failure = af->failure ? af->failure : failed ? ENOMEM : 0;
  if (!failure && fsync(af->fd) != 0) failure = errno;
  if (close(af->fd) != 0 && !failure) failure = errno;
  af->fd = -1;
  if (!failure && rename(af->tmp, af->path) != 0) failure = errno;
  if (!failure) return CAVIAR_OK;
  unlink(af->tmp);
  return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot write: %s", af->path, strerror(failure));
}

void caviar_atomic_abort(caviar_atomic_file *af) {
  if (!af->f) return;
  af->failure = -1; /* nothing more reaches the file */
  fclose(af->f);
  af->f = NULL;
  close(af->fd);
  af->fd = -1;
  unlink(af->tmp);
}

/* The writer of a temporary name's tail, ".tmp-PID-XXXXXX" (an older caviar's ".tmp-XXXXXX": 0);
 * -1 when tail is not one. */
static long tail_owner(const char *tail) {
  if (strncmp(tail, ".tmp-", 5) != 0) return -1;
  const char *rest = tail + 5;
  if (strlen(rest) == 6) return 0;
  char *end;
  long pid = isdigit((unsigned char)rest[0]) ? strtol(rest, &end, 10) : 0;
  return pid > 0 && *end == '-' && strlen(end + 1) == 6 ? pid : -1;
}

/* A temporary file whose writer is gone: an older caviar's, or one whose pid is no process (a pid
 * reused since only keeps a leftover a while longer); never this process's or a live one's. */
static bool stale(long owner) {
  if (owner < 0) return false;
  return owner == 0 || (owner != (long)getpid() && kill((pid_t)owner, 0) != 0 && errno == ESRCH);
}

bool caviar_is_stale_temporary(const char *name) {
  const char *last = NULL;
  for (const char *p = strstr(name, ".tmp-"); p; p = strstr(p + 1, ".tmp-")) last = p;
  return last && last != name && stale(tail_owner(last));
}

caviar_status caviar_atomic_check(const char *path, caviar_error *err) {
  struct stat sb;
  if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
    return caviar_fail(err, CAVIAR_EINPUT, "%s: is a folder, expected a file name", path);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  const char *base = slash ? slash + 1 : path;
  if (slash == dir) strcpy(dir, "/");
  else if (slash) *slash = '\0';
  else strcpy(dir, ".");
  /* Temporary files of this path a killed run left behind (never a live writer's). */
  DIR *d = opendir(dir);
  struct dirent *e;
  size_t base_len = strlen(base);
  while (d && (e = readdir(d))) {
    if (strncmp(e->d_name, base, base_len) == 0 && stale(tail_owner(e->d_name + base_len))) {
      char stale[8192];
      snprintf(stale, sizeof stale, "%s/%s", dir, e->d_name);
      unlink(stale);
    }
  }
  if (d) closedir(d);
  /* A probe file: root writes through permissions, a read-only or missing folder it cannot. */
  caviar_atomic_file af;
  caviar_status st = caviar_atomic_open(&af, path, err);
  if (st != CAVIAR_OK) return st;
  caviar_atomic_abort(&af);
  return CAVIAR_OK;
}

caviar_status caviar_make_parents(const char *path, caviar_error *err) {
  char folder[4096];
  if (snprintf(folder, sizeof folder, "%s", path) >= (int)sizeof folder)
    return caviar_fail(err, CAVIAR_EINPUT, "%.200s...: the path is too long", path);
  size_t n = strlen(folder);
  while (n > 1 && folder[n - 1] == '/') folder[--n] = '\0';
  char *last = strrchr(folder, '/');
  if (!last || last == folder) return CAVIAR_OK;
  *last = '\0';
  /* Each prefix ending before a slash, then the folder itself. */
  for (char *p = folder + 1;; p++) {
    bool end = *p == '\0';
    if (*p != '/' && !end) continue;
    *p = '\0';
    struct stat sb;
    if (mkdir(folder, 0755) != 0 && errno != EEXIST)
      return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot create the folder: %s", folder, strerror(errno));
    if (stat(folder, &sb) != 0 || !S_ISDIR(sb.st_mode))
      return caviar_fail(err, CAVIAR_EINPUT, "%s: exists and is not a folder", folder);
    if (end) return CAVIAR_OK;
    *p = '/';
  }
}
