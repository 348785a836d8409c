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

static float *buf_alloc(caviar_backend *be, size_t n, const char *what, caviar_error *err) {
  TIMED(be, float *, in->buf.alloc(in, n, what, err));
}

static void buf_release(caviar_backend *be, float *buffer) {
  caviar_timed_backend *t = be->ctx;
  double t0 = caviar_now();
  t->inner->buf.release(t->inner, buffer);
  t->seconds += caviar_now() - t0;
}

static caviar_status buf_copy(caviar_backend *be, float *dst, const float *src, size_t n, caviar_error *err) {
  TIMED(be, caviar_status, in->buf.copy(in, dst, src, n, err));
}

static caviar_status buf_to_host(caviar_backend *be, float *host, const float *src, size_t n, caviar_error *err) {
  TIMED(be, caviar_status, in->buf.to_host(in, host, src, n, err));
}

static caviar_status buf_from_host(caviar_backend *be, float *dst, const float *host, size_t n, caviar_error *err) {
  TIMED(be, caviar_status, in->buf.from_host(in, dst, host, n, err));
}

static caviar_status buf_clear(caviar_backend *be, float *dst, size_t n, caviar_error *err) {
  TIMED(be, caviar_status, in->buf.clear(in, dst, n, err));
}

static caviar_status buf_sync(caviar_backend *be, caviar_error *err) { TIMED(be, caviar_status, in->buf.sync(in, err)); }

static bool supports(const caviar_backend *be, const caviar_layer *layer) {
  const caviar_timed_backend *t = be->ctx;
  return t->inner->supports(t->inner, layer);
}

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

static caviar_status loss_and_grads(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, float *loss,
                                    float *grads, caviar_error *err) {
  TIMED(be, caviar_status, in->loss_and_grads(in, c, rows, loss, grads, err));
}

void caviar_timed_backend_init(caviar_timed_backend *t, caviar_backend *inner) {
  t->inner = inner;
  t->seconds = 0;
  /* What the inner backend lacks (a test's stand-in, say) the wrapper lacks too. */
  t->backend = (caviar_backend){
      .name = inner->name,
      .kind = inner->kind,
      .ctx = t,
      .buf = {.alloc = inner->buf.alloc ? buf_alloc : NULL,
              .release = inner->buf.release ? buf_release : NULL,
              .copy = inner->buf.copy ? buf_copy : NULL,
              .to_host = inner->buf.to_host ? buf_to_host : NULL,
              .from_host = inner->buf.from_host ? buf_from_host : NULL,
              .clear = inner->buf.clear ? buf_clear : NULL,
              .sync = inner->buf.sync ? buf_sync : NULL},
      .supports = inner->supports ? supports : NULL,
      .plan = inner->plan ? plan : NULL,
      .upload = inner->upload ? upload : NULL,
      .cohort_alloc = inner->cohort_alloc ? cohort_alloc : NULL,
      .cohort_free = inner->cohort_free ? cohort_free : NULL,
      .init_members = inner->init_members ? init_members : NULL,
      .train_epoch = inner->train_epoch ? train_epoch : NULL,
      .evaluate = inner->evaluate ? evaluate : NULL,
      .loss_and_grads = inner->loss_and_grads ? loss_and_grads : NULL,
      .destroy = NULL};
}
