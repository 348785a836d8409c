/* A cohort's operations through a backend: memory moves written once above the backend's buffer
 * interface, each paired with its bookkeeping (population.c keeps the books). */
#include "caviar/backend.h"

#include <string.h>

caviar_status caviar_backend_check_arch(const caviar_backend *be, const caviar_arch *arch, const char *what,
                                        caviar_error *err) {
  for (int i = 0; i < arch->n_layers; i++)
    if (!be->supports(be, &arch->layer[i]))
      return caviar_fail(err, CAVIAR_EINPUT, "%s: the %s backend cannot run %s layers (layer %d of the model); use --device %s",
                         what, be->name, caviar_layer_kind_name(arch->layer[i].kind), i,
                         be->kind == CAVIAR_BACKEND_CPU ? "cuda" : "cpu");
  return CAVIAR_OK;
}

/* The arenas a cohort keeps, in the order the table below allocates and releases them. */
static bool keeps(const caviar_cohort *c, int a) { return a != CAVIAR_ARENA_BEST || c->keep_best; }

caviar_status caviar_cohort_alloc(caviar_backend *be, caviar_cohort *c, caviar_error *err) {
  caviar_status st = caviar_backend_check_arch(be, &c->arch, "the model", err);
  if (st != CAVIAR_OK) return st;
  static const char *const what[CAVIAR_ARENA_KINDS] = {"the parameter arena", "the optimizer's first-state arena",
                                                       "the optimizer's second-state arena", "the best-epoch arena",
                                                       "the gradient arena"};
  for (int a = 0; a < CAVIAR_ARENA_KINDS; a++) {
    c->arena[a] = NULL;
    if (keeps(c, a) && !(c->arena[a] = be->buf.alloc(be, c->layout.arena, what[a], err))) {
      caviar_cohort_release(be, c);
      return CAVIAR_ERUNTIME;
    }
  }
  st = be->cohort_alloc(be, c, err);
  if (st != CAVIAR_OK) caviar_cohort_release(be, c);
  return st;
}

void caviar_cohort_release(caviar_backend *be, caviar_cohort *c) {
  if (c->impl) be->cohort_free(be, c);
  for (int a = 0; a < CAVIAR_ARENA_KINDS; a++) {
    if (c->arena[a]) be->buf.release(be, c->arena[a]);
    c->arena[a] = NULL;
  }
}

/* Slots [src, src + count) of every tensor of arena `from` over slots [dst, dst + count) of arena
 * `to` (the same one or another): a member's blocks of a tensor are adjacent, so a run of slots is
 * one copy per tensor. */
static caviar_status copy_slots(caviar_backend *be, caviar_cohort *c, caviar_arena to, caviar_arena from, int dst,
                                int src, int count, caviar_error *err) {
  const caviar_layout *lay = &c->layout;
  for (int t = 0; t < lay->n_tensors; t++) {
    caviar_status st = be->buf.copy(be, caviar_block(c->arena[to], lay, t, dst), caviar_block(c->arena[from], lay, t, src),
                                    (size_t)(count - 1) * lay->stride[t] + lay->size[t], err);
    if (st != CAVIAR_OK) return st;
  }
  return CAVIAR_OK;
}

/* Parameters, optimizer state and the best-epoch copy of one member over another's (the gradients
 * are scratch). */
static caviar_status move_member(caviar_backend *be, caviar_cohort *c, int src, int dst, caviar_error *err) {
  static const caviar_arena moved[] = {CAVIAR_ARENA_PARAMS, CAVIAR_ARENA_FIRST, CAVIAR_ARENA_SECOND, CAVIAR_ARENA_BEST};
  for (size_t k = 0; k < sizeof moved / sizeof moved[0]; k++) {
    if (!keeps(c, moved[k])) continue;
    caviar_status st = copy_slots(be, c, moved[k], moved[k], dst, src, 1, err);
    if (st != CAVIAR_OK) return st;
  }
  return CAVIAR_OK;
}

caviar_status caviar_cohort_read_arena(caviar_backend *be, caviar_cohort *c, caviar_arena which, int slot, float *out,
                                       caviar_error *err) {
  if (!c->arena[which]) return caviar_fail(err, CAVIAR_ERUNTIME, "this cohort keeps no best-epoch copies (model.keep last)");
  for (int t = 0; t < c->layout.n_tensors; t++) {
    caviar_status st = be->buf.to_host(be, out, caviar_block(c->arena[which], &c->layout, t, slot), c->layout.size[t], err);
    if (st != CAVIAR_OK) return st;
    out += c->layout.size[t];
  }
  return be->buf.sync(be, err);
}

caviar_status caviar_cohort_write_arena(caviar_backend *be, caviar_cohort *c, caviar_arena which, int slot,
                                        const float *in, caviar_error *err) {
  if (!c->arena[which]) return caviar_fail(err, CAVIAR_ERUNTIME, "this cohort keeps no best-epoch copies (model.keep last)");
  for (int t = 0; t < c->layout.n_tensors; t++) {
    caviar_status st = be->buf.from_host(be, caviar_block(c->arena[which], &c->layout, t, slot), in, c->layout.size[t], err);
    if (st != CAVIAR_OK) return st;
    in += c->layout.size[t];
  }
  return be->buf.sync(be, err);
}

caviar_status caviar_cohort_train(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, size_t n_rows,
                                  caviar_epoch_stats *stats, caviar_error *err) {
  caviar_epoch_stats booked = *stats;
  booked.steps = c->taken;
  caviar_status st = be->train_epoch(be, c, rows, n_rows, &booked, err);
  if (st == CAVIAR_OK) caviar_cohort_count_steps(c);
  return st;
}

caviar_status caviar_cohort_init_members(caviar_backend *be, caviar_cohort *c, int first, int count, caviar_error *err) {
  caviar_status st = be->init_members(be, c, first, count, err);
  /* A fresh member's best-epoch copy: its initial weights, until its first validation. */
  if (st == CAVIAR_OK && c->keep_best && count > 0)
    st = copy_slots(be, c, CAVIAR_ARENA_BEST, CAVIAR_ARENA_PARAMS, first, first, count, err);
  return st == CAVIAR_OK ? be->buf.sync(be, err) : st;
}

/* The host's books change only once the backend's copies are done: an error leaves the books naming
 * the old slots. */
caviar_status caviar_cohort_compact(caviar_backend *be, caviar_cohort *c, const int *keep, int n_keep,
                                    caviar_error *err) {
  caviar_status st = CAVIAR_OK;
  for (int i = 0; st == CAVIAR_OK && i < n_keep; i++)
    if (keep[i] != i) st = move_member(be, c, keep[i], i, err);
  if (st == CAVIAR_OK) st = be->buf.sync(be, err);
  if (st == CAVIAR_OK) caviar_cohort_compact_books(c, keep, n_keep);
  return st;
}

caviar_status caviar_cohort_copy(caviar_backend *be, caviar_cohort *c, int src, int dst, caviar_error *err) {
  caviar_status st = move_member(be, c, src, dst, err);
  /* The recipient's best-epoch copy starts afresh from the parameters it took. */
  if (st == CAVIAR_OK && c->keep_best) st = copy_slots(be, c, CAVIAR_ARENA_BEST, CAVIAR_ARENA_PARAMS, dst, dst, 1, err);
  if (st == CAVIAR_OK) st = be->buf.sync(be, err);
  if (st == CAVIAR_OK) caviar_cohort_copy_books(c, src, dst);
  return st;
}

/* A copy per tensor for each run of consecutive slots: after an epoch where most members improve
 * (early in training) that is a few copies per tensor, in the backend's memory (device to device
 * on a GPU, never through the host). */
caviar_status caviar_cohort_save_best(caviar_backend *be, caviar_cohort *c, const int *slots, int n,
                                      caviar_error *err) {
  if (!c->keep_best || n == 0) return CAVIAR_OK;
  caviar_status st = CAVIAR_OK;
  for (int i = 0; st == CAVIAR_OK && i < n;) {
    int run = 1;
    while (i + run < n && slots[i + run] == slots[i] + run) run++;
    st = copy_slots(be, c, CAVIAR_ARENA_BEST, CAVIAR_ARENA_PARAMS, slots[i], slots[i], run, err);
    i += run;
  }
  return st == CAVIAR_OK ? be->buf.sync(be, err) : st;
}

static const caviar_arena member_arenas[] = {CAVIAR_ARENA_PARAMS, CAVIAR_ARENA_FIRST, CAVIAR_ARENA_SECOND};

caviar_status caviar_cohort_read_member(caviar_backend *be, caviar_cohort *c, int slot, float *state, int *steps,
                                        int *epochs, caviar_error *err) {
  for (int k = 0; k < 3; k++) {
    caviar_status st = caviar_cohort_read_arena(be, c, member_arenas[k], slot, state + (size_t)k * c->layout.per_member, err);
    if (st != CAVIAR_OK) return st;
  }
  *steps = c->steps[slot];
  *epochs = c->epochs[slot];
  return CAVIAR_OK;
}

caviar_status caviar_cohort_write_member(caviar_backend *be, caviar_cohort *c, int slot, const float *state, int steps,
                                         int epochs, caviar_error *err) {
  for (int k = 0; k < 3; k++) {
    caviar_status st = caviar_cohort_write_arena(be, c, member_arenas[k], slot, state + (size_t)k * c->layout.per_member, err);
    if (st != CAVIAR_OK) return st;
  }
  /* As after copy_member: a member that took other weights keeps them as its best so far. */
  if (c->keep_best) {
    caviar_status st = caviar_cohort_write_arena(be, c, CAVIAR_ARENA_BEST, slot, state, err);
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
    caviar_status st = caviar_cohort_read_arena(be, c, whole_arenas[a], slot, arenas + (size_t)a * c->layout.per_member, err);
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
    caviar_status st = caviar_cohort_write_arena(be, c, whole_arenas[a], slot, arenas + (size_t)a * c->layout.per_member, err);
    if (st != CAVIAR_OK) return st;
  }
  return CAVIAR_OK;
}
