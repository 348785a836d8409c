#ifndef CAVIAR_TRIAL_JSON_H
#define CAVIAR_TRIAL_JSON_H
/* JSON text for numbers and trial configs, written by hand rather than through cJSON because
 * `caviar sample` prints hundreds of thousands of them. */

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "caviar/hparams.h"
#include "caviar/json_text.h"
#include "caviar/number_format.h"
#include "caviar/sampler.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN



/* {"learning_rate": 0.0031, "optimizer": "adam", ...}: every active hyperparameter, in table order
 * (one a condition switched off is left out). */
int caviar_hparams_json(const caviar_hparams *hp, char *buf, size_t size);

/* The same object as a cJSON tree (for summary.json and PBT's lineage), built directly, never
 * printed and re-parsed; NULL when memory runs out. */
cJSON *caviar_hparams_cjson(const caviar_hparams *hp);

/* The text caviar_json_put gives for caviar_hparams_cjson's tree (formatted: its fields depth + 1
 * tabs in), without the tree. */
void caviar_hparams_put(caviar_text *t, const caviar_hparams *hp, bool formatted, int depth);

/* {"trial": 0, "params": {...}} */
int caviar_trial_json(const caviar_trial *trial, char *buf, size_t size);

/* A value of outside code's config as JSON text, the way W&B passes it on: a number written as an
 * integer stays one (10), any other number keeps a fraction (10.0, 0.001, 1e-05); strings,
 * booleans, null, lists and mappings as they are. malloc'd; NULL (err set) when memory runs out. */
char *caviar_value_json_text(const cJSON *item, caviar_error *err);

/* Outside code's config of one trial: each parameter of space at values[i] (list family: the index
 * of its value), nested as its keys say ({"batch_size": 64, "optimizer": {"lr": 0.001}}). Returns
 * the length it needs, as snprintf does. */
int caviar_values_json(const caviar_space *space, const double *values, char *buf, size_t size);
/* The reverse: values[i] of each parameter of space from such a config (a list value by its JSON
 * value, numbers within what the distribution gives); false with why ("params.lr: missing") when
 * one is missing or not a value of its parameter. */
bool caviar_values_parse(const caviar_space *space, const cJSON *params, double *values, char *why, size_t why_size);

CAVIAR_C_END

#endif
