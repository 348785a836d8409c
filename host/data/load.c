/* Loads a sweep's data as its spec describes: the files, the class count, the split, the scaling. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static caviar_status read_sets(const caviar_data_spec *spec, caviar_data *out, caviar_error *err) {
  if (spec->format == CAVIAR_DATA_CSV) {
    snprintf(out->train_name, sizeof out->train_name, "%s", spec->train_csv);
    snprintf(out->test_name, sizeof out->test_name, "%s", spec->test_csv);
    snprintf(out->train_labels, sizeof out->train_labels, "%s", spec->train_csv);
    snprintf(out->test_labels, sizeof out->test_labels, "%s", spec->test_csv);
    caviar_status st = caviar_csv_read(spec->train_csv, &out->train, err);
    return st != CAVIAR_OK ? st : caviar_csv_read(spec->test_csv, &out->test, err);
  }
  caviar_status st = find_idx(spec->dir, "train-images-idx3-ubyte", out->train_name, sizeof out->train_name, err);
  if (st == CAVIAR_OK)
    st = find_idx(spec->dir, "train-labels-idx1-ubyte", out->train_labels, sizeof out->train_labels, err);
  if (st == CAVIAR_OK) st = caviar_idx_read(out->train_name, out->train_labels, &out->train, err);
  if (st == CAVIAR_OK) st = find_idx(spec->dir, "t10k-images-idx3-ubyte", out->test_name, sizeof out->test_name, err);
  if (st == CAVIAR_OK)
    st = find_idx(spec->dir, "t10k-labels-idx1-ubyte", out->test_labels, sizeof out->test_labels, err);
  if (st == CAVIAR_OK) st = caviar_idx_read(out->test_name, out->test_labels, &out->test, err);
  return st;
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
  caviar_status st = read_sets(spec, out, err);
  if (st == CAVIAR_OK && out->test.d != out->train.d)
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: %zu features per example, but the training set %s has %zu",
                     out->test_name, out->test.d, out->train_name, out->train.d);
  if (st == CAVIAR_OK) {
    bool two_classes = false;
    for (size_t i = 0; i < out->train.n; i++) {
      if (out->train.labels[i] + 1 > out->classes) out->classes = out->train.labels[i] + 1;
      two_classes = two_classes || out->train.labels[i] != out->train.labels[0];
    }
    if (spec->classes) out->classes = spec->classes;
    if (!two_classes)
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: every label is %d; classification needs 2 or more classes",
                       out->train_labels, out->train.labels[0]);
  }
  if (st == CAVIAR_OK) st = check_labels(&out->train, out->train_labels, out->classes, err);
  if (st == CAVIAR_OK) st = check_labels(&out->test, out->test_labels, out->classes, err);
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
