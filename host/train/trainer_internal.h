#ifndef CAVIAR_TRAINER_INTERNAL_H
#define CAVIAR_TRAINER_INTERNAL_H
/* The state of a sweep in progress, shared by the trainer's files (trainer.c runs rounds and
 * epochs, pbt.c exploits and explores). Not part of the public API. */

#include "caviar/tpe.h"
#include "caviar/trainer.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

/* The metric values every trial reached a rung with, for asynchronous promotion decisions. */
typedef struct rung_record {
  int n, cap;
  float *loss, *acc;
  uint32_t *trial;
} rung_record;

typedef struct run_state {
  const caviar_sweep *sweep;
  caviar_sweep_result *result;
  int round, rounds;
  double start;
  double planned_model_epochs; /* of the whole sweep, for the ETA */
  double train_start;          /* when the first training step began (the ETA's rate) */
  int epochs_run;              /* epoch boundaries passed, all rounds together */
  double last_report;          /* when progress was last reported */
  float best;                  /* the best metric value reached so far (NaN: none yet) */
  double time_budget_s;        /* > 0: caviar_sweep_run_within's budget */
  bool out_of_time;            /* the time budget ends the sweep at this epoch boundary */
  int calibrate_steps;         /* > 0: a dry run; each cohort trains this many steps once */
  caviar_tpe *tpe;             /* method tpe: every result so far, across rounds */
  double prior_wall;           /* resumed: the wall seconds the sweep had run before */
  double last_results;         /* when sweep->results was last called */
  bool resume_round;           /* resumed: this round's state comes from the snapshot (sweep_state.c) */
  /* This round: */
  caviar_trial *trials; /* all of the round's trials, drawn up front */
  int count;            /* how many */
  int next;             /* the next one to start */
  int population;       /* most training at once */
  int running;
  int trained;          /* members that trained in the last epoch */
  caviar_grouping groups;
  caviar_cohort *cohorts;
  int n_allocated;
  rung_record *records; /* per bracket and rung */
  uint32_t *order;
  float *loss, *acc;
  caviar_epoch_stats stats;  /* of one chunk of an epoch */
  float *epoch_loss;         /* the epoch's mean training loss per slot, summed chunk by chunk */
  uint8_t *epoch_diverged;
  double *step_s;            /* per cohort: seconds per member-step, as last measured */
  double *planned;           /* per cohort: member-epochs the round is expected to train */
  double *trained_epochs;    /* per cohort: member-epochs trained so far (fractions mid-epoch) */
  double *steady_s, *steady_steps; /* per cohort: seconds and member-steps after its first chunk */
  double epoch_samples, epoch_samples_done; /* this epoch's member-samples: planned, trained */
  double *calibration_s;     /* dry run: per cohort, seconds per member-step */
  int max_capacity;
  int tick;             /* epochs the population has trained this round */
} run_state;

/* For the tests: > 0 makes every chunk of an epoch this many steps (instead of about half a
 * second's worth) and reports progress after each one. */
extern int caviar_test_chunk_steps;

/* Exploit and explore: the bottom quantile of the running members copies a top member of the
 * same shape (weights and optimizer state, inside the arena) and perturbs or resamples its
 * real-valued swept hyperparameters; every change goes into the trials' lineage. */
caviar_status caviar_pbt_step(run_state *s, int epoch, caviar_error *err);

CAVIAR_C_END

#endif
