#ifndef CAVIAR_POPULATION_H
#define CAVIAR_POPULATION_H
/* The population: trials grouped into cohorts of identical shape, each cohort with one arena per
 * kind of state (parameters, gradients, optimizer moments) in one shared layout.
 *
 * Layout (column-major throughout, as cuBLAS): layer l maps n_in -> n_out with a weight block of
 * n_in x n_out (leading dimension n_in; the same bytes as PyTorch's row-major out x in) and a bias
 * of n_out. The arena is tensor-major: tensor t of every member, member after member, then tensor
 * t + 1. So the first-layer weights of the whole cohort form one n_in x (N * hidden) matrix (one
 * GEMM over a shared minibatch, DESIGN.md), every member's block of every tensor is contiguous
 * (a cull or copy is one block move per tensor), and the optimizer walks the arena as flat
 * segments, each with its member's hyperparameters. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caviar/hostdevice.h"
#include "caviar/hparams.h"
#include "caviar/model_math.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

#define CAVIAR_MAX_TENSORS (2 * (CAVIAR_MAX_LAYERS + 1))
/* Member blocks start on 64-byte boundaries (16 floats): aligned vector loads, no false sharing. */
#define CAVIAR_BLOCK_ALIGN 16

typedef struct caviar_shape {
  int inputs, classes;
  int layers, hidden, batch;
} caviar_shape;

typedef struct caviar_layout {
  int n_tensors;                        /* weight, bias for each of layers + 1 linear maps */
  int rows[CAVIAR_MAX_TENSORS];         /* weight: n_in; bias: n_out */
  int cols[CAVIAR_MAX_TENSORS];         /* weight: n_out; bias: 1 */
  size_t size[CAVIAR_MAX_TENSORS];      /* elements per member */
  size_t stride[CAVIAR_MAX_TENSORS];    /* size rounded up to CAVIAR_BLOCK_ALIGN */
  size_t offset[CAVIAR_MAX_TENSORS];    /* start of the tensor's section in the arena */
  size_t per_member;                    /* parameters per member (sum of size) */
  size_t arena;                         /* elements of one arena for `capacity` members */
  int capacity;
} caviar_layout;

void caviar_layout_make(const caviar_shape *shape, int capacity, caviar_layout *out);
/* Arenas a cohort keeps in one layout: parameters, gradients, the optimizer's first and second
 * state, and with model.keep best a fifth, each member's parameters at its best validation epoch
 * (a shadow copy). Both backends allocate exactly caviar_arena_count of them;
 * caviar_population_bytes is their size for cohorts of these shapes and member counts (what a
 * memory plan checks first). */
#define CAVIAR_ARENAS 4
static inline int caviar_arena_count(bool keep_best) { return CAVIAR_ARENAS + (keep_best ? 1 : 0); }
double caviar_population_bytes(const caviar_shape *shapes, const int *members, int n_cohorts, bool keep_best);
/* Width of linear map l (0-based) on its input and output side. */
int caviar_layer_in(const caviar_shape *shape, int l);
int caviar_layer_out(const caviar_shape *shape, int l);
/* Weights (not biases) per member and their forward FLOPs per sample: 2 per weight. */
size_t caviar_shape_weights(const caviar_shape *shape);
/* Whether every one of n parameters is finite: the second half of the divergence test (with ReLU a
 * NaN weight can leave the loss finite: z > 0 ? z : 0 turns NaN into 0). */
bool caviar_params_finite(const float *params, size_t n);
/* The FLOPs a training step counts per sample: 2 per weight forward, 2 for the weight gradient,
 * 2 for the input gradient of every layer but the first. */
double caviar_shape_train_flops(const caviar_shape *shape);

/* Tensor indices, the one place they are spelled out: linear map l's weight is tensor 2l, its bias
 * tensor 2l + 1. */
static inline CAVIAR_HD int caviar_weight_tensor(int l) { return 2 * l; }
static inline CAVIAR_HD int caviar_bias_tensor(int l) { return 2 * l + 1; }
static inline CAVIAR_HD bool caviar_tensor_is_weight(int t) { return t % 2 == 0; }
static inline CAVIAR_HD int caviar_tensor_layer(int t) { return t / 2; }

static inline float *caviar_block(float *arena, const caviar_layout *layout, int tensor, int member) {
  return arena + layout->offset[tensor] + (size_t)member * layout->stride[tensor];
}

/* A cohort's bookkeeping, shared by every backend: which trial is in which slot, with what
 * hyperparameters, how many optimizer steps and epochs taken. Slots 0 .. n-1 are alive. population.c
 * is the only writer: backends read the books and move memory blocks; what a training call did
 * comes back in its stats and the caller books it (caviar_cohort_train and friends, backend.h). */
typedef struct caviar_cohort {
  caviar_shape shape;
  caviar_layout layout;
  int n;
  uint32_t *trial;          /* trial id per slot */
  caviar_hparams *hparams;  /* per slot: the values (as sampled, or as PBT changed them): the source */
  caviar_member_hp *hp;     /* per slot: derived from hparams in caviar_cohort_set_hparams, as trained */
  int *steps;               /* optimizer steps taken per slot (Adam's t, the dropout counter) */
  int *epochs;              /* epochs trained per slot (the learning-rate decay's epoch) */
  int *taken;               /* per slot: steps taken by the backend's last train_epoch call */
  uint64_t seed;
  bool keep_best;           /* a fifth arena: each slot's parameters at its best validation epoch */
  void *impl;               /* the backend's state */
} caviar_cohort;


/* Groups trials by shape. Returns the number of cohorts; cohort_of[i] says where trial i went. */
typedef struct caviar_grouping {
  int n_cohorts;
  caviar_shape *shapes;
  int *members;   /* per cohort */
  int *cohort_of; /* per trial */
  int *slot_of;   /* per trial: slot within its cohort */
} caviar_grouping;

caviar_status caviar_group_trials(const caviar_trial *trials, int n_trials, int inputs, int classes,
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
