/* CSV datasets: one example per line, the class label first, then the features; an optional
 * header line; blank lines are skipped. */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/data.h"
#include "caviar/gzfile.h"
#include "caviar/number_format.h"

#define CAVIAR_CSV_MAX_VALUE (FLT_MAX / 2)
#define CAVIAR_CSV_MAX_LINE ((size_t)1 << 26)

typedef struct csv_reader {
  const char *path;
  char *line;
  size_t line_no;
  caviar_error *err;
  const caviar_csv_options *opt;
  long label;             /* the label's column, once known (-1 before the first line) */
  size_t columns;
  /* String labels: names in order of appearance, found through an open-addressing table. */
  int *slots;
  size_t n_slots;
  size_t numeric_line;    /* the first line with a numeric label (0: none) */
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

/* The field at *p as text without surrounding blanks or quotes (written into the line); *p moves
 * to the separator or the line's end. */
static char *take_text(char **p, size_t *len) {
  char *start = *p;
  char *end = strchr(start, ',');
  if (!end) end = start + strlen(start);
  *p = end;
  while (start < end && (*start == ' ' || *start == '\t')) start++;
  char *stop = end;
  while (stop > start && (stop[-1] == ' ' || stop[-1] == '\t')) stop--;
  if (stop - start >= 2 && *start == '"' && stop[-1] == '"') start++, stop--;
  *len = (size_t)(stop - start);
  return start;
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
static caviar_status reserve(caviar_dataset *ds, size_t *cap, size_t rows, bool targets, caviar_error *err) {
  if (rows <= *cap) return CAVIAR_OK;
  size_t grown = *cap ? *cap * 2 : 1024;
  if (grown < rows) grown = rows;
  float *x = realloc(ds->x_f32, grown * ds->d * sizeof *x);
  if (x) ds->x_f32 = x;
  int32_t *y = realloc(ds->labels, grown * sizeof *y);
  if (y) ds->labels = y;
  float *t = targets ? realloc(ds->targets, grown * sizeof *t) : NULL;
  if (t) ds->targets = t;
  if (!x || !y || (targets && !t)) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory reading %zu CSV rows", rows);
  *cap = grown;
  return CAVIAR_OK;
}

static uint64_t hash_text(const char *s, size_t len) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

/* The class of a string label: its index among the names seen so far, a new one if unseen. */
static caviar_status intern(csv_reader *r, caviar_dataset *ds, const char *text, size_t len, int32_t *out) {
  if ((size_t)ds->n_names * 2 >= r->n_slots) {
    size_t n_slots = r->n_slots ? r->n_slots * 2 : 64;
    int *slots = malloc(n_slots * sizeof *slots);
    if (!slots) return caviar_fail(r->err, CAVIAR_ERUNTIME, "%s: out of memory", r->path);
    for (size_t i = 0; i < n_slots; i++) slots[i] = -1;
    for (int k = 0; k < ds->n_names; k++) {
      size_t i = hash_text(ds->names[k], strlen(ds->names[k])) & (n_slots - 1);
      while (slots[i] >= 0) i = (i + 1) & (n_slots - 1);
      slots[i] = k;
    }
    free(r->slots);
    r->slots = slots;
    r->n_slots = n_slots;
  }
  size_t i = hash_text(text, len) & (r->n_slots - 1);
  for (; r->slots[i] >= 0; i = (i + 1) & (r->n_slots - 1)) {
    const char *name = ds->names[r->slots[i]];
    if (strlen(name) == len && memcmp(name, text, len) == 0) {
      *out = r->slots[i];
      return CAVIAR_OK;
    }
  }
  if (ds->n_names == CAVIAR_MAX_CLASSES)
    return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: more than %d distinct labels", r->path, r->line_no,
                       CAVIAR_MAX_CLASSES);
  char **names = realloc(ds->names, ((size_t)ds->n_names + 1) * sizeof *names);
  if (names) ds->names = names;
  char *copy = names ? malloc(len + 1) : NULL;
  if (!copy) return caviar_fail(r->err, CAVIAR_ERUNTIME, "%s: out of memory", r->path);
  memcpy(copy, text, len);
  copy[len] = '\0';
  ds->names[ds->n_names] = copy;
  r->slots[i] = ds->n_names;
  *out = ds->n_names++;
  return CAVIAR_OK;
}

static caviar_status parse_label(csv_reader *r, caviar_dataset *ds, char **p) {
  char *field = *p;
  double label;
  size_t column = (size_t)r->label + 1;
  if (!parse_field(p, &label)) {
    size_t len;
    char *text = take_text(p, &len);
    if (r->opt->task == CAVIAR_TASK_REGRESSION || len == 0)
      return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: column %zu (the %s) is not a %s", r->path, r->line_no, column,
                         r->opt->task == CAVIAR_TASK_REGRESSION ? "target" : "label",
                         r->opt->task == CAVIAR_TASK_REGRESSION ? "finite number" : "number or a name");
    if (r->numeric_line)
      return caviar_fail(r->err, CAVIAR_EINPUT,
                         "%s:%zu: label '%.*s' is a name, but line %zu's is a number; give every label as a name or "
                         "every label as a class index",
                         r->path, r->line_no, (int)(len > 40 ? 40 : len), text, r->numeric_line);
    return intern(r, ds, text, len, &ds->labels[ds->n]);
  }
  (void)field;
  if (!isfinite(label))
    return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: column %zu (the %s) is not a finite number", r->path, r->line_no,
                       column, r->opt->task == CAVIAR_TASK_REGRESSION ? "target" : "label");
  if (r->opt->task == CAVIAR_TASK_REGRESSION) {
    if (fabs(label) > CAVIAR_CSV_MAX_VALUE)
      return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: column %zu: target %g is beyond caviar's 32-bit range", r->path,
                         r->line_no, column, label);
    ds->targets[ds->n] = (float)label;
    ds->labels[ds->n] = 0;
    return CAVIAR_OK;
  }
  if (ds->n_names)
    return caviar_fail(r->err, CAVIAR_EINPUT,
                       "%s:%zu: label %s is a number, but earlier labels are names; give every label as a name or "
                       "every label as a class index",
                       r->path, r->line_no, CAVIAR_NUM(label));
  if (label != floor(label) || label < 0 || label >= CAVIAR_MAX_CLASSES)
    return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: label %s is not a class index in [0, %d)", r->path,
                       r->line_no, CAVIAR_NUM(label), CAVIAR_MAX_CLASSES);
  if (!r->numeric_line) r->numeric_line = r->line_no;
  ds->labels[ds->n] = (int32_t)label;
  return CAVIAR_OK;
}

/* Which column holds the label, from the first line (the header when label_name is given). */
static caviar_status find_label(csv_reader *r, size_t fields, bool header) {
  r->columns = fields;
  if (fields < 2)
    return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: expected a label and at least one feature, got 1 column", r->path,
                       r->line_no);
  if (r->opt->label_name) {
    if (!header)
      return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: label_column '%s' names a header column, but line %zu is data",
                         r->path, r->line_no, r->opt->label_name, r->line_no);
    char *p = r->line;
    for (size_t k = 0; k < fields; k++) {
      size_t len;
      char *text = take_text(&p, &len);
      if (strlen(r->opt->label_name) == len && memcmp(text, r->opt->label_name, len) == 0) {
        r->label = (long)k;
        return CAVIAR_OK;
      }
      if (*p == ',') p++;
    }
    return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: no column named '%s' in the header", r->path, r->line_no,
                       r->opt->label_name);
  }
  long column = r->opt->label_column < 0 ? (long)fields + r->opt->label_column : r->opt->label_column;
  if (column < 0 || column >= (long)fields)
    return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: label_column %d is outside the %zu columns", r->path, r->line_no,
                       r->opt->label_column, fields);
  r->label = column;
  return CAVIAR_OK;
}

static caviar_status parse_row(csv_reader *r, caviar_dataset *ds, size_t *cap) {
  size_t fields = count_fields(r->line);
  if (ds->d == 0 && r->label < 0) {
    caviar_status st = find_label(r, fields, false);
    if (st != CAVIAR_OK) return st;
  }
  if (ds->d == 0) ds->d = r->columns - 1;
  if (fields != ds->d + 1)
    return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: expected %zu columns like the first row, got %zu", r->path,
                       r->line_no, ds->d + 1, fields);
  /* Rows are indexed by uint32 (the split, the minibatch order); features capped like IDX's. */
  if (ds->n + 1 > UINT32_MAX || (ds->n + 1) * ds->d > ((size_t)1 << 40))
    return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: more rows than caviar reads (2^32 - 1 rows, 2^40 values)",
                       r->path, r->line_no);
  caviar_status st = reserve(ds, cap, ds->n + 1, r->opt->task == CAVIAR_TASK_REGRESSION, r->err);
  if (st != CAVIAR_OK) return st;
  char *p = r->line;
  float *row = ds->x_f32 + ds->n * ds->d;
  size_t j = 0;
  for (size_t k = 0; k < fields; k++) {
    if (k) p++; /* the comma */
    if ((long)k == r->label) {
      st = parse_label(r, ds, &p);
      if (st != CAVIAR_OK) return st;
      continue;
    }
    double v;
    if (!parse_field(&p, &v) || !isfinite(v))
      return caviar_fail(r->err, CAVIAR_EINPUT, "%s:%zu: column %zu is not a finite number", r->path, r->line_no, k + 1);
    /* Half the float range, so that a feature's spread (x - shift) stays a finite float. */
    if (fabs(v) > CAVIAR_CSV_MAX_VALUE)
      return caviar_fail(r->err, CAVIAR_EINPUT,
                         "%s:%zu: column %zu: %g is beyond the range caviar's 32-bit features hold "
                         "(magnitude at most %.3g)",
                         r->path, r->line_no, k + 1, v, CAVIAR_CSV_MAX_VALUE);
    row[j++] = (float)v;
  }
  ds->n++;
  return CAVIAR_OK;
}

/* Whether the first line is a header: a label column given by name says so; otherwise a line with
 * a feature that is not a number at all (a label may be a name), or whose label column is neither
 * a number nor what a data row's label could be next to numbers. */
static bool looks_like_header(csv_reader *r, size_t fields) {
  if (r->opt->label_name) return true;
  long label = r->opt->label_column < 0 ? (long)fields + r->opt->label_column : r->opt->label_column;
  char *p = r->line;
  bool label_number = true, features_numbers = true;
  for (size_t k = 0; k < fields; k++) {
    if (k) p++;
    double v;
    char *start = p;
    bool number = parse_field(&p, &v);
    if (!number) {
      p = strchr(start, ',');
      if (!p) p = start + strlen(start);
    }
    if ((long)k == label) label_number = number;
    else features_numbers = features_numbers && number;
  }
  /* "label,x,y" and "species,5.1,3.5": a non-number label beside number features is a data row
   * with a named class, unless the task is regression (a target must be a number). */
  if (!features_numbers) return true;
  return !label_number && r->opt->task == CAVIAR_TASK_REGRESSION;
}

/* One line (NUL-terminated, without its newline): blank lines are skipped, and a first line that
 * is not data is the header. */
static caviar_status take_line(csv_reader *r, caviar_dataset *out, size_t *cap, bool *first) {
  size_t n = strlen(r->line);
  if (n && r->line[n - 1] == '\r') r->line[n - 1] = '\0';
  r->line_no++;
  if (r->line_no == 1 && (unsigned char)r->line[0] == 0xef && (unsigned char)r->line[1] == 0xbb &&
      (unsigned char)r->line[2] == 0xbf)
    r->line += 3; /* a UTF-8 byte order mark */
  if (is_blank(r->line)) return CAVIAR_OK;
  if (*first) {
    *first = false;
    size_t fields = count_fields(r->line);
    if (looks_like_header(r, fields)) return find_label(r, fields, true);
  }
  return parse_row(r, out, cap);
}

static int compare_names(const void *a, const void *b) {
  return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

/* Names become classes in sorted order, whatever order the file lists them in. */
static caviar_status sort_names(caviar_dataset *ds, caviar_error *err) {
  if (!ds->names) return CAVIAR_OK;
  char ***order = caviar_alloc((size_t)ds->n_names, sizeof *order, "label names", err);
  int32_t *class_of = caviar_alloc((size_t)ds->n_names, sizeof *class_of, "label names", err);
  char **sorted = caviar_alloc((size_t)ds->n_names, sizeof *sorted, "label names", err);
  caviar_status st = order && class_of && sorted ? CAVIAR_OK : CAVIAR_ERUNTIME;
  if (st == CAVIAR_OK) {
    for (int k = 0; k < ds->n_names; k++) order[k] = &ds->names[k];
    qsort(order, (size_t)ds->n_names, sizeof *order, compare_names);
    for (int k = 0; k < ds->n_names; k++) {
      sorted[k] = *order[k];
      class_of[order[k] - ds->names] = k;
    }
    for (size_t i = 0; i < ds->n; i++) ds->labels[i] = class_of[ds->labels[i]];
    free(ds->names);
    ds->names = sorted;
    sorted = NULL;
  }
  free(order);
  free(class_of);
  free(sorted);
  return st;
}

caviar_status caviar_csv_read(const char *path, caviar_dataset *out, caviar_error *err) {
  caviar_csv_options options = {0, NULL, CAVIAR_TASK_CLASSIFICATION};
  return caviar_csv_read_with(path, &options, out, err);
}

/* Streams the file line by line, so the text is never held whole: memory is the parsed floats. */
caviar_status caviar_csv_read_with(const char *path, const caviar_csv_options *options, caviar_dataset *out,
                                   caviar_error *err) {
  memset(out, 0, sizeof *out);
  caviar_in in;
  caviar_status st = caviar_in_open(&in, path, err);
  if (st != CAVIAR_OK) return st;
  size_t buf_cap = (size_t)1 << 20, len = 0, pos = 0;
  char *buf = malloc(buf_cap + 1);
  if (!buf) st = caviar_fail(err, CAVIAR_ERUNTIME, "%s: out of memory", path);
  csv_reader r = {path, NULL, 0, err, options, -1, 0, NULL, 0, 0};
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
  out->read[0] = out->read[1] = (caviar_file_id){in.size, (uint32_t)in.crc};
  caviar_in_close(&in);
  free(r.slots);
  if (st == CAVIAR_OK && out->n == 0) st = caviar_fail(err, CAVIAR_EINPUT, "%s: no data rows", path);
  if (st == CAVIAR_OK) st = sort_names(out, err);
  if (st != CAVIAR_OK) caviar_dataset_free(out);
  return st;
}
