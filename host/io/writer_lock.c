/* One writer per output: an flock on a lock file held for the writer's life (writer_lock.h). */
#include "caviar/writer_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The holder's pid as the lock file says it: a fixed-width record, rewritten in place. */
#define PID_RECORD 24

void caviar_lock_init(caviar_writer_lock *lock) {
  lock->fd = -1;
  lock->path[0] = '\0';
  lock->made_dir[0] = '\0';
}

void caviar_folder_problem(const char *path, char *why, size_t size) {
  struct stat sb, lsb;
  why[0] = '\0';
  if (stat(path, &sb) == 0) {
    if (!S_ISDIR(sb.st_mode)) snprintf(why, size, "exists and is not a folder");
    return;
  }
  int e = errno;
  if (lstat(path, &lsb) != 0 || !S_ISLNK(lsb.st_mode)) return; /* missing: it is made */
  if (e == ELOOP) {
    snprintf(why, size, "is a symbolic link that loops (too many levels of links)");
    return;
  }
  char target[1024];
  ssize_t n = readlink(path, target, sizeof target - 1);
  target[n > 0 ? n : 0] = '\0';
  snprintf(why, size, "is a symbolic link to %s, which does not exist", n > 0 ? target : "?");
}

/* The pid a lock file names; 0 when it names none (yet: its holder writes it just after locking). */
static long holder_pid(int fd) {
  for (int tries = 0; tries < 50; tries++) {
    char text[PID_RECORD + 1];
    ssize_t n = pread(fd, text, PID_RECORD, 0);
    text[n > 0 ? n : 0] = '\0';
    long pid = strtol(text, NULL, 10);
    if (pid > 0) return pid;
    struct timespec pause = {0, 10 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  return 0;
}

/* Locks lock_path (created when missing) for this process; what names the output in messages. */
static caviar_status take(const char *what, const char *advice, bool folder, caviar_writer_lock *lock, caviar_error *err) {
  for (int attempt = 0; attempt < 100; attempt++) {
    int fd = open(lock->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
      return caviar_fail(err, CAVIAR_EINPUT, folder ? "%s: cannot write in the output folder: %s" : "%s: cannot create: %s",
                         what, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int e = errno;
      long pid = e == EWOULDBLOCK ? holder_pid(fd) : 0;
      close(fd);
      if (e != EWOULDBLOCK)
        return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot lock %s: %s", what, lock->path, strerror(e));
      char holder[48];
      if (pid > 0) snprintf(holder, sizeof holder, " (pid %ld)", pid);
      else holder[0] = '\0';
      return caviar_fail(err, CAVIAR_EINPUT, "%s: another caviar%s is writing %s: %s", what, holder,
                         folder ? "there" : "it", advice);
    }
    /* A holder removes the file when it is done: the file locked must still be the one named. */
    struct stat held, named;
    if (fstat(fd, &held) == 0 && stat(lock->path, &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino) {
      char record[PID_RECORD + 1];
      snprintf(record, sizeof record, "%-*ld", PID_RECORD - 1, (long)getpid());
      record[PID_RECORD - 1] = '\n';
      if (pwrite(fd, record, PID_RECORD, 0) != PID_RECORD) {
        /* The pid is only for messages; the lock holds without it. */
      }
      lock->fd = fd;
      return CAVIAR_OK;
    }
    close(fd);
  }
  return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot lock %s: it keeps being replaced", what, lock->path);
}

caviar_status caviar_lock_folder(const char *dir, const char *advice, caviar_writer_lock *lock, caviar_error *err) {
  caviar_lock_init(lock);
  char why[1200];
  caviar_folder_problem(dir, why, sizeof why);
  if (why[0]) return caviar_fail(err, CAVIAR_EINPUT, "%s: %s", dir, why);
  if (snprintf(lock->path, sizeof lock->path, "%s/%s", dir, CAVIAR_LOCK_NAME) >= (int)sizeof lock->path)
    return caviar_fail(err, CAVIAR_EINPUT, "%.200s...: path too long", dir);
  if (mkdir(dir, 0755) == 0) snprintf(lock->made_dir, sizeof lock->made_dir, "%s", dir);
  else if (errno != EEXIST)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot create the output folder: %s", dir, strerror(errno));
  caviar_status st = take(dir, advice, true, lock, err);
  if (st != CAVIAR_OK && lock->made_dir[0]) rmdir(lock->made_dir);
  if (st != CAVIAR_OK) caviar_lock_init(lock);
  return st;
}

caviar_status caviar_lock_file(const char *path, const char *advice, caviar_writer_lock *lock, caviar_error *err) {
  caviar_lock_init(lock);
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  int dir_len = slash ? (int)(slash - path) : 0;
  if (!*base) return caviar_fail(err, CAVIAR_EINPUT, "%s: is a folder, expected a file name", path);
  /* Beside the file: DIR/.NAME.caviar-lock ("/.NAME..." at the root, ".NAME..." in the working folder). */
  int n = snprintf(lock->path, sizeof lock->path, "%.*s%s.%s.caviar-lock", dir_len, path, slash ? "/" : "", base);
  if (n >= (int)sizeof lock->path) return caviar_fail(err, CAVIAR_EINPUT, "%.200s...: path too long", path);
  caviar_status st = take(path, advice, false, lock, err);
  if (st != CAVIAR_OK) caviar_lock_init(lock);
  return st;
}

void caviar_unlock(caviar_writer_lock *lock) {
  if (lock->fd < 0) return;
  /* Removed while still held, so no one locks a file that is about to go (take() checks). */
  unlink(lock->path);
  close(lock->fd);
  if (lock->made_dir[0]) rmdir(lock->made_dir); /* only when empty: results stay */
  caviar_lock_init(lock);
}
