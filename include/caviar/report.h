#ifndef CAVIAR_REPORT_H
#define CAVIAR_REPORT_H
/* What a sweep leaves behind in its output folder: summary.json, curves.csv and best/ (each
 * kept survivor as trial-<id>.safetensors), every file written atomically; and the leaderboard. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "caviar/backend.h"
#include "caviar/data.h"
#include "caviar/spec.h"
#include "caviar/trainer.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

typedef struct caviar_report_info {
  const caviar_spec *spec;
  uint64_t seed;
  const char *device; /* e.g. "cpu (2 threads)" */
  const caviar_blas_info *blas; /* the BLAS the GEMMs ran on (summary.json's "blas"); NULL: none (a study) */
  const caviar_data *data;
  int keep_models; /* best/ keeps the top this many survivors; <= 0: all of them */
  /* A study's trials (include/caviar/study.h): each trial's parameters as handed out (JSON text), in
   * place of the hyperparameters' table; NULL: the table's. data is NULL for a study. */
  const char *(*params_json)(const void *ctx, uint32_t trial);
  const void *params_ctx;
  /* A study's logged values, any names (params_ctx): a trial's last of each (NULL: none), and its
   * value of `name` at an epoch of its curve (NaN: not logged there). curve_names: the names beyond
   * train_loss, val_loss and val_acc, which curves.csv gets as columns after them. */
  const cJSON *(*trial_metrics)(const void *ctx, uint32_t trial);
  double (*curve_metric)(const void *ctx, uint32_t trial, int epoch, const char *name);
  const char *const *curve_names;
  int n_curve_names;
  /* A study's failed trial: why (its holder's reason: an exit status and its last lines of stderr). */
  const char *(*trial_reason)(const void *ctx, uint32_t trial);
  bool finished;   /* the sweep's final results (summary.json says "finished": true); false for
                      the results so far of a running sweep, or of one stopped by a signal */
} caviar_report_info;

/* Before training: creates dir if needed, checks that it takes new files, and removes what a run
 * killed while writing there left behind. The caller holds dir (caviar_lock_folder), as it does
 * for caviar_report_write: one writer per folder. */
caviar_status caviar_report_prepare(const char *dir, caviar_error *err);

/* Creates dir if needed and writes the three outputs, as a whole or not at all: into a staging
 * folder first (a full disk fails there, leaving the old results whole), then renamed in. An error
 * names the file as it would have been in dir (OUT/best/trial-3.safetensors), not the staging
 * folder's copy, which is gone. Final results (info->finished) written whole but not movable into
 * place are kept in dir/caviar-results-XXXXXX, which the error names (*kept_aside set; may be NULL). */
caviar_status caviar_report_write(const char *dir, const caviar_report_info *info, const caviar_sweep_result *r,
                                  bool *kept_aside, caviar_error *err);

/* caviar_report_write, and *summary (unless NULL) gets summary.json's tree as a reader parsing the
 * file gets it, for report.html without reading the file back: a trial ranked past the page's
 * leaderboard (CAVIAR_PAGE_ROWS) holds only the fields the page reads of it; the page is the same
 * (NULL where the write failed or memory ran out; the caller frees it with cJSON_Delete). */
caviar_status caviar_report_write_tree(const char *dir, const caviar_report_info *info, const caviar_sweep_result *r,
                                       bool *kept_aside, struct cJSON **summary, caviar_error *err);

/* The BLAS as summary.json and sweep.json record it: {"library", "version", "kernel" (where the
 * library has one), "pinned" (OPENBLAS_CORETYPE, or null)}; NULL when out of memory. */
struct cJSON *caviar_blas_json(const caviar_blas_info *blas);

/* How many models best/ gets: the survivors, at most keep_models. */
int caviar_report_saved_count(const caviar_report_info *info, const caviar_sweep_result *r);

/* The ranking rule in words, the one sentence the leaderboard, summary.json ("ranking") and
 * report.html print under their tables: which trials come first and by what figure. */
void caviar_ranking_rule(const caviar_spec *spec, bool regression, char *buf, size_t size);

/* The best max_rows trials: rank, trial, status, epochs, the metric (each trial's value) and the
 * epoch it is from (at_epoch), then each swept parameter of the spec, the test accuracy and the
 * other metric, as many as fit in width columns (<= 0: no limit); then a line naming the columns
 * left out, and the ranking rule, wrapped to the width. */
void caviar_leaderboard_print(FILE *f, const caviar_spec *spec, const caviar_sweep_result *r, int max_rows, int width);
/* The same with what a study adds (info's params_json, and its logged values as columns after the
 * others: trial_metrics, curve_names). */
void caviar_leaderboard_print_info(FILE *f, const caviar_report_info *info, const caviar_sweep_result *r, int max_rows,
                                   int width);

/* The whole leaderboard as JSON text (malloc'd; NULL when out of memory): {"metric": ...,
 * "ranking": the rule, "stopped_by_time_budget": ..., "leaderboard": [trial as in summary.json + "rank"]}. */
char *caviar_leaderboard_json(const caviar_report_info *info, const caviar_sweep_result *r);

CAVIAR_C_END

#endif
