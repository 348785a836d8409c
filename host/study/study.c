/* A study: the spec's samplers and schedule, driven by the records of a journal many processes
 * share (include/caviar/study.h; docs/STUDY.md describes the records). Everything here is a
 * function of the journal's records in order: a process that opens the study replays them all, one
 * that writes first reads what others wrote since it last looked (under the lock), decides, and
 * appends; its own record then comes back through the same replay. */
#include "caviar/study.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "caviar/atomic_file.h"
#include "caviar/model.h"
#include "caviar/number_format.h"
#include "caviar/report.h"
#include "caviar/sampler.h"
#include "caviar/schedule.h"
#include "caviar/tpe.h"
#include "caviar/trial_json.h"
#include "caviar/zoom.h"
#include "study/study_internal.h"

/* What the study keeps of a trial beside its result (caviar_sweep_result's trials, by id). */
typedef struct trial_books {
  char *params;      /* the parameters handed out, as JSON text */
  int index;         /* in its round */
  int attempt;       /* the attempt holding it (1-based) */
  bool released;     /* its holder gave it back: hand it out again at once */
  double last_seen;  /* wall-clock seconds of the last record about it */
  int rungs_done;    /* rungs of its bracket it has been judged at (over all attempts) */
  int observed;      /* the largest epoch tpe has seen it at */
  int last_epoch;    /* the epoch its attempt reported last (0: none) */
  char *worker;      /* who holds its attempt (the start record's worker) */
  cJSON *last;       /* every value its attempt logged, by name: the last of each */
  cJSON *history;    /* its attempt's reports: [[epoch, {name: value, ...}], ...] */
  char *reason;      /* why it failed, as told */
  double *values;    /* outside code under tpe or bayes: its parameters' values (caviar_values_parse) */
} trial_books;

struct caviar_study {
  char dir[4096];
  char *spec_file;
  caviar_spec spec;
  uint64_t seed;
  double timeout_s;
  int max_attempts;
  caviar_sampler sampler;
  bool sampler_ready;
  caviar_tpe *tpe;
  int per_round, rounds, population;
  caviar_sweep_result res; /* trials by id, learning curves, brackets, rounds' boxes */
  int cap_trials;
  trial_books *books;
  caviar_rung_record *rungs; /* per bracket and rung: the values trials reached it with */
  caviar_space box; /* the current round's search box */
  int round, next;  /* the current round, and the index in it of the next new trial */
  caviar_hparams *batch; /* tpe's proposals for the whole current round, made when it began */
  caviar_shape *shapes; /* the current round's drawn shapes, for tpe's proposals */
  int n_shapes, shapes_round;
  study_log log;
  char **names;    /* every metric name logged beyond train_loss, val_loss and val_acc, first logged first */
  int n_names;
  double first_time, last_time;
  int running, completed, culled, failed;
};

static double wall_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- parameters as JSON ---- */

/* {"learning_rate": 0.0031, "optimizer": "adam"}: the spec's parameters as the trial has them, in
 * the spec's order; one that is inactive (a condition switched it off, or it means nothing for the
 * trial's model: model.h) is left out. */
static char *params_text(const caviar_space *space, const caviar_hparams *hp) {
  size_t cap = 4, used = 0;
  for (int i = 0; i < space->n; i++) cap += strlen(space->params[i].name) + 48; /* ", \"name\": " and a value */
  char *buf = malloc(cap), number[40];
  if (!buf) return NULL;
  used += (size_t)snprintf(buf, cap, "{");
  for (int i = 0; i < space->n; i++) {
    const caviar_param *p = &space->params[i];
    if (!caviar_hp_active(hp, p->hp)) continue;
    double v = caviar_hp_get(hp, p->hp);
    if (p->hp->type == CAVIAR_HP_CHOICE) snprintf(number, sizeof number, "\"%s\"", p->hp->choices[(int)v]);
    else caviar_format_number(number, sizeof number, v);
    used += (size_t)snprintf(buf + used, cap - used, "%s\"%s\": %s", used > 1 ? ", " : "", p->name, number);
  }
  snprintf(buf + used, cap - used, "}");
  return buf;
}

/* The reverse, over the spec's fixed values. A given parameter is active at its value (the trial
 * trained with it) unless it means nothing for the trial's model (bn_momentum without batch norm);
 * one left out is inactive at its fixed value (a condition switched it off, or the model does not
 * use it), but for model and batchnorm with their conditions holding: those are a plain MLP's
 * (journals before 2026-12-08 left them out). A record the study wrote reads back as the config its
 * draw made (caviar_space_apply_conditions); an earlier build's (whose conditions could hold on a
 * value the model did not use) reads back as the trial trained. */
static bool params_parse(const caviar_study *s, const cJSON *obj, caviar_hparams *hp, char *why, size_t why_size) {
  const caviar_space *space = &s->spec.space;
  *hp = s->spec.fixed;
  if (!cJSON_IsObject(obj)) {
    snprintf(why, why_size, "params: expected an object");
    return false;
  }
  const cJSON *item;
  cJSON_ArrayForEach(item, obj) if (!caviar_space_find(space, item->string)) {
    snprintf(why, why_size, "params.%s: not a parameter of the spec", item->string);
    return false;
  }
  bool given[64] = {false};
  for (int i = 0; i < space->n && i < 64; i++) {
    const caviar_param *p = &space->params[i];
    item = cJSON_GetObjectItemCaseSensitive(obj, p->name);
    if (!item) continue;
    double v;
    if (p->hp->type == CAVIAR_HP_CHOICE) {
      v = cJSON_IsString(item) ? caviar_hp_choice_index(p->hp, item->valuestring) : -1;
    } else {
      v = cJSON_IsNumber(item) ? item->valuedouble : NAN;
    }
    if (!caviar_hp_in_range(p->hp, v)) {
      snprintf(why, why_size, "params.%s: not a valid value", p->name);
      return false;
    }
    caviar_hp_set(hp, p->hp, v);
    given[i] = true;
  }
  unsigned off = 0;
  for (int i = 0; i < space->n && i < 64; i++) {
    const caviar_hp_info *info = space->params[i].hp;
    if (given[i] || (caviar_space_active(space, hp, i) && caviar_hp_set_plain_mlp(hp, info))) continue;
    off |= 1u << (info - caviar_hp_table);
  }
  caviar_hparams_settle(hp, off);
  caviar_space_mark(space, &s->spec.fixed, hp);
  return true;
}

static const char *json_string(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- metrics ---- */

/* A record's metrics as the figures a sweep ranks by: val_loss (regression metrics as a mean
 * squared error: rmse squared; they rank as it does), val_acc, train_loss. */
typedef struct figures {
  float train_loss, val_loss, val_acc;
  bool has_metric; /* the spec's metric is among them */
} figures;

/* A value as the float a sweep keeps; beyond the float range, the infinity it rounds to. */
static float to_float(double v) { return v > FLT_MAX ? INFINITY : v < -FLT_MAX ? -INFINITY : (float)v; }

static bool by_accuracy_spec(const caviar_spec *spec) { return spec->metric.name == CAVIAR_METRIC_VAL_ACC; }

static figures figures_of(const caviar_study *s, const cJSON *metrics) {
  figures f = {NAN, NAN, NAN, false};
  const char *metric = caviar_spec_metric(&s->spec);
  const cJSON *m;
  cJSON_ArrayForEach(m, metrics) {
    if (!cJSON_IsNumber(m)) continue;
    double v = m->valuedouble;
    if (!strcmp(m->string, "train_loss")) f.train_loss = to_float(v);
    if (!strcmp(m->string, "val_acc")) f.val_acc = to_float(v);
    if (!strcmp(m->string, "val_loss") && s->spec.metric.name != CAVIAR_METRIC_VAL_RMSE &&
        s->spec.metric.name != CAVIAR_METRIC_VAL_MSE)
      f.val_loss = to_float(v);
    if (!strcmp(m->string, metric)) {
      f.has_metric = true;
      if (s->spec.metric.name == CAVIAR_METRIC_VAL_RMSE) f.val_loss = to_float(v * v);
      if (s->spec.metric.name == CAVIAR_METRIC_VAL_MSE) f.val_loss = to_float(v);
    }
  }
  if (s->spec.outside) {
    /* Outside code's metric, any name, ranked in the slot of its direction; a config without one
     * ranks nothing and needs none. */
    const cJSON *v = s->spec.metric_text ? cJSON_GetObjectItemCaseSensitive(metrics, s->spec.metric_text) : NULL;
    f.has_metric = !s->spec.metric_text || cJSON_IsNumber(v);
    if (cJSON_IsNumber(v) && by_accuracy_spec(&s->spec)) f.val_acc = to_float(v->valuedouble);
    else if (cJSON_IsNumber(v)) f.val_loss = to_float(v->valuedouble);
  }
  return f;
}

static bool by_accuracy(const caviar_study *s) { return by_accuracy_spec(&s->spec); }

/* The last epoch a report may have: the budget; outside code logs as long as it runs (W&B's
 * Hyperband judges only at its rungs, and a run goes on past max_iter). */
static int epoch_cap(const caviar_study *s) { return s->spec.outside ? INT_MAX / 2 : s->spec.epochs; }

/* The epoch a trial failed in when its holder says none: the one after its last report (for
 * caviar's own budget, at most the budget). */
static int failed_epoch(const caviar_study *s, int last_epoch) {
  return s->spec.outside || last_epoch + 1 < s->spec.epochs ? last_epoch + 1 : s->spec.epochs;
}

/* Every value a trial logged: the last of each name, and its curve's points (a report, or told
 * values at a later epoch); names beyond caviar's three are added to the study's list. */
static caviar_status keep_metrics(caviar_study *s, trial_books *b, int epoch, const cJSON *metrics, bool point,
                                  caviar_error *err) {
  if (!b->last) b->last = cJSON_CreateObject();
  if (!b->history) b->history = cJSON_CreateArray();
  if (!b->last || !b->history) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory reading the study's journal");
  const cJSON *m;
  cJSON_ArrayForEach(m, metrics) {
    if (!cJSON_IsNumber(m)) continue;
    cJSON *v = cJSON_CreateNumber(m->valuedouble);
    if (!v || !(cJSON_GetObjectItemCaseSensitive(b->last, m->string) ? cJSON_ReplaceItemInObjectCaseSensitive(b->last, m->string, v)
                                                                     : cJSON_AddItemToObject(b->last, m->string, v))) {
      cJSON_Delete(v);
      return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory reading the study's journal");
    }
    if (!strcmp(m->string, "train_loss") || !strcmp(m->string, "val_loss") || !strcmp(m->string, "val_acc")) continue;
    int k = 0;
    while (k < s->n_names && strcmp(s->names[k], m->string)) k++;
    if (k < s->n_names) continue;
    char **grown = realloc(s->names, (size_t)(s->n_names + 1) * sizeof *grown);
    if (grown) s->names = grown;
    char *name = grown ? strdup(m->string) : NULL;
    if (!name) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory reading the study's journal");
    s->names[s->n_names++] = name;
  }
  if (!point) return CAVIAR_OK;
  cJSON *pair = cJSON_CreateArray(), *copy = cJSON_Duplicate(metrics, true);
  if (pair && copy && cJSON_AddItemToArray(pair, cJSON_CreateNumber(epoch)) && cJSON_AddItemToArray(pair, copy) &&
      cJSON_AddItemToArray(b->history, pair))
    return CAVIAR_OK;
  if (!cJSON_GetArrayItem(pair, 1)) cJSON_Delete(copy);
  cJSON_Delete(pair);
  return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory reading the study's journal");
}

static void forget_metrics(trial_books *b) {
  cJSON_Delete(b->last);
  cJSON_Delete(b->history);
  b->last = b->history = NULL;
}

/* What tpe minimises, as the trainer gives it: minus an accuracy, or a loss. */
static double tpe_loss(const caviar_study *s, const figures *f) {
  return by_accuracy(s) ? -(double)f->val_acc : (double)f->val_loss;
}

/* ---- the state ---- */

static caviar_status grow_trials(caviar_study *s, int need, caviar_error *err) {
  if (need <= s->cap_trials) return CAVIAR_OK;
  int cap = s->cap_trials ? 2 * s->cap_trials : 256;
  while (cap < need) cap *= 2;
  caviar_trial_result *t = realloc(s->res.trials, (size_t)cap * sizeof *t);
  if (t) s->res.trials = t;
  trial_books *b = realloc(s->books, (size_t)cap * sizeof *b);
  if (b) s->books = b;
  if (!t || !b) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory holding %d trials", need);
  memset(s->res.trials + s->cap_trials, 0, (size_t)(cap - s->cap_trials) * sizeof *t);
  memset(s->books + s->cap_trials, 0, (size_t)(cap - s->cap_trials) * sizeof *b);
  s->cap_trials = cap;
  return CAVIAR_OK;
}

/* A trial handed out again starts its curve over. */
static void drop_points(caviar_study *s, uint32_t id) {
  size_t kept = 0;
  for (size_t i = 0; i < s->res.n_curve; i++)
    if (s->res.curve[i].trial != id) s->res.curve[kept++] = s->res.curve[i];
  s->res.n_curve = kept;
}

static caviar_rung_record *rung_of(caviar_study *s, int bracket, int rung) { return &s->rungs[bracket * CAVIAR_MAX_RUNGS + rung]; }

static const caviar_rungs *rungs_of(const caviar_study *s, uint32_t id) {
  return &s->res.brackets.brackets[s->res.trials[id].bracket].rungs;
}

/* Whether a trial reporting (loss, acc) at a rung goes on: the trainer's rule, judged as if it were
 * recorded there (the record itself comes with the journal's line). */
static caviar_status promoted(const caviar_study *s, caviar_rung_record *rec, float loss, float acc, uint32_t trial,
                              bool *up, caviar_error *err) {
  (void)err;
  *up = caviar_rung_record_would_keep(rec, loss, acc, trial, by_accuracy(s), s->res.brackets.eta);
  return CAVIAR_OK;
}

/* The schedule's verdict on a report at `epoch`: it is judged at every rung of its bracket it
 * reached and was not judged at yet (a report past a rung stands for it there), below the last
 * epoch; *culled_at gets the rung's epochs where it is culled, 0 when it goes on. */
static caviar_status judge(caviar_study *s, uint32_t id, int epoch, const figures *f, int *culled_at, caviar_error *err) {
  *culled_at = 0;
  if (epoch >= s->spec.epochs) return CAVIAR_OK;
  const caviar_rungs *rungs = rungs_of(s, id);
  for (int k = s->books[id].rungs_done; k < rungs->n && rungs->epochs[k] <= epoch; k++) {
    bool up;
    caviar_status st = promoted(s, rung_of(s, s->res.trials[id].bracket, k), f->val_loss, f->val_acc, id, &up, err);
    if (st != CAVIAR_OK) return st;
    if (!up) {
      *culled_at = rungs->epochs[k];
      return CAVIAR_OK;
    }
  }
  return CAVIAR_OK;
}

/* The best k trials so far (diverged and failed ones never count), as the trainer's zoom takes them. */
static int best_so_far(const caviar_study *s, int k, caviar_hparams *out) {
  int *order = malloc((size_t)(s->res.n_trials > 0 ? s->res.n_trials : 1) * sizeof *order), n = 0;
  if (!order) return 0;
  caviar_result_order(&s->spec, &s->res, order);
  for (int i = 0; i < s->res.n_trials && n < k; i++) {
    const caviar_trial_result *t = &s->res.trials[order[i]];
    if (t->status != CAVIAR_TRIAL_DIVERGED && t->status != CAVIAR_TRIAL_FAILED) out[n++] = t->trial.hp;
  }
  free(order);
  return n;
}

/* The next round's box: the current one zoomed around the best trials so far. */
static caviar_status zoomed_box(const caviar_study *s, caviar_space *out, caviar_error *err) {
  caviar_status st = caviar_space_copy(&s->box, out, err);
  if (st != CAVIAR_OK) return st;
  int k = s->spec.coarse_to_fine.top_k > 0 ? s->spec.coarse_to_fine.top_k : 1;
  caviar_hparams *best = caviar_alloc((size_t)k, sizeof *best, "the zoom", err);
  if (!best) return CAVIAR_ERUNTIME;
  int n = best_so_far(s, k, best);
  st = caviar_zoom(out, &s->spec.space, best, n, s->spec.coarse_to_fine.zoom, err);
  free(best);
  if (st != CAVIAR_OK) caviar_space_free(out);
  return st;
}

/* ---- drawing trials as the trainer does ---- */

/* Whether tpe proposes the round's trials (the trainer's rule): only where results can exist when
 * a trial starts, a refilled population or a round after the first. Proposed one at a time as
 * trials start (a population smaller than the round), or the whole round at once when it begins. */
static bool proposes(const caviar_study *s, int round) {
  return s->tpe && (round > 0 || s->population < s->per_round);
}
static bool proposes_as_they_start(const caviar_study *s, int round) {
  return proposes(s, round) && s->population < s->per_round;
}

/* Trial index i of round `round` as drawn (before any proposal), in box. */
static void drawn(const caviar_study *s, int round, const caviar_space *box, int i, caviar_hparams *hp) {
  uint32_t id = (uint32_t)(round * s->per_round + i);
  if (round == 0) {
    caviar_trial t;
    caviar_sampler_draw(&s->sampler, id, &t);
    *hp = t.hp;
  } else {
    caviar_sample_random(box, &s->spec.fixed, s->seed, id, hp);
  }
}

/* A trial's model shape as the trainer groups cohorts by it (a study has no data: the inputs and
 * classes are the same for every trial, so any will do). */
static caviar_shape shape_of(const caviar_hparams *hp) { return caviar_shape_of(hp, (caviar_dims){1, 1, 1}, 2); }

/* The shapes of the round's drawn trials: the trainer lays its cohorts out from them, so a tpe
 * proposal of another shape keeps the drawn trial's (and a study gives the trials a sweep would). */
static caviar_status round_shapes(caviar_study *s, int round, const caviar_space *box, caviar_error *err) {
  if (s->shapes_round == round) return CAVIAR_OK;
  free(s->shapes);
  s->shapes = caviar_alloc((size_t)s->per_round, sizeof *s->shapes, "the round's shapes", err);
  s->n_shapes = 0;
  if (!s->shapes) return CAVIAR_ERUNTIME;
  for (int i = 0; i < s->per_round; i++) {
    caviar_hparams hp;
    drawn(s, round, box, i, &hp);
    caviar_shape shape = shape_of(&hp);
    int k = 0;
    while (k < s->n_shapes && !caviar_shape_equal(&s->shapes[k], &shape)) k++;
    if (k == s->n_shapes) s->shapes[s->n_shapes++] = shape;
  }
  s->shapes_round = round;
  return CAVIAR_OK;
}

/* tpe's proposal for trial index i of the round over its drawn config, with the trials before it
 * still running as pending (constant liar): the trainer's propose(). */
static caviar_status propose(caviar_study *s, int round, const caviar_space *box, int i, const caviar_hparams *pending,
                             int n_pending, caviar_hparams *hp, caviar_error *err) {
  uint32_t id = (uint32_t)(round * s->per_round + i);
  caviar_hparams proposal;
  if (!caviar_tpe_propose(s->tpe, box, &s->spec.fixed, id, pending, n_pending, &proposal)) return CAVIAR_OK;
  caviar_status st = round_shapes(s, round, box, err);
  if (st != CAVIAR_OK) return st;
  caviar_shape shape = shape_of(&proposal);
  int k = 0;
  while (k < s->n_shapes && !caviar_shape_equal(&s->shapes[k], &shape)) k++;
  if (k == s->n_shapes) caviar_space_take_shape(box, &s->spec.fixed, hp, &proposal);
  *hp = proposal;
  return CAVIAR_OK;
}

/* The next new trial of the current round. */
static caviar_status next_config(caviar_study *s, caviar_hparams *hp, caviar_error *err) {
  int i = s->next;
  if (s->batch) {
    *hp = s->batch[i];
    return CAVIAR_OK;
  }
  drawn(s, s->round, &s->box, i, hp);
  if (!proposes_as_they_start(s, s->round)) return CAVIAR_OK;
  caviar_hparams *pending = caviar_alloc((size_t)s->population + 1, sizeof *pending, "tpe's pending trials", err);
  if (!pending) return CAVIAR_ERUNTIME;
  int n_pending = 0;
  for (int k = 0; k < i && n_pending < s->population; k++) {
    const caviar_trial_result *t = &s->res.trials[s->round * s->per_round + k];
    if (t->status == CAVIAR_TRIAL_RUNNING) pending[n_pending++] = t->trial.hp;
  }
  caviar_status st = propose(s, s->round, &s->box, i, pending, n_pending, hp, err);
  free(pending);
  return st;
}

/* ---- replaying records ---- */

typedef struct replay {
  caviar_study *s;
  long line;
  caviar_error *err;
  const char *text; /* the record as written */
  size_t len;
} replay;

/* The text of a top-level member's value of the JSON object in text (as written: numbers keep
 * their digits), or NULL. */
static const char *raw_member(const char *text, size_t len, const char *key, size_t *out_len) {
  size_t i = 0, key_len = strlen(key);
  while (i < len && text[i] != '{') i++;
  int depth = 0;
  bool in_string = false;
  size_t key_start = 0, key_end = 0, value_start = 0;
  bool want_key = true, value_of_key = false;
  for (; i < len; i++) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') i++;
      else if (c == '"') {
        in_string = false;
        if (depth == 1 && want_key) key_end = i;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      if (depth == 1 && want_key) key_start = i + 1;
    } else if (c == ':' && depth == 1) {
      want_key = false;
      value_of_key = key_end - key_start == key_len && !strncmp(text + key_start, key, key_len);
      value_start = i + 1;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if ((c == ',' || c == '}') && depth == 1) {
      if (value_of_key) {
        while (value_start < i && (text[value_start] == ' ' || text[value_start] == '\t')) value_start++;
        *out_len = i - value_start;
        return text + value_start;
      }
      want_key = true;
      if (c == '}') return NULL;
    } else if (c == '}' || c == ']') {
      depth--;
    }
  }
  return NULL;
}

static caviar_status fail_line(replay *rp, const char *fmt, const char *detail) {
  char what[512];
  snprintf(what, sizeof what, fmt, detail ? detail : "");
  return caviar_fail(rp->err, CAVIAR_EINPUT, "%s: line %ld: %s", rp->s->log.path, rp->line, what);
}

static bool get_int(const cJSON *o, const char *key, long long lo, long long hi, long long *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)lo ||
      v->valuedouble > (double)hi)
    return false;
  *out = (long long)v->valuedouble;
  return true;
}

static double get_time(const cJSON *o) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "time");
  return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : 0;
}

/* The running trial a record names, at the attempt it names. */
static caviar_status record_trial(replay *rp, const cJSON *rec, uint32_t *id, caviar_study *s) {
  long long v, attempt;
  if (!get_int(rec, "trial", 0, (long long)s->res.n_trials - 1, &v)) return fail_line(rp, "trial: not a trial handed out%s", NULL);
  if (!get_int(rec, "attempt", 1, INT_MAX, &attempt) || attempt != s->books[v].attempt)
    return fail_line(rp, "attempt: not the attempt holding the trial%s", NULL);
  if (s->res.trials[v].status != CAVIAR_TRIAL_RUNNING) return fail_line(rp, "trial: finished before this record%s", NULL);
  *id = (uint32_t)v;
  return CAVIAR_OK;
}

static void touch(caviar_study *s, uint32_t id, double time) {
  s->books[id].last_seen = time;
  if (time > s->last_time) s->last_time = time;
}

/* Whether figures beat the trial's best epoch so far (strictly; NaN never does). */
static bool beats_best(const caviar_study *s, const caviar_trial_result *t, const figures *f) {
  float now = by_accuracy(s) ? f->val_acc : f->val_loss;
  if (isnan(now)) return false;
  if (t->best_epoch == 0) return true;
  float best = by_accuracy(s) ? t->best_val_acc : t->best_val_loss;
  return by_accuracy(s) ? now > best : now < best;
}

/* tpe (or bayes) sees trial id's config reach loss after `epoch` epochs: caviar's hyperparameters,
 * or outside code's values. */
static caviar_status observe(caviar_study *s, uint32_t id, int epoch, double loss, caviar_error *err) {
  trial_books *b = &s->books[id];
  b->observed = epoch;
  return s->spec.outside ? caviar_tpe_observe_values(s->tpe, b->values, epoch, loss, err)
                         : caviar_tpe_observe(s->tpe, &s->res.trials[id].trial.hp, epoch, loss, err);
}

/* A trial's figures after `epoch` epochs: its result, its learning curve (point), tpe's
 * observations (observe). */
static caviar_status take_figures(caviar_study *s, uint32_t id, int epoch, const figures *f, bool point, bool observe_it,
                                  caviar_error *err) {
  caviar_trial_result *t = &s->res.trials[id];
  trial_books *b = &s->books[id];
  if (beats_best(s, t, f)) {
    t->best_epoch = epoch;
    t->best_train_loss = f->train_loss;
    t->best_val_loss = f->val_loss;
    t->best_val_acc = f->val_acc;
  }
  t->epochs = epoch;
  t->train_loss = f->train_loss;
  t->val_loss = f->val_loss;
  t->val_acc = f->val_acc;
  caviar_status st =
      point ? caviar_result_add_point(&s->res, (caviar_curve_point){id, epoch, f->train_loss, f->val_loss, f->val_acc}, err)
            : CAVIAR_OK;
  if (st == CAVIAR_OK && observe_it && s->tpe && f->has_metric && epoch > b->observed)
    st = observe(s, id, epoch, tpe_loss(s, f), err);
  return st;
}

static void set_status(caviar_study *s, uint32_t id, caviar_trial_status status) {
  caviar_trial_result *t = &s->res.trials[id];
  if (t->status == status) return;
  if (t->status == CAVIAR_TRIAL_RUNNING) s->running--;
  t->status = status;
  if (status == CAVIAR_TRIAL_SURVIVED) s->completed++;
  if (status == CAVIAR_TRIAL_CULLED) s->culled++;
  if (status == CAVIAR_TRIAL_FAILED) s->failed++;
}

static caviar_status apply_round(replay *rp, const cJSON *rec) {
  caviar_study *s = rp->s;
  long long round;
  if (!get_int(rec, "round", 1, s->rounds - 1, &round) || round != s->round + 1)
    return fail_line(rp, "round: not the next round%s", NULL);
  if (s->next < s->per_round || s->running > 0) return fail_line(rp, "round: the round before it is not finished%s", NULL);
  caviar_space box;
  caviar_status st = zoomed_box(s, &box, rp->err);
  if (st != CAVIAR_OK) return st;
  caviar_space_free(&s->box);
  s->box = box;
  st = caviar_space_copy(&box, &s->res.boxes[round], rp->err);
  if (st != CAVIAR_OK) return st;
  s->res.n_rounds = (int)round + 1;
  s->round = (int)round;
  s->next = 0;
  s->shapes_round = -1;
  free(s->batch);
  s->batch = NULL;
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(rec, "params");
  if (!params) return CAVIAR_OK;
  if (!cJSON_IsArray(params) || cJSON_GetArraySize(params) != s->per_round)
    return fail_line(rp, "params: expected the round's %s configs", "");
  s->batch = caviar_alloc((size_t)s->per_round, sizeof *s->batch, "the round's configs", rp->err);
  if (!s->batch) return CAVIAR_ERUNTIME;
  int i = 0;
  const cJSON *p;
  char why[256];
  cJSON_ArrayForEach(p, params) if (!params_parse(s, p, &s->batch[i++], why, sizeof why)) return fail_line(rp, "%s", why);
  return CAVIAR_OK;
}

static caviar_status apply_start(replay *rp, const cJSON *rec) {
  caviar_study *s = rp->s;
  long long id, attempt, round, bracket;
  double time = get_time(rec);
  if (!get_int(rec, "trial", 0, UINT32_MAX, &id) || !get_int(rec, "attempt", 1, INT_MAX, &attempt))
    return fail_line(rp, "trial or attempt: expected whole numbers%s", NULL);
  if (attempt > 1) {
    if (id >= s->res.n_trials || s->res.trials[id].status != CAVIAR_TRIAL_RUNNING || attempt != s->books[id].attempt + 1)
      return fail_line(rp, "attempt: not the next attempt of a running trial%s", NULL);
    trial_books *b = &s->books[id];
    caviar_trial_result *t = &s->res.trials[id];
    b->attempt = (int)attempt;
    b->released = false;
    b->last_epoch = 0;
    forget_metrics(b);
    const char *worker = json_string(rec, "worker");
    free(b->worker);
    b->worker = worker ? strdup(worker) : NULL;
    t->epochs = t->best_epoch = 0;
    t->train_loss = t->val_loss = t->val_acc = NAN;
    drop_points(s, (uint32_t)id);
    touch(s, (uint32_t)id, time);
    return CAVIAR_OK;
  }
  if (id != s->res.n_trials || !get_int(rec, "round", 0, s->rounds - 1, &round) || round != s->round ||
      s->next >= s->per_round || id != (long long)round * s->per_round + s->next)
    return fail_line(rp, "trial: not the next trial of the study%s", NULL);
  if (!get_int(rec, "bracket", 0, s->res.brackets.n_brackets - 1, &bracket) ||
      bracket != caviar_bracket_of(&s->res.brackets, s->next))
    return fail_line(rp, "bracket: not the trial's bracket%s", NULL);
  caviar_hparams hp = s->spec.fixed;
  char why[256], *text;
  double *values = NULL;
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(rec, "params");
  if (s->spec.outside) {
    /* Outside code's config, kept as written (W&B passes 10.0 on as 10.0, 10 as 10). */
    size_t n = 0;
    const char *raw = cJSON_IsObject(params) ? raw_member(rp->text, rp->len, "params", &n) : NULL;
    if (!raw) return fail_line(rp, "params: expected an object%s", NULL);
    if (s->tpe) {
      /* tpe and bayes read its values (each one its parameter can take). */
      if (!(values = malloc((size_t)(s->spec.space.n > 0 ? s->spec.space.n : 1) * sizeof *values)))
        return caviar_fail(rp->err, CAVIAR_ERUNTIME, "out of memory reading the study's journal");
      if (!caviar_values_parse(&s->spec.space, params, values, why, sizeof why)) {
        free(values);
        return fail_line(rp, "%s", why);
      }
    }
    text = strndup(raw, n);
  } else {
    if (!params_parse(s, params, &hp, why, sizeof why)) return fail_line(rp, "%s", why);
    /* Written back as the study writes it (numbers that read back exactly), whoever wrote the record. */
    text = params_text(&s->spec.space, &hp);
  }
  if (!text) {
    free(values);
    return caviar_fail(rp->err, CAVIAR_ERUNTIME, "out of memory reading the study's journal");
  }
  caviar_status st = grow_trials(s, (int)id + 1, rp->err);
  if (st != CAVIAR_OK) {
    free(text);
    free(values);
    return st;
  }
  caviar_trial_result *t = &s->res.trials[id];
  memset(t, 0, sizeof *t);
  t->trial = (caviar_trial){.id = (uint32_t)id, .round = (int)round, .hp = hp};
  t->shape = shape_of(&hp);
  t->bracket = (int)bracket;
  t->status = CAVIAR_TRIAL_RUNNING;
  t->train_loss = t->val_loss = t->val_acc = t->test_loss = t->test_acc = NAN;
  const char *worker = json_string(rec, "worker");
  s->books[id] = (trial_books){.params = text, .index = s->next, .attempt = 1, .worker = worker ? strdup(worker) : NULL,
                               .values = values};
  s->res.n_trials++;
  s->next++;
  s->running++;
  if (s->first_time == 0 || (time > 0 && time < s->first_time)) s->first_time = time;
  touch(s, (uint32_t)id, time);
  return CAVIAR_OK;
}

static caviar_status apply_epoch(replay *rp, const cJSON *rec) {
  caviar_study *s = rp->s;
  uint32_t id;
  caviar_status st = record_trial(rp, rec, &id, s);
  if (st != CAVIAR_OK) return st;
  long long epoch, culled_at = 0;
  trial_books *b = &s->books[id];
  if (!get_int(rec, "epoch", b->last_epoch + 1, epoch_cap(s), &epoch))
    return fail_line(rp, "epoch: not after the trial's last one, within its budget%s", NULL);
  const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(rec, "metrics");
  const cJSON *verdict = cJSON_GetObjectItemCaseSensitive(rec, "verdict");
  if (!cJSON_IsObject(metrics)) return fail_line(rp, "metrics: expected an object%s", NULL);
  figures f = figures_of(s, metrics);
  if (!f.has_metric) return fail_line(rp, "metrics: the spec's metric is missing%s", NULL);
  bool stop = cJSON_IsString(verdict) && !strcmp(verdict->valuestring, "stop");
  if (!stop && !(cJSON_IsString(verdict) && !strcmp(verdict->valuestring, "go")))
    return fail_line(rp, "verdict: expected \"go\" or \"stop\"%s", NULL);
  if (stop && !get_int(rec, "rung", 1, s->spec.epochs, &culled_at)) return fail_line(rp, "rung: expected a rung's epochs%s", NULL);
  b->last_epoch = (int)epoch;
  touch(s, id, get_time(rec));
  st = take_figures(s, id, (int)epoch, &f, true, true, rp->err);
  if (st == CAVIAR_OK) st = keep_metrics(s, b, (int)epoch, metrics, true, rp->err);
  /* Recorded at every rung it was judged at, as the trainer records members at rungs. */
  const caviar_rungs *rungs = rungs_of(s, id);
  for (int k = b->rungs_done; st == CAVIAR_OK && epoch < s->spec.epochs && k < rungs->n && rungs->epochs[k] <= epoch;
       k++) {
    st = caviar_rung_record_add(rung_of(s, s->res.trials[id].bracket, k), f.val_loss, f.val_acc, id, by_accuracy(s),
                                 s->res.brackets.eta, rp->err);
    b->rungs_done = k + 1;
    if (stop && rungs->epochs[k] == culled_at) break;
  }
  if (st == CAVIAR_OK && stop) set_status(s, id, CAVIAR_TRIAL_CULLED);
  return st;
}

static caviar_status apply_tell(replay *rp, const cJSON *rec) {
  caviar_study *s = rp->s;
  uint32_t id;
  caviar_status st = record_trial(rp, rec, &id, s);
  if (st != CAVIAR_OK) return st;
  trial_books *b = &s->books[id];
  const cJSON *status = cJSON_GetObjectItemCaseSensitive(rec, "status");
  bool failed = cJSON_IsString(status) && !strcmp(status->valuestring, "failed");
  if (!failed && !(cJSON_IsString(status) && !strcmp(status->valuestring, "completed")))
    return fail_line(rp, "status: expected \"completed\" or \"failed\"%s", NULL);
  long long epoch;
  if (!get_int(rec, "epoch", b->last_epoch > 1 ? b->last_epoch : 1, epoch_cap(s), &epoch))
    return fail_line(rp, "epoch: expected the trial's last epoch or a later one within its budget%s", NULL);
  const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(rec, "metrics");
  if (metrics && !cJSON_IsObject(metrics)) return fail_line(rp, "metrics: expected an object%s", NULL);
  touch(s, id, get_time(rec));
  const int reported = b->last_epoch;
  const bool told_values = metrics && cJSON_GetArraySize(metrics) > 0;
  if (told_values) {
    figures f = figures_of(s, metrics);
    if (!failed && !f.has_metric) return fail_line(rp, "metrics: the spec's metric is missing%s", NULL);
    /* A value at a later epoch than the last report is one more point of its curve; a failed
     * trial's values are shown, but tpe sees the failure (below). */
    st = take_figures(s, id, (int)epoch, &f, epoch > b->last_epoch, !failed, rp->err);
    if (st == CAVIAR_OK) st = keep_metrics(s, b, (int)epoch, metrics, epoch > b->last_epoch, rp->err);
  } else if (!failed && b->last_epoch == 0) {
    return fail_line(rp, "metrics: a completed trial without reports needs its values%s", NULL);
  }
  /* A failed trial is the worst result at the epoch it failed in, as a diverged member is (outside
   * code's at every larger budget too: tpe.h). */
  if (st == CAVIAR_OK && failed && s->tpe && epoch > b->observed) st = observe(s, id, (int)epoch, INFINITY, rp->err);
  /* A failed trial reached the epochs its values are from: the epoch it failed in (the journal's,
   * which tpe sees) was not completed, unless values came with the failure. */
  if (failed) s->res.trials[id].epochs = told_values ? (int)epoch : reported;
  const char *reason = json_string(rec, "reason");
  if (failed && reason && !b->reason && !(b->reason = strdup(reason)))
    return caviar_fail(rp->err, CAVIAR_ERUNTIME, "out of memory reading the study's journal");
  if (st == CAVIAR_OK) set_status(s, id, failed ? CAVIAR_TRIAL_FAILED : CAVIAR_TRIAL_SURVIVED);
  return st;
}

static caviar_status apply_line(void *ctx, const char *line, size_t len, long line_no, caviar_error *err) {
  replay rp = {ctx, line_no, err, line, len};
  caviar_study *s = rp.s;
  if (len == 0) return CAVIAR_OK;
  cJSON *rec = cJSON_ParseWithLength(line, len);
  if (!cJSON_IsObject(rec)) {
    cJSON_Delete(rec);
    return fail_line(&rp, "not a JSON object%s", NULL);
  }
  const cJSON *event = cJSON_GetObjectItemCaseSensitive(rec, "event");
  const char *e = cJSON_IsString(event) ? event->valuestring : "";
  caviar_status st = CAVIAR_OK;
  uint32_t id;
  if (!strcmp(e, "round")) {
    st = apply_round(&rp, rec);
  } else if (!strcmp(e, "start")) {
    st = apply_start(&rp, rec);
  } else if (!strcmp(e, "epoch")) {
    st = apply_epoch(&rp, rec);
  } else if (!strcmp(e, "tell")) {
    st = apply_tell(&rp, rec);
  } else if (!strcmp(e, "release") || !strcmp(e, "alive")) {
    st = record_trial(&rp, rec, &id, s);
    if (st == CAVIAR_OK) {
      touch(s, id, get_time(rec));
      if (!strcmp(e, "release")) s->books[id].released = true;
    }
  } else if (!e[0]) {
    st = fail_line(&rp, "event: expected a record's event name%s", NULL);
  }
  /* Records of events this version does not know are left to whoever wrote them. */
  cJSON_Delete(rec);
  return st;
}

/* ---- opening ---- */

static caviar_status read_small_file(const char *path, char **text, size_t *len, caviar_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot read: %s", path, strerror(errno));
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap + 1);
  while (buf) {
    size_t k = fread(buf + n, 1, cap - n, f);
    n += k;
    if (n < cap) break;
    if (cap >= ((size_t)64 << 20)) {
      free(buf);
      fclose(f);
      return caviar_fail(err, CAVIAR_EINPUT, "%s: larger than 64 MiB: not a study file", path);
    }
    cap *= 2;
    char *grown = realloc(buf, cap + 1);
    if (!grown) free(buf);
    buf = grown;
  }
  bool bad = ferror(f);
  fclose(f);
  if (!buf) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory reading %s", path);
  if (bad) {
    free(buf);
    return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot read", path);
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return CAVIAR_OK;
}

/* Per round and the number of rounds the spec gives, with the brackets (as the trainer sets them). */
static caviar_status plan(caviar_study *s, long long trials, caviar_error *err) {
  const caviar_spec *spec = &s->spec;
  /* As the trainer plans a round: Hyperband's brackets say how many trials (unless a grid, outside
   * code or -n does), then they share the round's trials out. */
  long long count = caviar_round_request(spec, trials);
  caviar_status st = caviar_sampler_init(&s->sampler, spec, s->seed, count, err);
  if (st != CAVIAR_OK) return st;
  s->sampler_ready = true;
  if (s->sampler.count > INT_MAX / 128)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: %lld trials a round: more than a study holds (%d)", spec->source,
                       s->sampler.count, INT_MAX / 128);
  s->per_round = (int)s->sampler.count;
  s->rounds = spec->rounds > 0 ? spec->rounds : 1;
  if ((long long)s->per_round * s->rounds > INT_MAX / 128)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: %lld trials in all: more than a study holds (%d)", spec->source,
                       (long long)s->per_round * s->rounds, INT_MAX / 128);
  caviar_brackets_make(&spec->early_terminate, s->per_round, &s->res.brackets);
  caviar_rungs_make(&spec->early_terminate, &s->res.rungs);
  s->population = spec->population > 0 && spec->population < s->per_round ? (int)spec->population : s->per_round;
  if (spec->method == CAVIAR_METHOD_TPE)
    st = spec->outside ? caviar_tpe_new_values(&spec->tpe, s->seed, spec->space.n, &s->tpe, err)
                       : caviar_tpe_new(&spec->tpe, s->seed, &s->tpe, err);
  if (st == CAVIAR_OK) {
    s->rungs = caviar_alloc((size_t)s->res.brackets.n_brackets * CAVIAR_MAX_RUNGS, sizeof *s->rungs, "rung records", err);
    s->res.boxes = caviar_alloc((size_t)s->rounds, sizeof *s->res.boxes, "round boxes", err);
    if (!s->rungs || !s->res.boxes) st = CAVIAR_ERUNTIME;
  }
  if (st == CAVIAR_OK) st = caviar_space_copy(&spec->space, &s->box, err);
  if (st == CAVIAR_OK) st = caviar_space_copy(&spec->space, &s->res.boxes[0], err);
  if (st == CAVIAR_OK) s->res.n_rounds = 1;
  s->shapes_round = -1;
  return st;
}

/* What a spec must be to drive a study. */
static caviar_status study_spec_ok(const caviar_spec *spec, caviar_error *err) {
  if (spec->early_terminate.type == CAVIAR_STOP_PBT)
    return caviar_fail(err, CAVIAR_EINPUT,
                       "%s: early_terminate.type: pbt copies weights between trials as they train, which caviar "
                       "cannot do for a program it does not run; use hyperband or successive halving in a study",
                       spec->source);
  return CAVIAR_OK;
}


caviar_status caviar_study_open(const char *dir, caviar_study **out, caviar_error *err) {
  *out = NULL;
  char path[4200];
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return caviar_fail(err, CAVIAR_EINPUT, "%s: not a study (%s; make one with caviar study init SPEC -o %s)", dir,
                       stat(dir, &sb) != 0 ? "no such folder" : "not a folder", dir);
  snprintf(path, sizeof path, "%s/" CAVIAR_STUDY_FILE, dir);
  if (access(path, F_OK) != 0)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: not a study (no " CAVIAR_STUDY_FILE "; make one with caviar study init SPEC -o %s)",
                       dir, dir);
  char *text = NULL;
  size_t len = 0;
  caviar_status st = read_small_file(path, &text, &len, err);
  if (st != CAVIAR_OK) return st;
  cJSON *root = cJSON_ParseWithLength(text, len);
  free(text);
  const char *spec_text = root ? json_string(root, "spec") : NULL, *spec_file = root ? json_string(root, "spec_file") : NULL;
  const char *base_dir = root ? json_string(root, "base_dir") : NULL;
  long long seed, attempts, trials = -1;
  const cJSON *timeout = root ? cJSON_GetObjectItemCaseSensitive(root, "timeout_seconds") : NULL;
  const cJSON *trials_item = root ? cJSON_GetObjectItemCaseSensitive(root, "trials") : NULL;
  const char *problem = !cJSON_IsObject(root)                                   ? "not a JSON object"
                        : !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(root, "caviar_study")) ? "caviar_study: missing"
                        : !spec_text || !spec_file                              ? "spec, spec_file: expected strings"
                        : !get_int(root, "seed", 0, (long long)CAVIAR_MAX_SEED, &seed) ? "seed: expected a whole number"
                        : !get_int(root, "max_attempts", 1, 1000000, &attempts) ? "max_attempts: expected a whole number"
                        : !cJSON_IsNumber(timeout) || !(timeout->valuedouble > 0) ? "timeout_seconds: expected a number > 0"
                        : trials_item && !cJSON_IsNull(trials_item) && !get_int(root, "trials", 1, CAVIAR_MAX_TRIALS, &trials)
                            ? "trials: expected a whole number or null"
                            : NULL;
  if (problem) {
    cJSON_Delete(root);
    return caviar_fail(err, CAVIAR_EINPUT, "%s: %s", path, problem);
  }
  caviar_study *s = caviar_alloc(1, sizeof *s, "a study", err);
  if (!s) {
    cJSON_Delete(root);
    return CAVIAR_ERUNTIME;
  }
  s->log.fd = -1;
  snprintf(s->dir, sizeof s->dir, "%s", dir);
  s->seed = (uint64_t)seed;
  s->max_attempts = (int)attempts;
  s->timeout_s = timeout->valuedouble;
  s->spec_file = caviar_strdup(spec_file, err);
  st = s->spec_file ? caviar_spec_parse(spec_text, strlen(spec_text), spec_file, base_dir, &s->spec, err) : CAVIAR_ERUNTIME;
  cJSON_Delete(root);
  if (st == CAVIAR_OK) st = study_spec_ok(&s->spec, err);
  if (st == CAVIAR_OK) st = plan(s, trials, err);
  snprintf(path, sizeof path, "%s/" CAVIAR_STUDY_JOURNAL, dir);
  if (st == CAVIAR_OK) st = study_log_open(&s->log, path, err);
  if (st == CAVIAR_OK) st = study_log_read(&s->log, apply_line, s, err);
  if (st != CAVIAR_OK) {
    caviar_study_close(s);
    return st;
  }
  *out = s;
  return CAVIAR_OK;
}

/* Frees what plan() and the replay built (not the spec). */
static void unplan(caviar_study *s) {
  for (int i = 0; i < s->res.n_trials; i++) {
    free(s->books[i].params);
    free(s->books[i].worker);
    free(s->books[i].reason);
    free(s->books[i].values);
    forget_metrics(&s->books[i]);
  }
  for (int i = 0; i < s->n_names; i++) free(s->names[i]);
  free(s->names);
  s->names = NULL;
  s->n_names = 0;
  for (int i = 0; s->rungs && i < s->res.brackets.n_brackets * CAVIAR_MAX_RUNGS; i++) caviar_rung_record_free(&s->rungs[i]);
  free(s->rungs);
  free(s->books);
  free(s->batch);
  free(s->shapes);
  caviar_space_free(&s->box);
  caviar_sweep_result_free(&s->res);
  caviar_tpe_free(s->tpe);
  if (s->sampler_ready) caviar_sampler_free(&s->sampler);
  s->rungs = NULL;
  s->books = NULL;
  s->batch = NULL;
  s->shapes = NULL;
  s->tpe = NULL;
  s->sampler_ready = false;
}

void caviar_study_close(caviar_study *s) {
  if (!s) return;
  study_log_close(&s->log);
  unplan(s);
  caviar_spec_free(&s->spec);
  free(s->spec_file);
  free(s);
}

caviar_status caviar_study_refresh(caviar_study *s, caviar_error *err) {
  return study_log_read(&s->log, apply_line, s, err);
}

const caviar_spec *caviar_study_spec(const caviar_study *s) { return &s->spec; }
uint64_t caviar_study_seed(const caviar_study *s) { return s->seed; }
const char *caviar_study_dir(const caviar_study *s) { return s->dir; }
double caviar_study_timeout(const caviar_study *s) { return s->timeout_s; }


/* ---- writing records ---- */

/* A record of event about trial id's attempt (id UINT32_MAX: none). */
static cJSON *new_record(const char *event, uint32_t id, int attempt) {
  cJSON *r = cJSON_CreateObject();
  if (r && !cJSON_AddStringToObject(r, "event", event)) {
    cJSON_Delete(r);
    return NULL;
  }
  if (r && id != UINT32_MAX &&
      (!cJSON_AddNumberToObject(r, "trial", id) || !cJSON_AddNumberToObject(r, "attempt", attempt))) {
    cJSON_Delete(r);
    return NULL;
  }
  return r;
}

/* Appends the record (with the time) as one line and reads it back; takes rec. */
static caviar_status commit(caviar_study *s, cJSON *rec, caviar_error *err) {
  char *text = rec && cJSON_AddNumberToObject(rec, "time", wall_now()) ? cJSON_PrintUnformatted(rec) : NULL;
  cJSON_Delete(rec);
  if (!text) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory writing to the study's journal");
  size_t n = strlen(text);
  char *line = realloc(text, n + 2);
  if (!line) {
    free(text);
    return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory writing to the study's journal");
  }
  line[n] = '\n';
  line[n + 1] = '\0';
  caviar_status st = study_log_append(&s->log, line, n + 1, apply_line, s, err);
  free(line);
  return st;
}

static bool add_raw(cJSON *rec, const char *key, const char *json) {
  cJSON *raw = cJSON_CreateRaw(json);
  if (raw && cJSON_AddItemToObject(rec, key, raw)) return true;
  cJSON_Delete(raw);
  return false;
}

static caviar_status oom(caviar_error *err) {
  return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory writing to the study's journal");
}

static void default_worker(char *buf, size_t size) {
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "localhost");
  snprintf(buf, size, "%s:%ld", host, (long)getpid());
}

/* A start record: trial id handed out at `attempt`. */
static caviar_status write_start(caviar_study *s, uint32_t id, int attempt, int round, int bracket, const char *params,
                                 const char *worker, const char *why, caviar_error *err) {
  char who[320];
  if (!worker) default_worker(who, sizeof who);
  cJSON *rec = new_record("start", id, attempt);
  bool ok = rec && cJSON_AddNumberToObject(rec, "round", round) && cJSON_AddNumberToObject(rec, "bracket", bracket) &&
            cJSON_AddNumberToObject(rec, "epochs", s->spec.epochs) && add_raw(rec, "params", params) &&
            cJSON_AddStringToObject(rec, "worker", worker ? worker : who) &&
            (!why || cJSON_AddStringToObject(rec, "again", why));
  if (!ok) {
    cJSON_Delete(rec);
    return oom(err);
  }
  return commit(s, rec, err);
}

void caviar_study_trial_free(caviar_study_trial *t) {
  free(t->params);
  free(t->line);
  memset(t, 0, sizeof *t);
}

/* What ask hands out for trial id, from the state. */
static caviar_status handed(const caviar_study *s, uint32_t id, caviar_study_trial *out, caviar_error *err) {
  const caviar_trial_result *t = &s->res.trials[id];
  const trial_books *b = &s->books[id];
  const caviar_rungs *rungs = rungs_of(s, id);
  char rung_text[CAVIAR_MAX_RUNGS * 12 + 4] = "";
  size_t used = 0;
  for (int k = 0; k < rungs->n; k++)
    used += (size_t)snprintf(rung_text + used, sizeof rung_text - used, "%s%d", k ? ", " : "", rungs->epochs[k]);
  *out = (caviar_study_trial){.id = id, .attempt = b->attempt, .round = t->trial.round, .bracket = t->bracket,
                              .epochs = s->spec.epochs};
  out->params = caviar_strdup(b->params, err);
  size_t size = strlen(b->params) + sizeof rung_text + 200;
  out->line = caviar_alloc(size, 1, "a trial's line", err);
  if (!out->params || !out->line) {
    caviar_study_trial_free(out);
    return CAVIAR_ERUNTIME;
  }
  snprintf(out->line, size,
           "{\"trial\": %u, \"params\": %s, \"attempt\": %d, \"epochs\": %d, \"round\": %d, \"bracket\": %d, "
           "\"rungs\": [%s]}",
           (unsigned)id, b->params, b->attempt, s->spec.epochs, t->trial.round, t->bracket, rung_text);
  return CAVIAR_OK;
}

static caviar_status write_tell(caviar_study *s, uint32_t id, bool failed, int epoch, const cJSON *metrics,
                                const char *reason, caviar_error *err) {
  cJSON *rec = new_record("tell", id, s->books[id].attempt);
  bool ok = rec && cJSON_AddStringToObject(rec, "status", failed ? "failed" : "completed") &&
            cJSON_AddNumberToObject(rec, "epoch", epoch);
  if (ok && metrics) {
    cJSON *copy = cJSON_Duplicate(metrics, true);
    ok = copy && cJSON_AddItemToObject(rec, "metrics", copy);
    if (!ok) cJSON_Delete(copy);
  }
  if (ok && reason) ok = cJSON_AddStringToObject(rec, "reason", reason) != NULL;
  if (!ok) {
    cJSON_Delete(rec);
    return oom(err);
  }
  return commit(s, rec, err);
}

/* The next round's record: its box, and tpe's proposals for all of it when it proposes the round
 * at once (the trainer's batch by the constant liar, the trials before each as pending). */
static caviar_status write_round(caviar_study *s, caviar_error *err) {
  int round = s->round + 1;
  caviar_space box;
  caviar_status st = zoomed_box(s, &box, err);
  if (st != CAVIAR_OK) return st;
  cJSON *rec = new_record("round", UINT32_MAX, 0);
  bool ok = rec && cJSON_AddNumberToObject(rec, "round", round);
  cJSON *box_json = ok ? caviar_space_box_json(&box) : NULL;
  ok = ok && box_json && cJSON_AddItemToObject(rec, "box", box_json);
  if (!ok) cJSON_Delete(box_json);
  if (ok && proposes(s, round) && !proposes_as_they_start(s, round)) {
    caviar_hparams *hp = caviar_alloc((size_t)s->per_round, sizeof *hp, "the round's proposals", err);
    cJSON *all = hp ? cJSON_AddArrayToObject(rec, "params") : NULL;
    if (!hp) st = CAVIAR_ERUNTIME;
    for (int i = 0; st == CAVIAR_OK && i < s->per_round; i++) {
      drawn(s, round, &box, i, &hp[i]);
      st = propose(s, round, &box, i, hp, i, &hp[i], err);
      char *text = st == CAVIAR_OK ? params_text(&s->spec.space, &hp[i]) : NULL;
      cJSON *raw = text ? cJSON_CreateRaw(text) : NULL;
      free(text);
      if (st == CAVIAR_OK && !(all && raw && cJSON_AddItemToArray(all, raw))) {
        cJSON_Delete(raw);
        st = oom(err);
      }
    }
    free(hp);
  }
  caviar_space_free(&box);
  if (st != CAVIAR_OK || !ok) {
    cJSON_Delete(rec);
    return st != CAVIAR_OK ? st : oom(err);
  }
  return commit(s, rec, err);
}

/* Outside code's config of trial id, as W&B samples it ({"lr": 0.001, "optimizer": {"beta": 0.9}}):
 * drawn, or under tpe and bayes proposed from every result so far once the model has enough, the
 * trials still running (in the order they were handed out) as pending, as for caviar's models. */
static char *outside_params(const caviar_study *s, uint32_t id) {
  int n = s->spec.space.n, rows = n > 0 ? n : 1;
  double *values = malloc((size_t)rows * sizeof *values);
  double *pending = s->tpe ? malloc((size_t)rows * (size_t)(s->running + 1) * sizeof *pending) : NULL;
  if (!values || (s->tpe && !pending)) {
    free(values);
    free(pending);
    return NULL;
  }
  caviar_sampler_values(&s->sampler, id, values);
  if (s->tpe) {
    int n_pending = 0;
    for (int k = 0; k < s->res.n_trials && n_pending < s->running; k++)
      if (s->res.trials[k].status == CAVIAR_TRIAL_RUNNING)
        memcpy(pending + (size_t)rows * n_pending++, s->books[k].values, (size_t)n * sizeof *pending);
    double *proposal = pending + (size_t)rows * n_pending;
    if (caviar_tpe_propose_values(s->tpe, &s->spec.space, id, pending, n_pending, proposal))
      memcpy(values, proposal, (size_t)n * sizeof *values);
  }
  free(pending);
  int need = caviar_values_json(&s->spec.space, values, NULL, 0);
  char *text = need >= 0 ? malloc((size_t)need + 1) : NULL;
  if (text) caviar_values_json(&s->spec.space, values, text, (size_t)need + 1);
  free(values);
  return text;
}

static caviar_status ask_locked(caviar_study *s, const char *worker, caviar_ask_outcome *outcome,
                                caviar_study_trial *trial, caviar_error *err) {
  double now = wall_now();
  /* A trial whose holder went silent (or gave it back) goes out again, the earliest first. */
  for (int i = 0; i < s->res.n_trials; i++) {
    trial_books *b = &s->books[i];
    if (s->res.trials[i].status != CAVIAR_TRIAL_RUNNING || (!b->released && now - b->last_seen <= s->timeout_s))
      continue;
    caviar_status st;
    if (b->attempt >= s->max_attempts) {
      char reason[160];
      snprintf(reason, sizeof reason, "handed out %d times, and each time its worker went silent for %g s or gave it back",
               b->attempt, s->timeout_s);
      st = write_tell(s, (uint32_t)i, true, failed_epoch(s, b->last_epoch), NULL, reason, err);
      if (st != CAVIAR_OK) return st;
      continue;
    }
    const caviar_trial_result *t = &s->res.trials[i];
    st = write_start(s, (uint32_t)i, b->attempt + 1, t->trial.round, t->bracket, b->params, worker,
                     b->released ? "released" : "timeout", err);
    if (st != CAVIAR_OK) return st;
    *outcome = CAVIAR_ASK_TRIAL;
    return handed(s, (uint32_t)i, trial, err);
  }
  for (;;) {
    if (s->next < s->per_round) {
      if (s->running >= s->population) return CAVIAR_OK; /* wait */
      uint32_t id = (uint32_t)(s->round * s->per_round + s->next);
      char *text = NULL;
      caviar_status st;
      if (s->spec.outside) {
        text = outside_params(s, id);
      } else {
        caviar_hparams hp;
        st = next_config(s, &hp, err);
        if (st != CAVIAR_OK) return st;
        text = params_text(&s->spec.space, &hp);
      }
      if (!text) return oom(err);
      st = write_start(s, id, 1, s->round, caviar_bracket_of(&s->res.brackets, s->next), text, worker, NULL, err);
      free(text);
      if (st != CAVIAR_OK) return st;
      *outcome = CAVIAR_ASK_TRIAL;
      return handed(s, id, trial, err);
    }
    if (s->running > 0) return CAVIAR_OK; /* the round's last trials are out: wait for them */
    if (s->round + 1 >= s->rounds) {
      *outcome = CAVIAR_ASK_DONE;
      return CAVIAR_OK;
    }
    caviar_status st = write_round(s, err);
    if (st != CAVIAR_OK) return st;
  }
}

caviar_status caviar_study_ask(caviar_study *s, const char *worker, caviar_ask_outcome *outcome,
                               caviar_study_trial *trial, caviar_error *err) {
  memset(trial, 0, sizeof *trial);
  *outcome = CAVIAR_ASK_WAIT;
  caviar_status st = study_log_begin(&s->log, apply_line, s, err);
  if (st != CAVIAR_OK) return st;
  st = ask_locked(s, worker, outcome, trial, err);
  study_log_end(&s->log);
  return st;
}

/* ---- report, tell, release, alive ---- */

/* Metrics as a JSON object, every name and value checked; NULL with err set when one is bad. */
static cJSON *metrics_json(const caviar_study_values *v, caviar_error *err) {
  cJSON *m = cJSON_CreateObject();
  for (int i = 0; m && v && i < v->n; i++) {
    const char *name = v->names[i];
    if (!caviar_study_metric_name_ok(name) || !strcmp(name, "epoch")) {
      caviar_fail(err, CAVIAR_EINPUT, "metric \"%.140s\": expected a name of letters, digits and _.:/- starting with a "
                  "letter or _ (not epoch)", name);
    } else if (!isfinite(v->values[i])) {
      caviar_fail(err, CAVIAR_EINPUT, "%s: expected a finite number, got %s", name, CAVIAR_NUM(v->values[i]));
    } else if (cJSON_GetObjectItemCaseSensitive(m, name)) {
      caviar_fail(err, CAVIAR_EINPUT, "%s: given twice", name);
    } else if (cJSON_AddNumberToObject(m, name, v->values[i])) {
      continue;
    } else {
      caviar_fail(err, CAVIAR_ERUNTIME, "out of memory");
    }
    cJSON_Delete(m);
    return NULL;
  }
  if (!m) caviar_fail(err, CAVIAR_ERUNTIME, "out of memory");
  return m;
}

/* Whether the caller holds trial id at `attempt` (0: any): an error for a trial never handed out or
 * told already; *gone (with why) for one culled, or an attempt handed out again since. */
static caviar_status holder(const caviar_study *s, uint32_t id, int attempt, bool *gone, char *why, size_t why_size,
                            caviar_error *err) {
  *gone = false;
  if (id >= (uint32_t)s->res.n_trials)
    return s->res.n_trials == 0
               ? caviar_fail(err, CAVIAR_EINPUT, "%s: trial %u was never handed out (none has been yet)", s->dir, (unsigned)id)
               : caviar_fail(err, CAVIAR_EINPUT, "%s: trial %u was never handed out (trials 0 to %d have been)", s->dir,
                             (unsigned)id, s->res.n_trials - 1);
  const caviar_trial_result *t = &s->res.trials[id];
  const trial_books *b = &s->books[id];
  if (t->status == CAVIAR_TRIAL_SURVIVED || t->status == CAVIAR_TRIAL_FAILED)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: trial %u was told already (%s after %d epochs)", s->dir, (unsigned)id,
                       t->status == CAVIAR_TRIAL_FAILED ? "failed" : "completed", t->epochs);
  if (attempt > b->attempt)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: trial %u has no attempt %d (it is at attempt %d)", s->dir, (unsigned)id,
                       attempt, b->attempt);
  if (t->status == CAVIAR_TRIAL_CULLED) {
    *gone = true;
    snprintf(why, why_size, "trial %u was culled after epoch %d: stop", (unsigned)id, t->epochs);
  } else if (attempt > 0 && attempt < b->attempt) {
    *gone = true;
    snprintf(why, why_size, "attempt %d of trial %u is over: the trial was handed out again (attempt %d): stop", attempt,
             (unsigned)id, b->attempt);
  }
  return CAVIAR_OK;
}

/* What report, tell, release and alive begin with: the values checked, the writers' lock taken
 * and the journal read up to now, and whether the caller holds trial id at `attempt` (*gone: no
 * longer, why says so). On CAVIAR_OK the lock is held (study_log_end) and *metrics is the caller's. */
static caviar_status begin_holding(caviar_study *s, uint32_t id, int attempt, const caviar_study_values *v,
                                   cJSON **metrics, bool *gone, char *why, size_t why_size, caviar_error *err) {
  *metrics = metrics_json(v, err);
  if (!*metrics) return CAVIAR_EINPUT;
  caviar_status st = study_log_begin(&s->log, apply_line, s, err);
  if (st == CAVIAR_OK) {
    st = holder(s, id, attempt, gone, why, why_size, err);
    if (st != CAVIAR_OK) study_log_end(&s->log);
  }
  if (st != CAVIAR_OK) {
    cJSON_Delete(*metrics);
    *metrics = NULL;
  }
  return st;
}

caviar_status caviar_study_report(caviar_study *s, uint32_t id, int attempt, int epoch, const caviar_study_values *v,
                                  caviar_study_verdict *verdict, char *why, size_t why_size, caviar_error *err) {
  *verdict = CAVIAR_VERDICT_GONE;
  why[0] = '\0';
  cJSON *metrics;
  bool gone;
  caviar_status st = begin_holding(s, id, attempt, v, &metrics, &gone, why, why_size, err);
  if (st != CAVIAR_OK) return st;
  figures f = figures_of(s, metrics);
  const char *metric = caviar_spec_metric(&s->spec);
  if (st == CAVIAR_OK && !gone) {
    const trial_books *b = &s->books[id];
    if (epoch < 1 || epoch > epoch_cap(s))
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: trial %u: epoch %d is outside its budget of 1 to %d epochs", s->dir,
                       (unsigned)id, epoch, epoch_cap(s));
    else if (epoch <= b->last_epoch)
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: trial %u: epoch %d is not after the epoch it reported last (%d)", s->dir,
                       (unsigned)id, epoch, b->last_epoch);
    else if (!f.has_metric)
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: trial %u: the report needs the study's metric, %s", s->dir, (unsigned)id,
                       metric);
  }
  int culled_at = 0;
  if (st == CAVIAR_OK && !gone) st = judge(s, id, epoch, &f, &culled_at, err);
  if (st == CAVIAR_OK && !gone) {
    cJSON *rec = new_record("epoch", id, s->books[id].attempt);
    bool ok = rec && cJSON_AddNumberToObject(rec, "epoch", epoch) && cJSON_AddItemToObject(rec, "metrics", metrics) &&
              cJSON_AddStringToObject(rec, "verdict", culled_at ? "stop" : "go") &&
              (!culled_at || cJSON_AddNumberToObject(rec, "rung", culled_at));
    if (rec && cJSON_GetObjectItemCaseSensitive(rec, "metrics") == metrics) metrics = NULL;
    st = ok ? commit(s, rec, err) : (cJSON_Delete(rec), oom(err));
    if (st == CAVIAR_OK) {
      *verdict = culled_at ? CAVIAR_VERDICT_STOP : CAVIAR_VERDICT_GO;
      const caviar_rung_record *rb = culled_at ? rung_of(s, s->res.trials[id].bracket, s->books[id].rungs_done - 1) : NULL;
      if (culled_at)
        snprintf(why, why_size, "trial %u culled at the rung after %d epochs: not in the top 1/%d of the %d trials of its "
                 "bracket there: stop", (unsigned)id, culled_at, s->res.brackets.eta, rb->n);
      else
        snprintf(why, why_size, "trial %u: epoch %d recorded: go on", (unsigned)id, epoch);
    }
  }
  cJSON_Delete(metrics);
  study_log_end(&s->log);
  return st;
}

caviar_status caviar_study_tell(caviar_study *s, uint32_t id, int attempt, bool failed, int epoch,
                                const caviar_study_values *v, const char *reason, caviar_study_verdict *verdict,
                                char *why, size_t why_size, caviar_error *err) {
  *verdict = CAVIAR_VERDICT_GONE;
  why[0] = '\0';
  cJSON *metrics;
  bool gone;
  caviar_status st = begin_holding(s, id, attempt, v, &metrics, &gone, why, why_size, err);
  if (st != CAVIAR_OK) return st;
  if (!gone) {
    const trial_books *b = &s->books[id];
    const char *metric = caviar_spec_metric(&s->spec);
    int lowest = b->last_epoch > 1 ? b->last_epoch : 1;
    bool given = cJSON_GetArraySize(metrics) > 0;
    if (epoch == 0) epoch = failed ? failed_epoch(s, b->last_epoch) : (b->last_epoch > 0 ? b->last_epoch : s->spec.epochs);
    if (epoch < lowest || epoch > epoch_cap(s))
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: trial %u: epoch %d is outside %d to %d (its last report to its budget)",
                       s->dir, (unsigned)id, epoch, lowest, epoch_cap(s));
    else if (!failed && given && !figures_of(s, metrics).has_metric)
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: trial %u: telling values needs the study's metric, %s", s->dir,
                       (unsigned)id, metric);
    else if (!failed && !given && b->last_epoch == 0)
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: trial %u reported nothing: tell its %s (or --status failed)", s->dir,
                       (unsigned)id, metric);
    if (st == CAVIAR_OK) st = write_tell(s, id, failed, epoch, given ? metrics : NULL, reason, err);
    if (st == CAVIAR_OK) {
      *verdict = CAVIAR_VERDICT_GO;
      snprintf(why, why_size, "trial %u %s after %d epochs", (unsigned)id, failed ? "failed" : "completed", epoch);
    }
  }
  cJSON_Delete(metrics);
  study_log_end(&s->log);
  return st;
}

/* release and alive: a record about the holder's attempt, nothing when it is over. */
static caviar_status holder_record(caviar_study *s, const char *event, uint32_t id, int attempt, const char *reason,
                                   caviar_error *err) {
  cJSON *metrics;
  bool gone;
  char why[256];
  caviar_status st = begin_holding(s, id, attempt, NULL, &metrics, &gone, why, sizeof why, err);
  if (st != CAVIAR_OK) return st;
  if (!gone) {
    cJSON *rec = new_record(event, id, s->books[id].attempt);
    bool ok = rec && (!reason || cJSON_AddStringToObject(rec, "reason", reason));
    st = ok ? commit(s, rec, err) : (cJSON_Delete(rec), oom(err));
  }
  cJSON_Delete(metrics);
  study_log_end(&s->log);
  return st;
}

caviar_status caviar_study_release(caviar_study *s, uint32_t id, int attempt, const char *reason, caviar_error *err) {
  return holder_record(s, "release", id, attempt, reason, err);
}

caviar_status caviar_study_alive(caviar_study *s, uint32_t id, int attempt, caviar_error *err) {
  return holder_record(s, "alive", id, attempt, NULL, err);
}

/* ---- what the study holds ---- */

void caviar_study_counts_of(const caviar_study *s, caviar_study_counts *out) {
  *out = (caviar_study_counts){.total = s->per_round * s->rounds, .started = s->res.n_trials, .running = s->running,
                               .completed = s->completed, .culled = s->culled, .failed = s->failed, .round = s->round,
                               .rounds = s->rounds};
  out->done = s->next >= s->per_round && s->running == 0 && s->round + 1 >= s->rounds;
}

const caviar_sweep_result *caviar_study_results(caviar_study *s) {
  s->res.wall_seconds = s->last_time > s->first_time && s->first_time > 0 ? s->last_time - s->first_time : 0;
  /* Regression metrics are held as mean squared errors in the target's units. */
  bool regression = s->spec.metric.name == CAVIAR_METRIC_VAL_RMSE || s->spec.metric.name == CAVIAR_METRIC_VAL_MSE;
  s->res.target_std = regression ? 1 : 0;
  return &s->res;
}

const char *caviar_study_holder(const caviar_study *s, uint32_t id, int *attempt) {
  if (id >= (uint32_t)s->res.n_trials || s->res.trials[id].status != CAVIAR_TRIAL_RUNNING) return NULL;
  *attempt = s->books[id].attempt;
  return s->books[id].worker ? s->books[id].worker : "";
}

int caviar_study_started(const caviar_study *s) { return s->res.n_trials; }

const char *caviar_study_params(const caviar_study *s, uint32_t id) {
  return id < (uint32_t)s->res.n_trials ? s->books[id].params : NULL;
}

static const char *params_of(const void *ctx, uint32_t id) { return caviar_study_params(ctx, id); }

static const cJSON *trial_metrics(const void *ctx, uint32_t id) {
  const caviar_study *s = ctx;
  return id < (uint32_t)s->res.n_trials ? s->books[id].last : NULL;
}

static const char *trial_reason(const void *ctx, uint32_t id) {
  const caviar_study *s = ctx;
  return id < (uint32_t)s->res.n_trials ? s->books[id].reason : NULL;
}

static double curve_metric(const void *ctx, uint32_t id, int epoch, const char *name) {
  const caviar_study *s = ctx;
  const cJSON *pair;
  if (id >= (uint32_t)s->res.n_trials) return NAN;
  cJSON_ArrayForEach(pair, s->books[id].history) {
    if (cJSON_GetArrayItem(pair, 0)->valuedouble != epoch) continue;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(pair, 1), name);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
  }
  return NAN;
}

void caviar_study_report_info(const caviar_study *s, caviar_report_info *info) {
  *info = (caviar_report_info){.spec = &s->spec, .seed = s->seed, .device = "external program (caviar study)",
                               .data = NULL, .keep_models = 0, .params_json = params_of, .params_ctx = s,
                               .trial_metrics = trial_metrics, .curve_metric = curve_metric, .trial_reason = trial_reason,
                               .curve_names = (const char *const *)s->names, .n_curve_names = s->n_names};
}

caviar_status caviar_study_write_results(caviar_study *s, caviar_error *err) {
  caviar_report_info info;
  caviar_study_report_info(s, &info);
  /* Under the journal's lock, so that agents finishing together write the results one after the
   * other (each of the journal as it is then), never into each other's staging folders. */
  caviar_status st = study_log_begin(&s->log, apply_line, s, err);
  if (st != CAVIAR_OK) return st;
  caviar_study_report_info(s, &info);
  /* Final once the last round's every trial is handed out and told. */
  info.finished = s->running == 0 && s->next >= s->per_round && s->round + 1 >= s->rounds;
  st = caviar_report_write(s->dir, &info, caviar_study_results(s), NULL, err);
  study_log_end(&s->log);
  return st;
}

/* ---- creating ---- */

static bool folder_empty(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return false;
  struct dirent *e;
  bool empty = true;
  while (empty && (e = readdir(d))) empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
  closedir(d);
  return empty;
}

static caviar_status write_study_file(const char *dir, const caviar_spec *spec, const char *spec_path,
                                      const char *base_dir, uint64_t seed, const caviar_study_options *o,
                                      caviar_error *err) {
  char path[4200], created[64];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
  cJSON *root = cJSON_CreateObject();
  bool ok = root && cJSON_AddNumberToObject(root, "caviar_study", 1) &&
            cJSON_AddStringToObject(root, "caviar_version", CAVIAR_VERSION) &&
            cJSON_AddStringToObject(root, "spec_file", spec_path) && cJSON_AddStringToObject(root, "base_dir", base_dir) &&
            cJSON_AddStringToObject(root, "spec", spec->text) && cJSON_AddNumberToObject(root, "seed", (double)seed) &&
            (o->trials >= 0 ? cJSON_AddNumberToObject(root, "trials", (double)o->trials) != NULL
                            : cJSON_AddNullToObject(root, "trials") != NULL) &&
            cJSON_AddNumberToObject(root, "timeout_seconds", o->timeout_s) &&
            cJSON_AddNumberToObject(root, "max_attempts", o->max_attempts) &&
            cJSON_AddStringToObject(root, "created", created);
  char *text = ok ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  if (!text) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory writing the study");
  snprintf(path, sizeof path, "%s/" CAVIAR_STUDY_FILE, dir);
  caviar_atomic_file af;
  caviar_status st = caviar_atomic_open(&af, path, err);
  if (st == CAVIAR_OK) {
    fputs(text, af.f);
    fputc('\n', af.f);
    st = caviar_atomic_commit(&af, err);
  }
  free(text);
  return st;
}

caviar_status caviar_study_init(const char *spec_path, const char *dir, const caviar_study_options *o,
                                caviar_error *err) {
  if (!(o->timeout_s > 0) || o->max_attempts < 1)
    return caviar_fail(err, CAVIAR_EINPUT, "a study needs a timeout above 0 and at least one attempt per trial");
  caviar_spec spec;
  caviar_status st = caviar_spec_load(spec_path, &spec, err);
  if (st != CAVIAR_OK) return st;
  st = study_spec_ok(&spec, err);
  /* -n with Hyperband: that many trials, shared out over its brackets (as caviar sweep -n does). */
  uint64_t seed = o->seed_given ? o->seed : spec.seed;
  /* The plan must be possible (a grid holding the trials asked for) before anything is created. */
  caviar_study probe = {.seed = seed, .spec = spec};
  if (st == CAVIAR_OK) st = plan(&probe, o->trials, err);
  unplan(&probe);
  char abs_spec[PATH_MAX], base[PATH_MAX];
  if (st == CAVIAR_OK && !realpath(spec_path, abs_spec))
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: %s", spec_path, strerror(errno));
  if (st == CAVIAR_OK) {
    snprintf(base, sizeof base, "%s", abs_spec);
    char *slash = strrchr(base, '/');
    if (slash == base) base[1] = '\0';
    else if (slash) *slash = '\0';
  }
  bool made = false;
  if (st == CAVIAR_OK) {
    struct stat sb;
    char study[4200];
    snprintf(study, sizeof study, "%s/" CAVIAR_STUDY_FILE, dir);
    if (mkdir(dir, 0755) == 0) made = true;
    else if (errno != EEXIST)
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: cannot create the study folder: %s", dir, strerror(errno));
    else if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: exists and is not a folder", dir);
    else if (access(study, F_OK) == 0)
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: already holds a study: go on with it (caviar ask %s) or pick a new folder",
                       dir, dir);
    else if (!folder_empty(dir))
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: holds other files: a study starts in a new or empty folder", dir);
  }
  /* The journal first (its O_EXCL settles two inits racing for one folder), then study.json: a
   * folder is a study once study.json is there. */
  char journal[4200];
  snprintf(journal, sizeof journal, "%s/" CAVIAR_STUDY_JOURNAL, dir);
  if (st == CAVIAR_OK) {
    int fd = open(journal, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
      st = errno == EEXIST ? caviar_fail(err, CAVIAR_EINPUT, "%s: another caviar study init is creating a study there", dir)
                           : caviar_fail(err, CAVIAR_EINPUT, "%s: cannot create: %s", journal, strerror(errno));
    else close(fd);
    if (st == CAVIAR_OK) {
      st = write_study_file(dir, &spec, spec_path, base, seed, o, err);
      if (st != CAVIAR_OK) unlink(journal);
    }
  }
  if (st != CAVIAR_OK && made) rmdir(dir);
  caviar_spec_free(&spec);
  return st;
}
