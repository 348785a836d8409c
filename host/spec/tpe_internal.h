/* TPE's inner steps, for tests only: each checked against the plain version it stands for. */
#ifndef CAVIAR_TPE_INTERNAL_H
#define CAVIAR_TPE_INTERNAL_H

#include <stddef.h>

/* log(sum of exp(terms[i])) for terms in order, as a density sums its kernels: the terms that can
 * change the sum picked (summed: room for n indices), terms overwritten. -INFINITY when all are. */
double caviar_tpe_log_sum_exp(double *terms, int n, int *summed);

/* order[0 .. n): the indices of x[0 .. n) (no NaNs) by value, equal values in index order, as the
 * bandwidths sort them. */
void caviar_tpe_sort_order(const double *x, int n, int *order);

/* Bytes of a memo of slots places. */
size_t caviar_tpe_memo_bytes(unsigned slots);
/* log of the mass on [lo, hi] of the normal kernel (mu, sigma), through memo (room for slots
 * places, zeroed before its first use) as a fit takes it: the memo's answer when it holds this
 * kernel on this interval, else computed and kept. */
double caviar_tpe_memo_log_z(void *memo, unsigned slots, double mu, double sigma, double lo, double hi);

#endif
