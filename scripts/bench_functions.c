/* caviar's samplers on standard test functions, for scripts/compare_bayes.py: minimises Branin
 * (2 dimensions) or Hartmann-6 with method bayes (W&B's GP), tpe, sobol or random, one evaluation
 * after another (bayes and tpe: their sobol startup, then a proposal from every result so far),
 * and prints the best value
 * so far after each evaluation, one per line.
 *   bench_functions branin|hartmann6 bayes|tpe|sobol|random SEED BUDGET
 * The functions' coordinates ride on real hyperparameters drawn uniformly (caviar's samplers act
 * on a spec's hyperparameters): each x_i is a hyperparameter's value mapped linearly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/sampler.h"
#include "caviar/spec.h"
#include "caviar/tpe.h"

/* Hyperparameters that take any value in [1, 2]: x_i = value - 1, in [0, 1]. */
static const char *const axes[] = {"learning_rate", "epsilon", "l2", "lr_decay", "momentum", "beta1"};

static double coordinate(const caviar_hparams *hp, int i) {
  const caviar_hp_info *info = caviar_hp_find(axes[i]);
  double v = caviar_hp_get(hp, info);
  return i < 4 ? v - 1 : v / 0.5; /* momentum and beta1 take [0, 0.5]: x = 2 v */
}

/* Branin-Hoo on [-5, 10] x [0, 15]; its minimum is 0.397887 (three places). */
static double branin(const double *u) {
  double x1 = -5 + 15 * u[0], x2 = 15 * u[1];
  double b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, t = 1 / (8 * M_PI);
  double a = x2 - b * x1 * x1 + c * x1 - 6;
  return a * a + 10 * (1 - t) * cos(x1) + 10;
}

/* Hartmann-6 on [0, 1]^6; its minimum is -3.32237. */
static double hartmann6(const double *x) {
  static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
  static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8}, {0.05, 10, 17, 0.1, 8, 14}, {3, 3.5, 1.7, 10, 17, 8},
                                 {17, 8, 0.05, 10, 0.1, 14}};
  static const double P[4][6] = {{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
                                 {0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
                                 {0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
                                 {0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}};
  double sum = 0;
  for (int i = 0; i < 4; i++) {
    double inner = 0;
    for (int j = 0; j < 6; j++) inner += A[i][j] * (x[j] - P[i][j]) * (x[j] - P[i][j]);
    sum += alpha[i] * exp(-inner);
  }
  return -sum;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: bench_functions branin|hartmann6 bayes|tpe|sobol|random SEED BUDGET\n");
    return 2;
  }
  bool hartmann = strcmp(argv[1], "hartmann6") == 0;
  int dims = hartmann ? 6 : 2, budget = atoi(argv[4]);
  const char *method = argv[2];
  char text[4096];
  size_t used = (size_t)snprintf(text, sizeof text, "{\"method\": \"%s\", \"seed\": %s, \"trials\": %d, \"parameters\": {",
                                 method, argv[3], budget);
  for (int i = 0; i < dims; i++)
    used += (size_t)snprintf(text + used, sizeof text - used, "%s\"%s\": {\"distribution\": \"uniform\", \"min\": %s}", i ? ", " : "",
                             axes[i], i < 4 ? "1, \"max\": 2" : "0, \"max\": 0.5");
  snprintf(text + used, sizeof text - used, "}}");
  caviar_spec spec;
  caviar_error err;
  caviar_sampler sampler;
  caviar_tpe *tpe = NULL;
  if (caviar_spec_parse(text, strlen(text), "functions", NULL, &spec, &err) != CAVIAR_OK ||
      caviar_sampler_init(&sampler, &spec, spec.seed, budget, &err) != CAVIAR_OK ||
      (spec.method == CAVIAR_METHOD_TPE && caviar_tpe_new(&spec.tpe, spec.seed, &tpe, &err) != CAVIAR_OK)) {
    fprintf(stderr, "bench_functions: %s\n", err.msg);
    return 1;
  }
  double best = INFINITY;
  for (int k = 0; k < budget; k++) {
    caviar_trial t;
    caviar_sampler_draw(&sampler, (uint32_t)k, &t);
    if (tpe) caviar_tpe_propose(tpe, &spec.space, &spec.fixed, t.id, NULL, 0, &t.hp);
    double x[6];
    for (int i = 0; i < dims; i++) x[i] = coordinate(&t.hp, i);
    double y = hartmann ? hartmann6(x) : branin(x);
    if (tpe && caviar_tpe_observe(tpe, &t.hp, 1, y, &err) != CAVIAR_OK) {
      fprintf(stderr, "bench_functions: %s\n", err.msg);
      return 1;
    }
    if (y < best) best = y;
    printf("%.9g\n", best);
  }
  caviar_tpe_free(tpe);
  caviar_sampler_free(&sampler);
  caviar_spec_free(&spec);
  return 0;
}
