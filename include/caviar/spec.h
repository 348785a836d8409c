#ifndef CAVIAR_SPEC_H
#define CAVIAR_SPEC_H
/* The sweep spec: a JSON or YAML document modelled on the Weights & Biases sweep config (method,
 * metric, parameters, early_terminate, and the rest of W&B's keys) plus caviar's keys (trials,
 * seed, data, model, coarse_to_fine). docs/SPEC.md is the reference for every key.
 *
 * A spec is for caviar's own models, or for outside code (`outside`): a W&B config that names a
 * program, a command or a Launch job, or whose parameters or metric caviar's models do not have.
 * Outside code's parameters may have any names and values and may nest; they are sampled exactly
 * as W&B samples them (caviar_sampler_values, caviar_values_json), but caviar does not train them
 * (caviar_spec_require_own says why, in one line). */

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "caviar/data.h"
#include "caviar/hparams.h"
#include "caviar/space.h"
#include "caviar/status.h"
#include "caviar/tpe.h"

CAVIAR_C_BEGIN

typedef enum caviar_method {
  CAVIAR_METHOD_GRID,
  CAVIAR_METHOD_RANDOM,
  CAVIAR_METHOD_COARSE_TO_FINE,
  CAVIAR_METHOD_SOBOL, /* scrambled Sobol points (Halton beyond Sobol's dimensions) */
  CAVIAR_METHOD_TPE    /* tree-structured Parzen estimator (Bergstra et al. 2011); and, with
                        * tpe.gp set, W&B's bayes (its Gaussian process, host/spec/gp.c) */
} caviar_method;

/* W&B's command macros a command uses (the agent expands them: ${env} ${interpreter} ...). */
enum {
  CAVIAR_MACRO_ENV = 1 << 0,
  CAVIAR_MACRO_INTERPRETER = 1 << 1,
  CAVIAR_MACRO_PROGRAM = 1 << 2,
  CAVIAR_MACRO_ARGS = 1 << 3,
  CAVIAR_MACRO_ARGS_NO_HYPHENS = 1 << 4,
  CAVIAR_MACRO_ARGS_NO_BOOLEAN_FLAGS = 1 << 5,
  CAVIAR_MACRO_ARGS_JSON = 1 << 6,
  CAVIAR_MACRO_ARGS_JSON_FILE = 1 << 7
};

/* val_rmse and val_mse (regression, in the target's units) rank exactly as val_loss does (the mean
 * squared error of standardised targets): they are monotone functions of it. */
typedef enum caviar_metric_name {
  CAVIAR_METRIC_VAL_ACC,
  CAVIAR_METRIC_VAL_LOSS,
  CAVIAR_METRIC_VAL_RMSE,
  CAVIAR_METRIC_VAL_MSE
} caviar_metric_name;

/* Which weights a survivor keeps: its last epoch's, or its best validation epoch's (model.keep). */
typedef enum caviar_keep { CAVIAR_KEEP_LAST, CAVIAR_KEEP_BEST } caviar_keep;

typedef struct caviar_metric {
  caviar_metric_name name; /* caviar's own models */
  bool maximize;
  bool has_target; /* W&B's metric.target: the sweep stops once a trial reaches it */
  double target;
} caviar_metric;

typedef enum caviar_stop_type {
  CAVIAR_STOP_NONE,
  CAVIAR_STOP_SUCCESSIVE_HALVING,
  CAVIAR_STOP_HYPERBAND, /* all brackets of Li et al., side by side in one population */
  CAVIAR_STOP_PBT        /* population-based training: no culling, exploit and explore */
} caviar_stop_type;

typedef struct caviar_early_terminate {
  caviar_stop_type type;
  int min_epochs; /* first rung */
  int max_epochs; /* training budget of a trial that is never culled */
  int eta;        /* keep the top 1/eta at each rung */
  int s;          /* hyperband: the largest bracket index (0: from min and max) */
  bool strict;    /* hyperband: W&B's strict flag, accepted (its brackets are always strict here) */
  int interval;   /* pbt: epochs between exploit/explore steps */
  double quantile;             /* pbt: the bottom (and top) fraction */
  double perturb;              /* pbt: values are multiplied by 1 - perturb or 1 + perturb */
  double resample_probability; /* pbt: chance a hyperparameter is drawn afresh instead */
} caviar_early_terminate;

typedef struct caviar_coarse_to_fine {
  int rounds;
  double zoom; /* each round's box is this fraction of the last one's width, on each parameter's scale */
  int top_k;   /* the box is centred on the best top_k trials of the last round */
} caviar_coarse_to_fine;

typedef struct caviar_spec {
  char *source; /* file name used in messages ("default spec" for the built-in one) */
  char *name;
  caviar_method method;
  caviar_metric metric;
  long long trials; /* random: how many; grid: a cap; coarse-to-fine: per round */
  bool trials_given;
  long long population; /* most trials training at once; 0: all of a round's */
  uint64_t seed;
  int epochs;
  caviar_space space;
  caviar_hparams fixed; /* defaults, overridden by the model section */
  caviar_early_terminate early_terminate;
  caviar_data_spec data;
  caviar_coarse_to_fine coarse_to_fine;
  int rounds;         /* 1, or coarse_to_fine.rounds: coarse-to-fine, or tpe given a coarse_to_fine section */
  caviar_tpe_options tpe;
  caviar_keep keep;   /* model.keep */
  char *tensorboard; /* where to write TensorBoard event files (relative: to the spec's folder), or NULL */
  char *text; /* the spec as given, kept for the run summary */
  bool yaml;  /* read as YAML */
  char *method_text; /* the method as written when caviar runs it as another: "bayes" (the tpe
                      * method with tpe.gp), "custom" (as random) */
  char *warnings;    /* one line each ("FILE:LINE: PATH: ..."), for the CLI to print; NULL when none */

  /* W&B's keys as written (NULL or 0 when absent). */
  char *description, *project, *entity;
  char *program;      /* the training script W&B runs */
  char **command;     /* the command, each element as written (macros unexpanded) */
  int n_command;
  unsigned command_macros; /* CAVIAR_MACRO_ bits of the macros it uses */
  char *job, *image_uri;   /* W&B Launch: the job or image to run */
  char *metric_text;  /* the metric's name as written (outside code: any name); NULL: none given */
  bool outside;       /* a config for outside code (see above) */
  char *outside_reason; /* why, one line: "program: train.py", or the own-model reading's error */
} caviar_spec;

#define CAVIAR_MAX_TRIALS 1000000000LL
#define CAVIAR_MAX_SEED 9007199254740992.0 /* 2^53: every seed a JSON number holds exactly */
#define CAVIAR_DEFAULT_EPOCHS 10
#define CAVIAR_DEFAULT_TRIALS 16

/* Parses and validates a spec. source names it in messages; base_dir resolves relative data paths
 * (NULL: the current directory). On failure nothing needs freeing. */
caviar_status caviar_spec_parse(const char *text, size_t len, const char *source, const char *base_dir,
                                caviar_spec *out, caviar_error *err);
/* Whether source names a YAML file (.yaml, .yml); JSON (.json) otherwise, or, for any other name,
 * YAML unless the text starts with '{' as JSON does. */
bool caviar_spec_is_yaml(const char *source, const char *text, size_t len);
/* The spec's document as a JSON tree (a YAML spec read as it was parsed); NULL if it cannot be read
 * (it was parsed once, so only when memory runs out). cJSON_Delete it. */
cJSON *caviar_spec_tree(const caviar_spec *spec);
/* CAVIAR_OK for a spec of caviar's own models; for outside code, CAVIAR_EINPUT with one line
 * saying why `command` cannot train it. */
caviar_status caviar_spec_require_own(const caviar_spec *spec, const char *command, caviar_error *err);
/* Reads and parses a spec file; relative data paths are resolved against the file's folder. */
caviar_status caviar_spec_load(const char *path, caviar_spec *out, caviar_error *err);
/* The spec built into the binary (specs/default.json): Fashion-MNIST. */
caviar_status caviar_spec_load_default(caviar_spec *out, caviar_error *err);
const char *caviar_spec_default_text(void);
void caviar_spec_free(caviar_spec *spec);

const char *caviar_method_name(caviar_method method);
/* The spec's method as written: "bayes" or "custom" where caviar runs them as tpe or random. */
const char *caviar_spec_method(const caviar_spec *spec);
/* Replaces the spec's method (grid, random, sobol, tpe or bayes: `caviar sweep --method`), with
 * the model options that go with tpe or bayes; false for another name. */
bool caviar_spec_use_method(caviar_spec *spec, const char *name);
const char *caviar_metric_text(caviar_metric_name name);
/* The spec's metric by name: outside code's as written ("loss", "accuracy"), else caviar's. Outside
 * code's is ranked in the slot of caviar's metric of its direction (metric.name: val_acc for a
 * goal of maximize, val_loss for minimize). */
const char *caviar_spec_metric(const caviar_spec *spec);

/* A data section as JSON text ({"format": "csv", "train": "/abs/path", ...}, paths made absolute),
 * what sample lines, model files and checkpoints carry; malloc'd, NULL when out of memory. */
char *caviar_data_spec_json(const caviar_data_spec *d);
/* The reverse: a data section's JSON text (as caviar_data_spec_json writes it, or as a spec's data
 * section), errors naming source and the JSON path under `path` ("__metadata__.data"). */
caviar_status caviar_data_spec_parse(const char *text, const char *source, const char *path, caviar_data_spec *out,
                                     caviar_error *err);
/* base with --data's argument over it: an IDX folder, a data section's JSON ({"scaling": "none"}),
 * or a CSV file with data-section keys after commas ("train.csv,test=0.2,label_column=species").
 * The keys the argument names replace base's and the others stay; naming the other format drops
 * base's keys that describe its files (dir; train, test, label_column, shape, classes). A CSV
 * section left without a test set takes the named file as its test set when test_set (eval reads
 * it), and is an error otherwise. */
caviar_status caviar_data_spec_override(const caviar_data_spec *base, const char *arg, bool test_set,
                                        caviar_data_spec *out, caviar_error *err);

CAVIAR_C_END

#endif
