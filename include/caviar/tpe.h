#ifndef CAVIAR_TPE_H
#define CAVIAR_TPE_H
/* The tree-structured Parzen estimator (Bergstra et al. 2011), as Optuna's TPESampler does it
 * (univariate, its default): the observations are split into the best gamma(n) = min(ceil(n / 10),
 * 25) and the rest; per parameter, on the parameter's own scale, a Parzen estimator l(x) is fitted
 * to the good ones and g(x) to the others (truncated Gaussian kernels with Optuna's bandwidths and
 * magic clip, a prior kernel, the recency weights; discrete kernels for categorical parameters,
 * integrated over each value's cell for integer and q_ parameters); `candidates` draws from l(x)
 * compete and the one with the largest l(x) / g(x) wins.
 *
 * Multi-fidelity (BOHB, Falkner et al. 2018): each observation carries its budget (epochs); the
 * model is fitted on the largest budget that has at least `startup` observations. Until one has,
 * propose declines and the caller uses its startup sequence (sobol). Batches (constant liar):
 * configs still training are passed as `pending` and count as the worst observations, so a batch
 * of proposals spreads out instead of repeating one point. A proposal is a pure function of the
 * seed, the trial id, the observations (in order) and the pending configs.
 *
 * Bounded history: with more than `history` observations at the fitted budget, the good group is
 * still the best gamma(n) of all n, the bad group the most recent history - gamma(n) of the others;
 * each budget keeps its observations' indices and its best 25 as they arrive, so a proposal costs
 * O(history + pending) whatever the sweep's size (up to `history` observations, exactly the
 * unbounded proposal). Within a fill (proposals with no result between them, each with the pending
 * configs of the one before and that proposal) a proposal keeps the estimators of the one before
 * and grows each bad group's by the one new pending point (no sort, no list of the groups; the
 * sigmas, masses and logarithms of the new point's neighbours only, then every kernel's offset:
 * O(pending) of plain arithmetic), and is still a pure function of the same inputs. */

#include <stdbool.h>
#include <stdint.h>

#include "caviar/hparams.h"
#include "caviar/space.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

typedef struct caviar_tpe_options {
  int startup;         /* observations (at one budget) before the model takes over: 10 */
  int candidates;      /* draws from l(x) per parameter: 24 (gp: points of the cube tried, 1000) */
  double prior_weight; /* weight of the prior kernel: 1 */
  int history;         /* most observations a proposal reads (0: all): the good ones of all, the
                        * others the most recent; CAVIAR_TPE_DEFAULT_HISTORY */
  bool gp;             /* the model is W&B's bayes (caviar_gp_propose), not the Parzen estimators */
} caviar_tpe_options;

#define CAVIAR_TPE_DEFAULT_HISTORY 250
#define CAVIAR_TPE_MIN_HISTORY 50
#define CAVIAR_TPE_DEFAULT_OPTIONS ((caviar_tpe_options){10, 24, 1.0, CAVIAR_TPE_DEFAULT_HISTORY, false})
/* W&B's bayes: a GP from two results on, 1000 random points of the cube for its acquisition; it
 * reads every observation at its budget (history unused). */
#define CAVIAR_BAYES_OPTIONS ((caviar_tpe_options){2, 1000, 1.0, 0, true})

typedef struct caviar_tpe caviar_tpe;

caviar_status caviar_tpe_new(const caviar_tpe_options *options, uint64_t seed, caviar_tpe **out, caviar_error *err);
/* Records that config hp reached loss (smaller is better; NaN or inf: diverged, the worst) after
 * budget units of training. */
caviar_status caviar_tpe_observe(caviar_tpe *t, const caviar_hparams *hp, int budget, double loss, caviar_error *err);
/* Trial id's config over base, every parameter of space (the current search box) proposed; false
 * (and out untouched) while no budget has `startup` observations. */
bool caviar_tpe_propose(caviar_tpe *t, const caviar_space *space, const caviar_hparams *base, uint32_t id,
                        const caviar_hparams *pending, int n_pending, caviar_hparams *out);
/* The budget propose would fit on (0: none yet). */
int caviar_tpe_budget(const caviar_tpe *t);
int caviar_tpe_observations(const caviar_tpe *t);
void caviar_tpe_free(caviar_tpe *t);

/* Outside code's configs (spec->outside): the same models over its values, one per parameter of
 * the spec's space in its order, a list-family parameter as its value's index (the form of
 * caviar_sampler_values and caviar_values_json). A sampler made by caviar_tpe_new_values takes
 * and proposes only these (and one made by caviar_tpe_new only caviar_hparams); pending holds
 * n_pending configs of n_values values one after another; out gets n_values values, each a value
 * its distribution can take (an int_uniform's a whole number, a list's an index, within bounds).
 * One rule differs: a failure observed (loss NaN or inf) counts as the worst at its budget and at
 * every larger one, as W&B's bayes counts a run that died at any step; caviar's own sweeps keep
 * theirs (a diverged member the worst at the epoch it diverged in), so their numbers stay. */
caviar_status caviar_tpe_new_values(const caviar_tpe_options *options, uint64_t seed, int n_values, caviar_tpe **out,
                                    caviar_error *err);
caviar_status caviar_tpe_observe_values(caviar_tpe *t, const double *values, int budget, double loss, caviar_error *err);
bool caviar_tpe_propose_values(caviar_tpe *t, const caviar_space *space, uint32_t id, const double *pending,
                               int n_pending, double *out);

/* W&B's bayes (bayes_search.next_sample in its sweeps library), what options.gp selects: each
 * parameter on [0, 1] through its CDF; a Gaussian process with a Matern nu = 3/2 kernel of one
 * length scale (fitted by maximum likelihood in scikit-learn's range, 1e-5 .. 1e5) on the
 * standardised losses of at most 100 observations (a random subset beyond), failed ones imputed as
 * the worst; pending configs enter as the GP's predictions (W&B's fantasies) and it is fitted
 * again; of `candidates` uniform points of the cube the one with the largest expected improvement
 * over the best loss wins (a length scale at its bound, W&B's sign of a bad fit: a random one).
 * Randomness is counter-based, so a proposal is a pure function of the seed, id, observations and
 * pending configs. (host/spec/gp.c; its entry point is internal: spec/model_configs.h.) */

CAVIAR_C_END

#endif
