#include "caviar/schedule.h"

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

void caviar_rank_order(int n, caviar_rank_key (*key)(const void *ctx, int i), const void *ctx, int *order) {
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

caviar_status caviar_rung_record_add(caviar_rung_record *rec, float val_loss, float val_acc, uint32_t trial,
                                     caviar_error *err) {
  if (rec->n == rec->cap) {
    int cap = rec->cap ? 2 * rec->cap : 64;
    float *loss = realloc(rec->loss, (size_t)cap * sizeof *loss);
    if (loss) rec->loss = loss;
    float *acc = realloc(rec->acc, (size_t)cap * sizeof *acc);
    if (acc) rec->acc = acc;
    uint32_t *id = realloc(rec->trial, (size_t)cap * sizeof *id);
    if (id) rec->trial = id;
    if (!loss || !acc || !id) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory recording a rung");
    rec->cap = cap;
  }
  rec->loss[rec->n] = val_loss;
  rec->acc[rec->n] = val_acc;
  rec->trial[rec->n] = trial;
  rec->n++;
  return CAVIAR_OK;
}

caviar_status caviar_rung_promoted(const caviar_rung_record *rec, bool by_accuracy, int eta, uint32_t trial, bool *out,
                                   caviar_error *err) {
  int *order = caviar_alloc((size_t)rec->n, sizeof *order, "a rung", err);
  if (!order) return CAVIAR_ERUNTIME;
  caviar_rank(rec->loss, rec->acc, rec->trial, rec->n, by_accuracy, order);
  int keep = caviar_rung_keep(rec->n, eta);
  *out = false;
  for (int k = 0; k < keep && !*out; k++) *out = rec->trial[order[k]] == trial;
  free(order);
  return CAVIAR_OK;
}

void caviar_rung_record_free(caviar_rung_record *rec) {
  free(rec->loss);
  free(rec->acc);
  free(rec->trial);
  memset(rec, 0, sizeof *rec);
}
