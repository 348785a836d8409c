#ifndef CAVIAR_DATA_H
#define CAVIAR_DATA_H
/* Datasets: IDX (gzipped or not) and CSV readers and writers, the validation split carved from the
 * training set, the input scaling a saved model carries, and a synthetic generator for tests.
 * Every reader checks what it reads: a truncated file, a bad magic number, mismatched counts, a
 * label out of range are one-line errors naming the file, never a crash or a short read. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

/* Classes a data set may have (labels 0 .. CAVIAR_MAX_CLASSES - 1). */
#define CAVIAR_MAX_CLASSES 65536

/* Where Debian's dataset-fashion-mnist puts the data a spec without a data section uses. */
#define CAVIAR_DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

/* The data section of a spec: where the examples are and how they are split and scaled. */
typedef enum caviar_data_format { CAVIAR_DATA_IDX, CAVIAR_DATA_CSV } caviar_data_format;

typedef enum caviar_scaling_kind {
  CAVIAR_SCALING_UNIT,        /* (x - min) / (max - min) over the whole training portion */
  CAVIAR_SCALING_STANDARDIZE, /* per feature: (x - mean) / std over the training portion */
  CAVIAR_SCALING_NONE
} caviar_scaling_kind;

typedef struct caviar_data_spec {
  caviar_data_format format;
  char *dir;         /* idx: the folder holding train-/t10k- images and labels (.gz or not) */
  char *train_csv;   /* csv: label column first */
  char *test_csv;
  double validation; /* fraction of the training set held out for selection */
  caviar_scaling_kind scaling;
  int classes;       /* 0: one more than the largest training label */
} caviar_data_spec;


typedef struct caviar_dataset {
  size_t n, d;     /* examples, features per example */
  uint8_t *x_u8;   /* n x d row-major (IDX images), or NULL */
  float *x_f32;    /* n x d row-major (CSV), or NULL */
  int32_t *labels; /* n class indices */
} caviar_dataset;

void caviar_dataset_free(caviar_dataset *ds);

/* IDX: unsigned-byte files, images N x (any dims) and labels N. */
caviar_status caviar_idx_read(const char *images_path, const char *labels_path, caviar_dataset *out,
                              caviar_error *err);
/* CSV: label column first, then the features; an optional header line; .gz is read too. */
caviar_status caviar_csv_read(const char *path, caviar_dataset *out, caviar_error *err);

/* Writers (atomic: a temp file renamed into place). IDX needs x_u8; gzip picks the compression. */
caviar_status caviar_idx_write(const caviar_dataset *ds, const char *images_path, const char *labels_path,
                               bool gzip, caviar_error *err);
caviar_status caviar_csv_write(const caviar_dataset *ds, const char *path, caviar_error *err);

/* Examples first .. first + n - 1 of a synthetic problem: clusters around per-class centres drawn
 * from seed, so examples 0 .. n-1 and n .. n+m-1 are a training and a test set of one problem.
 * as_bytes gives uint8 features like images, otherwise floats. */
caviar_status caviar_synth(size_t n, size_t d, int classes, double noise, uint64_t seed, size_t first, bool as_bytes,
                           caviar_dataset *out, caviar_error *err);

/* Which rows of the training set train and which validate: a seeded permutation, each part sorted. */
typedef struct caviar_split {
  uint32_t *train, *val;
  size_t n_train, n_val;
} caviar_split;

caviar_status caviar_split_make(size_t n, double val_fraction, uint64_t seed, caviar_split *out, caviar_error *err);
void caviar_split_free(caviar_split *split);

/* A seeded in-place Fisher-Yates shuffle keyed by (seed, purpose, round), for split and epochs. */
void caviar_shuffle(uint32_t *idx, size_t n, uint64_t seed, uint32_t purpose, uint32_t round);
/* The minibatch order of an epoch: the training rows shuffled by (seed, epoch); every member of a
 * sweep, a panda run and a calibration see the same order at the same epoch. */
void caviar_epoch_order(const caviar_split *split, uint64_t seed, int epoch, uint32_t *order);

/* x' = (x - shift[j]) * scale[j], fitted on the training rows only and saved with every model. */
typedef struct caviar_scaling {
  caviar_scaling_kind kind;
  size_t d;
  float *shift, *scale;
} caviar_scaling;

caviar_status caviar_scaling_fit(const caviar_dataset *ds, const uint32_t *rows, size_t n_rows,
                                 caviar_scaling_kind kind, caviar_scaling *out, caviar_error *err);
void caviar_scaling_free(caviar_scaling *s);
const char *caviar_scaling_name(caviar_scaling_kind kind);

/* Scaled features of rows[0..n) into out, n x d row-major. */
void caviar_gather(const caviar_dataset *ds, const caviar_scaling *s, const uint32_t *rows, size_t n, float *out);

/* Everything a sweep reads: training and test sets, the split, the scaling, the class count. */
typedef struct caviar_data {
  caviar_dataset train, test;
  caviar_split split;
  caviar_scaling scaling;
  int classes;
  char train_name[4096], test_name[4096];     /* feature files, for messages and the summary */
  char train_labels[4096], test_labels[4096]; /* label files (the same file for CSV) */
} caviar_data;

caviar_status caviar_data_load(const caviar_data_spec *spec, uint64_t seed, caviar_data *out, caviar_error *err);
/* Only a test set, for evaluating a saved model: an IDX folder (its t10k- files) or a CSV file.
 * Its feature file's name goes into name (size bytes). */
caviar_status caviar_test_set_load(const char *path, caviar_dataset *out, char *name, size_t size, caviar_error *err);
void caviar_data_free(caviar_data *data);

CAVIAR_C_END

#endif
