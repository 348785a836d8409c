/* Metric names and the metric lines a training program prints (caviar agent reads them). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/study.h"

bool caviar_study_metric_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 128 || !(isalpha((unsigned char)name[0]) || name[0] == '_')) return false;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum((unsigned char)name[i]) || strchr("_.:/-", name[i]))) return false;
  return true;
}

bool caviar_study_metric_line(char *line, int *epoch, const char **names, double *values, int max, int *n) {
  *epoch = 0;
  *n = 0;
  bool any = false;
  char *save = NULL;
  for (char *tok = strtok_r(line, " \t\r\n,", &save); tok; tok = strtok_r(NULL, " \t\r\n,", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq || eq == tok || !eq[1]) return false;
    *eq = '\0';
    const char *name = tok, *text = eq + 1;
    if (!caviar_study_metric_name_ok(name)) return false;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*end || end == text) return false;
    if (!strcmp(name, "epoch")) {
      if (*epoch || !isdigit((unsigned char)text[0]) || v < 1 || v > 1e9 || v != floor(v)) return false;
      *epoch = (int)v;
      continue;
    }
    for (int k = 0; k < *n; k++)
      if (!strcmp(names[k], name)) return false;
    if (*n == max) return false;
    names[*n] = name;
    values[*n] = v; /* not finite: the caller decides (a diverged program) */
    (*n)++;
    any = true;
  }
  return any;
}
