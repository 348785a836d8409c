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
#include <unistd.h>

#include "caviar/counter_rng.h"
#include "caviar/trial_json.h"
#include "caviar/zoom.h"
#include "train/sweep_state_internal.h"
#include "train/trainer_internal.h"

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
  free(s->epoch_loss);
  free(s->epoch_diverged);
  free(s->step_s);
  free(s->planned);
  free(s->trained_epochs);
  free(s->steady_s);
  free(s->steady_steps);
  free(s->calibration_s);
  caviar_grouping_free(&s->groups);
  *s = (run_state){.sweep = s->sweep, .result = s->result, .round = s->round, .rounds = s->rounds, .start = s->start,
                   .planned_model_epochs = s->planned_model_epochs, .train_start = s->train_start,
                   .last_report = s->last_report, .best = s->best, .out_of_time = s->out_of_time,
                   .calibrate_steps = s->calibrate_steps, .epochs_run = s->epochs_run,
                   .time_budget_s = s->time_budget_s, .tpe = s->tpe, .prior_wall = s->prior_wall,
                   .last_results = s->last_results};
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
  s->epoch_loss = caviar_alloc(slots, sizeof *s->epoch_loss, "epoch results", err);
  s->epoch_diverged = caviar_alloc(slots, sizeof *s->epoch_diverged, "epoch results", err);
  s->step_s = caviar_alloc((size_t)s->groups.n_cohorts, sizeof *s->step_s, "step timings", err);
  s->calibration_s = caviar_alloc((size_t)s->groups.n_cohorts, sizeof *s->calibration_s, "step timings", err);
  s->planned = caviar_alloc((size_t)s->groups.n_cohorts, sizeof *s->planned, "the ETA", err);
  s->trained_epochs = caviar_alloc((size_t)s->groups.n_cohorts, sizeof *s->trained_epochs, "the ETA", err);
  s->steady_s = caviar_alloc((size_t)s->groups.n_cohorts, sizeof *s->steady_s, "the ETA", err);
  s->steady_steps = caviar_alloc((size_t)s->groups.n_cohorts, sizeof *s->steady_steps, "the ETA", err);
  if (!s->steady_s || !s->steady_steps) return CAVIAR_ERUNTIME;
  if (!s->cohorts || !s->records || !s->order || !s->loss || !s->acc || !s->stats.train_loss || !s->stats.diverged ||
      !s->epoch_loss || !s->epoch_diverged || !s->step_s || !s->calibration_s || !s->planned || !s->trained_epochs)
    return CAVIAR_ERUNTIME;
  for (int i = 0; i < s->count; i++) {
    const caviar_plan *plan = &s->result->plan;
    const caviar_bracket *b = &plan->brackets[caviar_plan_bracket_of(plan, i)];
    s->planned[s->groups.cohort_of[i]] += caviar_bracket_expected_epochs(b, plan->eta, sw->spec->epochs);
  }
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
    t->test_loss = t->test_acc = NAN; /* until the test pass (progressive results say null) */
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

static void report_progress(run_state *s, bool within_epoch);

/* Whether metric value a beats b (NaN never does; anything beats NaN). */
static bool better(const run_state *s, float a, float b) {
  if (isnan(a)) return false;
  if (isnan(b)) return true;
  return s->sweep->spec->metric.name == CAVIAR_METRIC_VAL_ACC ? a > b : a < b;
}

static float metric_of(const run_state *s, const caviar_trial_result *t) {
  return s->sweep->spec->metric.name == CAVIAR_METRIC_VAL_ACC ? t->val_acc : t->val_loss;
}

int caviar_test_chunk_steps = 0;

/* An epoch goes to the backend in this many chunks of whole minibatches, so progress moves within
 * it. The chunks are fixed by the step count alone, never by measured time: the epoch's mean loss
 * is summed chunk by chunk, and timing-dependent chunks would make it (and summary.json) differ
 * in the last bits from one run to the next. */
#define CHUNKS_PER_EPOCH 16
#define REPORT_SECONDS 1.0
/* Steps in a cohort's first chunk, so its speed (the ETA) is known at once. */
#define FIRST_CHUNK_STEPS 2

/* One cohort's epoch, in chunks of whole minibatches: the backend takes exactly the steps one call
 * over the epoch's rows would take, and progress is reported between chunks. The epoch's mean
 * loss and divergence (at its first diverging step) end up in epoch_loss and epoch_diverged. */
static caviar_status train_cohort_epoch(run_state *s, int c, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  caviar_cohort *cohort = &s->cohorts[c];
  size_t batch = (size_t)cohort->shape.batch, steps = sw->data->split.n_train / batch, done = 0;
  for (int slot = 0; slot < cohort->n; slot++) {
    s->epoch_loss[slot] = 0;
    s->epoch_diverged[slot] = 0;
  }
  if (s->train_start == 0) s->train_start = caviar_now();
  do {
    size_t chunk = steps - done, even = (steps + CHUNKS_PER_EPOCH - 1) / CHUNKS_PER_EPOCH;
    if (s->trained_epochs[c] == 0 && chunk > FIRST_CHUNK_STEPS) chunk = FIRST_CHUNK_STEPS;
    else if (chunk > even) chunk = even;
    if (caviar_test_chunk_steps > 0) chunk = steps - done < (size_t)caviar_test_chunk_steps ? steps - done
                                                                                             : (size_t)caviar_test_chunk_steps;
    double t0 = caviar_now();
    caviar_status st =
        caviar_cohort_train(sw->backend, cohort, s->order + done * batch, chunk * batch, &s->stats, err);
    if (st != CAVIAR_OK) return st;
    double took = caviar_now() - t0;
    /* The first chunk a cohort trains pays for warming up (caches, graph capture): the ETA leaves
     * it out once later chunks say better. */
    if (chunk > 0 && s->step_s[c] > 0) {
      s->steady_s[c] += took;
      s->steady_steps[c] += (double)chunk * cohort->n;
    }
    if (chunk > 0) s->step_s[c] = took / ((double)chunk * cohort->n);
    s->trained_epochs[c] += steps ? (double)cohort->n * (double)chunk / (double)steps : 0;
    for (int slot = 0; slot < cohort->n; slot++) {
      if (s->epoch_diverged[slot]) continue;
      if (s->stats.diverged[slot]) {
        s->epoch_diverged[slot] = 1;
        s->epoch_loss[slot] = s->stats.train_loss[slot];
      } else {
        s->epoch_loss[slot] += s->stats.train_loss[slot] * (float)chunk;
      }
    }
    done += chunk;
    double samples = (double)cohort->n * (double)(chunk * batch);
    s->result->model_samples += samples;
    s->epoch_samples_done += samples;
    caviar_fault_point("chunk");
    if (done < steps && (caviar_test_chunk_steps > 0 || caviar_now() - s->last_report >= REPORT_SECONDS))
      report_progress(s, true);
  } while (done < steps);
  for (int slot = 0; slot < cohort->n; slot++)
    if (!s->epoch_diverged[slot]) s->epoch_loss[slot] /= (float)(steps ? steps : 1);
  return CAVIAR_OK;
}

/* Every running member trains one epoch (each at its own epoch count) and is judged on the
 * validation split. */
static caviar_status train_and_judge(run_state *s, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  const caviar_split *split = &sw->data->split;
  memcpy(s->order, split->train, split->n_train * sizeof *s->order);
  caviar_shuffle(s->order, split->n_train, sw->seed, CAVIAR_RNG_SHUFFLE, (uint32_t)s->tick);
  s->epoch_samples = s->epoch_samples_done = 0;
  for (int c = 0; c < s->groups.n_cohorts; c++) {
    size_t batch = (size_t)s->cohorts[c].shape.batch;
    s->epoch_samples += (double)s->cohorts[c].n * (double)(split->n_train / batch * batch);
  }
  for (int c = 0; c < s->groups.n_cohorts; c++) {
    caviar_cohort *cohort = &s->cohorts[c];
    if (cohort->n == 0) continue;
    caviar_status st = train_cohort_epoch(s, c, err);
    if (st == CAVIAR_OK) caviar_cohort_end_epoch(cohort);
    if (st == CAVIAR_OK)
      st = sw->backend->evaluate(sw->backend, cohort, CAVIAR_SET_TRAIN, split->val, split->n_val, s->loss, s->acc, err);
    if (st != CAVIAR_OK) return st;
    for (int slot = 0; slot < cohort->n; slot++) {
      caviar_trial_result *t = &s->result->trials[cohort->trial[slot]];
      t->epochs++;
      t->train_loss = s->epoch_loss[slot];
      t->val_loss = s->loss[slot];
      t->val_acc = s->acc[slot];
      /* A member that diverged (model_math.h says when) is out at once; members never share a
       * reduction, so it cannot have touched anyone else. */
      if (s->epoch_diverged[slot] || caviar_loss_diverged(t->val_loss, cohort->shape.classes))
        t->status = CAVIAR_TRIAL_DIVERGED;
      if (s->tpe) {
        /* Every epoch is a result at that budget; tpe fits the largest budget with enough. */
        double loss = t->status == CAVIAR_TRIAL_DIVERGED ? INFINITY
                      : sw->spec->metric.name == CAVIAR_METRIC_VAL_ACC ? -(double)t->val_acc
                                                                       : (double)t->val_loss;
        st = caviar_tpe_observe(s->tpe, &t->trial.hp, t->epochs, loss, err);
        if (st != CAVIAR_OK) return st;
      }
      if (t->status != CAVIAR_TRIAL_DIVERGED && better(s, metric_of(s, t), s->best))
        s->best = metric_of(s, t);
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
          if (st == CAVIAR_OK && !caviar_params_finite(t->params, cohort->layout.per_member)) {
            t->status = CAVIAR_TRIAL_DIVERGED;
            free(t->params);
            t->params = NULL;
          }
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
    if (n_keep < cohort->n) st = caviar_cohort_compact(s->sweep->backend, cohort, keep, n_keep, err);
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
      caviar_fault_point("test");
    }
    free(loss);
    free(acc);
  }
  return st;
}

/* Seconds left: every cohort's expected member-epochs still to train (at least what its running
 * members need to reach their next rung or the end) at its own measured speed per member-step,
 * plus judging (a forward pass over the validation rows, a third of a step each), plus the rounds
 * still to come at this round's cost. A cohort not timed yet is costed from the timed ones in
 * proportion to its parameters times its batch. < 0 before any cohort is timed. */
static double eta_seconds(const run_state *s) {
  const caviar_sweep *sw = s->sweep;
  const caviar_split *split = &sw->data->split;
  /* Seconds per member-step by cohort: after warm-up where measured; else, if any cohort has been
   * measured after warm-up, in proportion to those; else the warm-up measurements. */
  double per_unit = 0, warm_unit = 0;
  int steady = 0, timed = 0;
  for (int c = 0; c < s->groups.n_cohorts; c++) {
    double size = (double)s->cohorts[c].layout.per_member * s->groups.shapes[c].batch;
    if (s->steady_steps[c] > 0) {
      per_unit += s->steady_s[c] / s->steady_steps[c] / size;
      steady++;
    }
    if (s->step_s[c] > 0) {
      warm_unit += s->step_s[c] / size;
      timed++;
    }
  }
  if (timed == 0) return -1;
  per_unit = steady ? per_unit / steady : warm_unit / timed;
  double left = 0, round_total = 0;
  for (int c = 0; c < s->groups.n_cohorts; c++) {
    const caviar_shape *shape = &s->groups.shapes[c];
    double step = s->steady_steps[c] > 0            ? s->steady_s[c] / s->steady_steps[c]
                  : s->step_s[c] > 0 && steady == 0 ? s->step_s[c]
                                                    : per_unit * (double)s->cohorts[c].layout.per_member * shape->batch;
    double epoch = step * ((double)(split->n_train / (size_t)shape->batch) + (double)split->n_val / shape->batch / 3.0);
    double needed = 0;
    const caviar_cohort *cohort = &s->cohorts[c];
    for (int slot = 0; slot < cohort->n; slot++) {
      const caviar_trial_result *t = &s->result->trials[cohort->trial[slot]];
      if (t->status != CAVIAR_TRIAL_RUNNING) continue;
      const caviar_rungs *rungs = &s->result->plan.brackets[t->bracket].rungs;
      int next = sw->spec->epochs;
      for (int k = 0; k < rungs->n; k++)
        if (rungs->epochs[k] > t->epochs) {
          next = rungs->epochs[k];
          break;
        }
      needed += next - t->epochs;
    }
    left += fmax(needed, s->planned[c] - s->trained_epochs[c]) * epoch;
    round_total += s->planned[c] * epoch;
  }
  return left + (s->rounds - s->round - 1) * round_total;
}

static void report_progress(run_state *s, bool within_epoch) {
  const caviar_sweep *sw = s->sweep;
  if (!sw->progress) return;
  const caviar_sweep_result *r = s->result;
  caviar_progress p = {0};
  bool synchronous = s->population >= s->count;
  double now = caviar_now();
  s->last_report = now;
  p.epoch = s->tick;
  p.epochs = synchronous ? sw->spec->epochs : 0;
  p.within_epoch = within_epoch;
  p.epoch_done = within_epoch && s->epoch_samples > 0 ? s->epoch_samples_done / s->epoch_samples : 0;
  p.round = s->round;
  p.rounds = s->rounds;
  p.rungs = synchronous ? r->rungs.n : 0;
  while (p.rung < r->rungs.n && r->rungs.epochs[p.rung] <= s->tick) p.rung++;
  p.trials = r->n_trials;
  p.budget = s->count * s->rounds;
  p.alive = s->running;
  p.trained = within_epoch ? 0 : s->trained;
  p.metric = sw->spec->metric.name == CAVIAR_METRIC_VAL_ACC ? "val_acc" : "val_loss";
  p.best = s->best;
  p.best_alive = NAN;
  for (int i = 0; i < r->n_trials; i++) {
    const caviar_trial_result *t = &r->trials[i];
    if (t->status == CAVIAR_TRIAL_RUNNING && better(s, metric_of(s, t), p.best_alive)) p.best_alive = metric_of(s, t);
  }
  p.elapsed_s = now - s->start;
  double training = s->train_start > 0 ? now - s->train_start : 0;
  p.model_samples_per_s = training > 0 ? r->model_samples / training : 0;
  p.eta_s = eta_seconds(s);
  if (!within_epoch && s->running == 0 && s->round + 1 >= s->rounds) p.eta_s = 0;
  sw->progress(&p, sw->progress_ctx);
}

/* With a time budget, whether to stop at this epoch boundary: past the budget, or at a rung (any
 * epoch when there are no rungs) when reaching the next rung at the pace so far would pass it. */
static bool out_of_time(const run_state *s) {
  double budget = s->time_budget_s;
  if (budget <= 0 || s->running == 0) return false;
  double now = caviar_now(), elapsed = now - s->start;
  if (elapsed >= budget) return true;
  const caviar_rungs *rungs = &s->result->rungs;
  int k;
  if (rungs->n > 0 && !caviar_is_rung(rungs, s->tick, &k)) return false;
  int next = s->sweep->spec->epochs;
  for (int i = 0; i < rungs->n; i++)
    if (rungs->epochs[i] > s->tick) {
      next = rungs->epochs[i];
      break;
    }
  if (rungs->n == 0) next = s->tick + 1;
  double per_epoch = s->epochs_run > 0 ? (now - s->train_start) / s->epochs_run : 0;
  return elapsed + per_epoch * (next - s->tick) > budget;
}

/* A dry run's calibration: each cohort, filled as the sweep would fill it, trains one warm-up
 * step and then chunks of calibrate_steps steps over the first epoch's shuffled rows until
 * CALIBRATION_SECONDS have passed (or the epoch's rows run out); calibration_s gets the seconds
 * per member-step. */
#define CALIBRATION_SECONDS 0.2
static caviar_status calibrate(run_state *s, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  const caviar_split *split = &sw->data->split;
  memcpy(s->order, split->train, split->n_train * sizeof *s->order);
  caviar_shuffle(s->order, split->n_train, sw->seed, CAVIAR_RNG_SHUFFLE, 0);
  for (int c = 0; c < s->groups.n_cohorts; c++) {
    caviar_cohort *cohort = &s->cohorts[c];
    size_t batch = (size_t)cohort->shape.batch, steps = split->n_train / batch, done = 1;
    s->calibration_s[c] = 0;
    if (cohort->n == 0 || steps < 2) continue;
    caviar_status st = caviar_cohort_train(sw->backend, cohort, s->order, batch, &s->stats, err);
    double t0 = caviar_now(), took = 0;
    while (st == CAVIAR_OK && done < steps && (done == 1 || took < CALIBRATION_SECONDS)) {
      size_t chunk = steps - done < (size_t)s->calibrate_steps ? steps - done : (size_t)s->calibrate_steps;
      st = caviar_cohort_train(sw->backend, cohort, s->order + done * batch, chunk * batch, &s->stats, err);
      done += chunk;
      took = caviar_now() - t0;
    }
    if (st != CAVIAR_OK) return st;
    s->calibration_s[c] = took / ((double)(done - 1) * cohort->n);
  }
  return CAVIAR_OK;
}

/* Trains one round's trials (drawn from box) to the end. */
static caviar_status run_round(run_state *s, const caviar_space *box, caviar_error *err) {
  const caviar_spec *spec = s->sweep->spec;
  caviar_status st = setup_round(s, err);
  if (st == CAVIAR_OK && s->resume_round) st = caviar_state_restore_round(s, err);
  if (st == CAVIAR_OK && s->calibrate_steps > 0) {
    st = fill(s, box, err);
    return st == CAVIAR_OK ? calibrate(s, err) : st;
  }
  while (st == CAVIAR_OK) {
    st = fill(s, box, err);
    if (st != CAVIAR_OK || s->running == 0) break;
    if (s->tick == 0) report_progress(s, false);
    s->trained = s->running;
    st = train_and_judge(s, err);
    if (st == CAVIAR_OK) st = decide(s, err);
    s->tick++;
    if (st == CAVIAR_OK && spec->early_terminate.type == CAVIAR_STOP_PBT && s->tick % spec->early_terminate.interval == 0 &&
        s->tick < spec->epochs)
      st = caviar_pbt_step(s, s->tick, err);
    if (st == CAVIAR_OK) st = compact_all(s, err);
    s->epochs_run++;
    if (st == CAVIAR_OK) report_progress(s, false);
    /* The journal, a snapshot, the results so far; a stop request ends the sweep here. */
    if (st == CAVIAR_OK) st = caviar_state_epoch_end(s, err);
    if (st == CAVIAR_OK && s->result->interrupted) return st;
    if (st == CAVIAR_OK && out_of_time(s)) {
      s->out_of_time = true;
      break;
    }
  }
  if (st == CAVIAR_OK) st = test_survivors(s, err);
  if (st == CAVIAR_OK) st = caviar_state_round_end(s, err);
  return st;
}

static int status_rank(caviar_trial_status s) {
  /* Trials a time budget stopped rank with the culled ones, by how far they got and the metric. */
  return s == CAVIAR_TRIAL_SURVIVED ? 0 : s == CAVIAR_TRIAL_CULLED || s == CAVIAR_TRIAL_RUNNING ? 1 : 3;
}

typedef struct result_ranking {
  const caviar_sweep_result *r;
  bool by_accuracy;
} result_ranking;

/* Survivors, then culled and stopped ones, then diverged; later rungs first (a trial that went
 * further was judged on more training); then the metric, as at every rung. */
static caviar_rank_key result_key(const void *ctx, int i) {
  const result_ranking *k = ctx;
  const caviar_trial_result *t = &k->r->trials[i];
  return caviar_rank_key_of(t->val_loss, t->val_acc, k->by_accuracy, status_rank(t->status), t->epochs, t->trial.id);
}

void caviar_result_order(const caviar_spec *spec, const caviar_sweep_result *r, int *order) {
  result_ranking k = {r, spec->metric.name == CAVIAR_METRIC_VAL_ACC};
  caviar_rank_order(r->n_trials, result_key, &k, order);
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
  /* A minibatch larger than the training split would take no step at all: refused before training. */
  size_t n_train = s->sweep->data->split.n_train;
  for (int i = 0; i < per_round; i++)
    if ((size_t)s->trials[i].hp.batch_size > n_train)
      return caviar_fail(err, CAVIAR_EINPUT,
                         "%s: trial %u: batch_size %d is larger than the training split of %s (%zu examples); lower "
                         "batch_size or data.validation",
                         s->sweep->spec->source, (unsigned)s->trials[i].id, s->trials[i].hp.batch_size,
                         s->sweep->data->train_name, n_train);
  long long population = s->sweep->spec->population;
  s->population = population > 0 && population < per_round ? (int)population : per_round;
  return CAVIAR_OK;
}

/* A dry run's numbers from the first round, set up and calibrated. Every trial is expected to
 * train its bracket's expected epochs at its cohort's measured speed per member-step; judging on
 * the validation split is counted as a forward pass (a third of a step) per validation row. */
static void estimate_from(const run_state *s, caviar_sweep_estimate *e) {
  const caviar_sweep *sw = s->sweep;
  const caviar_split *split = &sw->data->split;
  const caviar_sweep_result *r = s->result;
  e->trials = s->count;
  e->rounds = s->rounds;
  e->population = s->population;
  e->n_cohorts = s->groups.n_cohorts;
  int *capacity = malloc((size_t)(s->groups.n_cohorts > 0 ? s->groups.n_cohorts : 1) * sizeof *capacity);
  if (capacity) {
    for (int c = 0; c < s->groups.n_cohorts; c++) capacity[c] = capacity_of(s, c);
    e->arena_bytes = caviar_population_bytes(s->groups.shapes, capacity, s->groups.n_cohorts);
    free(capacity);
  }
  const caviar_data *d = sw->data;
  double feature_bytes = d->train.x_u8 ? 1.0 : 4.0;
  e->data_bytes = (double)(d->train.n + d->test.n) * ((double)d->train.d * feature_bytes + 4.0);
  e->model_epochs = s->planned_model_epochs;
  double seconds = 0;
  for (int i = 0; i < s->count; i++) {
    int c = s->groups.cohort_of[i];
    size_t batch = (size_t)s->groups.shapes[c].batch;
    double steps = (double)(split->n_train / batch) + (double)split->n_val / (double)batch / 3.0;
    int b = caviar_plan_bracket_of(&r->plan, i);
    double epochs = caviar_bracket_expected_epochs(&r->plan.brackets[b], r->plan.eta, sw->spec->epochs);
    seconds += epochs * steps * s->calibration_s[c];
  }
  e->seconds = seconds * s->rounds;
}

/* A lower bound on the population's memory, before a trial is drawn: every member at the smallest
 * shape the spec's space allows. A population that cannot fit even so is refused at once, not
 * after drawing and grouping millions of trials. */
static caviar_status check_memory_lower_bound(const caviar_sweep *sw, int population, caviar_error *err) {
  const caviar_spec *spec = sw->spec;
  caviar_shape shape = {(int)sw->data->train.d, sw->data->classes, spec->fixed.layers, spec->fixed.hidden,
                        spec->fixed.batch_size};
  for (int i = 0; i < spec->space.n; i++) {
    const caviar_param *p = &spec->space.params[i];
    int *field = p->hp == caviar_hp_find("layers")       ? &shape.layers
                 : p->hp == caviar_hp_find("hidden")     ? &shape.hidden
                 : p->hp == caviar_hp_find("batch_size") ? &shape.batch
                                                         : NULL;
    if (!field) continue;
    double lo, hi;
    caviar_param_support(p, &lo, &hi);
    *field = lo < 1 ? 1 : (int)ceil(lo);
  }
  bool dropout = false;
  return sw->backend->plan(sw->backend, sw->data, &shape, &population, &dropout, 1, err);
}

/* The sweep, or with calibrate_steps > 0 only its first round's setup and calibration, whose
 * estimate goes into *estimate. */
static caviar_status sweep_run(const caviar_sweep *sweep, double time_budget_s, int calibrate_steps,
                               caviar_sweep_result *out, caviar_sweep_estimate *estimate, caviar_error *err) {
  memset(out, 0, sizeof *out);
  const caviar_spec *spec = sweep->spec;
  run_state s = {.sweep = sweep, .result = out, .start = caviar_now(), .best = NAN, .calibrate_steps = calibrate_steps,
                 .time_budget_s = time_budget_s};
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
  long long population = spec->population > 0 && spec->population < per_round ? spec->population : per_round;
  st = check_memory_lower_bound(sweep, (int)population, err);
  if (st != CAVIAR_OK) {
    caviar_sampler_free(&sampler);
    return st;
  }
  /* The trials' own host memory (results, configurations, grouping, learning curves), estimated
   * before any of it is allocated: a huge grid or -n is refused at once, not after minutes. */
  double need = (double)per_round * s.rounds * (double)sizeof(caviar_trial_result) +
                (double)per_round * (double)(sizeof(caviar_trial) + sizeof(caviar_shape) + 4 * sizeof(int) + 1) +
                s.planned_model_epochs * (double)(sizeof(caviar_curve_point) + 3 * sizeof(float));
  double have = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  if (have > 0 && need > 0.8 * have) {
    caviar_sampler_free(&sampler);
    return caviar_fail(err, CAVIAR_EINPUT,
                       "%lld trials need about %.1f GiB of host memory for their results and learning curves, more "
                       "than 80%% of this machine's %.1f GiB: use fewer trials",
                       (long long)per_round * s.rounds, need / (1 << 30), have / (1 << 30));
  }
  out->trials = caviar_alloc((size_t)per_round * (size_t)s.rounds, sizeof *out->trials, "trial results", err);
  out->boxes = caviar_alloc((size_t)s.rounds, sizeof *out->boxes, "round boxes", err);
  caviar_hparams *best = caviar_alloc((size_t)spec->coarse_to_fine.top_k, sizeof *best, "the zoom", err);
  caviar_space box = {0};
  if (!out->trials || !out->boxes || !best) st = CAVIAR_ERUNTIME;
  if (st == CAVIAR_OK) st = caviar_space_copy(&spec->space, &box, err);
  /* Resumed: the results so far come back from the snapshot, and its round is the first one run. */
  int first_round = 0;
  if (st == CAVIAR_OK && calibrate_steps == 0) st = caviar_state_begin(&s, per_round, &first_round, err);
  for (s.round = 0; st == CAVIAR_OK && s.round < s.rounds; s.round++) {
    if (s.round < first_round) {
      /* A finished round: its box, and the zoom its results gave, as they were. */
      st = caviar_space_copy(&box, &out->boxes[s.round], err);
      if (st != CAVIAR_OK) break;
      out->n_rounds++;
      int started = out->n_trials, n;
      out->n_trials = (s.round + 1) * per_round;
      n = best_so_far(sweep, out, spec->coarse_to_fine.top_k, best);
      out->n_trials = started;
      st = caviar_zoom(&box, &spec->space, best, n, spec->coarse_to_fine.zoom, err);
      continue;
    }
    st = draw_round(&s, &sampler, &box, per_round, err);
    if (st == CAVIAR_OK) st = caviar_space_copy(&box, &out->boxes[s.round], err);
    if (st == CAVIAR_OK) out->n_rounds++;
    if (st == CAVIAR_OK) st = run_round(&s, &box, err);
    if (st == CAVIAR_OK && calibrate_steps > 0) {
      estimate_from(&s, estimate);
      free_round(&s);
      break;
    }
    free_round(&s);
    if (s.out_of_time || out->interrupted) break;
    if (st == CAVIAR_OK && s.round + 1 < s.rounds) {
      int n = best_so_far(sweep, out, spec->coarse_to_fine.top_k, best);
      st = caviar_zoom(&box, &spec->space, best, n, spec->coarse_to_fine.zoom, err);
    }
  }
  out->out_of_time = s.out_of_time;
  caviar_sampler_free(&sampler);
  caviar_tpe_free(s.tpe);
  caviar_space_free(&box);
  free(best);
  out->wall_seconds = s.prior_wall + caviar_now() - s.start;
  if (st != CAVIAR_OK || calibrate_steps > 0) caviar_sweep_result_free(out);
  return st;
}

caviar_status caviar_sweep_run(const caviar_sweep *sweep, caviar_sweep_result *out, caviar_error *err) {
  return sweep_run(sweep, 0, 0, out, NULL, err);
}

caviar_status caviar_sweep_run_within(const caviar_sweep *sweep, double time_budget_s, caviar_sweep_result *out,
                                      caviar_error *err) {
  return sweep_run(sweep, time_budget_s, 0, out, NULL, err);
}

/* Steps per call in a dry run's calibration (after one warm-up step). */
#define CALIBRATION_STEPS 4

caviar_status caviar_sweep_estimate_run(const caviar_sweep *sweep, caviar_sweep_estimate *out, caviar_error *err) {
  caviar_sweep_result result;
  memset(out, 0, sizeof *out);
  double t0 = caviar_now();
  caviar_status st = sweep_run(sweep, 0, CALIBRATION_STEPS, &result, out, err);
  out->calibration_s = caviar_now() - t0;
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
