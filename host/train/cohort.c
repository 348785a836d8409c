#include "caviar/backend.h"

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
