#ifndef CAVIAR_CUDA_PLAN_H
#define CAVIAR_CUDA_PLAN_H
/* Device memory planning for the CUDA backend, in plain C so it is tested without a GPU: what a
 * cohort needs on the device, whether a population fits, and how many members would. The backend
 * checks the whole population against the free memory before allocating anything, so a population
 * too big fails up front with a number to use instead of crashing halfway. */

#include <stdbool.h>
#include <stddef.h>

#include "caviar/population.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

/* Every device buffer of one cohort: the one description that the memory plan adds up and that the
 * CUDA backend allocates (kernels/backend_cuda.cu), element counts of each buffer, from the
 * cohort's architecture (model.h). */
typedef struct caviar_cuda_buffers {
  size_t arena;    /* floats, each of four: parameters, gradients, two optimizer slots */
  size_t best;     /* floats: the best-epoch copy of the parameters (model.keep best), else 0 */
  size_t xt;       /* floats: the gathered minibatch, inputs x batch */
  size_t labels;   /* int32: the minibatch's labels */
  size_t act;      /* floats: every layer's output but the last and dropout's, members x batch x its size
                    * (an activation works in place: none of its own) */
  size_t out;      /* floats: dropout's outputs (0 when no member uses dropout) */
  size_t delta;    /* floats, each of two gradient buffers: members x batch x the widest layer output */
  size_t logits;   /* floats: members x batch x classes */
  size_t patches;  /* floats: convolutions' unfolded inputs, a chunk of members at a time */
  size_t stats;    /* floats: batch norm's mean and 1/std per member and channel, every such layer */
  size_t members;  /* per-member vectors: hyperparameters, trial ids, step and epoch counters, step
                    * scalars, divergence flags, loss sums, evaluation sums and counts */
} caviar_cuda_buffers;

/* Members whose inputs a convolution unfolds at once: as many as fit 256 MiB of patches (at least
 * one, at most the capacity). */
int caviar_cuda_patch_members(const caviar_shape *shape, int capacity);

/* Bytes of one member's entries in the per-member vectors (caviar_member_hp, a trial id, steps,
 * epochs, caviar_step_scalars, a flag byte, a float loss sum, a double and a 64-bit count). */
size_t caviar_cuda_member_bytes(void);

void caviar_cuda_buffers_of(const caviar_shape *shape, int capacity, bool dropout, bool keep_best,
                            caviar_cuda_buffers *out);
/* Total device bytes of a cohort: every buffer above, each as many times as it is allocated. */
double caviar_cuda_cohort_bytes(const caviar_shape *shape, int capacity, bool dropout, bool keep_best);

/* The population's device bytes (dataset bytes included) against a budget; when it does not fit,
 * *fit is how many members would (the same mix, scaled down), else the population size. */
bool caviar_cuda_population_fits(const caviar_shape *shapes, const int *members, const bool *dropout, int n_cohorts,
                                 bool keep_best, double data_bytes, double budget_bytes, double *need_bytes, int *fit);

/* Members per layer-1 GEMM. The stacked product (the minibatch against every member's first-layer
 * weights side by side) goes through cuBLAS's 32-bit API, whose sizes are ints: each GEMM takes at
 * most this many members, so that no operand (inputs x members*hidden weights, batch x
 * members*hidden outputs) holds 2^31 elements or more. */
int caviar_cuda_stacked_chunk(int inputs, int batch, int hidden);

/* Whether a captured step graph still describes the cohort: it bakes in the member count (the
 * GEMM batch counts and kernel grids) and buffer addresses (the cohort's, and the dataset's,
 * which every upload replaces), so any change means recapture. */
typedef struct caviar_graph_key {
  int members;
  const void *arena;
  unsigned data_generation;
} caviar_graph_key;

bool caviar_graph_key_matches(const caviar_graph_key *captured, const caviar_graph_key *now);

CAVIAR_C_END

#endif
