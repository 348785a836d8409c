#ifndef CAVIAR_SPEC_MODEL_CONFIGS_H
#define CAVIAR_SPEC_MODEL_CONFIGS_H
/* The configs the model-based samplers (tpe.c, gp.c) read and propose, in their two forms:
 * caviar's own models' hyperparameters (caviar_hparams, conditions as its inactive bits) and
 * outside code's values (double[space->n], each parameter of the spec's space in its order, a
 * list-family parameter as its value's index: caviar_sampler_values' form; outside code has no
 * conditions, so every value is active). The models' math reads a config's parameter i only
 * through model_config_value/model_config_active and makes a proposal as one value per parameter,
 * which model_config_put turns into a config: one implementation of the math, two adapters. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caviar/hparams.h"
#include "caviar/space.h"

CAVIAR_C_BEGIN

typedef enum model_form {
  MODEL_FORM_HPARAMS, /* caviar_hparams */
  MODEL_FORM_VALUES   /* double[space->n] */
} model_form;

/* Parameter i of space as the config holds it (list family: as caviar_hparams holds it, or the
 * value's index), and whether it is active there. */
static inline double model_config_value(model_form form, const void *config, const caviar_space *space, int i) {
  return form == MODEL_FORM_VALUES ? ((const double *)config)[i]
                                   : caviar_hp_get((const caviar_hparams *)config, space->params[i].hp);
}
static inline bool model_config_active(model_form form, const void *config, const caviar_space *space, int i) {
  return form == MODEL_FORM_VALUES || caviar_hp_active((const caviar_hparams *)config, space->params[i].hp);
}

/* The config of a proposal's values (one per parameter of space): outside code's as they are;
 * caviar's over base, the parameters a condition switches off put back (caviar_space_apply_conditions). */
static inline void model_config_put(model_form form, const caviar_space *space, const caviar_hparams *base,
                                    const double *values, void *out) {
  if (form == MODEL_FORM_VALUES) {
    for (int i = 0; i < space->n; i++) ((double *)out)[i] = values[i];
    return;
  }
  caviar_hparams *hp = out;
  *hp = *base;
  for (int i = 0; i < space->n; i++) caviar_hp_set(hp, space->params[i].hp, values[i]);
  caviar_space_apply_conditions(space, base, hp);
}

/* W&B's bayes (include/caviar/tpe.h) over n observed configs of either form and n_pending configs
 * still training: the proposal's values (space->n of them) in out; false when it cannot propose
 * (nothing observed, out of memory). */
bool caviar_gp_propose(const caviar_space *space, model_form form, uint64_t seed, uint32_t id,
                       const void *const *observed, const double *loss, int n, const void *const *pending,
                       int n_pending, int candidates, double *out);

CAVIAR_C_END

#endif
