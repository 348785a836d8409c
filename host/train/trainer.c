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
#include <limits.h>
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

const char *caviar_trial_status_name(caviar_trial_status status) {
  static const char *const names[] = {"running", "survived", "culled", "diverged", "failed"};
  return names[status];
}

static void free_round(run_state *s) {
  for (int c = 0; c < s->work.n_allocated; c++) {
    caviar_cohort_release(s->sweep->backend, &s->work.cohorts[c]);
    caviar_cohort_free(&s->work.cohorts[c]);
  }
  for (int i = 0; s->sched.records && i < s->result->brackets.n_brackets * CAVIAR_MAX_RUNGS; i++)
    caviar_rung_record_free(&s->sched.records[i]);
  free(s->sched.records);
  free(s->work.cohorts);
  free(s->sched.trials);
  free(s->work.order);
  free(s->work.loss);
  free(s->work.acc);
  free(s->work.stats.train_loss);
  free(s->work.stats.diverged);
  free(s->work.epoch_loss);
  free(s->work.epoch_diverged);
  free(s->work.keep);
  free(s->prog.step_s);
  free(s->prog.planned);
  free(s->prog.trained_epochs);
  free(s->prog.steady_s);
  free(s->prog.steady_steps);
  free(s->prog.cohort_done);
  free(s->prog.left);
  free(s->prog.alive_in);
  free(s->prog.unstarted);
  free(s->work.calibration_s);
  free(s->rank.owner);
  free(s->sched.live);
  free(s->rank.cohort_started);
  free(s->rank.results);
  free(s->rank.cohort_cost);
  caviar_grouping_free(&s->work.groups);
  /* What lasts across rounds stays; the round's own state starts empty. */
  const run_schedule sched = s->sched;
  const run_progress prog = s->prog;
  const run_ranks rank = s->rank;
  const int calibrate_steps = s->work.calibrate_steps;
  *s = (run_state){.sweep = s->sweep, .result = s->result};
  s->sched = (run_schedule){.round = sched.round, .rounds = sched.rounds, .tpe = sched.tpe,
                            .time_budget_s = sched.time_budget_s, .out_of_time = sched.out_of_time,
                            .best = sched.best, .at_target = sched.at_target};
  s->work.calibrate_steps = calibrate_steps;
  s->prog = (run_progress){.start = prog.start, .planned_model_epochs = prog.planned_model_epochs,
                           .train_start = prog.train_start, .samples_at_start = prog.samples_at_start,
                           .epochs_at_start = prog.epochs_at_start, .epochs_run = prog.epochs_run,
                           .last_report = prog.last_report, .prior_wall = prog.prior_wall,
                           .last_results = prog.last_results, .results_s = prog.results_s,
                           .results_trials = prog.results_trials};
  s->rank = (run_ranks){.synced_samples = rank.synced_samples, .busy_s = rank.busy_s, .members = rank.members,
                        .member_epochs = rank.member_epochs, .cost = rank.cost, .copies_in = rank.copies_in,
                        .moved_in = rank.moved_in};
}

/* Whether tpe proposes this round's trials: only where results can exist when a trial starts (a
 * refilled population, or a round after the first). Otherwise the drawn (sobol) trials stand. */
static bool proposes(const run_state *s) { return s->sched.tpe && (s->sched.round > 0 || s->sched.population < s->sched.count); }

/* Each cohort holds at most min(population, trials of its shape) members at once; where tpe
 * proposes, whose proposals may pick any of the round's shapes, the whole population. */
static int capacity_of(const run_state *s, int c) {
  if (proposes(s)) return s->sched.population;
  return s->work.groups.members[c] < s->sched.population ? s->work.groups.members[c] : s->sched.population;
}

/* A rank's share of it: the ranks together hold every member a cohort can have at once. */
static int rank_capacity_of(const run_state *s, int c) {
  int size = caviar_world_size(s->sweep->world);
  return (capacity_of(s, c) + size - 1) / size;
}

/* Asks the backend whether the whole population fits before anything is allocated. */
static caviar_status check_memory(const run_state *s, caviar_error *err) {
  int n = s->work.groups.n_cohorts;
  bool *dropout = caviar_alloc((size_t)n, sizeof *dropout, "the memory plan", err);
  int *capacity = caviar_alloc((size_t)n, sizeof *capacity, "the memory plan", err);
  caviar_status st = dropout && capacity ? CAVIAR_OK : CAVIAR_ERUNTIME;
  for (int i = 0; st == CAVIAR_OK && i < s->sched.count; i++)
    if (s->sched.trials[i].hp.dropout > 0 || caviar_activation_keeps_input(s->sched.trials[i].hp.activation))
      dropout[s->work.groups.cohort_of[i]] = true; /* the plan's "dropout": a separate next-layer input */
  /* tpe may propose dropout, or an activation that keeps its input, for any shape. */
  bool any_dropout = proposes(s) && (caviar_space_find(&s->sweep->spec->space, "dropout") ||
                                     caviar_space_find(&s->sweep->spec->space, "activation"));
  for (int c = 0; st == CAVIAR_OK && any_dropout && c < n; c++) dropout[c] = true;
  for (int c = 0; st == CAVIAR_OK && c < n; c++) capacity[c] = rank_capacity_of(s, c);
  if (st == CAVIAR_OK)
    st = s->sweep->backend->plan(s->sweep->backend, s->sweep->data, s->work.groups.shapes, capacity, dropout, n,
                                 s->sweep->spec->keep == CAVIAR_KEEP_BEST, err);
  free(dropout);
  free(capacity);
  return st;
}

/* Members a dry run trains per cohort, at most: its speed per member-step is what it measures, and
 * a million members would take minutes to set up. */
#define CALIBRATION_MEMBERS 4096

/* Groups the round's trials by shape and allocates a cohort per shape. */
static caviar_status setup_round(run_state *s, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  caviar_status st = caviar_group_trials(s->sched.trials, s->sched.count, caviar_data_dims(sw->data), sw->data->classes, &s->work.groups, err);
  /* A model kind the backend lacks is refused before anything is allocated or trained. */
  for (int c = 0; st == CAVIAR_OK && c < s->work.groups.n_cohorts; c++) {
    caviar_arch arch;
    caviar_arch_of(&s->work.groups.shapes[c], &arch);
    st = caviar_backend_check_arch(sw->backend, &arch, sw->spec->source, err);
  }
  if (st == CAVIAR_OK) st = check_memory(s, err);
  if (st != CAVIAR_OK) return st;
  for (int c = 0; c < s->work.groups.n_cohorts; c++)
    if (rank_capacity_of(s, c) > s->work.max_capacity) s->work.max_capacity = rank_capacity_of(s, c);
  size_t slots = (size_t)s->work.max_capacity, n_records = (size_t)s->result->brackets.n_brackets * CAVIAR_MAX_RUNGS;
  size_t rows = sw->data->split.n_train > sw->data->test.n ? sw->data->split.n_train : sw->data->test.n;
  s->work.cohorts = caviar_alloc((size_t)s->work.groups.n_cohorts, sizeof *s->work.cohorts, "cohorts", err);
  s->sched.records = caviar_alloc(n_records, sizeof *s->sched.records, "rung records", err);
  s->work.order = caviar_alloc(rows, sizeof *s->work.order, "the minibatch order", err);
  s->work.loss = caviar_alloc(slots, sizeof *s->work.loss, "evaluation results", err);
  s->work.acc = caviar_alloc(slots, sizeof *s->work.acc, "evaluation results", err);
  s->work.stats.train_loss = caviar_alloc(slots, sizeof *s->work.stats.train_loss, "epoch results", err);
  s->work.stats.diverged = caviar_alloc(slots, sizeof *s->work.stats.diverged, "epoch results", err);
  s->work.epoch_loss = caviar_alloc(slots, sizeof *s->work.epoch_loss, "epoch results", err);
  s->work.epoch_diverged = caviar_alloc(slots, sizeof *s->work.epoch_diverged, "epoch results", err);
  s->prog.step_s = caviar_alloc((size_t)s->work.groups.n_cohorts, sizeof *s->prog.step_s, "step timings", err);
  s->work.calibration_s = caviar_alloc((size_t)s->work.groups.n_cohorts, sizeof *s->work.calibration_s, "step timings", err);
  s->prog.planned = caviar_alloc((size_t)s->work.groups.n_cohorts, sizeof *s->prog.planned, "the ETA", err);
  s->prog.trained_epochs = caviar_alloc((size_t)s->work.groups.n_cohorts, sizeof *s->prog.trained_epochs, "the ETA", err);
  s->prog.steady_s = caviar_alloc((size_t)s->work.groups.n_cohorts, sizeof *s->prog.steady_s, "the ETA", err);
  s->prog.steady_steps = caviar_alloc((size_t)s->work.groups.n_cohorts, sizeof *s->prog.steady_steps, "the ETA", err);
  s->prog.cohort_done = caviar_alloc((size_t)s->work.groups.n_cohorts, sizeof *s->prog.cohort_done, "the ETA", err);
  s->prog.left = caviar_alloc((size_t)s->work.groups.n_cohorts, sizeof *s->prog.left, "the ETA", err);
  s->prog.alive_in = caviar_alloc((size_t)s->result->brackets.n_brackets, sizeof *s->prog.alive_in, "the ETA", err);
  s->prog.unstarted = caviar_alloc((size_t)s->work.groups.n_cohorts * (size_t)s->result->brackets.n_brackets,
                                   sizeof *s->prog.unstarted, "the ETA", err);
  s->prog.unstarted_from = 0;
  s->rank.owner = caviar_alloc((size_t)s->sched.count, sizeof *s->rank.owner, "the trials' ranks", err);
  s->rank.cohort_started = caviar_alloc((size_t)s->work.groups.n_cohorts, sizeof *s->rank.cohort_started, "the cohorts", err);
  if (!s->prog.steady_s || !s->prog.steady_steps || !s->rank.owner || !s->rank.cohort_started || !s->prog.cohort_done || !s->prog.left ||
      !s->prog.alive_in || !s->prog.unstarted)
    return CAVIAR_ERUNTIME;
  for (int i = 0; i < s->sched.count; i++) s->rank.owner[i] = -1;
  if (!s->work.cohorts || !s->sched.records || !s->work.order || !s->work.loss || !s->work.acc || !s->work.stats.train_loss || !s->work.stats.diverged ||
      !s->work.epoch_loss || !s->work.epoch_diverged || !s->prog.step_s || !s->work.calibration_s || !s->prog.planned || !s->prog.trained_epochs)
    return CAVIAR_ERUNTIME;
  for (int i = 0; i < s->sched.count; i++) {
    const caviar_brackets *hb = &s->result->brackets;
    int b = caviar_bracket_of(hb, i);
    s->prog.planned[s->work.groups.cohort_of[i]] += caviar_bracket_expected_epochs(&hb->brackets[b], hb->eta, sw->spec->epochs);
    s->prog.unstarted[s->work.groups.cohort_of[i] * hb->n_brackets + b]++;
  }
  st = sw->backend->upload(sw->backend, sw->data, err);
  for (int c = 0; st == CAVIAR_OK && c < s->work.groups.n_cohorts; c++) {
    caviar_cohort *cohort = &s->work.cohorts[c];
    int capacity = rank_capacity_of(s, c);
    /* A dry run times a sample of each cohort (the plan above judged the whole). */
    if (s->work.calibrate_steps > 0 && capacity > CALIBRATION_MEMBERS) capacity = CALIBRATION_MEMBERS;
    st = caviar_cohort_init(cohort, &s->work.groups.shapes[c], capacity, sw->seed, err);
    if (st != CAVIAR_OK) break;
    if (sw->spec->keep == CAVIAR_KEEP_BEST) caviar_cohort_keep_best(cohort);
    st = caviar_cohort_alloc(sw->backend, cohort, err);
    if (st != CAVIAR_OK) {
      caviar_cohort_free(cohort);
      break;
    }
    s->work.n_allocated++;
  }
  return st;
}

/* tpe: trial i's config is proposed now, from every result so far, with the trials still training
 * (pending: every running trial, so all of index below i, in index order) as the constant liar.
 * Its shape must be one of the round's cohorts; a proposal of another shape keeps the drawn
 * trial's shape (caviar_space_take_shape). Until the model has enough results, the drawn (sobol)
 * config stands. */
static void propose(run_state *s, int i, const caviar_space *box, const caviar_hparams *pending, int n_pending) {
  caviar_hparams hp;
  if (caviar_tpe_propose(s->sched.tpe, box, &s->sweep->spec->fixed, s->sched.trials[i].id, pending, n_pending, &hp)) {
    int c = 0;
    caviar_shape shape = caviar_shape_of(&hp, caviar_data_dims(s->sweep->data), s->work.groups.shapes[0].classes);
    while (c < s->work.groups.n_cohorts && !caviar_shape_equal(&s->work.groups.shapes[c], &shape)) c++;
    if (c == s->work.groups.n_cohorts) {
      caviar_space_take_shape(box, &s->sweep->spec->fixed, &s->sched.trials[i].hp, &hp);
      c = s->work.groups.cohort_of[i];
    }
    s->sched.trials[i].hp = hp;
    s->work.groups.cohort_of[i] = c;
  }
}

static void settle(run_state *s, int id, bool this_round);
static int live_leader(const run_state *s);

/* s->sched.live: the round's running trials by index, as fill() starts them (a resumed round's found
 * once), those that stopped dropped at each fill. */
static caviar_status update_live(run_state *s, caviar_error *err) {
  const caviar_sweep_result *r = s->result;
  if (!s->sched.live) {
    s->sched.live = caviar_alloc((size_t)s->sched.count + 1, sizeof *s->sched.live, "the running trials", err);
    if (!s->sched.live) return CAVIAR_ERUNTIME;
    s->prog.settled_leader = -1;
    s->prog.settled_epochs = 0;
    for (int id = 0; id < r->n_trials; id++)
      if (r->trials[id].status != CAVIAR_TRIAL_RUNNING) settle(s, id, false);
    for (int i = 0; i < s->sched.next; i++) {
      int id = (int)s->sched.trials[i].id;
      if (r->trials[id].status == CAVIAR_TRIAL_RUNNING) s->sched.live[s->sched.n_live++] = i;
      else if (r->trials[id].epochs > s->prog.settled_epochs) s->prog.settled_epochs = r->trials[id].epochs;
    }
    return CAVIAR_OK;
  }
  int n = 0;
  for (int k = 0; k < s->sched.n_live; k++) {
    int id = (int)s->sched.trials[s->sched.live[k]].id;
    if (r->trials[id].status == CAVIAR_TRIAL_RUNNING) s->sched.live[n++] = s->sched.live[k];
    else settle(s, id, true);
  }
  s->sched.n_live = n;
  return CAVIAR_OK;
}

/* Starts trials while the population has room: each gets a rank (ranks.c) and joins its shape's
 * cohort there with fresh weights; every rank keeps the books of every trial. */
static caviar_status fill(run_state *s, const caviar_space *box, caviar_error *err) {
  caviar_sweep_result *r = s->result;
  int first = s->sched.next;
  caviar_status live = update_live(s, err);
  if (live != CAVIAR_OK) return live;
  caviar_hparams *pending = NULL;
  int n_pending = 0;
  if (proposes(s)) {
    pending = caviar_alloc((size_t)s->sched.population + 1, sizeof *pending, "tpe's pending trials", err);
    if (!pending) return CAVIAR_ERUNTIME;
    for (int k = 0; k < s->sched.n_live; k++) pending[n_pending++] = s->sched.trials[s->sched.live[k]].hp;
  }
  while (s->sched.running < s->sched.population && s->sched.next < s->sched.count) {
    int i = s->sched.next++;
    if (pending) {
      propose(s, i, box, pending, n_pending);
      pending[n_pending++] = s->sched.trials[i].hp;
    }
    s->sched.live[s->sched.n_live++] = i;
    caviar_cohort *cohort = &s->work.cohorts[s->work.groups.cohort_of[i]];
    caviar_trial_result *t = &r->trials[s->sched.trials[i].id];
    memset(t, 0, sizeof *t);
    t->trial = s->sched.trials[i];
    t->shape = cohort->shape;
    t->bracket = caviar_bracket_of(&r->brackets, i);
    t->val_loss = t->val_acc = t->train_loss = NAN;
    t->test_loss = t->test_acc = NAN; /* until the test pass (progressive results say null) */
    t->status = CAVIAR_TRIAL_RUNNING;
    r->n_trials++;
    s->sched.running++;
    if (s->sweep->spec->early_terminate.type == CAVIAR_STOP_PBT) {
      caviar_status st = caviar_pbt_lineage_start(t, err);
      if (st != CAVIAR_OK) {
        free(pending);
        return st;
      }
    }
  }
  free(pending);
  caviar_status assigned = caviar_ranks_assign(s, first, s->sched.next, err);
  if (assigned != CAVIAR_OK) return assigned;
  for (int i = first; i < s->sched.next; i++) {
    if (s->rank.owner[i] != caviar_run_rank(s)) continue;
    caviar_cohort *cohort = &s->work.cohorts[s->work.groups.cohort_of[i]];
    int slot = cohort->n;
    /* A cohort holds min(population, trials of its shape), split among the ranks (ranks.c keeps
     * each rank's share within it): the running count bounds it. */
    assert(slot < cohort->layout.capacity);
    caviar_cohort_add(cohort, &s->sched.trials[i]);
    caviar_status st = caviar_cohort_init_members(s->sweep->backend, cohort, slot, 1, err);
    if (st != CAVIAR_OK) return st;
  }
  return CAVIAR_OK;
}

caviar_status caviar_result_add_point(caviar_sweep_result *r, caviar_curve_point p, caviar_error *err) {
  if (r->n_curve == r->cap_curve) {
    size_t cap = r->cap_curve ? 2 * r->cap_curve : 1024;
    caviar_curve_point *grown = realloc(r->curve, cap * sizeof *grown);
    if (!grown) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory recording learning curves");
    r->curve = grown;
    r->cap_curve = cap;
  }
  r->curve[r->n_curve++] = p;
  return CAVIAR_OK;
}

static caviar_status add_curve_point(caviar_sweep_result *r, const caviar_trial_result *t, caviar_error *err) {
  return caviar_result_add_point(r, (caviar_curve_point){t->trial.id, t->epochs, t->train_loss, t->val_loss, t->val_acc},
                                 err);
}

/* A metric value as the spec names it: regression's val_rmse and val_mse in the target's units
 * (the trainer ranks by the standardised mean squared error, val_loss). */
static float shown_metric(const run_state *s, float v) {
  double std = s->result->target_std;
  switch (s->sweep->spec->metric.name) {
    case CAVIAR_METRIC_VAL_RMSE: return (float)(sqrt((double)v) * std);
    case CAVIAR_METRIC_VAL_MSE: return (float)((double)v * std * std);
    default: return v;
  }
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

/* The steps of an epoch's next chunk, done of steps trained: a cohort's first chunk ever is short
 * (its speed known at once), then sixteenths. The sweep and a dry run's calibration alike. */
static size_t next_chunk(size_t steps, size_t done, bool first) {
  size_t chunk = steps - done, even = (steps + CHUNKS_PER_EPOCH - 1) / CHUNKS_PER_EPOCH;
  if (first && chunk > FIRST_CHUNK_STEPS) chunk = FIRST_CHUNK_STEPS;
  else if (chunk > even) chunk = even;
  if (caviar_test_chunk_steps > 0)
    chunk = steps - done < (size_t)caviar_test_chunk_steps ? steps - done : (size_t)caviar_test_chunk_steps;
  return chunk;
}

/* One cohort's epoch, in chunks of whole minibatches: the backend takes exactly the steps one call
 * over the epoch's rows would take, and progress is reported between chunks. The epoch's mean
 * loss and divergence (at its first diverging step) end up in epoch_loss and epoch_diverged. */
static caviar_status train_cohort_epoch(run_state *s, int c, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  caviar_cohort *cohort = &s->work.cohorts[c];
  cohort->tick = (uint32_t)s->sched.tick; /* the order's index (train_and_judge): data augmentation's key */
  size_t batch = (size_t)cohort->shape.batch, steps = sw->data->split.n_train / batch, done = 0;
  for (int slot = 0; slot < cohort->n; slot++) {
    s->work.epoch_loss[slot] = 0;
    s->work.epoch_diverged[slot] = 0;
  }
  if (s->prog.train_start == 0) {
    /* The rate and pace since this process began training (a resumed sweep's earlier work is
     * not this run's). */
    s->prog.train_start = caviar_now();
    s->prog.samples_at_start = s->result->model_samples;
    s->prog.epochs_at_start = s->prog.epochs_run;
  }
  do {
    /* Whether the cohort trained before on any rank: the chunks must not depend on where. */
    size_t chunk = next_chunk(steps, done, !s->rank.cohort_started[c] && done == 0);
    double t0 = caviar_now();
    caviar_status st =
        caviar_cohort_train(sw->backend, cohort, s->work.order + done * batch, chunk * batch, &s->work.stats, err);
    if (st != CAVIAR_OK) return st;
    double took = caviar_now() - t0;
    /* The first chunk a cohort trains pays for warming up (caches, graph capture): the ETA leaves
     * it out once later chunks say better. */
    if (chunk > 0 && s->prog.step_s[c] > 0) {
      s->prog.steady_s[c] += took;
      s->prog.steady_steps[c] += (double)chunk * cohort->n;
    }
    if (chunk > 0) s->prog.step_s[c] = took / ((double)chunk * cohort->n);
    s->prog.trained_epochs[c] += steps ? (double)cohort->n * (double)chunk / (double)steps : 0;
    s->prog.cohort_done[c] = steps ? (double)(done + chunk) / (double)steps : 1;
    for (int slot = 0; slot < cohort->n; slot++) {
      if (s->work.epoch_diverged[slot]) continue;
      if (s->work.stats.diverged[slot]) {
        s->work.epoch_diverged[slot] = 1;
        s->work.epoch_loss[slot] = s->work.stats.train_loss[slot];
      } else {
        s->work.epoch_loss[slot] += s->work.stats.train_loss[slot] * (float)chunk;
      }
    }
    done += chunk;
    double samples = (double)cohort->n * (double)(chunk * batch);
    s->result->model_samples += samples;
    s->prog.epoch_samples_done += samples;
    caviar_fault_point("chunk");
    if (done < steps && (caviar_test_chunk_steps > 0 || caviar_now() - s->prog.last_report >= REPORT_SECONDS))
      report_progress(s, true);
  } while (done < steps);
  for (int slot = 0; slot < cohort->n; slot++)
    if (!s->work.epoch_diverged[slot]) s->work.epoch_loss[slot] /= (float)(steps ? steps : 1);
  return CAVIAR_OK;
}

/* Whether an epoch's validation figures beat the trial's best epoch so far (strictly: ties keep the
 * earlier epoch; a first epoch always does). */
static bool beats_best(const run_state *s, const caviar_trial_result *t, float val_loss, float val_acc) {
  bool by_acc = s->sweep->spec->metric.name == CAVIAR_METRIC_VAL_ACC;
  float best = t->best_epoch > 0 ? (by_acc ? t->best_val_acc : t->best_val_loss) : NAN;
  return better(s, by_acc ? val_acc : val_loss, best);
}

/* After a cohort's validation on this rank (model.keep best): the members whose figures beat their
 * best epoch's get their parameters copied into their best-epoch copies; then each member at the
 * last epoch has the weights it keeps read out (a survivor unless they are not finite). mine holds
 * the cohort's results, slot by slot. */
static caviar_status keep_and_read(run_state *s, caviar_cohort *cohort, member_result *mine, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  int *improved = caviar_alloc((size_t)cohort->n + 1, sizeof *improved, "the best epochs", err), n = 0;
  if (!improved) return CAVIAR_ERUNTIME;
  for (int slot = 0; slot < cohort->n; slot++) {
    const caviar_trial_result *t = &s->result->trials[cohort->trial[slot]];
    if (!mine[slot].diverged && beats_best(s, t, mine[slot].val_loss, mine[slot].val_acc)) improved[n++] = slot;
  }
  caviar_status st = caviar_cohort_save_best(sw->backend, cohort, improved, n, err);
  free(improved);
  for (int slot = 0; st == CAVIAR_OK && slot < cohort->n; slot++) {
    caviar_trial_result *t = &s->result->trials[cohort->trial[slot]];
    member_result *m = &mine[slot];
    if (m->diverged || t->epochs + 1 < sw->spec->epochs) continue;
    t->params = caviar_alloc(cohort->layout.per_member, sizeof(float), "a survivor's parameters", err);
    st = t->params ? caviar_cohort_read_arena(sw->backend, cohort, cohort->keep_best ? CAVIAR_ARENA_BEST : CAVIAR_ARENA_PARAMS,
                                             slot, t->params, err)
                   : CAVIAR_ERUNTIME;
    if (st == CAVIAR_OK && !caviar_params_finite(t->params, cohort->layout.per_member)) {
      m->bad_params = 1;
      free(t->params);
      t->params = NULL;
    }
  }
  return st;
}

/* Every running member of this rank trains one epoch (each at its own epoch count) and is judged
 * on the validation split; one at the last epoch has its weights read out. Its results go to every
 * rank (ranks.c) and into the books in the one-process order. */
static caviar_status train_and_judge(run_state *s, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  const caviar_split *split = &sw->data->split;
  int n_mine = 0;
  for (int c = 0; c < s->work.groups.n_cohorts; c++) n_mine += s->work.cohorts[c].n;
  member_result *mine = caviar_alloc((size_t)n_mine + 1, sizeof *mine, "epoch results", err);
  if (!mine) return CAVIAR_ERUNTIME;
  double t0 = caviar_now();
  n_mine = 0;
  caviar_epoch_order(split, sw->seed, s->sched.tick, s->work.order);
  s->prog.epoch_samples = s->prog.epoch_samples_done = 0;
  for (int c = 0; c < s->work.groups.n_cohorts; c++) {
    s->prog.cohort_done[c] = 0;
    size_t batch = (size_t)s->work.cohorts[c].shape.batch;
    s->prog.epoch_samples += (double)s->work.cohorts[c].n * (double)(split->n_train / batch * batch);
  }
  caviar_status st = CAVIAR_OK;
  for (int c = 0; st == CAVIAR_OK && c < s->work.groups.n_cohorts; c++) {
    caviar_cohort *cohort = &s->work.cohorts[c];
    if (cohort->n == 0) continue;
    st = train_cohort_epoch(s, c, err);
    if (st == CAVIAR_OK) caviar_cohort_end_epoch(cohort);
    if (st == CAVIAR_OK)
      st = sw->backend->evaluate(sw->backend, cohort, CAVIAR_SET_TRAIN, split->val, split->n_val, s->work.loss, s->work.acc, err);
    int first = n_mine;
    for (int slot = 0; st == CAVIAR_OK && slot < cohort->n; slot++) {
      member_result *m = &mine[n_mine++];
      *m = (member_result){.index = cohort->trial[slot] - (uint32_t)(s->sched.round * s->sched.count),
                           .train_loss = s->work.epoch_loss[slot], .val_loss = s->work.loss[slot], .val_acc = s->work.acc[slot]};
      /* A member that diverged (model_math.h says when) is out at once; members never share a
       * reduction, so it cannot have touched anyone else. */
      m->diverged = s->work.epoch_diverged[slot] || caviar_loss_diverged(m->val_loss, cohort->shape.classes);
      s->rank.member_epochs++;
    }
    if (st == CAVIAR_OK) st = keep_and_read(s, cohort, mine + first, err);
  }
  if (st != CAVIAR_OK) {
    free(mine);
    return st;
  }
  s->rank.busy_s += caviar_now() - t0;
  if (st == CAVIAR_OK) st = caviar_ranks_exchange(s, mine, n_mine, err);
  free(mine);
  for (int k = 0; st == CAVIAR_OK && k < s->rank.n_results; k++) s->rank.cohort_started[s->work.groups.cohort_of[s->rank.results[k].index]] = 1;
  for (int k = 0; st == CAVIAR_OK && k < s->rank.n_results; k++) {
    const member_result *m = &s->rank.results[k];
    caviar_trial_result *t = &s->result->trials[s->sched.trials[m->index].id];
    if (!m->diverged && beats_best(s, t, m->val_loss, m->val_acc)) {
      t->best_epoch = t->epochs + 1;
      t->best_train_loss = m->train_loss;
      t->best_val_loss = m->val_loss;
      t->best_val_acc = m->val_acc;
    }
    t->epochs++;
    t->train_loss = m->train_loss;
    t->val_loss = m->val_loss;
    t->val_acc = m->val_acc;
    if (m->diverged) t->status = CAVIAR_TRIAL_DIVERGED;
    if (s->sched.tpe) {
      /* Every epoch is a result at that budget; tpe fits the largest budget with enough. */
      double loss = t->status == CAVIAR_TRIAL_DIVERGED ? INFINITY
                    : sw->spec->metric.name == CAVIAR_METRIC_VAL_ACC ? -(double)t->val_acc
                                                                     : (double)t->val_loss;
      st = caviar_tpe_observe(s->sched.tpe, &t->trial.hp, t->epochs, loss, err);
      if (st != CAVIAR_OK) return st;
    }
    /* The best value any trial reached at any epoch: what metric.target is checked against. */
    if (t->status != CAVIAR_TRIAL_DIVERGED && better(s, metric_of(s, t), s->sched.best))
      s->sched.best = metric_of(s, t);
    st = add_curve_point(s->result, t, err);
  }
  return st;
}

typedef caviar_status (*result_visit)(run_state *s, const member_result *m, caviar_trial_result *t, caviar_error *err);

/* fn for every member still running, in the one-process order of the epoch's results (every rank
 * holds them all: ranks.c). */
static caviar_status each_running(run_state *s, result_visit fn, caviar_error *err) {
  for (int k = 0; k < s->rank.n_results; k++) {
    const member_result *m = &s->rank.results[k];
    caviar_trial_result *t = &s->result->trials[s->sched.trials[m->index].id];
    if (t->status != CAVIAR_TRIAL_RUNNING) continue;
    caviar_status st = fn(s, m, t, err);
    if (st != CAVIAR_OK) return st;
  }
  return CAVIAR_OK;
}

static bool finished(const run_state *s, const caviar_trial_result *t) { return t->epochs >= s->sweep->spec->epochs; }

/* A member at a rung of its bracket, or -1. */
static int rung_of(const run_state *s, const caviar_trial_result *t) {
  int rung;
  return caviar_is_rung(&s->result->brackets.brackets[t->bracket].rungs, t->epochs, &rung) ? rung : -1;
}

static caviar_rung_record *record_of(run_state *s, const caviar_trial_result *t, int rung) {
  return &s->sched.records[t->bracket * CAVIAR_MAX_RUNGS + rung];
}

static caviar_status record_at_rung(run_state *s, const member_result *m, caviar_trial_result *t, caviar_error *err) {
  (void)m;
  int rung = finished(s, t) ? -1 : rung_of(s, t);
  return rung < 0 ? CAVIAR_OK
                  : caviar_rung_record_add(record_of(s, t, rung), t->val_loss, t->val_acc, t->trial.id,
                                           s->sweep->spec->metric.name == CAVIAR_METRIC_VAL_ACC,
                                           s->result->brackets.eta, err);
}

/* A member at the last epoch is a survivor with the weights its owner read out (keep_and_read),
 * unless they are not finite; one at a rung goes on or is culled. */
static caviar_status judge(run_state *s, const member_result *m, caviar_trial_result *t, caviar_error *err) {
  (void)err;
  if (finished(s, t)) {
    t->status = m->bad_params ? CAVIAR_TRIAL_DIVERGED : CAVIAR_TRIAL_SURVIVED;
    /* model.keep best: the weights of its best validation epoch. */
    t->kept_best = !m->bad_params && s->sweep->spec->keep == CAVIAR_KEEP_BEST;
    return CAVIAR_OK;
  }
  /* At a rung it goes on only in the top 1/eta of everyone in its bracket recorded there so far. */
  int rung = rung_of(s, t);
  if (rung >= 0 && !caviar_rung_record_keeps(record_of(s, t, rung), t->val_loss, t->val_acc, t->trial.id))
    t->status = CAVIAR_TRIAL_CULLED;
  return CAVIAR_OK;
}

/* Rungs and the end: every member that reached a rung is recorded there first, so members
 * arriving together are judged together; then each is judged. */
static caviar_status decide(run_state *s, caviar_error *err) {
  caviar_status st = each_running(s, record_at_rung, err);
  return st == CAVIAR_OK ? each_running(s, judge, err) : st;
}

/* Drops every slot whose trial stopped running, so the next epoch's work really shrinks. */
static caviar_status compact_all(run_state *s, caviar_error *err) {
  /* Once a round: a fresh zeroed buffer every epoch cost 0.7 s of a 97,336-epoch Hyperband sweep. */
  if (!s->work.keep) s->work.keep = caviar_alloc((size_t)s->work.max_capacity + 1, sizeof *s->work.keep, "compaction", err);
  int *keep = s->work.keep;
  if (!keep) return CAVIAR_ERUNTIME;
  caviar_status st = CAVIAR_OK;
  s->sched.running = 0;
  for (int c = 0; st == CAVIAR_OK && c < s->work.groups.n_cohorts; c++) {
    caviar_cohort *cohort = &s->work.cohorts[c];
    int n_keep = 0;
    for (int slot = 0; slot < cohort->n; slot++)
      if (s->result->trials[cohort->trial[slot]].status == CAVIAR_TRIAL_RUNNING) keep[n_keep++] = slot;
    if (n_keep < cohort->n) st = caviar_cohort_compact(s->sweep->backend, cohort, keep, n_keep, err);
  }
  /* Every rank's: the population's room is shared. */
  for (int k = 0; k < s->rank.n_results; k++)
    s->sched.running += s->result->trials[s->sched.trials[s->rank.results[k].index].id].status == CAVIAR_TRIAL_RUNNING;
  return st;
}

/* The round's survivors, once, on the test split: their saved weights in fresh cohorts by shape,
 * each rank its own; then every rank gets the results and rank 0 the weights. */
static bool tests_here(const run_state *s, int i) {
  return s->rank.owner[i] == caviar_run_rank(s) && s->result->trials[s->sched.trials[i].id].status == CAVIAR_TRIAL_SURVIVED;
}

/* Survivors evaluated on the test split at once, at most (per cohort). */
#define TEST_MEMBERS 1024

static caviar_status test_survivors(run_state *s, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  caviar_sweep_result *r = s->result;
  double t0 = caviar_now();
  size_t n_test = sw->data->test.n;
  for (size_t i = 0; i < n_test; i++) s->work.order[i] = (uint32_t)i;
  caviar_status st = CAVIAR_OK;
  for (int c = 0; st == CAVIAR_OK && c < s->work.groups.n_cohorts; c++) {
    int n = 0;
    for (int i = 0; i < s->sched.count; i++) n += s->work.groups.cohort_of[i] == c && tests_here(s, i);
    if (n == 0) continue;
    /* At most TEST_MEMBERS at a time: under PBT every member survives, and a test cohort of them
     * all beside the training one would double the arenas. */
    int chunk = n < TEST_MEMBERS ? n : TEST_MEMBERS;
    float *loss = caviar_alloc((size_t)chunk, sizeof *loss, "test results", err);
    float *acc = caviar_alloc((size_t)chunk, sizeof *acc, "test results", err);
    if (!loss || !acc) st = CAVIAR_ERUNTIME;
    for (int from = 0, i = 0; st == CAVIAR_OK && from < n; from += chunk) {
      caviar_cohort cohort;
      st = caviar_cohort_init(&cohort, &s->work.groups.shapes[c], n - from < chunk ? n - from : chunk, sw->seed, err);
      if (st != CAVIAR_OK) break;
      for (; i < s->sched.count && cohort.n < cohort.layout.capacity; i++) {
        const caviar_trial_result *t = &r->trials[s->sched.trials[i].id];
        if (s->work.groups.cohort_of[i] == c && tests_here(s, i)) caviar_cohort_add(&cohort, &t->trial);
      }
      st = caviar_cohort_alloc(sw->backend, &cohort, err);
      for (int slot = 0; st == CAVIAR_OK && slot < cohort.n; slot++)
        st = caviar_cohort_write_arena(sw->backend, &cohort, CAVIAR_ARENA_PARAMS, slot, r->trials[cohort.trial[slot]].params,
                                      err);
      if (st == CAVIAR_OK)
        st = sw->backend->evaluate(sw->backend, &cohort, CAVIAR_SET_TEST, s->work.order, n_test, loss, acc, err);
      for (int slot = 0; st == CAVIAR_OK && slot < cohort.n; slot++) {
        r->trials[cohort.trial[slot]].test_loss = loss[slot];
        r->trials[cohort.trial[slot]].test_acc = acc[slot];
      }
      caviar_cohort_release(sw->backend, &cohort);
      caviar_cohort_free(&cohort);
    }
    if (st == CAVIAR_OK) caviar_fault_point("test");
    free(loss);
    free(acc);
  }
  s->rank.busy_s += caviar_now() - t0;
  return st == CAVIAR_OK ? caviar_ranks_gather_tests(s, err) : st;
}

/* Member-epochs a member that has trained e epochs in a bracket with these rungs is still expected
 * to train: the way to its next rung for sure, then each later stretch as likely as reaching it.
 * With everyone started together (synchronous successive halving) that is the bracket's own
 * count, alive -> max(1, floor(alive / eta)) rung by rung, shared by its `alive` members; with
 * refill (alive 0: asynchronous) each rung passes 1 / eta of those reaching it. */
static double expected_left(const caviar_rungs *rungs, int max_epochs, int eta, int e, int alive) {
  double left = 0, reach = 1, n = alive;
  int from = e;
  for (int k = 0; k < rungs->n; k++) {
    if (rungs->epochs[k] <= e) continue;
    left += reach * (rungs->epochs[k] - from);
    from = rungs->epochs[k];
    if (alive > 0) {
      double kept = caviar_rung_keep((int)n, eta);
      reach *= kept / n;
      n = kept;
    } else {
      reach /= eta;
    }
  }
  return left + reach * (max_epochs > from ? max_epochs - from : 0);
}

/* The member-epochs this round is still expected to train, by cohort, into s->prog.left: every
 * running member's expected_left (less the part of the epoch in progress its cohort has done),
 * and every trial not started yet at its bracket's expectation from epoch 0. It looks at the
 * running trials only (s->sched.live, once there is one) and counts the others by cohort and
 * bracket: a report at each of a 100,000-trial Hyperband sweep's 97,336 epoch boundaries walked
 * every trial, which made the sweep 4x slower than with --quiet. */
static void round_left(run_state *s, bool within_epoch) {
  const caviar_sweep_result *r = s->result;
  const caviar_brackets *hb = &r->brackets;
  bool synchronous = s->sched.population >= s->sched.count;
  int nb = hb->n_brackets;
  for (; s->prog.unstarted_from < s->sched.next; s->prog.unstarted_from++) {
    int i = s->prog.unstarted_from;
    s->prog.unstarted[s->work.groups.cohort_of[i] * nb + caviar_bracket_of(hb, i)]--;
  }
  for (int c = 0; c < s->work.groups.n_cohorts; c++) {
    s->prog.left[c] = 0;
    for (int b = 0; b < nb; b++)
      if (s->prog.unstarted[c * nb + b] > 0)
        s->prog.left[c] += s->prog.unstarted[c * nb + b] * expected_left(&hb->brackets[b].rungs, s->sweep->spec->epochs, hb->eta, 0, 0);
  }
  for (int b = 0; b < nb; b++) s->prog.alive_in[b] = 0;
  int n = s->sched.live ? s->sched.n_live : s->sched.next;
  for (int k = 0; k < n; k++) {
    const caviar_trial_result *t = &r->trials[s->sched.trials[s->sched.live ? s->sched.live[k] : k].id];
    if (t->status == CAVIAR_TRIAL_RUNNING) s->prog.alive_in[t->bracket]++;
  }
  for (int k = 0; k < n; k++) {
    int i = s->sched.live ? s->sched.live[k] : k, c = s->work.groups.cohort_of[i];
    const caviar_trial_result *t = &r->trials[s->sched.trials[i].id];
    if (t->status != CAVIAR_TRIAL_RUNNING) continue;
    s->prog.left[c] += expected_left(&hb->brackets[t->bracket].rungs, s->sweep->spec->epochs, hb->eta, t->epochs,
                                synchronous ? s->prog.alive_in[t->bracket] : 0);
    if (within_epoch) s->prog.left[c] -= s->prog.cohort_done[c];
  }
}

/* Seconds left: each cohort's expected member-epochs left (round_left) at its own measured speed
 * per member-step, plus judging (a forward pass over the validation rows, a third of a step each),
 * plus the rounds still to come at this round's planned cost. A cohort not timed yet is costed from
 * the timed ones in proportion to its parameters times its batch. < 0 before any cohort is timed.
 * *epochs_left gets the member-epochs left in the whole sweep. */
static double eta_seconds(run_state *s, bool within_epoch, double *epochs_left) {
  const caviar_sweep *sw = s->sweep;
  const caviar_split *split = &sw->data->split;
  round_left(s, within_epoch);
  double later = 0;
  *epochs_left = 0;
  for (int c = 0; c < s->work.groups.n_cohorts; c++) {
    *epochs_left += s->prog.left[c];
    later += s->prog.planned[c];
  }
  *epochs_left += (s->sched.rounds - s->sched.round - 1) * later;
  /* Seconds per member-step by cohort: after warm-up where measured; else, if any cohort has been
   * measured after warm-up, in proportion to those; else the warm-up measurements. */
  double per_unit = 0, warm_unit = 0;
  int steady = 0, timed = 0;
  for (int c = 0; c < s->work.groups.n_cohorts; c++) {
    double size = (double)s->work.cohorts[c].layout.per_member * s->work.groups.shapes[c].batch;
    if (s->prog.steady_steps[c] > 0) {
      per_unit += s->prog.steady_s[c] / s->prog.steady_steps[c] / size;
      steady++;
    }
    if (s->prog.step_s[c] > 0) {
      warm_unit += s->prog.step_s[c] / size;
      timed++;
    }
  }
  if (timed == 0) return -1;
  per_unit = steady ? per_unit / steady : warm_unit / timed;
  double left = 0, round_total = 0;
  for (int c = 0; c < s->work.groups.n_cohorts; c++) {
    const caviar_shape *shape = &s->work.groups.shapes[c];
    double step = s->prog.steady_steps[c] > 0            ? s->prog.steady_s[c] / s->prog.steady_steps[c]
                  : s->prog.step_s[c] > 0 && steady == 0 ? s->prog.step_s[c]
                                                    : per_unit * (double)s->work.cohorts[c].layout.per_member * shape->batch;
    double epoch = step * ((double)(split->n_train / (size_t)shape->batch) + (double)split->n_val / shape->batch / 3.0);
    left += fmax(s->prog.left[c], 0) * epoch;
    round_total += s->prog.planned[c] * epoch;
  }
  return left + (s->sched.rounds - s->sched.round - 1) * round_total;
}

static void report_progress(run_state *s, bool within_epoch) {
  const caviar_sweep *sw = s->sweep;
  if (!sw->progress) return;
  const caviar_sweep_result *r = s->result;
  caviar_progress p = {0};
  bool synchronous = s->sched.population >= s->sched.count;
  double now = caviar_now();
  s->prog.last_report = now;
  p.epoch = s->sched.tick;
  p.epochs = sw->spec->epochs;
  /* The epochs of the round's trials training now (every rank keeps every trial's books); only the
   * running ones and those stopped since the last fill are looked at (the others are settled). */
  p.epoch_lo = INT_MAX;
  p.epoch_hi = 0;
  int most = s->prog.settled_epochs;
  for (int k = 0; k < s->sched.n_live; k++) {
    const caviar_trial_result *t = &r->trials[s->sched.trials[s->sched.live[k]].id];
    if (t->epochs > most) most = t->epochs;
    if (t->status != CAVIAR_TRIAL_RUNNING) continue;
    if (t->epochs < p.epoch_lo) p.epoch_lo = t->epochs;
    if (t->epochs > p.epoch_hi) p.epoch_hi = t->epochs;
  }
  /* None training (the round's end): the most epochs any trial trained. */
  if (p.epoch_lo > p.epoch_hi) p.epoch_lo = p.epoch_hi = most;
  p.within_epoch = within_epoch;
  p.epoch_done = within_epoch && s->prog.epoch_samples > 0 ? s->prog.epoch_samples_done / s->prog.epoch_samples : 0;
  p.round = s->sched.round;
  p.rounds = s->sched.rounds;
  p.rungs = synchronous ? r->rungs.n : 0;
  while (p.rung < r->rungs.n && r->rungs.epochs[p.rung] <= s->sched.tick) p.rung++;
  p.trials = r->n_trials;
  p.budget = s->sched.count * s->sched.rounds;
  p.alive = s->sched.running;
  p.trained = within_epoch ? 0 : s->work.trained;
  p.metric = caviar_metric_text(sw->spec->metric.name);
  /* The running trials with a metric are the last epoch's members (those started since have none),
   * but in a round just resumed, whose last epoch's results went with the process. */
  float best_alive = NAN;
  bool resumed = s->rank.n_results == 0 && s->sched.running > 0;
  for (int k = 0; k < (resumed ? r->n_trials : s->rank.n_results); k++) {
    const caviar_trial_result *t = &r->trials[resumed ? k : (int)s->sched.trials[s->rank.results[k].index].id];
    if (t->status == CAVIAR_TRIAL_RUNNING && better(s, metric_of(s, t), best_alive)) best_alive = metric_of(s, t);
  }
  /* The best trial so far: the leaderboard's first if the sweep stopped here (one meaning of best). */
  int leader = live_leader(s);
  p.best = NAN;
  p.best_trial = -1;
  if (leader >= 0) {
    p.best = (float)caviar_trial_value(sw->spec, &r->trials[leader], r->target_std, &p.best_epoch);
    if (!isnan(p.best)) p.best_trial = (int)r->trials[leader].trial.id;
    else p.best_epoch = 0;
  }
  p.best_alive = shown_metric(s, best_alive);
  p.elapsed_s = now - s->prog.start;
  double training = s->prog.train_start > 0 ? now - s->prog.train_start : 0;
  p.model_samples = r->model_samples - s->prog.samples_at_start;
  p.training_s = training;
  p.model_samples_per_s = training > 0 ? p.model_samples / training : 0;
  p.eta_s = eta_seconds(s, within_epoch, &p.epochs_left);
  if (!within_epoch && s->sched.running == 0 && s->sched.round + 1 >= s->sched.rounds) p.eta_s = 0;
  sw->progress(&p, sw->progress_ctx);
}

/* With a time budget, whether to stop at this epoch boundary: past the budget, or at a rung (any
 * epoch when there are no rungs) when reaching the next rung at the pace so far would pass it. */
static bool out_of_time(const run_state *s) {
  double budget = s->sched.time_budget_s;
  if (budget <= 0 || s->sched.running == 0) return false;
  double now = caviar_now(), elapsed = now - s->prog.start;
  if (elapsed >= budget) return true;
  const caviar_rungs *rungs = &s->result->rungs;
  int k;
  if (rungs->n > 0 && !caviar_is_rung(rungs, s->sched.tick, &k)) return false;
  int next = s->sweep->spec->epochs;
  for (int i = 0; i < rungs->n; i++)
    if (rungs->epochs[i] > s->sched.tick) {
      next = rungs->epochs[i];
      break;
    }
  if (rungs->n == 0) next = s->sched.tick + 1;
  int epochs = s->prog.epochs_run - s->prog.epochs_at_start;
  double per_epoch = epochs > 0 ? (now - s->prog.train_start) / epochs : 0;
  return elapsed + per_epoch * (next - s->sched.tick) > budget;
}

/* W&B's metric.target: whether a trial's metric (in the units shown) has reached it. */
static bool reached_target(const run_state *s) {
  const caviar_metric *m = &s->sweep->spec->metric;
  if (!m->has_target || isnan(s->sched.best)) return false;
  double best = shown_metric(s, s->sched.best);
  return m->maximize ? best >= m->target : best <= m->target;
}

/* A dry run's calibration: each cohort, filled as the sweep would fill it, trains its first chunk
 * (the warm-up, left out as the sweep's ETA leaves it out) and then the chunks the sweep trains in
 * (next_chunk: the same steps a call, so the same overhead a step) over the first epoch's shuffled
 * rows until CALIBRATION_SECONDS have passed (or the epoch's rows run out); calibration_s gets the
 * seconds per member-step. */
#define CALIBRATION_SECONDS 0.2
static caviar_status calibrate(run_state *s, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  const caviar_split *split = &sw->data->split;
  caviar_epoch_order(split, sw->seed, 0, s->work.order);
  for (int c = 0; c < s->work.groups.n_cohorts; c++) {
    caviar_cohort *cohort = &s->work.cohorts[c];
    cohort->tick = 0;
    size_t batch = (size_t)cohort->shape.batch, steps = split->n_train / batch, done = next_chunk(steps, 0, true);
    s->work.calibration_s[c] = 0;
    if (cohort->n == 0 || steps <= done) continue;
    caviar_status st = caviar_cohort_train(sw->backend, cohort, s->work.order, done * batch, &s->work.stats, err);
    size_t warm = done;
    double t0 = caviar_now(), took = 0;
    while (st == CAVIAR_OK && done < steps && (done == warm || took < CALIBRATION_SECONDS)) {
      size_t chunk = next_chunk(steps, done, false);
      st = caviar_cohort_train(sw->backend, cohort, s->work.order + done * batch, chunk * batch, &s->work.stats, err);
      done += chunk;
      took = caviar_now() - t0;
    }
    if (st != CAVIAR_OK) return st;
    s->work.calibration_s[c] = took / ((double)(done - warm) * cohort->n);
  }
  return CAVIAR_OK;
}

/* A dry run's members: each cohort holds the round's first trials of its shape, as many as it has
 * room for (a sample of CALIBRATION_MEMBERS at most); nothing is booked as started. */
static caviar_status fill_sample(run_state *s, caviar_error *err) {
  for (int i = 0; i < s->sched.count; i++) {
    caviar_cohort *cohort = &s->work.cohorts[s->work.groups.cohort_of[i]];
    if (cohort->n < cohort->layout.capacity) caviar_cohort_add(cohort, &s->sched.trials[i]);
  }
  caviar_status st = CAVIAR_OK;
  for (int c = 0; st == CAVIAR_OK && c < s->work.groups.n_cohorts; c++)
    if (s->work.cohorts[c].n > 0) st = s->sweep->backend->init_members(s->sweep->backend, &s->work.cohorts[c], 0, s->work.cohorts[c].n, err);
  return st;
}

/* Trains one round's trials (drawn from box) to the end. */
static caviar_status run_round(run_state *s, const caviar_space *box, caviar_error *err) {
  const caviar_spec *spec = s->sweep->spec;
  caviar_status st = setup_round(s, err);
  if (st == CAVIAR_OK && s->sched.resume_round) st = caviar_state_restore_round(s, err);
  if (st == CAVIAR_OK && s->work.calibrate_steps > 0) {
    st = fill_sample(s, err);
    return st == CAVIAR_OK ? calibrate(s, err) : st;
  }
  while (st == CAVIAR_OK) {
    st = fill(s, box, err);
    if (st != CAVIAR_OK || s->sched.running == 0) break;
    /* Culls leave some ranks with less to do than others: members move to even them out. */
    st = caviar_ranks_rebalance(s, err);
    if (st != CAVIAR_OK) break;
    if (s->sched.tick == 0) {
      if (s->sweep->training_begins) s->sweep->training_begins(s->sweep->training_begins_ctx);
      report_progress(s, false);
    }
    s->work.trained = s->sched.running;
    st = train_and_judge(s, err);
    if (st == CAVIAR_OK) st = decide(s, err);
    if (st == CAVIAR_OK) st = caviar_ranks_send_survivors(s, err);
    s->sched.tick++;
    if (st == CAVIAR_OK && spec->early_terminate.type == CAVIAR_STOP_PBT && s->sched.tick % spec->early_terminate.interval == 0 &&
        s->sched.tick < spec->epochs)
      st = caviar_pbt_step(s, s->sched.tick, err);
    if (st == CAVIAR_OK) st = compact_all(s, err);
    s->prog.epochs_run++;
    if (st == CAVIAR_OK) report_progress(s, false);
    /* The journal, a snapshot, the results so far; a stop request ends the sweep here. What is
     * timed, rank 0's clock decides for every rank; a signal to any rank stops them all. */
    /* A trial at the metric's target ends the sweep here as a time budget would (every rank
     * holds every result, so every rank sees it). */
    bool at_target = reached_target(s);
    unsigned flags = caviar_state_epoch_flags(s) | (out_of_time(s) || at_target ? CAVIAR_AGREE_LATE : 0u);
    if (st == CAVIAR_OK) st = caviar_ranks_agree_epoch(s, &flags, err);
    if (st == CAVIAR_OK) st = caviar_state_epoch_end(s, flags, err);
    if (st == CAVIAR_OK && s->result->interrupted) return st;
    if (st == CAVIAR_OK && (flags & CAVIAR_AGREE_LATE)) {
      s->sched.at_target = at_target;
      s->sched.out_of_time = !at_target;
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
  return caviar_rank_key_of(caviar_kept_val_loss(t), caviar_kept_val_acc(t), k->by_accuracy, status_rank(t->status),
                            t->epochs, t->trial.id);
}

void caviar_result_order(const caviar_spec *spec, const caviar_sweep_result *r, int *order) {
  result_ranking k = {r, spec->metric.name == CAVIAR_METRIC_VAL_ACC};
  caviar_rank_order(r->n_trials, result_key, &k, order);
}

/* Folds trial id, stopped, into the settled trials' leader (and, of this round, their epochs). */
static void settle(run_state *s, int id, bool this_round) {
  result_ranking k = {s->result, s->sweep->spec->metric.name == CAVIAR_METRIC_VAL_ACC};
  int *leader = &s->prog.settled_leader;
  if (*leader < 0) *leader = id;
  else {
    caviar_rank_key a = result_key(&k, id), b = result_key(&k, *leader);
    if (caviar_rank_key_compare(&a, &b) < 0) *leader = id;
  }
  if (this_round && s->result->trials[id].epochs > s->prog.settled_epochs) s->prog.settled_epochs = s->result->trials[id].epochs;
}

/* caviar_result_leader's answer from the settled leader and the trials of s->sched.live: the keys
 * hold the trial id, so no two are equal and the least is the same whatever the order looked at. */
static int live_leader(const run_state *s) {
  if (!s->sched.live) return caviar_result_leader(s->sweep->spec, s->result);
  result_ranking k = {s->result, s->sweep->spec->metric.name == CAVIAR_METRIC_VAL_ACC};
  int leader = s->prog.settled_leader;
  caviar_rank_key best = leader >= 0 ? result_key(&k, leader) : (caviar_rank_key){0};
  for (int j = 0; j < s->sched.n_live; j++) {
    int id = (int)s->sched.trials[s->sched.live[j]].id;
    caviar_rank_key key = result_key(&k, id);
    if (leader < 0 || caviar_rank_key_compare(&key, &best) < 0) leader = id, best = key;
  }
  return leader;
}

int caviar_result_leader(const caviar_spec *spec, const caviar_sweep_result *r) {
  result_ranking k = {r, spec->metric.name == CAVIAR_METRIC_VAL_ACC};
  int leader = -1;
  caviar_rank_key best = {0};
  for (int i = 0; i < r->n_trials; i++) {
    caviar_rank_key key = result_key(&k, i);
    if (leader < 0 || caviar_rank_key_compare(&key, &best) < 0) leader = i, best = key;
  }
  return leader;
}

double caviar_trial_value(const caviar_spec *spec, const caviar_trial_result *t, double target_std, int *epoch) {
  *epoch = t->kept_best ? t->best_epoch : t->epochs;
  double loss = caviar_kept_val_loss(t);
  switch (spec->metric.name) {
    case CAVIAR_METRIC_VAL_ACC: return caviar_kept_val_acc(t);
    case CAVIAR_METRIC_VAL_RMSE: return sqrt(loss) * target_std;
    case CAVIAR_METRIC_VAL_MSE: return loss * target_std * target_std;
    default: return loss;
  }
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
  s->sched.count = per_round;
  s->sched.trials = caviar_alloc((size_t)per_round, sizeof *s->sched.trials, "trials", err);
  if (!s->sched.trials) return CAVIAR_ERUNTIME;
  for (int i = 0; i < per_round; i++) {
    uint32_t id = (uint32_t)(s->sched.round * per_round + i);
    if (s->sched.round == 0) {
      caviar_sampler_draw(sampler, id, &s->sched.trials[i]);
    } else {
      s->sched.trials[i] = (caviar_trial){.id = id, .round = s->sched.round};
      caviar_sample_random(box, &s->sweep->spec->fixed, s->sweep->seed, id, &s->sched.trials[i].hp);
    }
  }
  /* A minibatch larger than the training split would take no step at all: refused before training. */
  size_t n_train = s->sweep->data->split.n_train;
  for (int i = 0; i < per_round; i++)
    if ((size_t)s->sched.trials[i].hp.batch_size > n_train)
      return caviar_fail(err, CAVIAR_EINPUT,
                         "%s: trial %u: batch_size %d is larger than the training split of %s (%zu examples); lower "
                         "batch_size or data.validation",
                         s->sweep->spec->source, (unsigned)s->sched.trials[i].id, s->sched.trials[i].hp.batch_size,
                         s->sweep->data->train_name, n_train);
  /* A model the data cannot feed (a CNN on plain features, pooling below 1 x 1): refused before training. */
  for (int i = 0; i < per_round; i++) {
    caviar_shape shape = caviar_shape_of(&s->sched.trials[i].hp, caviar_data_dims(s->sweep->data), s->sweep->data->classes);
    char why[512];
    if (!caviar_shape_valid(&shape, why, sizeof why))
      return caviar_fail(err, CAVIAR_EINPUT, "%s: trial %u: %s", s->sweep->spec->source, (unsigned)s->sched.trials[i].id, why);
  }
  long long population = s->sweep->spec->population;
  s->sched.population = population > 0 && population < per_round ? (int)population : per_round;
  return CAVIAR_OK;
}

/* Bytes of summary.json's text a trial takes (about 700, measured), twice: the text grows in memory
 * by doubling before it is written in one go. PBT's lineage: a cJSON event (about 16 nodes of
 * some 100 bytes) per copy and one at the start, and as much again in summary.json. */
#define SUMMARY_TEXT_BYTES (2 * 700.0)
#define LINEAGE_EVENT_BYTES 1800.0
#define LINEAGE_TEXT_BYTES (2 * 650.0)

/* The host memory a sweep's books take, all trials of all rounds (docs/PERF.md measures it): per
 * trial its result, its round's draw, grouping and marks (owner, running list, journal), its part
 * of summary.json as written; per model-epoch a learning-curve point, a rung's record and (tpe) an
 * observation, in arrays that grow by doubling (so twice their size at worst). */
static double host_bytes(const caviar_spec *spec, double trials, double per_round, double model_epochs) {
  double per_trial = (double)sizeof(caviar_trial_result) + 5 + SUMMARY_TEXT_BYTES;
  double per_round_trial = (double)(sizeof(caviar_trial) + sizeof(caviar_shape) + 6 * sizeof(int) + 1);
  double per_epoch = 2.0 * ((double)sizeof(caviar_curve_point) + 3 * sizeof(float) + sizeof(uint32_t) + 2 * sizeof(int));
  if (spec->method == CAVIAR_METHOD_TPE) per_epoch += 2.0 * (sizeof(caviar_hparams) + 2 * sizeof(double) + sizeof(int));
  if (spec->early_terminate.type == CAVIAR_STOP_PBT) {
    const caviar_early_terminate *et = &spec->early_terminate;
    double copies = et->quantile * floor((double)(spec->epochs - 1) / (et->interval > 0 ? et->interval : 1));
    per_trial += (1 + copies) * (LINEAGE_EVENT_BYTES + LINEAGE_TEXT_BYTES);
  }
  return trials * per_trial + per_round * per_round_trial + model_epochs * per_epoch;
}

/* A dry run's numbers from the first round, set up and calibrated. Every trial is expected to
 * train its bracket's expected epochs at its cohort's measured speed per member-step; judging on
 * the validation split is counted as a forward pass (a third of a step) per validation row. */
static void estimate_from(const run_state *s, caviar_sweep_estimate *e) {
  const caviar_sweep *sw = s->sweep;
  const caviar_split *split = &sw->data->split;
  const caviar_sweep_result *r = s->result;
  e->trials = s->sched.count;
  e->rounds = s->sched.rounds;
  e->population = s->sched.population;
  e->n_cohorts = s->work.groups.n_cohorts;
  int *capacity = malloc((size_t)(s->work.groups.n_cohorts > 0 ? s->work.groups.n_cohorts : 1) * sizeof *capacity);
  if (capacity) {
    for (int c = 0; c < s->work.groups.n_cohorts; c++) capacity[c] = capacity_of(s, c);
    e->arena_bytes =
        caviar_population_bytes(s->work.groups.shapes, capacity, s->work.groups.n_cohorts, sw->spec->keep == CAVIAR_KEEP_BEST);
    free(capacity);
  }
  const caviar_data *d = sw->data;
  double feature_bytes = d->train.x_u8 ? 1.0 : 4.0;
  e->data_bytes = (double)(d->train.n + d->test.n) * ((double)d->train.d * feature_bytes + 4.0);
  e->model_epochs = s->prog.planned_model_epochs;
  e->host_bytes = host_bytes(sw->spec, (double)s->sched.count * s->sched.rounds, s->sched.count, s->prog.planned_model_epochs);
  double seconds = 0;
  for (int i = 0; i < s->sched.count; i++) {
    int c = s->work.groups.cohort_of[i];
    size_t batch = (size_t)s->work.groups.shapes[c].batch;
    double steps = (double)(split->n_train / batch) + (double)split->n_val / (double)batch / 3.0;
    int b = caviar_bracket_of(&r->brackets, i);
    double epochs = caviar_bracket_expected_epochs(&r->brackets.brackets[b], r->brackets.eta, sw->spec->epochs);
    seconds += epochs * steps * s->work.calibration_s[c];
  }
  e->seconds = seconds * s->sched.rounds;
}

/* A lower bound on the population's memory, before a trial is drawn: every member at the smallest
 * shape the spec's space allows. A population that cannot fit even so is refused at once, not
 * after drawing and grouping millions of trials. */
static caviar_status check_memory_lower_bound(const caviar_sweep *sw, int population, caviar_error *err) {
  const caviar_spec *spec = sw->spec;
  caviar_hparams smallest = spec->fixed;
  for (int i = 0; i < spec->space.n; i++) {
    const caviar_param *p = &spec->space.params[i];
    if (!caviar_hp_is_structural(p->hp) || p->hp->type != CAVIAR_HP_INT) continue;
    double lo, hi;
    caviar_param_support(p, &lo, &hi);
    caviar_hp_set(&smallest, p->hp, lo < 1 ? 1 : ceil(lo));
  }
  caviar_shape shape = caviar_shape_of(&smallest, caviar_data_dims(sw->data), sw->data->classes);
  bool dropout = false;
  return sw->backend->plan(sw->backend, sw->data, &shape, &population, &dropout, 1, spec->keep == CAVIAR_KEEP_BEST, err);
}

/* The sweep, or with calibrate_steps > 0 only its first round's setup and calibration, whose
 * estimate goes into *estimate. */
static caviar_status sweep_run(const caviar_sweep *sweep, double time_budget_s, int calibrate_steps,
                               caviar_sweep_result *out, caviar_sweep_estimate *estimate, caviar_error *err) {
  memset(out, 0, sizeof *out);
  /* Every backend call is timed: what is not device time is the host's. */
  caviar_timed_backend timed;
  caviar_timed_backend_init(&timed, sweep->backend);
  caviar_sweep timed_sweep = *sweep;
  timed_sweep.backend = &timed.backend;
  sweep = &timed_sweep;
  const caviar_spec *spec = sweep->spec;
  run_state s = {.sweep = sweep,
                 .result = out,
                 .sched = {.time_budget_s = time_budget_s, .best = NAN},
                 .work = {.calibrate_steps = calibrate_steps},
                 .prog = {.start = caviar_now()}};
  s.sched.rounds = spec->rounds > 0 ? spec->rounds : 1;
  caviar_rungs_make(&spec->early_terminate, &out->rungs);
  if (sweep->data->task == CAVIAR_TASK_REGRESSION) out->target_std = sweep->data->target.std;
  /* Hyperband's brackets say how many trials a round draws; successive halving's one bracket
   * holds however many the sampler yields (a grid's size, say). */
  long long count = caviar_round_request(spec, sweep->trials);
  caviar_sampler sampler;
  caviar_status st = caviar_sampler_init(&sampler, spec, sweep->seed, count, err);
  if (st != CAVIAR_OK) return st;
  if (spec->method == CAVIAR_METHOD_TPE) st = caviar_tpe_new(&spec->tpe, sweep->seed, &s.sched.tpe, err);
  if (st != CAVIAR_OK) {
    caviar_sampler_free(&sampler);
    return st;
  }
  int per_round = (int)sampler.count;
  caviar_brackets_make(&spec->early_terminate, per_round, &out->brackets);
  for (int b = 0; b < out->brackets.n_brackets; b++)
    s.prog.planned_model_epochs += s.sched.rounds * out->brackets.brackets[b].trials *
                              caviar_bracket_expected_epochs(&out->brackets.brackets[b], out->brackets.eta, spec->epochs);
  long long population = spec->population > 0 && spec->population < per_round ? spec->population : per_round;
  st = check_memory_lower_bound(sweep, (int)population, err);
  if (st != CAVIAR_OK) {
    caviar_sampler_free(&sampler);
    return st;
  }
  /* The trials' own host memory (results, configurations, grouping, learning curves), estimated
   * before any of it is allocated: a huge grid or -n is refused at once, not after minutes. */
  double need = host_bytes(spec, (double)per_round * s.sched.rounds, per_round, s.prog.planned_model_epochs);
  double have = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  if (have > 0 && need > 0.8 * have) {
    caviar_sampler_free(&sampler);
    return caviar_fail(err, CAVIAR_EINPUT,
                       "%lld trials need about %.1f GiB of host memory for their results and learning curves, more "
                       "than 80%% of this machine's %.1f GiB: use fewer trials",
                       (long long)per_round * s.sched.rounds, need / (1 << 30), have / (1 << 30));
  }
  out->trials = caviar_alloc((size_t)per_round * (size_t)s.sched.rounds, sizeof *out->trials, "trial results", err);
  out->boxes = caviar_alloc((size_t)s.sched.rounds, sizeof *out->boxes, "round boxes", err);
  caviar_hparams *best = caviar_alloc((size_t)spec->coarse_to_fine.top_k, sizeof *best, "the zoom", err);
  caviar_space box = {0};
  if (!out->trials || !out->boxes || !best) st = CAVIAR_ERUNTIME;
  if (st == CAVIAR_OK) st = caviar_space_copy(&spec->space, &box, err);
  /* Resumed: the results so far come back from the snapshot, and its round is the first one run. */
  int first_round = 0;
  if (st == CAVIAR_OK && calibrate_steps == 0) st = caviar_state_begin(&s, per_round, &first_round, err);
  for (s.sched.round = 0; st == CAVIAR_OK && s.sched.round < s.sched.rounds; s.sched.round++) {
    if (s.sched.round < first_round) {
      /* A finished round: its box, and the zoom its results gave, as they were. */
      st = caviar_space_copy(&box, &out->boxes[s.sched.round], err);
      if (st != CAVIAR_OK) break;
      out->n_rounds++;
      int started = out->n_trials, n;
      out->n_trials = (s.sched.round + 1) * per_round;
      n = best_so_far(sweep, out, spec->coarse_to_fine.top_k, best);
      out->n_trials = started;
      st = caviar_zoom(&box, &spec->space, best, n, spec->coarse_to_fine.zoom, err);
      continue;
    }
    st = draw_round(&s, &sampler, &box, per_round, err);
    if (st == CAVIAR_OK) st = caviar_space_copy(&box, &out->boxes[s.sched.round], err);
    if (st == CAVIAR_OK) out->n_rounds++;
    if (st == CAVIAR_OK) st = run_round(&s, &box, err);
    if (st == CAVIAR_OK && calibrate_steps > 0) {
      estimate_from(&s, estimate);
      free_round(&s);
      break;
    }
    free_round(&s);
    if (s.sched.out_of_time || s.sched.at_target || out->interrupted) break;
    if (st == CAVIAR_OK && s.sched.round + 1 < s.sched.rounds) {
      int n = best_so_far(sweep, out, spec->coarse_to_fine.top_k, best);
      st = caviar_zoom(&box, &spec->space, best, n, spec->coarse_to_fine.zoom, err);
    }
  }
  out->out_of_time = s.sched.out_of_time;
  out->reached_target = s.sched.at_target;
  if (st == CAVIAR_OK && calibrate_steps == 0) st = caviar_ranks_finish(&s, err);
  caviar_sampler_free(&sampler);
  caviar_tpe_free(s.sched.tpe);
  caviar_space_free(&box);
  free(best);
  out->wall_seconds = s.prog.prior_wall + caviar_now() - s.prog.start;
  out->device_seconds = timed.seconds;
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

/* A dry run: sweep_run's calibrate_steps > 0 (calibrate() trains the sweep's own chunks). */
#define CALIBRATION_STEPS 1

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
    free(r->trials[i].lineage);
  }
  for (int i = 0; r->boxes && i < r->n_rounds; i++) caviar_space_free(&r->boxes[i]);
  free(r->boxes);
  free(r->trials);
  free(r->curve);
  free(r->ranks);
  memset(r, 0, sizeof *r);
}
