#ifndef CAVIAR_STATUS_H
#define CAVIAR_STATUS_H
/* Status codes and the one-line error message every library function fills in on failure.
 * The codes are the CLI's exit codes: 0 ok, 1 runtime failure, 2 bad input or usage. */

#include <stddef.h>

/* Declarations compiled by nvcc keep C linkage. */
#ifdef __cplusplus
#define CAVIAR_C_BEGIN extern "C" {
#define CAVIAR_C_END }
#else
#define CAVIAR_C_BEGIN
#define CAVIAR_C_END
#endif

CAVIAR_C_BEGIN

typedef enum caviar_status {
  CAVIAR_OK = 0,
  CAVIAR_ERUNTIME = 1, /* out of memory, I/O failure, a device error: not the user's input */
  CAVIAR_EINPUT = 2    /* bad spec, flag or data file: the message says which and what was expected */
} caviar_status;

typedef struct caviar_error {
  char msg[8192]; /* room for a message naming two paths of PATH_MAX bytes whole */
} caviar_error;

#if defined(__GNUC__)
#define CAVIAR_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define CAVIAR_PRINTF(fmt_index, first_arg)
#endif

/* Formats the message into err (when err is not NULL) and returns status, so callers can write
 * `return caviar_fail(err, CAVIAR_EINPUT, "%s: ...", path);`. */
caviar_status caviar_fail(caviar_error *err, caviar_status status, const char *fmt, ...)
    CAVIAR_PRINTF(3, 4);

/* Allocation helpers that report a runtime error naming what was being allocated. */
void *caviar_alloc(size_t count, size_t size, const char *what, caviar_error *err);
char *caviar_strdup(const char *s, caviar_error *err);

/* Seconds on a monotonic clock (differences only). */
double caviar_now(void);

/* Fault injection for the tests: with CAVIAR_KILL_AT=NAME:K in the environment, the K-th time
 * (1-based) the point NAME is passed the process kills itself with SIGKILL (NAME:K:INT, :TERM or
 * :USR1 raises that signal instead; entries separated by commas). With CAVIAR_KILL_RANK=R only
 * rank R of a distributed sweep does (the launcher's rank variable). Points: chunk (inside
 * an epoch), epoch (an epoch boundary, before the journal), journal (half of a journal write),
 * snapshot (half of a snapshot file written), test (the test pass), tensorboard (half of a
 * trial's TensorBoard events written). Defined in host/train/snapshot.c. */
void caviar_fault_point(const char *name);

CAVIAR_C_END

#endif
