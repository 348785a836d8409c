#include "caviar/schedule.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void caviar_rungs_make(const caviar_early_terminate *et, caviar_rungs *out) {
  out->n = 0;
  if (et->type == CAVIAR_STOP_NONE) return;
  for (long e = et->min_epochs; e < et->max_epochs && out->n < CAVIAR_MAX_RUNGS; e *= et->eta)
    out->epochs[out->n++] = (int)e;
}

void caviar_brackets_make(const caviar_early_terminate *et, long long trials, caviar_brackets *out) {
  memset(out, 0, sizeof *out);
  out->eta = et->eta;
  out->max_epochs = et->max_epochs;
  if (et->type != CAVIAR_STOP_HYPERBAND) {
    out->n_brackets = 1;
    out->brackets[0].trials = (int)trials;
    if (et->type == CAVIAR_STOP_SUCCESSIVE_HALVING) caviar_rungs_make(et, &out->brackets[0].rungs);
    return;
  }
  int s_max = et->s;
  if (s_max == 0)
    while ((double)et->min_epochs * pow(et->eta, s_max + 1) <= (double)et->max_epochs + 1e-9) s_max++;
  if (s_max >= CAVIAR_MAX_BRACKETS) s_max = CAVIAR_MAX_BRACKETS - 1;
  long long own = 0;
  for (int s = s_max; s >= 0; s--) {
    caviar_bracket *b = &out->brackets[out->n_brackets++];
    b->s = s;
    b->trials = (int)ceil((double)(s_max + 1) / (s + 1) * pow(et->eta, s) - 1e-9);
    own += b->trials;
    for (int i = 0; i < s && b->rungs.n < CAVIAR_MAX_RUNGS; i++) {
      int e = (int)lround(et->max_epochs * pow(et->eta, i - s));
      if (e < 1) e = 1;
      if (e < et->max_epochs && (b->rungs.n == 0 || e > b->rungs.epochs[b->rungs.n - 1]))
        b->rungs.epochs[b->rungs.n++] = e;
    }
  }
  if (trials <= 0 || trials == own) return;
  /* Another count (a grid's points, run_cap, -n): the brackets keep Li et al.'s proportions,
   * largest remainders first (ties: the bracket with more rungs), so the counts sum to trials. */
  long long given = 0;
  double rest[CAVIAR_MAX_BRACKETS];
  for (int b = 0; b < out->n_brackets; b++) {
    double exact = (double)trials * out->brackets[b].trials / (double)own;
    out->brackets[b].trials = (int)floor(exact);
    rest[b] = exact - floor(exact);
    given += out->brackets[b].trials;
  }
  for (; given < trials; given++) {
    int best = 0;
    for (int b = 1; b < out->n_brackets; b++)
      if (rest[b] > rest[best]) best = b;
    out->brackets[best].trials++;
    rest[best] = -1;
  }
}

long long caviar_round_request(const caviar_spec *spec, long long trials) {
  if (trials >= 0 || spec->early_terminate.type != CAVIAR_STOP_HYPERBAND || spec->trials_given ||
      spec->method == CAVIAR_METHOD_GRID || spec->outside) /* outside code: W&B's hyperband stops runs only */
    return trials;
  caviar_brackets own;
  caviar_brackets_make(&spec->early_terminate, 0, &own);
  return caviar_brackets_trials(&own);
}

int caviar_brackets_describe(const caviar_brackets *hb, char *buf, size_t size) {
  size_t used = 0;
  for (int b = 0; b < hb->n_brackets && used < size; b++) {
    const caviar_bracket *k = &hb->brackets[b];
    used += (size_t)snprintf(buf + used, size - used, "%sbracket %d: %d trial%s", b ? "; " : "", k->s, k->trials,
                             k->trials == 1 ? "" : "s");
    for (int r = 0; r < k->rungs.n && used < size; r++)
      used += (size_t)snprintf(buf + used, size - used, "%s%d", r ? ", " : ", rungs at epochs ", k->rungs.epochs[r]);
    if (used < size) used += (size_t)snprintf(buf + used, size - used, "%s", k->rungs.n ? "" : ", no rung");
  }
  if (used < size)
    used += (size_t)snprintf(buf + used, size - used, "; every trial ends by epoch %d", hb->max_epochs);
  return (int)used;
}

long long caviar_brackets_trials(const caviar_brackets *hb) {
  long long n = 0;
  for (int b = 0; b < hb->n_brackets; b++) n += hb->brackets[b].trials;
  return n;
}

int caviar_bracket_of(const caviar_brackets *hb, long long index) {
  for (int b = 0; b < hb->n_brackets; b++) {
    if (index < hb->brackets[b].trials) return b;
    index -= hb->brackets[b].trials;
  }
  return hb->n_brackets - 1;
}

double caviar_bracket_expected_epochs(const caviar_bracket *b, int eta, int max_epochs) {
  /* Each rung keeps 1/eta of those alive, but never fewer than one (caviar_rung_keep): with the
   * bracket's trial count the expectation follows the real counts, else the fractions. */
  double alive = b->trials > 0 ? (double)b->trials : 1.0, epochs = 0;
  int from = 0;
  for (int i = 0; i < b->rungs.n; i++) {
    epochs += alive * (b->rungs.epochs[i] - from);
    from = b->rungs.epochs[i];
    alive = b->trials > 0 ? (double)caviar_rung_keep((int)alive, eta) : alive / eta;
  }
  epochs += alive * (max_epochs - from);
  return epochs / (b->trials > 0 ? (double)b->trials : 1.0);
}

int caviar_rung_keep(int alive, int eta) {
  int keep = alive / eta;
  return keep > 0 ? keep : 1;
}

bool caviar_is_rung(const caviar_rungs *rungs, int epochs, int *rung) {
  for (int i = 0; i < rungs->n; i++) {
    if (rungs->epochs[i] == epochs) {
      *rung = i;
      return true;
    }
  }
  return false;
}

caviar_rank_key caviar_rank_key_of(float val_loss, float val_acc, bool by_accuracy, int group, int epochs,
                                   uint32_t trial) {
  caviar_rank_key k = {group, epochs, by_accuracy ? -val_acc : val_loss, by_accuracy ? val_loss : -val_acc, trial};
  return k;
}

/* Lower first, NaN last. */
static int compare_float(float a, float b) {
  if (isnan(a) || isnan(b)) return isnan(a) - isnan(b);
  return (a > b) - (a < b);
}

int caviar_rank_key_compare(const caviar_rank_key *a, const caviar_rank_key *b) {
  if (a->group != b->group) return a->group < b->group ? -1 : 1;
  if (a->epochs != b->epochs) return a->epochs > b->epochs ? -1 : 1;
  int c = compare_float(a->metric, b->metric);
  if (c) return c;
  c = compare_float(a->other, b->other);
  if (c) return c;
  return (a->trial > b->trial) - (a->trial < b->trial);
}

/* Heapsort of order by the keys: in place, with the keys' source passed along, so no state outside
 * the call (the order is total, so any correct sort gives the same result). */
static bool ranks_after(caviar_rank_key (*key)(const void *, int), const void *ctx, int a, int b) {
  caviar_rank_key ka = key(ctx, a), kb = key(ctx, b);
  return caviar_rank_key_compare(&ka, &kb) > 0;
}

static void sift_down(int *order, int root, int end, caviar_rank_key (*key)(const void *, int), const void *ctx) {
  for (int child; (child = 2 * root + 1) < end; root = child) {
    if (child + 1 < end && ranks_after(key, ctx, order[child + 1], order[child])) child++;
    if (!ranks_after(key, ctx, order[child], order[root])) return;
    int t = order[root];
    order[root] = order[child];
    order[child] = t;
  }
}

typedef struct keyed {
  caviar_rank_key key;
  int index;
} keyed;

static int compare_keyed(const void *a, const void *b) {
  return caviar_rank_key_compare(&((const keyed *)a)->key, &((const keyed *)b)->key);
}

void caviar_rank_order(int n, caviar_rank_key (*key)(const void *ctx, int i), const void *ctx, int *order) {
  /* Each key once, sorted with its index (a trial's result is read once, not at every comparison
   * of the heapsort below, which stays for when there is no memory for the keys). */
  keyed *keys = n > 1 ? malloc((size_t)n * sizeof *keys) : NULL;
  if (keys) {
    for (int i = 0; i < n; i++) keys[i] = (keyed){key(ctx, i), i};
    qsort(keys, (size_t)n, sizeof *keys, compare_keyed);
    for (int i = 0; i < n; i++) order[i] = keys[i].index;
    free(keys);
    return;
  }
  for (int i = 0; i < n; i++) order[i] = i;
  for (int i = n / 2 - 1; i >= 0; i--) sift_down(order, i, n, key, ctx);
  for (int end = n - 1; end > 0; end--) {
    int t = order[0];
    order[0] = order[end];
    order[end] = t;
    sift_down(order, 0, end, key, ctx);
  }
}

typedef struct rung_members {
  const float *loss, *acc;
  const uint32_t *trial;
  bool by_accuracy;
} rung_members;

static caviar_rank_key rung_member_key(const void *ctx, int i) {
  const rung_members *m = ctx;
  return caviar_rank_key_of(m->loss[i], m->acc[i], m->by_accuracy, 0, 0, m->trial[i]);
}

void caviar_rank(const float *val_loss, const float *val_acc, const uint32_t *trial, int n, bool by_accuracy,
                 int *order) {
  rung_members m = {val_loss, val_acc, trial, by_accuracy};
  caviar_rank_order(n, rung_member_key, &m, order);
}

/* ---- a rung's record: the top keep(n) and the rest as two heaps ---- */

static caviar_rank_key record_key(const caviar_rung_record *r, int i) {
  return caviar_rank_key_of(r->loss[i], r->acc[i], r->by_accuracy, 0, 0, r->trial[i]);
}

/* < 0 when result i ranks before result j. */
static int record_compare(const caviar_rung_record *r, int i, int j) {
  caviar_rank_key a = record_key(r, i), b = record_key(r, j);
  return caviar_rank_key_compare(&a, &b);
}

/* A heap of result indices: with sign +1 the result ranking last is at the root (the top ones),
 * with -1 the one ranking first (the rest). a sits above b when sign * compare(a, b) > 0. */
static bool heap_above(const caviar_rung_record *r, int sign, int a, int b) { return sign * record_compare(r, a, b) > 0; }

static void heap_push(const caviar_rung_record *r, int sign, int *heap, int *n, int x) {
  int k = (*n)++;
  while (k > 0 && heap_above(r, sign, x, heap[(k - 1) / 2])) {
    heap[k] = heap[(k - 1) / 2];
    k = (k - 1) / 2;
  }
  heap[k] = x;
}

static int heap_pop(const caviar_rung_record *r, int sign, int *heap, int *n) {
  int root = heap[0], x = heap[--*n], k = 0;
  for (int child; (child = 2 * k + 1) < *n; k = child) {
    if (child + 1 < *n && heap_above(r, sign, heap[child + 1], heap[child])) child++;
    if (!heap_above(r, sign, heap[child], x)) break;
    heap[k] = heap[child];
  }
  if (*n > 0) heap[k] = x;
  return root;
}

caviar_status caviar_rung_record_add(caviar_rung_record *r, float val_loss, float val_acc, uint32_t trial,
                                     bool by_accuracy, int eta, caviar_error *err) {
  if (r->n == r->cap) {
    size_t cap = r->cap ? 2 * (size_t)r->cap : 64;
    float *loss = realloc(r->loss, cap * sizeof *loss);
    if (loss) r->loss = loss;
    float *acc = realloc(r->acc, cap * sizeof *acc);
    if (acc) r->acc = acc;
    uint32_t *ids = realloc(r->trial, cap * sizeof *ids);
    if (ids) r->trial = ids;
    int *top = realloc(r->top, cap * sizeof *top);
    if (top) r->top = top;
    int *rest = realloc(r->rest, cap * sizeof *rest);
    if (rest) r->rest = rest;
    if (!loss || !acc || !ids || !top || !rest || cap > INT_MAX)
      return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory recording a rung");
    r->cap = (int)cap;
  }
  r->by_accuracy = by_accuracy;
  r->eta = eta;
  int i = r->n++;
  r->loss[i] = val_loss;
  r->acc[i] = val_acc;
  r->trial[i] = trial;
  /* Into the top if it ranks before the top's worst, else into the rest; then the top gives its
   * worst to the rest, or takes the rest's best, until it holds keep(n). */
  if (r->n_top > 0 && record_compare(r, i, r->top[0]) < 0) heap_push(r, 1, r->top, &r->n_top, i);
  else heap_push(r, -1, r->rest, &r->n_rest, i);
  int keep = caviar_rung_keep(r->n, eta);
  while (r->n_top > keep) heap_push(r, -1, r->rest, &r->n_rest, heap_pop(r, 1, r->top, &r->n_top));
  while (r->n_top < keep && r->n_rest > 0) heap_push(r, 1, r->top, &r->n_top, heap_pop(r, -1, r->rest, &r->n_rest));
  return CAVIAR_OK;
}

bool caviar_rung_record_keeps(const caviar_rung_record *r, float val_loss, float val_acc, uint32_t trial) {
  if (r->n_top == 0) return false;
  caviar_rank_key k = caviar_rank_key_of(val_loss, val_acc, r->by_accuracy, 0, 0, trial), worst = record_key(r, r->top[0]);
  return caviar_rank_key_compare(&k, &worst) <= 0;
}

bool caviar_rung_record_would_keep(const caviar_rung_record *r, float val_loss, float val_acc, uint32_t trial,
                                   bool by_accuracy, int eta) {
  /* keep(n + 1) is keep(n) or one more: a result before the top's worst is in; one after it only
   * when the top grows and it ranks before the best of the rest. */
  caviar_rank_key k = caviar_rank_key_of(val_loss, val_acc, by_accuracy, 0, 0, trial);
  if (r->n_top == 0) return true;
  caviar_rank_key worst = record_key(r, r->top[0]);
  if (caviar_rank_key_compare(&k, &worst) < 0) return true;
  if (caviar_rung_keep(r->n + 1, eta) == r->n_top) return false;
  if (r->n_rest == 0) return true;
  caviar_rank_key best_rest = record_key(r, r->rest[0]);
  return caviar_rank_key_compare(&k, &best_rest) < 0;
}

void caviar_rung_record_free(caviar_rung_record *r) {
  free(r->loss);
  free(r->acc);
  free(r->trial);
  free(r->top);
  free(r->rest);
  memset(r, 0, sizeof *r);
}
