/* TPE's proposals alone, as a refilled sweep makes them: `population` trials in flight (the others
 * pending, as constant liars), the oldest `fill` of them finishing together (1 unless given) and as
 * many proposals made in a row (a fill: each with the one before pending), for `trials` trials of a
 * spec's space; the objective is a smooth bowl over learning_rate, beta1 and lr_decay (what
 * scripts/scale_specs.py's TPE spec sweeps), so no training is timed. Prints the time per modelled
 * proposal (the fastest and the slowest of `reps` runs) and a checksum of every proposed value, which
 * two builds that propose the same bits print alike (the continuous parameters' first; then, where the
 * space has them, the integer, q_ and list ones': layers, hidden, optimizer, the others fixed).
 *   bench_tpe SPEC TRIALS POPULATION REPS [FILL] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caviar/qmc.h"
#include "caviar/sampler.h"
#include "caviar/spec.h"
#include "caviar/tpe.h"

static double objective(const caviar_hparams *h) {
  double a = log10(h->learning_rate) + 2.3, b = log10(1 - h->beta1) + 1.2, c = h->lr_decay - 0.1;
  return a * a + b * b + c * c;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* One refilled run: seconds spent proposing, proposals modelled, the checksums. */
static void run(const caviar_spec *spec, int trials, int population, int fill, double *seconds, int *modelled,
                double *sum, double *others) {
  caviar_tpe *model;
  caviar_qmc *qmc;
  caviar_error err;
  if (caviar_tpe_new(&spec->tpe, 7, &model, &err) != CAVIAR_OK || caviar_qmc_new(spec->space.n, 7, &qmc, &err) != CAVIAR_OK) {
    fprintf(stderr, "bench_tpe: %s\n", err.msg);
    exit(1);
  }
  caviar_hparams *running = malloc((size_t)population * sizeof *running);
  int n_running = 0;
  *seconds = 0;
  *modelled = 0;
  *sum = 0;
  *others = 0;
  for (uint32_t id = 0; id < (uint32_t)trials; id++) {
    if (n_running == population) {
      int done = fill < n_running ? fill : n_running;
      for (int k = 0; k < done; k++) caviar_tpe_observe(model, &running[k], 1, objective(&running[k]), &err);
      memmove(running, running + done, (size_t)(n_running - done) * sizeof *running);
      n_running -= done;
    }
    caviar_hparams hp;
    double t0 = now();
    bool ok = caviar_tpe_propose(model, &spec->space, &spec->fixed, id, running, n_running, &hp);
    *seconds += now() - t0;
    if (ok) ++*modelled;
    else caviar_sample_qmc(qmc, &spec->space, &spec->fixed, id, &hp);
    *sum += hp.learning_rate * 1e3 + hp.beta1 + hp.lr_decay;
    *others += hp.layers + 100.0 * hp.hidden + 1e5 * hp.optimizer;
    running[n_running++] = hp;
  }
  free(running);
  caviar_tpe_free(model);
  caviar_qmc_free(qmc);
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: bench_tpe SPEC TRIALS POPULATION REPS [FILL]\n");
    return 2;
  }
  int trials = atoi(argv[2]), population = atoi(argv[3]), reps = atoi(argv[4]), fill = argc == 6 ? atoi(argv[5]) : 1;
  if (fill < 1) fill = 1;
  FILE *f = fopen(argv[1], "rb");
  static char text[1 << 16];
  size_t len = f ? fread(text, 1, sizeof text, f) : 0;
  if (f) fclose(f);
  caviar_spec spec;
  caviar_error err;
  if (!len || caviar_spec_parse(text, len, argv[1], NULL, &spec, &err) != CAVIAR_OK) {
    fprintf(stderr, "bench_tpe: %s\n", len ? err.msg : "cannot read the spec");
    return 1;
  }
  double fastest = INFINITY, slowest = 0, sum = 0, others = 0;
  int modelled = 0;
  for (int r = 0; r < reps; r++) {
    double seconds;
    run(&spec, trials, population, fill, &seconds, &modelled, &sum, &others);
    double per = 1e6 * seconds / (modelled ? modelled : 1);
    fastest = per < fastest ? per : fastest;
    slowest = per > slowest ? per : slowest;
  }
  printf("%d trials, population %d, fills of %d: %d proposals modelled, %.1f-%.1f us each over %d runs; checksum %.17g (others %.17g)\n",
         trials, population, fill, modelled, fastest, slowest, reps, sum, others);
  caviar_spec_free(&spec);
  return 0;
}
