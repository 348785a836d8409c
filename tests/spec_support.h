#ifndef CAVIAR_TEST_SPEC_SUPPORT_H
#define CAVIAR_TEST_SPEC_SUPPORT_H
/* Parsing specs written inline in tests, as the file "spec.json". */

#include "caviar/backend.h"
#include "caviar/sampler.h"
#include "caviar/spec.h"
#include "caviar/trainer.h"

/* Parses text, failing the test with the parser's message if it is rejected. */
void spec_ok(const char *text, caviar_spec *spec);
/* Parses text that must be rejected; returns the status and fills err. */
caviar_status spec_fails(const char *text, caviar_error *err);
/* Parses text, loads its data and runs the whole sweep on be (reporting progress to progress, ctx),
 * failing the test on any error; r is the caller's to free. */
void sweep_text_on(caviar_backend *be, const char *text, caviar_sweep_result *r, caviar_progress_fn progress,
                   void *ctx);
/* The same on the CPU backend with the hooks' progress and each_epoch callbacks (and contexts). */
void sweep_text_hooked(const char *text, caviar_sweep_result *r, const caviar_sweep *hooks);
/* n draws of the single parameter NAME given as ENTRY (a JSON object) under method random. */
double *draw_param(const char *name, const char *entry, int n, unsigned long long seed);
/* The same under another method (sobol). */
double *draw_param_by(const char *method, const char *name, const char *entry, int n, unsigned long long seed);

/* A model-based sampler (the spec's tpe options: tpe or bayes) over `budget` trials of the spec,
 * `population` of them in flight as a refilled sweep runs them: each freed slot gets a proposal
 * from every result so far (objective, smaller is better), the others still running pending;
 * until the model has its startup results, the spec's sobol points. Returns the best objective;
 * every config goes into trace if given, and *modelled counts the proposals. */
double propose_loop(const caviar_spec *spec, uint64_t seed, int budget, int population,
                    double (*objective)(const caviar_hparams *), caviar_hparams *trace, int *modelled);
/* The best objective of `budget` random draws of the spec's space. */
double random_loop(const caviar_spec *spec, uint64_t seed, int budget, double (*objective)(const caviar_hparams *));

/* A model-based sampler raced against random search on one objective (test_tpe, test_gp). */
typedef struct model_race {
  void (*load)(caviar_spec *spec, unsigned long long seed); /* the spec of a seed */
  double (*objective)(const caviar_hparams *);              /* smaller is better */
  int budget;                                               /* trials per run */
  int startup;                                              /* results before the model proposes */
} model_race;
/* A seed's run of the model (propose_loop), every config into trace if given: its best objective.
 * Expects every trial after the startup results and the population's first fill modelled. */
double race_model(const model_race *race, unsigned long long seed, int population, caviar_hparams *trace);
/* Seeds 1 to `seeds`, the model against random draws at the same budget: how many seeds the
 * model won, and both means of the best objective. */
int race_wins(const model_race *race, int seeds, int population, double *mean_model, double *mean_random);
/* The same seed gives the same proposals, another seed none of them (population 4). */
void race_is_reproducible(const model_race *race);

#endif
