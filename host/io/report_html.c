#include "caviar/report_html.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/atomic_file.h"

/* The plot script's pictures, in the order the page shows them, with a caption each. */
static const char *const pictures[][2] = {
    {"curves.png", "Learning curves of every trial, coloured by status; dashed lines are the rungs."},
    {"history.png", "Optimization history: each trial's last value in trial order, and the best finished trial so far."},
    {"params.png", "The metric against each swept parameter (named values as jittered strips)."},
    {"parallel.png", "Parallel coordinates: one line per trial, coloured by the metric."},
    {"importance.png", "Parameter importance: an estimate from a random forest, not a measurement."},
    {"rounds.png", "Coarse to fine: each round's samples and search box."},
    {"lineage.png", "PBT lineage: each member's learning rate, and the copies from donors."},
};

static char *read_all(const char *path, size_t *len) {
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
  if (len) *len = n;
  return buf;
}

/* Text with &, <, > and " escaped. */
static void put_text(FILE *f, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
      case '&': fputs("&amp;", f); break;
      case '<': fputs("&lt;", f); break;
      case '>': fputs("&gt;", f); break;
      case '"': fputs("&quot;", f); break;
      default: fputc(*s, f);
    }
  }
}

static void put_base64(FILE *f, const unsigned char *p, size_t n) {
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    fputc(digits[v >> 18 & 63], f);
    fputc(digits[v >> 12 & 63], f);
    fputc(i + 1 < n ? digits[v >> 6 & 63] : '=', f);
    fputc(i + 2 < n ? digits[v & 63] : '=', f);
  }
}

/* A JSON value as a table cell's text: numbers to 4 significant digits, strings as they are. */
static void put_value(FILE *f, const cJSON *v) {
  char buf[64];
  if (!v || cJSON_IsNull(v)) fputs("-", f);
  else if (cJSON_IsNumber(v)) {
    double x = v->valuedouble;
    if (x == floor(x) && fabs(x) < 1e9) snprintf(buf, sizeof buf, "%.0f", x);
    else snprintf(buf, sizeof buf, "%.4g", x);
    fputs(buf, f);
  } else if (cJSON_IsString(v)) put_text(f, v->valuestring);
  else if (cJSON_IsBool(v)) fputs(cJSON_IsTrue(v) ? "true" : "false", f);
  else {
    char *text = cJSON_PrintUnformatted(v);
    put_text(f, text);
    free(text);
  }
}

static const cJSON *item(const cJSON *obj, const char *key) { return cJSON_GetObjectItemCaseSensitive(obj, key); }

static int rank_of(const cJSON *t) {
  const cJSON *r = item(t, "rank");
  return cJSON_IsNumber(r) ? r->valueint : 1 << 30;
}

static int by_rank(const void *a, const void *b) {
  return rank_of(*(const cJSON *const *)a) - rank_of(*(const cJSON *const *)b);
}

static const char style[] =
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;font-size:0.85em}td,th{padding:2px 8px;text-align:right;white-space:nowrap}"
    "th{background:#f0f0f0;position:sticky;top:0}tr:nth-child(even){background:#fafafa}"
    "td.s,th.s{text-align:left}.survived{color:#1f5fa0;font-weight:600}.culled{color:#777}"
    ".diverged{color:#b22}.running{color:#74a}figure{margin:1em 0}img{max-width:100%;height:auto;"
    "border:1px solid #eee}figcaption{font-size:0.85em;color:#555}pre{background:#f6f6f6;padding:1em;"
    "overflow:auto;font-size:0.8em;tab-size:2}details{margin:0.2em 0}summary{cursor:pointer}.wide{overflow-x:auto}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em}dt{font-weight:600}dd{margin:0}";

static void put_fact(FILE *f, const char *name, const cJSON *v) {
  fputs("<dt>", f);
  put_text(f, name);
  fputs("</dt><dd>", f);
  put_value(f, v);
  fputs("</dd>\n", f);
}

/* A trial's value (what ranks it: the kept weights' metric); a summary.json older than the field
 * gives the metric of its last epoch. */
static const cJSON *value_of(const cJSON *t, const char *metric) {
  const cJSON *v = item(t, "value");
  return v ? v : item(t, metric);
}

/* One curve point per line of curves.csv: trial,epoch,train_loss,val_loss,val_acc. */
static void put_curve(FILE *f, const char *curves, int trial) {
  if (!curves) return;
  bool any = false;
  char prefix[32];
  int len = snprintf(prefix, sizeof prefix, "%d,", trial);
  for (const char *line = strchr(curves, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
    if (strncmp(line + 1, prefix, (size_t)len) != 0) continue;
    int epoch;
    double train, vloss, vacc;
    if (sscanf(line + 1 + len, "%d,%lf,%lf,%lf", &epoch, &train, &vloss, &vacc) != 4) continue;
    if (!any) fputs("<table><tr><th>epoch</th><th>train_loss</th><th>val_loss</th><th>val_acc</th></tr>\n", f);
    any = true;
    fprintf(f, "<tr><td>%d</td><td>%.4g</td><td>%.4g</td><td>%.4f</td></tr>\n", epoch, train, vloss, vacc);
  }
  if (any) fputs("</table>\n", f);
}

static caviar_status write_page(FILE *f, const char *dir, const cJSON *summary, const char *curves, int *n_pictures) {
  const cJSON *spec = item(summary, "spec"), *trials = item(summary, "trials");
  const cJSON *params = spec ? item(spec, "parameters") : NULL;
  const cJSON *metric_obj = spec ? item(spec, "metric") : NULL;
  const char *metric = cJSON_IsString(item(summary, "metric")) ? item(summary, "metric")->valuestring
                       : metric_obj && cJSON_IsString(item(metric_obj, "name")) ? item(metric_obj, "name")->valuestring
                                                                                : "val_acc";
  const cJSON *name = spec ? item(spec, "name") : NULL, *file = item(summary, "spec_file");
  const char *title = cJSON_IsString(name) ? name->valuestring : cJSON_IsString(file) ? file->valuestring : "sweep";
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>caviar: ", f);
  put_text(f, title);
  fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>caviar sweep: ", style);
  put_text(f, title);
  fputs("</h1>\n<dl>\n", f);
  const char *facts[] = {"spec_file", "seed", "device", "wall_seconds", "model_samples_per_second",
                         "stopped_by_time_budget", "caviar_version"};
  for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++)
    if (item(summary, facts[i])) put_fact(f, facts[i], item(summary, facts[i]));
  if (spec) put_fact(f, "method", item(spec, "method"));
  fputs("<dt>metric</dt><dd>", f);
  put_text(f, metric);
  fputs("</dd>\n", f);
  const cJSON *data = item(summary, "data"), *entry;
  cJSON_ArrayForEach(entry, data) put_fact(f, entry->string, entry);
  /* The best trial, as the leaderboard, the progress line and summary.json's best say it. */
  const cJSON *best = item(summary, "best");
  if (best) {
    fputs("<dt>best</dt><dd>trial ", f);
    put_value(f, item(best, "trial"));
    fputs(": ", f);
    put_text(f, metric);
    fputs(" ", f);
    put_value(f, value_of(best, metric));
    if (item(best, "value_epoch")) {
      fputs(" at epoch ", f);
      put_value(f, item(best, "value_epoch"));
    }
    fputs("</dd>\n", f);
  }
  fputs("</dl>\n", f);

  /* The leaderboard: every trial, best first, with every swept parameter. */
  int n = cJSON_GetArraySize(trials);
  const cJSON **order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
  if (!order) return CAVIAR_ERUNTIME;
  int k = 0;
  cJSON_ArrayForEach(entry, trials) order[k++] = entry;
  qsort(order, (size_t)n, sizeof *order, by_rank);
  /* Coarse to fine: the round, numbered from 1 as the progress line numbers it. */
  bool rounds = cJSON_GetArraySize(item(summary, "rounds")) > 1;
  fprintf(f, "<h2 id=\"leaderboard\">Leaderboard (%d trials)</h2>\n<div class=\"wide\"><table>\n<tr><th>rank</th>"
             "<th>trial</th>%s<th class=\"s\">status</th><th>epochs</th><th>", n, rounds ? "<th>round</th>" : "");
  put_text(f, metric);
  fputs("</th><th>at_epoch</th>", f);
  const cJSON *p;
  cJSON_ArrayForEach(p, params) {
    fputs("<th>", f);
    put_text(f, p->string);
    fputs("</th>", f);
  }
  fputs("<th>test_acc</th><th>model</th></tr>\n", f);
  for (int i = 0; i < n; i++) {
    const cJSON *t = order[i];
    const char *status = cJSON_IsString(item(t, "status")) ? item(t, "status")->valuestring : "?";
    fprintf(f, "<tr><td>%d</td><td><a href=\"#trial-%d\">%d</a></td>", i + 1,
            item(t, "trial") ? item(t, "trial")->valueint : -1, item(t, "trial") ? item(t, "trial")->valueint : -1);
    if (rounds) fprintf(f, "<td>%d</td>", item(t, "round") ? item(t, "round")->valueint + 1 : 0);
    fputs("<td class=\"s ", f);
    put_text(f, status);
    fputs("\">", f);
    put_text(f, status);
    fputs("</td><td>", f);
    put_value(f, item(t, "epochs"));
    fputs("</td><td>", f);
    put_value(f, value_of(t, metric));
    fputs("</td><td>", f);
    put_value(f, item(t, item(t, "value_epoch") ? "value_epoch" : "epochs"));
    fputs("</td>", f);
    cJSON_ArrayForEach(p, params) {
      fputs("<td>", f);
      put_value(f, item(item(t, "params"), p->string));
      fputs("</td>", f);
    }
    fputs("<td>", f);
    put_value(f, item(t, "test_acc"));
    fputs("</td><td class=\"s\">", f);
    put_value(f, item(t, "model"));
    fputs("</td></tr>\n", f);
  }
  fputs("</table></div>\n", f);
  if (cJSON_IsString(item(summary, "ranking"))) {
    fputs("<p>", f);
    put_text(f, item(summary, "ranking")->valuestring);
    fputs("</p>\n", f);
  }

  /* The pictures, embedded. */
  fputs("<h2 id=\"pictures\">Pictures</h2>\n", f);
  *n_pictures = 0;
  for (size_t i = 0; i < sizeof pictures / sizeof pictures[0]; i++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, pictures[i][0]);
    size_t len;
    char *png = read_all(path, &len);
    if (!png) continue;
    if (len > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0) {
      fputs("<figure><img alt=\"", f);
      put_text(f, pictures[i][0]);
      fputs("\" src=\"data:image/png;base64,", f);
      put_base64(f, (const unsigned char *)png, len);
      fputs("\"/><figcaption>", f);
      put_text(f, pictures[i][1]);
      fputs("</figcaption></figure>\n", f);
      (*n_pictures)++;
    }
    free(png);
  }
  if (*n_pictures == 0)
    fputs("<p>No pictures: run <code>scripts/plot_sweep.py DIR</code> before <code>caviar report DIR</code>.</p>\n", f);

  /* Every trial's details. */
  fputs("<h2 id=\"trials\">Trials</h2>\n", f);
  for (int i = 0; i < n; i++) {
    const cJSON *t = order[i];
    int id = item(t, "trial") ? item(t, "trial")->valueint : -1;
    /* The best trial's details open. */
    fprintf(f, "<details id=\"trial-%d\"%s><summary>#%d trial %d: ", id, i == 0 ? " open=\"open\"" : "", i + 1, id);
    put_value(f, item(t, "status"));
    fputs(" after ", f);
    put_value(f, item(t, "epochs"));
    fputs(" epoch(s), ", f);
    put_text(f, metric);
    fputs(" ", f);
    put_value(f, value_of(t, metric));
    if (item(t, "value_epoch")) {
      fputs(" at epoch ", f);
      put_value(f, item(t, "value_epoch"));
    }
    fputs("</summary>\n<dl>\n", f);
    cJSON_ArrayForEach(entry, t) {
      if (!strcmp(entry->string, "params") || !strcmp(entry->string, "lineage")) continue;
      put_fact(f, entry->string, entry);
    }
    cJSON_ArrayForEach(entry, item(t, "params")) put_fact(f, entry->string, entry);
    fputs("</dl>\n", f);
    put_curve(f, curves, id);
    const cJSON *lineage = item(t, "lineage");
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
  free(order);

  /* The spec as run. */
  fputs("<h2 id=\"spec\">Spec</h2>\n<pre>", f);
  char *text = spec ? cJSON_Print(spec) : NULL;
  put_text(f, text ? text : "(not recorded)");
  free(text);
  fputs("</pre>\n</body>\n</html>\n", f);
  return CAVIAR_OK;
}

caviar_status caviar_report_html(const char *dir, const char *out_path, int *n_pictures, caviar_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/summary.json", dir);
  char *text = read_all(path, NULL);
  if (!text) return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot read: %s (is %s a sweep's output folder?)", path,
                                strerror(errno), dir);
  cJSON *summary = cJSON_Parse(text);
  free(text);
  if (!summary || !cJSON_IsArray(item(summary, "trials"))) {
    cJSON_Delete(summary);
    return caviar_fail(err, CAVIAR_EINPUT, "%s: not a caviar summary (expected a JSON object with \"trials\")", path);
  }
  snprintf(path, sizeof path, "%s/curves.csv", dir);
  char *curves = read_all(path, NULL);
  caviar_atomic_file af;
  caviar_status st = caviar_atomic_open(&af, out_path, err);
  if (st == CAVIAR_OK) {
    st = write_page(af.f, dir, summary, curves, n_pictures);
    if (st == CAVIAR_OK) st = caviar_atomic_commit(&af, err);
    else {
      caviar_atomic_abort(&af);
      caviar_fail(err, st, "out of memory writing %s", out_path);
    }
  }
  free(curves);
  cJSON_Delete(summary);
  return st;
}
