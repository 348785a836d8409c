/* method sobol: scrambled Sobol points (Halton beyond Sobol's 40 dimensions) cover the search
 * space more evenly than random points at the same budget, reproducibly, and every distribution
 * still has its own marginal. The discrepancy is the centred L2 discrepancy (Hickernell 1998),
 * computed here from its closed form. */
#include <criterion/criterion.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/counter_rng.h"
#include "caviar/qmc.h"
#include "spec_support.h"
#include "stats.h"

/* Squared centred L2 discrepancy of n points in [0, 1]^d (row-major x[i * d + j]). */
static double centred_l2(const double *x, int n, int d) {
  double sum1 = 0, sum2 = 0;
  for (int i = 0; i < n; i++) {
    double prod = 1;
    for (int j = 0; j < d; j++) {
      double a = fabs(x[i * d + j] - 0.5);
      prod *= 1 + 0.5 * a - 0.5 * a * a;
    }
    sum1 += prod;
    for (int k = 0; k < n; k++) {
      double p2 = 1;
      for (int j = 0; j < d; j++) {
        double a = fabs(x[i * d + j] - 0.5), b = fabs(x[k * d + j] - 0.5);
        p2 *= 1 + 0.5 * a + 0.5 * b - 0.5 * fabs(x[i * d + j] - x[k * d + j]);
      }
      sum2 += p2;
    }
  }
  return pow(13.0 / 12.0, d) - 2.0 / n * sum1 + sum2 / ((double)n * n);
}

/* Six real parameters, each uniform on a box, read back as coordinates in [0, 1]. */
#define DIMS 6
static const char *unit_space =
    "\"learning_rate\": {\"min\": 1, \"max\": 2}, \"beta1\": {\"min\": 0, \"max\": 0.5},"
    "\"beta2\": {\"min\": 0, \"max\": 0.5}, \"l2\": {\"min\": 0, \"max\": 1},"
    "\"dropout\": {\"min\": 0, \"max\": 0.5}, \"lr_decay\": {\"min\": 0, \"max\": 1}";

static double *unit_points(const char *method, unsigned long long seed, int n) {
  char text[2048];
  snprintf(text, sizeof text, "{\"method\": \"%s\", \"seed\": %llu, \"parameters\": {%s}}", method, seed, unit_space);
  caviar_spec spec;
  spec_ok(text, &spec);
  caviar_sampler s;
  caviar_error err;
  cr_assert_eq(caviar_sampler_init(&s, &spec, seed, n, &err), CAVIAR_OK, "%s", err.msg);
  double *x = malloc((size_t)n * DIMS * sizeof *x);
  for (int i = 0; i < n; i++) {
    caviar_trial t;
    caviar_sampler_draw(&s, (uint32_t)i, &t);
    double *row = x + (size_t)i * DIMS;
    row[0] = t.hp.learning_rate - 1;
    row[1] = 2 * t.hp.beta1;
    row[2] = 2 * t.hp.beta2;
    row[3] = t.hp.l2;
    row[4] = 2 * t.hp.dropout;
    row[5] = t.hp.lr_decay;
    for (int j = 0; j < DIMS; j++) cr_assert(row[j] >= 0 && row[j] <= 1, "trial %d coordinate %d: %g", i, j, row[j]);
  }
  caviar_sampler_free(&s);
  caviar_spec_free(&spec);
  return x;
}

Test(qmc, sobol_points_have_lower_centred_discrepancy_than_random_ones_at_every_budget) {
  for (int n = 64; n <= 1024; n *= 2) {
    for (unsigned long long seed = 1; seed <= 3; seed++) {
      double *q = unit_points("sobol", seed, n), *r = unit_points("random", seed, n);
      double dq = centred_l2(q, n, DIMS), dr = centred_l2(r, n, DIMS);
      /* Random points: E[CD^2] is about 0.05 / n here; Sobol's falls nearly as 1 / n^2. */
      cr_expect_lt(dq, dr, "n = %d, seed %llu: sobol CD^2 %g, random %g", n, seed, dq, dr);
      cr_expect_lt(dq, 0.5 * dr, "n = %d, seed %llu: sobol CD^2 %g is not clearly below random's %g", n, seed, dq,
                   dr);
      free(q);
      free(r);
    }
  }
}

Test(qmc, halton_takes_over_beyond_sobols_dimensions_and_still_beats_random) {
  caviar_qmc *sobol, *halton;
  caviar_error err;
  cr_assert_eq(caviar_qmc_new(CAVIAR_QMC_SOBOL_MAX_DIMS, 1, &sobol, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_qmc_new(CAVIAR_QMC_SOBOL_MAX_DIMS + 10, 1, &halton, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect(caviar_qmc_is_sobol(sobol));
  cr_expect(!caviar_qmc_is_sobol(halton));
  caviar_qmc *none;
  cr_expect_eq(caviar_qmc_new(CAVIAR_QMC_MAX_DIMS + 1, 1, &none, &err), CAVIAR_EINPUT);
  enum { N = 256, D = 5 };
  double point[CAVIAR_QMC_SOBOL_MAX_DIMS + 10];
  static double h[N * D], r[N * D];
  for (int i = 0; i < N; i++) {
    caviar_qmc_point(halton, (uint64_t)i, point);
    for (int j = 0; j < CAVIAR_QMC_SOBOL_MAX_DIMS + 10; j++) cr_assert(point[j] > 0 && point[j] < 1);
    for (int j = 0; j < D; j++) {
      h[i * D + j] = point[j];
      caviar_rng_block b = caviar_rng(7, (uint32_t)i, CAVIAR_RNG_SYNTH, (uint64_t)j);
      r[i * D + j] = caviar_u01_open(b.v[0], b.v[1]);
    }
  }
  double dh = centred_l2(h, N, D), dr = centred_l2(r, N, D);
  cr_expect_lt(dh, 0.5 * dr, "halton CD^2 %g, random %g", dh, dr);
  caviar_qmc_free(sobol);
  caviar_qmc_free(halton);
}

Test(qmc, point_k_depends_only_on_seed_and_k) {
  caviar_qmc *a, *b, *c;
  caviar_error err;
  cr_assert_eq(caviar_qmc_new(7, 42, &a, &err), CAVIAR_OK);
  cr_assert_eq(caviar_qmc_new(7, 42, &b, &err), CAVIAR_OK);
  cr_assert_eq(caviar_qmc_new(7, 43, &c, &err), CAVIAR_OK);
  double all[300][7], one[7], other[7];
  for (int k = 0; k < 300; k++) caviar_qmc_point(a, (uint64_t)k, all[k]);
  /* Any order of requests gives the same points: backwards, and jumping about. */
  for (int k = 299; k >= 0; k -= 7) {
    caviar_qmc_point(b, (uint64_t)k, one);
    cr_assert(memcmp(one, all[k], sizeof one) == 0, "point %d", k);
  }
  int same = 0;
  for (int k = 0; k < 300; k++) {
    caviar_qmc_point(c, (uint64_t)k, other);
    same += memcmp(other, all[k], sizeof other) == 0;
  }
  cr_expect_eq(same, 0, "seeds 42 and 43 share %d points", same);
  caviar_qmc_free(a);
  caviar_qmc_free(b);
  caviar_qmc_free(c);
}

Test(qmc, a_sobol_sweep_is_reproducible_and_trial_k_ignores_the_count) {
  const char *text = "{\"method\": \"sobol\", \"parameters\": {"
                     "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-5, \"max\": 1},"
                     "\"optimizer\": {\"values\": [\"sgd\", \"adam\"]},"
                     "\"hidden\": {\"distribution\": \"q_log_uniform_values\", \"min\": 16, \"max\": 1024, \"q\": 16}}}";
  caviar_spec spec;
  spec_ok(text, &spec);
  caviar_sampler few, many;
  caviar_error err;
  cr_assert_eq(caviar_sampler_init(&few, &spec, 5, 10, &err), CAVIAR_OK);
  cr_assert_eq(caviar_sampler_init(&many, &spec, 5, 5000, &err), CAVIAR_OK);
  caviar_trial t_many[5000];
  for (int i = 0; i < 5000; i++) caviar_sampler_draw(&many, (uint32_t)i, &t_many[i]);
  for (int i = 9; i >= 0; i--) {
    caviar_trial t;
    caviar_sampler_draw(&few, (uint32_t)i, &t);
    cr_assert(memcmp(&t.hp, &t_many[i].hp, sizeof t.hp) == 0, "trial %d", i);
  }
  caviar_trial last;
  caviar_sampler_draw(&few, 4999, &last);
  cr_assert(memcmp(&last.hp, &t_many[4999].hp, sizeof last.hp) == 0);
  caviar_sampler_free(&few);
  caviar_sampler_free(&many);
  caviar_spec_free(&spec);
}

/* Marginals: each distribution mapped through its quantile function. */
#define M 1024
#define ALPHA 1e-3

typedef struct box {
  double lo, hi;
} box;

static double uniform_cdf(double x, const void *ctx) {
  const box *b = ctx;
  return x <= b->lo ? 0 : x >= b->hi ? 1 : (x - b->lo) / (b->hi - b->lo);
}

static double normal_cdf(double x, const void *ctx) {
  const double *g = ctx;
  return gsl_cdf_gaussian_P(x - g[0], g[1]);
}

/* The largest gap between the empirical and the true CDF (x sorted). */
static double ks_statistic(const double *x, size_t n, double (*cdf)(double, const void *), const void *ctx) {
  double d = 0;
  for (size_t i = 0; i < n; i++) {
    double f = cdf(x[i], ctx);
    d = fmax(d, fmax(fabs(f - (double)i / n), fabs((double)(i + 1) / n - f)));
  }
  return d;
}

/* KS p-value above ALPHA, and a statistic far below random sampling's typical 0.87 / sqrt(n):
 * quasi-random marginals are nearly exact. */
static void check_continuous(const char *label, double *x, double (*cdf)(double, const void *), const void *ctx) {
  double p = ks_pvalue(x, M, cdf, ctx); /* sorts x */
  double d = ks_statistic(x, M, cdf, ctx);
  cr_expect_gt(p, ALPHA, "%s: KS p = %g", label, p);
  cr_expect_lt(d, 4.0 / M, "%s: KS D = %g, not quasi-random", label, d);
}

static double *mapped(double *x, double (*f)(double)) {
  for (int i = 0; i < M; i++) x[i] = f(x[i]);
  return x;
}

static double one_minus_log10(double x) { return log10(1 - x); }

Test(qmc, every_continuous_distribution_keeps_its_marginal) {
  box b = {log10(1e-5), 0};
  double *x = draw_param_by("sobol", "learning_rate",
                            "{\"distribution\": \"log_uniform_values\", \"min\": 1e-5, \"max\": 1}", M, 3);
  check_continuous("log_uniform_values", mapped(x, log10), uniform_cdf, &b);
  free(x);
  box o = {log10(1 - 0.999), log10(1 - 0.9)};
  x = draw_param_by("sobol", "beta1", "{\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.9, \"max\": 0.999}",
                    M, 3);
  check_continuous("one_minus_log_uniform_values", mapped(x, one_minus_log10), uniform_cdf, &o);
  free(x);
  box u = {0.1, 0.6};
  x = draw_param_by("sobol", "dropout", "{\"min\": 0.1, \"max\": 0.6}", M, 3);
  check_continuous("uniform", x, uniform_cdf, &u);
  free(x);
  double g[2] = {0.5, 0.05};
  x = draw_param_by("sobol", "beta1", "{\"distribution\": \"normal\", \"mu\": 0.5, \"sigma\": 0.05}", M, 3);
  check_continuous("normal", x, normal_cdf, g);
  free(x);
  double lg[2] = {-9, 1};
  x = draw_param_by("sobol", "l2", "{\"distribution\": \"log_normal\", \"mu\": -9, \"sigma\": 1}", M, 3);
  check_continuous("log_normal", mapped(x, log), normal_cdf, lg);
  free(x);
  box e = {-3, -1};
  x = draw_param_by("sobol", "learning_rate", "{\"distribution\": \"log_uniform\", \"min\": -3, \"max\": -1}", M, 3);
  check_continuous("log_uniform", mapped(x, log), uniform_cdf, &e);
  free(x);
}

Test(qmc, the_marginal_check_rejects_a_wrong_scale) {
  /* Negative control: log-uniform points judged on a linear scale fail. */
  box lin = {1e-5, 1};
  double *x = draw_param_by("sobol", "learning_rate",
                            "{\"distribution\": \"log_uniform_values\", \"min\": 1e-5, \"max\": 1}", M, 3);
  cr_expect_lt(ks_pvalue(x, M, uniform_cdf, &lin), 1e-9);
  free(x);
}

/* Discrete distributions: counts against the expected probabilities (chi-square), and within a
 * few of the expected count each, as stratified points give. */
static void check_counts(const char *label, const double *x, const double *values, const double *prob, int k) {
  long counts[16] = {0};
  for (int i = 0; i < M; i++) {
    int found = -1;
    for (int v = 0; v < k; v++)
      if (x[i] == values[v]) found = v;
    cr_assert(found >= 0, "%s: %g is not a value it can produce", label, x[i]);
    counts[found]++;
  }
  cr_expect_gt(chi_square_pvalue(counts, prob, k), ALPHA, "%s: chi-square", label);
  for (int v = 0; v < k; v++)
    cr_expect_lt(fabs((double)counts[v] - prob[v] * M), 4.0, "%s: value %g drawn %ld times, expected %g", label,
                 values[v], counts[v], prob[v] * M);
}

Test(qmc, every_discrete_distribution_keeps_its_probabilities) {
  double cat_values[] = {0, 1, 2, 3}, cat_prob[] = {0.1, 0.2, 0.3, 0.4};
  double *x = draw_param_by("sobol", "optimizer",
                            "{\"values\": [\"sgd\", \"momentum\", \"rmsprop\", \"adam\"], "
                            "\"probabilities\": [0.1, 0.2, 0.3, 0.4]}",
                            M, 11);
  check_counts("categorical with probabilities", x, cat_values, cat_prob, 4);
  free(x);
  double int_values[] = {1, 2, 3, 4}, int_prob[] = {0.25, 0.25, 0.25, 0.25};
  x = draw_param_by("sobol", "layers", "{\"min\": 1, \"max\": 4}", M, 11);
  check_counts("int_uniform", x, int_values, int_prob, 4);
  free(x);
  /* q_uniform over [0, 1] with q 0.25: the end points get half the mass of the inner ones. */
  double q_values[] = {0, 0.25, 0.5, 0.75, 1}, q_prob[] = {0.125, 0.25, 0.25, 0.25, 0.125};
  x = draw_param_by("sobol", "l2", "{\"distribution\": \"q_uniform\", \"min\": 0, \"max\": 1, \"q\": 0.25}", M, 11);
  check_counts("q_uniform", x, q_values, q_prob, 5);
  free(x);
  /* q_log_uniform_values over [1, 8], q 1: value v takes log-mass ln((v + 0.5) / (v - 0.5)) / ln 8. */
  double ql_values[8], ql_prob[8];
  for (int v = 1; v <= 8; v++) {
    double lo = fmax(v - 0.5, 1), hi = fmin(v + 0.5, 8);
    ql_values[v - 1] = v;
    ql_prob[v - 1] = log(hi / lo) / log(8);
  }
  x = draw_param_by("sobol", "hidden", "{\"distribution\": \"q_log_uniform_values\", \"min\": 1, \"max\": 8, \"q\": 1}",
                    M, 11);
  check_counts("q_log_uniform_values", x, ql_values, ql_prob, 8);
  free(x);
}
