/* Every distribution: samples stay in bounds and pass a goodness-of-fit test on the right scale
 * (KS on log10 x for log-uniform, log10(1 - x) for one_minus, chi-square for discrete ones).
 * Seeds are fixed, so the tests are deterministic; the negative controls show the tests can
 * reject a wrong scale. */
#include <criterion/criterion.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>

#include "spec_support.h"
#include "stats.h"

#define N 20000
#define ALPHA 1e-3

typedef struct box {
  double lo, hi;
} box;

static double uniform_cdf(double x, const void *ctx) {
  const box *b = ctx;
  return x <= b->lo ? 0 : x >= b->hi ? 1 : (x - b->lo) / (b->hi - b->lo);
}

typedef struct gauss {
  double mu, sigma;
} gauss;

static double normal_cdf(double x, const void *ctx) {
  const gauss *g = ctx;
  return gsl_cdf_gaussian_P(x - g->mu, g->sigma);
}

/* Maps every sample through f (the distribution's scale) and checks bounds [lo, hi] before. */
static double *on_scale(double *x, double lo, double hi, double (*f)(double)) {
  for (int i = 0; i < N; i++) {
    cr_assert(x[i] >= lo && x[i] <= hi, "sample %d = %.17g outside [%g, %g]", i, x[i], lo, hi);
    x[i] = f(x[i]);
  }
  return x;
}

static double identity(double x) { return x; }
static double one_minus_log10(double x) { return log10(1 - x); }
static double minus_log(double x) { return -log(x); }

static void expect_uniform_on_scale(const char *name, const char *entry, double lo, double hi, double (*f)(double),
                                    box scale_box) {
  double *x = draw_param(name, entry, N, 7);
  double p = ks_pvalue(on_scale(x, lo, hi, f), N, uniform_cdf, &scale_box);
  cr_expect_gt(p, ALPHA, "%s %s: KS p = %g", name, entry, p);
  free(x);
}

Test(distributions, uniform) {
  expect_uniform_on_scale("dropout", "{\"distribution\": \"uniform\", \"min\": 0.1, \"max\": 0.6}", 0.1, 0.6,
                          identity, (box){0.1, 0.6});
}

Test(distributions, min_max_on_a_real_hyperparameter_is_uniform) {
  expect_uniform_on_scale("l2", "{\"min\": 0, \"max\": 2}", 0, 2, identity, (box){0, 2});
}

Test(distributions, log_uniform_values_is_uniform_in_log10) {
  expect_uniform_on_scale("learning_rate", "{\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1}",
                          1e-4, 1, log10, (box){-4, 0});
}

Test(distributions, legacy_log_uniform_takes_natural_log_exponents) {
  expect_uniform_on_scale("learning_rate", "{\"distribution\": \"log_uniform\", \"min\": -9, \"max\": -2}", exp(-9),
                          exp(-2), log, (box){-9, -2});
}

Test(distributions, inv_log_uniform_is_exp_of_minus_uniform) {
  expect_uniform_on_scale("learning_rate", "{\"distribution\": \"inv_log_uniform\", \"min\": 2, \"max\": 9}", exp(-9),
                          exp(-2), minus_log, (box){2, 9});
}

Test(distributions, inv_log_uniform_values_has_the_samples_of_log_uniform_values) {
  double *a = draw_param("learning_rate", "{\"distribution\": \"inv_log_uniform_values\", \"min\": 1e-5, \"max\": 0.1}",
                         N, 3);
  double *b = draw_param("learning_rate", "{\"distribution\": \"log_uniform_values\", \"min\": 1e-5, \"max\": 0.1}", N, 3);
  for (int i = 0; i < N; i++) cr_assert_eq(a[i], b[i], "sample %d differs", i);
  free(a);
  free(b);
}

Test(distributions, one_minus_log_uniform_values_is_uniform_in_log10_of_one_minus) {
  /* The course's beta: 1 - 10^r, r uniform in [-3, -1]. */
  expect_uniform_on_scale("beta2",
                          "{\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.9, \"max\": 0.999}", 0.9,
                          0.999, one_minus_log10, (box){-3, -1});
}

Test(distributions, normal) {
  double *x = draw_param("learning_rate", "{\"distribution\": \"normal\", \"mu\": 1, \"sigma\": 0.05}", N, 11);
  gauss g = {1, 0.05};
  double p = ks_pvalue(on_scale(x, 1 - 9 * 0.05, 1 + 9 * 0.05, identity), N, normal_cdf, &g);
  cr_expect_gt(p, ALPHA, "KS p = %g", p);
  free(x);
}

Test(distributions, log_normal_is_normal_in_log) {
  double *x = draw_param("learning_rate", "{\"distribution\": \"log_normal\", \"mu\": -5, \"sigma\": 1}", N, 12);
  gauss g = {-5, 1};
  double p = ks_pvalue(on_scale(x, exp(-14), exp(4), log), N, normal_cdf, &g);
  cr_expect_gt(p, ALPHA, "KS p = %g", p);
  free(x);
}

Test(distributions, negative_control_log_samples_fail_a_linear_test) {
  double *x = draw_param("learning_rate", "{\"distribution\": \"log_uniform_values\", \"min\": 1e-4, \"max\": 1}", N, 7);
  box linear = {1e-4, 1};
  cr_expect_lt(ks_pvalue(x, N, uniform_cdf, &linear), 1e-9);
  free(x);
}

/* Chi-square over the values k * q, with neighbouring bins merged until each expects >= 5. */
typedef double (*interval_prob)(double lo, double hi, const void *ctx);

static void expect_quantized_fit(const double *x, double q, long k_lo, long k_hi, interval_prob prob,
                                 const void *ctx) {
  long span = k_hi - k_lo + 1;
  long *counts = calloc((size_t)span, sizeof *counts);
  double *expect = calloc((size_t)span, sizeof *expect);
  for (int i = 0; i < N; i++) {
    double k = nearbyint(x[i] / q);
    cr_assert_float_eq(x[i], k * q, 1e-12 * fmax(1, fabs(x[i])), "sample %.17g is not a multiple of %g", x[i], q);
    cr_assert(k >= k_lo && k <= k_hi, "sample %.17g outside the support", x[i]);
    counts[(long)k - k_lo]++;
  }
  int bins = 0;
  /* One spare slot: the loop may close its last bin and open an empty one. */
  long *merged_counts = calloc((size_t)span + 1, sizeof *merged_counts);
  double *merged_expect = calloc((size_t)span + 1, sizeof *merged_expect);
  double total = 0;
  for (long k = k_lo; k <= k_hi; k++) {
    expect[k - k_lo] = prob((k - 0.5) * q, (k + 0.5) * q, ctx);
    total += expect[k - k_lo];
    merged_counts[bins] += counts[k - k_lo];
    merged_expect[bins] += expect[k - k_lo];
    if (merged_expect[bins] * N >= 5) bins++;
  }
  cr_assert_float_eq(total, 1.0, 1e-9, "bin probabilities sum to %.17g", total);
  if (bins > 0 && merged_expect[bins] * N < 5) {
    merged_counts[bins - 1] += merged_counts[bins];
    merged_expect[bins - 1] += merged_expect[bins];
  } else {
    bins++;
  }
  double p = chi_square_pvalue(merged_counts, merged_expect, bins);
  cr_expect_gt(p, ALPHA, "chi-square p = %g over %d bins", p, bins);
  free(counts);
  free(expect);
  free(merged_counts);
  free(merged_expect);
}

static double box_prob(double lo, double hi, const void *ctx) {
  const box *b = ctx;
  return fmax(0, fmin(hi, b->hi) - fmax(lo, b->lo)) / (b->hi - b->lo);
}

static double log_box_prob(double lo, double hi, const void *ctx) {
  const box *b = ctx; /* bounds in ln */
  double l = lo > 0 ? log(lo) : -INFINITY, h = log(hi);
  return fmax(0, fmin(h, b->hi) - fmax(l, b->lo)) / (b->hi - b->lo);
}

static double normal_prob(double lo, double hi, const void *ctx) {
  const gauss *g = ctx;
  return gsl_cdf_gaussian_P(hi - g->mu, g->sigma) - gsl_cdf_gaussian_P(lo - g->mu, g->sigma);
}

static double log_normal_prob(double lo, double hi, const void *ctx) {
  const gauss *g = ctx;
  double l = lo > 0 ? gsl_cdf_gaussian_P(log(lo) - g->mu, g->sigma) : 0;
  return gsl_cdf_gaussian_P(log(hi) - g->mu, g->sigma) - l;
}

Test(distributions, q_uniform) {
  double *x = draw_param("dropout", "{\"distribution\": \"q_uniform\", \"min\": 0.05, \"max\": 0.5, \"q\": 0.1}", N, 5);
  box b = {0.05, 0.5};
  expect_quantized_fit(x, 0.1, 0, 5, box_prob, &b);
  free(x);
}

Test(distributions, q_log_uniform_values) {
  double *x = draw_param("hidden", "{\"distribution\": \"q_log_uniform_values\", \"min\": 8, \"max\": 512, \"q\": 8}", N, 5);
  box b = {log(8), log(512)};
  expect_quantized_fit(x, 8, 1, 64, log_box_prob, &b);
  free(x);
}

Test(distributions, q_log_uniform_takes_exponents) {
  double *x = draw_param("hidden", "{\"distribution\": \"q_log_uniform\", \"min\": 2.5, \"max\": 6, \"q\": 4}", N, 5);
  box b = {2.5, 6};
  expect_quantized_fit(x, 4, (long)nearbyint(exp(2.5) / 4), (long)nearbyint(exp(6) / 4), log_box_prob, &b);
  free(x);
}

Test(distributions, q_normal) {
  double *x = draw_param("hidden", "{\"distribution\": \"q_normal\", \"mu\": 128, \"sigma\": 10, \"q\": 4}", N, 6);
  gauss g = {128, 10};
  expect_quantized_fit(x, 4, (long)nearbyint((128 - 90) / 4.0), (long)nearbyint((128 + 90) / 4.0), normal_prob, &g);
  free(x);
}

Test(distributions, q_log_normal) {
  double *x = draw_param("l2", "{\"distribution\": \"q_log_normal\", \"mu\": -3, \"sigma\": 0.5, \"q\": 0.01}", N, 6);
  gauss g = {-3, 0.5};
  expect_quantized_fit(x, 0.01, 0, (long)nearbyint(exp(-3 + 4.5) / 0.01), log_normal_prob, &g);
  free(x);
}

static void expect_counts(const double *x, const double *values, const double *probs, int k) {
  long counts[16] = {0};
  for (int i = 0; i < N; i++) {
    int j = 0;
    while (j < k && x[i] != values[j]) j++;
    cr_assert(j < k, "sample %.17g is not one of the values", x[i]);
    counts[j]++;
  }
  double p = chi_square_pvalue(counts, probs, k);
  cr_expect_gt(p, ALPHA, "chi-square p = %g", p);
}

Test(distributions, int_uniform_is_uniform_over_the_integers) {
  double *x = draw_param("hidden", "{\"distribution\": \"int_uniform\", \"min\": 3, \"max\": 9}", N, 8);
  double values[7], probs[7];
  for (int i = 0; i < 7; i++) values[i] = 3 + i, probs[i] = 1.0 / 7;
  expect_counts(x, values, probs, 7);
  free(x);
}

Test(distributions, min_max_on_an_integer_hyperparameter_is_int_uniform) {
  double *x = draw_param("layers", "{\"min\": 1, \"max\": 4}", N, 8);
  double values[] = {1, 2, 3, 4}, probs[] = {0.25, 0.25, 0.25, 0.25};
  expect_counts(x, values, probs, 4);
  free(x);
}

Test(distributions, categorical_follows_its_probabilities) {
  double *x = draw_param("optimizer",
                         "{\"values\": [\"sgd\", \"momentum\", \"rmsprop\", \"adam\"], "
                         "\"probabilities\": [0.1, 0.2, 0.3, 0.4]}",
                         N, 9);
  double values[] = {CAVIAR_OPT_SGD, CAVIAR_OPT_MOMENTUM, CAVIAR_OPT_RMSPROP, CAVIAR_OPT_ADAM};
  double probs[] = {0.1, 0.2, 0.3, 0.4};
  expect_counts(x, values, probs, 4);
  free(x);
}

Test(distributions, categorical_without_probabilities_is_uniform) {
  double *x = draw_param("hidden", "{\"values\": [32, 64, 128]}", N, 10);
  double values[] = {32, 64, 128}, probs[] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
  expect_counts(x, values, probs, 3);
  free(x);
}

Test(distributions, probabilities_a_hair_over_1_in_sum_keep_every_value_drawable) {
  /* 0.5 + 0.5000005 + 1e-7 is within the 1e-6 the spec allows; the last value's share, 1e-7 of the
   * whole, must stay (the cumulative sum forced to 1 at the end left it -4e-7: never drawn). */
  caviar_spec spec;
  spec_ok("{\"method\": \"random\", \"parameters\": {\"optimizer\": {\"values\": [\"sgd\", \"momentum\", "
          "\"rmsprop\"], \"probabilities\": [0.5, 0.5000005, 1e-7]}}}",
          &spec);
  const caviar_param *p = &spec.space.params[0];
  cr_expect_eq(caviar_param_quantile(p, 1 - 5e-8), CAVIAR_OPT_RMSPROP, "the last 1e-7 draws rmsprop");
  cr_expect_eq(caviar_param_quantile(p, 1 - 2e-7), CAVIAR_OPT_MOMENTUM);
  cr_expect_eq(caviar_param_quantile(p, 0.49999), CAVIAR_OPT_SGD);
  for (int k = 1; k < 3; k++) cr_expect_gt(p->cumulative[k], p->cumulative[k - 1], "value %d has a share", k);
  cr_expect_eq(p->cumulative[2], 1.0);
  caviar_spec_free(&spec);
}

Test(distributions, negative_control_wrong_probabilities_are_rejected) {
  double *x = draw_param("activation", "{\"values\": [\"relu\", \"tanh\"], \"probabilities\": [0.45, 0.55]}", N, 9);
  long counts[2] = {0, 0};
  for (int i = 0; i < N; i++) counts[(int)x[i]]++;
  cr_expect_lt(chi_square_pvalue(counts, (double[]){0.5, 0.5}, 2), 1e-6);
  free(x);
}

Test(distributions, constant_is_always_its_value) {
  double *x = draw_param("learning_rate", "{\"value\": 0.0031}", 100, 1);
  for (int i = 0; i < 100; i++) cr_assert_eq(x[i], 0.0031);
  free(x);
}
