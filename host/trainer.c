/* A sweep end to end. Trials are drawn up front (per coarse-to-fine round), grouped into cohorts
 * by shape, and trained by the population: at most `population` at once, epoch by epoch, freed
 * slots refilled at once from the trials still to start. After every epoch each member is judged
 * on the validation split; one that reaches a rung of its bracket goes on only if it is in the top
 * 1/eta of everyone in its bracket who reached that rung so far (asynchronous successive halving;
 * when the whole population starts together this is exactly synchronous successive halving), one
 * that reaches the last epoch is kept as a survivor, and PBT exploits and explores at its
 * interval. Survivors are evaluated once on the test split at the end. */
#include "caviar/trainer.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caviar/counter_rng.h"
#include "caviar/trial_json.h"
#include "caviar/zoom.h"
#include "trainer_internal.h"

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

static void free_round(run_state *s) {
  for (int c = 0; c < s->n_allocated; c++) {
    s->sweep->backend->cohort_free(s->sweep->backend, &s->cohorts[c]);
    caviar_cohort_free(&s->cohorts[c]);
  }
  for (int i = 0; s->records && i < s->result->plan.n_brackets * CAVIAR_MAX_RUNGS; i++) {
    free(s->records[i].loss);
    free(s->records[i].acc);
    free(s->records[i].trial);
  }
  free(s->records);
  free(s->cohorts);
  free(s->trials);
  free(s->order);
  free(s->loss);
  free(s->acc);
  free(s->stats.train_loss);
  free(s->stats.diverged);
  caviar_grouping_free(&s->groups);
  *s = (run_state){.sweep = s->sweep, .result = s->result, .round = s->round, .rounds = s->rounds, .start = s->start,
                   .planned_model_epochs = s->planned_model_epochs, .tpe = s->tpe};
}

/* Whether tpe proposes this round's trials: only where results can exist when a trial starts (a
 * refilled population, or a round after the first). Otherwise the drawn (sobol) trials stand. */
static bool proposes(const run_state *s) { return s->tpe && (s->round > 0 || s->population < s->count); }

/* Each cohort holds at most min(population, trials of its shape) members at once; where tpe
 * proposes, whose proposals may pick any of the round's shapes, the whole population. */
static int capacity_of(const run_state *s, int c) {
  if (proposes(s)) return s->population;
  return s->groups.members[c] < s->population ? s->groups.members[c] : s->population;
}

/* Asks the backend whether the whole population fits before anything is allocated. */
static caviar_status check_memory(const run_state *s, caviar_error *err) {
  int n = s->groups.n_cohorts;
  bool *dropout = caviar_alloc((size_t)n, sizeof *dropout, "the memory plan", err);
  int *capacity = caviar_alloc((size_t)n, sizeof *capacity, "the memory plan", err);
  caviar_status st = dropout && capacity ? CAVIAR_OK : CAVIAR_ERUNTIME;
  for (int i = 0; st == CAVIAR_OK && i < s->count; i++)
    if (s->trials[i].hp.dropout > 0) dropout[s->groups.cohort_of[i]] = true;
  /* tpe may propose dropout for any shape. */
  bool any_dropout = proposes(s) && caviar_space_find(&s->sweep->spec->space, "dropout");
  for (int c = 0; st == CAVIAR_OK && any_dropout && c < n; c++) dropout[c] = true;
  for (int c = 0; st == CAVIAR_OK && c < n; c++) capacity[c] = capacity_of(s, c);
  if (st == CAVIAR_OK)
    st = s->sweep->backend->plan(s->sweep->backend, s->sweep->data, s->groups.shapes, capacity, dropout, n, err);
  free(dropout);
  free(capacity);
  return st;
}

/* Groups the round's trials by shape and allocates a cohort per shape. */
static caviar_status setup_round(run_state *s, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  caviar_status st = caviar_group_trials(s->trials, s->count, (int)sw->data->train.d, sw->data->classes, &s->groups, err);
  if (st == CAVIAR_OK) st = check_memory(s, err);
  if (st != CAVIAR_OK) return st;
  for (int c = 0; c < s->groups.n_cohorts; c++)
    if (capacity_of(s, c) > s->max_capacity) s->max_capacity = capacity_of(s, c);
  size_t slots = (size_t)s->max_capacity, n_records = (size_t)s->result->plan.n_brackets * CAVIAR_MAX_RUNGS;
  size_t rows = sw->data->split.n_train > sw->data->test.n ? sw->data->split.n_train : sw->data->test.n;
  s->cohorts = caviar_alloc((size_t)s->groups.n_cohorts, sizeof *s->cohorts, "cohorts", err);
  s->records = caviar_alloc(n_records, sizeof *s->records, "rung records", err);
  s->order = caviar_alloc(rows, sizeof *s->order, "the minibatch order", err);
  s->loss = caviar_alloc(slots, sizeof *s->loss, "evaluation results", err);
  s->acc = caviar_alloc(slots, sizeof *s->acc, "evaluation results", err);
  s->stats.train_loss = caviar_alloc(slots, sizeof *s->stats.train_loss, "epoch results", err);
  s->stats.diverged = caviar_alloc(slots, sizeof *s->stats.diverged, "epoch results", err);
  if (!s->cohorts || !s->records || !s->order || !s->loss || !s->acc || !s->stats.train_loss || !s->stats.diverged)
    return CAVIAR_ERUNTIME;
  st = sw->backend->upload(sw->backend, sw->data, err);
  for (int c = 0; st == CAVIAR_OK && c < s->groups.n_cohorts; c++) {
    caviar_cohort *cohort = &s->cohorts[c];
    st = caviar_cohort_init(cohort, &s->groups.shapes[c], capacity_of(s, c), sw->seed, err);
    if (st != CAVIAR_OK) break;
    st = sw->backend->cohort_alloc(sw->backend, cohort, err);
    if (st != CAVIAR_OK) {
      caviar_cohort_free(cohort);
      break;
    }
    s->n_allocated++;
  }
  return st;
}

/* tpe: trial i's config is proposed now, from every result so far, with the trials still training
 * as pending (constant liar). Its shape must be one of the round's cohorts; a proposal of another
 * shape keeps the drawn trial's shape. Until the model has enough results, the drawn (sobol)
 * config stands. */
static caviar_status propose(run_state *s, int i, const caviar_space *box, caviar_error *err) {
  caviar_hparams *pending = caviar_alloc((size_t)s->population + 1, sizeof *pending, "tpe's pending trials", err);
  if (!pending) return CAVIAR_ERUNTIME;
  int n_pending = 0;
  for (int k = 0; k < i && n_pending < s->population; k++)
    if (s->result->trials[s->trials[k].id].status == CAVIAR_TRIAL_RUNNING) pending[n_pending++] = s->trials[k].hp;
  caviar_hparams hp;
  if (caviar_tpe_propose(s->tpe, box, &s->sweep->spec->fixed, s->trials[i].id, pending, n_pending, &hp)) {
    int c = 0;
    while (c < s->groups.n_cohorts && !(s->groups.shapes[c].layers == hp.layers && s->groups.shapes[c].hidden == hp.hidden &&
                                        s->groups.shapes[c].batch == hp.batch_size))
      c++;
    if (c == s->groups.n_cohorts) {
      hp.layers = s->trials[i].hp.layers;
      hp.hidden = s->trials[i].hp.hidden;
      hp.batch_size = s->trials[i].hp.batch_size;
      c = s->groups.cohort_of[i];
    }
    s->trials[i].hp = hp;
    s->groups.cohort_of[i] = c;
  }
  free(pending);
  return CAVIAR_OK;
}

/* Starts trials while the population has room: each joins its shape's cohort with fresh weights. */
static caviar_status fill(run_state *s, const caviar_space *box, caviar_error *err) {
  caviar_sweep_result *r = s->result;
  while (s->running < s->population && s->next < s->count) {
    int i = s->next++;
    if (proposes(s)) {
      caviar_status st = propose(s, i, box, err);
      if (st != CAVIAR_OK) return st;
    }
    caviar_cohort *cohort = &s->cohorts[s->groups.cohort_of[i]];
    caviar_trial_result *t = &r->trials[s->trials[i].id];
    memset(t, 0, sizeof *t);
    t->trial = s->trials[i];
    t->shape = cohort->shape;
    t->bracket = caviar_plan_bracket_of(&r->plan, i);
    t->val_loss = t->val_acc = t->train_loss = NAN;
    t->status = CAVIAR_TRIAL_RUNNING;
    r->n_trials++;
    int slot = cohort->n;
    /* A cohort holds min(population, trials of its shape): the running count bounds it. */
    assert(slot < cohort->layout.capacity);
    caviar_cohort_add(cohort, &s->trials[i]);
    caviar_status st = s->sweep->backend->init_members(s->sweep->backend, cohort, slot, 1, err);
    if (st != CAVIAR_OK) return st;
    s->running++;
    if (s->sweep->spec->early_terminate.type == CAVIAR_STOP_PBT) {
      char params[2048];
      caviar_hparams_json(&t->trial.hp, params, sizeof params);
      cJSON *start = cJSON_CreateObject();
      cJSON_AddNumberToObject(start, "epoch", 0);
      cJSON_AddNullToObject(start, "from");
      cJSON_AddItemToObject(start, "params", cJSON_Parse(params));
      t->lineage = cJSON_CreateArray();
      cJSON_AddItemToArray(t->lineage, start);
    }
  }
  return CAVIAR_OK;
}

static caviar_status add_curve_point(caviar_sweep_result *r, const caviar_trial_result *t, caviar_error *err) {
  if (r->n_curve == r->cap_curve) {
    size_t cap = r->cap_curve ? 2 * r->cap_curve : 1024;
    caviar_curve_point *grown = realloc(r->curve, cap * sizeof *grown);
    if (!grown) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory recording learning curves");
    r->curve = grown;
    r->cap_curve = cap;
  }
  r->curve[r->n_curve++] = (caviar_curve_point){t->trial.id, t->epochs, t->train_loss, t->val_loss, t->val_acc};
  return CAVIAR_OK;
}

/* Every running member trains one epoch (each at its own epoch count) and is judged on the
 * validation split. */
static caviar_status train_and_judge(run_state *s, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  const caviar_split *split = &sw->data->split;
  memcpy(s->order, split->train, split->n_train * sizeof *s->order);
  caviar_shuffle(s->order, split->n_train, sw->seed, CAVIAR_RNG_SHUFFLE, (uint32_t)s->tick);
  for (int c = 0; c < s->groups.n_cohorts; c++) {
    caviar_cohort *cohort = &s->cohorts[c];
    if (cohort->n == 0) continue;
    for (int slot = 0; slot < cohort->n; slot++) cohort->epochs[slot] = s->result->trials[cohort->trial[slot]].epochs;
    caviar_status st = sw->backend->train_epoch(sw->backend, cohort, s->order, split->n_train, &s->stats, err);
    if (st == CAVIAR_OK)
      st = sw->backend->evaluate(sw->backend, cohort, CAVIAR_SET_TRAIN, split->val, split->n_val, s->loss, s->acc, err);
    if (st != CAVIAR_OK) return st;
    size_t steps = split->n_train / (size_t)cohort->shape.batch;
    s->result->model_samples += (double)cohort->n * (double)(steps * (size_t)cohort->shape.batch);
    for (int slot = 0; slot < cohort->n; slot++) {
      caviar_trial_result *t = &s->result->trials[cohort->trial[slot]];
      t->epochs++;
      t->train_loss = s->stats.train_loss[slot];
      t->val_loss = s->loss[slot];
      t->val_acc = s->acc[slot];
      /* A member that diverged (model_math.h says when) is out at once; members never share a
       * reduction, so it cannot have touched anyone else. */
      if (s->stats.diverged[slot] || caviar_loss_diverged(t->val_loss, cohort->shape.classes))
        t->status = CAVIAR_TRIAL_DIVERGED;
      if (s->tpe) {
        /* Every epoch is a result at that budget; tpe fits the largest budget with enough. */
        double loss = t->status == CAVIAR_TRIAL_DIVERGED ? INFINITY
                      : sw->spec->metric.name == CAVIAR_METRIC_VAL_ACC ? -(double)t->val_acc
                                                                       : (double)t->val_loss;
        st = caviar_tpe_observe(s->tpe, &t->trial.hp, t->epochs, loss, err);
        if (st != CAVIAR_OK) return st;
      }
      st = add_curve_point(s->result, t, err);
      if (st != CAVIAR_OK) return st;
    }
  }
  return CAVIAR_OK;
}

static caviar_status record(rung_record *rec, const caviar_trial_result *t, caviar_error *err) {
  if (rec->n == rec->cap) {
    int cap = rec->cap ? 2 * rec->cap : 64;
    float *loss = realloc(rec->loss, (size_t)cap * sizeof *loss);
    if (loss) rec->loss = loss;
    float *acc = realloc(rec->acc, (size_t)cap * sizeof *acc);
    if (acc) rec->acc = acc;
    uint32_t *trial = realloc(rec->trial, (size_t)cap * sizeof *trial);
    if (trial) rec->trial = trial;
    if (!loss || !acc || !trial) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory recording a rung");
    rec->cap = cap;
  }
  rec->loss[rec->n] = t->val_loss;
  rec->acc[rec->n] = t->val_acc;
  rec->trial[rec->n] = t->trial.id;
  rec->n++;
  return CAVIAR_OK;
}

/* Whether `trial` is in the top max(1, n / eta) of everyone recorded at the rung. */
static caviar_status promoted(const run_state *s, const rung_record *rec, uint32_t trial, bool *out,
                              caviar_error *err) {
  int *order = caviar_alloc((size_t)rec->n, sizeof *order, "a rung", err);
  if (!order) return CAVIAR_ERUNTIME;
  caviar_rank(rec->loss, rec->acc, rec->trial, rec->n, s->sweep->spec->metric.name == CAVIAR_METRIC_VAL_ACC, order);
  int keep = caviar_rung_keep(rec->n, s->result->plan.eta);
  *out = false;
  for (int k = 0; k < keep && !*out; k++) *out = rec->trial[order[k]] == trial;
  free(order);
  return CAVIAR_OK;
}

/* Rungs and the end: first every member that reached a rung is recorded there, so members arriving
 * together are judged together; then each is promoted or culled; members at the last epoch keep
 * their weights as survivors. */
static caviar_status decide(run_state *s, caviar_error *err) {
  caviar_sweep_result *r = s->result;
  for (int pass = 0; pass < 2; pass++) {
    for (int c = 0; c < s->groups.n_cohorts; c++) {
      caviar_cohort *cohort = &s->cohorts[c];
      for (int slot = 0; slot < cohort->n; slot++) {
        caviar_trial_result *t = &r->trials[cohort->trial[slot]];
        if (t->status != CAVIAR_TRIAL_RUNNING) continue;
        int rung;
        const caviar_rungs *rungs = &r->plan.brackets[t->bracket].rungs;
        rung_record *rec = &s->records[t->bracket * CAVIAR_MAX_RUNGS];
        caviar_status st = CAVIAR_OK;
        if (t->epochs >= s->sweep->spec->epochs) {
          if (pass == 0) continue;
          t->status = CAVIAR_TRIAL_SURVIVED;
          t->params = caviar_alloc(cohort->layout.per_member, sizeof(float), "a survivor's parameters", err);
          st = t->params ? s->sweep->backend->read_arena(s->sweep->backend, cohort, CAVIAR_ARENA_PARAMS, slot,
                                                         t->params, err)
                         : CAVIAR_ERUNTIME;
        } else if (caviar_is_rung(rungs, t->epochs, &rung)) {
          if (pass == 0) {
            st = record(&rec[rung], t, err);
          } else {
            bool up;
            st = promoted(s, &rec[rung], t->trial.id, &up, err);
            if (st == CAVIAR_OK && !up) t->status = CAVIAR_TRIAL_CULLED;
          }
        }
        if (st != CAVIAR_OK) return st;
      }
    }
  }
  return CAVIAR_OK;
}

/* Drops every slot whose trial stopped running, so the next epoch's work really shrinks. */
static caviar_status compact_all(run_state *s, caviar_error *err) {
  int *keep = caviar_alloc((size_t)s->max_capacity + 1, sizeof *keep, "compaction", err);
  if (!keep) return CAVIAR_ERUNTIME;
  caviar_status st = CAVIAR_OK;
  s->running = 0;
  for (int c = 0; st == CAVIAR_OK && c < s->groups.n_cohorts; c++) {
    caviar_cohort *cohort = &s->cohorts[c];
    int n_keep = 0;
    for (int slot = 0; slot < cohort->n; slot++)
      if (s->result->trials[cohort->trial[slot]].status == CAVIAR_TRIAL_RUNNING) keep[n_keep++] = slot;
    if (n_keep < cohort->n) st = s->sweep->backend->compact(s->sweep->backend, cohort, keep, n_keep, err);
    s->running += n_keep;
  }
  free(keep);
  return st;
}

/* The round's survivors, once, on the test split: their saved weights in fresh cohorts by shape. */
static caviar_status test_survivors(run_state *s, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  caviar_sweep_result *r = s->result;
  size_t n_test = sw->data->test.n;
  for (size_t i = 0; i < n_test; i++) s->order[i] = (uint32_t)i;
  caviar_status st = CAVIAR_OK;
  for (int c = 0; st == CAVIAR_OK && c < s->groups.n_cohorts; c++) {
    int n = 0;
    for (int i = 0; i < s->count; i++)
      n += s->groups.cohort_of[i] == c && r->trials[s->trials[i].id].status == CAVIAR_TRIAL_SURVIVED;
    if (n == 0) continue;
    caviar_cohort cohort;
    float *loss = caviar_alloc((size_t)n, sizeof *loss, "test results", err);
    float *acc = caviar_alloc((size_t)n, sizeof *acc, "test results", err);
    st = loss && acc ? caviar_cohort_init(&cohort, &s->groups.shapes[c], n, sw->seed, err) : CAVIAR_ERUNTIME;
    if (st == CAVIAR_OK) {
      for (int i = 0; i < s->count; i++) {
        const caviar_trial_result *t = &r->trials[s->trials[i].id];
        if (s->groups.cohort_of[i] == c && t->status == CAVIAR_TRIAL_SURVIVED) caviar_cohort_add(&cohort, &t->trial);
      }
      st = sw->backend->cohort_alloc(sw->backend, &cohort, err);
      for (int slot = 0; st == CAVIAR_OK && slot < cohort.n; slot++)
        st = sw->backend->write_arena(sw->backend, &cohort, CAVIAR_ARENA_PARAMS, slot, r->trials[cohort.trial[slot]].params,
                                      err);
      if (st == CAVIAR_OK)
        st = sw->backend->evaluate(sw->backend, &cohort, CAVIAR_SET_TEST, s->order, n_test, loss, acc, err);
      for (int slot = 0; st == CAVIAR_OK && slot < cohort.n; slot++) {
        r->trials[cohort.trial[slot]].test_loss = loss[slot];
        r->trials[cohort.trial[slot]].test_acc = acc[slot];
      }
      sw->backend->cohort_free(sw->backend, &cohort);
      caviar_cohort_free(&cohort);
    }
    free(loss);
    free(acc);
  }
  return st;
}

static void report_progress(const run_state *s) {
  const caviar_sweep *sw = s->sweep;
  if (!sw->progress) return;
  const caviar_sweep_result *r = s->result;
  caviar_progress p = {0};
  bool synchronous = s->population >= s->count;
  p.epoch = s->tick;
  p.epochs = synchronous ? sw->spec->epochs : 0;
  p.round = s->round;
  p.rounds = s->rounds;
  p.rungs = synchronous ? r->rungs.n : 0;
  while (p.rung < r->rungs.n && r->rungs.epochs[p.rung] <= s->tick) p.rung++;
  p.trials = r->n_trials;
  p.budget = s->count * s->rounds;
  p.alive = s->running;
  p.trained = s->trained;
  p.best_val_acc = NAN;
  for (int i = 0; i < r->n_trials; i++) {
    const caviar_trial_result *t = &r->trials[i];
    if (t->status != CAVIAR_TRIAL_DIVERGED && (isnan(p.best_val_acc) || t->val_acc > p.best_val_acc))
      p.best_val_acc = t->val_acc;
  }
  p.elapsed_s = caviar_now() - s->start;
  p.model_samples_per_s = p.elapsed_s > 0 ? r->model_samples / p.elapsed_s : 0;
  double done = r->model_samples / (double)sw->data->split.n_train;
  p.eta_s = done > 0 ? fmax(0, s->planned_model_epochs - done) * p.elapsed_s / done : 0;
  sw->progress(&p, sw->progress_ctx);
}

/* Trains one round's trials (drawn from box) to the end. */
static caviar_status run_round(run_state *s, const caviar_space *box, caviar_error *err) {
  const caviar_spec *spec = s->sweep->spec;
  caviar_status st = setup_round(s, err);
  while (st == CAVIAR_OK) {
    st = fill(s, box, err);
    if (st != CAVIAR_OK || s->running == 0) break;
    if (s->tick == 0) report_progress(s);
    s->trained = s->running;
    st = train_and_judge(s, err);
    if (st == CAVIAR_OK) st = decide(s, err);
    s->tick++;
    if (st == CAVIAR_OK && spec->early_terminate.type == CAVIAR_STOP_PBT && s->tick % spec->early_terminate.interval == 0 &&
        s->tick < spec->epochs)
      st = caviar_pbt_step(s, s->tick, err);
    if (st == CAVIAR_OK) st = compact_all(s, err);
    if (st == CAVIAR_OK) report_progress(s);
  }
  if (st == CAVIAR_OK) st = test_survivors(s, err);
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

/* Round r's trials, ids r * per_round ..: the spec's sampler in round 0, the zoomed box after. */
static caviar_status draw_round(run_state *s, caviar_sampler *sampler, const caviar_space *box, int per_round,
                                caviar_error *err) {
  s->count = per_round;
  s->trials = caviar_alloc((size_t)per_round, sizeof *s->trials, "trials", err);
  if (!s->trials) return CAVIAR_ERUNTIME;
  for (int i = 0; i < per_round; i++) {
    uint32_t id = (uint32_t)(s->round * per_round + i);
    if (s->round == 0) {
      caviar_sampler_draw(sampler, id, &s->trials[i]);
    } else {
      s->trials[i] = (caviar_trial){.id = id, .round = s->round};
      caviar_sample_random(box, &s->sweep->spec->fixed, s->sweep->seed, id, &s->trials[i].hp);
    }
  }
  long long population = s->sweep->spec->population;
  s->population = population > 0 && population < per_round ? (int)population : per_round;
  return CAVIAR_OK;
}

caviar_status caviar_sweep_run(const caviar_sweep *sweep, caviar_sweep_result *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  const caviar_spec *spec = sweep->spec;
  run_state s = {.sweep = sweep, .result = out, .start = caviar_now()};
  s.rounds = spec->rounds > 0 ? spec->rounds : 1;
  caviar_rungs_make(&spec->early_terminate, &out->rungs);
  caviar_plan_make(&spec->early_terminate, spec->trials, &out->plan);
  bool hyperband = spec->early_terminate.type == CAVIAR_STOP_HYPERBAND;
  long long count = hyperband && sweep->trials < 0 ? caviar_plan_trials(&out->plan) : sweep->trials;
  if (hyperband && sweep->trials >= 0 && sweep->trials != caviar_plan_trials(&out->plan))
    return caviar_fail(err, CAVIAR_EINPUT, "hyperband's brackets hold %lld trials; -n cannot change that",
                       caviar_plan_trials(&out->plan));
  caviar_sampler sampler;
  caviar_status st = caviar_sampler_init(&sampler, spec, sweep->seed, count, err);
  if (st != CAVIAR_OK) return st;
  if (spec->method == CAVIAR_METHOD_TPE) st = caviar_tpe_new(&spec->tpe, sweep->seed, &s.tpe, err);
  if (st != CAVIAR_OK) {
    caviar_sampler_free(&sampler);
    return st;
  }
  int per_round = (int)sampler.count;
  if (!hyperband) caviar_plan_make(&spec->early_terminate, per_round, &out->plan);
  for (int b = 0; b < out->plan.n_brackets; b++)
    s.planned_model_epochs += s.rounds * out->plan.brackets[b].trials *
                              caviar_bracket_expected_epochs(&out->plan.brackets[b], out->plan.eta, spec->epochs);
  out->trials = caviar_alloc((size_t)per_round * (size_t)s.rounds, sizeof *out->trials, "trial results", err);
  out->boxes = caviar_alloc((size_t)s.rounds, sizeof *out->boxes, "round boxes", err);
  caviar_hparams *best = caviar_alloc((size_t)spec->coarse_to_fine.top_k, sizeof *best, "the zoom", err);
  caviar_space box = {0};
  if (!out->trials || !out->boxes || !best) st = CAVIAR_ERUNTIME;
  if (st == CAVIAR_OK) st = caviar_space_copy(&spec->space, &box, err);
  for (s.round = 0; st == CAVIAR_OK && s.round < s.rounds; s.round++) {
    st = draw_round(&s, &sampler, &box, per_round, err);
    if (st == CAVIAR_OK) st = caviar_space_copy(&box, &out->boxes[s.round], err);
    if (st == CAVIAR_OK) out->n_rounds++;
    if (st == CAVIAR_OK) st = run_round(&s, &box, err);
    free_round(&s);
    if (st == CAVIAR_OK && s.round + 1 < s.rounds) {
      int n = best_so_far(sweep, out, spec->coarse_to_fine.top_k, best);
      st = caviar_zoom(&box, &spec->space, best, n, spec->coarse_to_fine.zoom, err);
    }
  }
  caviar_sampler_free(&sampler);
  caviar_tpe_free(s.tpe);
  caviar_space_free(&box);
  free(best);
  out->wall_seconds = caviar_now() - s.start;
  if (st != CAVIAR_OK) caviar_sweep_result_free(out);
  return st;
}

void caviar_sweep_result_free(caviar_sweep_result *r) {
  for (int i = 0; r->trials && i < r->n_trials; i++) {
    free(r->trials[i].params);
    cJSON_Delete(r->trials[i].lineage);
  }
  for (int i = 0; r->boxes && i < r->n_rounds; i++) caviar_space_free(&r->boxes[i]);
  free(r->boxes);
  free(r->trials);
  free(r->curve);
  memset(r, 0, sizeof *r);
}
