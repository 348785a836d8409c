#ifndef CAVIAR_TEST_STATS_H
#define CAVIAR_TEST_STATS_H
/* Goodness-of-fit tests for the sampler tests. */

#include <stddef.h>

/* One-sample Kolmogorov-Smirnov test of x[0..n) (sorted in place) against cdf(x, ctx); returns the
 * asymptotic p-value (Marsaglia-style series for the Kolmogorov distribution). */
double ks_pvalue(double *x, size_t n, double (*cdf)(double, const void *), const void *ctx);

/* Pearson chi-square test of observed counts against expected probabilities (summing to 1);
 * returns the p-value from GSL's chi-square distribution with k - 1 degrees of freedom. */
double chi_square_pvalue(const long *observed, const double *expected_prob, int k);

#endif
