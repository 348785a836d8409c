#ifndef CAVIAR_TRAINER_INTERNAL_H
#define CAVIAR_TRAINER_INTERNAL_H
/* The state of a sweep in progress, shared by the trainer's files (trainer.c runs rounds and
 * epochs, pbt.c exploits and explores). Not part of the public API. */

#include "caviar/schedule.h"
#include "caviar/tpe.h"
#include "caviar/trainer.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

/* One running member's results of an epoch, as its rank reports them to every rank. */
typedef struct member_result {
  uint32_t index;       /* the trial's index in the round */
  float train_loss, val_loss, val_acc;
  uint8_t diverged;     /* in training, or its validation loss says so */
  uint8_t bad_params;   /* reached the last epoch with a NaN or Inf parameter */
  uint8_t unused[2];
} member_result;

/* What the schedule owns: the rounds, this round's trials and which of them run, the rung records,
 * and the reasons a sweep ends early (trainer.c decides; snapshot.c and journal.c keep it). */
typedef struct run_schedule {
  int round, rounds;
  caviar_tpe *tpe;             /* method tpe: every result so far, across rounds */
  bool resume_round;           /* resumed: this round's state comes from the snapshot (snapshot.c) */
  double time_budget_s;        /* > 0: caviar_sweep_run_within's budget */
  bool out_of_time;            /* the time budget ends the sweep at this epoch boundary */
  float best;                  /* the best metric value any trial reached at any epoch (NaN: none yet), for metric.target */
  bool at_target;              /* a trial reached metric.target: the sweep ends at this epoch boundary */
  /* This round: */
  caviar_trial *trials;        /* all of the round's trials, drawn up front */
  int count;                   /* how many */
  int next;                    /* the next one to start */
  int population;              /* most training at once */
  int running;
  int *live;                   /* the round's running trials by index (kept by fill: those that stopped go there) */
  int n_live;
  caviar_rung_record *records; /* per bracket and rung: who reached it, and with what */
  int tick;                    /* epochs the population has trained this round */
} run_schedule;

/* What the cohorts own (this round): the grouping into cohorts and their arenas, the minibatch
 * order, and the buffers an epoch's training and evaluation fill (trainer.c, pbt.c, ranks.c). */
typedef struct run_cohorts {
  caviar_grouping groups;
  caviar_cohort *cohorts;
  int n_allocated;
  int max_capacity;
  uint32_t *order;
  float *loss, *acc;
  caviar_epoch_stats stats;    /* of one chunk of an epoch */
  float *epoch_loss;           /* the epoch's mean training loss per slot, summed chunk by chunk */
  uint8_t *epoch_diverged;
  int *keep;                   /* compaction's scratch: the slots a cohort keeps (max_capacity + 1) */
  int trained;                 /* members that trained in the last epoch */
  int calibrate_steps;         /* > 0: a dry run (each cohort is timed on the sweep's own chunks) */
  double *calibration_s;       /* dry run: per cohort, seconds per member-step */
} run_cohorts;

/* What the outputs own: the clocks and counts behind progress lines, the ETA and the results
 * written so far (trainer.c's progress, snapshot.c's results writes). */
typedef struct run_progress {
  double start;
  double planned_model_epochs; /* of the whole sweep, for the ETA */
  double train_start;          /* when this process's first training step began (the rate) */
  double samples_at_start;     /* model_samples then (a resumed sweep's earlier ones) */
  int epochs_at_start;         /* epochs_run then */
  int epochs_run;              /* epoch boundaries passed, all rounds together */
  double last_report;          /* when progress was last reported */
  double prior_wall;           /* resumed: the wall seconds the sweep had run before */
  double last_results;         /* when sweep->results was last called */
  double results_s;            /* and how many seconds it took */
  int results_trials;          /* and for how many trials (0: none written yet) */
  /* This round, per cohort: */
  double *step_s;              /* seconds per member-step, as last measured */
  double *planned;             /* member-epochs the round is expected to train */
  double *trained_epochs;      /* member-epochs trained so far (fractions mid-epoch) */
  double *steady_s, *steady_steps; /* seconds and member-steps after its first chunk */
  double *cohort_done;         /* the fraction of this epoch's steps it has trained */
  double *left;                /* member-epochs the round is expected to train still */
  int *alive_in;               /* per bracket: trials training now (the ETA's scratch) */
  int *unstarted;              /* per cohort and bracket (c * brackets + b): trials not started yet,
                                  counted down as they start, from index unstarted_from on */
  int unstarted_from;
  double epoch_samples, epoch_samples_done; /* this epoch's member-samples: planned, trained */
  /* Of the trials out of s->sched.live (stopped: their ranking no longer changes), kept by
   * trainer.c's update_live so that a progress report looks at the running trials only: */
  int settled_leader;          /* the best by the leaderboard's order, all rounds (-1: none) */
  int settled_epochs;          /* the most epochs one of this round's trained */
} run_progress;

/* What the ranks own (host/train/ranks.c); one rank owns everything in a one-process run. */
typedef struct run_ranks {
  int *owner;                  /* per trial of the round: the rank training it (-1: not started) */
  uint8_t *cohort_started;     /* per cohort: whether any rank trained members of it this round */
  member_result *results;      /* this epoch: every running member's results, by cohort, then by trial */
  int n_results, results_cap;
  double *cohort_cost;         /* this round, per cohort: a member's estimated work an epoch (ranks.c) */
  double synced_samples;       /* model_samples of every rank, as of the last exchange */
  double busy_s;               /* this rank: seconds training, judging and testing */
  int members;                 /* this rank: trials it trained */
  double member_epochs, cost;  /* this rank: epochs it trained; estimated work it was given */
  int copies_in;               /* this rank: PBT copies it received from another rank */
  int moved_in;                /* this rank: members moved to it by rebalancing */
} run_ranks;

/* A sweep in progress: the sweep and its results, and each owner's part. */
typedef struct run_state {
  const caviar_sweep *sweep;
  caviar_sweep_result *result;
  run_schedule sched;
  run_cohorts work;
  run_progress prog;
  run_ranks rank;
} run_state;

/* For the tests: > 0 makes every chunk of an epoch this many steps (instead of about half a
 * second's worth) and reports progress after each one. */
extern int caviar_test_chunk_steps;

/* Exploit and explore: the bottom quantile of the running members copies a top member of the
 * same shape (weights and optimizer state, inside the arena) and perturbs or resamples its
 * real-valued swept hyperparameters; every change goes into the trials' lineage. */
caviar_status caviar_pbt_step(run_state *s, int epoch, caviar_error *err);
/* A PBT trial's lineage begins: {"epoch": 0, "from": null, "params": its sampled values}. */
caviar_status caviar_pbt_lineage_start(caviar_trial_result *t, caviar_error *err);

/* The ranks' side of the loop (ranks.c). Every rank holds the books of every trial (the same
 * decisions from the same numbers); a member's weights live on its owner's device only. */
static inline int caviar_run_rank(const run_state *s) { return caviar_world_rank(s->sweep->world); }
/* Gives trials [first, last) of the round an owner: the least-loaded rank by estimated cost that
 * has room in the trial's cohort (its cohorts hold ceil(capacity / ranks)), the costliest trial
 * first; the same on every rank. */
caviar_status caviar_ranks_assign(run_state *s, int first, int last, caviar_error *err);
/* After the culls (and before new trials are placed): while a member of the busiest rank can move to
 * the idlest one (room in its cohort there) and narrow the gap in estimated cost, it moves there,
 * weights, optimizer state and books, point to point; the same decisions on every rank. Where a
 * member trains does not change its numbers. */
caviar_status caviar_ranks_rebalance(run_state *s, caviar_error *err);
/* The slot of a trial in its cohort on its owner (-1: not there). */
int caviar_ranks_slot(const caviar_cohort *c, uint32_t trial);
/* This rank's members' results of the epoch to every rank: s->results gets all of them in the
 * one-process order (by cohort, then by trial index), model_samples every rank's. */
caviar_status caviar_ranks_exchange(run_state *s, const member_result *mine, int n_mine, caviar_error *err);
/* PBT's copy of the donor trial (index from) over the member of trial index to, wherever they
 * live: inside a cohort, or from the donor's rank to the recipient's (point to point). */
caviar_status caviar_ranks_copy(run_state *s, int cohort, int from, int to, caviar_error *err);
/* After the round's test evaluation (each rank its own survivors): every rank gets the test
 * results; the owners other than rank 0 let their copies of the weights go. */
caviar_status caviar_ranks_gather_tests(run_state *s, caviar_error *err);
/* Right after the judging: each survivor of this epoch that lives on another rank sends rank 0 the
 * weights it keeps, so rank 0 holds every finished survivor's (for the results so far and the
 * snapshots); the owner keeps its copy for the test pass. */
caviar_status caviar_ranks_send_survivors(run_state *s, caviar_error *err);
/* What every rank does at an epoch boundary, agreed: a stop any rank was asked for, the rest as rank
 * 0 says (its clock decides what is timed). */
enum {
  CAVIAR_AGREE_STOP = 1,     /* a signal asked to stop (any rank's) */
  CAVIAR_AGREE_ANY = CAVIAR_AGREE_STOP,
  CAVIAR_AGREE_SNAPSHOT = 2, /* a snapshot is due */
  CAVIAR_AGREE_LATE = 4      /* the time budget ends the sweep here */
};
caviar_status caviar_ranks_agree_epoch(run_state *s, unsigned *flags, caviar_error *err);
/* A resumed round's owners: those saved with the snapshot when the number of ranks is the same;
 * otherwise the running members placed again by cost; a trial that stopped running is rank 0's. */
caviar_status caviar_ranks_restore(run_state *s, const int32_t *saved, int saved_size, caviar_error *err);
/* At the end: every rank's part, into the result (distributed sweeps only). */
caviar_status caviar_ranks_finish(run_state *s, caviar_error *err);

CAVIAR_C_END

#endif
