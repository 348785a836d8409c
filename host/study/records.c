/* The study's journal as a file many processes append to: see study_internal.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "study/study_internal.h"
#include "train/sweep_state_internal.h" /* caviar_fault_point: the tests' kill points */

caviar_status study_log_open(study_log *log, const char *path, caviar_error *err) {
  memset(log, 0, sizeof *log);
  snprintf(log->path, sizeof log->path, "%s", path);
  log->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
  log->writable = log->fd >= 0;
  if (log->fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) log->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (log->fd < 0) return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(log->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(log->fd);
    log->fd = -1;
    return caviar_fail(err, CAVIAR_EINPUT, "%s: not a regular file", path);
  }
  return CAVIAR_OK;
}

void study_log_close(study_log *log) {
  if (log->fd >= 0) close(log->fd);
  log->fd = -1;
  log->locked = false;
}

/* Bytes [from, to) of the file into a malloc'd buffer. */
static caviar_status read_range(const study_log *log, uint64_t from, uint64_t to, char **out, caviar_error *err) {
  size_t n = (size_t)(to - from);
  char *buf = caviar_alloc(n + 1, 1, "the study's journal", err);
  if (!buf) return CAVIAR_ERUNTIME;
  size_t got = 0;
  while (got < n) {
    ssize_t k = pread(log->fd, buf + got, n - got, (off_t)(from + got));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      int e = errno;
      free(buf);
      return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot read: %s", log->path, strerror(e));
    }
    if (k == 0) break; /* cut while we read: the rest is not there */
    got += (size_t)k;
  }
  buf[got] = '\0';
  *out = buf;
  return CAVIAR_OK;
}

/* Reads new whole lines; *tail gets how many bytes follow the last one. */
static caviar_status read_lines(study_log *log, study_line_fn fn, void *ctx, uint64_t *tail, caviar_error *err) {
  *tail = 0;
  struct stat sb;
  if (fstat(log->fd, &sb) != 0) return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot read: %s", log->path, strerror(errno));
  uint64_t size = (uint64_t)sb.st_size;
  if (size < log->offset)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: shorter (%llu bytes) than the %llu bytes read before: it was changed "
                       "outside caviar", log->path, (unsigned long long)size, (unsigned long long)log->offset);
  if (size == log->offset) return CAVIAR_OK;
  char *buf = NULL;
  caviar_status st = read_range(log, log->offset, size, &buf, err);
  if (st != CAVIAR_OK) return st;
  size_t n = strlen(buf), start = 0;
  if (n < (size_t)(size - log->offset)) {
    free(buf);
    return caviar_fail(err, CAVIAR_EINPUT, "%s: line %ld: holds a NUL byte: not a study journal", log->path,
                       log->lines + 1);
  }
  for (size_t i = 0; st == CAVIAR_OK && i < n; i++) {
    if (buf[i] != '\n') continue;
    st = fn(ctx, buf + start, i - start, log->lines + 1, err);
    if (st != CAVIAR_OK) break;
    log->lines++;
    log->offset += i + 1 - start;
    start = i + 1;
  }
  if (st == CAVIAR_OK) *tail = n - start;
  free(buf);
  return st;
}

caviar_status study_log_read(study_log *log, study_line_fn fn, void *ctx, caviar_error *err) {
  uint64_t tail;
  return read_lines(log, fn, ctx, &tail, err);
}

caviar_status study_log_begin(study_log *log, study_line_fn fn, void *ctx, caviar_error *err) {
  if (!log->writable)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot write: the study is read-only here", log->path);
  while (flock(log->fd, LOCK_EX) != 0)
    if (errno != EINTR) return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot lock: %s", log->path, strerror(errno));
  log->locked = true;
  uint64_t tail;
  caviar_status st = read_lines(log, fn, ctx, &tail, err);
  /* Holding the lock, a line without its newline is no writer's work in progress: its writer died
   * in the middle of it. It goes, so the next record starts on a line of its own. */
  if (st == CAVIAR_OK && tail > 0 && ftruncate(log->fd, (off_t)log->offset) != 0)
    st = caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot cut off a torn last line: %s", log->path, strerror(errno));
  if (st != CAVIAR_OK) study_log_end(log);
  return st;
}

void study_log_end(study_log *log) {
  if (log->locked) flock(log->fd, LOCK_UN);
  log->locked = false;
}

caviar_status study_log_append(study_log *log, const char *text, size_t len, study_line_fn fn, void *ctx,
                               caviar_error *err) {
  size_t off = 0;
  if (len > 1 && getenv("CAVIAR_KILL_AT")) {
    /* The tests' torn record: half of it, then the fault point (which may kill this process). */
    size_t half = len / 2;
    if (write(log->fd, text, half) == (ssize_t)half) off = half;
    caviar_fault_point("study-append");
  }
  while (off < len) {
    ssize_t k = write(log->fd, text + off, len - off);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      int e = k < 0 ? errno : ENOSPC;
      if (ftruncate(log->fd, (off_t)log->offset) != 0) {
        /* The next writer cuts the torn line off. */
      }
      return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot write: %s", log->path, strerror(e));
    }
    off += (size_t)k;
  }
  return study_log_read(log, fn, ctx, err);
}
