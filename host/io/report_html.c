#include "caviar/report_html.h"

#include <errno.h>
#include <math.h>
#include <stdio_ext.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caviar/atomic_file.h"
#include "caviar/hparams.h"
#include "caviar/json_text.h"
#include "caviar/number_format.h"
#include "caviar/space.h"
#include "svg_plot.h"

/* ---- the data the page is drawn from ---- */

typedef struct trial {
  int id, epochs, bracket, round, rank, color; /* color: index into the epochs-reached palette */
  int place; /* on the page's leaderboard, from 1 */
  const char *status;
  double value; /* the metric at its last epoch (NaN: none, diverged) */
  const cJSON *json, *params;
  const cJSON *lineage; /* PBT's events (an array), or NULL */
} trial;

typedef struct point {
  int trial, epoch;
  double value; /* the metric */
} point;

typedef struct param {
  const char *name;
  svg_scale scale;
  int n_categories; /* SVG_CATEGORY: the spec's values, in its order */
  char text[64][24];
  const char *labels[64];
  double x[64];     /* numbers' values (names: unused) */
  bool named;
  double lo, hi;    /* over the trials */
} param;

typedef struct page {
  const cJSON *summary, *spec;
  const char *metric, *kind;
  bool maximize;
  bool acc_slot;        /* the metric's values are curves.csv's val_acc (val_acc, or a study's metric to maximize) */
  double target_std;    /* regression: RMSE = sqrt(val_loss) * std */
  trial *t;
  int n;
  int *by_id, max_id;   /* trial id -> index into t, -1 */
  point *pts;           /* by trial, then epoch */
  size_t n_pts;
  size_t *first;        /* per trial index: its first point; count in n_of */
  int *n_of;
  const char **lines;   /* curves.csv's lines that name a trial (at their line break), in file order */
  size_t *line_first;  /* per trial index: its first line in lines (a trial's lines are together, in file order) */
  int *line_count;     /* per trial index: its lines */
  size_t n_lines;
  param params[32];
  int n_params;
  double *px; /* n x n_params: each trial's position on each parameter's axis (param_x), found once */
  int epochs_reached[64]; /* distinct, ascending */
  int n_epochs_reached;
  int max_epoch;
  double vlo, vhi; /* the metric's range over trials that did not diverge */
  int charts;
} page;

static const cJSON *item(const cJSON *obj, const char *key) { return cJSON_GetObjectItemCaseSensitive(obj, key); }

static double number(const cJSON *v, double otherwise) { return cJSON_IsNumber(v) ? v->valuedouble : otherwise; }

/* A trial's parameter by the name the box gives it: a key, or (a W&B config's nested parameter,
 * "optimizer.lr") the path of keys through its config. */
static const cJSON *param_item(const cJSON *params, const char *name) {
  const cJSON *v = item(params, name);
  if (v || !strchr(name, '.')) return v;
  char path[512];
  snprintf(path, sizeof path, "%s", name);
  v = params;
  for (char *key = path, *dot; v && key; key = dot ? dot + 1 : NULL) {
    dot = strchr(key, '.');
    if (dot) *dot = '\0';
    v = item(v, key);
  }
  return v;
}

/* A trial's ranked value: summary.json's "value", else its metric's key, else (a study's metric
 * of any name) among the values it logged. */
static const cJSON *value_of(const cJSON *t, const char *metric) {
  const cJSON *v = item(t, "value");
  if (!v) v = item(t, metric);
  return v ? v : item(item(t, "metrics"), metric);
}

static const char *string(const cJSON *v, const char *otherwise) {
  return cJSON_IsString(v) ? v->valuestring : otherwise;
}

static bool better(const page *pg, double a, double b) { return pg->maximize ? a > b : a < b; }


/* The metric from a curve row's validation loss and accuracy. */
static double metric_of(const page *pg, double val_loss, double val_acc) {
  if (pg->acc_slot) return val_acc;
  if (!strcmp(pg->metric, "val_rmse")) return sqrt(val_loss) * pg->target_std;
  if (!strcmp(pg->metric, "val_mse")) return val_loss * pg->target_std * pg->target_std;
  return val_loss;
}

/* A piece of curves.csv read on its own: the lines that name a known trial (and that trial's
 * index), and the points, each in file order. */
typedef struct curve_piece {
  const char *from, *to; /* its line breaks lie in [from, to) */
  const char **lines;
  int *trial;
  size_t n_lines;
  point *pts;
  size_t n_pts;
  bool failed; /* out of memory: nothing of it or after it is kept */
} curve_piece;

/* (int)strtol(p, end, 10), without strtol's cost for the plain case (up to 9 digits, no sign or
 * space before them: every number a sweep writes there). */
static int line_int(const char *p, char **end) {
  int v = 0, k = 0;
  for (; k < 10 && p[k] >= '0' && p[k] <= '9'; k++) v = 10 * v + (p[k] - '0');
  if (k == 0 || k == 10) return (int)strtol(p, end, 10);
  *end = (char *)(p + k);
  return v;
}

static void read_piece(const page *pg, curve_piece *c) {
  size_t line_cap = 0, pt_cap = 0;
  const char *line = memchr(c->from, '\n', (size_t)(c->to - c->from));
  for (; line && line[1]; line = strchr(line + 1, '\n')) {
    if (line >= c->to) break;
    int id, epoch;
    char *end;
    id = line_int(line + 1, &end);
    if (*end != ',') continue;
    bool known = id >= 0 && id <= pg->max_id && pg->by_id[id] >= 0;
    if (known) {
      if (c->n_lines == line_cap) {
        line_cap = line_cap ? 2 * line_cap : 1024;
        const char **lines = realloc(c->lines, line_cap * sizeof *lines);
        if (lines) c->lines = lines;
        int *trial = realloc(c->trial, line_cap * sizeof *trial);
        if (trial) c->trial = trial;
        if (!lines || !trial) {
          c->failed = true;
          return;
        }
      }
      c->lines[c->n_lines] = line;
      c->trial[c->n_lines++] = pg->by_id[id];
    }
    epoch = line_int(end + 1, &end);
    if (*end != ',') continue;
    /* caviar_decimal_value reads nan and inf as strtod does, as curves.csv writes them. */
    double train = caviar_decimal_value(end + 1, &end);
    if (*end != ',') continue;
    double vloss = caviar_decimal_value(end + 1, &end);
    if (*end != ',') continue;
    double vacc = caviar_decimal_value(end + 1, &end);
    (void)train;
    if (!known) continue;
    if (c->n_pts == pt_cap) {
      pt_cap = pt_cap ? 2 * pt_cap : 1024;
      point *grown = realloc(c->pts, pt_cap * sizeof *grown);
      if (!grown) {
        c->failed = true;
        return;
      }
      c->pts = grown;
    }
    c->pts[c->n_pts++] = (point){id, epoch, metric_of(pg, vloss, vacc)};
  }
}

/* curves.csv's lines and points: read in pieces side by side (a big sweep's file holds millions),
 * then filed in the file's order. */
#define CURVE_PIECES 16
size_t caviar_page_piece_bytes = CAVIAR_PAGE_PIECE_BYTES;

static void read_curves(page *pg, const char *curves) {
  if (!curves) return;
  size_t length = strlen(curves);
  int pieces = length > caviar_page_piece_bytes ? CURVE_PIECES : 1;
  curve_piece c[CURVE_PIECES];
  memset(c, 0, sizeof c);
  /* Each piece ends just after a line break, so each line break (a line's start) is in one piece. */
  const char *cut = curves, *end = curves + length;
  for (int k = 0; k < pieces; k++) {
    c[k].from = cut;
    const char *to = k == pieces - 1 ? end : curves + length / (size_t)pieces * (size_t)(k + 1);
    if (to < cut) to = cut;
    const char *brk = to < end ? memchr(to, '\n', (size_t)(end - to)) : NULL;
    c[k].to = k == pieces - 1 || !brk ? end : brk + 1;
    cut = c[k].to;
  }
#pragma omp parallel for schedule(dynamic, 1) if (pieces > 1)
  for (int k = 0; k < pieces; k++) read_piece(pg, &c[k]);
  /* The lines of the pieces up to the first that ran out of memory, by trial (a counting sort,
   * each trial's in the file's order); the points of those before it. */
  size_t n_pts = 0, cap = 0, n_lines = 0;
  int kept = pieces, pts_pieces = pieces;
  for (int k = 0; k < pieces; k++) {
    n_lines += c[k].n_lines;
    if (c[k].failed) {
      kept = k + 1;
      pts_pieces = k;
      break;
    }
  }
  pg->lines = n_lines ? malloc(n_lines * sizeof *pg->lines) : NULL;
  /* No memory for the lines: no epoch tables; the points stay. */
  for (int k = 0; pg->lines && k < kept; k++)
    for (size_t j = 0; j < c[k].n_lines; j++) pg->line_count[c[k].trial[j]]++;
  size_t next = 0;
  for (int i = 0; pg->lines && i < pg->n; i++) pg->line_first[i] = next, next += (size_t)pg->line_count[i], pg->line_count[i] = 0;
  for (int k = 0; pg->lines && k < kept; k++)
    for (size_t j = 0; j < c[k].n_lines; j++) {
      int i = c[k].trial[j];
      pg->lines[pg->line_first[i] + (size_t)pg->line_count[i]++] = c[k].lines[j];
    }
  pg->n_lines = pg->lines ? n_lines : 0;
  for (int k = 0; k < pts_pieces; k++) n_pts += c[k].n_pts;
  /* The points whole, in order (the pieces' own, one after another). */
  pg->pts = n_pts ? malloc(n_pts * sizeof *pg->pts) : NULL;
  for (int k = 0; k < pts_pieces && pg->pts && cap < n_pts; k++) {
    memcpy(pg->pts + cap, c[k].pts, c[k].n_pts * sizeof *pg->pts);
    cap += c[k].n_pts;
  }
  pg->n_pts = pg->pts ? n_pts : 0;
  for (int k = 0; k < pieces; k++) {
    free(c[k].lines);
    free(c[k].trial);
    free(c[k].pts);
  }
  /* By trial, then epoch: the points as a stable sort orders them. A trial's points, in the order
   * the file lists them, go to its place (a sweep writes each trial's epochs in order); a trial
   * whose epochs are not ascending there gets its run sorted by insertion (stable). */
  for (size_t k = 0; k < pg->n_pts; k++) pg->n_of[pg->by_id[pg->pts[k].trial]]++;
  size_t at = 0;
  for (int i = 0; i < pg->n; i++) pg->first[i] = at, at += (size_t)pg->n_of[i];
  point *sorted = pg->n_pts ? malloc(pg->n_pts * sizeof *sorted) : NULL;
  size_t *fill = sorted ? calloc((size_t)(pg->n > 0 ? pg->n : 1), sizeof *fill) : NULL;
  if (pg->n_pts && (!sorted || !fill)) { /* no memory: no curves */
    free(sorted);
    free(fill);
    for (int i = 0; i < pg->n; i++) pg->n_of[i] = 0;
    pg->n_pts = 0;
    return;
  }
  for (size_t k = 0; k < pg->n_pts; k++) {
    int i = pg->by_id[pg->pts[k].trial];
    sorted[pg->first[i] + fill[i]++] = pg->pts[k];
  }
  for (int i = 0; i < pg->n; i++) {
    point *run = sorted + pg->first[i];
    for (int j = 1; j < pg->n_of[i]; j++) {
      point p = run[j];
      int k = j;
      for (; k > 0 && run[k - 1].epoch > p.epoch; k--) run[k] = run[k - 1];
      run[k] = p;
    }
  }
  free(fill);
  free(pg->pts);
  pg->pts = sorted;
  for (size_t k = 0; k < pg->n_pts; k++)
    if (pg->pts[k].epoch > pg->max_epoch) pg->max_epoch = pg->pts[k].epoch;
}

/* A parameter's text in a trial ("-": switched off by a condition). */
static void value_text(const cJSON *v, char *buf, size_t size) {
  if (cJSON_IsNumber(v)) svg_number(v->valuedouble, buf, size);
  else if (cJSON_IsString(v)) snprintf(buf, size, "%s", v->valuestring);
  else snprintf(buf, size, "-");
}

/* Which parameters were swept, on which scale: each round's box (summary.json's rounds) names
 * the distribution; an older summary's spec does too. A parameter that took one value is left out. */
static const cJSON *first_box(const page *pg) {
  const cJSON *box = item(cJSON_GetArrayItem(item(pg->summary, "rounds"), 0), "box");
  return box ? box : item(pg->spec, "parameters");
}

/* A trial's position on a parameter's axis: the value, or its column; NaN when it has none. */
static double param_x(const param *p, const cJSON *v) {
  if (p->scale != SVG_CATEGORY) return cJSON_IsNumber(v) ? v->valuedouble : NAN;
  for (int k = 0; k < p->n_categories; k++) {
    if (p->named ? cJSON_IsString(v) && !strcmp(p->text[k], v->valuestring) : cJSON_IsNumber(v) && p->x[k] == v->valuedouble)
      return k;
  }
  return NAN;
}

/* The box's parameters that the trials' values sweep (more than one value among them), into
 * pg->params, each trial's position on each one's axis into pg->px (false: no memory). */
static bool find_params(page *pg) {
  /* A parameter's value in each trial, looked up once for the sweep test and the positions. */
  size_t n = (size_t)(pg->n > 0 ? pg->n : 1), most = sizeof pg->params / sizeof pg->params[0];
  int in_box = cJSON_GetArraySize(first_box(pg));
  size_t columns = in_box < 1 ? 1 : (size_t)in_box < most ? (size_t)in_box : most;
  const cJSON **found = malloc(n * sizeof *found);
  double *column = malloc(columns * n * sizeof *column); /* the swept ones' positions, a column of n each */
  bool ok = found && column;
  if (!ok) {
    free(found);
    free(column);
    return false;
  }
  const cJSON *entry;
  cJSON_ArrayForEach(entry, first_box(pg)) {
    if (pg->n_params == (int)(sizeof pg->params / sizeof pg->params[0])) break;
    param *p = &pg->params[pg->n_params];
    memset(p, 0, sizeof *p);
    p->name = entry->string;
    caviar_dist dist;
    const char *dname = string(item(entry, "distribution"), NULL);
    const cJSON *values = item(entry, "values");
    bool known = dname && caviar_dist_lookup(dname, &dist);
    const caviar_hp_info *hp = caviar_hp_find(entry->string);
    if (cJSON_IsArray(values) || (known && caviar_dist_get(dist)->family == CAVIAR_FAMILY_LIST)) {
      p->scale = SVG_CATEGORY;
      const cJSON *v;
      cJSON_ArrayForEach(v, values) {
        if (p->n_categories == 64) break;
        int k = p->n_categories++;
        if (cJSON_IsString(v)) {
          snprintf(p->text[k], sizeof p->text[k], "%s", v->valuestring);
          p->named = true;
        } else {
          p->x[k] = number(v, NAN);
          svg_number(p->x[k], p->text[k], sizeof p->text[k]);
        }
        p->labels[k] = p->text[k];
      }
    } else if (known) {
      const caviar_dist_info *info = caviar_dist_get(dist);
      p->scale = info->family == CAVIAR_FAMILY_INTEGER     ? SVG_INTEGER
                 : info->scale == CAVIAR_SCALE_LN        ? SVG_LOG
                 : info->scale == CAVIAR_SCALE_ONE_MINUS ? SVG_ONE_MINUS
                                                         : SVG_LINEAR;
    } else {
      p->scale = hp && hp->type == CAVIAR_HP_INT ? SVG_INTEGER : SVG_LINEAR;
    }
    /* The values the trials took: more than one makes it swept. */
    int distinct = 0;
    double first = NAN;
    const char *first_text = NULL;
    p->lo = INFINITY;
    p->hi = -INFINITY;
#pragma omp parallel for schedule(static, 1024) if (pg->n > 4096)
    for (int i = 0; i < pg->n; i++) found[i] = param_item(pg->t[i].params, p->name);
    for (int i = 0; i < pg->n; i++) {
      const cJSON *v = found[i];
      if (cJSON_IsNumber(v)) {
        if (distinct == 0) first = v->valuedouble, distinct = 1;
        else if (v->valuedouble != first) distinct = 2;
        if (v->valuedouble < p->lo) p->lo = v->valuedouble;
        if (v->valuedouble > p->hi) p->hi = v->valuedouble;
      } else if (cJSON_IsString(v)) {
        if (distinct == 0) first_text = v->valuestring, distinct = 1;
        else if (!first_text || strcmp(first_text, v->valuestring)) distinct = 2;
      }
    }
    if (distinct < 2) continue;
    for (int i = 0; i < pg->n; i++) column[(size_t)pg->n_params * n + (size_t)i] = param_x(p, found[i]);
    pg->n_params++;
  }
  free(found);
  /* By trial: trial i's positions at i * n_params. */
  pg->px = malloc(n * (size_t)(pg->n_params > 0 ? pg->n_params : 1) * sizeof *pg->px);
  for (int k = 0; pg->px && k < pg->n_params; k++)
    for (int i = 0; i < pg->n; i++) pg->px[(size_t)i * pg->n_params + k] = column[(size_t)k * n + (size_t)i];
  free(column);
  return ok && pg->px;
}

/* Trial t's position on swept parameter k's axis, as load found it. */
static double trial_x(const page *pg, const trial *t, int k) { return pg->px[(size_t)(t - pg->t) * pg->n_params + k]; }

/* ---- colours ---- */

/* Viridis at t in [0, 1] (dark blue to yellow), from 6 of its stops. */
static void viridis(double t, char *out) {
  static const unsigned char stops[][3] = {{68, 1, 84},   {65, 68, 135},  {42, 120, 142},
                                           {34, 168, 132}, {122, 209, 81}, {253, 231, 37}};
  if (!(t >= 0)) t = 0;
  if (t > 1) t = 1;
  double x = t * 5;
  int k = (int)x;
  if (k > 4) k = 4;
  double f = x - k;
  int rgb[3];
  for (int c = 0; c < 3; c++) rgb[c] = (int)lround(stops[k][c] + f * (stops[k + 1][c] - stops[k][c]));
  snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

/* Survivors' colours (Tableau 10 less its grey). */
static const char *const survivor_colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
                                              "#e377c2", "#bcbd22", "#17becf", "#d62728"};

static void epoch_color(const page *pg, int k, char *out) {
  if (pg->n_epochs_reached <= 1) snprintf(out, 8, "#1f77b4");
  else viridis(0.9 * k / (pg->n_epochs_reached - 1), out);
}

/* ---- SVG pieces ---- */

static void chart_begin(page *pg, FILE *f, const char *id, int w, int h, const char *label) {
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"%s\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"",
          id, w, h, w, h);
  svg_escape(f, label);
  fputs("\">\n", f);
  pg->charts++;
}

/* An axis with its ticks, labels and name; `at` is the other coordinate where it is drawn. */
static void draw_axis(FILE *f, const svg_axis *a, double at, double span_to, const char *name, bool grid) {
  svg_ticks t;
  svg_axis_ticks(a, &t);
  fputs("<g class=\"axis\">", f);
  if (a->vertical) fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", at, a->px0, at, a->px1);
  else fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", a->px0, at, a->px1, at);
  for (int i = 0; i < t.n; i++) {
    double p = svg_px(a, t.at[i]);
    if (a->vertical) {
      if (grid) fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", at, p, span_to, p);
      fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", at - 4, p,
              at, p, at - 6, p + 4);
    } else {
      if (grid) fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", p, at, p, span_to);
      fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", p, at,
              p, at + 4, p, at + 15);
    }
    svg_escape(f, t.label[i]);
    fputs("</text>", f);
  }
  if (name) {
    if (a->vertical)
      fprintf(f, "<text class=\"name\" transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\">", at - 46,
              (a->px0 + a->px1) / 2);
    else fprintf(f, "<text class=\"name\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", (a->px0 + a->px1) / 2, at + 30);
    svg_escape(f, name);
    fputs("</text>", f);
  }
  fputs("</g>\n", f);
}

/* What hovering a trial's mark says: its id, status, epochs, metric and swept parameters. */
static void trial_title(const page *pg, FILE *f, const trial *t, bool params) {
  char v[32];
  svg_number(t->value, v, sizeof v);
  if (!isfinite(t->value)) snprintf(v, sizeof v, "-");
  fprintf(f, "<title>trial %d: %s after %d epoch%s, ", t->id, t->status, t->epochs, t->epochs == 1 ? "" : "s");
  svg_escape(f, pg->metric);
  fprintf(f, " %s", v);
  if (params)
    for (int k = 0; k < pg->n_params; k++) {
      const cJSON *x = param_item(t->params, pg->params[k].name);
      if (!x) continue;
      value_text(x, v, sizeof v);
      fputs(k == 0 ? "; " : ", ", f);
      svg_escape(f, pg->params[k].name);
      fputc('=', f);
      svg_escape(f, v);
    }
  fputs("</title>", f);
}

/* The metric's axis: its range over the trials (diverged values are drawn at its edge). */
static svg_axis value_axis(const page *pg, double bottom, double top) {
  svg_axis y = {.scale = SVG_LINEAR, .lo = pg->vlo, .hi = pg->vhi, .px0 = bottom, .px1 = top, .vertical = true};
  svg_axis_pad(&y, 0.04);
  return y;
}

/* A value's pixel on the metric's axis, kept inside it; a missing value (diverged) at its worst end. */
static double value_px(const page *pg, const svg_axis *a, double x) {
  double lo = a->px0 < a->px1 ? a->px0 : a->px1, hi = a->px0 < a->px1 ? a->px1 : a->px0;
  if (!isfinite(x)) return pg->maximize ? a->px0 : a->px1;
  double p = svg_px(a, x);
  return p < lo ? lo : p > hi ? hi : p;
}

/* before x between y after, the coordinates as "%.1f" prints them, without printf:
 * the charts' paths of a big sweep hold millions of them. */
static void put_point(FILE *f, const char *before, double x, const char *between, double y, const char *after) {
  fputs(before, f);
  svg_put_fixed(f, x, 1);
  fputs(between, f);
  svg_put_fixed(f, y, 1);
  fputs(after, f);
}

/* Past HOVER_ALL trials only the leaderboard's first HOVER_TOP get marks of their own (a title to
 * hover, a link); the rest are drawn together, one path per colour, and the leaderboard lists its
 * first ROWS_MAX: 5,000 trials stay a page of a few MB. */
#define HOVER_ALL 1000
#define HOVER_TOP 300
#define ROWS_MAX CAVIAR_PAGE_ROWS
static bool hover(const page *pg, const trial *t) { return pg->n <= HOVER_ALL || t->place <= HOVER_TOP; }
static bool listed(const trial *t) { return t->place <= ROWS_MAX; }

/* Marks and lines get thinner and lighter as trials grow in number, so 5,000 stay legible. */
static double mark_r(const page *pg) { return pg->n > 1000 ? 1.6 : pg->n > 200 ? 2.2 : 3; }
static double faint(const page *pg) { return pg->n > 1000 ? 0.22 : pg->n > 100 ? 0.4 : 0.7; }

static void caption(FILE *f, const char *text) {
  fputs("<figcaption>", f);
  svg_escape(f, text);
  fputs("</figcaption></figure>\n", f);
}

/* The legend of epochs reached (the colour of history and parameter marks). */
static void epochs_legend(const page *pg, FILE *f) {
  if (pg->n_epochs_reached <= 1) return;
  fputs("<p class=\"legend\">colour: epochs reached ", f);
  char c[8];
  for (int k = 0; k < pg->n_epochs_reached; k++) {
    epoch_color(pg, k, c);
    fprintf(f, "<span class=\"key\" style=\"background:%s\"></span>%d ", c, pg->epochs_reached[k]);
  }
  fputs("(a value is the trial's last: culled trials' after fewer epochs)</p>\n", f);
}

/* Learning curves: one panel per Hyperband bracket (one otherwise), rungs dashed. */
static void chart_curves(page *pg, FILE *f) {
  const cJSON *brackets = item(pg->summary, "brackets");
  int n_panels = cJSON_GetArraySize(brackets) > 1 ? cJSON_GetArraySize(brackets) : 1;
  int w = n_panels > 1 ? 540 : 1000, h = n_panels > 1 ? 300 : 380;
  fputs("<h2 id=\"curves\">Learning curves</h2>\n", f);
  if (pg->n_pts == 0) {
    fputs("<p>No epoch finished yet.</p>\n", f);
    return;
  }
  /* Survivors' colours, best first. */
  int *color = calloc((size_t)pg->n + 1, sizeof *color);
  if (!color) return;
  /* Survivors numbered by rank (the page's trials are in id order). */
  int n_surv = 0;
  for (int i = 0; i < pg->n; i++) n_surv += !strcmp(pg->t[i].status, "survived");
  /* The leaderboard puts survivors first, so their ranks are 1 .. n_surv. */
  for (int i = 0; i < pg->n; i++)
    if (!strcmp(pg->t[i].status, "survived")) color[i] = pg->t[i].rank >= 1 && pg->t[i].rank <= n_surv ? pg->t[i].rank : n_surv;
  for (int b = 0; b < n_panels; b++) {
    const cJSON *bracket = n_panels > 1 ? cJSON_GetArrayItem(brackets, b) : NULL;
    const cJSON *rungs = bracket ? item(bracket, "rungs") : item(pg->summary, "rungs");
    char id[32], label[96];
    snprintf(id, sizeof id, "curves-%d", b);
    if (bracket) snprintf(label, sizeof label, "Learning curves of bracket %d", b);
    else snprintf(label, sizeof label, "Learning curves");
    fputs("<figure class=\"panel\">", f);
    chart_begin(pg, f, id, w, h, label);
    svg_axis x = {.scale = SVG_INTEGER, .lo = 1, .hi = pg->max_epoch > 1 ? pg->max_epoch : 2, .px0 = 64, .px1 = w - 16};
    svg_axis y = value_axis(pg, h - 44, 24);
    draw_axis(f, &y, x.px0, x.px1, pg->metric, true);
    draw_axis(f, &x, y.px0, y.px1, "epoch", false);
    if (bracket) {
      fprintf(f, "<text class=\"name\" x=\"%.1f\" y=\"14\">bracket %d (%d trial%s)</text>", x.px0, b,
              (int)number(item(bracket, "trials"), 0), number(item(bracket, "trials"), 0) == 1 ? "" : "s");
    }
    const cJSON *rung;
    cJSON_ArrayForEach(rung, rungs) {
      double px = svg_px(&x, number(rung, 0));
      fprintf(f, "<line class=\"rung\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/><text class=\"rungl\" x=\"%.1f\" y=\"%.1f\">rung %d</text>",
              px, y.px0, px, y.px1, px + 3, y.px1 + 10, (int)number(rung, 0));
    }
    /* Trials without marks of their own: one path per status. */
    static const char *const groups[][2] = {{"culled", "c"}, {"running", "r"}, {"diverged", "d"}};
    for (int g = 0; pg->n > HOVER_ALL && g < 3; g++) {
      fprintf(f, "<path class=\"all %s\" d=\"", groups[g][1]);
      for (int i = 0; i < pg->n; i++) {
        const trial *t = &pg->t[i];
        if ((bracket && t->bracket != b) || hover(pg, t) || strcmp(t->status, groups[g][0]) || pg->n_of[i] == 0) continue;
        const point *p = pg->pts + pg->first[i];
        int n = pg->n_of[i], step = n > 300 ? (n + 299) / 300 : 1;
        for (int j = 0; j < n; j += step) put_point(f, j ? "L" : "M", svg_px(&x, p[j].epoch), " ", value_px(pg, &y, p[j].value), "");
        if (n == 1) fputs("h0", f);
      }
      fputs("\"/>\n", f);
    }
    /* Culled and running first, diverged, then survivors on top. */
    for (int pass = 0; pass < 3; pass++) {
      for (int i = 0; i < pg->n; i++) {
        const trial *t = &pg->t[i];
        if (bracket && t->bracket != b) continue;
        bool surv = color[i] > 0, div = !strcmp(t->status, "diverged");
        if ((pass == 0) != (!surv && !div) || (pass == 1) != div || (pass == 2) != surv) continue;
        int n = pg->n_of[i];
        if (n == 0 || (!surv && !hover(pg, t))) continue;
        const point *p = pg->pts + pg->first[i];
        int step = n > 300 ? (n + 299) / 300 : 1;
        const char *cls = surv ? "s" : div ? "d" : !strcmp(t->status, "running") ? "r" : "c";
        if (surv) fprintf(f, "<g class=\"s\" style=\"stroke:%s\">", survivor_colors[(color[i] - 1) % 9]);
        else fprintf(f, "<g class=\"%s\">", cls);
        if (n == 1) fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\">", svg_px(&x, p[0].epoch),
                            value_px(pg, &y, p[0].value), mark_r(pg) * 0.7);
        else {
          fputs("<polyline points=\"", f);
          for (int j = 0; j < n; j += step) put_point(f, "", svg_px(&x, p[j].epoch), ",", value_px(pg, &y, p[j].value), " ");
          if ((n - 1) % step) put_point(f, "", svg_px(&x, p[n - 1].epoch), ",", value_px(pg, &y, p[n - 1].value), "");
          fputs("\">", f);
        }
        trial_title(pg, f, t, true);
        fputs(n == 1 ? "</circle>" : "</polyline>", f);
        if (div) { /* where it stopped */
          double cx = svg_px(&x, p[n - 1].epoch), cy = value_px(pg, &y, p[n - 1].value);
          fprintf(f, "<path class=\"x\" d=\"M%.1f %.1fl6 6m0 -6l-6 6\"/>", cx - 3, cy - 3);
        }
        fputs("</g>\n", f);
      }
    }
    fputs("</svg>", f);
    caption(f, bracket ? "Culled trials grey, survivors in colour, diverged ones red with a cross where they stopped; "
                         "dashed lines: this bracket's rungs."
                       : "The metric after every epoch of every trial: culled trials grey, running ones purple, "
                         "survivors in colour, diverged ones red with a cross where they stopped; dashed lines: the rungs.");
  }
  if (n_surv > 0) {
    fputs("<p class=\"legend\">survivors: ", f);
    int shown = 0;
    for (int r = 1; r <= n_surv && shown < 9; r++)
      for (int i = 0; i < pg->n; i++)
        if (color[i] == r) {
        fprintf(f, "<span class=\"key\" style=\"background:%s\"></span><a href=\"#row-%d\">trial %d</a> ",
                survivor_colors[(color[i] - 1) % 9], pg->t[i].id, pg->t[i].id);
        shown++;
      }
    if (n_surv > 9) fprintf(f, "and %d more (colours repeat)", n_surv - 9);
    fputs("</p>\n", f);
  }
  free(color);
}

/* Optimization history: each trial's last value in the order drawn, and the best so far. */
static void chart_history(page *pg, FILE *f) {
  const int w = 1000, h = 320;
  fputs("<h2 id=\"history\">Optimization history</h2>\n<figure>", f);
  chart_begin(pg, f, "history-chart", w, h, "Optimization history");
  int id_lo = pg->n ? pg->t[0].id : 0, id_hi = id_lo;
  for (int i = 0; i < pg->n; i++) {
    if (pg->t[i].id < id_lo) id_lo = pg->t[i].id;
    if (pg->t[i].id > id_hi) id_hi = pg->t[i].id;
  }
  svg_axis x = {.scale = SVG_INTEGER, .lo = id_lo, .hi = id_hi, .px0 = 64, .px1 = w - 16};
  svg_axis_pad(&x, 0.01);
  svg_axis y = value_axis(pg, h - 44, 16);
  draw_axis(f, &y, x.px0, x.px1, pg->metric, true);
  draw_axis(f, &x, y.px0, y.px1, "trial (in the order drawn)", false);
  char c[8];
  for (int i = 0; i < pg->n; i++) {
    const trial *t = &pg->t[i];
    if (t->epochs == 0) continue;
    epoch_color(pg, t->color, c);
    bool own = hover(pg, t) && listed(t);
    if (own) fprintf(f, "<a href=\"#row-%d\">", t->id);
    /* What "%.1f", "%d" and "%.9g" print, without printf: a mark for each of 100,000 trials. */
    char id[24], v[40];
    caviar_int_text(id, t->id);
    caviar_float_g_text(v, sizeof v, t->value, 9);
    put_point(f, "<circle cx=\"", svg_px(&x, t->id), "\" cy=\"", value_px(pg, &y, t->value), "\" r=\"");
    svg_put_fixed(f, mark_r(pg), 1);
    fputs("\" fill=\"", f);
    fputs(isfinite(t->value) ? c : "#d62728", f);
    fputs("\" data-t=\"", f);
    fputs(id, f);
    fputs("\" data-v=\"", f);
    fputs(v, f);
    fputc('"', f);
    if (own) {
      fputc('>', f);
      trial_title(pg, f, t, false);
      fputs("</circle></a>\n", f);
    } else {
      fputs("/>\n", f);
    }
  }
  /* The best so far, in trial order (trials are sorted by id). */
  double best = NAN;
  bool any = false;
  fputs("<path class=\"best\" d=\"", f);
  for (int i = 0; i < pg->n; i++) {
    const trial *t = &pg->t[i];
    if (!isfinite(t->value)) continue;
    if (!isfinite(best) || better(pg, t->value, best)) {
      double px = svg_px(&x, t->id);
      best = t->value;
      if (any) fprintf(f, "H%.1fV%.1f", px, value_px(pg, &y, best));
      else fprintf(f, "M%.1f %.1f", px, value_px(pg, &y, best));
      any = true;
    }
  }
  if (any) fprintf(f, "H%.1f", x.px1);
  fputs("\"><title>the best value so far</title></path>\n</svg>", f);
  caption(f, "Each trial's last value in the order the sampler drew it (colour: epochs reached; red: diverged, at the "
             "worst edge); the line is the best value any trial had reached so far.");
  epochs_legend(pg, f);
}

/* A deterministic jitter in [-0.5, 0.5) from a trial id, for columns of named values. */
static double jitter(int id) {
  uint32_t h = (uint32_t)id * 2654435761u;
  h ^= h >> 15;
  return (h % 1000) / 1000.0 - 0.5;
}

/* A parameter's axis over its values (columns for lists), on the scale it was sampled on. */
static svg_axis param_axis(const param *p, double px0, double px1, bool vertical) {
  svg_axis a = {.scale = p->scale, .lo = p->lo, .hi = p->hi, .px0 = px0, .px1 = px1, .vertical = vertical,
                .n_categories = p->n_categories, .categories = p->labels};
  svg_axis_pad(&a, 0.04);
  return a;
}

static const char *scale_name(svg_scale s) {
  switch (s) {
    case SVG_LOG: return " (log scale)";
    case SVG_ONE_MINUS: return " (1 - x on a log scale)";
    default: return "";
  }
}

/* The metric against each swept parameter, on its own scale; coarse-to-fine's boxes shaded. */
static void chart_params(page *pg, FILE *f) {
  if (pg->n_params == 0) return;
  const int w = 330, h = 250;
  fputs("<h2 id=\"params\">The metric against each swept parameter</h2>\n<div class=\"panels\">", f);
  const cJSON *rounds = item(pg->summary, "rounds");
  char c[8], name[128];
  for (int k = 0; k < pg->n_params; k++) {
    const param *p = &pg->params[k];
    snprintf(name, sizeof name, "%s%s", p->name, scale_name(p->scale));
    char id[80];
    snprintf(id, sizeof id, "param-%d", k);
    fputs("<figure class=\"panel\">", f);
    chart_begin(pg, f, id, w, h, name);
    svg_axis x = param_axis(p, 60, w - 12, false);
    svg_axis y = value_axis(pg, h - 44, 12);
    /* Each later round's box, where it zoomed this parameter. */
    for (int r = 1; p->scale != SVG_CATEGORY && r < cJSON_GetArraySize(rounds); r++) {
      const cJSON *b = item(item(item(cJSON_GetArrayItem(rounds, r), "box"), p->name), "min");
      const cJSON *e = item(item(item(cJSON_GetArrayItem(rounds, r), "box"), p->name), "max");
      if (!cJSON_IsNumber(b) || !cJSON_IsNumber(e)) continue;
      double x0 = svg_px(&x, b->valuedouble), x1 = svg_px(&x, e->valuedouble);
      if (x0 < x.px0) x0 = x.px0;
      if (x1 > x.px1) x1 = x.px1;
      if (!(x1 > x0)) continue;
      fprintf(f, "<rect class=\"box\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>round %d's box: ", x0,
              y.px1, x1 - x0, y.px0 - y.px1, r + 1);
      char lo[24], hi[24];
      svg_number(b->valuedouble, lo, sizeof lo);
      svg_number(e->valuedouble, hi, sizeof hi);
      fprintf(f, "%s to %s</title></rect><text class=\"rungl\" x=\"%.1f\" y=\"%.1f\">round %d</text>", lo, hi, x0 + 2,
              y.px1 + 10 * r, r + 1);
    }
    draw_axis(f, &y, x.px0, x.px1, pg->metric, true);
    draw_axis(f, &x, y.px0, y.px1, name, false);
    double width = fabs(x.px1 - x.px0) / (p->n_categories > 0 ? p->n_categories : 1);
    int off = 0;
    /* Trials without marks of their own: a path of dots per colour. */
    for (int col = -1; pg->n > HOVER_ALL && col < pg->n_epochs_reached; col++) {
      if (col < 0) snprintf(c, sizeof c, "#d62728");
      else epoch_color(pg, col, c);
      fprintf(f, "<path class=\"dots\" stroke=\"%s\" d=\"", c);
      for (int i = 0; i < pg->n; i++) {
        const trial *t = &pg->t[i];
        double v = trial_x(pg, t, k);
        if (t->epochs == 0 || hover(pg, t) || !isfinite(v) || (col < 0 ? isfinite(t->value) : !isfinite(t->value) || t->color != col))
          continue;
        double px = svg_px(&x, v) + (p->scale == SVG_CATEGORY ? jitter(t->id) * 0.6 * width : 0);
        put_point(f, "M", px, " ", value_px(pg, &y, t->value), "h0");
      }
      fputs("\"/>\n", f);
    }
    for (int i = 0; i < pg->n; i++) {
      const trial *t = &pg->t[i];
      double v = trial_x(pg, t, k);
      if (t->epochs == 0) continue;
      if (!isfinite(v)) {
        off++;
        continue;
      }
      if (!hover(pg, t)) continue;
      double px = svg_px(&x, v) + (p->scale == SVG_CATEGORY ? jitter(t->id) * 0.6 * width : 0);
      epoch_color(pg, t->color, c);
      fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\">", px, value_px(pg, &y, t->value), mark_r(pg),
              isfinite(t->value) ? c : "#d62728");
      trial_title(pg, f, t, false);
      fputs("</circle>\n", f);
    }
    fputs("</svg>", f);
    char note[160];
    if (off) snprintf(note, sizeof note, "%s; %d trial(s) without it (switched off by a condition)", p->name, off);
    else snprintf(note, sizeof note, "%s", p->name);
    caption(f, note);
  }
  fputs("</div>\n", f);
  epochs_legend(pg, f);
  if (cJSON_GetArraySize(rounds) > 1)
    fputs("<p class=\"legend\">Shaded: each later coarse-to-fine round's box on the parameters it zoomed.</p>\n", f);
}

/* Parallel coordinates: an axis per swept parameter, epochs reached and the metric; a line per
 * trial coloured by the metric, the best drawn last. */
static int by_goodness_ctx_max;
static const page *by_goodness_pg;
static int by_goodness(const void *a, const void *b) {
  const trial *x = &by_goodness_pg->t[*(const int *)a], *y = &by_goodness_pg->t[*(const int *)b];
  if (x->value == y->value) return 0;
  bool xb = by_goodness_ctx_max ? x->value > y->value : x->value < y->value;
  return xb ? 1 : -1;
}

static void chart_parallel(page *pg, FILE *f) {
  if (pg->n_params == 0) return;
  int n_axes = pg->n_params + (pg->n_epochs_reached > 1) + 1;
  const int w = 1000, h = 380, top = 30, bottom = h - 50;
  fputs("<h2 id=\"parallel\">Parallel coordinates</h2>\n<figure>", f);
  chart_begin(pg, f, "parallel-chart", w, h, "Parallel coordinates");
  svg_axis axes[34];
  double at[34];
  for (int k = 0; k < n_axes; k++) {
    at[k] = 70 + (w - 140.0) * k / (n_axes > 1 ? n_axes - 1 : 1);
    if (k < pg->n_params) axes[k] = param_axis(&pg->params[k], bottom, top, true);
    else if (k == pg->n_params && pg->n_epochs_reached > 1) {
      axes[k] = (svg_axis){.scale = SVG_INTEGER, .lo = pg->epochs_reached[0],
                           .hi = pg->epochs_reached[pg->n_epochs_reached - 1], .px0 = bottom, .px1 = top, .vertical = true};
      svg_axis_pad(&axes[k], 0.02);
    } else axes[k] = value_axis(pg, bottom, top);
  }
  /* Lines first, then the axes over them. */
  int *order = malloc((size_t)(pg->n > 0 ? pg->n : 1) * sizeof *order);
  int m = 0, skipped = 0;
  for (int i = 0; order && i < pg->n; i++) {
    if (pg->t[i].epochs == 0) continue;
    if (isfinite(pg->t[i].value)) order[m++] = i;
    else skipped++;
  }
  by_goodness_pg = pg;
  by_goodness_ctx_max = pg->maximize;
  if (order) qsort(order, (size_t)m, sizeof *order, by_goodness);
  char c[8];
  double span = pg->vhi - pg->vlo;
  /* Trials without lines of their own: a path per sixteenth of the metric's range. */
  for (int bin = 0; pg->n > HOVER_ALL && bin < 16; bin++) {
    viridis((bin + 0.5) / 16, c);
    fprintf(f, "<path class=\"pc\" stroke=\"%s\" d=\"", c);
    for (int j = 0; j < m; j++) {
      const trial *t = &pg->t[order[j]];
      double g = span > 0 ? (t->value - pg->vlo) / span : 1;
      g = pg->maximize ? g : 1 - g;
      int b = (int)(g * 16);
      if (hover(pg, t) || (b > 15 ? 15 : b < 0 ? 0 : b) != bin) continue;
      char cmd = 'M';
      for (int k = 0; k < n_axes; k++) {
        double v = k < pg->n_params ? trial_x(pg, t, k)
                   : k == pg->n_params && pg->n_epochs_reached > 1 ? t->epochs
                                                                   : t->value;
        if (!isfinite(v)) continue;
        fputc(cmd, f);
        svg_put_fixed(f, at[k], 0);
        fputc(' ', f);
        svg_put_fixed(f, svg_px(&axes[k], v), 1);
        cmd = 'L';
      }
    }
    fputs("\"/>\n", f);
  }
  for (int j = 0; j < m; j++) {
    const trial *t = &pg->t[order[j]];
    if (!hover(pg, t)) continue;
    double g = span > 0 ? (t->value - pg->vlo) / span : 1;
    viridis(pg->maximize ? g : 1 - g, c);
    fprintf(f, "<polyline class=\"pc\" stroke=\"%s\" points=\"", c);
    for (int k = 0; k < n_axes; k++) {
      double v = k < pg->n_params ? trial_x(pg, t, k)
                 : k == pg->n_params && pg->n_epochs_reached > 1 ? t->epochs
                                                                 : t->value;
      if (!isfinite(v)) continue; /* switched off by a condition: the line passes it by */
      double px = k < pg->n_params && pg->params[k].scale == SVG_CATEGORY
                      ? svg_px(&axes[k], v) + jitter(t->id) * 0.3 * fabs(axes[k].px1 - axes[k].px0) / pg->params[k].n_categories
                      : svg_px(&axes[k], v);
      put_point(f, "", at[k], ",", px, " ");
    }
    fputs("\">", f);
    trial_title(pg, f, t, true);
    fputs("</polyline>\n", f);
  }
  free(order);
  for (int k = 0; k < n_axes; k++) {
    const char *name = k < pg->n_params ? pg->params[k].name : k == pg->n_params && pg->n_epochs_reached > 1 ? "epochs reached" : pg->metric;
    draw_axis(f, &axes[k], at[k], at[k], NULL, false);
    fprintf(f, "<text class=\"name\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", at[k], h - 24);
    svg_escape(f, name);
    fputs("</text>", f);
    if (k < pg->n_params && scale_name(pg->params[k].scale)[0]) {
      fprintf(f, "<text class=\"rungl\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", at[k], h - 10);
      svg_escape(f, pg->params[k].scale == SVG_LOG ? "log scale" : "1 - x, log scale");
      fputs("</text>", f);
    }
  }
  /* The colour bar of the metric. */
  fputs("<defs><linearGradient id=\"pc-scale\" x1=\"0\" x2=\"1\" y1=\"0\" y2=\"0\">", f);
  for (int s = 0; s <= 5; s++) {
    viridis(s / 5.0, c);
    fprintf(f, "<stop offset=\"%.1f\" stop-color=\"%s\"/>", s / 5.0, c);
  }
  char lo[24], hi[24];
  svg_number(pg->maximize ? pg->vlo : pg->vhi, lo, sizeof lo);
  svg_number(pg->maximize ? pg->vhi : pg->vlo, hi, sizeof hi);
  fprintf(f, "</linearGradient></defs><rect x=\"%d\" y=\"6\" width=\"120\" height=\"9\" fill=\"url(#pc-scale)\"/>"
             "<text x=\"%d\" y=\"14\" text-anchor=\"end\">%s</text><text x=\"%d\" y=\"14\">%s (better)</text>\n",
          w - 260, w - 264, lo, w - 136, hi);
  fputs("</svg>", f);
  char note[200];
  snprintf(note, sizeof note,
           "One line per trial through its parameters, the epochs it reached and its last value, coloured by that value "
           "(yellow: best)%s.",
           skipped ? "; diverged trials are left out" : "");
  caption(f, note);
}

/* PBT lineage: a row per member; each copy drawn from the donor's row to the recipient's. */
static void chart_lineage(page *pg, FILE *f) {
  int rows = 0;
  for (int i = 0; i < pg->n; i++) rows += pg->t[i].lineage != NULL;
  if (rows == 0) return;
  int *row = malloc((size_t)(pg->max_id + 1) * sizeof *row);
  const char **labels = malloc((size_t)rows * sizeof *labels);
  char(*text)[24] = malloc((size_t)rows * sizeof *text);
  if (!row || !labels || !text) {
    free(row);
    free(labels);
    free(text);
    return;
  }
  int r = 0;
  for (int i = 0; i < pg->n; i++)
    if (pg->t[i].lineage) {
      row[pg->t[i].id] = r;
      snprintf(text[r], sizeof text[r], "trial %d", pg->t[i].id);
      labels[r] = text[r];
      r++;
    }
  const int w = 1000, h = 60 + (rows > 40 ? 600 : rows * 15 + 40);
  fputs("<h2 id=\"lineage\">PBT lineage</h2>\n<figure>", f);
  chart_begin(pg, f, "lineage-chart", w, h, "PBT lineage");
  svg_axis x = {.scale = SVG_INTEGER, .lo = 0, .hi = pg->max_epoch > 1 ? pg->max_epoch : 1, .px0 = 80, .px1 = w - 16};
  svg_axis y = {.scale = SVG_CATEGORY, .n_categories = rows, .categories = labels, .px0 = h - 44, .px1 = 12, .vertical = true};
  draw_axis(f, &y, x.px0, x.px1, NULL, true);
  draw_axis(f, &x, y.px0, y.px1, "epoch", false);
  for (int i = 0; i < pg->n; i++) {
    const trial *t = &pg->t[i];
    const cJSON *lineage = t->lineage, *event;
    if (!lineage) continue;
    double yr = svg_px(&y, row[t->id]);
    cJSON_ArrayForEach(event, lineage) {
      const cJSON *from = item(event, "from");
      int e = (int)number(item(event, "epoch"), 0);
      if (!cJSON_IsNumber(from) || from->valueint < 0 || from->valueint > pg->max_id || pg->by_id[from->valueint] < 0 ||
          !pg->t[pg->by_id[from->valueint]].lineage)
        continue;
      double xe = svg_px(&x, e), yd = svg_px(&y, row[from->valueint]);
      fprintf(f, "<g class=\"copy\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/><circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>"
                 "<title>epoch %d: trial %d took trial %d's weights and went on with ",
              xe, yd, xe, yr, xe, yr, e, t->id, from->valueint);
      const cJSON *v;
      bool firstp = true;
      cJSON_ArrayForEach(v, item(event, "params")) {
        char val[32];
        value_text(v, val, sizeof val);
        fputs(firstp ? "" : ", ", f);
        svg_escape(f, v->string);
        fputc('=', f);
        svg_escape(f, val);
        firstp = false;
      }
      fputs("</title></g>\n", f);
    }
  }
  fputs("</svg>", f);
  caption(f, "Each member's row; a vertical line from a donor's row to a member's is a copy at that epoch (the dot "
             "marks the member that took the donor's weights and then explored its values); hover for the values.");
  free(row);
  free(labels);
  free(text);
}

/* ---- the page ---- */

/* A JSON value as a table cell's text: numbers to 4 significant digits, strings as they are. */
static void put_value(FILE *f, const cJSON *v) {
  char buf[64];
  if (!v || cJSON_IsNull(v)) fputs("-", f);
  else if (cJSON_IsNumber(v)) {
    double x = v->valuedouble;
    if (x == floor(x) && fabs(x) < 1e9) snprintf(buf, sizeof buf, "%.0f", x);
    else snprintf(buf, sizeof buf, "%.4g", x);
    fputs(buf, f);
  } else if (cJSON_IsString(v)) svg_escape(f, v->valuestring);
  else if (cJSON_IsBool(v)) fputs(cJSON_IsTrue(v) ? "true" : "false", f);
  else {
    char *text = cJSON_PrintUnformatted(v);
    svg_escape(f, text);
    free(text);
  }
}

/* A trial's value (what ranks it: the kept weights' metric); a summary.json older than the field
 * gives the metric of its last epoch. */

static void put_fact(FILE *f, const char *name, const cJSON *v) {
  fputs("<dt>", f);
  svg_escape(f, name);
  fputs("</dt><dd>", f);
  put_value(f, v);
  fputs("</dd>\n", f);
}

static const char style[] =
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;font-size:0.85em}td,th{padding:2px 8px;text-align:right;white-space:nowrap}"
    "th{background:#f0f0f0;position:sticky;top:0}tr:nth-child(even){background:#fafafa}tr:target{background:#fe8}"
    "td.s,th.s{text-align:left}.survived{color:#1f5fa0;font-weight:600}.culled{color:#777}"
    ".diverged{color:#b22}.running{color:#74a}figure{margin:1em 0}figcaption{font-size:0.85em;color:#555;max-width:1000px}"
    "pre{background:#f6f6f6;padding:1em;overflow:auto;font-size:0.8em;tab-size:2}details{margin:0.2em 0}"
    "summary{cursor:pointer}.wide{overflow-x:auto;max-height:40em}.live{background:#eef6ff;border:1px solid #bcd;padding:0.4em 0.8em}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em}dt{font-weight:600}dd{margin:0}"
    ".panels{display:flex;flex-wrap:wrap;gap:0 1em}.panel{margin:0.5em 0}.legend{font-size:0.85em;color:#444}"
    ".key{display:inline-block;width:10px;height:10px;margin:0 3px 0 8px;border-radius:2px}"
    "svg.chart{max-width:100%;height:auto;font:11px system-ui,sans-serif;background:#fff}"
    "svg .axis line{stroke:#555;stroke-width:1}svg .axis .grid{stroke:#e6e6e6}svg .axis text{fill:#333;paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}"
    "svg text.name{font-weight:600;fill:#222}svg .rung{stroke:#888;stroke-dasharray:4 3}svg .rungl{fill:#777;font-size:10px}"
    "svg polyline{fill:none}svg g.c polyline,svg g.c circle{stroke:#9a9a9a}svg g.c circle{fill:#9a9a9a}"
    "svg g.r polyline{stroke:#7744aa}svg g.r circle{fill:#7744aa;stroke:none}"
    "svg g.d polyline{stroke:#d62728}svg g.d circle{fill:#d62728}svg g.s polyline{stroke-width:2}svg g.s circle{fill:#1f77b4}"
    "svg path.all{fill:none;stroke-linecap:round;stroke-linejoin:round}svg path.c{stroke:#9a9a9a}svg path.r{stroke:#7744aa}"
    "svg path.d{stroke:#d62728}svg .dots{fill:none;stroke-width:3.2;stroke-linecap:round;stroke-opacity:0.7}svg path.pc{fill:none}"
    "svg .x{stroke:#d62728;stroke-width:2}svg .best{fill:none;stroke:#111;stroke-width:1.5}"
    "svg .box{fill:#f5a623;fill-opacity:0.12;stroke:#f5a623;stroke-dasharray:3 2}"
    "svg .copy line{stroke:#1f77b4;stroke-opacity:0.6}svg .copy circle{fill:#1f77b4}svg :hover{stroke-opacity:1}";

/* How many trials get a details block (the leaderboard lists them all). */
#define DETAILED 40

/* "EPOCH,TRAIN,VAL_LOSS,VAL_ACC..." as sscanf's "%d,%lf,%lf,%lf" reads it (each field at least one
 * character, a comma right after each of the first three), without sscanf, which measures the
 * whole rest of curves.csv's text on every call. */
/* A curve line's epoch (after the trial's "id,"): the figures after it are read only for the rows
 * shown (a Hyperband survivor has 97,336 of them). */
static bool curve_epoch(const char *p, int *epoch) {
  char *end;
  long e = strtol(p, &end, 10);
  if (end == p || *end != ',') return false;
  *epoch = (int)e;
  return true;
}

static bool curve_fields(const char *p, int *epoch, double *train, double *vloss, double *vacc) {
  char *end;
  long e = strtol(p, &end, 10);
  if (end == p || *end != ',') return false;
  double *out[] = {train, vloss, vacc};
  for (int k = 0; k < 3; k++) {
    p = end + 1;
    *out[k] = strtod(p, &end);
    if (end == p || (k < 2 && *end != ',')) return false;
  }
  *epoch = (int)e;
  return true;
}

/* A trial's epoch table: every epoch up to TABLE_ROWS of them; past that every step-th epoch
 * (step = ceil(epochs / TABLE_ROWS)), the kept epoch and the last, said under the table
 * (a Hyperband trial of 97,336 epochs made an 80 MB page; curves.csv holds every epoch). */
#define TABLE_ROWS 50
static void put_curve_table(FILE *f, const page *pg, const char *curves, int id, int kept_epoch) {
  if (!curves) return;
  char prefix[32];
  int len = snprintf(prefix, sizeof prefix, "%d,", id);
  int i = id >= 0 && id <= pg->max_id ? pg->by_id[id] : -1, rows = 0, shown = 0;
  size_t first = i >= 0 && pg->lines ? pg->line_first[i] : 0, end = i >= 0 && pg->lines ? first + (size_t)pg->line_count[i] : 0;
  for (size_t k = first; k < end; k++) rows += strncmp(pg->lines[k] + 1, prefix, (size_t)len) == 0;
  int step = rows > TABLE_ROWS ? (rows + TABLE_ROWS - 1) / TABLE_ROWS : 1, row = 0;
  for (size_t k = first; k < end; k++) {
    const char *line = pg->lines[k];
    if (strncmp(line + 1, prefix, (size_t)len) != 0) continue;
    int epoch;
    double train, vloss, vacc;
    bool due = row % step == 0 || row == rows - 1;
    row++;
    if (!curve_epoch(line + 1 + len, &epoch) || !(due || epoch == kept_epoch)) continue;
    if (!curve_fields(line + 1 + len, &epoch, &train, &vloss, &vacc)) continue;
    if (!shown++) fputs("<table><tr><th>epoch</th><th>train_loss</th><th>val_loss</th><th>val_acc</th></tr>\n", f);
    fprintf(f, "<tr><td>%d</td><td>%.4g</td><td>%.4g</td><td>%.4f</td></tr>\n", epoch, train, vloss, vacc);
  }
  if (shown) fputs("</table>\n", f);
  if (shown && step > 1)
    fprintf(f, "<p>%d of its %d epochs: one in %d, the kept epoch and the last (curves.csv holds them all).</p>\n",
            shown, rows, step);
}

static int by_rank(const void *a, const void *b) {
  const trial *x = *(const trial *const *)a, *y = *(const trial *const *)b;
  if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
  return (x->id > y->id) - (x->id < y->id);
}

static void leaderboard(page *pg, FILE *f, const trial **order, const char *curves) {
  bool rounds = cJSON_GetArraySize(item(pg->summary, "rounds")) > 1;
  const cJSON *params = item(pg->t && pg->n ? pg->t[0].json : NULL, "params");
  (void)params;
  fprintf(f, "<h2 id=\"leaderboard\">Leaderboard (%d trials)</h2>\n<div class=\"wide\"><table>\n<tr><th>rank</th>"
             "<th>trial</th>%s<th class=\"s\">status</th><th>epochs</th><th>",
          pg->n, rounds ? "<th>round</th>" : "");
  svg_escape(f, pg->metric);
  fputs("</th><th>at_epoch</th>", f);
  for (int k = 0; k < pg->n_params; k++) {
    fputs("<th>", f);
    svg_escape(f, pg->params[k].name);
    fputs("</th>", f);
  }
  bool regression = pg->target_std > 0;
  fprintf(f, "<th>%s</th><th class=\"s\">model</th></tr>\n", regression ? "test_rmse" : "test_acc");
  for (int i = 0; i < pg->n && listed(order[i]); i++) {
    const trial *t = order[i];
    fprintf(f, "<tr id=\"row-%d\"><td>%d</td><td>", t->id, i + 1);
    if (i < DETAILED) fprintf(f, "<a href=\"#trial-%d\">%d</a>", t->id, t->id);
    else fprintf(f, "%d", t->id);
    fputs("</td>", f);
    if (rounds) fprintf(f, "<td>%d</td>", t->round + 1);
    fputs("<td class=\"s ", f);
    svg_escape(f, t->status);
    fputs("\">", f);
    svg_escape(f, t->status);
    fprintf(f, "</td><td>%d</td><td>", t->epochs);
    put_value(f, value_of(t->json, pg->metric));
    fputs("</td><td>", f);
    put_value(f, item(t->json, item(t->json, "value_epoch") ? "value_epoch" : "epochs"));
    fputs("</td>", f);
    for (int k = 0; k < pg->n_params; k++) {
      fputs("<td>", f);
      put_value(f, param_item(t->params, pg->params[k].name));
      fputs("</td>", f);
    }
    fputs("<td>", f);
    put_value(f, item(t->json, regression ? "test_rmse" : "test_acc"));
    fputs("</td><td class=\"s\">", f);
    put_value(f, item(t->json, "model"));
    fputs("</td></tr>\n", f);
  }
  fputs("</table></div>\n", f);
  if (pg->n > ROWS_MAX) fprintf(f, "<p>The first %d of %d; summary.json holds every trial.</p>\n", ROWS_MAX, pg->n);

  /* The leading trials' details. */
  fprintf(f, "<h2 id=\"trials\">Trials</h2>\n");
  if (pg->n > DETAILED) fprintf(f, "<p>The first %d of the leaderboard; summary.json holds every trial.</p>\n", DETAILED);
  for (int i = 0; i < pg->n && i < DETAILED; i++) {
    const trial *t = order[i];
    fprintf(f, "<details id=\"trial-%d\"%s><summary>#%d trial %d: ", t->id, i == 0 ? " open=\"open\"" : "", i + 1, t->id);
    svg_escape(f, t->status);
    fprintf(f, " after %d epoch(s), ", t->epochs);
    svg_escape(f, pg->metric);
    fputs(" ", f);
    put_value(f, value_of(t->json, pg->metric));
    fputs("</summary>\n<dl>\n", f);
    const cJSON *entry;
    cJSON_ArrayForEach(entry, t->json) {
      if (!strcmp(entry->string, "params") || !strcmp(entry->string, "lineage")) continue;
      put_fact(f, entry->string, entry);
    }
    cJSON_ArrayForEach(entry, t->params) put_fact(f, entry->string, entry);
    fputs("</dl>\n", f);
    put_curve_table(f, pg, curves, t->id, (int)number(item(t->json, "value_epoch"), -1));
    const cJSON *lineage = item(t->json, "lineage");
    if (cJSON_IsArray(lineage)) {
      fputs("<p>PBT lineage:</p>\n<table><tr><th>epoch</th><th>copied from</th><th class=\"s\">parameters</th></tr>\n", f);
      cJSON_ArrayForEach(entry, lineage) {
        fputs("<tr><td>", f);
        put_value(f, item(entry, "epoch"));
        fputs("</td><td>", f);
        put_value(f, item(entry, "from"));
        fputs("</td><td class=\"s\">", f);
        put_value(f, item(entry, "params"));
        fputs("</td></tr>\n", f);
      }
      fputs("</table>\n", f);
    }
    fputs("</details>\n", f);
  }
}

static int by_id(const void *a, const void *b) {
  const trial *x = a, *y = b;
  return (x->id > y->id) - (x->id < y->id);
}

/* The items of a trial the page reads, found in one walk over its keys: each the first child of
 * its key, as item() finds it (a child without a key ends the walk there too). */
typedef struct trial_items {
  const cJSON *trial, *params, *status, *epochs, *bracket, *round, *rank, *value, *metric, *metrics, *lineage;
} trial_items;

static void trial_items_of(const cJSON *entry, const char *metric, trial_items *ti) {
  memset(ti, 0, sizeof *ti);
  for (const cJSON *c = entry ? entry->child : NULL; c && c->string; c = c->next) {
    const char *k = c->string;
    const cJSON **slot = NULL;
    switch (k[0]) {
      case 't': slot = !strcmp(k, "trial") ? &ti->trial : NULL; break;
      case 'p': slot = !strcmp(k, "params") ? &ti->params : NULL; break;
      case 's': slot = !strcmp(k, "status") ? &ti->status : NULL; break;
      case 'e': slot = !strcmp(k, "epochs") ? &ti->epochs : NULL; break;
      case 'b': slot = !strcmp(k, "bracket") ? &ti->bracket : NULL; break;
      case 'r': slot = !strcmp(k, "round") ? &ti->round : !strcmp(k, "rank") ? &ti->rank : NULL; break;
      case 'v': slot = !strcmp(k, "value") ? &ti->value : NULL; break;
      case 'm': slot = !strcmp(k, "metrics") ? &ti->metrics : NULL; break;
      case 'l': slot = !strcmp(k, "lineage") ? &ti->lineage : NULL; break;
      default: break;
    }
    if (slot && !*slot) *slot = c;
    if (!ti->metric && k[0] == metric[0] && !strcmp(k, metric)) ti->metric = c;
  }
}

static bool load(page *pg, const cJSON *summary, const char *curves) {
  pg->summary = summary;
  pg->spec = item(summary, "spec");
  const cJSON *metric_obj = item(pg->spec, "metric");
  pg->metric = string(item(summary, "metric"), string(item(metric_obj, "name"), "val_acc"));
  const char *goal = string(item(metric_obj, "goal"), NULL);
  pg->maximize = goal ? !strcmp(goal, "maximize") : !strcmp(pg->metric, "val_acc");
  bool own = !strcmp(pg->metric, "val_acc") || !strcmp(pg->metric, "val_loss") || !strcmp(pg->metric, "val_rmse") ||
             !strcmp(pg->metric, "val_mse");
  pg->acc_slot = !strcmp(pg->metric, "val_acc") || (!own && pg->maximize);
  pg->target_std = number(item(item(summary, "data"), "target_std"), 0);
  const cJSON *trials = item(summary, "trials"), *entry;
  int n = 0;
  cJSON_ArrayForEach(entry, trials) n++;
  pg->t = calloc((size_t)(n > 0 ? n : 1), sizeof *pg->t);
  const cJSON **entries = malloc((size_t)(n > 0 ? n : 1) * sizeof *entries);
  if (!pg->t || !entries) {
    free(entries);
    return false;
  }
  n = 0;
  cJSON_ArrayForEach(entry, trials) entries[n++] = entry;
  /* Each trial's fields side by side (a big sweep's trees are walked by key 100,000 times), then
   * those with a trial id kept, in the file's order. */
#pragma omp parallel for schedule(static, 1024) if (n > 4096)
  for (int k = 0; k < n; k++) {
    trial *t = &pg->t[k];
    trial_items ti;
    trial_items_of(entries[k], pg->metric, &ti);
    t->id = (int)number(ti.trial, -1);
    if (t->id < 0 || t->id > 1000000000) continue;
    t->json = entries[k];
    t->params = ti.params;
    t->status = string(ti.status, "?");
    t->epochs = (int)number(ti.epochs, 0);
    t->bracket = (int)number(ti.bracket, 0);
    t->round = (int)number(ti.round, 0);
    t->rank = (int)number(ti.rank, 1 << 30);
    /* value_of's choice: "value", else the metric's key, else the metric among "metrics" */
    t->value = number(ti.value ? ti.value : ti.metric ? ti.metric : item(ti.metrics, pg->metric), NAN);
    t->lineage = cJSON_IsArray(ti.lineage) ? ti.lineage : NULL;
  }
  free(entries);
  for (int k = 0; k < n; k++) {
    const trial *t = &pg->t[k];
    if (t->id < 0 || t->id > 1000000000) continue;
    if (t->id > pg->max_id) pg->max_id = t->id;
    pg->t[pg->n++] = *t;
  }
  qsort(pg->t, (size_t)pg->n, sizeof *pg->t, by_id);
  pg->by_id = malloc((size_t)(pg->max_id + 1) * sizeof *pg->by_id);
  pg->first = calloc((size_t)(pg->n > 0 ? pg->n : 1), sizeof *pg->first);
  pg->n_of = calloc((size_t)(pg->n > 0 ? pg->n : 1), sizeof *pg->n_of);
  pg->line_first = calloc((size_t)(pg->n > 0 ? pg->n : 1), sizeof *pg->line_first);
  pg->line_count = calloc((size_t)(pg->n > 0 ? pg->n : 1), sizeof *pg->line_count);
  if (!pg->by_id || !pg->first || !pg->n_of || !pg->line_first || !pg->line_count) return false;
  for (int i = 0; i <= pg->max_id; i++) pg->by_id[i] = -1;
  for (int i = 0; i < pg->n; i++) pg->by_id[pg->t[i].id] = i;
  read_curves(pg, curves);
  /* The metric's range over trials that did not diverge, their curves included. */
  pg->vlo = INFINITY;
  pg->vhi = -INFINITY;
  for (int i = 0; i < pg->n; i++) {
    if (!strcmp(pg->t[i].status, "diverged")) continue;
    double v = pg->t[i].value;
    if (isfinite(v)) pg->vlo = fmin(pg->vlo, v), pg->vhi = fmax(pg->vhi, v);
    for (int j = 0; j < pg->n_of[i]; j++) {
      v = pg->pts[pg->first[i] + (size_t)j].value;
      if (isfinite(v)) pg->vlo = fmin(pg->vlo, v), pg->vhi = fmax(pg->vhi, v);
    }
  }
  if (!(pg->vhi >= pg->vlo)) pg->vlo = 0, pg->vhi = 1;
  /* Epochs reached, for colours. */
  for (int i = 0; i < pg->n; i++) {
    int e = pg->t[i].epochs, k = 0;
    if (e <= 0) continue;
    while (k < pg->n_epochs_reached && pg->epochs_reached[k] < e) k++;
    if (k < pg->n_epochs_reached && pg->epochs_reached[k] == e) continue;
    if (pg->n_epochs_reached == 64) continue;
    memmove(pg->epochs_reached + k + 1, pg->epochs_reached + k, (size_t)(pg->n_epochs_reached - k) * sizeof(int));
    pg->epochs_reached[k] = e;
    pg->n_epochs_reached++;
    if (e > pg->max_epoch) pg->max_epoch = e;
  }
  for (int i = 0; i < pg->n; i++)
    for (int k = 0; k < pg->n_epochs_reached; k++)
      if (pg->epochs_reached[k] == pg->t[i].epochs) pg->t[i].color = k;
  return find_params(pg);
}

static void unload(page *pg) {
  free(pg->t);
  free(pg->by_id);
  free(pg->first);
  free(pg->n_of);
  free(pg->pts);
  free(pg->px);
  free(pg->lines);
  free(pg->line_first);
  free(pg->line_count);
}

/* Section k of the page after its facts: the charts, then the leaderboard. */
static void draw_section(page *pg, FILE *f, int k, const trial **order, const char *curves) {
  switch (k) {
    case 0: chart_curves(pg, f); break;
    case 1: chart_history(pg, f); break;
    case 2: chart_params(pg, f); break;
    case 3: chart_parallel(pg, f); break;
    case 4: chart_lineage(pg, f); break;
    default: leaderboard(pg, f, order, curves); break;
  }
}

void caviar_report_page(FILE *f, const char *kind, const cJSON *summary, const char *curves,
                        const caviar_page_live *live, caviar_page_info *info) {
  page pg;
  memset(&pg, 0, sizeof pg);
  pg.kind = kind;
  bool loaded = load(&pg, summary, curves);
  const cJSON *name = item(pg.spec, "name"), *file = item(summary, "spec_file");
  const char *title = cJSON_IsString(name) ? name->valuestring : cJSON_IsString(file) ? file->valuestring : kind;
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n", f);
  if (live && live->running) fprintf(f, "<meta http-equiv=\"refresh\" content=\"%d\"/>\n", live->reload_s > 0 ? live->reload_s : 30);
  fputs("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>caviar: ", f);
  svg_escape(f, title);
  /* Lines and marks lighter and thinner the more trials there are. */
  fprintf(f, "</title>\n<style>%s</style>\n<style>svg g.c,svg g.r,svg g.d,svg path.all{stroke-opacity:%.2f;fill-opacity:%.2f;stroke-width:%.1f}"
             "svg .pc{stroke-opacity:%.2f;stroke-width:%.1f}</style>\n</head>\n<body>\n<h1>caviar %s: ", style, faint(&pg), faint(&pg),
          pg.n > 1000 ? 0.6 : 1.0, faint(&pg) + 0.15, pg.n > 1000 ? 0.5 : pg.n > 100 ? 0.8 : 1.4, kind);
  svg_escape(f, title);
  fputs("</h1>\n", f);
  if (live) {
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", &tm);
    fprintf(f, "<p class=\"live\" id=\"live\">Written %s; the %s ", when, strcmp(kind, "train") ? kind : "run");
    if (live->running)
      fprintf(f, "is <b>running</b> (this page reloads itself every %d s).</p>\n", live->reload_s > 0 ? live->reload_s : 30);
    else {
      fputs("is <b>", f);
      svg_escape(f, live->state ? live->state : "over");
      fputs("</b>.</p>\n", f);
    }
  }
  const cJSON *description = item(pg.spec, "description");
  if (cJSON_IsString(description)) {
    fputs("<p>", f);
    svg_escape(f, description->valuestring);
    fputs("</p>\n", f);
  }
  fputs("<dl>\n", f);
  const char *facts[] = {"spec_file", "seed", "device", "wall_seconds", "model_samples_per_second",
                         "stopped_by_time_budget", "caviar_version"};
  for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++)
    if (item(summary, facts[i])) put_fact(f, facts[i], item(summary, facts[i]));
  if (item(pg.spec, "method")) put_fact(f, "method", item(pg.spec, "method"));
  fputs("<dt>metric</dt><dd>", f);
  svg_escape(f, pg.metric);
  fprintf(f, " (%s)</dd>\n", pg.maximize ? "higher is better" : "lower is better");
  const cJSON *entry;
  cJSON_ArrayForEach(entry, item(summary, "data")) put_fact(f, entry->string, entry);
  /* The best trial, as the leaderboard, the progress line and summary.json's best say it. */
  const cJSON *best = item(summary, "best");
  if (best) {
    fputs("<dt>best</dt><dd>trial ", f);
    put_value(f, item(best, "trial"));
    fputs(": ", f);
    svg_escape(f, pg.metric);
    fputs(" ", f);
    put_value(f, value_of(best, pg.metric));
    if (item(best, "value_epoch")) {
      fputs(" at epoch ", f);
      put_value(f, item(best, "value_epoch"));
    }
    fputs("</dd>\n", f);
  }
  fputs("</dl>\n", f);
  const trial **order = loaded ? malloc((size_t)(pg.n > 0 ? pg.n : 1) * sizeof *order) : NULL;
  if (order) {
    for (int i = 0; i < pg.n; i++) order[i] = &pg.t[i];
    qsort(order, (size_t)pg.n, sizeof *order, by_rank);
    for (int i = 0; i < pg.n; i++) ((trial *)order[i])->place = i + 1;
  }
  if (order) {
    /* The sections read the page and write only their own text (and count their charts): drawn
     * side by side into buffers of their own, then put in the page in this order (one that got no
     * buffer is drawn into the page then). */
    enum { SECTIONS = 6 };
    char *text[SECTIONS] = {0};
    size_t len[SECTIONS] = {0};
    int charts[SECTIONS] = {0};
#pragma omp parallel for schedule(dynamic, 1) if (pg.n > 1000)
    for (int k = 0; k < SECTIONS; k++) {
      page own = pg;
      own.charts = 0;
      FILE *g = open_memstream(&text[k], &len[k]);
      /* Only this thread writes it: its millions of small writes need not take its lock. */
      if (g) __fsetlocking(g, FSETLOCKING_BYCALLER);
      if (g) {
        draw_section(&own, g, k, order, curves);
        if (fclose(g) != 0) {
          free(text[k]);
          text[k] = NULL;
        }
      }
      charts[k] = own.charts;
    }
    for (int k = 0; k < SECTIONS; k++) {
      if (text[k]) {
        fwrite(text[k], 1, len[k], f);
        pg.charts += charts[k];
      } else {
        draw_section(&pg, f, k, order, curves);
      }
      free(text[k]);
    }
  }
  free(order);
  fputs("<h2 id=\"spec\">Spec</h2>\n<pre>", f);
  char *text = pg.spec ? cJSON_Print(pg.spec) : NULL;
  svg_escape(f, text ? text : "(not recorded)");
  free(text);
  fputs("</pre>\n</body>\n</html>\n", f);
  if (info) info->charts = pg.charts;
  unload(&pg);
}

static char *read_all(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    char *grown = realloc(buf, 2 * cap + 1);
    if (!grown) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = grown;
    cap *= 2;
  }
  bool bad = ferror(f);
  fclose(f);
  if (!buf || bad) {
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  return buf;
}

caviar_status caviar_report_page_write(const char *out_path, const char *kind, const cJSON *summary,
                                       const char *curves, const caviar_page_live *live, caviar_page_info *info,
                                       caviar_error *err) {
  caviar_atomic_file af;
  caviar_status st = caviar_atomic_open(&af, out_path, err);
  if (st != CAVIAR_OK) return st;
  caviar_report_page(af.f, kind, summary, curves, live, info);
  return caviar_atomic_commit(&af, err);
}

caviar_status caviar_report_html(const char *dir, const char *out_path, const caviar_page_live *live,
                                 caviar_page_info *info, caviar_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/summary.json", dir);
  char *text = read_all(path);
  if (!text) return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot read: %s (is %s a sweep's output folder?)", path,
                                strerror(errno), dir);
  cJSON *summary = caviar_json_parse_text(text, strlen(text));
  free(text);
  if (!summary || !cJSON_IsArray(item(summary, "trials"))) {
    cJSON_Delete(summary);
    return caviar_fail(err, CAVIAR_EINPUT, "%s: not a caviar summary (expected a JSON object with \"trials\")", path);
  }
  caviar_status st = caviar_report_html_of(dir, summary, out_path, live, info, err);
  cJSON_Delete(summary);
  return st;
}

caviar_status caviar_report_html_of(const char *dir, const cJSON *summary, const char *out_path,
                                    const caviar_page_live *live, caviar_page_info *info, caviar_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/curves.csv", dir);
  char *curves = read_all(path);
  caviar_status st = caviar_report_page_write(out_path, "sweep", summary, curves, live, info, err);
  free(curves);
  return st;
}
