/* report.html as every sweep writes it: well-formed, self-contained, script-free; its charts
 * match summary.json (a history mark per trial with the trial's value, a panel per swept
 * parameter and none for one that took a single value, brackets, coarse-to-fine boxes, PBT
 * lineage); it reloads itself while the sweep runs and stops when it is over; every text from a
 * spec or a data file is escaped; axis ticks never overlap and read as numbers; 5,000 trials stay
 * under a few MB; and, where Chromium is installed, a real browser renders it with the same marks. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caviar/backend.h"
#include "caviar/json_text.h"
#include "caviar/report.h"
#include "caviar/report_html.h"
#include "caviar/trainer.h"
#include "io/svg_plot.h"
#include "scratch.h"
#include "spec_support.h"
#include "synth_support.h"

#define PYTHON "python3"

static const char *const params_json =
    "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-3, \"max\": 1e-1},"
    " \"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.8, \"max\": 0.99,"
    "  \"when\": {\"optimizer\": [\"adam\"]}},"
    " \"hidden\": {\"values\": [8, 16]}, \"layers\": {\"values\": [1]}, \"activation\": {\"values\": [\"relu\", \"tanh\"]},"
    " \"optimizer\": {\"values\": [\"momentum\", \"adam\"]}";
/* Swept (more than one value): every parameter above but layers. */
static const char *const swept[] = {"learning_rate (log scale)", "beta1 (1 - x on a log scale)", "hidden", "activation",
                                    "optimizer"};

static const char *spec_text(const char *method, const char *data) {
  static char text[4096];
  if (!strcmp(method, "random"))
    snprintf(text, sizeof text,
             "{\"method\": \"random\", \"trials\": 18, \"seed\": 1, \"model\": {\"batch_size\": 32},"
             " \"data\": {\"dir\": \"%s\"}, \"parameters\": {%s}, \"early_terminate\": {\"type\": \"successive_halving\","
             " \"min_epochs\": 1, \"max_epochs\": 4, \"eta\": 3}}",
             data, params_json);
  else if (!strcmp(method, "hyperband"))
    snprintf(text, sizeof text,
             "{\"method\": \"random\", \"seed\": 1, \"model\": {\"batch_size\": 32}, \"data\": {\"dir\": \"%s\"},"
             " \"parameters\": {%s}, \"early_terminate\": {\"type\": \"hyperband\", \"min_iter\": 1, \"max_iter\": 9,"
             " \"eta\": 3}}",
             data, params_json);
  else if (!strcmp(method, "pbt"))
    snprintf(text, sizeof text,
             "{\"method\": \"random\", \"trials\": 8, \"seed\": 1, \"model\": {\"batch_size\": 32, \"epochs\": 6},"
             " \"data\": {\"dir\": \"%s\"}, \"parameters\": {%s}, \"early_terminate\": {\"type\": \"pbt\", \"interval\": 2}}",
             data, params_json);
  else
    snprintf(text, sizeof text,
             "{\"method\": \"coarse-to-fine\", \"trials\": 9, \"seed\": 1, \"model\": {\"batch_size\": 32},"
             " \"coarse_to_fine\": {\"rounds\": 3, \"zoom\": 0.5, \"top_k\": 3}, \"data\": {\"dir\": \"%s\"},"
             " \"parameters\": {%s}, \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1,"
             " \"max_epochs\": 3, \"eta\": 3}}",
             data, params_json);
  return text;
}

/* Runs a sweep of the method's spec into DIR (under the scratch folder) and returns DIR. */
static const char *sweep_of(const char *method, const char *extra_args) {
  static char out[1024];
  const char *data = synth_idx_dir("report", 800, 200, 16, 4, 3.0, true);
  char file[64];
  snprintf(file, sizeof file, "%s.json", method);
  scratch_write_text(file, spec_text(method, data));
  snprintf(out, sizeof out, "%s", scratch_path(method));
  char args[4096];
  snprintf(args, sizeof args, "sweep %s -o %s -q --force %s", scratch_path(file), out, extra_args ? extra_args : "");
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s: %s", method, r.err);
  cli_result_free(&r);
  return out;
}

/* tests/check_report.py's verdict on a page: well-formed, self-contained, and what it holds. */
static cJSON *check_report(const char *page) {
  char cmd[2048], *text;
  snprintf(cmd, sizeof cmd, PYTHON " " CAVIAR_SOURCE_DIR "/tests/check_report.py %s", page);
  int rc = scratch_shell(cmd, &text);
  cr_assert_eq(rc, 0, "%s", text ? text : "");
  cJSON *json = cJSON_Parse(text);
  cr_assert_not_null(json, "%s", text);
  free(text);
  return json;
}

static bool has_label(const cJSON *verdict, const char *label) {
  const cJSON *l;
  cJSON_ArrayForEach(l, cJSON_GetObjectItem(verdict, "chart_labels")) if (cJSON_IsString(l) && !strcmp(l->valuestring, label)) return true;
  return false;
}

/* The page a sweep wrote checked against its summary.json. */
static cJSON *check_sweep_page(const char *dir, bool pbt) {
  char page[1200], path[1200];
  snprintf(page, sizeof page, "%s/report.html", dir);
  snprintf(path, sizeof path, "%s/summary.json", dir);
  cJSON *verdict = check_report(page), *summary = scratch_read_json(path);
  cr_expect(!cJSON_IsTrue(cJSON_GetObjectItem(verdict, "refresh")), "a finished sweep's page still reloads itself");
  cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(verdict, "fragments_ok")), "a link to a missing anchor");
  cr_expect(has_label(verdict, "Optimization history") && has_label(verdict, "Parallel coordinates"));
  /* PBT's copies take the donor's names and shapes: those may end with one value each. */
  for (size_t i = 0; i < (pbt ? 1 : sizeof swept / sizeof *swept); i++)
    cr_expect(has_label(verdict, swept[i]), "no chart of %s", swept[i]);
  cr_expect(!has_label(verdict, "layers"), "layers took one value but is plotted as swept");
  /* A history mark per trial that trained, at the trial's own value. */
  const cJSON *marks = cJSON_GetObjectItem(verdict, "marks"), *t;
  int trained = 0;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(summary, "trials")) {
    if (cJSON_GetObjectItem(t, "epochs")->valueint == 0) continue;
    trained++;
    char id[16];
    snprintf(id, sizeof id, "%d", cJSON_GetObjectItem(t, "trial")->valueint);
    const cJSON *mark = cJSON_GetObjectItem(marks, id), *v = cJSON_GetObjectItem(t, "val_acc");
    cr_assert_not_null(mark, "trial %s has no mark", id);
    if (cJSON_IsNumber(v)) cr_expect(fabs(mark->valuedouble - v->valuedouble) < 1e-6, "trial %s: mark %g, summary %g", id, mark->valuedouble, v->valuedouble);
  }
  cr_expect_eq(cJSON_GetArraySize(marks), trained, "%d marks for %d trials", cJSON_GetArraySize(marks), trained);
  cJSON_Delete(summary);
  return verdict;
}

Test(report, a_successive_halving_sweep_writes_a_page_whose_marks_match_its_summary) {
  cJSON *v = check_sweep_page(sweep_of("random", NULL), false);
  cr_expect(has_label(v, "Learning curves"));
  cr_expect_eq(cJSON_GetObjectItem(v, "pictures")->valueint, 0, "no PNG: the charts are SVG");
  cJSON_Delete(v);
}

Test(report, hyperband_gets_a_learning_curve_panel_per_bracket) {
  const char *dir = sweep_of("hyperband", NULL);
  cJSON *v = check_sweep_page(dir, false);
  char path[1200];
  snprintf(path, sizeof path, "%s/summary.json", dir);
  cJSON *summary = scratch_read_json(path);
  int brackets = cJSON_GetArraySize(cJSON_GetObjectItem(summary, "brackets"));
  cr_assert_gt(brackets, 1);
  for (int b = 0; b < brackets; b++) {
    char label[64];
    snprintf(label, sizeof label, "Learning curves of bracket %d", b);
    cr_expect(has_label(v, label), "no panel for bracket %d", b);
  }
  cJSON_Delete(summary);
  cJSON_Delete(v);
}

Test(report, pbt_gets_its_lineage_and_coarse_to_fine_its_boxes) {
  cJSON *v = check_sweep_page(sweep_of("pbt", NULL), true);
  cr_expect(has_label(v, "PBT lineage"));
  cr_expect_eq(cJSON_GetObjectItem(v, "boxes")->valueint, 0);
  cJSON_Delete(v);
  v = check_sweep_page(sweep_of("c2f", NULL), false);
  cr_expect(!has_label(v, "PBT lineage"));
  /* Rounds 2 and 3 zoom learning_rate and beta1: a box on each of those panels. */
  cr_expect_geq(cJSON_GetObjectItem(v, "boxes")->valueint, 2, "%d boxes", cJSON_GetObjectItem(v, "boxes")->valueint);
  cJSON_Delete(v);
}

Test(report, the_page_reloads_while_the_sweep_runs_and_stops_when_it_is_over) {
  const char *data = synth_idx_dir("report", 800, 200, 16, 4, 3.0, true);
  scratch_write_text("live.json", spec_text("random", data));
  char args[2400], page[1200];
  const char *out = scratch_path("live");
  snprintf(page, sizeof page, "%s/report.html", out);
  snprintf(args, sizeof args, "sweep %s -o %s -q --results-every 0 --snapshot-every 0", scratch_path("live.json"), out);
  cli_result r = run_caviar_with("CAVIAR_KILL_AT=epoch:3", args);
  cr_assert_neq(r.status, 0, "the sweep was not killed");
  cli_result_free(&r);
  cJSON *v = check_report(page);
  cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(v, "refresh")), "a running sweep's page does not reload itself");
  cJSON_Delete(v);
  char *html = scratch_read(page, NULL);
  cr_expect(strstr(html, "is <b>running</b>") != NULL, "the page does not say the sweep runs");
  free(html);
  snprintf(args, sizeof args, "sweep --resume %s -q", out);
  r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  v = check_report(page);
  cr_expect(!cJSON_IsTrue(cJSON_GetObjectItem(v, "refresh")), "the finished sweep's page still reloads itself");
  cJSON_Delete(v);
  html = scratch_read(page, NULL);
  cr_expect(strstr(html, "is <b>finished</b>") != NULL, "the page does not say the sweep is over");
  free(html);
}

Test(report, every_text_from_the_spec_and_the_data_files_is_escaped) {
  /* A CSV whose file name, header and label names carry markup, under a spec whose name and
   * description do. */
  FILE *f = fopen(scratch_path("x<b>&amp;'.csv"), "w");
  cr_assert_not_null(f);
  fputs("<i>label</i>,a&b,\"c<d\"\n", f);
  for (int i = 0; i < 200; i++)
    /* Every row its own (a test set must share no example with training). */
    fprintf(f, "%s,%d,%d\n", i % 2 ? "<script>alert(1)</script>" : "cat&dog", i, (i * 13) % 11 + (i % 2) * 9);
  fclose(f);
  char text[2048];
  snprintf(text, sizeof text,
           "{\"name\": \"</title><script>alert(1)</script>\", \"description\": \"a & b < c \\\"quoted\\\" 'single'\","
           " \"method\": \"random\", \"trials\": 3, \"model\": {\"batch_size\": 16, \"epochs\": 2},"
           " \"data\": {\"format\": \"csv\", \"train\": \"%s\", \"test\": 0.2, \"label_column\": \"<i>label</i>\"},"
           " \"parameters\": {\"learning_rate\": {\"values\": [0.01, 0.03]}}}",
           scratch_path("x<b>&amp;'.csv"));
  scratch_write_text("hostile.json", text);
  char args[2400], page[1200];
  snprintf(args, sizeof args, "sweep %s -q -o %s", scratch_path("hostile.json"), scratch_path("hostile-out"));
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  snprintf(page, sizeof page, "%s/report.html", scratch_path("hostile-out"));
  cJSON *v = check_report(page); /* well-formed and without a script element */
  cJSON_Delete(v);
  char *html = scratch_read(page, NULL);
  cr_expect(strstr(html, "<script") == NULL, "markup from the spec or data reached the page unescaped");
  cr_expect(strstr(html, "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;") != NULL, "the spec's name is missing");
  cr_expect(strstr(html, "a &amp; b &lt; c &quot;quoted&quot; &#39;single&#39;") != NULL, "the description is missing");
  cr_expect(strstr(html, "x&lt;b&gt;&amp;amp;&#39;.csv") != NULL, "the data file's name is missing");
  free(html);
}

Test(report, a_missing_folder_is_one_line_and_report_redraws_an_old_folder) {
  cli_result r = run_caviar("report /nonexistent/sweep");
  cr_expect_eq(r.status, 2);
  cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
  cr_expect(strstr(r.err, "/nonexistent/sweep/summary.json: cannot read") != NULL, "%s", r.err);
  cli_result_free(&r);
  const char *dir = sweep_of("random", NULL);
  char args[1400], page[1200];
  snprintf(page, sizeof page, "%s", scratch_path("elsewhere.html"));
  snprintf(args, sizeof args, "report %s -o %s", dir, page);
  r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.err, "chart(s)") != NULL, "%s", r.err);
  cli_result_free(&r);
  cJSON *v = check_report(page);
  cr_expect(!cJSON_IsTrue(cJSON_GetObjectItem(v, "refresh")), "a page of an old folder reloads itself");
  cr_expect_geq(cJSON_GetObjectItem(v, "charts")->valueint, 8);
  cJSON_Delete(v);
}

/* ---- axes ---- */

static void expect_readable(const svg_axis *a, const char *what) {
  svg_ticks t;
  svg_axis_ticks(a, &t);
  cr_expect_geq(t.n, 2, "%s: %d ticks", what, t.n);
  double lo = fmin(a->lo, a->hi), hi = fmax(a->lo, a->hi);
  for (int i = 0; i < t.n; i++) {
    cr_expect(t.at[i] >= lo - 1e-12 * fabs(lo) && t.at[i] <= hi + 1e-12 * fabs(hi), "%s: tick %g outside [%g, %g]", what,
              t.at[i], lo, hi);
    if (a->scale == SVG_INTEGER) cr_expect_eq(t.at[i], floor(t.at[i]), "%s: tick %g is not a whole number", what, t.at[i]);
    cr_expect(strlen(t.label[i]) <= 10, "%s: label %s is not short", what, t.label[i]);
    if (i == 0) continue;
    double d = fabs(svg_px(a, t.at[i]) - svg_px(a, t.at[i - 1]));
    double need = a->vertical ? 12 : (svg_text_width(t.label[i]) + svg_text_width(t.label[i - 1])) / 2 + 4;
    cr_expect(d >= need, "%s: labels %s and %s overlap (%g px apart, %g needed)", what, t.label[i - 1], t.label[i], d, need);
    cr_expect(strcmp(t.label[i], t.label[i - 1]) != 0, "%s: two ticks read %s", what, t.label[i]);
  }
}

static bool has_tick(const svg_axis *a, const char *label) {
  svg_ticks t;
  svg_axis_ticks(a, &t);
  for (int i = 0; i < t.n; i++)
    if (!strcmp(t.label[i], label)) return true;
  return false;
}

Test(report, log_ticks_read_as_numbers_and_betas_on_their_one_minus_scale) {
  svg_axis lr = {.scale = SVG_LOG, .lo = 1e-4, .hi = 1, .px0 = 0, .px1 = 300};
  expect_readable(&lr, "lr");
  cr_expect(has_tick(&lr, "1e-4") && has_tick(&lr, "0.001") && has_tick(&lr, "0.01") && has_tick(&lr, "1"));
  svg_axis beta = {.scale = SVG_ONE_MINUS, .lo = 0.9, .hi = 0.999, .px0 = 0, .px1 = 300};
  expect_readable(&beta, "beta");
  cr_expect(has_tick(&beta, "0.9") && has_tick(&beta, "0.99") && has_tick(&beta, "0.999"));
  /* On that scale 0.99 sits halfway between 0.9 and 0.999. */
  cr_expect(fabs(svg_px(&beta, 0.99) - 150) < 1e-9);
  svg_axis epochs = {.scale = SVG_INTEGER, .lo = 1, .hi = 3, .px0 = 0, .px1 = 600};
  svg_ticks t;
  svg_axis_ticks(&epochs, &t);
  cr_expect_eq(t.n, 3, "epochs 1..3 get ticks 1, 2, 3, not halves (%d ticks)", t.n);
}

Test(report, ticks_never_overlap_on_any_range_scale_or_width) {
  srand(7);
  const svg_scale scales[] = {SVG_LINEAR, SVG_INTEGER, SVG_LOG, SVG_ONE_MINUS};
  for (int k = 0; k < 4000; k++) {
    /* As long as the report's axes are or longer: 200 px across, 100 up. */
    svg_axis a = {.scale = scales[k % 4], .px0 = 0, .px1 = 200 + rand() % 800, .vertical = k % 3 == 0};
    double u = (double)rand() / RAND_MAX, v = (double)rand() / RAND_MAX;
    switch (a.scale) {
      case SVG_LOG: a.lo = pow(10, -8 + 8 * u), a.hi = a.lo * pow(10, 0.2 + 7 * v); break;
      case SVG_ONE_MINUS: a.lo = 1 - pow(10, -0.3 - 2 * u), a.hi = 1 - (1 - a.lo) * pow(10, -0.2 - 3 * v); break;
      case SVG_INTEGER: a.lo = floor(100 * u), a.hi = a.lo + 2 + floor(5000 * v * v); break;
      default: a.lo = -1e3 * u * u, a.hi = a.lo + 1e-3 * (1 + fabs(a.lo)) + 1e4 * v * v * v; break;
    }
    if (a.vertical) a.px0 = 400, a.px1 = 400 - (100 + rand() % 300);
    char what[96];
    snprintf(what, sizeof what, "scale %d [%g, %g] over %g px", a.scale, a.lo, a.hi, fabs(a.px1 - a.px0));
    expect_readable(&a, what);
  }
}

/* ---- size ---- */

/* A summary and curves as an n-trial successive-halving sweep leaves them (eta 3, up to 81
 * epochs), six swept parameters: the page is a function of these two alone. */
static cJSON *big_sweep(int n, char **curves_out) {
  cJSON *summary = cJSON_CreateObject(), *spec = cJSON_Parse(
      "{\"name\": \"big\", \"method\": \"random\", \"metric\": {\"name\": \"val_acc\", \"goal\": \"maximize\"},"
      " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1},"
      " \"beta1\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.8, \"max\": 0.999},"
      " \"dropout\": {\"min\": 0, \"max\": 0.5}, \"hidden\": {\"values\": [64, 128, 256]},"
      " \"activation\": {\"values\": [\"relu\", \"tanh\"]}, \"l2\": {\"values\": [0, 1e-5]}}}");
  cJSON_AddItemToObject(summary, "spec", spec);
  cJSON_AddStringToObject(summary, "metric", "val_acc");
  cJSON *rungs = cJSON_AddArrayToObject(summary, "rungs");
  for (int e = 1; e <= 81; e *= 3) cJSON_AddItemToArray(rungs, cJSON_CreateNumber(e));
  cJSON *trials = cJSON_AddArrayToObject(summary, "trials");
  char *curves = NULL;
  size_t curves_size = 0;
  FILE *c = open_memstream(&curves, &curves_size);
  fputs("trial,epoch,train_loss,val_loss,val_acc\n", c);
  srand(3);
  static const char *const acts[] = {"relu", "tanh"};
  for (int i = 0; i < n; i++) {
    /* A third of the trials reach each next rung. */
    int epochs = i % 81 == 0 ? 81 : i % 27 == 0 ? 27 : i % 9 == 0 ? 9 : i % 3 == 0 ? 3 : 1;
    cJSON *t = cJSON_CreateObject(), *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "trial", i);
    cJSON_AddNumberToObject(t, "rank", i + 1);
    cJSON_AddStringToObject(t, "status", epochs == 81 ? "survived" : "culled");
    cJSON_AddNumberToObject(t, "epochs", epochs);
    cJSON_AddNumberToObject(p, "learning_rate", pow(10, -4 + 4.0 * rand() / RAND_MAX));
    cJSON_AddNumberToObject(p, "beta1", 1 - pow(10, -0.7 - 2.3 * rand() / RAND_MAX));
    cJSON_AddNumberToObject(p, "dropout", 0.5 * rand() / RAND_MAX);
    cJSON_AddNumberToObject(p, "hidden", 64 << (rand() % 3));
    cJSON_AddStringToObject(p, "activation", acts[rand() % 2]);
    cJSON_AddNumberToObject(p, "l2", rand() % 2 ? 1e-5 : 0);
    cJSON_AddItemToObject(t, "params", p);
    double acc = 0;
    for (int e = 1; e <= epochs; e++) {
      acc = 0.9 - 0.5 / (e + 1) - 0.1 * rand() / RAND_MAX;
      fprintf(c, "%d,%d,%.9g,%.9g,%.9g\n", i, e, 1 - acc, 1.1 - acc, acc);
    }
    cJSON_AddNumberToObject(t, "val_acc", acc);
    cJSON_AddItemToArray(trials, t);
  }
  fclose(c);
  *curves_out = curves;
  return summary;
}

Test(report, five_thousand_trials_stay_under_five_megabytes) {
  const int n = 5000;
  char *curves;
  cJSON *summary = big_sweep(n, &curves);
  char *page = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&page, &size);
  caviar_page_live live = {.running = true, .reload_s = 30};
  caviar_page_info info = {0};
  caviar_report_page(f, "sweep", summary, curves, &live, &info);
  fclose(f);
  printf("report.html of %d trials: %.2f MB, %d charts\n", n, size / 1e6, info.charts);
  cr_expect_lt(size, 5000000, "%zu bytes", size);
  cr_expect_eq(info.charts, 1 + 1 + 6 + 1, "curves, history, 6 parameters, parallel coordinates: %d", info.charts);
  free(page);
  free(curves);
  cJSON_Delete(summary);
}

Test(report, curves_read_in_pieces_side_by_side_give_the_page_read_in_one) {
  /* Lines of unknown trials, lines cut short, a trial whose epochs come out of order and pieces
   * cut anywhere: the same page as one piece reads. */
  char *curves;
  cJSON *summary = big_sweep(3000, &curves);
  size_t len = strlen(curves);
  char *odd = malloc(len + 256);
  memcpy(odd, curves, len);
  strcpy(odd + len, "99999,1,0.5,0.5,0.5\n12,1\n3,2,0.1,0.2,0.3\n3,1,0.1,0.2,0.31\nnot,a,line\n4,1,0.1,nan,0.2");
  char *pages[2];
  size_t sizes[2];
  size_t pieces_at[2] = {(size_t)-1, 2048};
  for (int k = 0; k < 2; k++) {
    caviar_page_piece_bytes = pieces_at[k];
    FILE *f = open_memstream(&pages[k], &sizes[k]);
    caviar_report_page(f, "sweep", summary, odd, NULL, NULL);
    fclose(f);
  }
  caviar_page_piece_bytes = CAVIAR_PAGE_PIECE_BYTES;
  cr_expect_gt(len, 16 * 2048, "too few bytes for 16 pieces");
  cr_expect(sizes[0] == sizes[1] && memcmp(pages[0], pages[1], sizes[0]) == 0, "the pages differ");
  for (int k = 0; k < 2; k++) free(pages[k]);
  free(odd);
  free(curves);
  cJSON_Delete(summary);
}

/* ---- in a browser ---- */

Test(report, chromium_renders_the_page_with_a_mark_per_trial, .timeout = 240) {
  if (system("command -v chromium > /dev/null 2>&1") != 0) cr_skip_test("chromium is not installed (scripts/setup.sh installs it where it can)");
  const char *dir = sweep_of("random", NULL);
  char cmd[2600], *text;
  snprintf(cmd, sizeof cmd, PYTHON " " CAVIAR_SOURCE_DIR "/tests/check_report_browser.py %s", dir);
  int rc = scratch_shell(cmd, &text);
  cr_assert_eq(rc, 0, "%s", text ? text : "");
  free(text);
}

/* ---- The sweep's own page, drawn from summary.json's tree as written, not read back ---- */

/* The same tree bit for bit: types, keys, strings, and numbers by their bits (cJSON_Compare's
 * numbers are only near). */
static bool same_tree(const cJSON *a, const cJSON *b, char *where, size_t size) {
  for (; a || b; a = a->next, b = b->next) {
    if (!a || !b || (a->type & 0xFF) != (b->type & 0xFF) || (a->string == NULL) != (b->string == NULL) ||
        (a->string && strcmp(a->string, b->string))) {
      snprintf(where, size, "at %s: %s", a && a->string ? a->string : "?", !a || !b ? "lengths differ" : "type or key");
      return false;
    }
    if (cJSON_IsNumber(a) && (memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) || a->valueint != b->valueint)) {
      snprintf(where, size, "at %s: %.17g != %.17g", a->string ? a->string : "?", a->valuedouble, b->valuedouble);
      return false;
    }
    if (cJSON_IsString(a) && strcmp(a->valuestring, b->valuestring)) {
      snprintf(where, size, "at %s: \"%s\" != \"%s\"", a->string ? a->string : "?", a->valuestring, b->valuestring);
      return false;
    }
    if (!same_tree(a->child, b->child, where, size)) return false;
  }
  return true;
}

/* A sweep of spec text run on the CPU backend, with what it ran on. */
typedef struct ran {
  caviar_spec spec;
  caviar_data data;
  caviar_backend *be;
  caviar_sweep_result result;
} ran;

static ran run_sweep(const char *text) {
  ran run;
  caviar_error err;
  spec_ok(text, &run.spec);
  cr_assert_eq(caviar_data_load(&run.spec.data, run.spec.seed, &run.data, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_backend_cpu(&run.be, &err), CAVIAR_OK);
  caviar_sweep sweep = {.spec = &run.spec, .seed = run.spec.seed, .trials = -1, .backend = run.be, .data = &run.data};
  cr_assert_eq(caviar_sweep_run(&sweep, &run.result, &err), CAVIAR_OK, "%s", err.msg);
  return run;
}

static void ran_free(ran *run) {
  caviar_sweep_result_free(&run->result);
  run->be->destroy(run->be);
  caviar_data_free(&run->data);
  caviar_spec_free(&run->spec);
}

static char *page_of(const cJSON *summary, const char *curves, const caviar_page_live *live) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  cr_assert(f);
  caviar_report_page(f, "sweep", summary, curves, live, NULL);
  fclose(f);
  return text;
}

Test(report, the_summary_tree_a_sweep_draws_its_page_from_is_the_file_read_back_bit_for_bit) {
  const char *methods[] = {"random", "hyperband", "pbt", "c2f"};
  const char *data = synth_idx_dir("report", 800, 200, 16, 4, 3.0, true);
  for (size_t k = 0; k < sizeof methods / sizeof *methods; k++) {
    ran run = run_sweep(spec_text(methods[k], data));
    caviar_sweep_result r = run.result;
    caviar_error err;
    caviar_report_info info = {.spec = &run.spec, .seed = run.spec.seed, .device = "cpu \"test\" \xff",
                               .data = &run.data, .keep_models = 2, .finished = true};
    char dir[1100], path[1200];
    snprintf(dir, sizeof dir, "%s", scratch_path(methods[k]));
    strcat(dir, "-tree");
    cJSON *tree;
    cr_assert_eq(caviar_report_write_tree(dir, &info, &r, NULL, &tree, &err), CAVIAR_OK, "%s", err.msg);
    cr_assert(tree, "%s: a tree with the results", methods[k]);
    snprintf(path, sizeof path, "%s/summary.json", dir);
    size_t len;
    char *text = scratch_read(path, &len);
    cr_assert(text);
    cJSON *read_back = caviar_json_parse_text(text, len);
    cr_assert(read_back);
    char where[512] = "";
    cr_expect(same_tree(tree, read_back, where, sizeof where), "%s: %s", methods[k], where);
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(tree, "trials")), r.n_trials);
    snprintf(path, sizeof path, "%s/curves.csv", dir);
    char *curves = scratch_read(path, &len);
    caviar_page_live live = {.running = false, .reload_s = 5, .state = "finished"};
    char *a = page_of(tree, curves, &live), *b = page_of(read_back, curves, &live);
    /* The pages differ only in the minute they were written, if at all. */
    char *ta = strstr(a, "Written "), *tb = strstr(b, "Written ");
    if (ta && tb) memcpy(ta, tb, 27);
    cr_expect(strcmp(a, b) == 0, "%s: the page from the tree differs from the page from the file", methods[k]);
    free(a);
    free(b);
    free(curves);
    free(text);
    cJSON_Delete(tree);
    cJSON_Delete(read_back);
    run.result = r;
    ran_free(&run);
  }
}

/* ---- summary.json's text ---- */

/* Callbacks of a study (report.h): parameters as its own JSON, logged values (none for some
 * trials), and a reason with every kind of character a program's stderr may hold. */
static const char *study_params(const void *ctx, uint32_t trial) {
  (void)ctx;
  return trial % 2 ? "{\"lr\": 0.001, \"name\": \"caf\xc3\xa9 \xf0\x9f\x90\x9f\", \"layers\": [1, 2, 4], \"none\": {}}"
                   : "{\"lr\": 0.5}";
}
static const cJSON *study_metrics(const void *ctx, uint32_t trial) {
  static cJSON *logged;
  if (!logged) logged = cJSON_Parse("{\"loss\": 0.25, \"note\": \"a\\tb\\u0001\", \"nested\": {\"x\": [0.5, null, true]}}");
  (void)ctx;
  return trial % 3 ? logged : NULL;
}
static const char *study_reason(const void *ctx, uint32_t trial) {
  (void)ctx;
  return trial % 4 == 1 ? "exit 1: \"bad\"\\ \x01\x1f\n\r\t\b\f \xff\xfe caf\xc3\xa9 \xe2\x82" : NULL;
}

/* summary.json as cJSON_Print lays out the tree a reader parses from it (the bytes that are not
 * UTF-8 escaped as caviar_json_print_text escapes them). Every figure is one both print alike. */
static void expect_laid_out_as_cjson_prints_it(const char *dir, const char *what) {
  char path[1200];
  snprintf(path, sizeof path, "%s/summary.json", dir);
  size_t len;
  char *text = scratch_read(path, &len);
  cr_assert(text, "%s", what);
  cJSON *tree = caviar_json_parse_text(text, len);
  cr_assert(tree, "%s: summary.json parses", what);
  char *again = caviar_json_print_text(tree, true);
  cr_assert(again);
  size_t n = strlen(again), at = 0;
  while (at < n && at < len && again[at] == text[at]) at++;
  cr_expect(len == n + 1 && at == n && text[n] == '\n', "%s: summary.json differs from cJSON's print at byte %zu: ...%.60s",
            what, at, text + (at > 20 ? at - 20 : 0));
  free(again);
  free(text);
  cJSON_Delete(tree);
}

Test(report, summary_json_is_laid_out_as_cjson_prints_it_for_every_kind_of_trial_and_string) {
  const char *data = synth_idx_dir("report", 800, 200, 16, 4, 3.0, true);
  const char *methods[] = {"random", "pbt"};
  for (size_t k = 0; k < sizeof methods / sizeof *methods; k++) {
    ran run = run_sweep(spec_text(methods[k], data));
    caviar_sweep_result r = run.result;
    caviar_error err;
    /* Figures that cJSON prints as caviar does (short decimals and dyadic fractions), a diverged
     * trial's missing ones among them. */
    for (int i = 0; i < r.n_trials; i++) {
      caviar_trial_result *t = &r.trials[i];
      t->trial.hp.learning_rate = i % 2 ? 0.001 : 0.0625;
      t->trial.hp.beta1 = 0.875;
      t->train_loss = 0.5f, t->val_loss = i % 5 == 4 ? NAN : 0.25f + 0.125f * (float)(i % 3);
      t->val_acc = 0.75f, t->test_loss = 0.375f, t->test_acc = 0.5f;
      t->best_train_loss = 0.5f, t->best_val_loss = 0.25f, t->best_val_acc = 0.8125f;
    }
    char dir[1200];
    snprintf(dir, sizeof dir, "%s-layout", scratch_path(methods[k]));
    caviar_report_info info = {.spec = &run.spec, .seed = run.spec.seed, .device = "cpu \"test\" \xff\x01",
                               .data = &run.data, .keep_models = 2, .finished = true};
    cr_assert_eq(caviar_report_write(dir, &info, &r, NULL, &err), CAVIAR_OK, "%s", err.msg);
    expect_laid_out_as_cjson_prints_it(dir, methods[k]);
    /* A study's trials: its parameters, logged values and reasons. */
    info.params_json = study_params;
    info.trial_metrics = study_metrics;
    info.trial_reason = study_reason;
    cr_assert_eq(caviar_report_write(dir, &info, &r, NULL, &err), CAVIAR_OK, "%s", err.msg);
    expect_laid_out_as_cjson_prints_it(dir, "a study's trials");
    run.result = r;
    ran_free(&run);
  }
}

Test(report, curves_csv_holds_every_point_in_order_as_printf_writes_it_however_many_there_are) {
  /* curves.csv's lines are put together in pieces side by side and written in order: 140,001
   * points (more than two rounds of pieces, the last piece short) of every kind of float, against
   * printf's "%u,%d,%.9g,%.9g,%.9g" line by line. */
  const char *data = synth_idx_dir("report", 800, 200, 16, 4, 3.0, true);
  ran run = run_sweep(spec_text("random", data));
  caviar_sweep_result r = run.result;
  enum { POINTS = 140001 };
  caviar_curve_point *kept = r.curve, *points = malloc(POINTS * sizeof *points);
  size_t kept_n = r.n_curve;
  cr_assert(points);
  srand(5);
  for (int i = 0; i < POINTS; i++) {
    float v[3];
    for (int k = 0; k < 3; k++) {
      switch ((i + k) % 5) {
        case 0: v[k] = (float)rand() / (float)RAND_MAX; break;
        case 1: v[k] = ldexpf((float)rand(), rand() % 200 - 150) * (rand() % 2 ? 1.0f : -1.0f); break;
        case 2: v[k] = (float)(rand() % 1000) / 8.0f; break;
        case 3: v[k] = i % 7 ? 0.0f : -0.0f; break;
        default: v[k] = 1e-40f * (float)(rand() % 100); break; /* subnormal */
      }
    }
    points[i] = (caviar_curve_point){.trial = (uint32_t)(i / 9), .epoch = 1 + i % 9, .train_loss = v[0], .val_loss = v[1],
                                     .val_acc = v[2]};
  }
  r.curve = points;
  r.n_curve = POINTS;
  char dir[1200];
  snprintf(dir, sizeof dir, "%s-many-points", scratch_path("curves"));
  caviar_report_info info = {.spec = &run.spec, .seed = run.spec.seed, .device = "cpu", .data = &run.data,
                             .keep_models = 1, .finished = true};
  caviar_error err;
  cr_assert_eq(caviar_report_write(dir, &info, &r, NULL, &err), CAVIAR_OK, "%s", err.msg);
  char path[1300], line[256], want[256];
  snprintf(path, sizeof path, "%s/curves.csv", dir);
  FILE *f = fopen(path, "r");
  cr_assert(f);
  cr_assert(fgets(line, sizeof line, f));
  cr_expect_str_eq(line, "trial,epoch,train_loss,val_loss,val_acc\n");
  int i = 0, wrong = 0;
  for (; fgets(line, sizeof line, f); i++) {
    if (i >= POINTS) continue;
    const caviar_curve_point *p = &points[i];
    snprintf(want, sizeof want, "%u,%d,%.9g,%.9g,%.9g\n", p->trial, p->epoch, (double)p->train_loss, (double)p->val_loss,
             (double)p->val_acc);
    if (strcmp(line, want) && wrong++ < 3) cr_log_error("line %d: %s, printf: %s", i + 2, line, want);
  }
  fclose(f);
  cr_expect_eq(i, POINTS, "%d lines of points, %d points", i, POINTS);
  cr_expect_eq(wrong, 0, "%d lines differ from printf's", wrong);
  r.curve = kept;
  r.n_curve = kept_n;
  free(points);
  run.result = r;
  ran_free(&run);
}

Test(report, chart_coordinates_are_printfs_text_for_every_kind_of_double) {
  /* svg_fixed against printf itself: random coordinates, exact halves (ties go to even), values a
   * hair either side of a half, signed zeros and small negatives ("-0.0"), the limit and beyond. */
  char want[SVG_FIXED_ROOM], got[SVG_FIXED_ROOM];
  srand(11);
  long checked = 0, wrong = 0;
  for (long i = 0; i < 3000000; i++) {
    double x;
    switch (i % 8) {
      case 0: x = (rand() / (double)RAND_MAX - 0.3) * 2400; break;
      case 1: x = (double)(rand() % 40000 - 20000) / 20; break;        /* k.x5 and k.x0: ties and not */
      case 2: x = (double)(rand() % 4000 - 2000) / 4; break;           /* exact binary halves */
      case 3: x = nextafter((double)(rand() % 20000 - 10000) / 20, rand() % 2 ? INFINITY : -INFINITY); break;
      case 4: x = -(rand() / (double)RAND_MAX) * 0.1; break;
      case 5: x = ldexp(rand() / (double)RAND_MAX, rand() % 100 - 50); break;
      case 6: x = (rand() / (double)RAND_MAX) * 2e14; break;
      default: x = (double)(rand() % 2000000) + 0.5; break;
    }
    for (int digits = 0; digits <= 1; digits++) {
      snprintf(want, sizeof want, "%.*f", digits, x);
      int n = svg_fixed(got, x, digits);
      checked++;
      if (strcmp(want, got) || n != (int)strlen(want)) {
        if (wrong++ < 5) cr_log_error("%.17g, %d digits: printf %s, svg_fixed %s", x, digits, want, got);
      }
    }
  }
  const double special[] = {0.0, -0.0, 0.05, 0.15, 0.25, 0.35, -0.25, 2.5, 3.5, -2.5, 1e14, 99999999999999.95,
                            -1e-300, 1e40, -1e300, 1.7976931348623157e308, INFINITY, -INFINITY, NAN};
  for (size_t i = 0; i < sizeof special / sizeof *special; i++)
    for (int digits = 0; digits <= 1; digits++) {
      snprintf(want, sizeof want, "%.*f", digits, special[i]);
      svg_fixed(got, special[i], digits);
      checked++;
      if (strcmp(want, got) && wrong++ < 10) cr_log_error("%.17g, %d digits: printf %s, svg_fixed %s", special[i], digits, want, got);
    }
  cr_expect_eq(wrong, 0, "%ld of %ld texts differ from printf's", wrong, checked);
}

Test(report, a_big_sweeps_page_drawn_from_its_brief_tree_is_the_page_drawn_from_the_file) {
  /* Past CAVIAR_PAGE_ROWS trials the tree a sweep draws its page from holds, for a trial off the
   * page's leaderboard, only what the page reads of it: the page must not tell. */
  const char *data = synth_idx_dir("report-big", 200, 50, 8, 3, 3.0, true);
  char text[4096];
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"trials\": %d, \"seed\": 2, \"model\": {\"batch_size\": 64},"
           " \"data\": {\"dir\": \"%s\"}, \"parameters\": {%s}, \"early_terminate\": {\"type\": \"successive_halving\","
           " \"min_epochs\": 1, \"max_epochs\": 3, \"eta\": 3}}",
           CAVIAR_PAGE_ROWS + 600, data, params_json);
  ran run = run_sweep(text);
  caviar_spec spec = run.spec;
  caviar_data d = run.data;
  caviar_sweep_result r = run.result;
  caviar_error err;
  caviar_report_info info = {.spec = &spec, .seed = spec.seed, .device = "cpu", .data = &d, .finished = true};
  char dir[1200], path[1300];
  snprintf(dir, sizeof dir, "%s", scratch_path("big-tree"));
  cJSON *tree;
  cr_assert_eq(caviar_report_write_tree(dir, &info, &r, NULL, &tree, &err), CAVIAR_OK, "%s", err.msg);
  snprintf(path, sizeof path, "%s/summary.json", dir);
  size_t len;
  char *file = scratch_read(path, &len);
  cJSON *read_back = caviar_json_parse_text(file, len);
  cr_assert(tree && read_back);
  /* The trials on the page's leaderboard are whole, the rest brief. */
  int whole = 0, brief = 0;
  const cJSON *a = cJSON_GetObjectItem(tree, "trials")->child, *b = cJSON_GetObjectItem(read_back, "trials")->child;
  for (; a && b; a = a->next, b = b->next) {
    char where[512] = "";
    if (cJSON_GetObjectItem(a, "rank")->valueint <= CAVIAR_PAGE_ROWS) {
      whole++;
      cr_expect(same_tree(a->child, b->child, where, sizeof where), "trial %d: %s",
                cJSON_GetObjectItem(b, "trial")->valueint, where);
    } else {
      brief++;
      cr_expect_lt(cJSON_GetArraySize(a), cJSON_GetArraySize(b));
    }
  }
  cr_expect_eq(whole, CAVIAR_PAGE_ROWS);
  cr_expect_eq(brief, r.n_trials - CAVIAR_PAGE_ROWS);
  snprintf(path, sizeof path, "%s/curves.csv", dir);
  char *curves = scratch_read(path, &len);
  caviar_page_live live = {.running = true, .reload_s = 5};
  char *pa = page_of(tree, curves, &live), *pb = page_of(read_back, curves, &live);
  char *ta = strstr(pa, "Written "), *tb = strstr(pb, "Written ");
  if (ta && tb) memcpy(ta, tb, 27);
  cr_expect(strcmp(pa, pb) == 0, "the page from the brief tree differs from the page from the file");
  free(pa);
  free(pb);
  free(curves);
  free(file);
  cJSON_Delete(tree);
  cJSON_Delete(read_back);
  ran_free(&run);
}
