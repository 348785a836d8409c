#include "caviar/population.h"

#include <stdlib.h>
#include <string.h>

static caviar_member_hp member_hp_from(const caviar_hparams *hp) {
  caviar_member_hp m = {(float)hp->learning_rate, (float)hp->beta1,   (float)hp->beta2,  (float)hp->epsilon,
                        (float)hp->l2,            (float)hp->dropout, (float)hp->lr_decay, hp->optimizer,
                        hp->activation,           (float)hp->bn_momentum};
  return m;
}

/* Each trial finds its cohort through a hash table of shapes (open addressing, at most half
 * full): linear in the trials however many shapes there are, not trials x cohorts. */
caviar_status caviar_group_trials(const caviar_trial *trials, int n_trials, caviar_dims image, int classes,
                                  caviar_grouping *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  size_t table_size = 64;
  int *table = malloc(table_size * sizeof *table);
  out->shapes = caviar_alloc((size_t)n_trials, sizeof *out->shapes, "cohort shapes", err);
  out->members = caviar_alloc((size_t)n_trials, sizeof *out->members, "cohort sizes", err);
  out->cohort_of = caviar_alloc((size_t)n_trials, sizeof *out->cohort_of, "cohort assignment", err);
  out->slot_of = caviar_alloc((size_t)n_trials, sizeof *out->slot_of, "cohort assignment", err);
  if (!table || !out->shapes || !out->members || !out->cohort_of || !out->slot_of) {
    free(table);
    caviar_grouping_free(out);
    return table ? CAVIAR_ERUNTIME : caviar_fail(err, CAVIAR_ERUNTIME, "out of memory grouping trials");
  }
  for (size_t k = 0; k < table_size; k++) table[k] = -1;
  for (int i = 0; i < n_trials; i++) {
    caviar_shape shape = caviar_shape_of(&trials[i].hp, image, classes);
    size_t k = (size_t)caviar_shape_hash(&shape) & (table_size - 1);
    while (table[k] >= 0 && !caviar_shape_equal(&out->shapes[table[k]], &shape)) k = (k + 1) & (table_size - 1);
    int c = table[k];
    if (c < 0) {
      c = out->n_cohorts++;
      out->shapes[c] = shape;
      table[k] = c;
      if (2 * (size_t)out->n_cohorts > table_size) {
        /* Rebuilt twice the size from the cohorts so far. */
        size_t grown_size = 2 * table_size;
        int *grown = malloc(grown_size * sizeof *grown);
        if (!grown) {
          free(table);
          caviar_grouping_free(out);
          return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory grouping trials");
        }
        for (size_t j = 0; j < grown_size; j++) grown[j] = -1;
        for (int d = 0; d < out->n_cohorts; d++) {
          size_t j = (size_t)caviar_shape_hash(&out->shapes[d]) & (grown_size - 1);
          while (grown[j] >= 0) j = (j + 1) & (grown_size - 1);
          grown[j] = d;
        }
        free(table);
        table = grown;
        table_size = grown_size;
      }
    }
    out->cohort_of[i] = c;
    out->slot_of[i] = out->members[c]++;
  }
  free(table);
  return CAVIAR_OK;
}

void caviar_grouping_free(caviar_grouping *g) {
  free(g->shapes);
  free(g->members);
  free(g->cohort_of);
  free(g->slot_of);
  memset(g, 0, sizeof *g);
}

caviar_status caviar_cohort_init(caviar_cohort *c, const caviar_shape *shape, int capacity, uint64_t seed,
                                 caviar_error *err) {
  memset(c, 0, sizeof *c);
  c->shape = *shape;
  c->seed = seed;
  caviar_arch_of(shape, &c->arch);
  caviar_layout_of(&c->arch, capacity, &c->layout);
  c->trial = caviar_alloc((size_t)capacity, sizeof *c->trial, "cohort slots", err);
  c->hparams = caviar_alloc((size_t)capacity, sizeof *c->hparams, "cohort hyperparameters", err);
  c->hp = caviar_alloc((size_t)capacity, sizeof *c->hp, "cohort hyperparameters", err);
  c->steps = caviar_alloc((size_t)capacity, sizeof *c->steps, "cohort step counters", err);
  c->epochs = caviar_alloc((size_t)capacity, sizeof *c->epochs, "cohort epoch counters", err);
  c->taken = caviar_alloc((size_t)capacity, sizeof *c->taken, "cohort step counters", err);
  if (!c->trial || !c->hparams || !c->hp || !c->steps || !c->epochs || !c->taken) {
    caviar_cohort_free(c);
    return CAVIAR_ERUNTIME;
  }
  return CAVIAR_OK;
}

void caviar_cohort_free(caviar_cohort *c) {
  free(c->trial);
  free(c->hparams);
  free(c->hp);
  free(c->steps);
  free(c->epochs);
  free(c->taken);
  c->trial = NULL;
  c->hparams = NULL;
  c->hp = NULL;
  c->steps = c->epochs = c->taken = NULL;
  c->n = 0;
}

void caviar_cohort_keep_best(caviar_cohort *c) { c->keep_best = true; }

void caviar_cohort_set_hparams(caviar_cohort *c, int slot, const caviar_hparams *hp) {
  c->hparams[slot] = *hp;
  c->hp[slot] = member_hp_from(hp);
}

void caviar_cohort_add_resumed(caviar_cohort *c, const caviar_trial *trial, int steps, int epochs) {
  int slot = c->n++;
  c->trial[slot] = trial->id;
  caviar_cohort_set_hparams(c, slot, &trial->hp);
  c->steps[slot] = steps;
  c->epochs[slot] = epochs;
  c->taken[slot] = 0;
}

void caviar_cohort_add(caviar_cohort *c, const caviar_trial *trial) { caviar_cohort_add_resumed(c, trial, 0, 0); }

void caviar_cohort_compact_books(caviar_cohort *c, const int *keep, int n_keep) {
  for (int i = 0; i < n_keep; i++) {
    c->trial[i] = c->trial[keep[i]];
    c->hparams[i] = c->hparams[keep[i]];
    c->hp[i] = c->hp[keep[i]];
    c->steps[i] = c->steps[keep[i]];
    c->epochs[i] = c->epochs[keep[i]];
    c->taken[i] = c->taken[keep[i]];
  }
  c->n = n_keep;
}

void caviar_cohort_copy_books(caviar_cohort *c, int src, int dst) {
  c->steps[dst] = c->steps[src];
  c->epochs[dst] = c->epochs[src];
}

void caviar_cohort_set_progress(caviar_cohort *c, int slot, int steps, int epochs) {
  c->steps[slot] = steps;
  c->epochs[slot] = epochs;
}

void caviar_cohort_count_steps(caviar_cohort *c) {
  for (int slot = 0; slot < c->n; slot++) c->steps[slot] += c->taken[slot];
}

void caviar_cohort_end_epoch(caviar_cohort *c) {
  for (int slot = 0; slot < c->n; slot++) c->epochs[slot]++;
}

double caviar_population_bytes(const caviar_shape *shapes, const int *members, int n_cohorts, bool keep_best) {
  double bytes = 0;
  for (int c = 0; c < n_cohorts; c++) {
    caviar_layout layout;
    caviar_layout_make(&shapes[c], members[c], &layout);
    bytes += (double)caviar_arena_count(keep_best) * sizeof(float) * (double)layout.arena;
  }
  return bytes;
}
