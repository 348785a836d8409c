#include "caviar/report.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caviar/atomic_file.h"
#include "caviar/hparams.h"
#include "caviar/json_text.h"
#include "caviar/model_file.h"
#include "caviar/number_format.h"
#include "caviar/report_html.h"
#include "caviar/trial_json.h"
#include "caviar/writer_lock.h"
#include "caviar/zoom.h"

/* Every node summary.json is built from is checked: put and push add an item (or free it and
 * clear *ok when it, its parent or the insertion is missing), so running out of memory gives an
 * error, never a summary with fields silently left out. */
static cJSON *put(cJSON *obj, const char *key, cJSON *item, bool *ok) {
  if (obj && item && cJSON_AddItemToObject(obj, key, item)) return item;
  cJSON_Delete(item);
  *ok = false;
  return NULL;
}

static cJSON *push(cJSON *array, cJSON *item, bool *ok) {
  if (array && item && cJSON_AddItemToArray(array, item)) return item;
  cJSON_Delete(item);
  *ok = false;
  return NULL;
}

/* Regression figures in the target's units, from a mean squared error of standardised targets. */
static double rmse_of(double mse, double std) { return sqrt(mse) * std; }

/* Where a trial's fields go; trial_fields says which fields a trial has, once for every form:
 * - an object of a tree (obj), its figures as the text caviar_format_number gives them (raw:
 *   summary.json's head, --json) or as numbers (report.html's tree: a figure's text reads back as
 *   exactly the figure, so these are the numbers a reader parsing summary.json gets);
 * - or summary.json's text itself (text), laid out as cJSON_Print lays out an object whose fields
 *   stand `depth` tabs in, and valid UTF-8 as caviar_json_print_text makes it: 100,000 trials'
 *   trees built only to be printed were most of a big sweep's final write. */
typedef struct fields {
  cJSON *obj;
  bool numbers;
  /* A tree for report.html of a trial off its leaderboard, only what the page reads of it: its
   * charts find a trial by the box's parameters alone, so those of caviar_hp_table the box has
   * (brief[i]) are its only parameters. NULL: the whole trial. */
  const bool *brief;
  caviar_text *text;
  int depth, n; /* text: the fields' indentation, and how many are written */
  bool *ok;
} fields;

/* The next field's key (text): after a comma and a line break unless it is the first. */
static void put_key(fields *f, const char *key) {
  if (f->n++) caviar_text_put(f->text, ",\n", 2);
  caviar_text_tabs(f->text, f->depth);
  caviar_json_put_string(f->text, key);
  caviar_text_put(f->text, ":\t", 2);
}

/* Every field's key is a literal or a name in caviar_hp_table, so a tree holds it by reference
 * (cJSON_AddItemToObjectCS): a 100,000-trial sweep's trees are millions of small items, and a
 * copy of each key doubled their allocations and frees. */
static bool field_item(fields *f, const char *key, cJSON *item) {
  if (f->obj && item && cJSON_AddItemToObjectCS(f->obj, key, item)) return true;
  cJSON_Delete(item);
  *f->ok = false;
  return false;
}

static void field_int(fields *f, const char *key, long long v) {
  if (!f->text) {
    field_item(f, key, cJSON_CreateNumber((double)v));
    return;
  }
  char text[24];
  put_key(f, key);
  caviar_text_put(f->text, text, (size_t)caviar_int_text(text, v));
}

/* A trial's figure: the shortest of 16 or 17 digits that reads back exactly (a float's without
 * printf), or null where it is not finite. */
static void field_figure(fields *f, const char *key, double x) {
  char text[40];
  if (!f->text && (f->numbers || !isfinite(x))) {
    field_item(f, key, isfinite(x) ? cJSON_CreateNumber(x) : cJSON_CreateNull());
    return;
  }
  int n = isfinite(x) ? caviar_format_number(text, sizeof text, x) : 0;
  if (!f->text) {
    field_item(f, key, cJSON_CreateRaw(text));
    return;
  }
  put_key(f, key);
  if (n) caviar_text_put(f->text, text, (size_t)n);
  else caviar_text_put(f->text, "null", 4);
}

static void field_string(fields *f, const char *key, const char *s) {
  if (!f->text) {
    field_item(f, key, cJSON_CreateString(s));
    return;
  }
  put_key(f, key);
  caviar_json_put_string(f->text, s);
}

/* A string that lives as long as the program (a status's name, a choice of caviar_hp_table, a
 * literal): a tree holds it by reference. */
static void field_word(fields *f, const char *key, const char *s) {
  if (!f->text) field_item(f, key, cJSON_CreateStringReference(s));
  else field_string(f, key, s);
}

/* A tree of another's making (a study's values): a copy, or its printed text; in
 * report.html's tree (numbers), its text parsed, the numbers a reader of summary.json gets (cJSON
 * prints some with 15 digits that read back an ulp away). */
static void field_tree(fields *f, const char *key, const cJSON *tree) {
  if (!f->text && f->numbers) {
    char *printed = tree ? caviar_json_print_text(tree, false) : NULL;
    field_item(f, key, printed ? caviar_json_parse_text(printed, strlen(printed)) : NULL);
    free(printed);
    return;
  }
  if (!f->text) {
    field_item(f, key, tree ? cJSON_Duplicate(tree, true) : NULL);
    return;
  }
  if (!tree) {
    *f->ok = false;
    return;
  }
  put_key(f, key);
  caviar_json_put(f->text, tree, true, f->depth);
}

/* PBT's lineage: the tree caviar_lineage_cjson builds (report.html's with the numbers as read), or
 * its text. */
static void field_lineage(fields *f, const caviar_trial_result *t) {
  if (!f->text) {
    field_item(f, "lineage", caviar_lineage_cjson(t, f->numbers));
    return;
  }
  put_key(f, "lineage");
  caviar_lineage_put(f->text, t, true, f->depth);
}

/* An object: a field of f (key), or the trial itself (key NULL); its fields go into the result. */
static fields object_begin(fields *f, const char *key) {
  fields in = *f;
  in.n = 0;
  in.depth = f->depth + 1;
  if (f->text) {
    if (key) put_key(f, key);
    caviar_text_put(f->text, "{\n", 2);
    return in;
  }
  in.obj = cJSON_CreateObject();
  if (!in.obj) *f->ok = false;
  else if (key && !field_item(f, key, in.obj)) in.obj = NULL;
  return in;
}

static void object_end(const fields *in) {
  if (!in->text) return;
  if (in->n) caviar_text_put(in->text, "\n", 1);
  caviar_text_tabs(in->text, in->depth - 1);
  caviar_text_put(in->text, "}", 1);
}

/* The trial's parameters: a study's as handed out, else the hyperparameters shown. */
static void field_params(fields *f, const caviar_report_info *info, const caviar_trial_result *t) {
  const char *text = info->params_json ? info->params_json(info->params_ctx, t->trial.id) : NULL;
  if (text) {
    cJSON *params = cJSON_Parse(text);
    if (!params) *f->ok = false;
    else if (!f->text) field_item(f, "params", params), params = NULL;
    else field_tree(f, "params", params);
    cJSON_Delete(params);
    return;
  }
  fields p = object_begin(f, "params");
  for (int i = 0; i < caviar_hp_count; i++) {
    const caviar_hp_info *hp = &caviar_hp_table[i];
    if (!caviar_hp_shown(&t->trial.hp, hp)) continue; /* switched off by a condition, or a quiet one at its default */
    if (f->brief && !f->brief[i]) continue;
    double value = caviar_hp_get(&t->trial.hp, hp);
    if (hp->type == CAVIAR_HP_CHOICE) field_word(&p, hp->name, hp->choices[(int)value]);
    else field_figure(&p, hp->name, value);
  }
  object_end(&p);
}

/* A trial's fields into f (rank > 0: its place on the leaderboard, last). */
static void trial_fields(fields *f, const caviar_report_info *info, const caviar_trial_result *t, bool saved,
                         double target_std, int rank) {
  field_int(f, "trial", t->trial.id);
  field_int(f, "round", t->trial.round);
  field_int(f, "bracket", t->bracket);
  field_params(f, info, t);
  field_word(f, "status", caviar_trial_status_name(t->status));
  field_int(f, "epochs", t->epochs);
  if (f->brief) {
    int epoch;
    field_figure(f, "value", caviar_trial_value(info->spec, t, target_std, &epoch));
    if (t->n_lineage) field_lineage(f, t);
    field_int(f, "rank", rank);
    return;
  }
  field_figure(f, "train_loss", t->train_loss);
  field_figure(f, "val_loss", t->val_loss);
  if (target_std > 0) {
    field_figure(f, "val_rmse", rmse_of(t->val_loss, target_std));
    field_figure(f, "val_mse", t->val_loss * target_std * target_std);
    if (t->status == CAVIAR_TRIAL_SURVIVED) {
      field_figure(f, "test_loss", t->test_loss);
      field_figure(f, "test_rmse", rmse_of(t->test_loss, target_std));
      field_figure(f, "test_mse", t->test_loss * target_std * target_std);
    }
  } else {
    field_figure(f, "val_acc", t->val_acc);
  }
  if (t->status == CAVIAR_TRIAL_SURVIVED && !(target_std > 0)) {
    field_figure(f, "test_loss", t->test_loss);
    field_figure(f, "test_acc", t->test_acc);
  }
  /* The best validation epoch and its figures; a survivor says whose weights it kept (and was
   * tested with): that epoch's or the last one's. */
  if (t->best_epoch > 0) {
    field_int(f, "best_epoch", t->best_epoch);
    field_figure(f, "best_train_loss", t->best_train_loss);
    field_figure(f, "best_val_loss", t->best_val_loss);
    if (target_std > 0) {
      field_figure(f, "best_val_rmse", rmse_of(t->best_val_loss, target_std));
      field_figure(f, "best_val_mse", t->best_val_loss * target_std * target_std);
    } else {
      field_figure(f, "best_val_acc", t->best_val_acc);
    }
  }
  /* What ranks it (docs/SPEC.md, "The best trial"): the metric of the weights it keeps, and the
   * epoch that figure is from. */
  int value_epoch;
  double value = caviar_trial_value(info->spec, t, target_std, &value_epoch);
  field_figure(f, "value", value);
  field_int(f, "value_epoch", value_epoch);
  if (t->status == CAVIAR_TRIAL_SURVIVED) {
    field_word(f, "kept", t->kept_best ? "best" : "last");
    field_int(f, "kept_epoch", t->kept_best ? t->best_epoch : t->epochs);
  }
  if (saved) {
    char text[64];
    snprintf(text, sizeof text, "best/trial-%u.safetensors", (unsigned)t->trial.id);
    field_string(f, "model", text);
  }
  if (t->n_lineage) field_lineage(f, t);
  /* A study's trial: every value it logged, the last of each. */
  if (info->trial_metrics) {
    const cJSON *logged = info->trial_metrics(info->params_ctx, t->trial.id);
    if (logged) {
      field_tree(f, "metrics", logged);
    } else {
      fields none = object_begin(f, "metrics");
      object_end(&none);
    }
  }
  const char *reason = info->trial_reason ? info->trial_reason(info->params_ctx, t->trial.id) : NULL;
  if (reason) field_string(f, "reason", reason);
  /* The leaderboard's place (1: best), by caviar_result_order. */
  if (rank > 0) field_int(f, "rank", rank);
}

/* A trial as a tree (numbers: as numbers, else as their text; brief: only what report.html reads of
 * a trial off its leaderboard, fields.brief); NULL, *ok cleared, when memory ran out. */
static cJSON *trial_json(const caviar_report_info *info, const caviar_trial_result *t, bool saved, double target_std,
                         int rank, bool numbers, const bool *brief, bool *ok) {
  fields f = {.numbers = numbers, .brief = brief, .ok = ok};
  fields in = object_begin(&f, NULL);
  trial_fields(&in, info, t, saved, target_std, rank);
  return in.obj;
}

/* A trial as summary.json's text has it (its fields three tabs in) at the end of text. */
static void trial_text(caviar_text *text, const caviar_report_info *info, const caviar_trial_result *t, bool saved,
                       double target_std, int rank, bool *ok) {
  fields f = {.text = text, .depth = 2, .ok = ok};
  fields in = object_begin(&f, NULL);
  trial_fields(&in, info, t, saved, target_std, rank);
  object_end(&in);
  if (text->failed) *ok = false;
}

/* Which trials best/ keeps: the top keep_models survivors (all of them when keep_models <= 0) with
 * weights (a study's trials have none here). */
static bool *saved_trials(const caviar_report_info *info, const caviar_sweep_result *r, const int *order,
                          caviar_error *err) {
  size_t n = (size_t)(r->n_trials > 0 ? r->n_trials : 1);
  bool *saved = caviar_alloc(n, sizeof *saved, "the list of models to save", err);
  int kept = 0;
  for (int k = 0; saved && k < r->n_trials; k++)
    if (r->trials[order[k]].status == CAVIAR_TRIAL_SURVIVED && r->trials[order[k]].params &&
        (info->keep_models <= 0 || kept < info->keep_models)) {
      saved[order[k]] = true;
      kept++;
    }
  return saved;
}

/* The data a sweep trained on; a study's data is its program's business (null). */
static cJSON *data_json(const caviar_report_info *info, bool *ok) {
  const caviar_data *d = info->data;
  if (!d) return cJSON_CreateNull();
  cJSON *data = cJSON_CreateObject();
  put(data, "train", cJSON_CreateString(d->train_name), ok);
  put(data, "test", cJSON_CreateString(d->test_name), ok);
  put(data, "train_examples", cJSON_CreateNumber((double)d->split.n_train), ok);
  put(data, "validation_examples", cJSON_CreateNumber((double)d->split.n_val), ok);
  put(data, "test_examples", cJSON_CreateNumber((double)d->test.n), ok);
  put(data, "features", cJSON_CreateNumber((double)d->train.d), ok);
  put(data, "task", cJSON_CreateString(d->task == CAVIAR_TASK_REGRESSION ? "regression" : "classification"), ok);
  if (d->task == CAVIAR_TASK_REGRESSION) {
    put(data, "target_mean", cJSON_CreateNumber(d->target.mean), ok);
    put(data, "target_std", cJSON_CreateNumber(d->target.std), ok);
  } else {
    put(data, "classes", cJSON_CreateNumber(d->classes), ok);
  }
  put(data, "scaling", cJSON_CreateString(caviar_scaling_name(d->scaling.kind)), ok);
  /* The data section the sweep used: the spec's with --data's keys over it (paths absolute). */
  char *section = caviar_data_spec_json(&info->spec->data);
  put(data, "section", section ? caviar_json_parse_text(section, strlen(section)) : NULL, ok);
  free(section);
  return data;
}

cJSON *caviar_blas_json(const caviar_blas_info *blas) {
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL;
  if (!ok) return NULL;
  put(o, "library", cJSON_CreateString(blas->library), &ok);
  put(o, "version", cJSON_CreateString(blas->version), &ok);
  if (blas->kernel[0]) put(o, "kernel", cJSON_CreateString(blas->kernel), &ok);
  if (strcmp(blas->library, "OpenBLAS") == 0) put(o, "pinned", blas->pinned[0] ? cJSON_CreateString(blas->pinned) : cJSON_CreateNull(), &ok);
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

/* summary.json but for its trials: everything else, "best" among it, and an empty "trials" last
 * (write_summary adds them one by one). order and rank: the leaderboard's. */
static cJSON *summary_json(const caviar_report_info *info, const caviar_sweep_result *r, const bool *saved,
                           const int *order) {
  bool all = true, *ok = &all;
  cJSON *root = cJSON_CreateObject();
  put(root, "caviar_version", cJSON_CreateString(CAVIAR_VERSION), ok);
  put(root, "spec_file", cJSON_CreateString(info->spec->source), ok);
  cJSON *spec = caviar_spec_tree(info->spec);
  put(root, "spec", spec ? spec : cJSON_CreateNull(), ok);
  put(root, "seed", cJSON_CreateNumber((double)info->seed), ok);
  put(root, "device", cJSON_CreateString(info->device), ok);
  if (info->blas) put(root, "blas", caviar_blas_json(info->blas), ok);
  put(root, "wall_seconds", cJSON_CreateNumber(r->wall_seconds), ok);
  put(root, "device_seconds", cJSON_CreateNumber(r->device_seconds), ok);
  put(root, "model_samples", cJSON_CreateNumber(r->model_samples), ok);
  put(root, "model_samples_per_second", cJSON_CreateNumber(r->wall_seconds > 0 ? r->model_samples / r->wall_seconds : 0), ok);
  put(root, "metric", cJSON_CreateString(caviar_spec_metric(info->spec)), ok);
  put(root, "keep", cJSON_CreateString(info->spec->keep == CAVIAR_KEEP_BEST ? "best" : "last"), ok);
  char rule[512];
  caviar_ranking_rule(info->spec, r->target_std > 0, rule, sizeof rule);
  put(root, "ranking", cJSON_CreateString(rule), ok);
  put(root, "stopped_by_time_budget", cJSON_CreateBool(r->out_of_time), ok);
  /* false: the results so far of a sweep still running, stopped or failed (trials may read
   * "survived" before their test pass); true only for a sweep's final results. */
  put(root, "finished", cJSON_CreateBool(info->finished), ok);
  if (info->spec->metric.has_target) put(root, "stopped_at_target", cJSON_CreateBool(r->reached_target), ok);
  if (r->n_ranks > 0) {
    /* A distributed sweep: each rank's host, device and share of the work (busy: training,
     * judging and testing; comm: in exchanges and messages; wait: for the others to reach one). */
    cJSON *ranks = put(root, "ranks", cJSON_CreateArray(), ok);
    for (int k = 0; k < r->n_ranks; k++) {
      const caviar_rank_info *q = &r->ranks[k];
      cJSON *rank = cJSON_CreateObject();
      put(rank, "rank", cJSON_CreateNumber(q->rank), ok);
      put(rank, "host", cJSON_CreateString(q->host), ok);
      put(rank, "device", cJSON_CreateString(q->device), ok);
      put(rank, "trials", cJSON_CreateNumber(q->members), ok);
      put(rank, "member_epochs", cJSON_CreateNumber(q->member_epochs), ok);
      put(rank, "assigned_cost", cJSON_CreateNumber(q->cost), ok);
      put(rank, "busy_seconds", cJSON_CreateNumber(q->busy_s), ok);
      put(rank, "busy_fraction", cJSON_CreateNumber(q->wall_s > 0 ? q->busy_s / q->wall_s : 0), ok);
      put(rank, "comm_seconds", cJSON_CreateNumber(q->comm_s), ok);
      put(rank, "wait_seconds", cJSON_CreateNumber(q->wait_s), ok);
      put(rank, "exchanges", cJSON_CreateNumber((double)q->exchanges), ok);
      put(rank, "pbt_copies_received", cJSON_CreateNumber(q->copies_in), ok);
      put(rank, "members_moved_in", cJSON_CreateNumber(q->moved_in), ok);
      put(rank, "wall_seconds", cJSON_CreateNumber(q->wall_s), ok);
      push(ranks, rank, ok);
    }
  }
  put(root, "data", data_json(info, ok), ok);
  cJSON *rungs = put(root, "rungs", cJSON_CreateArray(), ok);
  for (int i = 0; i < r->rungs.n; i++) push(rungs, cJSON_CreateNumber(r->rungs.epochs[i]), ok);
  cJSON *brackets = put(root, "brackets", cJSON_CreateArray(), ok);
  for (int b = 0; b < r->brackets.n_brackets; b++) {
    const caviar_bracket *br = &r->brackets.brackets[b];
    cJSON *bracket = cJSON_CreateObject();
    put(bracket, "s", cJSON_CreateNumber(br->s), ok);
    put(bracket, "trials", cJSON_CreateNumber(br->trials), ok);
    cJSON *at = put(bracket, "rungs", cJSON_CreateArray(), ok);
    for (int i = 0; i < br->rungs.n; i++) push(at, cJSON_CreateNumber(br->rungs.epochs[i]), ok);
    push(brackets, bracket, ok);
  }
  /* Each round's search box (coarse to fine zooms it round by round). */
  cJSON *rounds = put(root, "rounds", cJSON_CreateArray(), ok);
  int per_round = r->n_rounds ? r->n_trials / r->n_rounds : 0;
  for (int i = 0; i < r->n_rounds; i++) {
    cJSON *round = cJSON_CreateObject();
    put(round, "round", cJSON_CreateNumber(i), ok);
    put(round, "first_trial", cJSON_CreateNumber(i * per_round), ok);
    put(round, "trials", cJSON_CreateNumber(per_round), ok);
    put(round, "box", caviar_space_box_json(&r->boxes[i]), ok);
    push(rounds, round, ok);
  }
  if (r->n_trials > 0) {
    const caviar_trial_result *best = &r->trials[order[0]];
    if (best->status == CAVIAR_TRIAL_SURVIVED) {
      put(root, "best", trial_json(info, best, saved[order[0]], r->target_std, 1, false, NULL, ok), ok);
    }
  }
  put(root, "trials", cJSON_CreateArray(), ok);
  if (!all) {
    cJSON_Delete(root);
    return NULL;
  }
  return root;
}

/* summary.json as cJSON_Print would print the whole tree: the head (everything but the trials)
 * printed from its tree, then each trial's text written where the document has it (trial_text:
 * its fields three tabs in; "trials" is the root's last item, an array of objects, ", " between
 * them), so the trials of a big sweep never stand in memory as one tree or one text. */
static caviar_status write_summary(const char *path, const caviar_report_info *info, const caviar_sweep_result *r,
                                   const int *order, const bool *saved, cJSON **tree, caviar_error *err) {
  size_t n = (size_t)(r->n_trials > 0 ? r->n_trials : 1);
  int *rank = malloc(n * sizeof *rank);
  cJSON *root = NULL;
  char *head = NULL;
  if (rank) {
    for (int k = 0; k < r->n_trials; k++) rank[order[k]] = k + 1;
    root = summary_json(info, r, saved, order);
    head = root ? caviar_json_print_text(root, true) : NULL;
  }
  cJSON_Delete(root);
  static const char empty[] = "[]\n}";
  size_t len = head ? strlen(head) : 0;
  /* The tree a reader would parse: the head parsed, then the trials' (below). */
  cJSON *whole = tree && head ? caviar_json_parse_text(head, len) : NULL;
  cJSON *list = whole ? cJSON_GetObjectItemCaseSensitive(whole, "trials") : NULL;
  if (!cJSON_IsArray(list)) {
    cJSON_Delete(whole);
    whole = list = NULL;
  }
  caviar_status st = head && len >= strlen(empty) && !strcmp(head + len - strlen(empty), empty) ? CAVIAR_OK : CAVIAR_ERUNTIME;
  caviar_atomic_file af;
  if (st == CAVIAR_OK) st = caviar_atomic_open(&af, path, err);
  else caviar_fail(err, st, "out of memory writing the summary");
  if (st == CAVIAR_OK) {
    fwrite(head, 1, len - strlen(empty), af.f);
    fputc('[', af.f);
    /* The trials' texts a block at a time, written side by side on the sweep's threads (each
     * trial's text is its own; a study's callbacks are called from this thread only), then put in
     * the file in order. The tree a reader would parse gets each trial's own tree with its figures
     * as numbers, or a study's trial's text parsed. */
    enum { BLOCK = 1024 };
    /* The hyperparameters the box sweeps, by a spec's name or its alias ("lr"). */
    bool *in_box = whole ? calloc((size_t)caviar_hp_count, sizeof *in_box) : NULL;
    for (int k = 0; in_box && k < info->spec->space.n; k++) {
      const caviar_param *p = &info->spec->space.params[k];
      for (int i = 0; i < caviar_hp_count; i++)
        if (p->hp == &caviar_hp_table[i] || !strcmp(p->name, caviar_hp_table[i].name)) in_box[i] = true;
    }
    caviar_text *texts = calloc(BLOCK, sizeof *texts);
    cJSON **trees = calloc(BLOCK, sizeof *trees);
    bool ok = (in_box || !whole) && texts && trees, side_by_side = !info->params_json && !info->trial_metrics && !info->trial_reason;
    for (int base = 0; ok && base < r->n_trials; base += BLOCK) {
      int m = r->n_trials - base < BLOCK ? r->n_trials - base : BLOCK;
#pragma omp parallel for schedule(dynamic, 32) reduction(&& : ok) if (side_by_side && m > 64)
      for (int j = 0; j < m; j++) {
        const caviar_trial_result *t = &r->trials[base + j];
        bool made = true, own = !info->params_json && !info->trial_metrics;
        texts[j].len = 0;
        trial_text(&texts[j], info, t, saved[base + j], r->target_std, rank[base + j], &made);
        if (whole && made && own)
          trees[j] = trial_json(info, t, saved[base + j], r->target_std, rank[base + j], true, rank[base + j] > CAVIAR_PAGE_ROWS ? in_box : NULL,
                                &made);
        ok = ok && made;
      }
      for (int j = 0; j < m; j++) {
        if (ok && base + j > 0) fputs(", ", af.f);
        if (ok) fwrite(texts[j].s, 1, texts[j].len, af.f);
        if (whole && ok && !trees[j]) trees[j] = caviar_json_parse_text(texts[j].s, texts[j].len);
        if (whole && !(ok && trees[j] && cJSON_AddItemToArray(list, trees[j]))) {
          cJSON_Delete(whole);
          whole = list = NULL;
        }
        if (!whole) cJSON_Delete(trees[j]);
        trees[j] = NULL;
      }
    }
    for (int j = 0; texts && j < BLOCK; j++) free(texts[j].s);
    free(texts);
    free(trees);
    free(in_box);
    fputs("]\n}\n", af.f);
    if (ok) st = caviar_atomic_commit(&af, err);
    else {
      caviar_atomic_abort(&af);
      st = caviar_fail(err, CAVIAR_ERUNTIME, "out of memory writing the summary");
    }
  }
  free(head);
  free(rank);
  if (st != CAVIAR_OK) {
    cJSON_Delete(whole);
    whole = NULL;
  }
  if (tree) *tree = whole;
  return st;
}

/* A point's line, "%u,%d,%.9g,%.9g,%.9g" put together without printf (caviar_int_text,
 * caviar_float_g_text: printf's text at a fraction of its cost; a sweep writes millions of these),
 * without its newline, into line (CURVE_LINE bytes); its length. */
#define CURVE_LINE 160
static size_t curve_line(char *line, const caviar_curve_point *p) {
  int n = caviar_int_text(line, p->trial);
  line[n++] = ',';
  n += caviar_int_text(line + n, p->epoch);
  const float values[3] = {p->train_loss, p->val_loss, p->val_acc};
  for (int k = 0; k < 3; k++) {
    line[n++] = ',';
    n += caviar_float_g_text(line + n, CURVE_LINE - 1 - (size_t)n, values[k], 9);
  }
  return (size_t)n;
}

/* Each point of each learning curve; a study's other logged values as columns after caviar's. */
static caviar_status write_curves(const char *path, const caviar_report_info *info, const caviar_sweep_result *r,
                                  caviar_error *err) {
  caviar_atomic_file af;
  caviar_status st = caviar_atomic_open(&af, path, err);
  if (st != CAVIAR_OK) return st;
  int extra = info->curve_metric ? info->n_curve_names : 0;
  fputs("trial,epoch,train_loss,val_loss,val_acc", af.f);
  for (int k = 0; k < extra; k++) fprintf(af.f, ",%s", info->curve_names[k]);
  fputc('\n', af.f);
  /* Without a study's columns (its callbacks are called from this thread only), the lines of
   * PIECES pieces of PIECE points at a time are put together side by side on the sweep's threads,
   * each piece in its own room, then written in order. */
  enum { PIECE = 4096, PIECES = 16 };
  char *room = extra ? NULL : malloc((size_t)PIECES * PIECE * CURVE_LINE);
  size_t i = 0;
  while (room && i < r->n_curve) {
    size_t len[PIECES];
    int pieces = (int)((r->n_curve - i + PIECE - 1) / PIECE < PIECES ? (r->n_curve - i + PIECE - 1) / PIECE : PIECES);
#pragma omp parallel for schedule(dynamic, 1) if (pieces > 1)
    for (int c = 0; c < pieces; c++) {
      char *out = room + (size_t)c * PIECE * CURVE_LINE;
      size_t first = i + (size_t)c * PIECE, end = first + PIECE < r->n_curve ? first + PIECE : r->n_curve, n = 0;
      for (size_t k = first; k < end; k++) {
        n += curve_line(out + n, &r->curve[k]);
        out[n++] = '\n';
      }
      len[c] = n;
    }
    for (int c = 0; c < pieces; c++) fwrite(room + (size_t)c * PIECE * CURVE_LINE, 1, len[c], af.f);
    i += (size_t)pieces * PIECE;
  }
  free(room);
  for (; i < r->n_curve; i++) { /* a study's, or without the room */
    char line[CURVE_LINE];
    fwrite(line, 1, curve_line(line, &r->curve[i]), af.f);
    for (int k = 0; k < extra; k++)
      fprintf(af.f, ",%.9g", info->curve_metric(info->params_ctx, r->curve[i].trial, r->curve[i].epoch, info->curve_names[k]));
    fputc('\n', af.f);
  }
  return caviar_atomic_commit(&af, err);
}

/* Removes a folder of our own making and everything in it (files and folders of files). */
static void remove_tree(const char *path) {
  DIR *d = opendir(path);
  if (!d) {
    unlink(path);
    return;
  }
  struct dirent *e;
  char child[4400];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(child, sizeof child, "%s/%s", path, e->d_name);
    struct stat sb;
    if (lstat(child, &sb) == 0 && S_ISDIR(sb.st_mode)) remove_tree(child);
    else unlink(child);
  }
  closedir(d);
  rmdir(path);
}

/* What a run killed while writing leaves in dir: its staging folders and temporary files (called
 * with dir locked, so never another live run's). */
static void remove_stale(const char *dir) {
  static const char *const prefixes[] = {".caviar-new-", ".caviar-old-", ".best-new-", ".best-old-"};
  char path[4400], folder[4096];
  for (int f = 0; f < 2; f++) { /* dir itself, then dir/best */
    snprintf(folder, sizeof folder, f == 0 ? "%s" : "%s/best", dir);
    DIR *d = opendir(folder);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      bool stale = caviar_is_stale_temporary(e->d_name);
      for (int i = 0; f == 0 && i < 4 && !stale; i++) stale = strncmp(e->d_name, prefixes[i], strlen(prefixes[i])) == 0;
      if (!stale) continue;
      snprintf(path, sizeof path, "%s/%s", folder, e->d_name);
      remove_tree(path);
    }
    if (d) closedir(d);
  }
}

/* Creates dir if needed. The caller holds dir (writer_lock.h: one writer per folder), so what a
 * killed run left there is no live run's. */
static caviar_status open_dir(const char *dir, caviar_error *err) {
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot create the output folder: %s", dir, strerror(errno));
  char why[1200];
  caviar_folder_problem(dir, why, sizeof why);
  if (why[0]) return caviar_fail(err, CAVIAR_EINPUT, "%s: %s", dir, why);
  return CAVIAR_OK;
}

caviar_status caviar_report_prepare(const char *dir, caviar_error *err) {
  caviar_status st = open_dir(dir, err);
  if (st != CAVIAR_OK) return st;
  remove_stale(dir);
  /* A probe: root writes through permissions; a read-only file system or a full inode table it cannot. */
  char probe[4096];
  snprintf(probe, sizeof probe, "%s/.caviar-new-XXXXXX", dir);
  if (!mkdtemp(probe)) st = caviar_fail(err, CAVIAR_EINPUT, "%s: cannot write in the output folder: %s", dir, strerror(errno));
  else rmdir(probe);
  return st;
}

/* Every output into the fresh folder stage: best/ with each survivor, curves.csv, summary.json. */
static caviar_status write_stage(const char *stage, const caviar_report_info *info, const caviar_sweep_result *r,
                                 cJSON **tree, caviar_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/best", stage);
  if (mkdir(path, 0755) != 0) return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot create: %s", path, strerror(errno));
  /* The leaderboard's order, once for both: who best/ keeps, and each trial's rank. */
  int *order = caviar_alloc((size_t)(r->n_trials > 0 ? r->n_trials : 1), sizeof *order, "the leaderboard", err);
  if (!order) return CAVIAR_ERUNTIME;
  caviar_result_order(info->spec, r, order);
  bool *saved = saved_trials(info, r, order, err);
  if (!saved) {
    free(order);
    return CAVIAR_ERUNTIME;
  }
  /* A study (no data of caviar's own) saves no models. */
  char *read = info->data ? caviar_data_identity(info->data) : NULL;
  caviar_status st = read || !info->data ? CAVIAR_OK : caviar_fail(err, CAVIAR_ERUNTIME, "out of memory describing the data");
  for (int i = 0; st == CAVIAR_OK && i < r->n_trials; i++) {
    const caviar_trial_result *t = &r->trials[i];
    if (!saved[i] || !info->data) continue;
    caviar_model model = {.shape = t->shape, .hp = t->trial.hp, .trial = t->trial.id, .params = t->params,
                          .scaling = info->data->scaling, .data_read = read};
    caviar_model_set_origin(&model, info->seed, &info->spec->data, info->data);
    snprintf(path, sizeof path, "%s/best/trial-%u.safetensors", stage, (unsigned)t->trial.id);
    st = caviar_model_save(path, &model, err);
  }
  free(read);
  if (st == CAVIAR_OK) {
    snprintf(path, sizeof path, "%s/curves.csv", stage);
    st = write_curves(path, info, r, err);
  }
  if (st == CAVIAR_OK) {
    snprintf(path, sizeof path, "%s/summary.json", stage);
    st = write_summary(path, info, r, order, saved, tree, err);
  }
  free(saved);
  free(order);
  return st;
}

/* A staging error names the file where it was going (dir/...), not the staging copy, which goes. */
static void name_final(caviar_error *err, const char *stage, const char *dir) {
  size_t n = strlen(stage);
  char *at = strstr(err->msg, stage);
  if (!at || (at[n] != '/' && at[n] != ':')) return;
  char rest[sizeof err->msg];
  snprintf(rest, sizeof rest, "%s", at + n);
  snprintf(at, sizeof err->msg - (size_t)(at - err->msg), "%s%s", dir, rest);
}

static const char *const outputs[] = {"best", "curves.csv", "summary.json"};
#define N_OUTPUTS 3

/* Swaps the staged outputs in: the old ones step aside into old/ first, and come back if any
 * rename fails, so dir holds the old set or the new one. Renames take no space on a full disk. */
static caviar_status swap_in(const char *dir, const char *stage, const char *old, caviar_error *err) {
  char from[4200], to[4200];
  bool moved_aside[N_OUTPUTS] = {false}, moved_in[N_OUTPUTS] = {false};
  int failure = 0;
  const char *failed = NULL;
  for (int i = 0; i < N_OUTPUTS && !failure; i++) {
    snprintf(from, sizeof from, "%s/%s", dir, outputs[i]);
    snprintf(to, sizeof to, "%s/%s", old, outputs[i]);
    if (rename(from, to) == 0) moved_aside[i] = true;
    else if (errno != ENOENT) failure = errno, failed = outputs[i];
  }
  for (int i = 0; i < N_OUTPUTS && !failure; i++) {
    snprintf(from, sizeof from, "%s/%s", stage, outputs[i]);
    snprintf(to, sizeof to, "%s/%s", dir, outputs[i]);
    if (rename(from, to) == 0) moved_in[i] = true;
    else failure = errno, failed = outputs[i];
  }
  if (!failure) return CAVIAR_OK;
  for (int i = 0; i < N_OUTPUTS; i++) {
    snprintf(from, sizeof from, "%s/%s", dir, outputs[i]);
    snprintf(to, sizeof to, "%s/%s", stage, outputs[i]);
    if (moved_in[i]) rename(from, to);
    snprintf(to, sizeof to, "%s/%s", old, outputs[i]);
    if (moved_aside[i]) rename(to, from);
  }
  return caviar_fail(err, CAVIAR_ERUNTIME, "%s/%s: cannot move the new results into place: %s", dir, failed,
                     strerror(failure));
}

caviar_status caviar_report_write(const char *dir, const caviar_report_info *info, const caviar_sweep_result *r,
                                  bool *kept_aside, caviar_error *err) {
  return caviar_report_write_tree(dir, info, r, kept_aside, NULL, err);
}

caviar_status caviar_report_write_tree(const char *dir, const caviar_report_info *info, const caviar_sweep_result *r,
                                       bool *kept_aside, cJSON **summary, caviar_error *err) {
  if (kept_aside) *kept_aside = false;
  if (summary) *summary = NULL;
  caviar_status st = open_dir(dir, err);
  if (st != CAVIAR_OK) return st;
  remove_stale(dir);
  char stage[4096], old[4096];
  snprintf(stage, sizeof stage, "%s/.caviar-new-XXXXXX", dir);
  snprintf(old, sizeof old, "%s/.caviar-old-XXXXXX", dir);
  if (!mkdtemp(stage)) {
    st = caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot create a folder: %s", dir, strerror(errno));
  } else {
    chmod(stage, 0755);
    st = write_stage(stage, info, r, summary, err);
    if (st != CAVIAR_OK) name_final(err, stage, dir);
    if (st == CAVIAR_OK && !mkdtemp(old))
      st = caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot create a folder: %s", dir, strerror(errno));
    bool staged = st == CAVIAR_OK;
    if (st == CAVIAR_OK) {
      st = swap_in(dir, stage, old, err);
      remove_tree(old);
    }
    /* Final results that could not be moved into place (a best/ the user cannot replace, say)
     * are kept under a name the next run leaves alone, and the error says where (the results so
     * far of a running sweep are written again later: not kept). */
    char kept[4096];
    snprintf(kept, sizeof kept, "%s/caviar-results-XXXXXX", dir);
    if (staged && st != CAVIAR_OK && info->finished && mkdtemp(kept) && rename(stage, kept) == 0) {
      if (kept_aside) *kept_aside = true;
      size_t used = strlen(err->msg);
      snprintf(err->msg + used, sizeof err->msg - used, "; the new results are kept in %s", kept);
    } else {
      if (staged && st != CAVIAR_OK) rmdir(kept);
      remove_tree(stage);
    }
  }
  if (st != CAVIAR_OK && summary) {
    cJSON_Delete(*summary);
    *summary = NULL;
  }
  return st;
}

int caviar_report_saved_count(const caviar_report_info *info, const caviar_sweep_result *r) {
  int n = 0;
  for (int i = 0; i < r->n_trials; i++) n += r->trials[i].status == CAVIAR_TRIAL_SURVIVED;
  return info->keep_models > 0 && n > info->keep_models ? info->keep_models : n;
}

char *caviar_leaderboard_json(const caviar_report_info *info, const caviar_sweep_result *r) {
  caviar_error err;
  int *order = malloc((size_t)(r->n_trials > 0 ? r->n_trials : 1) * sizeof *order);
  if (order) caviar_result_order(info->spec, r, order);
  bool *saved = order ? saved_trials(info, r, order, &err) : NULL;
  char *text = NULL;
  if (saved && order) {
    bool all = true, *ok = &all;
    cJSON *root = cJSON_CreateObject();
    put(root, "metric", cJSON_CreateString(caviar_spec_metric(info->spec)), ok);
    char rule[512];
    caviar_ranking_rule(info->spec, r->target_std > 0, rule, sizeof rule);
    put(root, "ranking", cJSON_CreateString(rule), ok);
    put(root, "stopped_by_time_budget", cJSON_CreateBool(r->out_of_time), ok);
    cJSON *rows = put(root, "leaderboard", cJSON_CreateArray(), ok);
    for (int k = 0; k < r->n_trials; k++) {
      push(rows, trial_json(info, &r->trials[order[k]], saved[order[k]], r->target_std, k + 1, false, NULL, ok), ok);
    }
    if (!all) {
      cJSON_Delete(root);
      root = NULL;
    }
    text = root ? caviar_json_print_text(root, true) : NULL;
    cJSON_Delete(root);
  }
  free(saved);
  free(order);
  return text;
}

/* A leaderboard column: a header and each shown row's text. */
typedef struct column {
  const char *header;
  char (*cell)[24]; /* per shown row */
  int width;
  bool left;        /* left-aligned (names), else right (numbers) */
  bool shown;
} column;

static const char *short_name(const char *name) {
  static const char *const names[][2] = {{"learning_rate", "lr"}, {"activation", "act"}, {"optimizer", "optim"},
                                         {"batch_size", "batch"}, {"dropout", "drop"},   {"epsilon", "eps"}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(name, names[i][0])) return names[i][1];
  return name;
}

static void param_text(const caviar_param *p, const caviar_hparams *hp, char *buf, size_t size) {
  if (hp->inactive & (1u << (unsigned)(p->hp - caviar_hp_table))) {
    snprintf(buf, size, "-"); /* switched off by a "when" condition, or meaningless for the trial's model */
    return;
  }
  double v = caviar_hp_get(hp, p->hp);
  if (p->hp->type == CAVIAR_HP_CHOICE) snprintf(buf, size, "%s", p->hp->choices[(int)v]);
  else if (p->hp->type == CAVIAR_HP_INT) snprintf(buf, size, "%d", (int)v);
  else if (p->dist == CAVIAR_DIST_ONE_MINUS_LOG_UNIFORM_VALUES) snprintf(buf, size, "%.5g", v);
  else snprintf(buf, size, "%.3g", v);
}

/* Outside code's parameter as a trial's config has it (params_json's text), in a cell. */
static void outside_param_text(const caviar_param *p, const cJSON *params, char *buf, size_t size) {
  const cJSON *v = params;
  int n_keys = p->keys ? p->n_keys : 1;
  for (int k = 0; k < n_keys && v; k++) v = cJSON_GetObjectItemCaseSensitive(v, p->keys ? p->keys[k] : p->name);
  if (!v) snprintf(buf, size, "-");
  else if (cJSON_IsString(v)) snprintf(buf, size, "%s", v->valuestring);
  else if (cJSON_IsNumber(v)) snprintf(buf, size, "%.4g", v->valuedouble);
  else if (cJSON_IsBool(v)) snprintf(buf, size, "%s", cJSON_IsTrue(v) ? "true" : "false");
  else {
    char *text = cJSON_PrintUnformatted(v);
    snprintf(buf, size, "%s", text ? text : "?");
    free(text);
  }
}

/* text in lines of at most width columns (<= 0: one line), broken at spaces. */
static void print_wrapped(FILE *f, const char *text, int width) {
  if (width <= 0) {
    fprintf(f, "%s\n", text);
    return;
  }
  while (*text) {
    size_t n = strlen(text);
    if (n > (size_t)width) {
      n = (size_t)width;
      while (n > 0 && text[n] != ' ') n--;
      if (n == 0) n = (size_t)width; /* a word longer than the line: cut */
    }
    fprintf(f, "%.*s\n", (int)n, text);
    text += n;
    while (*text == ' ') text++;
  }
}

void caviar_leaderboard_print(FILE *f, const caviar_spec *spec, const caviar_sweep_result *r, int max_rows, int width) {
  caviar_report_info info = {.spec = spec};
  caviar_leaderboard_print_info(f, &info, r, max_rows, width);
}

void caviar_leaderboard_print_info(FILE *f, const caviar_report_info *info, const caviar_sweep_result *r, int max_rows,
                                   int width) {
  const caviar_spec *spec = info->spec;
  int rows = r->n_trials < max_rows ? r->n_trials : max_rows;
  /* A study's logged values beyond caviar's three come last, while they fit. */
  const char *extra[64];
  int n_extra = 0;
  for (int e = 0; info->trial_metrics && e < info->n_curve_names && n_extra < 64; e++)
    if (strcmp(info->curve_names[e], caviar_spec_metric(spec))) extra[n_extra++] = info->curve_names[e];
  int n_params = spec->space.n, n_cols = 8 + n_params + n_extra;
  int *order = malloc((size_t)(r->n_trials > 0 ? r->n_trials : 1) * sizeof *order);
  column *cols = calloc((size_t)n_cols, sizeof *cols);
  char(*cells)[24] = calloc((size_t)n_cols * (size_t)(rows > 0 ? rows : 1), sizeof *cells);
  if (!order || !cols || !cells) {
    free(order);
    free(cols);
    free(cells);
    return;
  }
  caviar_result_order(spec, r, order);
  bool by_acc = spec->metric.name == CAVIAR_METRIC_VAL_ACC, regression = r->target_std > 0;
  double std = r->target_std;
  /* In order of importance: what identifies a row, the metric, the swept parameters (as the spec
   * lists them), then the test accuracy and the other metric. */
  enum { RANK, TRIAL, STATUS, EPOCHS, METRIC, AT, N_FIXED };
  const char *fixed[] = {"rank", "trial", "status", "epochs", caviar_spec_metric(spec), "at_epoch"};
  for (int c = 0; c < n_cols; c++) cols[c].cell = cells + (size_t)c * (size_t)(rows > 0 ? rows : 1);
  for (int c = 0; c < N_FIXED; c++) cols[c].header = fixed[c];
  for (int i = 0; i < n_params; i++) cols[N_FIXED + i].header = short_name(spec->space.params[i].name);
  cols[N_FIXED + n_params].header = regression ? "test_rmse" : "test_acc";
  cols[N_FIXED + 1 + n_params].header = regression ? (spec->metric.name == CAVIAR_METRIC_VAL_RMSE ? "val_loss" : "val_rmse")
                                        : by_acc   ? "val_loss"
                                                   : "val_acc";
  for (int e = 0; e < n_extra; e++) cols[N_FIXED + 2 + n_params + e].header = extra[e];
  cols[STATUS].left = true;
  for (int k = 0; k < rows; k++) {
    const caviar_trial_result *t = &r->trials[order[k]];
    /* The trial's value (the kept weights' metric, as ranked) and the epoch it is from; the other
     * figures from the same weights. */
    int at;
    double metric = caviar_trial_value(spec, t, std, &at);
    double val_loss = caviar_kept_val_loss(t), val_acc = caviar_kept_val_acc(t);
    double other = by_acc ? val_loss : val_acc;
    if (spec->metric.name == CAVIAR_METRIC_VAL_RMSE) other = val_loss;
    if (regression && spec->metric.name != CAVIAR_METRIC_VAL_RMSE) other = rmse_of(val_loss, std);
    snprintf(cols[RANK].cell[k], 24, "%d", k + 1);
    snprintf(cols[TRIAL].cell[k], 24, "%u", (unsigned)t->trial.id);
    snprintf(cols[STATUS].cell[k], 24, "%s", caviar_trial_status_name(t->status));
    snprintf(cols[EPOCHS].cell[k], 24, "%d", t->epochs);
    snprintf(cols[METRIC].cell[k], 24, "%.4f", metric);
    snprintf(cols[AT].cell[k], 24, "%d", at);
    const char *params_text = spec->outside && info->params_json ? info->params_json(info->params_ctx, t->trial.id) : NULL;
    cJSON *params = params_text ? cJSON_Parse(params_text) : NULL;
    for (int i = 0; i < n_params; i++) {
      const caviar_param *p = &spec->space.params[i];
      if (!p->hp) {
        outside_param_text(p, params, cols[N_FIXED + i].cell[k], 24);
        continue;
      }
      param_text(p, &t->trial.hp, cols[N_FIXED + i].cell[k], 24);
      cols[N_FIXED + i].left = p->hp->type == CAVIAR_HP_CHOICE;
    }
    cJSON_Delete(params);
    const cJSON *logged = n_extra ? info->trial_metrics(info->params_ctx, t->trial.id) : NULL;
    for (int e = 0; e < n_extra; e++) {
      const cJSON *v = cJSON_GetObjectItemCaseSensitive(logged, extra[e]);
      if (cJSON_IsNumber(v)) snprintf(cols[N_FIXED + 2 + n_params + e].cell[k], 24, "%.4g", v->valuedouble);
      else snprintf(cols[N_FIXED + 2 + n_params + e].cell[k], 24, "-");
    }
    /* Tested survivors only (a study's trials are tested by their own program, if at all). */
    double test = regression ? rmse_of(t->test_loss, std) : (double)t->test_acc;
    if (t->status == CAVIAR_TRIAL_SURVIVED && isfinite(test)) snprintf(cols[N_FIXED + n_params].cell[k], 24, "%.4f", test);
    else snprintf(cols[N_FIXED + n_params].cell[k], 24, "-");
    snprintf(cols[N_FIXED + 1 + n_params].cell[k], 24, "%.4f", other);
  }
  int used = -1;
  for (int c = 0; c < n_cols; c++) {
    cols[c].width = (int)strlen(cols[c].header);
    for (int k = 0; k < rows; k++)
      if ((int)strlen(cols[c].cell[k]) > cols[c].width) cols[c].width = (int)strlen(cols[c].cell[k]);
    /* The first five always; the rest (at_epoch first) while they fit. */
    cols[c].shown = c <= METRIC || width <= 0 || used + 1 + cols[c].width <= width;
    if (cols[c].shown) used += 1 + cols[c].width;
  }
  /* Headers, then rows. */
  for (int k = -1; k < rows; k++) {
    char line[1024];
    size_t n = 0;
    for (int c = 0; c < n_cols; c++) {
      if (!cols[c].shown) continue;
      const char *text = k < 0 ? cols[c].header : cols[c].cell[k];
      int w = cols[c].width;
      if (n < sizeof line)
        n += (size_t)snprintf(line + n, sizeof line - n, "%s%*s", n ? " " : "", cols[c].left ? -w : w, text);
    }
    while (n > 0 && n < sizeof line && line[n - 1] == ' ') line[--n] = '\0';
    fprintf(f, "%s\n", line);
  }
  char hidden[512] = "";
  size_t h = 0;
  for (int c = 0; c < n_cols; c++)
    if (!cols[c].shown && h < sizeof hidden)
      h += (size_t)snprintf(hidden + h, sizeof hidden - h, "%s%s", h ? ", " : "", cols[c].header);
  if (rows < r->n_trials) fprintf(f, "(%d more in summary.json)\n", r->n_trials - rows);
  if (h) {
    char note[600];
    int n = snprintf(note, sizeof note, "(not shown at this width: %s)", hidden);
    /* The note too stays within the width. */
    if (width > 5 && n > width) snprintf(note + width - 5, sizeof note - (size_t)(width - 5), " ...)");
    fprintf(f, "%s\n", note);
  }
  char rule[512];
  caviar_ranking_rule(spec, regression, rule, sizeof rule);
  print_wrapped(f, rule, width);
  free(order);
  free(cols);
  free(cells);
}

void caviar_ranking_rule(const caviar_spec *spec, bool regression, char *buf, size_t size) {
  const char *metric = caviar_spec_metric(spec);
  bool by_acc = spec->metric.name == CAVIAR_METRIC_VAL_ACC;
  /* Outside code's ties: its val_acc or val_loss only where it logs them under those names. */
  const char *other = by_acc ? ", then val_loss" : regression ? "" : ", then val_acc";
  if (spec->outside && spec->metric_text && strcmp(metric, "val_acc") && strcmp(metric, "val_loss"))
    other = by_acc ? ", then a logged val_loss" : ", then a logged val_acc";
  snprintf(buf, size,
           "Ranked: survivors, then culled or stopped trials (more epochs first), then diverged ones; within each by "
           "%s (%s first) of the weights a trial keeps (%s: at_epoch)%s, then trial id.",
           metric, by_acc ? "higher" : "lower",
           spec->keep == CAVIAR_KEEP_BEST ? "a survivor's best epoch's, the others' last" : "its last epoch's", other);
}
