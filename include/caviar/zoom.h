#ifndef CAVIAR_ZOOM_H
#define CAVIAR_ZOOM_H
/* Coarse to fine: after a round, each parameter's box shrinks around the best trials, on the
 * parameter's own sampling scale (log10 x for log parameters, log10(1 - x) for one_minus), never
 * beyond the original range; categorical parameters keep the values the best trials used. */

#include <cjson/cJSON.h>

#include "caviar/sampler.h"
#include "caviar/space.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

/* A deep copy (the copy owns its names and value lists). */
caviar_status caviar_space_copy(const caviar_space *src, caviar_space *dst, caviar_error *err);

/* Replaces box's ranges by zoomed ones. For a box or integer parameter on coordinate t: the new
 * width is zoom times the current width, or just enough to hold the best trials' coordinates if
 * they spread wider; it is centred on the middle of their span and slid (not cut) to lie inside
 * the original range. Normal distributions keep their mean at the best trials' mean on their scale
 * and shrink sigma by zoom. Categorical lists keep the values present among the best trials
 * (renormalising any probabilities); constants stay. best holds n_best trials' hyperparameters. */
caviar_status caviar_zoom(caviar_space *box, const caviar_space *original, const caviar_hparams *best, int n_best,
                          double zoom, caviar_error *err);

/* {"learning_rate": {"min": .., "max": ..}, "optimizer": {"values": [..]}, ...}: a box for reports. */
cJSON *caviar_space_box_json(const caviar_space *box);

CAVIAR_C_END

#endif
