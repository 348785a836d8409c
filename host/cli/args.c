#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caviar/world.h"
#include "cli.h"

int caviar_usage_error(const char *command, const char *fmt, ...) {
  char what[512];
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

bool caviar_parse_duration(const char *text, double *seconds) {
  if (!text || !(isdigit((unsigned char)text[0]) || text[0] == '.')) return false;
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  double unit = 1;
  if (*end == 's') end++;
  else if (*end == 'm') unit = 60, end++;
  else if (*end == 'h') unit = 3600, end++;
  if (errno || *end || !isfinite(v) || v <= 0 || v * unit > 1e9) return false;
  *seconds = v * unit;
  return true;
}

int caviar_threads_option(const char *command, const char *text) {
  uint64_t n;
  if (!caviar_parse_u64(text, 4096, &n) || n == 0)
    return caviar_usage_error(command, "--threads expects a whole number from 1 to 4096, got '%s'", text);
  omp_set_num_threads((int)n);
  return 0;
}
