/* TPE's inner steps, for tests only: each checked against the plain version it stands for. */
#ifndef CAVIAR_TPE_INTERNAL_H
#define CAVIAR_TPE_INTERNAL_H

#include <stdbool.h>
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

/* Whether proposals score a continuous parameter's candidates quickly first (true), then exactly only
 * those that may be best; tests turn it off to compare (the same proposals either way). */
extern bool caviar_tpe_quick_scores;
/* How far under the best quick score a candidate is still scored exactly: twice the quick scores'
 * error bound; tests widen it to put the exact pass through more candidates. */
extern double caviar_tpe_quick_window;
/* An error tests put on the quick scores (0: none), each within this of its own, for the exact
 * pass to undo (with a window of at least twice it). */
extern double caviar_tpe_quick_noise;
/* Whether proposals score a continuous parameter's candidates in floats first where its bad group's
 * density allows (true), then quickly only those that may be best; the float scores' window
 * (negative: twice their error bound and the noise below); an error tests put on the float scores
 * (0: none). */
extern bool caviar_tpe_float_scores;
/* Whether the proposals of a fill (each with the pending configs of the one before and one more,
 * and no result between them) keep the estimators of the one before (true), and how many
 * proposals have (tests compare them with fresh ones'). */
extern bool caviar_tpe_fill_reuse;
extern long caviar_tpe_fill_reused;
/* An estimator fitted to the points x[0 .. start) of a numeric axis [lo, hi] (continuous, or of
 * cells step wide) and grown by one point at a time as a fill's proposals grow a bad group's (NAN: a
 * config without the parameter, no point), against a fresh fit to the same points at each step: the
 * steps whose estimators differ in any bit (-1: no memory). */
long caviar_tpe_extend_mismatches(const double *x, int n, int start, double lo, double hi, double step);
/* The largest relative error of the float densities' 2^t (quick_exp2f, 1e-6 claimed) over every float
 * t of [from, to] (-124 <= from <= to <= -0), against exp2 in doubles. */
double caviar_tpe_quick_exp2f_error(float from, float to);
/* An integer or q_ axis's log density (a cell's mass) at x (a cell's value) of the mixture of n normal
 * kernels (mu, sigma, weights w summing to 1) truncated to [lo, hi], cells step wide: as a proposal
 * takes it (each kernel's cell mass kept by its mu and sigma), and into plain by the rule, a kernel
 * at a time. */
double caviar_tpe_cell_log_pdf(const double *mu, const double *sigma, const double *w, int n, double lo, double hi,
                               double step, double x, double *plain);
/* A list axis of n_values values: the log probability of value x under the estimator of n points
 * (own[i]: point i's value index) and prior_weight, as a proposal takes it (one logarithm for each
 * number the rows hold), and into plain a kernel at a time. */
double caviar_tpe_list_log_pdf(const int *own, int n, int n_values, double prior_weight, int x, double *plain);
/* Whether an integer, q_ or list parameter's candidates are scored once a value (true); tests turn it
 * off to compare (the same proposals either way). */
extern bool caviar_tpe_alike_scores;
extern double caviar_tpe_float_window;
extern double caviar_tpe_float_noise;
/* |quick - exact| log density at x of the mixture of n normal kernels (mu, sigma, weights w summing
 * to 1) truncated to [lo, hi]: what a proposal's quick scores rest on (under 1e-11 claimed). */
double caviar_tpe_quick_gap(const double *mu, const double *sigma, const double *w, int n, double lo, double hi,
                            double x);
/* The same mixture's |float - exact| log density at x (NAN where the float density does not apply),
 * and into bound the float density's error bound (infinite where it does not apply). */
double caviar_tpe_float_gap(const double *mu, const double *sigma, const double *w, int n, double lo, double hi,
                            double x, double *bound);

#endif
