#include "caviar/schedule.h"

#include <stdlib.h>

void caviar_rungs_make(const caviar_early_terminate *et, caviar_rungs *out) {
  out->n = 0;
  if (et->type == CAVIAR_STOP_NONE) return;
  for (long e = et->min_epochs; e < et->max_epochs && out->n < CAVIAR_MAX_RUNGS; e *= et->eta)
    out->epochs[out->n++] = (int)e;
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
