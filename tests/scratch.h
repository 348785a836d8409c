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
/* A JSON file parsed (a failed assertion when it is missing or not JSON); cJSON_Delete it. */
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
/* Runs COMMAND through sh with stdout and stderr together in a scratch file: its exit status (-1
 * if it did not exit normally), and what it printed in *output (NULL if nothing could be read). */
int scratch_shell(const char *command, char **output);
/* Starts `caviar ARGS` (ARGS as written in a shell) in the background, its pid being caviar's own,
 * with env's assignments ("A=1 B=2", or "") added to the environment and stdout and stderr going
 * to scratch files TAG.out and TAG.err; returns the pid. */
int spawn_caviar(const char *env, const char *args, const char *tag);
/* Waits until pid stops (a CAVIAR_KILL_AT=...:STOP point) and returns 1, or exits first: 0, with
 * its status in *status (128 + S when a signal S ended it). */
int wait_stopped(int pid, int *status);
/* Waits for pid to end (continuing it if stopped); its status as above. */
int wait_exit(int pid);

/* dir/summary.json without its timings (wall_seconds, device_seconds, model_samples_per_second), as cJSON. */
struct cJSON *summary_without_time(const char *dir);
/* Expects a's and b's summary.json (but for timings), curves.csv and best/ byte for byte equal;
 * what names the case in messages. */
void expect_same_results(const char *a, const char *b, const char *what);

/* `caviar study init` of spec text (written as scratch file NAME.json) into scratch folder name,
 * extra flags after it (NULL: none); the folder's path (in one of 4 rotating buffers). */
const char *scratch_study(const char *name, const char *text, const char *extra);
/* `caviar ask DIR`: its line, parsed (a failed assertion unless it exits 0 with one JSON object). */
struct cJSON *scratch_ask(const char *dir);

/* Counts '\n'-terminated lines. */
int count_lines(const char *text);

/* `caviar sweep SPEC` refused: exit status 2, one line on stderr naming `field`, and no output
 * folder (`what` says which hostile input, in the failure's message). */
void expect_sweep_refused(const char *spec, const char *field, const char *what);

#endif
