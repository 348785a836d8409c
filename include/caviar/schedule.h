#ifndef CAVIAR_SCHEDULE_H
#define CAVIAR_SCHEDULE_H
/* Successive halving: the rungs (epochs after which members are compared) and who survives one. */

#include <stdbool.h>
#include <stdint.h>

#include "caviar/spec.h"

#define CAVIAR_MAX_RUNGS 32

typedef struct caviar_rungs {
  int n;
  int epochs[CAVIAR_MAX_RUNGS]; /* after how many epochs each rung is judged, ascending */
} caviar_rungs;

/* min_epochs * eta^k for k = 0, 1, ... while below max_epochs; none without early termination. */
void caviar_rungs_make(const caviar_early_terminate *et, caviar_rungs *out);
/* How many of `alive` members a rung keeps: the top 1/eta, at least one. */
int caviar_rung_keep(int alive, int eta);
/* Whether `epochs` completed is a rung; its index in *rung. */
bool caviar_is_rung(const caviar_rungs *rungs, int epochs, int *rung);

/* Orders members best first by the metric (ties: the other metric, then the lower trial id, so the
 * order is total and reproducible). */
void caviar_rank(const float *val_loss, const float *val_acc, const uint32_t *trial, int n, bool by_accuracy,
                 int *order);

#endif
