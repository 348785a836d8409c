#ifndef CAVIAR_REPORT_H
#define CAVIAR_REPORT_H
/* What a sweep leaves behind in its output folder: summary.json, curves.csv and best/ (each
 * kept survivor as trial-<id>.safetensors), every file written atomically; and the leaderboard. */

#include <stdint.h>
#include <stdio.h>

#include "caviar/data.h"
#include "caviar/spec.h"
#include "caviar/trainer.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

typedef struct caviar_report_info {
  const caviar_spec *spec;
  uint64_t seed;
  const char *device; /* e.g. "cpu (2 threads)" */
  const caviar_data *data;
  int keep_models; /* best/ keeps the top this many survivors; <= 0: all of them */
} caviar_report_info;

/* Before training: creates dir if needed, checks that it takes new files, and removes what a run
 * killed while writing there left behind. */
caviar_status caviar_report_prepare(const char *dir, caviar_error *err);

/* Creates dir if needed and writes the three outputs, as a whole or not at all: into a staging
 * folder first (a full disk fails there, leaving the old results whole), then renamed in. */
caviar_status caviar_report_write(const char *dir, const caviar_report_info *info, const caviar_sweep_result *r,
                                  caviar_error *err);

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

/* The whole leaderboard as JSON text (malloc'd; NULL when out of memory): {"metric": ...,
 * "ranking": the rule, "stopped_by_time_budget": ..., "leaderboard": [trial as in summary.json + "rank"]}. */
char *caviar_leaderboard_json(const caviar_report_info *info, const caviar_sweep_result *r);

CAVIAR_C_END

#endif
