#ifndef CAVIAR_DATA_H
#define CAVIAR_DATA_H
/* Datasets: IDX (gzipped or not) and CSV readers and writers, the validation split carved from the
 * training set, the input scaling a saved model carries, and a synthetic generator for tests.
 * Every reader checks what it reads: a truncated file, a bad magic number, mismatched counts, a
 * label out of range are one-line errors naming the file, never a crash or a short read. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caviar/augment.h"
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

/* What the network predicts: a class (softmax cross-entropy over logits) or one real number
 * (a linear output and mean squared error on standardised targets). */
typedef enum caviar_task { CAVIAR_TASK_CLASSIFICATION, CAVIAR_TASK_REGRESSION } caviar_task;

typedef struct caviar_data_spec {
  caviar_data_format format;
  char *dir;         /* idx: the folder holding train-/t10k- images and labels (.gz or not) */
  char *train_csv;   /* csv */
  char *test_csv;    /* csv: the test file, or NULL when test_fraction carves it from train_csv */
  double test_fraction; /* csv: > 0: this fraction of the training file is the test set (by seed) */
  double validation; /* fraction of the training set held out for selection */
  caviar_scaling_kind scaling;
  int classes;       /* 0: one more than the largest training label */
  caviar_task task;
  int label_column;  /* csv: the label's column counting from 0 (negative: from the end) */
  char *label_name;  /* csv: the label column by header name (NULL: by label_column) */
  int shape[3];      /* data.shape: each example as C x H x W (0: as the files say) */
  char *shape_at;    /* where data.shape was written, as its errors name it ("spec.json: data.shape",
                      * "spec.yaml:7: data.shape", "m.safetensors: __metadata__.data.shape"; NULL:
                      * unknown, "data.shape") */
  bool allow_test_overlap; /* data.test_overlap "allow": a test set sharing examples with the
                            * training file is used anyway (refused otherwise) */
  caviar_augment augment;  /* data.augment: training images mirrored and moved (caviar/augment.h) */
} caviar_data_spec;

/* How a CSV file is read: which column is the label, and whether labels are classes or targets. */
typedef struct caviar_csv_options {
  int label_column;       /* from 0; negative counts from the end (-1: the last column) */
  const char *label_name; /* the label column's header name (the first line must be a header) */
  caviar_task task;
} caviar_csv_options;


/* What identifies a data file as read: its size and a CRC-32 of the bytes read (computed while
 * reading: no second pass). */
typedef struct caviar_file_id {
  unsigned long long bytes;
  uint32_t crc;
} caviar_file_id;

typedef struct caviar_dataset {
  size_t n, d;     /* examples, features per example */
  uint8_t *x_u8;   /* n x d row-major (IDX images), or NULL */
  float *x_f32;    /* n x d row-major (CSV), or NULL */
  int32_t *labels; /* n class indices (regression: all 0) */
  float *targets;  /* regression: n targets (standardised once loaded), else NULL */
  char **names;    /* string labels: class k's name, n_names of them (NULL: numeric labels) */
  int n_names;
  caviar_file_id read[2]; /* the files it was read from: features, labels (a CSV: the same file) */
  int image[3];    /* an example as C x H x W, row-major like PyTorch's NCHW (IDX n x H x W images:
                    * 1 x H x W; n x C x H x W: as given; features: d x 1 x 1) */
} caviar_dataset;

void caviar_dataset_free(caviar_dataset *ds);
/* An example's C x H x W: the dataset's image, or d x 1 x 1 for plain features. */
void caviar_dataset_image(const caviar_dataset *ds, int out[3]);
/* Rows rows[0..n) of src as a new dataset (names are not copied). */
caviar_status caviar_dataset_subset(const caviar_dataset *src, const uint32_t *rows, size_t n, caviar_dataset *out,
                                    caviar_error *err);
/* Renumbers a dataset's string labels to the classes of names[0..n) (a training set's, or a
 * model's): a label not among them is an error naming path. */
caviar_status caviar_labels_map(caviar_dataset *ds, char *const *names, int n, const char *path, caviar_error *err);

/* IDX: unsigned-byte files, images N x (any dims) and labels N. */
caviar_status caviar_idx_read(const char *images_path, const char *labels_path, caviar_dataset *out,
                              caviar_error *err);
/* CSV: label column first, then the features; an optional header line; .gz is read too. */
caviar_status caviar_csv_read(const char *path, caviar_dataset *out, caviar_error *err);
/* CSV with the label in any column (by index or header name), as class indices or names (names
 * become classes in sorted order, kept in out->names) or, for regression, real targets. */
caviar_status caviar_csv_read_with(const char *path, const caviar_csv_options *options, caviar_dataset *out,
                                   caviar_error *err);

/* Writers (atomic: a temp file renamed into place). IDX needs x_u8; gzip picks the compression. */
caviar_status caviar_idx_write(const caviar_dataset *ds, const char *images_path, const char *labels_path,
                               bool gzip, caviar_error *err);
caviar_status caviar_csv_write(const caviar_dataset *ds, const char *path, caviar_error *err);

/* Examples first .. first + n - 1 of a synthetic problem: clusters around per-class centres drawn
 * from seed, so examples 0 .. n-1 and n .. n+m-1 are a training and a test set of one problem.
 * as_bytes gives uint8 features like images, otherwise floats. */
caviar_status caviar_synth(size_t n, size_t d, int classes, double noise, uint64_t seed, size_t first, bool as_bytes,
                           caviar_dataset *out, caviar_error *err);
/* A synthetic image problem: side x side one-channel images (bytes), each class a pattern of a few
 * bright and dark blobs drawn from seed, every example its class's pattern shifted by up to
 * `shift` pixels each way plus noise: convolutions and pooling see it, a dense layer must learn
 * every shift. Same first/n rule as caviar_synth. */
caviar_status caviar_synth_images(size_t n, int side, int shift, int classes, double noise, uint64_t seed, size_t first,
                                  caviar_dataset *out, caviar_error *err);
/* A synthetic regression problem: float features x ~ N(0, 1) and the target
 * y = w.x + sin(2 x_0) + x_1^2 / 2 + noise * N(0, 1), with w drawn from seed (same first/n rule). */
caviar_status caviar_synth_regression(size_t n, size_t d, double noise, uint64_t seed, size_t first,
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
/* The same with each image augmented as a (caviar/augment.h) draws it for (seed, tick, row): tick is
 * the epoch order's index (caviar_epoch_order's epoch). */
void caviar_gather_augmented(const caviar_dataset *ds, const caviar_scaling *s, caviar_augment a, uint64_t seed,
                             uint32_t tick, const uint32_t *rows, size_t n, float *out);

/* Regression targets as trained: y' = (y - mean) / std over the training part. */
typedef struct caviar_target_scaling {
  double mean, std;
} caviar_target_scaling;

/* Everything a sweep reads: training and test sets, the split, the scaling, the class count. */
typedef struct caviar_data {
  caviar_dataset train, test;
  caviar_split split;
  caviar_scaling scaling;
  int classes;                   /* the network's outputs: the class count, or 1 for regression */
  caviar_task task;
  caviar_target_scaling target;  /* regression only */
  char train_name[4096], test_name[4096];     /* feature files, for messages and the summary */
  char train_labels[4096], test_labels[4096]; /* label files (the same file for CSV) */
  caviar_file_id files[4]; /* train_name, train_labels, test_name, test_labels as read */
  caviar_augment augment;  /* the spec's, checked against the images: what training gathers */
} caviar_data;

caviar_status caviar_data_load(const caviar_data_spec *spec, uint64_t seed, caviar_data *out, caviar_error *err);
/* A loaded data set's classes renumbered to names[0..n) (a model's, sorted): every name of the
 * training file must be among them (an unknown one is an error naming the file; a subset is
 * fine), the test set follows, and classes becomes n. Nothing to do when neither has names. */
caviar_status caviar_data_labels_map(caviar_data *data, char *const *names, int n, caviar_error *err);
/* The test part of a spec's data alone, for evaluating a saved model: the test file, or the part
 * of the training file test_fraction carves out with seed. Labels are not checked or mapped. */
caviar_status caviar_data_load_test(const caviar_data_spec *spec, uint64_t seed, caviar_dataset *out, char *name,
                                    size_t size, caviar_error *err);
/* A CRC-32 of what training sees: both datasets' features, labels and targets, and the split (the
 * ranks of a sweep check they all load the same data). */
uint32_t caviar_data_fingerprint(const caviar_data *d);
/* What identifies the data as loaded, as JSON text (malloc'd; NULL when out of memory): every file
 * read (path, bytes, CRC-32) and the examples, features and classes. A resumed sweep or checkpoint
 * compares it with the data it loads (caviar_data_changed). */
char *caviar_data_identity(const caviar_data *d);
/* Whether the data loaded now differs from what identity (caviar_data_identity's text) describes;
 * if so, why names the first file that changed and how ("FILE: 4000 examples then, 100 now ...").
 * Text that is not an identity (a damaged file) counts as changed. */
bool caviar_data_changed(const char *identity, const caviar_data *now, char *why, size_t size);
/* The same for one file: whether identity lists path (made absolute) with another size or CRC-32
 * than now (false when it does not list path: nothing to compare). */
bool caviar_data_file_changed(const char *identity, const char *path, caviar_file_id now, char *why, size_t size);
/* Standardises regression targets in place with the training part's mean and std. */
void caviar_targets_standardize(caviar_dataset *ds, caviar_target_scaling t);
/* A warning (into buf, empty if none) when a classification data set's labels look like a
 * regression target: many classes with few examples each. */
void caviar_labels_look_real(const caviar_data *data, char *buf, size_t size);
/* Copies of a data spec's strings (out owns them), and freeing them. */
caviar_status caviar_data_spec_copy(const caviar_data_spec *in, caviar_data_spec *out, caviar_error *err);
void caviar_data_spec_free(caviar_data_spec *d);
/* Only a test set, for evaluating a saved model: an IDX folder (its t10k- files) or a CSV file.
 * Its feature file's name goes into name (size bytes). */
caviar_status caviar_test_set_load(const char *path, caviar_dataset *out, char *name, size_t size, caviar_error *err);
void caviar_data_free(caviar_data *data);

/* How many of other's rows rows[0..n) (NULL: 0..n-1) equal an example among seen's rows
 * seen_rows[0..n_seen) (NULL: 0..n_seen-1): features and label (or target) alike, compared by a
 * 64-bit hash. */
caviar_status caviar_overlap_count(const caviar_dataset *seen, const uint32_t *seen_rows, size_t n_seen,
                                   const caviar_dataset *other, const uint32_t *rows, size_t n, size_t *out,
                                   caviar_error *err);
/* The test split is sacred: a test set sharing examples with the training file (its training and
 * validation parts) is an error naming data.test and how many, unless spec->allow_test_overlap.
 * caviar_data_load checks it. */
caviar_status caviar_data_check_test_overlap(const caviar_data_spec *spec, const caviar_data *data, caviar_error *err);

CAVIAR_C_END

#endif
