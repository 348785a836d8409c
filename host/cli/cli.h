#ifndef CAVIAR_CLI_H
#define CAVIAR_CLI_H
/* The caviar command line: one file per command, these helpers shared between them.
 * Data goes to stdout, messages to stderr; exit 0 ok, 1 runtime failure, 2 bad input or usage. */

#include <stdbool.h>
#include <stdint.h>

#include "caviar/backend.h"
#include "caviar/model_file.h"
#include "caviar/spec.h"
#include "caviar/trainer.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

int caviar_cmd_sample(int argc, char **argv);
int caviar_cmd_spec(int argc, char **argv);
int caviar_cmd_info(int argc, char **argv);
int caviar_cmd_sweep(int argc, char **argv);
int caviar_cmd_eval(int argc, char **argv);
int caviar_cmd_bench(int argc, char **argv);
int caviar_cmd_synth(int argc, char **argv);
int caviar_cmd_train(int argc, char **argv);
int caviar_cmd_report(int argc, char **argv);
int caviar_cmd_study(int argc, char **argv);
int caviar_cmd_ask(int argc, char **argv);
int caviar_cmd_tell(int argc, char **argv);
int caviar_cmd_agent(int argc, char **argv);
/* What a trial's command is built from, as `wandb agent` builds it (cli/wandb_command.c). */
typedef struct caviar_wandb_run {
  char *const *command;       /* the config's command, macros unexpanded; NULL: W&B's default */
  int n_command;
  const char *program;        /* the config's program, or NULL */
  const char *interpreter;    /* ${interpreter}: W&B's is python */
  const char *params;         /* the trial's parameters: a JSON object as written */
  const char *args_json_file; /* ${args_json_file}: a file holding params */
} caviar_wandb_run;
/* The argv (NULL-terminated, malloc'd; caviar_wandb_command_free) or NULL with why filled in. */
char **caviar_wandb_command(const caviar_wandb_run *run, char *why, size_t why_size);
void caviar_wandb_command_free(char **argv);

/* caviar report's help: both forms (a page of DIR; a study trial's values). */
extern const char caviar_report_usage[];
/* caviar report DIR ID ...: a study trial's values after an epoch (cli/study.c). */
int caviar_study_report_cmd(int argc, char **argv);
/* caviar report DIR on a study: its summary.json and curves.csv, before the page (cli/study.c). */
int caviar_study_results_cmd(const char *dir);

/* Prints "caviar COMMAND: message (see caviar COMMAND --help)" and returns 2. */
int caviar_usage_error(const char *command, const char *fmt, ...) CAVIAR_PRINTF(2, 3);
/* Prints "caviar: message" and returns the status as an exit code. */
int caviar_report(caviar_status status, const caviar_error *err);
/* Runs getopt_long's error cases through caviar_usage_error; returns 2 (for unknown or incomplete
 * options) so the command can return it. */
int caviar_option_error(const char *command, const char *optstring, int optopt_value, const char *arg);

/* The leaderboard's width: stdout's terminal, else no limit (a file or a pipe gets every column). */
int caviar_stdout_width(void);

/* A whole decimal number in [0, max]; false for anything else ("12x", "-1", "", overflow). */
bool caviar_parse_u64(const char *text, uint64_t max, uint64_t *out);

/* Whether two names are one file or folder (dir/ and dir, two paths to it, one that does not exist
 * yet spelled two ways). */
bool caviar_same_file(const char *x, const char *y);

/* How much longer than an output path the paths caviar writes there get: below a folder (its
 * staging folder, best/trial-4294967295.safetensors and a temporary name: 72 bytes), beside a file
 * (PATH.tmp-PID-XXXXXX), and a file's name (.NAME.caviar-lock, NAME.tmp-PID-XXXXXX). */
#define CAVIAR_OUT_DIR_ROOM 128
#define CAVIAR_OUT_FILE_ROOM 32
#define CAVIAR_OUT_NAME_ROOM 24
/* An output path checked up front, before anything is loaded or trained: short enough that every
 * path caviar derives from it fits PATH_MAX (and, for a file, its name NAME_MAX); 0 or a usage
 * error naming flag and the path's length. */
int caviar_out_path_option(const char *command, const char *flag, const char *path, bool folder);

/* The longest duration a flag takes, in seconds. */
#define CAVIAR_MAX_DURATION 1e9
/* A duration flag: seconds, or a number with s, m or h ("90", "90s", "10m", "1.5h"), above 0 and
 * at most CAVIAR_MAX_DURATION (zero: "0" too); 0, or a usage error saying which rule it broke. */
int caviar_duration_option(const char *command, const char *flag, const char *text, bool zero, double *seconds);

/* --threads N: the CPU threads OpenMP uses (what OMP_NUM_THREADS sets); 0 or a usage error. */
int caviar_threads_option(const char *command, const char *text);

/* The same help line for --threads in every command that trains. */
#define CAVIAR_HELP_THREADS "      --threads N   CPU threads to train on (default: every core, or $OMP_NUM_THREADS)\n"

/* --data DATA over a data section (caviar_data_spec_override): the keys DATA names replace the
 * section's, the rest stay. test_set: DATA names a test set (eval: a CSV file without test= is the
 * test set, whole). */
caviar_status caviar_data_arg(caviar_data_spec *data, const char *arg, bool test_set, caviar_error *err);

/* The help line for --data, the same in every command that reads data. */
#define CAVIAR_HELP_DATA                                                                                  \
  "      --data DATA   an IDX folder, or a CSV file with data-section keys after commas\n"               \
  "                    (train.csv,test=0.2,label_column=species,task=regression), or a data\n"          \
  "                    section's JSON: the keys it names override the spec's, config's or\n"          \
  "                    model's data section, the others stay\n"

/* Warns on stderr when examples rows[0..n) of `now` were in the training part of what the model
 * was trained on (its data and seed, reloaded); says nothing when they were not, or when that data
 * cannot be read any more (noted). what: "validation" or "test". */
void caviar_warn_overlap(const caviar_model *model, const char *model_path, const caviar_dataset *now,
                         const uint32_t *rows, size_t n, const char *what);

/* The spec at path, or the built-in default when path is NULL. */
caviar_status caviar_load_spec_arg(const char *path, caviar_spec *spec, caviar_error *err);
/* Prints the spec's warnings, and what Hyperband will run given -n's trials (< 0: none), on stderr. */
void caviar_print_spec_notes(const caviar_spec *spec, long long trials);

/* The backend --device names (auto: the GPU when one is present, else the CPU; cpu; cuda), with a
 * description for reports; tf32 lets the CUDA backend's GEMMs use tensor cores. */
caviar_status caviar_open_backend(const char *device, bool tf32, caviar_backend **out, const char **description,
                                  caviar_error *err);
/* The CPU backend, its threads given OpenBLAS's buffers first (cpu_room.h; a note when an
 * address-space limit caps them). */
caviar_status caviar_open_cpu_backend(caviar_backend **out, caviar_error *err);
/* The GPU a rank takes: its rank among the ranks on its host, modulo the GPUs there (0 without). */
int caviar_local_gpu(int local_rank);
/* The same with every backend option (bench's --eager). */
caviar_status caviar_open_backend_with(const char *device, const caviar_backend_options *options,
                                       caviar_backend **out, const char **description, caviar_error *err);

/* Progress lines on stderr: one line redrawn in place on a terminal (about once a second, cut to
 * its width), a plain line per epoch otherwise, nothing when quiet. ctx is the printer. */
typedef struct caviar_progress_printer {
  bool quiet, tty, open; /* open: a redrawn line awaits its newline */
} caviar_progress_printer;
void caviar_progress_printer_init(caviar_progress_printer *pp, bool quiet);
void caviar_print_progress(const caviar_progress *p, void *ctx);
/* Ends the redrawn line, if one is open. */
void caviar_progress_printer_end(caviar_progress_printer *pp);

/* Whether this build has the CUDA backend, and a one-line account of the devices it sees. */
bool caviar_has_cuda(void);
void caviar_describe_devices(char *buf, size_t size);

CAVIAR_C_END

#endif
