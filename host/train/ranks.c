/* The trainer's side of a distributed sweep. Every rank runs the same loop over the same books:
 * the trials are drawn from (seed, k) everywhere, each epoch's results of every member reach every
 * rank in one exchange and are applied in the order a one-process run applies them, so rungs,
 * promotions, brackets, zoom boxes and PBT's choices come out the same on every rank and the same
 * as in one process. What is not replicated is a member's weights: they live on its owner's
 * device, move point to point when PBT copies across ranks, and reach rank 0 as soon as they
 * finish (for best/, the results so far and the snapshots, which rank 0 writes). With a NULL
 * world every exchange is a copy and every trial is rank 0's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/trainer_internal.h"

/* Bytes of memory traffic weighed as this many FLOPs: the ratio of a GPU's FP32 throughput to its
 * memory bandwidth (H100: 67 TFLOP/s over 3 TB/s) and about a CPU core's (100 GFLOP/s over ~5 GB/s). */
#define FLOPS_PER_BYTE 20.0
/* Bytes a training step moves per parameter: parameters, gradients and two moments read, three
 * written (DESIGN.md's 28 for Adam). */
#define BYTES_PER_PARAM 28.0

/* The estimated work of one epoch of a member of cohort c: its steps' FLOPs and bytes, and the
 * validation pass (a forward pass, a third of a step, per row). */
static double cost_of(const run_state *s, int c) {
  const caviar_shape *shape = &s->work.groups.shapes[c];
  const caviar_split *split = &s->sweep->data->split;
  caviar_layout layout;
  caviar_layout_make(shape, 1, &layout);
  double steps = (double)(split->n_train / (size_t)shape->batch);
  double flops = caviar_shape_train_flops(shape) * shape->batch, bytes = BYTES_PER_PARAM * (double)layout.per_member;
  double step = flops + FLOPS_PER_BYTE * bytes;
  return steps * step + (double)split->n_val * caviar_shape_train_flops(shape) / 3.0;
}

/* cost_of, found once a round for every cohort (each builds the shape's layers: every trial
 * started and every move weighed asks; out of memory, found each time). */
static double epoch_cost(run_state *s, int c) {
  if (!s->rank.cohort_cost) {
    int n = s->work.groups.n_cohorts;
    s->rank.cohort_cost = malloc(((size_t)n + 1) * sizeof *s->rank.cohort_cost);
    for (int k = 0; s->rank.cohort_cost && k < n; k++) s->rank.cohort_cost[k] = cost_of(s, k);
  }
  return s->rank.cohort_cost ? s->rank.cohort_cost[c] : cost_of(s, c);
}

typedef struct new_trial {
  int index;
  double cost;
} new_trial;

static int costlier_first(const void *a, const void *b) {
  const new_trial *x = a, *y = b;
  if (x->cost != y->cost) return x->cost > y->cost ? -1 : 1;
  return (x->index > y->index) - (x->index < y->index);
}

/* The k-th trial (by index) that may be running: of s->sched.live once fill() keeps it, else of all. */
static int candidates(const run_state *s) { return s->sched.live ? s->sched.n_live : s->sched.count; }
static int candidate(const run_state *s, int k) { return s->sched.live ? s->sched.live[k] : k; }

/* Gives each trial is_new marks (new ones: all of s->sched.live's when it is kept) the least-loaded
 * rank by estimated cost that has room in the trial's cohort, the costliest trial first; the load
 * already there is every other running trial's that has an owner. The same on every rank. */
static caviar_status place(run_state *s, const uint8_t *is_new, caviar_error *err) {
  int size = caviar_world_size(s->sweep->world), n_cohorts = s->work.groups.n_cohorts, n = 0;
  double *load = caviar_alloc((size_t)size, sizeof *load, "the ranks' balance", err);
  int *held = caviar_alloc((size_t)size * (size_t)n_cohorts, sizeof *held, "the ranks' balance", err);
  new_trial *fresh = caviar_alloc((size_t)candidates(s) + 1, sizeof *fresh, "the ranks' balance", err);
  caviar_status st = load && held && fresh ? CAVIAR_OK : CAVIAR_ERUNTIME;
  for (int k = 0, i; st == CAVIAR_OK && k < candidates(s) && (i = candidate(s, k), true); k++)
    if (is_new[i])
      fresh[n++] = (new_trial){i, epoch_cost(s, s->work.groups.cohort_of[i])};
    else if (s->rank.owner[i] >= 0 && s->result->trials[s->sched.trials[i].id].status == CAVIAR_TRIAL_RUNNING) {
      load[s->rank.owner[i]] += epoch_cost(s, s->work.groups.cohort_of[i]);
      held[s->rank.owner[i] * n_cohorts + s->work.groups.cohort_of[i]]++;
    }
  if (st == CAVIAR_OK) qsort(fresh, (size_t)n, sizeof *fresh, costlier_first);
  for (int k = 0; st == CAVIAR_OK && k < n; k++) {
    int c = s->work.groups.cohort_of[fresh[k].index], best = -1;
    for (int r = 0; r < size; r++)
      if (held[r * n_cohorts + c] < s->work.cohorts[c].layout.capacity && (best < 0 || load[r] < load[best])) best = r;
    if (best < 0) {
      st = caviar_fail(err, CAVIAR_ERUNTIME, "internal error: no rank has room for trial %u",
                       (unsigned)s->sched.trials[fresh[k].index].id);
      break;
    }
    s->rank.owner[fresh[k].index] = best;
    load[best] += fresh[k].cost;
    held[best * n_cohorts + c]++;
  }
  free(load);
  free(held);
  free(fresh);
  return st;
}

/* This rank's share of the work it was given, for summary.json's ranks. */
static void count_mine(run_state *s, int i) {
  if (s->rank.owner[i] != caviar_run_rank(s)) return;
  s->rank.members++;
  s->rank.cost += epoch_cost(s, s->work.groups.cohort_of[i]);
}

caviar_status caviar_ranks_assign(run_state *s, int first, int last, caviar_error *err) {
  if (caviar_world_size(s->sweep->world) == 1) {
    for (int i = first; i < last; i++) s->rank.owner[i] = 0;
  } else {
    uint8_t *is_new = caviar_alloc((size_t)s->sched.count + 1, 1, "the ranks' balance", err);
    if (!is_new) return CAVIAR_ERUNTIME;
    memset(is_new + first, 1, (size_t)(last - first));
    caviar_status st = place(s, is_new, err);
    free(is_new);
    if (st != CAVIAR_OK) return st;
  }
  for (int i = first; i < last; i++) count_mine(s, i);
  return CAVIAR_OK;
}

caviar_status caviar_ranks_restore(run_state *s, const int32_t *saved, int saved_size, caviar_error *err) {
  bool same = saved_size == caviar_world_size(s->sweep->world);
  uint8_t *is_new = caviar_alloc((size_t)s->sched.count + 1, 1, "the ranks' balance", err);
  if (!is_new) return CAVIAR_ERUNTIME;
  /* A trial that stopped running keeps nothing on a device: rank 0 holds its weights if it survived
   * (the snapshot has them) and tests it. With another number of ranks than the snapshot's, the
   * running members are placed again as new ones are. */
  for (int i = 0; i < s->sched.count; i++) {
    bool running = s->result->trials[s->sched.trials[i].id].status == CAVIAR_TRIAL_RUNNING;
    s->rank.owner[i] = saved[i] < 0 || i >= s->sched.next ? -1 : !running ? 0 : same ? saved[i] : -1;
    is_new[i] = saved[i] >= 0 && i < s->sched.next && running && !same;
  }
  caviar_status st = place(s, is_new, err);
  free(is_new);
  for (int i = 0; st == CAVIAR_OK && i < s->sched.count; i++)
    if (s->rank.owner[i] >= 0 && s->result->trials[s->sched.trials[i].id].status == CAVIAR_TRIAL_RUNNING) count_mine(s, i);
  return st;
}

/* Moves the member of trial index i from rank `from` to rank `to`: its books and every arena, point
 * to point; the giver's cohort closes the gap. */
static caviar_status move_member(run_state *s, int i, int from, int to, caviar_error *err) {
  int me = caviar_run_rank(s);
  s->rank.owner[i] = to;
  if (me != from && me != to) return CAVIAR_OK;
  caviar_cohort *c = &s->work.cohorts[s->work.groups.cohort_of[i]];
  caviar_backend *be = s->sweep->backend;
  size_t floats = (size_t)caviar_cohort_arenas(c) * c->layout.per_member, bytes = sizeof(caviar_member_books) + floats * sizeof(float);
  unsigned char *msg = caviar_alloc(bytes, 1, "a member moved between ranks", err);
  if (!msg) return CAVIAR_ERUNTIME;
  float *arenas = (float *)(void *)(msg + sizeof(caviar_member_books));
  caviar_member_books books;
  caviar_status st;
  if (me == from) {
    int slot = caviar_ranks_slot(c, s->sched.trials[i].id);
    st = slot >= 0 ? caviar_cohort_take_member(be, c, slot, &books, arenas, err)
                   : caviar_fail(err, CAVIAR_ERUNTIME, "internal error: rank %d does not hold trial %u", me,
                                 (unsigned)s->sched.trials[i].id);
    memcpy(msg, &books, sizeof books);
    if (st == CAVIAR_OK) st = caviar_world_send(s->sweep->world, to, msg, bytes, err);
    int *keep = st == CAVIAR_OK ? caviar_alloc((size_t)c->n, sizeof *keep, "compaction", err) : NULL;
    if (st == CAVIAR_OK && !keep) st = CAVIAR_ERUNTIME;
    int n_keep = 0;
    for (int k = 0; st == CAVIAR_OK && k < c->n; k++)
      if (k != slot) keep[n_keep++] = k;
    if (st == CAVIAR_OK) st = caviar_cohort_compact(be, c, keep, n_keep, err);
    free(keep);
  } else {
    st = caviar_world_recv(s->sweep->world, from, msg, bytes, err);
    memcpy(&books, msg, sizeof books);
    if (st == CAVIAR_OK) st = caviar_cohort_place_member(be, c, &books, arenas, err);
    if (st == CAVIAR_OK) {
      s->rank.members++;
      s->rank.moved_in++;
    }
  }
  free(msg);
  return st;
}

caviar_status caviar_ranks_rebalance(run_state *s, caviar_error *err) {
  int size = caviar_world_size(s->sweep->world), n_cohorts = s->work.groups.n_cohorts;
  if (size == 1) return CAVIAR_OK;
  double *load = caviar_alloc((size_t)size, sizeof *load, "the ranks' balance", err);
  int *held = caviar_alloc((size_t)size * (size_t)n_cohorts, sizeof *held, "the ranks' balance", err);
  caviar_status st = load && held ? CAVIAR_OK : CAVIAR_ERUNTIME;
  int running = 0;
  for (int k = 0, i; st == CAVIAR_OK && k < candidates(s) && (i = candidate(s, k), true); k++)
    if (s->rank.owner[i] >= 0 && s->result->trials[s->sched.trials[i].id].status == CAVIAR_TRIAL_RUNNING) {
      load[s->rank.owner[i]] += epoch_cost(s, s->work.groups.cohort_of[i]);
      held[s->rank.owner[i] * n_cohorts + s->work.groups.cohort_of[i]]++;
      running++;
    }
  /* Each move takes the busiest rank's member whose cost comes nearest half the gap to the idlest
   * rank, so the busiest rank's load falls and the sum of squared loads with it: it ends. */
  for (int moves = 0; st == CAVIAR_OK && moves < running; moves++) {
    int hi = 0, lo = 0;
    for (int r = 1; r < size; r++) {
      if (load[r] > load[hi]) hi = r;
      if (load[r] < load[lo]) lo = r;
    }
    double gap = load[hi] - load[lo], best_miss = 0;
    int pick = -1;
    for (int k = 0; k < candidates(s); k++) {
      int i = candidate(s, k);
      if (s->rank.owner[i] != hi || s->result->trials[s->sched.trials[i].id].status != CAVIAR_TRIAL_RUNNING) continue;
      int c = s->work.groups.cohort_of[i];
      double w = epoch_cost(s, c), miss = fabs(gap / 2 - w);
      if (w >= gap || held[lo * n_cohorts + c] >= s->work.cohorts[c].layout.capacity) continue;
      if (pick < 0 || miss < best_miss) pick = i, best_miss = miss;
    }
    if (pick < 0) break;
    int c = s->work.groups.cohort_of[pick];
    double w = epoch_cost(s, c);
    load[hi] -= w;
    load[lo] += w;
    held[hi * n_cohorts + c]--;
    held[lo * n_cohorts + c]++;
    st = move_member(s, pick, hi, lo, err);
  }
  free(load);
  free(held);
  return st;
}

int caviar_ranks_slot(const caviar_cohort *c, uint32_t trial) {
  /* Slots keep the order trials started in (ascending ids), but after a member moved in from
   * another rank: a binary search, then a scan if that misses. */
  int lo = 0, hi = c->n;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (c->trial[mid] < trial) lo = mid + 1;
    else hi = mid;
  }
  if (lo < c->n && c->trial[lo] == trial) return lo;
  for (int slot = 0; slot < c->n; slot++)
    if (c->trial[slot] == trial) return slot;
  return -1;
}

/* The order a one-process run visits its members in: cohort by cohort, and within a cohort by
 * when the trial started (slots keep that order through compaction). */
typedef struct ordered {
  uint64_t key; /* cohort, then trial index */
  member_result result;
} ordered;

static uint64_t key_of(const run_state *s, const member_result *m) {
  return (uint64_t)(uint32_t)s->work.groups.cohort_of[m->index] << 32 | m->index;
}

static int by_key(const void *a, const void *b) {
  const ordered *x = a, *y = b;
  return (x->key > y->key) - (x->key < y->key);
}

static caviar_status sort_results(run_state *s, caviar_error *err) {
  /* One rank's results come in its members' order, which is this order but after a move. */
  int k = 1;
  while (k < s->rank.n_results && key_of(s, &s->rank.results[k - 1]) < key_of(s, &s->rank.results[k])) k++;
  if (k >= s->rank.n_results) return CAVIAR_OK;
  ordered *tmp = caviar_alloc((size_t)s->rank.n_results + 1, sizeof *tmp, "an epoch's results", err);
  if (!tmp) return CAVIAR_ERUNTIME;
  for (int k = 0; k < s->rank.n_results; k++) {
    tmp[k] = (ordered){key_of(s, &s->rank.results[k]), s->rank.results[k]};
  }
  qsort(tmp, (size_t)s->rank.n_results, sizeof *tmp, by_key);
  for (int k = 0; k < s->rank.n_results; k++) s->rank.results[k] = tmp[k].result;
  free(tmp);
  return CAVIAR_OK;
}

/* What each rank adds in front of its members' results. */
typedef struct rank_header {
  double samples; /* model-samples it trained since the last exchange */
} rank_header;

caviar_status caviar_ranks_exchange(run_state *s, const member_result *mine, int n_mine, caviar_error *err) {
  caviar_world *d = s->sweep->world;
  int size = caviar_world_size(d);
  if (!d) {
    /* One process: its own results, in the buffer the last epoch's took (a Hyperband sweep's last
     * bracket passes an epoch boundary for every epoch of its few trials: 97,336 of them). */
    if (n_mine + 1 > s->rank.results_cap) {
      member_result *grown = caviar_alloc((size_t)n_mine + 1, sizeof *grown, "an epoch's results", err);
      if (!grown) return CAVIAR_ERUNTIME;
      free(s->rank.results);
      s->rank.results = grown;
      s->rank.results_cap = n_mine + 1;
    }
    if (n_mine) memcpy(s->rank.results, mine, (size_t)n_mine * sizeof *mine);
    s->rank.n_results = n_mine;
    s->rank.synced_samples += s->result->model_samples - s->rank.synced_samples;
    s->result->model_samples = s->rank.synced_samples;
    return sort_results(s, err);
  }
  size_t bytes = sizeof(rank_header) + (size_t)n_mine * sizeof *mine;
  unsigned char *out = caviar_alloc(bytes, 1, "an epoch's results", err);
  size_t *counts = caviar_alloc((size_t)size, sizeof *counts, "an epoch's results", err);
  if (!out || !counts) {
    free(out);
    free(counts);
    return CAVIAR_ERUNTIME;
  }
  rank_header h = {s->result->model_samples - s->rank.synced_samples};
  memcpy(out, &h, sizeof h);
  if (n_mine) memcpy(out + sizeof h, mine, (size_t)n_mine * sizeof *mine);
  void *all = NULL;
  caviar_status st = caviar_world_allgather(d, out, bytes, &all, counts, err);
  free(out);
  if (st != CAVIAR_OK) {
    free(counts);
    return st;
  }
  int n = 0;
  for (int r = 0; r < size; r++) n += (int)((counts[r] - sizeof h) / sizeof *mine);
  free(s->rank.results);
  s->rank.results = caviar_alloc((size_t)n + 1, sizeof *s->rank.results, "an epoch's results", err);
  s->rank.results_cap = s->rank.results ? n + 1 : 0;
  if (!s->rank.results) st = CAVIAR_ERUNTIME;
  const unsigned char *at = all;
  s->rank.n_results = 0;
  for (int r = 0; st == CAVIAR_OK && r < size; r++) {
    memcpy(&h, at, sizeof h);
    s->rank.synced_samples += h.samples;
    int k = (int)((counts[r] - sizeof h) / sizeof *mine);
    memcpy(s->rank.results + s->rank.n_results, at + sizeof h, (size_t)k * sizeof *mine);
    s->rank.n_results += k;
    at += counts[r];
  }
  free(all);
  free(counts);
  if (st != CAVIAR_OK) return st;
  s->result->model_samples = s->rank.synced_samples;
  return sort_results(s, err);
}

caviar_status caviar_ranks_copy(run_state *s, int cohort, int from, int to, caviar_error *err) {
  caviar_cohort *c = &s->work.cohorts[cohort];
  caviar_backend *be = s->sweep->backend;
  int me = caviar_run_rank(s), giver = s->rank.owner[from], taker = s->rank.owner[to];
  if (me != giver && me != taker) return CAVIAR_OK;
  int src = me == giver ? caviar_ranks_slot(c, s->sched.trials[from].id) : -1;
  int dst = me == taker ? caviar_ranks_slot(c, s->sched.trials[to].id) : -1;
  if ((me == giver && src < 0) || (me == taker && dst < 0))
    return caviar_fail(err, CAVIAR_ERUNTIME, "internal error: rank %d does not hold trial %u", me,
                       (unsigned)s->sched.trials[me == giver && src < 0 ? from : to].id);
  if (giver == taker) return caviar_cohort_copy(be, c, src, dst, err);
  /* Across ranks: the donor's parameters, both optimizer states and its step and epoch counts. */
  size_t floats = 3 * c->layout.per_member, bytes = 2 * sizeof(int) + floats * sizeof(float);
  unsigned char *msg = caviar_alloc(bytes, 1, "a member copied between ranks", err);
  if (!msg) return CAVIAR_ERUNTIME;
  caviar_status st;
  int progress[2];
  float *state = (float *)(void *)(msg + 2 * sizeof(int));
  if (me == giver) {
    st = caviar_cohort_read_member(be, c, src, state, &progress[0], &progress[1], err);
    memcpy(msg, progress, sizeof progress);
    if (st == CAVIAR_OK) st = caviar_world_send(s->sweep->world, taker, msg, bytes, err);
  } else {
    st = caviar_world_recv(s->sweep->world, giver, msg, bytes, err);
    s->rank.copies_in++;
    memcpy(progress, msg, sizeof progress);
    if (st == CAVIAR_OK) st = caviar_cohort_write_member(be, c, dst, state, progress[0], progress[1], err);
  }
  free(msg);
  return st;
}

typedef struct test_result {
  uint32_t trial;
  float loss, acc;
} test_result;

caviar_status caviar_ranks_gather_tests(run_state *s, caviar_error *err) {
  caviar_world *d = s->sweep->world;
  if (caviar_world_size(d) == 1) return CAVIAR_OK;
  caviar_sweep_result *r = s->result;
  int me = caviar_run_rank(s), size = caviar_world_size(d), n = 0;
  test_result *mine = caviar_alloc((size_t)s->sched.count + 1, sizeof *mine, "test results", err);
  size_t *counts = caviar_alloc((size_t)size, sizeof *counts, "test results", err);
  caviar_status st = mine && counts ? CAVIAR_OK : CAVIAR_ERUNTIME;
  for (int i = 0; st == CAVIAR_OK && i < s->sched.count; i++) {
    const caviar_trial_result *t = &r->trials[s->sched.trials[i].id];
    if (s->rank.owner[i] == me && t->status == CAVIAR_TRIAL_SURVIVED) mine[n++] = (test_result){t->trial.id, t->test_loss, t->test_acc};
  }
  void *all = NULL;
  if (st == CAVIAR_OK) st = caviar_world_allgather(d, mine, (size_t)n * sizeof *mine, &all, counts, err);
  if (st == CAVIAR_OK) {
    size_t total = 0;
    for (int k = 0; k < size; k++) total += counts[k];
    const test_result *got = all;
    for (size_t k = 0; k < total / sizeof *got; k++) {
      r->trials[got[k].trial].test_loss = got[k].loss;
      r->trials[got[k].trial].test_acc = got[k].acc;
    }
  }
  free(all);
  free(mine);
  free(counts);
  /* Rank 0 has had the survivors' weights since they finished (caviar_ranks_send_survivors); the
   * owners' copies were for the test pass. */
  for (int i = 0; me != 0 && i < s->sched.count; i++) {
    caviar_trial_result *t = &r->trials[s->sched.trials[i].id];
    free(t->params);
    t->params = NULL;
  }
  return st;
}

caviar_status caviar_ranks_send_survivors(run_state *s, caviar_error *err) {
  caviar_world *d = s->sweep->world;
  if (caviar_world_size(d) == 1) return CAVIAR_OK;
  int me = caviar_run_rank(s);
  caviar_status st = CAVIAR_OK;
  for (int k = 0; st == CAVIAR_OK && k < s->rank.n_results; k++) {
    int i = (int)s->rank.results[k].index, owner = s->rank.owner[i];
    caviar_trial_result *t = &s->result->trials[s->sched.trials[i].id];
    if (t->status != CAVIAR_TRIAL_SURVIVED || owner == 0 || (me != 0 && me != owner)) continue;
    caviar_layout layout;
    caviar_layout_make(&t->shape, 1, &layout);
    size_t bytes = layout.per_member * sizeof(float);
    if (me == owner) {
      st = t->params ? caviar_world_send(d, 0, t->params, bytes, err)
                     : caviar_fail(err, CAVIAR_ERUNTIME, "internal error: rank %d lost survivor %u's weights", me,
                                   (unsigned)t->trial.id);
    } else {
      t->params = caviar_alloc(layout.per_member, sizeof(float), "a survivor's parameters", err);
      st = t->params ? caviar_world_recv(d, owner, t->params, bytes, err) : CAVIAR_ERUNTIME;
    }
  }
  return st;
}

caviar_status caviar_ranks_agree_epoch(run_state *s, unsigned *flags, caviar_error *err) {
  caviar_world *d = s->sweep->world;
  if (!d) return CAVIAR_OK;
  unsigned char mine = (unsigned char)*flags;
  size_t *counts = caviar_alloc((size_t)d->size, sizeof *counts, "the ranks' agreement", err);
  if (!counts) return CAVIAR_ERUNTIME;
  void *all = NULL;
  caviar_status st = caviar_world_allgather(d, &mine, 1, &all, counts, err);
  if (st == CAVIAR_OK) {
    const unsigned char *got = all;
    *flags = got[0];
    for (int r = 1; r < d->size; r++) *flags |= got[r] & CAVIAR_AGREE_ANY;
  }
  free(all);
  free(counts);
  return st;
}

caviar_status caviar_ranks_finish(run_state *s, caviar_error *err) {
  caviar_world *d = s->sweep->world;
  if (!d) return CAVIAR_OK;
  caviar_rank_info mine = {.rank = d->rank,
                           .members = s->rank.members,
                           .member_epochs = s->rank.member_epochs,
                           .cost = s->rank.cost,
                           .busy_s = s->rank.busy_s,
                           .copies_in = s->rank.copies_in,
                           .moved_in = s->rank.moved_in,
                           .wall_s = caviar_now() - s->prog.start};
  snprintf(mine.host, sizeof mine.host, "%s", d->host);
  snprintf(mine.device, sizeof mine.device, "%s", d->device);
  /* The time of this exchange itself is left out of what it reports. */
  mine.comm_s = d->comm_s;
  mine.wait_s = d->wait_s;
  mine.exchanges = d->exchanges;
  size_t *counts = caviar_alloc((size_t)d->size, sizeof *counts, "the ranks' report", err);
  if (!counts) return CAVIAR_ERUNTIME;
  void *all = NULL;
  caviar_status st = caviar_world_allgather(d, &mine, sizeof mine, &all, counts, err);
  free(counts);
  if (st != CAVIAR_OK) return st;
  s->result->ranks = all;
  s->result->n_ranks = d->size;
  return CAVIAR_OK;
}
