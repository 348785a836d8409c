#include "caviar/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caviar/counter_rng.h"
#include "caviar/zoom.h"

double caviar_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

const char *caviar_trial_status_name(caviar_trial_status status) {
  static const char *const names[] = {"running", "survived", "culled", "diverged"};
  return names[status];
}

double caviar_population_bytes(const caviar_shape *shapes, const int *members, int n_cohorts) {
  double bytes = 0;
  for (int c = 0; c < n_cohorts; c++) {
    caviar_layout layout;
    caviar_layout_make(&shapes[c], members[c], &layout);
    bytes += 4.0 * sizeof(float) * (double)layout.arena;
  }
  return bytes;
}

/* Everything one run needs, freed in one place. */
typedef struct run_state {
  const caviar_sweep *sweep;
  caviar_sweep_result *result;
  caviar_trial *trials;
  caviar_grouping groups;
  caviar_cohort *cohorts;
  int n_allocated;
  uint32_t *order;       /* this epoch's minibatch order */
  float *loss, *acc;     /* per slot scratch */
  caviar_epoch_stats stats;
  int max_members;
  int count;             /* trials in this round: ids first .. first + count - 1 */
  int round, rounds;
  double start;          /* when the sweep began */
} run_state;

static void free_state(run_state *s) {
  for (int c = 0; c < s->n_allocated; c++) {
    s->sweep->backend->cohort_free(s->sweep->backend, &s->cohorts[c]);
    caviar_cohort_free(&s->cohorts[c]);
  }
  free(s->cohorts);
  free(s->trials);
  free(s->order);
  free(s->loss);
  free(s->acc);
  free(s->stats.train_loss);
  free(s->stats.diverged);
  caviar_grouping_free(&s->groups);
  *s = (run_state){.sweep = s->sweep, .result = s->result, .round = s->round, .rounds = s->rounds, .start = s->start};
}

/* Asks the backend whether the whole population fits before anything is allocated. */
static caviar_status check_memory(const run_state *s, caviar_error *err) {
  int n = s->groups.n_cohorts;
  bool *dropout = caviar_alloc((size_t)n, sizeof *dropout, "the memory plan", err);
  if (!dropout) return CAVIAR_ERUNTIME;
  for (int i = 0; i < s->count; i++)
    if (s->trials[i].hp.dropout > 0) dropout[s->groups.cohort_of[i]] = true;
  caviar_status st = s->sweep->backend->plan(s->sweep->backend, s->sweep->data, s->groups.shapes, s->groups.members,
                                             dropout, n, err);
  free(dropout);
  return st;
}

/* Groups a round's trials (s->trials, s->count of them) into cohorts and allocates them. */
static caviar_status setup(run_state *s, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  int n = s->count;
  caviar_status st = caviar_group_trials(s->trials, n, (int)sw->data->train.d, sw->data->classes, &s->groups, err);
  if (st == CAVIAR_OK) st = check_memory(s, err);
  if (st != CAVIAR_OK) return st;
  s->result->n_trials += n;
  for (int i = 0; i < n; i++) {
    caviar_trial_result *r = &s->result->trials[s->trials[i].id];
    r->trial = s->trials[i];
    r->shape = s->groups.shapes[s->groups.cohort_of[i]];
    r->val_loss = r->val_acc = r->train_loss = NAN;
  }
  for (int c = 0; c < s->groups.n_cohorts; c++)
    if (s->groups.members[c] > s->max_members) s->max_members = s->groups.members[c];
  size_t slots = (size_t)s->max_members;
  s->cohorts = caviar_alloc((size_t)s->groups.n_cohorts, sizeof *s->cohorts, "cohorts", err);
  s->order = caviar_alloc(sw->data->split.n_train > sw->data->test.n ? sw->data->split.n_train : sw->data->test.n,
                          sizeof *s->order, "the minibatch order", err);
  s->loss = caviar_alloc(slots, sizeof *s->loss, "evaluation results", err);
  s->acc = caviar_alloc(slots, sizeof *s->acc, "evaluation results", err);
  s->stats.train_loss = caviar_alloc(slots, sizeof *s->stats.train_loss, "epoch results", err);
  s->stats.diverged = caviar_alloc(slots, sizeof *s->stats.diverged, "epoch results", err);
  if (!s->cohorts || !s->order || !s->loss || !s->acc || !s->stats.train_loss || !s->stats.diverged)
    return CAVIAR_ERUNTIME;
  st = sw->backend->upload(sw->backend, sw->data, err);
  for (int c = 0; st == CAVIAR_OK && c < s->groups.n_cohorts; c++) {
    caviar_cohort *cohort = &s->cohorts[c];
    st = caviar_cohort_init(cohort, &s->groups.shapes[c], s->groups.members[c], sw->seed, err);
    if (st != CAVIAR_OK) break;
    for (int i = 0; i < n; i++)
      if (s->groups.cohort_of[i] == c) caviar_cohort_add(cohort, &s->trials[i]);
    st = sw->backend->cohort_alloc(sw->backend, cohort, err);
    if (st != CAVIAR_OK) {
      caviar_cohort_free(cohort);
      break;
    }
    s->n_allocated++;
    st = sw->backend->init_members(sw->backend, cohort, 0, cohort->n, err);
  }
  return st;
}

static caviar_status add_curve_point(caviar_sweep_result *r, const caviar_trial_result *t, int epoch,
                                     caviar_error *err) {
  if (r->n_curve == r->cap_curve) {
    size_t cap = r->cap_curve ? 2 * r->cap_curve : 1024;
    caviar_curve_point *grown = realloc(r->curve, cap * sizeof *grown);
    if (!grown) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory recording learning curves");
    r->curve = grown;
    r->cap_curve = cap;
  }
  r->curve[r->n_curve++] = (caviar_curve_point){t->trial.id, epoch, t->train_loss, t->val_loss, t->val_acc};
  return CAVIAR_OK;
}

/* Trains every cohort one epoch and judges every member on the validation split. */
static caviar_status run_epoch(run_state *s, int epoch, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  const caviar_split *split = &sw->data->split;
  memcpy(s->order, split->train, split->n_train * sizeof *s->order);
  caviar_shuffle(s->order, split->n_train, sw->seed, CAVIAR_RNG_SHUFFLE, (uint32_t)epoch);
  for (int c = 0; c < s->groups.n_cohorts; c++) {
    caviar_cohort *cohort = &s->cohorts[c];
    if (cohort->n == 0) continue;
    for (int slot = 0; slot < cohort->n; slot++) cohort->epochs[slot] = epoch;
    caviar_status st = sw->backend->train_epoch(sw->backend, cohort, s->order, split->n_train, &s->stats, err);
    if (st == CAVIAR_OK)
      st = sw->backend->evaluate(sw->backend, cohort, CAVIAR_SET_TRAIN, split->val, split->n_val, s->loss, s->acc, err);
    if (st != CAVIAR_OK) return st;
    size_t steps = split->n_train / (size_t)cohort->shape.batch;
    s->result->model_samples += (double)cohort->n * (double)(steps * (size_t)cohort->shape.batch);
    for (int slot = 0; slot < cohort->n; slot++) {
      caviar_trial_result *t = &s->result->trials[cohort->trial[slot]];
      t->epochs = epoch + 1;
      t->train_loss = s->stats.train_loss[slot];
      t->val_loss = s->loss[slot];
      t->val_acc = s->acc[slot];
      /* A member that diverged (model_math.h says when) is out at once; members never share a
       * reduction, so it cannot have touched anyone else. */
      if (s->stats.diverged[slot] || caviar_loss_diverged(t->val_loss, cohort->shape.classes))
        t->status = CAVIAR_TRIAL_DIVERGED;
      st = add_curve_point(s->result, t, epoch + 1, err);
      if (st != CAVIAR_OK) return st;
    }
  }
  return CAVIAR_OK;
}

/* Culls all but the top 1/eta of the running members, across cohorts. */
static caviar_status judge_rung(run_state *s, int epochs_done, caviar_error *err) {
  caviar_sweep_result *r = s->result;
  int *ids = caviar_alloc((size_t)r->n_trials, sizeof *ids, "a rung", err);
  float *loss = caviar_alloc((size_t)r->n_trials, sizeof *loss, "a rung", err);
  float *acc = caviar_alloc((size_t)r->n_trials, sizeof *acc, "a rung", err);
  uint32_t *trial = caviar_alloc((size_t)r->n_trials, sizeof *trial, "a rung", err);
  int *order = caviar_alloc((size_t)r->n_trials, sizeof *order, "a rung", err);
  caviar_status st = ids && loss && acc && trial && order ? CAVIAR_OK : CAVIAR_ERUNTIME;
  if (st == CAVIAR_OK) {
    int alive = 0;
    for (int i = 0; i < r->n_trials; i++) {
      if (r->trials[i].status != CAVIAR_TRIAL_RUNNING) continue;
      ids[alive] = i;
      loss[alive] = r->trials[i].val_loss;
      acc[alive] = r->trials[i].val_acc;
      trial[alive] = r->trials[i].trial.id;
      alive++;
    }
    caviar_rank(loss, acc, trial, alive, s->sweep->spec->metric.name == CAVIAR_METRIC_VAL_ACC, order);
    int keep = caviar_rung_keep(alive, s->sweep->spec->early_terminate.eta);
    for (int k = keep; k < alive; k++) {
      r->trials[ids[order[k]]].status = CAVIAR_TRIAL_CULLED;
      r->trials[ids[order[k]]].epochs = epochs_done;
    }
  }
  free(ids);
  free(loss);
  free(acc);
  free(trial);
  free(order);
  return st;
}

/* Drops every slot whose trial stopped running, so the next epoch's work really shrinks. */
static caviar_status compact_all(run_state *s, caviar_error *err) {
  int *keep = caviar_alloc((size_t)s->max_members + 1, sizeof *keep, "compaction", err);
  if (!keep) return CAVIAR_ERUNTIME;
  caviar_status st = CAVIAR_OK;
  for (int c = 0; st == CAVIAR_OK && c < s->groups.n_cohorts; c++) {
    caviar_cohort *cohort = &s->cohorts[c];
    int n_keep = 0;
    for (int slot = 0; slot < cohort->n; slot++)
      if (s->result->trials[cohort->trial[slot]].status == CAVIAR_TRIAL_RUNNING) keep[n_keep++] = slot;
    if (n_keep < cohort->n) st = s->sweep->backend->compact(s->sweep->backend, cohort, keep, n_keep, err);
  }
  free(keep);
  return st;
}

/* Evaluates the survivors once on the test split and copies their parameters out. */
static caviar_status finish(run_state *s, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  size_t n_test = sw->data->test.n;
  for (size_t i = 0; i < n_test; i++) s->order[i] = (uint32_t)i;
  for (int c = 0; c < s->groups.n_cohorts; c++) {
    caviar_cohort *cohort = &s->cohorts[c];
    if (cohort->n == 0) continue;
    caviar_status st = sw->backend->evaluate(sw->backend, cohort, CAVIAR_SET_TEST, s->order, n_test, s->loss, s->acc, err);
    for (int slot = 0; st == CAVIAR_OK && slot < cohort->n; slot++) {
      caviar_trial_result *t = &s->result->trials[cohort->trial[slot]];
      t->status = CAVIAR_TRIAL_SURVIVED;
      t->test_loss = s->loss[slot];
      t->test_acc = s->acc[slot];
      t->params = caviar_alloc(cohort->layout.per_member, sizeof(float), "a survivor's parameters", err);
      st = t->params ? sw->backend->read_arena(sw->backend, cohort, CAVIAR_ARENA_PARAMS, slot, t->params, err) : CAVIAR_ERUNTIME;
    }
    if (st != CAVIAR_OK) return st;
  }
  return CAVIAR_OK;
}

static void report_progress(const run_state *s, int epoch) {
  const caviar_sweep *sw = s->sweep;
  if (!sw->progress) return;
  const caviar_sweep_result *r = s->result;
  caviar_progress p = {0};
  p.epoch = epoch;
  p.epochs = sw->spec->epochs;
  p.round = s->round;
  p.rounds = s->rounds;
  p.rungs = r->rungs.n;
  while (p.rung < r->rungs.n && r->rungs.epochs[p.rung] <= epoch) p.rung++;
  p.trials = r->n_trials;
  p.best_val_acc = NAN;
  for (int i = 0; i < r->n_trials; i++) {
    const caviar_trial_result *t = &r->trials[i];
    if (t->status == CAVIAR_TRIAL_RUNNING) p.alive++;
    if (t->status != CAVIAR_TRIAL_DIVERGED && (isnan(p.best_val_acc) || t->val_acc > p.best_val_acc))
      p.best_val_acc = t->val_acc;
  }
  p.elapsed_s = caviar_now() - s->start;
  p.model_samples_per_s = p.elapsed_s > 0 ? r->model_samples / p.elapsed_s : 0;
  /* The rest of the plan: today's survivors, halved at each remaining rung. */
  double remaining = 0;
  int alive = p.alive;
  for (int e = epoch; e < p.epochs; e++) {
    remaining += alive;
    int rung;
    if (caviar_is_rung(&r->rungs, e + 1, &rung)) alive = caviar_rung_keep(alive, sw->spec->early_terminate.eta);
  }
  /* Later rounds repeat this round's plan. */
  double per_round = 0;
  alive = s->count;
  for (int e = 0; e < p.epochs; e++) {
    per_round += alive;
    int rung;
    if (caviar_is_rung(&r->rungs, e + 1, &rung)) alive = caviar_rung_keep(alive, sw->spec->early_terminate.eta);
  }
  remaining += per_round * (s->rounds - 1 - s->round);
  double per_model_epoch = r->model_samples > 0 ? p.elapsed_s / (r->model_samples / (double)sw->data->split.n_train) : 0;
  p.eta_s = remaining * per_model_epoch;
  sw->progress(&p, sw->progress_ctx);
}

/* Trains one round's trials to the end: epochs, rungs, compaction, the survivors' test scores. */
static caviar_status run_round(run_state *s, caviar_error *err) {
  caviar_status st = setup(s, err);
  if (st == CAVIAR_OK) report_progress(s, 0);
  for (int epoch = 0; st == CAVIAR_OK && epoch < s->sweep->spec->epochs; epoch++) {
    st = run_epoch(s, epoch, err);
    int rung;
    if (st == CAVIAR_OK && caviar_is_rung(&s->result->rungs, epoch + 1, &rung)) st = judge_rung(s, epoch + 1, err);
    if (st == CAVIAR_OK) st = compact_all(s, err);
    if (st == CAVIAR_OK) report_progress(s, epoch + 1);
  }
  if (st == CAVIAR_OK) st = finish(s, err);
  return st;
}

static int status_rank(caviar_trial_status s) {
  return s == CAVIAR_TRIAL_SURVIVED ? 0 : s == CAVIAR_TRIAL_CULLED ? 1 : s == CAVIAR_TRIAL_RUNNING ? 2 : 3;
}

static const caviar_sweep_result *order_result;
static bool order_by_acc;

static int compare_results(const void *pa, const void *pb) {
  const caviar_trial_result *a = &order_result->trials[*(const int *)pa], *b = &order_result->trials[*(const int *)pb];
  int by_status = status_rank(a->status) - status_rank(b->status);
  if (by_status) return by_status;
  /* Later rungs first: a trial that went further was judged on more training. */
  if (a->epochs != b->epochs) return b->epochs - a->epochs;
  float x = order_by_acc ? b->val_acc : a->val_loss, y = order_by_acc ? a->val_acc : b->val_loss;
  if (isnan(x) != isnan(y)) return isnan(x) ? 1 : -1;
  if (x != y) return x < y ? -1 : 1;
  return (a->trial.id > b->trial.id) - (a->trial.id < b->trial.id);
}

void caviar_result_order(const caviar_spec *spec, const caviar_sweep_result *r, int *order) {
  for (int i = 0; i < r->n_trials; i++) order[i] = i;
  order_result = r;
  order_by_acc = spec->metric.name == CAVIAR_METRIC_VAL_ACC;
  qsort(order, (size_t)r->n_trials, sizeof *order, compare_results);
  order_result = NULL;
}

/* The hyperparameters of the best k trials so far (diverged ones never count). */
static int best_so_far(const caviar_sweep *sw, const caviar_sweep_result *r, int k, caviar_hparams *out) {
  int *order = malloc((size_t)r->n_trials * sizeof *order), n = 0;
  if (!order) return 0;
  caviar_result_order(sw->spec, r, order);
  for (int i = 0; i < r->n_trials && n < k; i++)
    if (r->trials[order[i]].status != CAVIAR_TRIAL_DIVERGED) out[n++] = r->trials[order[i]].trial.hp;
  free(order);
  return n;
}

caviar_status caviar_sweep_run(const caviar_sweep *sweep, caviar_sweep_result *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  const caviar_spec *spec = sweep->spec;
  run_state s = {.sweep = sweep, .result = out, .start = caviar_now()};
  s.rounds = spec->method == CAVIAR_METHOD_COARSE_TO_FINE ? spec->coarse_to_fine.rounds : 1;
  caviar_rungs_make(&spec->early_terminate, &out->rungs);
  caviar_sampler sampler;
  caviar_status st = caviar_sampler_init(&sampler, spec, sweep->seed, sweep->trials, err);
  if (st != CAVIAR_OK) return st;
  int per_round = (int)sampler.count;
  size_t total = (size_t)per_round * (size_t)s.rounds;
  out->trials = caviar_alloc(total, sizeof *out->trials, "trial results", err);
  out->boxes = caviar_alloc((size_t)s.rounds, sizeof *out->boxes, "round boxes", err);
  caviar_hparams *best = caviar_alloc((size_t)spec->coarse_to_fine.top_k, sizeof *best, "the zoom", err);
  caviar_space box = {0};
  if (!out->trials || !out->boxes || !best) st = CAVIAR_ERUNTIME;
  if (st == CAVIAR_OK) st = caviar_space_copy(&spec->space, &box, err);
  for (s.round = 0; st == CAVIAR_OK && s.round < s.rounds; s.round++) {
    /* Round r draws trial ids r * per_round ..: from the spec's sampler in round 0, from the
     * zoomed box after. */
    s.count = per_round;
    s.trials = caviar_alloc((size_t)per_round, sizeof *s.trials, "trials", err);
    if (!s.trials) {
      st = CAVIAR_ERUNTIME;
      break;
    }
    for (int i = 0; i < per_round; i++) {
      uint32_t id = (uint32_t)(s.round * per_round + i);
      if (s.round == 0) {
        caviar_sampler_draw(&sampler, id, &s.trials[i]);
      } else {
        s.trials[i] = (caviar_trial){.id = id, .round = s.round};
        caviar_sample_random(&box, &spec->fixed, sweep->seed, id, &s.trials[i].hp);
      }
    }
    st = caviar_space_copy(&box, &out->boxes[s.round], err);
    if (st == CAVIAR_OK) out->n_rounds++;
    if (st == CAVIAR_OK) st = run_round(&s, err);
    free_state(&s);
    if (st == CAVIAR_OK && s.round + 1 < s.rounds) {
      int n = best_so_far(sweep, out, spec->coarse_to_fine.top_k, best);
      st = caviar_zoom(&box, &spec->space, best, n, spec->coarse_to_fine.zoom, err);
    }
  }
  caviar_sampler_free(&sampler);
  caviar_space_free(&box);
  free(best);
  out->wall_seconds = caviar_now() - s.start;
  if (st != CAVIAR_OK) caviar_sweep_result_free(out);
  return st;
}

void caviar_sweep_result_free(caviar_sweep_result *r) {
  for (int i = 0; r->trials && i < r->n_trials; i++) free(r->trials[i].params);
  for (int i = 0; r->boxes && i < r->n_rounds; i++) caviar_space_free(&r->boxes[i]);
  free(r->boxes);
  free(r->trials);
  free(r->curve);
  memset(r, 0, sizeof *r);
}
