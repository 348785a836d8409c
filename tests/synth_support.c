#include "synth_support.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <sys/stat.h>

#include "scratch.h"

void synth_data(caviar_data *data, size_t n, size_t d, int classes, double noise) {
  caviar_error err;
  memset(data, 0, sizeof *data);
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
