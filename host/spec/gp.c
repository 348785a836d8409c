/* W&B's bayes (its sweeps library's bayes_search.next_sample), written again in C: every parameter
 * on the unit cube through its CDF, a Gaussian process with a Matern (nu = 3/2) kernel of one
 * length scale on the standardised losses, fitted by maximum likelihood; the configs still
 * training enter as the GP's own predictions; the next config is the one of `candidates` uniform
 * points of the cube with the largest expected improvement over the best loss so far. Where the
 * length scale ends at a bound of its range (a bad fit), W&B proposes a random point: so does
 * this. See include/caviar/tpe.h. */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/counter_rng.h"
#include "caviar/tpe.h"
#include "spec/model_configs.h"

#define NUGGET 1e-7              /* W&B's GAUSSIAN_PROCESS_NUGGET, on the kernel's diagonal */
#define STD_EPSILON 1e-6         /* W&B's STD_NUMERICAL_STABILITY_EPSILON */
#define MAX_SAMPLES 100          /* W&B's max_samples_for_gp: a random hundred beyond that */
#define LOG_LENGTH_LO (-11.512925464970229) /* scikit-learn's bounds for a length scale: 1e-5 .. */
#define LOG_LENGTH_HI (11.512925464970229)  /* .. 1e5 */

typedef struct gp {
  int n, d;
  const double *x; /* n x d, row-major */
  double *y;       /* standardised */
  double mean, std;
  double length;
  gsl_matrix *chol; /* Cholesky factor of K + nugget I in its n x n corner */
  gsl_vector *alpha; /* (K + nugget I)^-1 y in its first n */
} gp;

static double matern32(const double *a, const double *b, int d, double length) {
  double r2 = 0;
  for (int k = 0; k < d; k++) r2 += (a[k] - b[k]) * (a[k] - b[k]);
  double s = sqrt(3.0 * r2) / length;
  return (1.0 + s) * exp(-s);
}

/* Factors the kernel at this length scale; the log marginal likelihood, or -inf if the matrix is
 * not positive definite in floating point. */
static double factor(gp *g, double length) {
  g->length = length;
  for (int i = 0; i < g->n; i++)
    for (int j = 0; j <= i; j++) {
      double k = matern32(g->x + (size_t)i * g->d, g->x + (size_t)j * g->d, g->d, length) + (i == j ? NUGGET : 0);
      gsl_matrix_set(g->chol, (size_t)i, (size_t)j, k);
      gsl_matrix_set(g->chol, (size_t)j, (size_t)i, k);
    }
  /* The n x n corner of buffers sized for the pending configs too. */
  gsl_matrix_view chol = gsl_matrix_submatrix(g->chol, 0, 0, (size_t)g->n, (size_t)g->n);
  gsl_vector_view alpha = gsl_vector_subvector(g->alpha, 0, (size_t)g->n);
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  int failed = gsl_linalg_cholesky_decomp1(&chol.matrix);
  if (!failed) {
    gsl_vector_const_view y = gsl_vector_const_view_array(g->y, (size_t)g->n);
    failed = gsl_linalg_cholesky_solve(&chol.matrix, &y.vector, &alpha.vector);
  }
  gsl_set_error_handler(old);
  if (failed) return -INFINITY;
  double fit = 0, logdet = 0;
  for (int i = 0; i < g->n; i++) {
    fit += g->y[i] * gsl_vector_get(g->alpha, (size_t)i);
    logdet += log(gsl_matrix_get(g->chol, (size_t)i, (size_t)i));
  }
  return -0.5 * fit - logdet - 0.5 * g->n * log(2 * M_PI);
}

/* Standardises y (W&B: one value keeps its mean and a deviation of 1) and fits the length scale:
 * the best of a grid over scikit-learn's range, refined by golden sections. True when the length
 * scale ends inside the range (and the kernel could be factored there). */
static bool fit(gp *g, const double *y) {
  g->mean = 0;
  for (int i = 0; i < g->n; i++) g->mean += y[i] / g->n;
  double var = 0;
  for (int i = 0; i < g->n; i++) var += (y[i] - g->mean) * (y[i] - g->mean) / g->n;
  g->std = g->n == 1 ? 1.0 : sqrt(var) + STD_EPSILON;
  for (int i = 0; i < g->n; i++) g->y[i] = (y[i] - g->mean) / g->std;
  enum { GRID = 47 };
  double best_t = 0, best = -INFINITY;
  for (int k = 0; k < GRID; k++) {
    double t = LOG_LENGTH_LO + (LOG_LENGTH_HI - LOG_LENGTH_LO) * k / (GRID - 1);
    double l = factor(g, exp(t));
    if (l > best) best = l, best_t = t;
  }
  double step = (LOG_LENGTH_HI - LOG_LENGTH_LO) / (GRID - 1);
  double a = fmax(LOG_LENGTH_LO, best_t - step), b = fmin(LOG_LENGTH_HI, best_t + step);
  const double phi = 0.6180339887498949;
  double c = b - phi * (b - a), e = a + phi * (b - a), fc = factor(g, exp(c)), fe = factor(g, exp(e));
  for (int it = 0; it < 40; it++) {
    if (fc > fe) b = e, e = c, fe = fc, c = b - phi * (b - a), fc = factor(g, exp(c));
    else a = c, c = e, fc = fe, e = a + phi * (b - a), fe = factor(g, exp(e));
  }
  double t = fc > fe ? c : e, l = fmax(fc, fe);
  if (best > l) t = best_t;
  if (!isfinite(factor(g, exp(t)))) return false; /* no length scale gives a positive definite kernel */
  /* numpy.isclose(bound, theta): |bound - theta| <= 1e-8 + 1e-5 |theta|. */
  return fabs(t - LOG_LENGTH_LO) > 1e-8 + 1e-5 * fabs(t) && fabs(t - LOG_LENGTH_HI) > 1e-8 + 1e-5 * fabs(t);
}

/* The standardised predictive mean and standard deviation at u. */
static void predict(const gp *g, const double *u, double *mean, double *sd) {
  double k[MAX_SAMPLES * 2 + 64];
  double m = 0;
  for (int i = 0; i < g->n; i++) {
    k[i] = matern32(u, g->x + (size_t)i * g->d, g->d, g->length);
    m += k[i] * gsl_vector_get(g->alpha, (size_t)i);
  }
  /* v = L^-1 k; variance = k(u, u) - v.v (k(u, u) = 1: no nugget for a new point, as sklearn). */
  double v2 = 0;
  for (int i = 0; i < g->n; i++) {
    double s = k[i];
    for (int j = 0; j < i; j++) s -= gsl_matrix_get(g->chol, (size_t)i, (size_t)j) * k[j];
    k[i] = s / gsl_matrix_get(g->chol, (size_t)i, (size_t)i);
    v2 += k[i] * k[i];
  }
  *mean = m;
  *sd = sqrt(fmax(0.0, 1.0 - v2));
}

static double uniform(uint64_t seed, uint32_t id, uint64_t index) {
  caviar_rng_block r = caviar_rng(seed, id, CAVIAR_RNG_TPE, index | ((uint64_t)1 << 62));
  return caviar_u01_open(r.v[0], r.v[1]);
}

bool caviar_gp_propose(const caviar_space *space, model_form form, uint64_t seed, uint32_t id,
                       const void *const *observed, const double *loss, int n, const void *const *pending,
                       int n_pending, int candidates, double *out) {
  int d = space->n;
  if (d == 0 || n < 1) return false;
  /* At most MAX_SAMPLES observations (a random subset, as W&B), then the pending configs. */
  int used = n < MAX_SAMPLES ? n : MAX_SAMPLES, extra = n_pending < MAX_SAMPLES - 5 ? n_pending : MAX_SAMPLES - 5;
  if (extra < 0) extra = 0;
  int rows = used + extra;
  double *x = malloc((size_t)rows * (size_t)d * sizeof *x), *y = malloc((size_t)rows * sizeof *y);
  double *u = malloc((size_t)d * sizeof *u), *best_u = malloc((size_t)d * sizeof *best_u);
  int *pick = malloc((size_t)n * sizeof *pick);
  gp g = {.n = used, .d = d, .x = x, .y = malloc((size_t)rows * sizeof(double)),
          .chol = gsl_matrix_alloc((size_t)rows, (size_t)rows), .alpha = gsl_vector_alloc((size_t)rows)};
  bool ok = x && y && u && best_u && pick && g.y && g.chol && g.alpha;
  if (ok) {
    for (int i = 0; i < n; i++) pick[i] = i;
    for (int i = 0; i < used && n > MAX_SAMPLES; i++) { /* a partial Fisher-Yates shuffle */
      int j = i + (int)(uniform(seed, id, (uint64_t)i) * (n - i));
      int swap = pick[i];
      pick[i] = pick[j];
      pick[j] = swap;
    }
    /* W&B imputes a failed run's metric as the worst one seen. */
    double worst = -INFINITY;
    for (int i = 0; i < n; i++)
      if (isfinite(loss[i]) && loss[i] > worst) worst = loss[i];
    if (!isfinite(worst)) worst = 0;
    double best_loss = INFINITY;
    for (int r = 0; r < used; r++) {
      const void *config = observed[pick[r]];
      for (int k = 0; k < d; k++)
        x[(size_t)r * d + k] = caviar_param_cdf(&space->params[k], model_config_value(form, config, space, k));
      y[r] = isfinite(loss[pick[r]]) ? loss[pick[r]] : worst;
      if (y[r] < best_loss) best_loss = y[r];
    }
    bool inside = fit(&g, y);
    if (extra > 0) {
      /* W&B's fantasy: configs still training count as what the GP predicts for them. */
      for (int p = 0; p < extra; p++) {
        double *row = x + (size_t)(used + p) * d, m, s;
        for (int k = 0; k < d; k++) row[k] = caviar_param_cdf(&space->params[k], model_config_value(form, pending[p], space, k));
        predict(&g, row, &m, &s);
        y[used + p] = m * g.std + g.mean;
      }
      g.n = rows;
      inside = fit(&g, y);
    }
    double y_best = (best_loss - g.mean) / g.std, best_ei = -INFINITY;
    /* A bad fit (the length scale at a bound): W&B proposes a random candidate instead. */
    int chosen = -1;
    for (int c = 0; inside && c < candidates; c++) {
      for (int k = 0; k < d; k++) u[k] = uniform(seed, id, ((uint64_t)(c + 1) << 20) | (uint64_t)k);
      double m, s;
      predict(&g, u, &m, &s);
      double z = -(m - y_best) / (s + STD_EPSILON);
      double ei = -(m - y_best) * gsl_cdf_ugaussian_P(z) + s * gsl_ran_ugaussian_pdf(z);
      if (ei > best_ei) best_ei = ei, chosen = c;
    }
    if (chosen < 0) chosen = (int)(uniform(seed, id, (uint64_t)1 << 40) * candidates);
    for (int k = 0; k < d; k++) best_u[k] = uniform(seed, id, ((uint64_t)(chosen + 1) << 20) | (uint64_t)k);
    for (int k = 0; k < d; k++) out[k] = caviar_param_quantile(&space->params[k], best_u[k]);
  }
  free(x);
  free(y);
  free(u);
  free(best_u);
  free(pick);
  free(g.y);
  if (g.chol) gsl_matrix_free(g.chol);
  if (g.alpha) gsl_vector_free(g.alpha);
  return ok;
}
