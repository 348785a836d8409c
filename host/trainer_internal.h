#ifndef CAVIAR_TRAINER_INTERNAL_H
#define CAVIAR_TRAINER_INTERNAL_H
/* The state of a sweep in progress, shared by the trainer's files (trainer.c runs rounds and
 * epochs, pbt.c exploits and explores). Not part of the public API. */

#include "caviar/tpe.h"
#include "caviar/trainer.h"

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
  caviar_tpe *tpe;             /* method tpe: every result so far, across rounds */
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
  caviar_epoch_stats stats;
  int max_capacity;
  int tick;             /* epochs the population has trained this round */
} run_state;

/* Exploit and explore: the bottom quantile of the running members copies a top member of the
 * same shape (weights and optimizer state, inside the arena) and perturbs or resamples its
 * real-valued swept hyperparameters; every change goes into the trials' lineage. */
caviar_status caviar_pbt_step(run_state *s, int epoch, caviar_error *err);

#endif
