#ifndef CAVIAR_SPEC_INTERNAL_H
#define CAVIAR_SPEC_INTERNAL_H
/* The section parsers behind caviar_spec_parse, one file each; not part of the public API. */

#include <cjson/cJSON.h>

#include "spec/json_read.h"
#include "caviar/spec.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

caviar_status caviar_parse_parameters(const caviar_json_ctx *ctx, const cJSON *params, caviar_method method,
                                      caviar_space *out);
/* Outside code's parameters (NULL: none), nested entries flattened in order (caviar_param.keys). */
caviar_status caviar_parse_outside_parameters(const caviar_json_ctx *ctx, const cJSON *params, caviar_method method,
                                              caviar_space *out);
/* One value of a hyperparameter (a name for choice hyperparameters), checked against its range. */
caviar_status caviar_parse_hp_value(const caviar_json_ctx *ctx, const cJSON *item, const char *path,
                                    const caviar_hp_info *hp, double *out);
/* metric: caviar's four names (outside: any name, W&B's default goal minimize), goal, target, and
 * W&B's impute keys; *text gets the name as written (NULL when none is given). */
caviar_status caviar_parse_metric(const caviar_json_ctx *ctx, const cJSON *item, bool outside, caviar_metric *out,
                                  char **text);
/* epochs: model.epochs (0: not given); -1 for outside code (hyperband recorded as W&B's). */
caviar_status caviar_parse_early_terminate(const caviar_json_ctx *ctx, const cJSON *item, int epochs,
                                           caviar_early_terminate *out);
/* A path from the spec, relative ones resolved against the spec's folder (malloc'd into *out). */
caviar_status caviar_spec_path(const caviar_json_ctx *ctx, const cJSON *item, const char *path, const char *base_dir,
                               char **out);
caviar_status caviar_parse_data(const caviar_json_ctx *ctx, const cJSON *item, const char *base_dir,
                                caviar_data_spec *out);
/* The model section: fixed hyperparameters, epochs, keep, and task (-1 when not given). */
caviar_status caviar_parse_model(const caviar_json_ctx *ctx, const cJSON *item, caviar_hparams *fixed,
                                 int *epochs, caviar_keep *keep, int *task);
caviar_status caviar_parse_task(const caviar_json_ctx *ctx, const cJSON *item, const char *path, caviar_task *out);
caviar_status caviar_parse_coarse_to_fine(const caviar_json_ctx *ctx, const cJSON *item,
                                          caviar_coarse_to_fine *out);
caviar_status caviar_parse_tpe(const caviar_json_ctx *ctx, const cJSON *item, caviar_tpe_options *out);

CAVIAR_C_END

#endif
