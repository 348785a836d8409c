#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "caviar/sampler.h"
#include "caviar/schedule.h"
#include "caviar/world.h"
#include "cli.h"

int caviar_usage_error(const char *command, const char *fmt, ...) {
  char what[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  /* Under mpirun or srun every rank parses the same command line: ranks other than 0 wait a
   * moment, so the launcher, ending the job when rank 0 leaves, usually leaves one copy. */
  if (caviar_launcher_rank() > 0) {
    struct timespec pause = {1, 0};
    nanosleep(&pause, NULL);
  }
  fprintf(stderr, "caviar%s%s: %s (see caviar%s%s --help)\n", command ? " " : "", command ? command : "", what,
          command ? " " : "", command ? command : "");
  return CAVIAR_EINPUT;
}

int caviar_report(caviar_status status, const caviar_error *err) {
  if (status != CAVIAR_OK) fprintf(stderr, "caviar: %s\n", err->msg);
  return (int)status;
}

int caviar_option_error(const char *command, const char *optstring, int optopt_value, const char *arg) {
  if (strncmp(arg, "--", 2) == 0) {
    /* getopt_long leaves optopt at the option's value when its value is missing, 0 when unknown. */
    int len = (int)strcspn(arg, "=");
    if (optopt_value) return caviar_usage_error(command, "option %.*s needs a value", len, arg);
    return caviar_usage_error(command, "unknown option %.*s", len, arg);
  }
  const char *known = optopt_value && optopt_value != ':' ? strchr(optstring, optopt_value) : NULL;
  if (known && known[1] == ':') return caviar_usage_error(command, "option -%c needs a value", optopt_value);
  if (optopt_value && isprint(optopt_value)) return caviar_usage_error(command, "unknown option -%c", optopt_value);
  return caviar_usage_error(command, "unknown option %s", arg);
}

bool caviar_parse_u64(const char *text, uint64_t max, uint64_t *out) {
  if (!text || !isdigit((unsigned char)text[0])) return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || *end || v > max) return false;
  *out = v;
  return true;
}

caviar_status caviar_data_arg(caviar_data_spec *data, const char *arg, bool test_set, caviar_error *err) {
  caviar_data_spec given;
  caviar_status st = caviar_data_spec_override(data, arg, test_set, &given, err);
  if (st != CAVIAR_OK) return st;
  if (given.task == CAVIAR_TASK_REGRESSION && given.format != CAVIAR_DATA_CSV) {
    caviar_data_spec_free(&given);
    return caviar_fail(err, CAVIAR_EINPUT, "--data %s: a regression reads CSV data, not an IDX folder", arg);
  }
  caviar_data_spec_free(data);
  *data = given;
  return CAVIAR_OK;
}

caviar_status caviar_load_spec_arg(const char *path, caviar_spec *spec, caviar_error *err) {
  return path ? caviar_spec_load(path, spec, err) : caviar_spec_load_default(spec, err);
}

void caviar_print_spec_notes(const caviar_spec *spec, long long trials) {
  if (spec->warnings) {
    for (const char *line = spec->warnings; *line;) {
      const char *end = strchr(line, '\n');
      fprintf(stderr, "caviar: warning: %.*s\n", (int)(end - line), line);
      line = end + 1;
    }
  }
  const caviar_early_terminate *et = &spec->early_terminate;
  if (et->type == CAVIAR_STOP_HYPERBAND && !spec->outside) {
    /* What Hyperband will run, said once: its brackets, rungs and trials. */
    caviar_brackets hb;
    long long count = caviar_round_request(spec, trials);
    if (count < 0) count = spec->trials;
    if (spec->method == CAVIAR_METHOD_GRID) {
      caviar_sampler sampler;
      caviar_error ignored;
      if (caviar_sampler_init(&sampler, spec, spec->seed, count, &ignored) == CAVIAR_OK) count = sampler.count;
      caviar_sampler_free(&sampler);
    }
    caviar_brackets_make(et, count, &hb);
    char text[2048];
    caviar_brackets_describe(&hb, text, sizeof text);
    fprintf(stderr, "caviar: note: hyperband runs %lld trials: %s\n", caviar_brackets_trials(&hb), text);
  }
}

/* A duration's text as seconds (any size); false when it is not one. */
static bool duration_seconds(const char *text, double *seconds) {
  if (!text || !(isdigit((unsigned char)text[0]) || text[0] == '.')) return false;
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  double unit = 1;
  if (*end == 's') end++;
  else if (*end == 'm') unit = 60, end++;
  else if (*end == 'h') unit = 3600, end++;
  /* Too big to be a double (1e400) is still a duration: too long, said as such. */
  if ((errno && errno != ERANGE) || *end || isnan(v)) return false;
  *seconds = v * unit;
  return true;
}

int caviar_duration_option(const char *command, const char *flag, const char *text, bool zero, double *seconds) {
  double v;
  if (zero && strcmp(text, "0") == 0) {
    *seconds = 0;
    return 0;
  }
  if (!duration_seconds(text, &v))
    return caviar_usage_error(command, "%s expects a duration such as %s30, 90s, 10m or 1.5h, got '%s'", flag,
                              zero ? "0, " : "", text);
  if (v > CAVIAR_MAX_DURATION)
    return caviar_usage_error(command, "%s %s is longer than the most it takes, %.0e s (about 31 years)", flag, text,
                              CAVIAR_MAX_DURATION);
  if (!(v > 0))
    return caviar_usage_error(command, "%s expects a duration above 0%s such as 30, 90s, 10m or 1.5h, got '%s'", flag,
                              zero ? " (or exactly 0)" : "", text);
  *seconds = v;
  return 0;
}

int caviar_threads_option(const char *command, const char *text) {
  uint64_t n;
  if (!caviar_parse_u64(text, 4096, &n) || n == 0)
    return caviar_usage_error(command, "--threads expects a whole number from 1 to 4096, got '%s'", text);
  omp_set_num_threads((int)n);
  return 0;
}

int caviar_stdout_width(void) {
  struct winsize ws;
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 0;
}

/* path's folder made real, then its last name: one spelling of a file that need not exist yet. */
static bool real_name(const char *path, char *out, size_t size) {
  char copy[PATH_MAX], real[PATH_MAX];
  if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy) return false;
  size_t n = strlen(copy);
  while (n > 1 && copy[n - 1] == '/') copy[--n] = '\0';
  char *slash = strrchr(copy, '/');
  const char *folder = !slash ? "." : slash == copy ? "/" : copy;
  const char *base = slash ? slash + 1 : copy;
  if (slash && slash != copy) *slash = '\0';
  if (!realpath(folder, real)) return false;
  return snprintf(out, size, "%s/%s", real, base) < (int)size;
}

bool caviar_same_file(const char *x, const char *y) {
  struct stat sx, sy;
  if (stat(x, &sx) == 0 && stat(y, &sy) == 0) return sx.st_dev == sy.st_dev && sx.st_ino == sy.st_ino;
  char rx[PATH_MAX + 256], ry[PATH_MAX + 256];
  if (real_name(x, rx, sizeof rx) && real_name(y, ry, sizeof ry)) return strcmp(rx, ry) == 0;
  size_t nx = strlen(x), ny = strlen(y);
  while (nx > 1 && x[nx - 1] == '/') nx--;
  while (ny > 1 && y[ny - 1] == '/') ny--;
  return nx == ny && strncmp(x, y, nx) == 0;
}

int caviar_out_path_option(const char *command, const char *flag, const char *path, bool folder) {
  size_t n = strlen(path), room = folder ? CAVIAR_OUT_DIR_ROOM : CAVIAR_OUT_FILE_ROOM;
  if (n + room >= PATH_MAX)
    return caviar_usage_error(command,
                              "%s %s: the path has %zu bytes, and caviar writes %s up to %zu bytes longer: at most "
                              "%zu fit in PATH_MAX (%d)",
                              flag, path, n, folder ? "files below the folder" : "a temporary file beside it", room,
                              (size_t)PATH_MAX - 1 - room, PATH_MAX);
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  if (!folder && strlen(base) + CAVIAR_OUT_NAME_ROOM > NAME_MAX)
    return caviar_usage_error(command,
                              "%s %s: the file name has %zu bytes, and caviar writes a temporary file and a lock "
                              "file beside it with names up to %d bytes longer: at most %d fit in NAME_MAX (%d)",
                              flag, path, strlen(base), CAVIAR_OUT_NAME_ROOM, NAME_MAX - CAVIAR_OUT_NAME_ROOM,
                              NAME_MAX);
  return 0;
}
