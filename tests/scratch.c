#include "scratch.h"

#include <cjson/cJSON.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include "caviar/gzfile.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[512];

static void remove_scratch(void) {
  char command[600];
  snprintf(command, sizeof command, "rm -rf '%s'", dir);
  if (system(command) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

const char *scratch_dir(void) {
  if (!dir[0]) {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/caviar-test-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp failed");
    atexit(remove_scratch);
  }
  return dir;
}

const char *scratch_path(const char *name) {
  static char paths[8][1024];
  static int next;
  char *p = paths[next++ % 8];
  snprintf(p, sizeof paths[0], "%s/%s", scratch_dir(), name);
  return p;
}

void scratch_write(const char *name, const void *data, size_t len) {
  FILE *f = fopen(scratch_path(name), "wb");
  cr_assert_not_null(f, "cannot create %s", name);
  cr_assert_eq(fwrite(data, 1, len, f), len);
  cr_assert_eq(fclose(f), 0);
}

void scratch_write_text(const char *name, const char *text) { scratch_write(name, text, strlen(text)); }

void scratch_write_gzip_bomb(const char *name, const void *prefix, size_t prefix_len, int zero_mib) {
  size_t chunk = (size_t)16 << 20;
  unsigned char *zeros = calloc(chunk, 1), *packed_prefix, *packed_zeros;
  size_t prefix_packed_len, zeros_packed_len;
  caviar_error err;
  cr_assert_not_null(zeros);
  cr_assert_eq(caviar_gzip(prefix, prefix_len, &packed_prefix, &prefix_packed_len, &err), CAVIAR_OK);
  cr_assert_eq(caviar_gzip(zeros, chunk, &packed_zeros, &zeros_packed_len, &err), CAVIAR_OK);
  FILE *f = fopen(scratch_path(name), "wb");
  cr_assert_not_null(f);
  fwrite(packed_prefix, 1, prefix_packed_len, f);
  for (int i = 0; i < zero_mib / 16; i++) fwrite(packed_zeros, 1, zeros_packed_len, f);
  cr_assert_eq(fclose(f), 0);
  free(zeros);
  free(packed_prefix);
  free(packed_zeros);
}

double scratch_peak_mib(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (double)usage.ru_maxrss / 1024.0;
}

char *scratch_read(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (cap - n < 2) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

cli_result run_caviar(const char *args) { return run_caviar_with("", args); }

cli_result run_caviar_with(const char *prefix, const char *args) {
  char command[4400];
  const char *out_path = scratch_path("cli.stdout");
  char out_copy[1024], err_copy[1024];
  snprintf(out_copy, sizeof out_copy, "%s", out_path);
  snprintf(err_copy, sizeof err_copy, "%s", scratch_path("cli.stderr"));
  snprintf(command, sizeof command, "%s %s %s >%s 2>%s", prefix, CAVIAR_BIN, args, out_copy, err_copy);
  int raw = system(command);
  cli_result r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = scratch_read(out_copy, NULL);
  r.err = scratch_read(err_copy, NULL);
  return r;
}

int scratch_shell(const char *command, char **output) {
  char out_path[1024], full[8400];
  snprintf(out_path, sizeof out_path, "%s", scratch_path("shell.out"));
  snprintf(full, sizeof full, "{ %s ; } >%s 2>&1", command, out_path);
  int raw = system(full);
  *output = scratch_read(out_path, NULL);
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

int spawn_caviar(const char *env, const char *args, const char *tag) {
  char out[1024], err[1024], command[4400], name[256];
  snprintf(name, sizeof name, "%s.out", tag);
  snprintf(out, sizeof out, "%s", scratch_path(name));
  snprintf(name, sizeof name, "%s.err", tag);
  snprintf(err, sizeof err, "%s", scratch_path(name));
  snprintf(command, sizeof command, "exec %s %s >%s 2>%s", CAVIAR_BIN, args, out, err);
  char assignments[1024];
  snprintf(assignments, sizeof assignments, "%s", env);
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_neq(pid, -1, "fork failed");
  if (pid == 0) {
    char *save = NULL;
    for (char *a = strtok_r(assignments, " ", &save); a; a = strtok_r(NULL, " ", &save)) putenv(a);
    execl("/bin/sh", "sh", "-c", command, (char *)NULL);
    _exit(127);
  }
  return (int)pid;
}

static int exit_status(int raw) { return WIFEXITED(raw) ? WEXITSTATUS(raw) : WIFSIGNALED(raw) ? 128 + WTERMSIG(raw) : -1; }

int wait_stopped(int pid, int *status) {
  int raw;
  cr_assert_eq(waitpid(pid, &raw, WUNTRACED), pid, "waitpid failed");
  if (WIFSTOPPED(raw)) return 1;
  *status = exit_status(raw);
  return 0;
}

int wait_exit(int pid) {
  int raw;
  kill(pid, SIGCONT);
  cr_assert_eq(waitpid(pid, &raw, 0), pid, "waitpid failed");
  return exit_status(raw);
}

cJSON *summary_without_time(const char *dir) {
  char path[1200];
  snprintf(path, sizeof path, "%s/summary.json", dir);
  char *text = scratch_read(path, NULL);
  cJSON *s = cJSON_Parse(text);
  free(text);
  cr_assert_not_null(s, "%s is not JSON", path);
  cJSON_DeleteItemFromObject(s, "wall_seconds");
  cJSON_DeleteItemFromObject(s, "device_seconds");
  cJSON_DeleteItemFromObject(s, "model_samples_per_second");
  return s;
}

void expect_same_results(const char *a, const char *b, const char *what) {
  cJSON *x = summary_without_time(a), *y = summary_without_time(b);
  char *tx = cJSON_Print(x), *ty = cJSON_Print(y);
  cr_expect_str_eq(tx, ty, "%s: summary.json differs from the reference run's", what);
  free(tx);
  free(ty);
  cJSON_Delete(x);
  cJSON_Delete(y);
  char command[4096];
  snprintf(command, sizeof command, "cmp -s %s/curves.csv %s/curves.csv", a, b);
  cr_expect_eq(system(command), 0, "%s: curves.csv differs from the reference run's", what);
  snprintf(command, sizeof command, "diff -r %s/best %s/best >/dev/null", a, b);
  cr_expect_eq(system(command), 0, "%s: best/ differs from the reference run's", what);
}

void cli_result_free(cli_result *r) {
  free(r->out);
  free(r->err);
}

int count_lines(const char *text) {
  int n = 0;
  for (; *text; text++) n += *text == '\n';
  return n;
}

void expect_sweep_refused(const char *spec, const char *field, const char *what) {
  char args[2048], out[1024];
  snprintf(out, sizeof out, "%s/never", scratch_dir());
  snprintf(args, sizeof args, "sweep %s -o %s -q", spec, out);
  cli_result r = run_caviar(args);
  cr_expect_eq(r.status, 2, "%s: status %d: %s", what, r.status, r.err);
  cr_expect_eq(count_lines(r.err), 1, "%s: one line expected: %s", what, r.err);
  cr_expect(strstr(r.err, field) != NULL, "%s: the message should name %s: %s", what, field, r.err);
  cr_expect_neq(access(out, F_OK), 0, "%s: the output folder was created", what);
  cli_result_free(&r);
}

cJSON *scratch_read_json(const char *path) {
  char *text = scratch_read(path, NULL);
  cr_assert_not_null(text, "%s missing", path);
  cJSON *json = cJSON_Parse(text);
  free(text);
  cr_assert_not_null(json, "%s is not JSON", path);
  return json;
}

const char *scratch_study(const char *name, const char *text, const char *extra) {
  static char dirs[4][1024];
  static int next;
  char *out = dirs[next++ % 4];
  char spec[256], args[3000];
  snprintf(spec, sizeof spec, "%s.json", name);
  scratch_write_text(spec, text);
  snprintf(out, 1024, "%s", scratch_path(name));
  snprintf(args, sizeof args, "study init %s -o %s %s", scratch_path(spec), out, extra ? extra : "");
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "study init: %s", r.err);
  cli_result_free(&r);
  return out;
}

cJSON *scratch_ask(const char *dir) {
  char args[1200];
  snprintf(args, sizeof args, "ask %s", dir);
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "ask: %s", r.err);
  cr_assert_eq(count_lines(r.out), 1, "ask printed %s", r.out);
  cJSON *line = cJSON_Parse(r.out);
  cr_assert(cJSON_IsObject(line), "ask printed %s", r.out);
  cli_result_free(&r);
  return line;
}
