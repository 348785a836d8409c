#ifndef CAVIAR_POPULATION_H
#define CAVIAR_POPULATION_H
/* The population: trials grouped into cohorts of one shape (model.h: the structural
 * hyperparameters), each cohort with one arena per kind of state (parameters, gradients, optimizer
 * moments, best-epoch copies) in one shared layout (model.h's caviar_layout), allocated through its
 * backend's buffer interface (backend.h), and the books of every member. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caviar/hostdevice.h"
#include "caviar/hparams.h"
#include "caviar/model.h"
#include "caviar/model_math.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

/* The arenas of a cohort, one layout: parameters (with running statistics), the optimizer's first
 * and second state, with model.keep best each member's parameters at its best validation epoch,
 * and the gradients (scratch: zero between steps on the CPU, overwritten by every backward on the
 * GPU, so compaction and copies never move them). */
typedef enum caviar_arena {
  CAVIAR_ARENA_PARAMS,
  CAVIAR_ARENA_FIRST,
  CAVIAR_ARENA_SECOND,
  CAVIAR_ARENA_BEST,
  CAVIAR_ARENA_GRADS,
  CAVIAR_ARENA_KINDS
} caviar_arena;

/* Arenas a cohort allocates: parameters, gradients, the optimizer's first and second state, and
 * with model.keep best a fifth. Both backends allocate exactly caviar_arena_count of them (through
 * their buffer interface); caviar_population_bytes is their size for cohorts of these shapes and
 * member counts (what a memory plan checks first). */
#define CAVIAR_ARENAS 4
static inline int caviar_arena_count(bool keep_best) { return CAVIAR_ARENAS + (keep_best ? 1 : 0); }
double caviar_population_bytes(const caviar_shape *shapes, const int *members, int n_cohorts, bool keep_best);

/* A cohort's bookkeeping, shared by every backend: which trial is in which slot, with what
 * hyperparameters, how many optimizer steps and epochs taken. Slots 0 .. n-1 are alive. population.c
 * is the only writer: backends read the books and move memory blocks; what a training call did
 * comes back in its stats and the caller books it (caviar_cohort_train and friends, backend.h). */
typedef struct caviar_cohort {
  caviar_shape shape;
  caviar_arch arch;         /* the model every member has (caviar_arch_of(shape)) */
  caviar_layout layout;
  int n;
  uint32_t *trial;          /* trial id per slot */
  caviar_hparams *hparams;  /* per slot: the values (as sampled, or as PBT changed them): the source */
  caviar_member_hp *hp;     /* per slot: derived from hparams in caviar_cohort_set_hparams, as trained */
  int *steps;               /* optimizer steps taken per slot (Adam's t, the dropout counter) */
  int *epochs;              /* epochs trained per slot (the learning-rate decay's epoch) */
  int *taken;               /* per slot: steps taken by the backend's last train_epoch call */
  uint64_t seed;
  uint32_t tick;            /* the epoch order's index (caviar_epoch_order) of the rows train_epoch is
                             * given: with the seed, the key of the data augmentation (caviar/augment.h) */
  bool keep_best;           /* a fifth arena: each slot's parameters at its best validation epoch */
  float *arena[CAVIAR_ARENA_KINDS]; /* in the backend's memory (device pointers on a GPU); BEST only with keep_best */
  void *impl;               /* the backend's own state (workspaces, activations) */
} caviar_cohort;


/* Groups trials by shape. Returns the number of cohorts; cohort_of[i] says where trial i went. */
typedef struct caviar_grouping {
  int n_cohorts;
  caviar_shape *shapes;
  int *members;   /* per cohort */
  int *cohort_of; /* per trial */
  int *slot_of;   /* per trial: slot within its cohort */
} caviar_grouping;

caviar_status caviar_group_trials(const caviar_trial *trials, int n_trials, caviar_dims image, int classes,
                                  caviar_grouping *out, caviar_error *err);
void caviar_grouping_free(caviar_grouping *g);

/* Allocates the bookkeeping for capacity members (backend state is the backend's job). */
caviar_status caviar_cohort_init(caviar_cohort *c, const caviar_shape *shape, int capacity, uint64_t seed,
                                 caviar_error *err);
void caviar_cohort_free(caviar_cohort *c);
/* Before the backend allocates: the cohort keeps a best-epoch copy of every slot's parameters
 * (model.keep best; the backend allocates the fifth arena and moves it with the member). */
void caviar_cohort_keep_best(caviar_cohort *c);
/* Puts trial into slot n at step 0 and epoch 0 and increments n (the backend initialises its
 * weights); _resumed puts it there with the progress it had (a checkpoint's model). */
void caviar_cohort_add(caviar_cohort *c, const caviar_trial *trial);
void caviar_cohort_add_resumed(caviar_cohort *c, const caviar_trial *trial, int steps, int epochs);
/* A slot's hyperparameters: the values and, derived from them here and nowhere else, the floats
 * the backends train with. */
void caviar_cohort_set_hparams(caviar_cohort *c, int slot, const caviar_hparams *hp);
/* After a backend moved memory: keeps the slots listed (ascending) at the front; gives dst the
 * step and epoch counts of src (its trial and hyperparameters stay its own). */
void caviar_cohort_compact_books(caviar_cohort *c, const int *keep, int n_keep);
void caviar_cohort_copy_books(caviar_cohort *c, int src, int dst);
/* Gives a slot the step and epoch counts of a member whose state came from elsewhere (another
 * rank's donor in PBT's exploit). */
void caviar_cohort_set_progress(caviar_cohort *c, int slot, int steps, int epochs);
/* After a train_epoch call: every slot has taken c->taken[slot] more steps. */
void caviar_cohort_count_steps(caviar_cohort *c);
/* After every slot has trained one more whole epoch (the learning-rate decay moves on). */
void caviar_cohort_end_epoch(caviar_cohort *c);

CAVIAR_C_END

#endif
