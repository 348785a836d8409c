#include "stats.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Q_KS(lambda) = 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 lambda^2) (Numerical Recipes, 14.3). */
static double kolmogorov_q(double lambda) {
  if (lambda < 0.2) return 1.0;
  double sum = 0, sign = 1;
  for (int j = 1; j <= 100; j++) {
    double term = sign * exp(-2.0 * j * j * lambda * lambda);
    sum += term;
    if (fabs(term) < 1e-12 * fabs(sum)) break;
    sign = -sign;
  }
  return fmin(1.0, fmax(0.0, 2.0 * sum));
}

double ks_pvalue(double *x, size_t n, double (*cdf)(double, const void *), const void *ctx) {
  qsort(x, n, sizeof *x, compare);
  double d = 0;
  for (size_t i = 0; i < n; i++) {
    double f = cdf(x[i], ctx);
    d = fmax(d, fmax(f - (double)i / n, (double)(i + 1) / n - f));
  }
  double root = sqrt((double)n);
  return kolmogorov_q((root + 0.12 + 0.11 / root) * d);
}

double chi_square_pvalue(const long *observed, const double *expected_prob, int k) {
  long total = 0;
  for (int i = 0; i < k; i++) total += observed[i];
  double stat = 0;
  int dof = -1;
  for (int i = 0; i < k; i++) {
    double e = expected_prob[i] * (double)total;
    if (e == 0) {
      if (observed[i] != 0) return 0.0; /* an impossible outcome happened */
      continue;
    }
    stat += (observed[i] - e) * (observed[i] - e) / e;
    dof++;
  }
  return dof < 1 ? 1.0 : gsl_cdf_chisq_Q(stat, dof);
}
