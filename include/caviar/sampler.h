#ifndef CAVIAR_SAMPLER_H
#define CAVIAR_SAMPLER_H
/* Turns a spec into trial configurations. Trial k's config is a pure function of (seed, k) and the
 * space: random draws are keyed by (seed, trial id, parameter name) through the counter RNG, grid
 * point k is the k-th point of the product. So trial k is the same whether 10 or 10,000 are drawn. */

#include <stdint.h>

#include "caviar/grid.h"
#include "caviar/hparams.h"
#include "caviar/spec.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

struct caviar_qmc;

typedef struct caviar_sampler {
  const caviar_spec *spec;
  const caviar_space *space; /* the box being sampled: the spec's space, or a zoomed round's */
  uint64_t seed;
  caviar_grid grid; /* grid method only */
  long *grid_index; /* grid with conditions: the product indices whose inactive parameters sit at
                       their first point (the others repeat them); NULL: every index */
  struct caviar_qmc *qmc; /* sobol, and tpe's startup: the scrambled sequence */
  long long count;  /* trials this sampler yields */
} caviar_sampler;

/* count < 0 takes the spec's own (trials, or the grid's size capped by trials). */
caviar_status caviar_sampler_init(caviar_sampler *s, const caviar_spec *spec, uint64_t seed, long long count,
                                  caviar_error *err);
/* Trial id of the sampler's sequence (0 <= id < count for grid): caviar's models' config. */
void caviar_sampler_draw(const caviar_sampler *s, uint32_t id, caviar_trial *out);
/* The same trial as each parameter's value, in space order (list family: the index of its value):
 * what outside code's configs are made of (caviar_values_json). values holds space->n. */
void caviar_sampler_values(const caviar_sampler *s, uint32_t id, double *values);
void caviar_sampler_free(caviar_sampler *s);

/* One random draw of every parameter of space for trial id, over the fixed values in base;
 * parameters a condition switches off keep base's value and are marked inactive. */
void caviar_sample_random(const caviar_space *space, const caviar_hparams *base, uint64_t seed, uint32_t id,
                          caviar_hparams *out);
/* Parameter p's random draw for trial id: keyed by its name (nested: its keys), so adding a
 * parameter changes no other's draws. */
double caviar_sample_param(const caviar_param *p, uint64_t seed, uint32_t id);
/* Point id of a scrambled quasi-random sequence over space (one dimension per parameter, in spec
 * order), each coordinate mapped through its parameter's quantile function. */
void caviar_sample_qmc(struct caviar_qmc *qmc, const caviar_space *space, const caviar_hparams *base, uint32_t id,
                       caviar_hparams *out);

CAVIAR_C_END

#endif
