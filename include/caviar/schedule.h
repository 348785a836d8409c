#ifndef CAVIAR_SCHEDULE_H
#define CAVIAR_SCHEDULE_H
/* Early termination: the brackets of trials and their rungs (epochs after which trials are
 * compared), and who goes on from a rung. Successive halving is one bracket; Hyperband is all the
 * brackets of Li et al. (2017) side by side; no early termination and PBT are one bracket without
 * rungs. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caviar/spec.h"

CAVIAR_C_BEGIN

#define CAVIAR_MAX_RUNGS 32
#define CAVIAR_MAX_BRACKETS 32

typedef struct caviar_rungs {
  int n;
  int epochs[CAVIAR_MAX_RUNGS]; /* after how many epochs each rung is judged, ascending */
} caviar_rungs;

typedef struct caviar_bracket {
  int s;        /* Hyperband's bracket index (its number of rungs); 0 otherwise */
  int trials;   /* how many trials start in it */
  caviar_rungs rungs;
} caviar_bracket;

typedef struct caviar_brackets {
  int n_brackets;
  caviar_bracket brackets[CAVIAR_MAX_BRACKETS];
  int eta, max_epochs;
} caviar_brackets;

/* Successive halving: `trials` in one bracket with rungs at min_epochs * eta^k below max_epochs.
 * Hyperband (s_max = W&B's s, or floor(log_eta(max / min))): bracket s = s_max .. 0 starts
 * n_s = ceil((s_max + 1) / (s + 1) * eta^s) trials at max * eta^-s epochs, rungs at
 * max * eta^(i - s) for i < s; with trials > 0 (a grid's points, run_cap, -n) the n_s are scaled
 * to sum to trials, in the same proportions (W&B's hyperband stops runs but never decides how many
 * there are: a grid runs every point). */
void caviar_brackets_make(const caviar_early_terminate *et, long long trials, caviar_brackets *out);
/* How many trials a round asks the sampler for, given -n's `trials` (< 0: not given): Hyperband
 * with no count anywhere (no -n, trials, run_cap, nor a grid) runs its brackets' own total; else
 * trials (< 0: the spec's). `caviar sample` and `caviar sweep` both ask this. */
long long caviar_round_request(const caviar_spec *spec, long long trials);
/* "bracket 2: 9 trials, rungs at epochs 1, 3; ...; every trial ends by epoch 10". */
int caviar_brackets_describe(const caviar_brackets *hb, char *buf, size_t size);
long long caviar_brackets_trials(const caviar_brackets *hb);
/* The bracket of the trial with this index within its round (brackets take consecutive ids). */
int caviar_bracket_of(const caviar_brackets *plan, long long index);
/* Epochs a trial of the bracket trains on average if every rung keeps its top 1/eta. */
double caviar_bracket_expected_epochs(const caviar_bracket *b, int eta, int max_epochs);

/* The first rung's epochs of the first bracket (for progress lines): min * eta^k below max. */
void caviar_rungs_make(const caviar_early_terminate *et, caviar_rungs *out);
/* How many of `alive` members a rung keeps: the top 1/eta, at least one. */
int caviar_rung_keep(int alive, int eta);
/* Whether `epochs` completed is a rung; its index in *rung. */
bool caviar_is_rung(const caviar_rungs *rungs, int epochs, int *rung);

/* What decides "better", the one comparison behind every ranking (rungs, PBT, the leaderboard),
 * keys compared in turn: group (lower first: e.g. survived before culled before diverged), epochs
 * reached (more first), the metric, then the other metric (each oriented so that lower is better:
 * a loss, or minus an accuracy; NaN is worse than any number), then the trial id (lower first),
 * so the order is total and reproducible. */
typedef struct caviar_rank_key {
  int group, epochs;
  float metric, other;
  uint32_t trial;
} caviar_rank_key;

caviar_rank_key caviar_rank_key_of(float val_loss, float val_acc, bool by_accuracy, int group, int epochs,
                                   uint32_t trial);
/* < 0 when a ranks before b. */
int caviar_rank_key_compare(const caviar_rank_key *a, const caviar_rank_key *b);
/* order[0 .. n) becomes 0 .. n - 1 sorted best first by key(ctx, i); no allocation, no global state. */
void caviar_rank_order(int n, caviar_rank_key (*key)(const void *ctx, int i), const void *ctx, int *order);

/* Members ranked at one rung, best first by the metric (ties: the other metric, then the trial id). */
void caviar_rank(const float *val_loss, const float *val_acc, const uint32_t *trial, int n, bool by_accuracy,
                 int *order);

/* The results recorded at one rung of a bracket, in the order they arrived (what snapshots keep),
 * and which of them are in the top caviar_rung_keep(n, eta) by the metric (ties: the other metric,
 * then the trial id), kept as results arrive: two heaps of indices, the top ones with the worst of
 * them at the root and the others with the best at the root. Adding a result costs O(log n);
 * asking whether a recorded result is in the top costs O(1), so asynchronous successive halving
 * (every arriving result asks "in the top 1/eta so far?") costs O(n log n) per rung in all,
 * where ranking the whole rung for each question cost O(n^2 log n). Zero-initialised is empty. */
typedef struct caviar_rung_record {
  int n, cap;
  float *loss, *acc;
  uint32_t *trial;
  int *top, *rest; /* heaps of indices into the arrays above */
  int n_top, n_rest;
  bool by_accuracy;
  int eta;
} caviar_rung_record;

/* Records a result (every result of a rung with the same by_accuracy and eta). */
caviar_status caviar_rung_record_add(caviar_rung_record *r, float val_loss, float val_acc, uint32_t trial,
                                     bool by_accuracy, int eta, caviar_error *err);
/* Whether a result recorded here (these figures, this trial) is in the top caviar_rung_keep(n, eta)
 * of the n recorded: what ranking all n and looking at the first keep would say. */
bool caviar_rung_record_keeps(const caviar_rung_record *r, float val_loss, float val_acc, uint32_t trial);
/* Whether a result not recorded yet would be in the top caviar_rung_keep(n + 1, eta) once added
 * (a study judges a report before its journal line records it). */
bool caviar_rung_record_would_keep(const caviar_rung_record *r, float val_loss, float val_acc, uint32_t trial,
                                   bool by_accuracy, int eta);
void caviar_rung_record_free(caviar_rung_record *r);

CAVIAR_C_END

#endif
