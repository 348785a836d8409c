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
