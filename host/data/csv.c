/* CSV datasets: one example per line, the class label first, then the features; an optional
 * header line; blank lines are skipped. */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/data.h"
#include "caviar/gzfile.h"

#define CAVIAR_CSV_MAX_VALUE (FLT_MAX / 2)
#define CAVIAR_CSV_MAX_LINE ((size_t)1 << 26)

typedef struct csv_reader {
  const char *path;
  char *line;
  size_t line_no;
  caviar_error *err;
} csv_reader;

/* Parses one number field starting at *p (any strtod number, nan and inf included: the caller
 * judges the value); leaves *p at the separator or the line's end. */
static bool parse_field(char **p, double *out) {
  char *start = *p, *end;
  while (*start == ' ' || *start == '\t') start++;
  *out = strtod(start, &end);
  if (end == start) return false;
  while (*end == ' ' || *end == '\t') end++;
  if (*end != ',' && *end != '\0') return false;
  *p = end;
  return true;
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
  /* Rows are indexed by uint32 (the split, the minibatch order); features capped like IDX's. */
  if (ds->n + 1 > UINT32_MAX || (ds->n + 1) * ds->d > ((size_t)1 << 40))
    return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: more rows than caviar reads (2^32 - 1 rows, 2^40 values)",
                       r->path, r->line_no);
  caviar_status st = reserve(ds, cap, ds->n + 1, r->err);
  if (st != CAVIAR_OK) return st;
  char *p = r->line;
  double label;
  if (!parse_field(&p, &label) || !isfinite(label))
    return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: column 1 (the label) is not a finite number", r->path,
                       r->line_no);
  if (label != floor(label) || label < 0 || label >= CAVIAR_MAX_CLASSES)
    return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: label %.17g is not a class index in [0, %d)", r->path,
                       r->line_no, label, CAVIAR_MAX_CLASSES);
  ds->labels[ds->n] = (int32_t)label;
  float *row = ds->x_f32 + ds->n * ds->d;
  for (size_t j = 0; j < ds->d; j++) {
    double v;
    p++; /* the comma */
    if (!parse_field(&p, &v) || !isfinite(v))
      return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: column %zu is not a finite number", r->path, r->line_no,
                         j + 2);
    /* Half the float range, so that a feature's spread (x - shift) stays a finite float. */
    if (fabs(v) > CAVIAR_CSV_MAX_VALUE)
      return caviar_fail(r->err, CAVIAR_EINPUT,
                         "%s:%zu: column %zu: %g is beyond the range caviar's 32-bit features hold "
                         "(magnitude at most %.3g)",
                         r->path, r->line_no, j + 2, v, CAVIAR_CSV_MAX_VALUE);
    row[j] = (float)v;
  }
  ds->n++;
  return CAVIAR_OK;
}

/* One line (NUL-terminated, without its newline): blank lines are skipped, and a first line whose
 * label column is not a number at all is the header. */
static caviar_status take_line(csv_reader *r, caviar_dataset *out, size_t *cap, bool *first) {
  size_t n = strlen(r->line);
  if (n && r->line[n - 1] == '\r') r->line[n - 1] = '\0';
  r->line_no++;
  if (r->line_no == 1 && (unsigned char)r->line[0] == 0xef && (unsigned char)r->line[1] == 0xbb &&
      (unsigned char)r->line[2] == 0xbf)
    r->line += 3; /* a UTF-8 byte order mark */
  if (is_blank(r->line)) return CAVIAR_OK;
  double ignored;
  char *p = r->line;
  bool header = *first && !parse_field(&p, &ignored);
  *first = false;
  return header ? CAVIAR_OK : parse_row(r, out, cap);
}

/* Streams the file line by line, so the text is never held whole: memory is the parsed floats. */
caviar_status caviar_csv_read(const char *path, caviar_dataset *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  caviar_in in;
  caviar_status st = caviar_in_open(&in, path, err);
  if (st != CAVIAR_OK) return st;
  size_t buf_cap = (size_t)1 << 20, len = 0, pos = 0;
  char *buf = malloc(buf_cap + 1);
  if (!buf) st = caviar_fail(err, CAVIAR_ERUNTIME, "%s: out of memory", path);
  csv_reader r = {path, NULL, 0, err};
  size_t cap = 0;
  bool first = true, eof = false;
  while (st == CAVIAR_OK) {
    char *newline = memchr(buf + pos, '\n', len - pos);
    if (newline || (eof && pos < len)) {
      char *end = newline ? newline : buf + len;
      *end = '\0';
      r.line = buf + pos;
      pos = newline ? (size_t)(end - buf) + 1 : len;
      st = take_line(&r, out, &cap, &first);
      continue;
    }
    if (eof) break;
    memmove(buf, buf + pos, len - pos);
    len -= pos;
    pos = 0;
    if (len == buf_cap) {
      if (buf_cap >= CAVIAR_CSV_MAX_LINE) {
        st = caviar_fail(err, CAVIAR_EINPUT, "%s:%zu: line longer than %zu bytes", path, r.line_no + 1,
                         (size_t)CAVIAR_CSV_MAX_LINE);
        break;
      }
      char *grown = realloc(buf, 2 * buf_cap + 1);
      if (!grown) {
        st = caviar_fail(err, CAVIAR_ERUNTIME, "%s: out of memory", path);
        break;
      }
      buf = grown;
      buf_cap *= 2;
    }
    size_t got;
    st = caviar_in_read(&in, buf + len, buf_cap - len, &got, err);
    if (st == CAVIAR_OK && memchr(buf + len, '\0', got))
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: contains NUL bytes; not a CSV text file", path);
    len += got;
    eof = got == 0;
  }
  free(buf);
  caviar_in_close(&in);
  if (st == CAVIAR_OK && out->n == 0) st = caviar_fail(err, CAVIAR_EINPUT, "%s: no data rows", path);
  if (st != CAVIAR_OK) caviar_dataset_free(out);
  return st;
}
