#include "caviar/sampler.h"

#include <string.h>

#include "caviar/counter_rng.h"

void caviar_sample_random(const caviar_space *space, const caviar_hparams *base, uint64_t seed, uint32_t id,
                          caviar_hparams *out) {
  *out = *base;
  for (int i = 0; i < space->n; i++) {
    const caviar_param *p = &space->params[i];
    caviar_rng_block r = caviar_rng(seed, id, CAVIAR_RNG_SAMPLE, caviar_name_hash(p->name));
    double u1 = caviar_u01_open(r.v[0], r.v[1]);
    double u2 = caviar_u01_open(r.v[2], r.v[3]);
    caviar_hp_set(out, p->hp, caviar_param_draw(p, u1, u2));
  }
}

caviar_status caviar_sampler_init(caviar_sampler *s, const caviar_spec *spec, uint64_t seed, long long count,
                                  caviar_error *err) {
  memset(s, 0, sizeof *s);
  s->spec = spec;
  s->space = &spec->space;
  s->seed = seed;
  s->count = count >= 0 ? count : spec->trials;
  if (spec->method != CAVIAR_METHOD_GRID) return CAVIAR_OK;
  caviar_status st = caviar_grid_build(&spec->space, &s->grid, err);
  if (st == CAVIAR_EINPUT) {
    caviar_error why = *err;
    return caviar_fail(err, st, "%s: %s", spec->source, why.msg);
  }
  if (st != CAVIAR_OK) return st;
  if (count < 0 && s->count > s->grid.size) s->count = s->grid.size;
  if (s->count > s->grid.size) {
    long size = s->grid.size;
    caviar_grid_free(&s->grid);
    return caviar_fail(err, CAVIAR_EINPUT, "the grid has %ld points, fewer than the %lld trials asked for", size,
                       s->count);
  }
  return CAVIAR_OK;
}

void caviar_sampler_draw(const caviar_sampler *s, uint32_t id, caviar_trial *out) {
  out->id = id;
  out->round = 0;
  if (s->spec->method == CAVIAR_METHOD_GRID) {
    out->hp = s->spec->fixed;
    caviar_grid_point(&s->grid, s->space, (long)id, &out->hp);
  } else {
    caviar_sample_random(s->space, &s->spec->fixed, s->seed, id, &out->hp);
  }
}

void caviar_sampler_free(caviar_sampler *s) { caviar_grid_free(&s->grid); }
