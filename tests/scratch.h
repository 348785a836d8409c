#ifndef CAVIAR_TEST_SCRATCH_H
#define CAVIAR_TEST_SCRATCH_H
/* Test helpers: a fresh temporary folder per test, files in it, and running the caviar binary. */

#include <stddef.h>

/* A new empty folder under $TMPDIR (or /tmp); the path stays valid for the test's life. */
const char *scratch_dir(void);
/* dir/name into a static rotating buffer. */
const char *scratch_path(const char *name);
void scratch_write(const char *name, const void *data, size_t len);
void scratch_write_text(const char *name, const char *text);
/* A gzip bomb: prefix, then zero_mib MiB of zeros, gzipped as concatenated members (so a GiB costs
 * about a MiB on disk and milliseconds to make). */
void scratch_write_gzip_bomb(const char *name, const void *prefix, size_t prefix_len, int zero_mib);
/* Peak resident memory of this process so far, in MiB. */
double scratch_peak_mib(void);
/* Reads a whole file (NUL-terminated); *len may be NULL. */
char *scratch_read(const char *path, size_t *len);
/* A JSON file, parsed (the caller deletes it); fails the test if it is not JSON. */
struct cJSON *scratch_read_json(const char *path);

typedef struct cli_result {
  int status;   /* exit code, or -1 if it did not exit normally */
  char *out;    /* all of stdout */
  char *err;    /* all of stderr */
} cli_result;

/* Runs `caviar ARGS` through sh (ARGS as written in a shell) and captures everything. */
cli_result run_caviar(const char *args);
/* The same after PREFIX, shell commands that set up its environment (e.g. "ulimit -f 4;"). */
cli_result run_caviar_with(const char *prefix, const char *args);
void cli_result_free(cli_result *r);
/* Counts '\n'-terminated lines. */
int count_lines(const char *text);

#endif
