#ifndef CAVIAR_STUDY_H
#define CAVIAR_STUDY_H
/* A study: caviar's samplers and schedule driving training code that caviar does not run itself
 * (ask and tell). A study folder holds
 *
 *   study.json     what was started: the spec's text, seed, trial count, timeout (written once)
 *   journal.jsonl  append-only JSON lines, one record a line: rounds, trials handed out, every
 *                  reported epoch's metrics and the schedule's verdict, trials told, released,
 *                  alive (docs/STUDY.md describes every record)
 *
 * Any number of processes use one study at once. A writer takes an flock on the journal (the
 * kernel lets it go when the process dies, so a killed writer never leaves a stale lock), reads
 * what others appended since it last looked, decides, and appends its record with one write(2).
 * Readers take no lock and ignore a last line without its newline; a writer that finds one (its
 * author died mid-write) cuts it off first. Everything a study decides is a function of the
 * journal's records in order (the samplers' draws are functions of the seed and the trial id; tpe
 * and the zoom see the values in journal order), so every process derives the same state.
 *
 * Successive halving and Hyperband judge a trial when it reports an epoch at or past a rung: it
 * goes on if it is in the top 1/eta of every trial of its bracket recorded at that rung so far
 * (caviar sweep's rule, decided per report here instead of per epoch boundary). */

#include <stdbool.h>
#include <stdint.h>

#include "caviar/report.h"
#include "caviar/spec.h"
#include "caviar/status.h"
#include "caviar/trainer.h"

CAVIAR_C_BEGIN

#define CAVIAR_STUDY_FILE "study.json"
#define CAVIAR_STUDY_JOURNAL "journal.jsonl"
#define CAVIAR_STUDY_DEFAULT_TIMEOUT 3600.0
#define CAVIAR_STUDY_DEFAULT_ATTEMPTS 3

typedef struct caviar_study caviar_study;

typedef struct caviar_study_options {
  uint64_t seed;
  bool seed_given;     /* else the spec's */
  long long trials;    /* < 0: the spec's (Hyperband's brackets decide their own) */
  double timeout_s;    /* a trial handed out and silent this long is handed out again */
  int max_attempts;    /* a trial whose holder went silent this many times is failed instead */
} caviar_study_options;

#define CAVIAR_STUDY_DEFAULT_OPTIONS \
  ((caviar_study_options){0, false, -1, CAVIAR_STUDY_DEFAULT_TIMEOUT, CAVIAR_STUDY_DEFAULT_ATTEMPTS})

/* Creates a study in dir (created if missing; it must not hold anything else) from the spec at
 * spec_path. Refused with one line: a spec that caviar cannot run as a study (pbt), a folder that
 * is not empty. */
caviar_status caviar_study_init(const char *spec_path, const char *dir, const caviar_study_options *options,
                                caviar_error *err);

/* Opens dir's study and reads its journal (no lock). A folder that is not a study is refused,
 * naming what is missing. */
caviar_status caviar_study_open(const char *dir, caviar_study **out, caviar_error *err);
void caviar_study_close(caviar_study *s);
/* Reads what other processes appended since the last look (no lock). */
caviar_status caviar_study_refresh(caviar_study *s, caviar_error *err);

const caviar_spec *caviar_study_spec(const caviar_study *s);
uint64_t caviar_study_seed(const caviar_study *s);
const char *caviar_study_dir(const caviar_study *s);
double caviar_study_timeout(const caviar_study *s);

/* One trial as handed out. */
typedef struct caviar_study_trial {
  uint32_t id;
  int attempt;      /* 1, then 2, ... each time it is handed out again */
  int round, bracket;
  int epochs;       /* the budget: the most epochs it may train */
  char *params;     /* the parameters as a JSON object (malloc'd) */
  char *line;       /* what `caviar ask` prints: {"trial": .., "params": {..}, "attempt": .., ...} */
} caviar_study_trial;
void caviar_study_trial_free(caviar_study_trial *t);

typedef enum caviar_ask_outcome {
  CAVIAR_ASK_TRIAL, /* *trial is filled in */
  CAVIAR_ASK_WAIT,  /* nothing to hand out now: the population is out, or a round must finish first */
  CAVIAR_ASK_DONE   /* every trial is finished */
} caviar_ask_outcome;

/* The next trial: one handed out before whose holder went silent (or released it), else a new one
 * (drawn, or proposed by tpe from every value told so far). worker names the asker in the journal. */
caviar_status caviar_study_ask(caviar_study *s, const char *worker, caviar_ask_outcome *outcome,
                               caviar_study_trial *trial, caviar_error *err);

/* Metrics as name and value pairs; names are [A-Za-z_][A-Za-z0-9_.:/-]* (at most 128 characters),
 * values finite. */
typedef struct caviar_study_values {
  int n;
  const char *const *names;
  const double *values;
} caviar_study_values;

typedef enum caviar_study_verdict {
  CAVIAR_VERDICT_GO,   /* recorded: go on */
  CAVIAR_VERDICT_STOP, /* recorded, and the schedule culls the trial at a rung: stop */
  CAVIAR_VERDICT_GONE  /* nothing recorded: the trial was culled before, or handed out again to
                          another worker after a timeout (this attempt is over): stop */
} caviar_study_verdict;

/* Records trial id's metrics after `epoch` epochs (1 .. its budget, above the epoch it reported
 * last). attempt 0: whichever attempt holds it now. The schedule judges it at every rung it
 * passed; why says what happened (for messages). Bad input (an unknown trial, a finished one, a
 * value that is not finite, the spec's metric missing, an epoch out of order) is refused with one
 * line and nothing recorded. */
caviar_status caviar_study_report(caviar_study *s, uint32_t id, int attempt, int epoch, const caviar_study_values *v,
                                  caviar_study_verdict *verdict, char *why, size_t why_size, caviar_error *err);

/* Finishes trial id: completed with its final metrics (none: its last report's; epoch 0: the last
 * epoch it reported, or its budget when it reported none), or failed (metrics optional; reason is
 * kept). A trial told before is refused (one line, nothing recorded); a culled one, or an attempt
 * that is over, gets CAVIAR_VERDICT_GONE. */
caviar_status caviar_study_tell(caviar_study *s, uint32_t id, int attempt, bool failed, int epoch,
                                const caviar_study_values *v, const char *reason, caviar_study_verdict *verdict,
                                char *why, size_t why_size, caviar_error *err);

/* Who holds trial id (the worker its start record names: "host:pid/worker" for the agent), and at
 * which attempt; NULL when it is not out. */
const char *caviar_study_holder(const caviar_study *s, uint32_t id, int *attempt);
/* How many trials have been handed out (ids 0 .. this - 1). */
int caviar_study_started(const caviar_study *s);

/* The holder gives the trial back unfinished (an agent stopped): it is handed out again at once. */
caviar_status caviar_study_release(caviar_study *s, uint32_t id, int attempt, const char *reason, caviar_error *err);
/* The holder is alive: the trial's timeout starts again. */
caviar_status caviar_study_alive(caviar_study *s, uint32_t id, int attempt, caviar_error *err);

typedef struct caviar_study_counts {
  int total;     /* trials the study will hand out in all */
  int started, running, completed, culled, failed;
  int round, rounds;
  bool done;
} caviar_study_counts;
void caviar_study_counts_of(const caviar_study *s, caviar_study_counts *out);

/* The results so far as a sweep's (trial ids, statuses, epochs, last or final metrics, learning
 * curves of each trial's last attempt, brackets, rounds and their boxes), for summary.json,
 * curves.csv and the leaderboard. Valid until the next call on s. */
const caviar_sweep_result *caviar_study_results(caviar_study *s);
/* Trial id's parameters as handed out (JSON text), or NULL. */
const char *caviar_study_params(const caviar_study *s, uint32_t id);
/* What caviar_report_write and the leaderboard need to show the study's results. */
void caviar_study_report_info(const caviar_study *s, caviar_report_info *info);
/* Writes summary.json and curves.csv of the results so far into the study folder (atomically). */
caviar_status caviar_study_write_results(caviar_study *s, caviar_error *err);

/* A metric line of a training program's output: whitespace- or comma-separated name=value tokens
 * ("epoch=3 val_acc=0.91 val_loss=0.25"), every token one; epoch, when present, a whole number.
 * Fills names (pointing into line, which is modified) and values, at most max; *epoch is 0 without
 * one. False for any other line. */
bool caviar_study_metric_line(char *line, int *epoch, const char **names, double *values, int max, int *n);

/* Whether a metric name is valid (see caviar_study_values). */
bool caviar_study_metric_name_ok(const char *name);

CAVIAR_C_END

#endif
