#include "caviar/sampler.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/counter_rng.h"
#include "caviar/model.h"
#include "caviar/qmc.h"

/* The counter index of a parameter's draws: FNV-1a of its name, or of its nested keys joined by a
 * byte no name holds (so a nested a.b and a flat "a.b" draw apart). */
static uint32_t param_key(const caviar_param *p) {
  if (!p->keys) return caviar_name_hash(p->name);
  uint32_t h = 2166136261u;
  for (int k = 0; k < p->n_keys; k++) {
    if (k) h = (h ^ 0x1fu) * 16777619u;
    for (const char *c = p->keys[k]; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
  }
  return h;
}

double caviar_sample_param(const caviar_param *p, uint64_t seed, uint32_t id) {
  caviar_rng_block r = caviar_rng(seed, id, CAVIAR_RNG_SAMPLE, param_key(p));
  double u1 = caviar_u01_open(r.v[0], r.v[1]);
  double u2 = caviar_u01_open(r.v[2], r.v[3]);
  return caviar_param_draw(p, u1, u2);
}

void caviar_sample_random(const caviar_space *space, const caviar_hparams *base, uint64_t seed, uint32_t id,
                          caviar_hparams *out) {
  *out = *base;
  for (int i = 0; i < space->n; i++) caviar_hp_set(out, space->params[i].hp, caviar_sample_param(&space->params[i], seed, id));
  caviar_space_apply_conditions(space, base, out);
}

void caviar_sample_qmc(caviar_qmc *qmc, const caviar_space *space, const caviar_hparams *base, uint32_t id,
                       caviar_hparams *out) {
  double u[CAVIAR_QMC_MAX_DIMS];
  *out = *base;
  caviar_qmc_point(qmc, id, u);
  for (int i = 0; i < space->n; i++) caviar_hp_set(out, space->params[i].hp, caviar_param_quantile(&space->params[i], u[i]));
  caviar_space_apply_conditions(space, base, out);
}

/* Grid index k's digit for parameter i (the last parameter varies fastest). */
static long grid_digit(const caviar_grid *grid, long k, int i) {
  for (int j = grid->n_params - 1; j > i; j--) k /= grid->counts[j];
  return k % grid->counts[i];
}

/* A grid point whose inactive parameter (a condition's, or one its model does not use) is not at
 * its first value repeats one that is: keep only the first of each. */
static caviar_status index_active_grid(caviar_sampler *s, caviar_error *err) {
  const caviar_space *space = s->space;
  long kept = 0;
  s->grid_index = caviar_alloc((size_t)s->grid.size, sizeof *s->grid_index, "the grid", err);
  if (!s->grid_index) return CAVIAR_ERUNTIME;
  for (long k = 0; k < s->grid.size; k++) {
    caviar_hparams hp = s->spec->fixed;
    caviar_grid_point(&s->grid, space, k, &hp);
    caviar_space_apply_conditions(space, &s->spec->fixed, &hp);
    bool repeat = false;
    for (int i = 0; i < space->n && !repeat; i++)
      repeat = !caviar_hp_active(&hp, space->params[i].hp) && grid_digit(&s->grid, k, i) != 0;
    if (!repeat) s->grid_index[kept++] = k;
  }
  s->grid.size = kept;
  return CAVIAR_OK;
}

caviar_status caviar_sampler_init(caviar_sampler *s, const caviar_spec *spec, uint64_t seed, long long count,
                                  caviar_error *err) {
  memset(s, 0, sizeof *s);
  s->spec = spec;
  s->space = &spec->space;
  s->seed = seed;
  s->count = count >= 0 ? count : spec->trials;
  if (spec->method == CAVIAR_METHOD_SOBOL || spec->method == CAVIAR_METHOD_TPE)
    return spec->space.n > 0 ? caviar_qmc_new(spec->space.n, seed, &s->qmc, err) : CAVIAR_OK;
  if (spec->method != CAVIAR_METHOD_GRID) return CAVIAR_OK;
  caviar_status st = caviar_grid_build(&spec->space, &s->grid, err);
  if (st == CAVIAR_EINPUT) {
    caviar_error why = *err;
    return caviar_fail(err, st, "%s: %s", spec->source, why.msg);
  }
  bool may_repeat = caviar_space_has_conditions(&spec->space);
  for (int i = 0; i < spec->space.n; i++) /* (outside code's parameters are no row of caviar_hp_table) */
    may_repeat = may_repeat || (spec->space.params[i].hp && !caviar_hp_applies_always(spec->space.params[i].hp));
  if (st == CAVIAR_OK && may_repeat) st = index_active_grid(s, err);
  if (st != CAVIAR_OK) return st;
  /* trials, run_cap and -n cap a grid alike (W&B's run_cap does): never more than its points. */
  if (s->count > s->grid.size) s->count = s->grid.size;
  return CAVIAR_OK;
}

void caviar_sampler_draw(const caviar_sampler *s, uint32_t id, caviar_trial *out) {
  out->id = id;
  out->round = 0;
  if (s->spec->method == CAVIAR_METHOD_GRID) {
    out->hp = s->spec->fixed;
    caviar_grid_point(&s->grid, s->space, s->grid_index ? s->grid_index[id] : (long)id, &out->hp);
    caviar_space_apply_conditions(s->space, &s->spec->fixed, &out->hp);
  } else if (s->qmc) {
    caviar_sample_qmc(s->qmc, s->space, &s->spec->fixed, id, &out->hp);
  } else {
    caviar_sample_random(s->space, &s->spec->fixed, s->seed, id, &out->hp);
  }
}

void caviar_sampler_values(const caviar_sampler *s, uint32_t id, double *values) {
  const caviar_space *space = s->space;
  if (s->spec->method == CAVIAR_METHOD_GRID) {
    caviar_grid_values(&s->grid, s->grid_index ? s->grid_index[id] : (long)id, values);
  } else if (s->qmc) {
    double u[CAVIAR_QMC_MAX_DIMS];
    caviar_qmc_point(s->qmc, id, u);
    for (int i = 0; i < space->n; i++) values[i] = caviar_param_quantile(&space->params[i], u[i]);
  } else {
    for (int i = 0; i < space->n; i++) values[i] = caviar_sample_param(&space->params[i], s->seed, id);
  }
}

void caviar_sampler_free(caviar_sampler *s) {
  caviar_grid_free(&s->grid);
  free(s->grid_index);
  caviar_qmc_free(s->qmc);
  s->grid_index = NULL;
  s->qmc = NULL;
}
