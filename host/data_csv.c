/* CSV datasets: one example per line, the class label first, then the features; an optional
 * header line; blank lines are skipped. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/data.h"
#include "caviar/gzfile.h"

typedef struct csv_reader {
  const char *path;
  char *line;
  size_t line_no;
  caviar_error *err;
} csv_reader;

/* Parses one number field starting at *p; leaves *p at the separator or the line's end. */
static bool parse_field(char **p, double *out) {
  char *start = *p, *end;
  while (*start == ' ' || *start == '\t') start++;
  *out = strtod(start, &end);
  if (end == start) return false;
  while (*end == ' ' || *end == '\t') end++;
  if (*end != ',' && *end != '\0') return false;
  *p = end;
  return isfinite(*out);
}

static size_t count_fields(const char *line) {
  size_t n = 1;
  for (const char *c = line; *c; c++) n += *c == ',';
  return n;
}

static bool is_blank(const char *line) {
  for (; *line; line++)
    if (!isspace((unsigned char)*line)) return false;
  return true;
}

/* Grows the feature and label arrays to hold at least rows examples of d features. */
static caviar_status reserve(caviar_dataset *ds, size_t *cap, size_t rows, caviar_error *err) {
  if (rows <= *cap) return CAVIAR_OK;
  size_t grown = *cap ? *cap * 2 : 1024;
  if (grown < rows) grown = rows;
  float *x = realloc(ds->x_f32, grown * ds->d * sizeof *x);
  if (x) ds->x_f32 = x;
  int32_t *y = realloc(ds->labels, grown * sizeof *y);
  if (y) ds->labels = y;
  if (!x || !y) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory reading %zu CSV rows", rows);
  *cap = grown;
  return CAVIAR_OK;
}

static caviar_status parse_row(csv_reader *r, caviar_dataset *ds, size_t *cap) {
  size_t fields = count_fields(r->line);
  if (ds->d == 0) {
    if (fields < 2)
      return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: expected a label and at least one feature, got 1 column",
                         r->path, r->line_no);
    ds->d = fields - 1;
  }
  if (fields != ds->d + 1)
    return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: expected %zu columns like the first row, got %zu", r->path,
                       r->line_no, ds->d + 1, fields);
  caviar_status st = reserve(ds, cap, ds->n + 1, r->err);
  if (st != CAVIAR_OK) return st;
  char *p = r->line;
  double label;
  if (!parse_field(&p, &label))
    return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: column 1 (the label) is not a number", r->path, r->line_no);
  if (label != floor(label) || label < 0 || label >= CAVIAR_MAX_CLASSES)
    return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: label %.17g is not a class index in [0, %d)", r->path,
                       r->line_no, label, CAVIAR_MAX_CLASSES);
  ds->labels[ds->n] = (int32_t)label;
  float *row = ds->x_f32 + ds->n * ds->d;
  for (size_t j = 0; j < ds->d; j++) {
    double v;
    p++; /* the comma */
    if (!parse_field(&p, &v))
      return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: column %zu is not a finite number", r->path, r->line_no,
                         j + 2);
    row[j] = (float)v;
  }
  ds->n++;
  return CAVIAR_OK;
}

caviar_status caviar_csv_read(const char *path, caviar_dataset *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  unsigned char *text;
  size_t len;
  caviar_status st = caviar_read_all(path, &text, &len, err);
  if (st != CAVIAR_OK) return st;
  if (memchr(text, '\0', len)) {
    free(text);
    return caviar_fail(err, CAVIAR_EINPUT, "%s: contains NUL bytes; not a CSV text file", path);
  }
  csv_reader r = {path, (char *)text, 0, err};
  size_t cap = 0;
  bool first = true;
  while (st == CAVIAR_OK && r.line) {
    char *next = strchr(r.line, '\n');
    if (next) *next++ = '\0';
    size_t n = strlen(r.line);
    if (n && r.line[n - 1] == '\r') r.line[n - 1] = '\0';
    r.line_no++;
    if (!is_blank(r.line)) {
      double ignored;
      char *p = r.line;
      bool header = first && !parse_field(&p, &ignored);
      if (!header) st = parse_row(&r, out, &cap);
      first = false;
    }
    r.line = next;
  }
  free(text);
  if (st == CAVIAR_OK && out->n == 0) st = caviar_fail(err, CAVIAR_EINPUT, "%s: no data rows", path);
  if (st != CAVIAR_OK) caviar_dataset_free(out);
  return st;
}
