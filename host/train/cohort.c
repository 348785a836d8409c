#include "caviar/backend.h"

#include <string.h>

caviar_status caviar_cohort_train(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, size_t n_rows,
                                  caviar_epoch_stats *stats, caviar_error *err) {
  caviar_epoch_stats booked = *stats;
  booked.steps = c->taken;
  caviar_status st = be->train_epoch(be, c, rows, n_rows, &booked, err);
  if (st == CAVIAR_OK) caviar_cohort_count_steps(c);
  return st;
}

caviar_status caviar_cohort_compact(caviar_backend *be, caviar_cohort *c, const int *keep, int n_keep,
                                    caviar_error *err) {
  caviar_status st = be->compact(be, c, keep, n_keep, err);
  if (st == CAVIAR_OK) caviar_cohort_compact_books(c, keep, n_keep);
  return st;
}

caviar_status caviar_cohort_copy(caviar_backend *be, caviar_cohort *c, int src, int dst, caviar_error *err) {
  caviar_status st = be->copy_member(be, c, src, dst, err);
  if (st == CAVIAR_OK) caviar_cohort_copy_books(c, src, dst);
  return st;
}

caviar_status caviar_cohort_save_best(caviar_backend *be, caviar_cohort *c, const int *slots, int n,
                                      caviar_error *err) {
  if (!c->keep_best || n == 0) return CAVIAR_OK;
  return be->save_best(be, c, slots, n, err);
}

static const caviar_arena member_arenas[] = {CAVIAR_ARENA_PARAMS, CAVIAR_ARENA_FIRST, CAVIAR_ARENA_SECOND};

caviar_status caviar_cohort_read_member(caviar_backend *be, caviar_cohort *c, int slot, float *state, int *steps,
                                        int *epochs, caviar_error *err) {
  for (int k = 0; k < 3; k++) {
    caviar_status st = be->read_arena(be, c, member_arenas[k], slot, state + (size_t)k * c->layout.per_member, err);
    if (st != CAVIAR_OK) return st;
  }
  *steps = c->steps[slot];
  *epochs = c->epochs[slot];
  return CAVIAR_OK;
}

caviar_status caviar_cohort_write_member(caviar_backend *be, caviar_cohort *c, int slot, const float *state, int steps,
                                         int epochs, caviar_error *err) {
  for (int k = 0; k < 3; k++) {
    caviar_status st = be->write_arena(be, c, member_arenas[k], slot, state + (size_t)k * c->layout.per_member, err);
    if (st != CAVIAR_OK) return st;
  }
  /* As after copy_member: a member that took other weights keeps them as its best so far. */
  if (c->keep_best) {
    caviar_status st = be->write_arena(be, c, CAVIAR_ARENA_BEST, slot, state, err);
    if (st != CAVIAR_OK) return st;
  }
  caviar_cohort_set_progress(c, slot, steps, epochs);
  return CAVIAR_OK;
}

int caviar_cohort_arenas(const caviar_cohort *c) { return c->keep_best ? 4 : 3; }

/* The arenas in the order a whole member lists them (caviar_cohort_arenas of them). */
static const caviar_arena whole_arenas[] = {CAVIAR_ARENA_PARAMS, CAVIAR_ARENA_FIRST, CAVIAR_ARENA_SECOND,
                                            CAVIAR_ARENA_BEST};

caviar_status caviar_cohort_take_member(caviar_backend *be, caviar_cohort *c, int slot, caviar_member_books *books,
                                        float *arenas, caviar_error *err) {
  memset(books, 0, sizeof *books);
  books->trial = c->trial[slot];
  books->steps = c->steps[slot];
  books->epochs = c->epochs[slot];
  books->hp = c->hparams[slot];
  for (int a = 0; a < caviar_cohort_arenas(c); a++) {
    caviar_status st = be->read_arena(be, c, whole_arenas[a], slot, arenas + (size_t)a * c->layout.per_member, err);
    if (st != CAVIAR_OK) return st;
  }
  return CAVIAR_OK;
}

caviar_status caviar_cohort_place_member(caviar_backend *be, caviar_cohort *c, const caviar_member_books *books,
                                         const float *arenas, caviar_error *err) {
  if (c->n >= c->layout.capacity)
    return caviar_fail(err, CAVIAR_ERUNTIME, "internal error: no room for trial %u in its cohort (%d slots)",
                       (unsigned)books->trial, c->layout.capacity);
  caviar_trial t = {.id = books->trial, .hp = books->hp};
  int slot = c->n;
  caviar_cohort_add_resumed(c, &t, books->steps, books->epochs);
  for (int a = 0; a < caviar_cohort_arenas(c); a++) {
    caviar_status st = be->write_arena(be, c, whole_arenas[a], slot, arenas + (size_t)a * c->layout.per_member, err);
    if (st != CAVIAR_OK) return st;
  }
  return CAVIAR_OK;
}
