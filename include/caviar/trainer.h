#ifndef CAVIAR_TRAINER_H
#define CAVIAR_TRAINER_H
/* A sweep end to end: sample the trials, group them into cohorts, train them all epoch by epoch on
 * a backend, judge them on the validation split at every epoch, cull at the rungs, and finally
 * evaluate the survivors once on the test split. */

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdint.h>

#include "caviar/backend.h"
#include "caviar/data.h"
#include "caviar/json_text.h"
#include "caviar/world.h"
#include "caviar/schedule.h"
#include "caviar/spec.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

typedef enum caviar_trial_status {
  CAVIAR_TRIAL_RUNNING,
  CAVIAR_TRIAL_SURVIVED,
  CAVIAR_TRIAL_CULLED,
  CAVIAR_TRIAL_DIVERGED,
  CAVIAR_TRIAL_FAILED /* a study's trial its program reported failed (ranks with the diverged) */
} caviar_trial_status;

const char *caviar_trial_status_name(caviar_trial_status status);

/* PBT: an event of a trial's lineage: from `epoch` on it trained with hp, on trial `from`'s weights
 * copied then (-1: none, its start). */
typedef struct caviar_lineage_event {
  int epoch;
  int64_t from;
  caviar_hparams hp;
} caviar_lineage_event;

typedef struct caviar_trial_result {
  caviar_trial trial; /* with the hyperparameters it ended with (PBT changes them) */
  caviar_shape shape;
  int bracket;        /* Hyperband's bracket (index into brackets), 0 otherwise */
  caviar_lineage_event *lineage; /* PBT: n_lineage events, its start first; else NULL */
  int n_lineage;
  caviar_trial_status status;
  int epochs; /* epochs trained (the diverging one included) */
  float train_loss, val_loss, val_acc;
  float test_loss, test_acc; /* survivors only */
  float *params;             /* survivors only: packed tensor after tensor, as the layout orders them */
  /* The best validation epoch so far by the sweep's metric (ties: the earlier epoch), 0 before the
   * first; a PBT copy restarts it at the copy, with the donor's metrics then. */
  int best_epoch;
  float best_train_loss, best_val_loss, best_val_acc;
  bool kept_best; /* survivors: params (and the test figures) are the best epoch's (model.keep best) */
} caviar_trial_result;

/* The validation figures of the weights a trial kept: its best epoch's (kept_best), else its last
 * epoch's. The leaderboard ranks by these. */
static inline float caviar_kept_val_loss(const caviar_trial_result *t) {
  return t->kept_best ? t->best_val_loss : t->val_loss;
}
static inline float caviar_kept_val_acc(const caviar_trial_result *t) {
  return t->kept_best ? t->best_val_acc : t->val_acc;
}

typedef struct caviar_curve_point {
  uint32_t trial;
  int epoch; /* 1-based: after this many epochs */
  float train_loss, val_loss, val_acc;
} caviar_curve_point;

typedef struct caviar_progress {
  int round, rounds; /* coarse-to-fine round (0-based) and count; 0 and 1 otherwise */
  int epoch, epochs; /* epochs completed by the population (its epoch boundaries this round); the
                        most any trial trains (the spec's epochs) */
  int epoch_lo, epoch_hi; /* epochs completed by the trials training now: the least and the most
                             (equal when they started together; apart in a refilled population);
                             with none training, both the most any trial of the round trained */
  bool within_epoch; /* an update from inside an epoch (a terminal redraws it; a log skips it) */
  double epoch_done; /* within an epoch: the fraction of its training done so far */
  int rung, rungs;   /* next rung index, rung count of the first bracket (synchronous only) */
  int alive, trials; /* training now; started so far */
  int trained;       /* members that trained in the epoch just done (0 within an epoch) */
  int budget;        /* trials the sweep will train in all */
  const char *metric; /* the spec's metric: "val_acc" or "val_loss" */
  float best;        /* the best trial so far (caviar_result_leader: the leaderboard's first if the
                        sweep stopped here)'s value; NaN before the first evaluation */
  int best_trial;    /* that trial (-1: none yet) */
  int best_epoch;    /* the epoch its value is from */
  float best_alive;  /* the best current value among the trials still training; NaN if none */
  double model_samples;  /* trained by this process (a resumed sweep's earlier ones not counted) */
  double training_s;     /* seconds since this process's first training step */
  double model_samples_per_s; /* model_samples / training_s */
  double elapsed_s;
  double eta_s; /* seconds left, from the training rate measured so far; < 0 before any */
  double epochs_left; /* member-epochs the sweep is expected still to train (the ETA's count):
                         exact with everyone started together (the culls are known), an
                         expectation (1 / eta a rung) for trials started by refill */
} caviar_progress;

typedef void (*caviar_progress_fn)(const caviar_progress *progress, void *ctx);

typedef struct caviar_sweep_result caviar_sweep_result;
/* Called with the results so far (trials running, culled, diverged, survived) at epoch
 * boundaries: at every rung, at most every results_every seconds otherwise (either only while
 * writing them takes under 2% of the time since the last call), and when the sweep
 * stops early. An error stops the sweep. */
typedef caviar_status (*caviar_results_fn)(const caviar_sweep_result *r, void *ctx, caviar_error *err);

/* A sweep's state on disk (include/caviar/sweep_state.h): its journal and snapshots. */
typedef struct caviar_sweep_state caviar_sweep_state;

typedef struct caviar_sweep {
  const caviar_spec *spec;
  uint64_t seed;
  long long trials; /* < 0: the spec's; hyperband's brackets decide its own (the CLI refuses -n there) */
  caviar_backend *backend;
  const caviar_data *data;
  caviar_progress_fn progress; /* NULL: none (nothing is computed for it) */
  void *progress_ctx;
  void (*training_begins)(void *ctx); /* NULL, or called as each round's training begins (its
                                       * first members in place), before its first progress */
  void *training_begins_ctx;
  caviar_world *world; /* the ranks sharing the population (NULL: this process alone) */
  caviar_results_fn results; /* NULL: none until the end */
  void *results_ctx;
  double results_every;      /* seconds between calls of results away from rungs (<= 0: every epoch) */
  caviar_results_fn each_epoch; /* NULL, or called with the results so far at every epoch boundary
                                 * (after the journal and any snapshot; TensorBoard's files) */
  void *each_epoch_ctx;
  caviar_sweep_state *state; /* NULL: no journal, no snapshots; resuming when it holds a snapshot */
  const volatile sig_atomic_t *stop; /* set (by a signal handler): stop at the next epoch boundary */
} caviar_sweep;

/* One rank's part in a distributed sweep, as summary.json reports it. */
typedef struct caviar_rank_info {
  int rank;
  char host[256], device[160];
  int members;           /* trials it trained */
  double member_epochs;  /* epochs it trained, summed over its members */
  double cost;           /* the estimated work it was given (FLOPs, bytes weighted in) */
  double busy_s;         /* seconds training, judging and testing */
  double comm_s;         /* seconds in exchanges and messages */
  double wait_s;         /* seconds waiting for the other ranks at exchanges */
  double wall_s;         /* seconds from start to end */
  long long exchanges;   /* collective exchanges (two per epoch: results, then the agreement on
                          * stopping and snapshots; and a few per round) */
  int copies_in;         /* PBT: members copied into it from another rank's donor */
  int moved_in;          /* members moved to it from a busier rank after culls */
} caviar_rank_info;

struct caviar_sweep_result {
  caviar_brackets brackets; /* Hyperband's brackets and their rungs (one bracket otherwise) */
  int n_trials;
  caviar_trial_result *trials; /* indexed by trial id; coarse-to-fine round r holds ids r * trials .. */
  caviar_curve_point *curve;
  size_t n_curve, cap_curve;
  caviar_rungs rungs;
  caviar_space *boxes;  /* the search box each round sampled (one round unless coarse-to-fine) */
  int n_rounds;
  double wall_seconds;  /* from the first cohort allocation to the last test evaluation */
  double device_seconds; /* of this process's run: inside the backend's calls (training, validation, test,
                         * weights in and out); the rest of its wall time is the host's */
  double model_samples; /* training examples processed, summed over members */
  bool out_of_time;     /* the time budget stopped it: trials still "running" were stopped */
  bool reached_target;  /* a trial reached metric.target, which stopped it the same way */
  double target_std;    /* regression: losses are MSEs of targets standardised by this std; 0 else */
  int n_ranks;          /* > 0: a distributed sweep over this many ranks, one info each */
  caviar_rank_info *ranks;
  bool interrupted;     /* *stop ended it at an epoch boundary (a snapshot was written when state is set) */
};

caviar_status caviar_sweep_run(const caviar_sweep *sweep, caviar_sweep_result *out, caviar_error *err);
/* The sweep within a time budget in seconds (<= 0: none): it stops at a rung boundary (any epoch
 * boundary when the sweep has no rungs) once reaching the next one at the pace so far would pass
 * the budget, or at the first epoch boundary past it; the trials still training keep status
 * "running", no further round starts, and out_of_time is set. */
caviar_status caviar_sweep_run_within(const caviar_sweep *sweep, double time_budget_s, caviar_sweep_result *out,
                                      caviar_error *err);

/* What a sweep would do, from its first round's trials and a short calibration on the backend. */
typedef struct caviar_sweep_estimate {
  int trials;        /* per round */
  int rounds;
  int population;    /* most training at once */
  int n_cohorts;     /* shapes in the first round */
  double arena_bytes;   /* the population's parameters, gradients and optimizer state */
  double data_bytes;    /* the dataset as stored (features and labels) */
  double host_bytes;    /* the host's books of every trial: results, curves, outputs (estimated) */
  double model_epochs;  /* planned, summed over trials (early termination's expected cull) */
  double seconds;       /* estimated wall time of the whole sweep */
  double calibration_s; /* time the calibration took */
} caviar_sweep_estimate;

/* Allocates the first round's cohorts, trains each for a few steps and extrapolates; changes and
 * writes nothing else. */
caviar_status caviar_sweep_estimate_run(const caviar_sweep *sweep, caviar_sweep_estimate *out, caviar_error *err);

/* Trial indices best first (the leaderboard's order; docs/SPEC.md, "The best trial"): survivors,
 * then culled and stopped ones (more epochs first), then diverged; within each by value (the kept
 * weights' metric), then the other metric, then the trial id. */
void caviar_result_order(const caviar_spec *spec, const caviar_sweep_result *r, int *order);
/* Appends a point to the learning curves. */
caviar_status caviar_result_add_point(caviar_sweep_result *r, caviar_curve_point p, caviar_error *err);
/* The first of that order, in one pass (-1 when there are no trials): the best trial so far. */
int caviar_result_leader(const caviar_spec *spec, const caviar_sweep_result *r);
/* A trial's value: the sweep's metric, in its own units (val_rmse and val_mse in the target's, by
 * target_std), of the weights it keeps (its best epoch's under model.keep best, else its last
 * epoch's), and in *epoch the epoch it is from. NaN before its first validation or when diverged. */
double caviar_trial_value(const caviar_spec *spec, const caviar_trial_result *t, double target_std, int *epoch);
void caviar_sweep_result_free(caviar_sweep_result *r);

/* A trial's lineage as summary.json and the journal show it, [{"epoch": e, "from": donor trial or
 * null, "params": {...}}] (params as caviar_hparams_cjson makes them): a tree (as_read: each number
 * as a reader of its printed text gets it, report.html's numbers; NULL when memory runs out), and
 * the text caviar_json_put prints for that tree, without the tree. */
cJSON *caviar_lineage_cjson(const caviar_trial_result *t, bool as_read);
void caviar_lineage_put(caviar_text *text, const caviar_trial_result *t, bool formatted, int depth);



CAVIAR_C_END

#endif
