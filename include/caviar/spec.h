#ifndef CAVIAR_SPEC_H
#define CAVIAR_SPEC_H
/* The sweep spec: a JSON document modelled on the Weights & Biases sweep config (method, metric,
 * parameters, early_terminate) plus caviar's keys (trials, seed, data, model, coarse_to_fine).
 * docs/SPEC.md is the reference for every key. */

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
  CAVIAR_METHOD_TPE    /* tree-structured Parzen estimator (Bergstra et al. 2011) */
} caviar_method;

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
  caviar_metric_name name;
  bool maximize;
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
  char *text; /* the spec as given, kept for the run summary */
} caviar_spec;

#define CAVIAR_MAX_TRIALS 1000000000LL
#define CAVIAR_MAX_SEED 9007199254740992.0 /* 2^53: every seed a JSON number holds exactly */
#define CAVIAR_DEFAULT_EPOCHS 10
#define CAVIAR_DEFAULT_TRIALS 16

/* Parses and validates a spec. source names it in messages; base_dir resolves relative data paths
 * (NULL: the current directory). On failure nothing needs freeing. */
caviar_status caviar_spec_parse(const char *text, size_t len, const char *source, const char *base_dir,
                                caviar_spec *out, caviar_error *err);
/* Reads and parses a spec file; relative data paths are resolved against the file's folder. */
caviar_status caviar_spec_load(const char *path, caviar_spec *out, caviar_error *err);
/* The spec built into the binary (specs/default.json): Fashion-MNIST. */
caviar_status caviar_spec_load_default(caviar_spec *out, caviar_error *err);
const char *caviar_spec_default_text(void);
void caviar_spec_free(caviar_spec *spec);

const char *caviar_method_name(caviar_method method);
const char *caviar_metric_text(caviar_metric_name name);

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
