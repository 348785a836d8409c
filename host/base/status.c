#include "caviar/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

caviar_status caviar_fail(caviar_error *err, caviar_status status, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return status;
}

void *caviar_alloc(size_t count, size_t size, const char *what, caviar_error *err) {
  if (count != 0 && size > (size_t)-1 / count) {
    caviar_fail(err, CAVIAR_ERUNTIME, "out of memory: %s needs more than %zu bytes", what,
                (size_t)-1);
    return NULL;
  }
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) caviar_fail(err, CAVIAR_ERUNTIME, "out of memory allocating %s (%zu bytes)", what, count * size);
  return p;
}

char *caviar_strdup(const char *s, caviar_error *err) {
  size_t n = strlen(s) + 1;
  char *copy = caviar_alloc(n, 1, "a string", err);
  if (copy) memcpy(copy, s, n);
  return copy;
}

double caviar_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
