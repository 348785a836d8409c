/* A backend that forwards every call to another and counts the seconds spent in them: what the
 * sweep reports as device_seconds, so the rest of its wall time is the host's (scheduling,
 * bookkeeping, output). A call costs two clock readings more. */
#include "caviar/backend.h"

/* Runs call (an expression using `in`, the inner backend) and adds its seconds. */
#define TIMED(be, type, call)                         \
  do {                                                \
    caviar_timed_backend *t_ = (be)->ctx;             \
    caviar_backend *in = t_->inner;                   \
    double t0_ = caviar_now();                        \
    type r_ = call;                                   \
    t_->seconds += caviar_now() - t0_;                \
    return r_;                                        \
  } while (0)

static caviar_status plan(caviar_backend *be, const caviar_data *data, const caviar_shape *shapes, const int *members,
                          const bool *dropout, int n_cohorts, bool keep_best, caviar_error *err) {
  TIMED(be, caviar_status, in->plan(in, data, shapes, members, dropout, n_cohorts, keep_best, err));
}

static caviar_status upload(caviar_backend *be, const caviar_data *data, caviar_error *err) {
  TIMED(be, caviar_status, in->upload(in, data, err));
}

static caviar_status cohort_alloc(caviar_backend *be, caviar_cohort *c, caviar_error *err) {
  TIMED(be, caviar_status, in->cohort_alloc(in, c, err));
}

static void cohort_free(caviar_backend *be, caviar_cohort *c) {
  caviar_timed_backend *t = be->ctx;
  double t0 = caviar_now();
  t->inner->cohort_free(t->inner, c);
  t->seconds += caviar_now() - t0;
}

static caviar_status init_members(caviar_backend *be, caviar_cohort *c, int first, int count, caviar_error *err) {
  TIMED(be, caviar_status, in->init_members(in, c, first, count, err));
}

static caviar_status train_epoch(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, size_t n_rows,
                                 caviar_epoch_stats *stats, caviar_error *err) {
  TIMED(be, caviar_status, in->train_epoch(in, c, rows, n_rows, stats, err));
}

static caviar_status evaluate(caviar_backend *be, caviar_cohort *c, caviar_set set, const uint32_t *rows, size_t n_rows,
                              float *loss, float *accuracy, caviar_error *err) {
  TIMED(be, caviar_status, in->evaluate(in, c, set, rows, n_rows, loss, accuracy, err));
}

static caviar_status compact(caviar_backend *be, caviar_cohort *c, const int *keep, int n_keep, caviar_error *err) {
  TIMED(be, caviar_status, in->compact(in, c, keep, n_keep, err));
}

static caviar_status copy_member(caviar_backend *be, caviar_cohort *c, int src, int dst, caviar_error *err) {
  TIMED(be, caviar_status, in->copy_member(in, c, src, dst, err));
}

static caviar_status save_best(caviar_backend *be, caviar_cohort *c, const int *slots, int n, caviar_error *err) {
  TIMED(be, caviar_status, in->save_best(in, c, slots, n, err));
}

static caviar_status read_arena(caviar_backend *be, caviar_cohort *c, caviar_arena which, int slot, float *out,
                                caviar_error *err) {
  TIMED(be, caviar_status, in->read_arena(in, c, which, slot, out, err));
}

static caviar_status write_arena(caviar_backend *be, caviar_cohort *c, caviar_arena which, int slot, const float *in_,
                                 caviar_error *err) {
  TIMED(be, caviar_status, in->write_arena(in, c, which, slot, in_, err));
}

static caviar_status loss_and_grads(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, float *loss,
                                    float *grads, caviar_error *err) {
  TIMED(be, caviar_status, in->loss_and_grads(in, c, rows, loss, grads, err));
}

void caviar_timed_backend_init(caviar_timed_backend *t, caviar_backend *inner) {
  t->inner = inner;
  t->seconds = 0;
  t->backend = (caviar_backend){.name = inner->name,
                                .kind = inner->kind,
                                .ctx = t,
                                .plan = plan,
                                .upload = upload,
                                .cohort_alloc = cohort_alloc,
                                .cohort_free = cohort_free,
                                .init_members = init_members,
                                .train_epoch = train_epoch,
                                .evaluate = evaluate,
                                .compact = compact,
                                .copy_member = copy_member,
                                .save_best = save_best,
                                .read_arena = read_arena,
                                .write_arena = write_arena,
                                .loss_and_grads = inner->loss_and_grads ? loss_and_grads : NULL,
                                .destroy = NULL};
}
