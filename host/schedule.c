#include "caviar/schedule.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void caviar_rungs_make(const caviar_early_terminate *et, caviar_rungs *out) {
  out->n = 0;
  if (et->type == CAVIAR_STOP_NONE) return;
  for (long e = et->min_epochs; e < et->max_epochs && out->n < CAVIAR_MAX_RUNGS; e *= et->eta)
    out->epochs[out->n++] = (int)e;
}

void caviar_plan_make(const caviar_early_terminate *et, long long trials, caviar_plan *out) {
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
  for (int s = s_max; s >= 0; s--) {
    caviar_bracket *b = &out->brackets[out->n_brackets++];
    b->s = s;
    b->trials = (int)ceil((double)(s_max + 1) / (s + 1) * pow(et->eta, s) - 1e-9);
    for (int i = 0; i < s && b->rungs.n < CAVIAR_MAX_RUNGS; i++) {
      int e = (int)lround(et->max_epochs * pow(et->eta, i - s));
      if (e < 1) e = 1;
      if (e < et->max_epochs && (b->rungs.n == 0 || e > b->rungs.epochs[b->rungs.n - 1]))
        b->rungs.epochs[b->rungs.n++] = e;
    }
  }
}

long long caviar_plan_trials(const caviar_plan *plan) {
  long long n = 0;
  for (int b = 0; b < plan->n_brackets; b++) n += plan->brackets[b].trials;
  return n;
}

int caviar_plan_bracket_of(const caviar_plan *plan, long long index) {
  for (int b = 0; b < plan->n_brackets; b++) {
    if (index < plan->brackets[b].trials) return b;
    index -= plan->brackets[b].trials;
  }
  return plan->n_brackets - 1;
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

typedef struct rank_ctx {
  const float *loss, *acc;
  const uint32_t *trial;
  bool by_accuracy;
} rank_ctx;

static _Thread_local const rank_ctx *current;

/* Better first; NaN (never expected here: diverged members are culled before ranking) last. */
static int compare_members(const void *pa, const void *pb) {
  int a = *(const int *)pa, b = *(const int *)pb;
  const rank_ctx *r = current;
  float acc_a = r->acc[a], acc_b = r->acc[b], loss_a = r->loss[a], loss_b = r->loss[b];
  int by_acc = (acc_a < acc_b) - (acc_a > acc_b);
  int by_loss = (loss_a > loss_b) - (loss_a < loss_b);
  int first = r->by_accuracy ? by_acc : by_loss, second = r->by_accuracy ? by_loss : by_acc;
  if (first) return first;
  if (second) return second;
  return (r->trial[a] > r->trial[b]) - (r->trial[a] < r->trial[b]);
}

void caviar_rank(const float *val_loss, const float *val_acc, const uint32_t *trial, int n, bool by_accuracy,
                 int *order) {
  rank_ctx ctx = {val_loss, val_acc, trial, by_accuracy};
  for (int i = 0; i < n; i++) order[i] = i;
  current = &ctx;
  qsort(order, (size_t)n, sizeof *order, compare_members);
  current = NULL;
}
