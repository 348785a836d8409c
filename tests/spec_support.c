#include "spec_support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/qmc.h"
#include "caviar/tpe.h"

void spec_ok(const char *text, caviar_spec *spec) {
  caviar_error err = {{0}};
  caviar_status st = caviar_spec_parse(text, strlen(text), "spec.json", NULL, spec, &err);
  cr_assert_eq(st, CAVIAR_OK, "spec rejected: %s\n%s", err.msg, text);
}

caviar_status spec_fails(const char *text, caviar_error *err) {
  caviar_spec spec;
  memset(err, 0, sizeof *err);
  caviar_status st = caviar_spec_parse(text, strlen(text), "spec.json", NULL, &spec, err);
  if (st == CAVIAR_OK) caviar_spec_free(&spec);
  return st;
}

double *draw_param(const char *name, const char *entry, int n, unsigned long long seed) {
  return draw_param_by("random", name, entry, n, seed);
}

double *draw_param_by(const char *method, const char *name, const char *entry, int n, unsigned long long seed) {
  char text[2048];
  snprintf(text, sizeof text, "{\"method\": \"%s\", \"seed\": %llu, \"parameters\": {\"%s\": %s}}", method, seed,
           name, entry);
  caviar_spec spec;
  spec_ok(text, &spec);
  caviar_sampler sampler;
  caviar_error err;
  cr_assert_eq(caviar_sampler_init(&sampler, &spec, spec.seed, n, &err), CAVIAR_OK, "%s", err.msg);
  const caviar_hp_info *hp = caviar_hp_find(name);
  double *values = malloc((size_t)n * sizeof *values);
  for (int i = 0; i < n; i++) {
    caviar_trial trial;
    caviar_sampler_draw(&sampler, (uint32_t)i, &trial);
    values[i] = caviar_hp_get(&trial.hp, hp);
  }
  caviar_sampler_free(&sampler);
  caviar_spec_free(&spec);
  return values;
}

static void run_text(caviar_backend *be, const char *text, caviar_sweep_result *r, const caviar_sweep *hooks) {
  caviar_spec spec;
  spec_ok(text, &spec);
  caviar_data data;
  caviar_error err;
  cr_assert_eq(caviar_data_load(&spec.data, spec.seed, &data, &err), CAVIAR_OK, "%s", err.msg);
  caviar_sweep sweep = {.spec = &spec, .seed = spec.seed, .trials = -1, .backend = be, .data = &data,
                        .progress = hooks->progress, .progress_ctx = hooks->progress_ctx,
                        .each_epoch = hooks->each_epoch, .each_epoch_ctx = hooks->each_epoch_ctx};
  cr_assert_eq(caviar_sweep_run(&sweep, r, &err), CAVIAR_OK, "%s", err.msg);
  caviar_data_free(&data);
  caviar_spec_free(&spec);
}

void sweep_text_on(caviar_backend *be, const char *text, caviar_sweep_result *r, caviar_progress_fn progress,
                   void *ctx) {
  run_text(be, text, r, &(caviar_sweep){.progress = progress, .progress_ctx = ctx});
}

void sweep_text_hooked(const char *text, caviar_sweep_result *r, const caviar_sweep *hooks) {
  caviar_backend *be;
  caviar_error err;
  cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
  run_text(be, text, r, hooks);
  be->destroy(be);
}

double propose_loop(const caviar_spec *spec, uint64_t seed, int budget, int population,
                    double (*objective)(const caviar_hparams *), caviar_hparams *trace, int *modelled) {
  caviar_tpe *model;
  caviar_qmc *qmc;
  caviar_error err;
  cr_assert_eq(caviar_tpe_new(&spec->tpe, seed, &model, &err), CAVIAR_OK);
  cr_assert_eq(caviar_qmc_new(spec->space.n, seed, &qmc, &err), CAVIAR_OK);
  caviar_hparams *running = malloc((size_t)population * sizeof *running);
  int n_running = 0;
  double best = INFINITY;
  *modelled = 0;
  for (uint32_t id = 0; id < (uint32_t)budget; id++) {
    if (n_running == population) {
      /* The oldest finishes. */
      double f = objective(&running[0]);
      best = fmin(best, f);
      cr_assert_eq(caviar_tpe_observe(model, &running[0], 1, f, &err), CAVIAR_OK);
      memmove(running, running + 1, (size_t)(n_running - 1) * sizeof *running);
      n_running--;
    }
    caviar_hparams hp;
    if (caviar_tpe_propose(model, &spec->space, &spec->fixed, id, running, n_running, &hp)) ++*modelled;
    else caviar_sample_qmc(qmc, &spec->space, &spec->fixed, id, &hp);
    if (trace) trace[id] = hp;
    running[n_running++] = hp;
  }
  for (int i = 0; i < n_running; i++) best = fmin(best, objective(&running[i]));
  free(running);
  caviar_tpe_free(model);
  caviar_qmc_free(qmc);
  return best;
}

double random_loop(const caviar_spec *spec, uint64_t seed, int budget, double (*objective)(const caviar_hparams *)) {
  double best = INFINITY;
  for (uint32_t id = 0; id < (uint32_t)budget; id++) {
    caviar_hparams hp;
    caviar_sample_random(&spec->space, &spec->fixed, seed, id, &hp);
    best = fmin(best, objective(&hp));
  }
  return best;
}

double race_model(const model_race *race, unsigned long long seed, int population, caviar_hparams *trace) {
  caviar_spec spec;
  race->load(&spec, seed);
  int modelled;
  double best = propose_loop(&spec, seed, race->budget, population, race->objective, trace, &modelled);
  cr_expect_eq(modelled, race->budget - race->startup - (population - 1), "seed %llu: %d proposals modelled", seed,
               modelled);
  caviar_spec_free(&spec);
  return best;
}

int race_wins(const model_race *race, int seeds, int population, double *mean_model, double *mean_random) {
  int wins = 0;
  double sum_model = 0, sum_random = 0;
  for (unsigned long long seed = 1; seed <= (unsigned long long)seeds; seed++) {
    caviar_spec spec;
    race->load(&spec, seed);
    double r = random_loop(&spec, seed, race->budget, race->objective);
    caviar_spec_free(&spec);
    double m = race_model(race, seed, population, NULL);
    wins += m < r;
    sum_model += m;
    sum_random += r;
  }
  *mean_model = sum_model / seeds;
  *mean_random = sum_random / seeds;
  return wins;
}

void race_is_reproducible(const model_race *race) {
  int n = race->budget;
  caviar_hparams *a = malloc(3 * (size_t)n * sizeof *a), *b = a + n, *c = b + n;
  cr_assert_not_null(a);
  race_model(race, 5, 4, a);
  race_model(race, 5, 4, b);
  race_model(race, 6, 4, c);
  for (int i = 0; i < n; i++) cr_assert(memcmp(&a[i], &b[i], sizeof a[i]) == 0, "trial %d differs between two runs", i);
  int same = 0;
  for (int i = 0; i < n; i++) same += memcmp(&a[i], &c[i], sizeof a[i]) == 0;
  cr_expect_eq(same, 0, "seeds 5 and 6 share %d configs", same);
  free(a);
}
