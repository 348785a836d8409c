/* Loads a sweep's data as its spec describes: the files, the class count, the split, the scaling. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "caviar/counter_rng.h"
#include "caviar/data.h"

/* DIR/NAME.gz or DIR/NAME, whichever exists (gzipped first, as Debian ships them). */
static caviar_status find_idx(const char *dir, const char *name, char *out, size_t size, caviar_error *err) {
  snprintf(out, size, "%s/%s.gz", dir, name);
  if (access(out, R_OK) == 0) return CAVIAR_OK;
  snprintf(out, size, "%s/%s", dir, name);
  if (access(out, R_OK) == 0) return CAVIAR_OK;
  return caviar_fail(err, CAVIAR_EINPUT,
                     "%s: no readable %s or %s.gz (Fashion-MNIST comes from the Debian package "
                     "dataset-fashion-mnist: scripts/setup.sh installs it)",
                     dir, name, name);
}

static caviar_csv_options csv_options(const caviar_data_spec *spec) {
  return (caviar_csv_options){spec->label_column, spec->label_name, spec->task};
}

/* Row sets of a file the test set is carved from: a seeded permutation (stream 1 of the split's
 * purpose, so it never shares numbers with the validation split), each part sorted. */
static int compare_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static caviar_status carve(caviar_dataset *whole, double fraction, uint64_t seed, caviar_dataset *rest,
                           caviar_dataset *test, const char *path, caviar_error *err) {
  size_t n = whole->n, n_test = (size_t)(fraction * (double)n + 0.5);
  if (n_test < 1)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: %zu examples: test %g of them is no example; raise test or add rows", path,
                       n, fraction);
  if (n_test + 2 > n)
    return caviar_fail(err, CAVIAR_EINPUT,
                       "%s: %zu examples: test %g takes %zu for the test set and leaves %zu to train on (at least 2 "
                       "needed); lower test or add rows",
                       path, n, fraction, n_test, n - n_test);
  uint32_t *order = caviar_alloc(n, sizeof *order, "the test split", err);
  if (!order) return CAVIAR_ERUNTIME;
  for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
  caviar_shuffle(order, n, seed, CAVIAR_RNG_SPLIT, 1);
  qsort(order, n_test, sizeof *order, compare_u32);
  qsort(order + n_test, n - n_test, sizeof *order, compare_u32);
  caviar_status st = caviar_dataset_subset(whole, order, n_test, test, err);
  if (st == CAVIAR_OK && rest) st = caviar_dataset_subset(whole, order + n_test, n - n_test, rest, err);
  free(order);
  if (st == CAVIAR_OK && rest) {
    rest->names = whole->names;
    rest->n_names = whole->n_names;
    whole->names = NULL;
    whole->n_names = 0;
  }
  return st;
}

static caviar_status read_sets(const caviar_data_spec *spec, uint64_t seed, caviar_data *out, caviar_error *err) {
  if (spec->format == CAVIAR_DATA_CSV) {
    caviar_csv_options options = csv_options(spec);
    const char *test = spec->test_csv ? spec->test_csv : spec->train_csv;
    snprintf(out->train_name, sizeof out->train_name, "%s", spec->train_csv);
    snprintf(out->test_name, sizeof out->test_name, "%s", test);
    snprintf(out->train_labels, sizeof out->train_labels, "%s", spec->train_csv);
    snprintf(out->test_labels, sizeof out->test_labels, "%s", test);
    caviar_status st = caviar_csv_read_with(spec->train_csv, &options, &out->train, err);
    out->files[0] = out->files[1] = out->files[2] = out->files[3] = out->train.read[0];
    if (st == CAVIAR_OK && !spec->test_csv) {
      /* whole owns the rows read; out->train gets its own part (or nothing, if carving fails). */
      caviar_dataset whole = out->train;
      memset(&out->train, 0, sizeof out->train);
      st = carve(&whole, spec->test_fraction, seed, &out->train, &out->test, spec->train_csv, err);
      caviar_dataset_free(&whole);
      return st;
    }
    if (st == CAVIAR_OK) st = caviar_csv_read_with(spec->test_csv, &options, &out->test, err);
    out->files[2] = out->files[3] = out->test.read[0];
    if (st == CAVIAR_OK) st = caviar_labels_map(&out->test, out->train.names, out->train.n_names, out->test_name, err);
    return st;
  }
  caviar_status st = find_idx(spec->dir, "train-images-idx3-ubyte", out->train_name, sizeof out->train_name, err);
  if (st == CAVIAR_OK)
    st = find_idx(spec->dir, "train-labels-idx1-ubyte", out->train_labels, sizeof out->train_labels, err);
  if (st == CAVIAR_OK) st = caviar_idx_read(out->train_name, out->train_labels, &out->train, err);
  if (st == CAVIAR_OK) st = find_idx(spec->dir, "t10k-images-idx3-ubyte", out->test_name, sizeof out->test_name, err);
  if (st == CAVIAR_OK)
    st = find_idx(spec->dir, "t10k-labels-idx1-ubyte", out->test_labels, sizeof out->test_labels, err);
  if (st == CAVIAR_OK) st = caviar_idx_read(out->test_name, out->test_labels, &out->test, err);
  out->files[0] = out->train.read[0];
  out->files[1] = out->train.read[1];
  out->files[2] = out->test.read[0];
  out->files[3] = out->test.read[1];
  if (st == CAVIAR_OK && spec->task == CAVIAR_TASK_REGRESSION)
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: task regression needs CSV data (format csv): IDX labels are classes",
                     spec->dir);
  return st;
}

caviar_status caviar_data_load_test(const caviar_data_spec *spec, uint64_t seed, caviar_dataset *out, char *name,
                                    size_t size, caviar_error *err) {
  memset(out, 0, sizeof *out);
  if (spec->format == CAVIAR_DATA_IDX) return caviar_test_set_load(spec->dir, out, name, size, err);
  caviar_csv_options options = csv_options(spec);
  snprintf(name, size, "%s", spec->test_csv ? spec->test_csv : spec->train_csv);
  if (spec->test_csv) return caviar_csv_read_with(spec->test_csv, &options, out, err);
  caviar_dataset whole;
  caviar_status st = caviar_csv_read_with(spec->train_csv, &options, &whole, err);
  if (st == CAVIAR_OK) st = carve(&whole, spec->test_fraction, seed, NULL, out, spec->train_csv, err);
  out->read[0] = out->read[1] = whole.read[0];
  if (st == CAVIAR_OK) {
    /* The carved rows keep the whole file's class numbering (names sorted over every row). */
    out->names = whole.names;
    out->n_names = whole.n_names;
    whole.names = NULL;
    whole.n_names = 0;
  }
  caviar_dataset_free(&whole);
  return st;
}

/* data.shape gives each example's C x H x W (a CSV's features in PyTorch's order); otherwise the
 * files' own (IDX images), which the test set must share. */
static caviar_status apply_shape(const caviar_data_spec *spec, caviar_data *out, caviar_error *err) {
  if (spec->shape[0] > 0) {
    size_t values = (size_t)spec->shape[0] * (size_t)spec->shape[1] * (size_t)spec->shape[2];
    if (values != out->train.d)
      return caviar_fail(err, CAVIAR_EINPUT, "%s: [%d, %d, %d] is %zu values per example, but %s has %zu features",
                         spec->shape_at ? spec->shape_at : "data.shape", spec->shape[0], spec->shape[1], spec->shape[2],
                         values, out->train_name, out->train.d);
    memcpy(out->train.image, spec->shape, sizeof out->train.image);
    memcpy(out->test.image, spec->shape, sizeof out->test.image);
    return CAVIAR_OK;
  }
  int train[3], test[3];
  caviar_dataset_image(&out->train, train);
  caviar_dataset_image(&out->test, test);
  if (memcmp(train, test, sizeof train) != 0)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: images of %d x %d x %d, but the training set %s has %d x %d x %d",
                       out->test_name, test[0], test[1], test[2], out->train_name, train[0], train[1], train[2]);
  return CAVIAR_OK;
}

/* data.augment needs images (a mirror and a move of a line of features mean nothing) at least two
 * pixels wide and high, and a shift smaller than them. */
static caviar_status apply_augment(const caviar_data_spec *spec, caviar_data *out, caviar_error *err) {
  if (!caviar_augment_on(spec->augment)) return CAVIAR_OK;
  int image[3];
  caviar_dataset_image(&out->train, image);
  if (image[1] < 2 || image[2] < 2)
    return caviar_fail(err, CAVIAR_EINPUT,
                       "data.augment: needs images (IDX images, or data.shape [C, H, W] for a CSV), but %s has examples "
                       "of %d x %d x %d",
                       out->train_name, image[0], image[1], image[2]);
  int side = image[1] < image[2] ? image[1] : image[2];
  if (spec->augment.shift >= side)
    return caviar_fail(err, CAVIAR_EINPUT, "data.augment.shift: %d pixels moves a %d x %d image of %s out of sight (at most %d)",
                       spec->augment.shift, image[1], image[2], out->train_name, side - 1);
  out->augment = spec->augment;
  return CAVIAR_OK;
}

/* Regression targets: the training part's mean and std, then every target standardised. */
static caviar_status fit_targets(caviar_data *out, caviar_error *err) {
  double sum = 0, sq = 0;
  size_t n = out->split.n_train;
  for (size_t i = 0; i < n; i++) sum += out->train.targets[out->split.train[i]];
  double mean = sum / (double)n;
  for (size_t i = 0; i < n; i++) {
    double d = out->train.targets[out->split.train[i]] - mean;
    sq += d * d;
  }
  double std = sqrt(sq / (double)n);
  if (!(std > 0) || !isfinite(std))
    return caviar_fail(err, CAVIAR_EINPUT, "%s: every target of the training part is %g: nothing to regress",
                       out->train_labels, mean);
  out->target = (caviar_target_scaling){mean, std};
  caviar_targets_standardize(&out->train, out->target);
  caviar_targets_standardize(&out->test, out->target);
  return CAVIAR_OK;
}

static caviar_status check_labels(const caviar_dataset *ds, const char *name, int classes, caviar_error *err) {
  for (size_t i = 0; i < ds->n; i++)
    if (ds->labels[i] >= classes)
      return caviar_fail(err, CAVIAR_EINPUT, "%s: label %d of example %zu is out of range [0, %d)", name,
                         ds->labels[i], i, classes);
  return CAVIAR_OK;
}

caviar_status caviar_data_load(const caviar_data_spec *spec, uint64_t seed, caviar_data *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  out->task = spec->task;
  caviar_status st = read_sets(spec, seed, out, err);
  if (st == CAVIAR_OK && out->test.d != out->train.d)
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: %zu features per example, but the training set %s has %zu",
                     out->test_name, out->test.d, out->train_name, out->train.d);
  if (st == CAVIAR_OK) st = apply_shape(spec, out, err);
  if (st == CAVIAR_OK) st = apply_augment(spec, out, err);
  if (st == CAVIAR_OK && spec->task == CAVIAR_TASK_REGRESSION) {
    out->classes = 1;
    st = caviar_data_check_test_overlap(spec, out, err);
    if (st == CAVIAR_OK) st = caviar_split_make(out->train.n, spec->validation, seed, &out->split, err);
    if (st == CAVIAR_OK) st = fit_targets(out, err);
    if (st == CAVIAR_OK)
      st = caviar_scaling_fit(&out->train, out->split.train, out->split.n_train, spec->scaling, &out->scaling, err);
    if (st != CAVIAR_OK) caviar_data_free(out);
    return st;
  }
  if (st == CAVIAR_OK) {
    bool two_classes = false;
    for (size_t i = 0; i < out->train.n; i++) {
      if (out->train.labels[i] + 1 > out->classes) out->classes = out->train.labels[i] + 1;
      two_classes = two_classes || out->train.labels[i] != out->train.labels[0];
    }
    /* A test set carved from the training file counts its labels too: they are the file's classes. */
    for (size_t i = 0; spec->format == CAVIAR_DATA_CSV && !spec->test_csv && i < out->test.n; i++)
      if (out->test.labels[i] + 1 > out->classes) out->classes = out->test.labels[i] + 1;
    if (out->train.names && out->classes < out->train.n_names) out->classes = out->train.n_names;
    if (spec->classes) out->classes = spec->classes;
    if (out->train.names && spec->classes && spec->classes < out->train.n_names)
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: %d label names, but data.classes is %d", out->train_labels,
                       out->train.n_names, spec->classes);
    if (!two_classes)
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: every label is %d; classification needs 2 or more classes",
                       out->train_labels, out->train.labels[0]);
  }
  if (st == CAVIAR_OK) st = check_labels(&out->train, out->train_labels, out->classes, err);
  if (st == CAVIAR_OK) st = check_labels(&out->test, out->test_labels, out->classes, err);
  if (st == CAVIAR_OK) st = caviar_data_check_test_overlap(spec, out, err);
  if (st == CAVIAR_OK) st = caviar_split_make(out->train.n, spec->validation, seed, &out->split, err);
  if (st == CAVIAR_OK)
    st = caviar_scaling_fit(&out->train, out->split.train, out->split.n_train, spec->scaling, &out->scaling, err);
  if (st != CAVIAR_OK) caviar_data_free(out);
  return st;
}

caviar_status caviar_test_set_load(const char *path, caviar_dataset *out, char *name, size_t size, caviar_error *err) {
  struct stat sb;
  if (stat(path, &sb) != 0) return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot open: %s", path, strerror(errno));
  if (!S_ISDIR(sb.st_mode)) {
    snprintf(name, size, "%s", path);
    return caviar_csv_read(path, out, err);
  }
  char labels[4096];
  caviar_status st = find_idx(path, "t10k-images-idx3-ubyte", name, size, err);
  if (st == CAVIAR_OK) st = find_idx(path, "t10k-labels-idx1-ubyte", labels, sizeof labels, err);
  return st == CAVIAR_OK ? caviar_idx_read(name, labels, out, err) : st;
}

void caviar_data_free(caviar_data *data) {
  caviar_dataset_free(&data->train);
  caviar_dataset_free(&data->test);
  caviar_split_free(&data->split);
  caviar_scaling_free(&data->scaling);
}

static uLong crc_of(uLong crc, const void *p, size_t bytes) {
  const unsigned char *at = p;
  while (at && bytes > 0) {
    uInt piece = bytes > (1u << 30) ? (1u << 30) : (uInt)bytes;
    crc = crc32(crc, at, piece);
    at += piece;
    bytes -= piece;
  }
  return crc;
}

static uLong dataset_crc(uLong crc, const caviar_dataset *ds) {
  crc = crc_of(crc, &ds->n, sizeof ds->n);
  crc = crc_of(crc, &ds->d, sizeof ds->d);
  crc = crc_of(crc, ds->x_u8, ds->x_u8 ? ds->n * ds->d : 0);
  crc = crc_of(crc, ds->x_f32, ds->x_f32 ? ds->n * ds->d * sizeof(float) : 0);
  crc = crc_of(crc, ds->labels, ds->labels ? ds->n * sizeof(int32_t) : 0);
  return crc_of(crc, ds->targets, ds->targets ? ds->n * sizeof(float) : 0);
}

uint32_t caviar_data_fingerprint(const caviar_data *d) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = dataset_crc(crc, &d->train);
  crc = dataset_crc(crc, &d->test);
  crc = crc_of(crc, d->split.train, d->split.n_train * sizeof(uint32_t));
  crc = crc_of(crc, d->split.val, d->split.n_val * sizeof(uint32_t));
  crc = crc_of(crc, &d->classes, sizeof d->classes);
  return (uint32_t)crc;
}
