/* Outside code's configs (W&B sweep configs for someone else's program): every W&B distribution
 * drawn through the path such configs take, checked against W&B's own definition of it (its
 * params.py: each distribution's ppf applied to a uniform, quantized by round(x / q) q), plus
 * W&B's rules for what {min, max} means and which values come out as integers, and nested
 * parameters passed on nested. Seeds are fixed, so the tests are deterministic; the negative
 * controls show the tests can tell a wrong distribution apart. */
#include <criterion/criterion.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/trial_json.h"
#include "spec_support.h"
#include "stats.h"

#define N 20000
#define ALPHA 1e-3

/* n values of parameter "p" given as entry, in a config for outside code (program: train.py). */
static double *draw(const char *entry, int n, unsigned long long seed, caviar_spec *spec) {
  char text[2048];
  snprintf(text, sizeof text, "{\"method\": \"random\", \"program\": \"train.py\", \"parameters\": {\"p\": %s}}", entry);
  spec_ok(text, spec);
  cr_assert(spec->outside, "not read as outside code: %s", text);
  caviar_sampler sampler;
  caviar_error err;
  cr_assert_eq(caviar_sampler_init(&sampler, spec, seed, n, &err), CAVIAR_OK, "%s", err.msg);
  double *x = malloc((size_t)n * sizeof *x);
  for (int i = 0; i < n; i++) caviar_sampler_values(&sampler, (uint32_t)i, &x[i]);
  caviar_sampler_free(&sampler);
  return x;
}

static double *draw_only(const char *entry, unsigned long long seed) {
  caviar_spec spec;
  double *x = draw(entry, N, seed, &spec);
  caviar_spec_free(&spec);
  return x;
}

/* The CDF of W&B's distribution on the line, x -> P(X <= x), from its definition. */
typedef struct law {
  double (*cdf)(double x, const struct law *l);
  double a, b;
} law;

static double uniform_cdf(double x, const law *l) { return x <= l->a ? 0 : x >= l->b ? 1 : (x - l->a) / (l->b - l->a); }
/* exp(U(a, b)): W&B's log_uniform (a, b exponents) and log_uniform_values (a = ln min, b = ln max). */
static double exp_uniform_cdf(double x, const law *l) { return x <= 0 ? 0 : uniform_cdf(log(x), l); }
/* exp(-U(a, b)): W&B's inv_log_uniform. */
static double inv_exp_uniform_cdf(double x, const law *l) { return x <= 0 ? 0 : 1 - uniform_cdf(-log(x), l); }
static double normal_cdf(double x, const law *l) { return gsl_cdf_gaussian_P(x - l->a, l->b); }
/* scipy.stats.lognorm(s = sigma, scale = exp(mu)): exp(N(mu, sigma)). */
static double log_normal_cdf(double x, const law *l) { return x <= 0 ? 0 : gsl_cdf_gaussian_P(log(x) - l->a, l->b); }
static double beta_cdf(double x, const law *l) { return x <= 0 ? 0 : x >= 1 ? 1 : gsl_cdf_beta_P(x, l->a, l->b); }

static double ks_cdf(double x, const void *ctx) {
  const law *l = ctx;
  return l->cdf(x, l);
}

static void expect_ks(const char *entry, law l) {
  double *x = draw_only(entry, 3);
  double p = ks_pvalue(x, N, ks_cdf, &l);
  cr_expect_gt(p, ALPHA, "%s: KS p = %g", entry, p);
  free(x);
}

/* round(X / q) q: the probability of k q is P((k - 1/2) q < X <= (k + 1/2) q). Chi-square over
 * k in [k_lo, k_hi], neighbouring values merged until each expects 5. */
static void expect_quantized(const char *entry, double q, law l, long k_lo, long k_hi) {
  double *x = draw_only(entry, 4);
  long span = k_hi - k_lo + 1;
  long *counts = calloc((size_t)span + 1, sizeof *counts), *merged = calloc((size_t)span + 1, sizeof *merged);
  double *want = calloc((size_t)span + 1, sizeof *want);
  for (int i = 0; i < N; i++) {
    double k = nearbyint(x[i] / q);
    cr_assert_float_eq(x[i], k * q, 1e-12 * fmax(1, fabs(x[i])), "%s: %.17g is not a multiple of %g", entry, x[i], q);
    cr_assert(k >= k_lo && k <= k_hi, "%s: %.17g outside the support", entry, x[i]);
    counts[(long)k - k_lo]++;
  }
  int bins = 0;
  double total = 0;
  for (long k = k_lo; k <= k_hi; k++) {
    double lo = k == k_lo ? -INFINITY : (k - 0.5) * q, hi = k == k_hi ? INFINITY : (k + 0.5) * q;
    double prob = (isinf(hi) ? 1 : l.cdf(hi, &l)) - (isinf(lo) ? 0 : l.cdf(lo, &l));
    total += prob;
    merged[bins] += counts[k - k_lo];
    want[bins] += prob;
    if (want[bins] * N >= 5) bins++;
  }
  if (bins > 0 && want[bins] * N < 5) {
    merged[bins - 1] += merged[bins];
    want[bins - 1] += want[bins];
  } else {
    bins++;
  }
  cr_assert_float_eq(total, 1.0, 1e-9);
  double p = chi_square_pvalue(merged, want, bins);
  cr_expect_gt(p, ALPHA, "%s: chi-square p = %g over %d bins", entry, p, bins);
  free(x);
  free(counts);
  free(merged);
  free(want);
}

Test(outside, uniform) { expect_ks("{\"distribution\": \"uniform\", \"min\": -0.5, \"max\": 4.0}", (law){uniform_cdf, -0.5, 4}); }

/* W&B's rule: {min, max} is int_uniform when both are written as integers, uniform otherwise. */
Test(outside, min_max_written_as_integers_is_int_uniform) {
  double *x = draw_only("{\"min\": 3, \"max\": 9}", 5);
  long counts[7] = {0};
  for (int i = 0; i < N; i++) {
    cr_assert(x[i] == floor(x[i]) && x[i] >= 3 && x[i] <= 9, "%.17g", x[i]);
    counts[(int)x[i] - 3]++;
  }
  double probs[7];
  for (int k = 0; k < 7; k++) probs[k] = 1.0 / 7;
  cr_expect_gt(chi_square_pvalue(counts, probs, 7), ALPHA);
  free(x);
}

Test(outside, min_max_with_a_float_is_uniform) {
  expect_ks("{\"min\": 1, \"max\": 10.0}", (law){uniform_cdf, 1, 10});
  expect_ks("{\"min\": 0.0, \"max\": 3}", (law){uniform_cdf, 0, 3});
}

Test(outside, log_uniform_takes_natural_log_exponents) {
  expect_ks("{\"distribution\": \"log_uniform\", \"min\": -3, \"max\": 1}", (law){exp_uniform_cdf, -3, 1});
}

Test(outside, log_uniform_values) {
  expect_ks("{\"distribution\": \"log_uniform_values\", \"min\": 1e-3, \"max\": 10}", (law){exp_uniform_cdf, log(1e-3), log(10)});
}

Test(outside, inv_log_uniform_is_exp_of_minus_uniform) {
  expect_ks("{\"distribution\": \"inv_log_uniform\", \"min\": 1, \"max\": 4}", (law){inv_exp_uniform_cdf, 1, 4});
}

/* W&B's ppf for inv_log_uniform_values: exp(-U'(1 - u)) with U' on [-ln max, -ln min]: the same
 * law as log_uniform_values. */
Test(outside, inv_log_uniform_values_is_log_uniform_between_its_values) {
  expect_ks("{\"distribution\": \"inv_log_uniform_values\", \"min\": 0.01, \"max\": 1}", (law){exp_uniform_cdf, log(0.01), 0});
}

Test(outside, normal) { expect_ks("{\"distribution\": \"normal\", \"mu\": -2, \"sigma\": 3}", (law){normal_cdf, -2, 3}); }

Test(outside, normal_defaults_to_mu_0_sigma_1) { expect_ks("{\"distribution\": \"normal\"}", (law){normal_cdf, 0, 1}); }

Test(outside, log_normal_is_scipy_lognorm) {
  expect_ks("{\"distribution\": \"log_normal\", \"mu\": 1, \"sigma\": 0.5}", (law){log_normal_cdf, 1, 0.5});
}

Test(outside, beta) { expect_ks("{\"distribution\": \"beta\", \"a\": 2, \"b\": 5}", (law){beta_cdf, 2, 5}); }

/* The mean a / (a + b) and variance a b / ((a + b)^2 (a + b + 1)), from the closed forms rather
 * than GSL's CDF. */
Test(outside, beta_has_its_mean_and_variance) {
  double *x = draw_only("{\"distribution\": \"beta\", \"a\": 0.7, \"b\": 3}", 6);
  double mean = 0, var = 0;
  for (int i = 0; i < N; i++) mean += x[i] / N;
  for (int i = 0; i < N; i++) var += (x[i] - mean) * (x[i] - mean) / (N - 1);
  double a = 0.7, b = 3, m = a / (a + b), v = a * b / ((a + b) * (a + b) * (a + b + 1));
  cr_expect(fabs(mean - m) < 4 * sqrt(v / N), "mean %g, want %g", mean, m);
  cr_expect(fabs(var - v) < 0.05 * v, "variance %g, want %g", var, v);
  free(x);
}

Test(outside, beta_defaults_to_uniform) { expect_ks("{\"distribution\": \"beta\"}", (law){uniform_cdf, 0, 1}); }

Test(outside, negative_control_beta_2_5_is_not_beta_5_2) {
  double *x = draw_only("{\"distribution\": \"beta\", \"a\": 2, \"b\": 5}", 3);
  law wrong = {beta_cdf, 5, 2};
  cr_expect_lt(ks_pvalue(x, N, ks_cdf, &wrong), 1e-9);
  free(x);
}

Test(outside, q_uniform) {
  expect_quantized("{\"distribution\": \"q_uniform\", \"min\": 0, \"max\": 10, \"q\": 2}", 2, (law){uniform_cdf, 0, 10}, 0, 5);
}

Test(outside, q_log_uniform_values) {
  expect_quantized("{\"distribution\": \"q_log_uniform_values\", \"min\": 1, \"max\": 1000, \"q\": 10}", 10,
                   (law){exp_uniform_cdf, 0, log(1000)}, 0, 100);
}

Test(outside, q_log_uniform_takes_exponents) {
  expect_quantized("{\"distribution\": \"q_log_uniform\", \"min\": 0, \"max\": 5, \"q\": 1}", 1, (law){exp_uniform_cdf, 0, 5}, 1,
                   148);
}

Test(outside, q_normal) {
  expect_quantized("{\"distribution\": \"q_normal\", \"mu\": 0, \"sigma\": 2, \"q\": 0.5}", 0.5, (law){normal_cdf, 0, 2}, -36, 36);
}

Test(outside, q_log_normal) {
  expect_quantized("{\"distribution\": \"q_log_normal\", \"mu\": 2, \"sigma\": 0.4, \"q\": 1}", 1, (law){log_normal_cdf, 2, 0.4}, 0,
                   (long)ceil(exp(2 + 9 * 0.4)));
}

Test(outside, q_beta) {
  expect_quantized("{\"distribution\": \"q_beta\", \"a\": 0.5, \"b\": 0.5, \"q\": 0.1}", 0.1, (law){beta_cdf, 0.5, 0.5}, 0, 10);
}

/* Categorical values are any JSON values; drawn uniformly, or by their probabilities. */
static void expect_categorical(const char *entry, const double *probs, int k) {
  caviar_spec spec;
  double *x = draw(entry, N, 8, &spec);
  cr_assert_eq(spec.space.params[0].n_values, k);
  long counts[8] = {0};
  for (int i = 0; i < N; i++) {
    cr_assert(x[i] >= 0 && x[i] < k && x[i] == floor(x[i]), "index %g", x[i]);
    counts[(int)x[i]]++;
  }
  cr_expect_gt(chi_square_pvalue(counts, probs, k), ALPHA, "%s", entry);
  free(x);
  caviar_spec_free(&spec);
}

Test(outside, categorical_of_any_values_is_uniform) {
  double probs[] = {0.25, 0.25, 0.25, 0.25};
  expect_categorical("{\"values\": [\"adam\", [32, 32], {\"k\": 1}, null]}", probs, 4);
}

Test(outside, categorical_w_probabilities_follows_them) {
  double probs[] = {0.1, 0.6, 0.3};
  expect_categorical("{\"distribution\": \"categorical_w_probabilities\", \"values\": [1, 2, 3], \"probabilities\": [0.1, 0.6, 0.3]}",
                     probs, 3);
  expect_categorical("{\"values\": [true, false, \"x\"], \"probabilities\": [0.1, 0.6, 0.3]}", probs, 3);
}

/* A repeated value is drawn as often as its copies together (W&B draws over the list). */
Test(outside, a_repeated_value_counts_twice) {
  double probs[] = {0.5, 0.5};
  long counts[2] = {0};
  caviar_spec spec;
  double *x = draw("{\"values\": [\"a\", \"b\", \"a\", \"b\"]}", N, 2, &spec);
  for (int i = 0; i < N; i++) counts[spec.space.params[0].value_text[(int)x[i]][1] == 'b']++;
  cr_expect_gt(chi_square_pvalue(counts, probs, 2), ALPHA);
  free(x);
  caviar_spec_free(&spec);
}

/* The line a trial's config is printed as. */
static void config_of(const char *text, uint32_t id, char *line, size_t size) {
  caviar_spec spec;
  spec_ok(text, &spec);
  caviar_sampler sampler;
  caviar_error err;
  cr_assert_eq(caviar_sampler_init(&sampler, &spec, spec.seed, 100, &err), CAVIAR_OK, "%s", err.msg);
  double values[16];
  caviar_sampler_values(&sampler, id, values);
  int n = caviar_values_json(&spec.space, values, line, size);
  cr_assert_lt((size_t)n, size);
  caviar_sampler_free(&sampler);
  caviar_spec_free(&spec);
}

/* W&B passes int_uniform's draws and a q_ distribution's with an integer q as integers, q's
 * default (1.0) and every other draw as floats, and categorical values as written. */
Test(outside, values_keep_the_types_wandb_gives_them) {
  char line[1024];
  for (uint32_t id = 0; id < 20; id++) {
    config_of("{\"method\": \"random\", \"program\": \"t.py\", \"parameters\": {"
              "\"i\": {\"min\": 2, \"max\": 4}, \"q\": {\"distribution\": \"q_uniform\", \"min\": 0, \"max\": 8, \"q\": 2},"
              "\"f\": {\"distribution\": \"q_uniform\", \"min\": 0, \"max\": 8}, \"v\": {\"values\": [1e-5, 10, 2.0, \"x\"]}}}",
              id, line, sizeof line);
    cJSON *o = cJSON_Parse(line);
    cr_assert_not_null(o, "not JSON: %s", line);
    const char *at_i = strstr(line, "\"i\": "), *at_q = strstr(line, "\"q\": "), *at_f = strstr(line, "\"f\": ");
    cr_assert(at_i && at_q && at_f, "%s", line);
    cr_expect(strcspn(at_i + 5, ",}") == strspn(at_i + 5, "0123456789"), "int_uniform printed as a float: %s", line);
    cr_expect(strcspn(at_q + 5, ",}") == strspn(at_q + 5, "0123456789"), "integer q printed as a float: %s", line);
    cr_expect(memchr(at_f + 5, '.', strcspn(at_f + 5, ",}")) != NULL, "q 1.0's draw printed as an integer: %s", line);
    const cJSON *v = cJSON_GetObjectItem(o, "v");
    cr_expect(cJSON_IsString(v) || cJSON_IsNumber(v));
    cJSON_Delete(o);
  }
  config_of("{\"method\": \"grid\", \"program\": \"t.py\", \"parameters\": {\"v\": {\"values\": [1e-5, 10, 2.0]}}}", 0, line,
            sizeof line);
  cr_expect_str_eq(line, "{\"v\": 1e-05}");
  config_of("{\"method\": \"grid\", \"program\": \"t.py\", \"parameters\": {\"v\": {\"values\": [1e-5, 10, 2.0]}}}", 1, line,
            sizeof line);
  cr_expect_str_eq(line, "{\"v\": 10}");
  config_of("{\"method\": \"grid\", \"program\": \"t.py\", \"parameters\": {\"v\": {\"values\": [1e-5, 10, 2.0]}}}", 2, line,
            sizeof line);
  cr_expect_str_eq(line, "{\"v\": 2.0}");
}

/* Nested parameters are drawn like any other and passed on nested, in order. */
Test(outside, nested_parameters_come_out_nested) {
  char line[1024];
  config_of("{\"method\": \"grid\", \"program\": \"t.py\", \"parameters\": {\"batch\": {\"values\": [32, 64]},"
            " \"optimizer\": {\"parameters\": {\"lr\": {\"values\": [0.1]}, \"nadam\": {\"parameters\": {\"beta\": {\"values\": [0.9, 0.95]}}}}},"
            " \"seed\": {\"value\": 3}}}",
            3, line, sizeof line);
  cr_expect_str_eq(line, "{\"batch\": 64, \"optimizer\": {\"lr\": 0.1, \"nadam\": {\"beta\": 0.95}}, \"seed\": 3}");
}

/* A nested a.b and a flat parameter named "a.b" are different parameters with their own draws. */
Test(outside, a_nested_parameter_and_a_dotted_name_draw_apart) {
  caviar_spec spec;
  spec_ok("{\"method\": \"random\", \"program\": \"t.py\", \"parameters\": {\"a.b\": {\"min\": 0.0, \"max\": 1.0},"
          " \"a\": {\"parameters\": {\"b\": {\"min\": 0.0, \"max\": 1.0}}}}}",
          &spec);
  caviar_sampler sampler;
  caviar_error err;
  cr_assert_eq(caviar_sampler_init(&sampler, &spec, 1, 50, &err), CAVIAR_OK, "%s", err.msg);
  int same = 0;
  for (uint32_t id = 0; id < 50; id++) {
    double v[2];
    caviar_sampler_values(&sampler, id, v);
    same += v[0] == v[1];
  }
  cr_expect_eq(same, 0);
  char line[256];
  double v[2] = {0.25, 0.5};
  caviar_values_json(&spec.space, v, line, sizeof line);
  cr_expect_str_eq(line, "{\"a.b\": 0.25, \"a\": {\"b\": 0.5}}");
  caviar_sampler_free(&sampler);
  caviar_spec_free(&spec);
}

/* Trial k is a function of the seed and k: drawing more trials does not change the first ones,
 * and another seed gives other draws. */
Test(outside, trial_k_does_not_depend_on_how_many_are_drawn) {
  caviar_spec spec;
  double *a = draw("{\"distribution\": \"normal\"}", 10, 7, &spec);
  caviar_spec_free(&spec);
  double *b = draw("{\"distribution\": \"normal\"}", 1000, 7, &spec);
  caviar_spec_free(&spec);
  double *c = draw("{\"distribution\": \"normal\"}", 10, 8, &spec);
  caviar_spec_free(&spec);
  for (int i = 0; i < 10; i++) {
    cr_expect_eq(a[i], b[i]);
    cr_expect_neq(a[i], c[i]);
  }
  free(a);
  free(b);
  free(c);
}

/* W&B's grid takes values, constants, int_uniform and q_uniform (numpy.arange(min, max, q)). */
Test(outside, a_grid_is_wandbs_product_with_q_uniform_as_arange) {
  caviar_spec spec;
  spec_ok("{\"method\": \"grid\", \"program\": \"t.py\", \"parameters\": {\"q\": {\"distribution\": \"q_uniform\", \"min\": 0.05,"
          " \"max\": 0.5, \"q\": 0.1}, \"i\": {\"min\": 1, \"max\": 3}}}",
          &spec);
  caviar_sampler sampler;
  caviar_error err;
  cr_assert_eq(caviar_sampler_init(&sampler, &spec, 1, -1, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(sampler.count, 5 * 3);
  const double q[] = {0.05, 0.15, 0.25, 0.35, 0.45};
  for (uint32_t id = 0; id < 15; id++) {
    double v[2];
    caviar_sampler_values(&sampler, id, v);
    cr_expect_float_eq(v[0], q[id / 3], 1e-12, "point %u: %.17g", id, v[0]);
    cr_expect_eq(v[1], 1 + id % 3);
  }
  caviar_sampler_free(&sampler);
  caviar_spec_free(&spec);
}
