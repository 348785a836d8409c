#include "synth_support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

#include "scratch.h"

/* classes == 1: a regression (caviar_synth_regression's float features and standardised targets). */
static void synth_regression(caviar_data *data, size_t n, size_t d, double noise) {
  caviar_error err;
  cr_assert_eq(caviar_synth_regression(n, d, noise, 1, 0, &data->train, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_synth_regression(n / 4, d, noise, 1, n, &data->test, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_split_make(n, 0.2, 1, &data->split, &err), CAVIAR_OK);
  double sum = 0, sq = 0;
  for (size_t i = 0; i < data->split.n_train; i++) sum += data->train.targets[data->split.train[i]];
  double mean = sum / (double)data->split.n_train;
  for (size_t i = 0; i < data->split.n_train; i++) {
    double e = data->train.targets[data->split.train[i]] - mean;
    sq += e * e;
  }
  data->target = (caviar_target_scaling){mean, sqrt(sq / (double)data->split.n_train)};
  caviar_targets_standardize(&data->train, data->target);
  caviar_targets_standardize(&data->test, data->target);
  cr_assert_eq(caviar_scaling_fit(&data->train, data->split.train, data->split.n_train, CAVIAR_SCALING_STANDARDIZE,
                                  &data->scaling, &err),
               CAVIAR_OK);
  data->classes = 1;
  data->task = CAVIAR_TASK_REGRESSION;
}

void synth_data(caviar_data *data, size_t n, size_t d, int classes, double noise) {
  caviar_error err;
  memset(data, 0, sizeof *data);
  if (classes == 1) {
    synth_regression(data, n, d, noise * 0.3);
    return;
  }
  cr_assert_eq(caviar_synth(n, d, classes, noise, 1, 0, true, &data->train, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_synth(n / 4, d, classes, noise, 1, n, true, &data->test, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_split_make(n, 0.2, 1, &data->split, &err), CAVIAR_OK);
  cr_assert_eq(caviar_scaling_fit(&data->train, data->split.train, data->split.n_train, CAVIAR_SCALING_UNIT,
                                  &data->scaling, &err),
               CAVIAR_OK);
  data->classes = classes;
}

caviar_backend *synth_cpu_backend(caviar_data *data, size_t n, size_t d, int classes) {
  synth_data(data, n, d, classes, 1.0);
  caviar_backend *be;
  caviar_error err;
  cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
  cr_assert_eq(be->upload(be, data, &err), CAVIAR_OK);
  return be;
}

const char *synth_idx_dir(const char *name, size_t n_train, size_t n_test, size_t d, int classes, double noise,
                          bool gz) {
  static char dir[1024];
  char images[1200], labels[1200];
  snprintf(dir, sizeof dir, "%s/%s", scratch_dir(), name);
  mkdir(dir, 0755);
  caviar_dataset train, test;
  caviar_error err;
  cr_assert_eq(caviar_synth(n_train, d, classes, noise, 1, 0, true, &train, &err), CAVIAR_OK);
  cr_assert_eq(caviar_synth(n_test, d, classes, noise, 1, n_train, true, &test, &err), CAVIAR_OK);
  const char *ext = gz ? ".gz" : "";
  snprintf(images, sizeof images, "%s/train-images-idx3-ubyte%s", dir, ext);
  snprintf(labels, sizeof labels, "%s/train-labels-idx1-ubyte%s", dir, ext);
  cr_assert_eq(caviar_idx_write(&train, images, labels, gz, &err), CAVIAR_OK, "%s", err.msg);
  snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte%s", dir, ext);
  snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte%s", dir, ext);
  cr_assert_eq(caviar_idx_write(&test, images, labels, gz, &err), CAVIAR_OK, "%s", err.msg);
  caviar_dataset_free(&train);
  caviar_dataset_free(&test);
  return dir;
}

const char *synth_images_dir(const char *name, size_t n_train, size_t n_test, int side, int classes) {
  static char dir[1024];
  char images[1200], labels[1200];
  snprintf(dir, sizeof dir, "%s/%s", scratch_dir(), name);
  mkdir(dir, 0755);
  caviar_dataset sets[2];
  caviar_error err;
  cr_assert_eq(caviar_synth_images(n_train, side, 1, classes, 0.5, 1, 0, &sets[0], &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_synth_images(n_test, side, 1, classes, 0.5, 1, n_train, &sets[1], &err), CAVIAR_OK, "%s", err.msg);
  const char *prefix[2] = {"train", "t10k"};
  for (int s = 0; s < 2; s++) {
    snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte.gz", dir, prefix[s]);
    snprintf(labels, sizeof labels, "%s/%s-labels-idx1-ubyte.gz", dir, prefix[s]);
    cr_assert_eq(caviar_idx_write(&sets[s], images, labels, true, &err), CAVIAR_OK, "%s", err.msg);
    caviar_dataset_free(&sets[s]);
  }
  return dir;
}

void synth_image_data(caviar_data *data, size_t n, int side, int classes) {
  memset(data, 0, sizeof *data);
  caviar_error err;
  cr_assert_eq(caviar_synth_images(n, side, 1, classes, 0.5, 1, 0, &data->train, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_synth_images(n / 4, side, 1, classes, 0.5, 1, n, &data->test, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_split_make(data->train.n, 0.2, 1, &data->split, &err), CAVIAR_OK);
  cr_assert_eq(caviar_scaling_fit(&data->train, data->split.train, data->split.n_train, CAVIAR_SCALING_UNIT,
                                  &data->scaling, &err), CAVIAR_OK);
  data->classes = classes;
}
