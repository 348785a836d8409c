/* Loading a sweep's data: files found, classes inferred and checked, the split, the scaling. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caviar/counter_rng.h"
#include "caviar/data.h"
#include "scratch.h"
#include "synth_support.h"

static const char *write_idx_dir(const char *sub, size_t n_train, size_t n_test, int classes, bool gz) {
  return synth_idx_dir(sub, n_train, n_test, 16, classes, 0.5, gz);
}

static caviar_data_spec idx_spec(const char *dir) {
  caviar_data_spec spec = {.format = CAVIAR_DATA_IDX, .dir = (char *)dir, .validation = 0.2,
                           .scaling = CAVIAR_SCALING_UNIT};
  return spec;
}

Test(data_load, idx_folder_split_and_classes) {
  for (int gz = 0; gz < 2; gz++) {
    caviar_data_spec spec = idx_spec(write_idx_dir(gz ? "gz" : "plain", 500, 100, 4, gz));
    caviar_data data;
    caviar_error err;
    cr_assert_eq(caviar_data_load(&spec, 5, &data, &err), CAVIAR_OK, "%s", err.msg);
    cr_expect_eq(data.classes, 4);
    cr_expect_eq(data.train.n, 500);
    cr_expect_eq(data.test.n, 100);
    cr_expect_eq(data.split.n_val, 100);
    cr_expect_eq(data.split.n_train, 400);
    /* The two parts are disjoint, sorted, and cover the training set. */
    char *seen = calloc(500, 1);
    for (size_t i = 0; i < data.split.n_train; i++) seen[data.split.train[i]]++;
    for (size_t i = 0; i < data.split.n_val; i++) seen[data.split.val[i]]++;
    for (int i = 0; i < 500; i++) cr_assert_eq(seen[i], 1, "row %d", i);
    for (size_t i = 1; i < data.split.n_val; i++) cr_assert_gt(data.split.val[i], data.split.val[i - 1]);
    free(seen);
    caviar_data_free(&data);
  }
}

Test(data_load, split_depends_on_the_seed_only) {
  caviar_split a, b, c;
  caviar_error err;
  cr_assert_eq(caviar_split_make(1000, 0.1, 7, &a, &err), CAVIAR_OK);
  cr_assert_eq(caviar_split_make(1000, 0.1, 7, &b, &err), CAVIAR_OK);
  cr_assert_eq(caviar_split_make(1000, 0.1, 8, &c, &err), CAVIAR_OK);
  cr_expect_eq(memcmp(a.val, b.val, a.n_val * sizeof *a.val), 0);
  cr_expect_neq(memcmp(a.val, c.val, a.n_val * sizeof *a.val), 0);
  caviar_split_free(&a);
  caviar_split_free(&b);
  caviar_split_free(&c);
  cr_expect_eq(caviar_split_make(1, 0.1, 7, &a, &err), CAVIAR_EINPUT);
}

Test(data_load, shuffle_is_a_permutation_and_uniform) {
  /* Position of element 0 after shuffling 5 elements, over many rounds: uniform over 5 slots. */
  long where[5] = {0};
  for (uint32_t round = 0; round < 20000; round++) {
    uint32_t idx[5] = {0, 1, 2, 3, 4};
    caviar_shuffle(idx, 5, 3, CAVIAR_RNG_SHUFFLE, round);
    int sum = 0;
    for (int i = 0; i < 5; i++) {
      sum += (int)idx[i];
      if (idx[i] == 0) where[i]++;
    }
    cr_assert_eq(sum, 10);
  }
  for (int i = 0; i < 5; i++) cr_expect(labs(where[i] - 4000) < 300, "slot %d: %ld", i, where[i]);
}

Test(data_load, a_shuffle_swaps_as_fisher_yates_keyed_by_position_does) {
  /* The reference: from the top, i - 1 swapped with floor(u * i), u drawn for position i; lengths
   * around the stretches caviar_shuffle draws at once. */
  static const size_t lengths[] = {0, 1, 2, 3, 255, 256, 257, 258, 511, 512, 513, 1000, 4099};
  static uint32_t got[4099], want[4099];
  for (size_t l = 0; l < sizeof lengths / sizeof *lengths; l++) {
    size_t n = lengths[l];
    for (uint32_t round = 0; round < 3; round++) {
      for (size_t i = 0; i < n; i++) got[i] = want[i] = (uint32_t)(i * 7 + 1);
      caviar_shuffle(got, n, 11, CAVIAR_RNG_SHUFFLE, round);
      for (size_t i = n; i > 1; i--) {
        caviar_rng_block r = caviar_rng(11, round, CAVIAR_RNG_SHUFFLE, i);
        size_t j = (size_t)(caviar_u01_open(r.v[0], r.v[1]) * (double)i);
        if (j >= i) j = i - 1;
        uint32_t t = want[i - 1];
        want[i - 1] = want[j];
        want[j] = t;
      }
      cr_expect_eq(memcmp(got, want, n * sizeof *got), 0, "%zu elements, round %u: not the reference's order", n, round);
    }
  }
}

Test(data_load, unit_scaling_is_fitted_on_training_rows_only) {
  caviar_dataset ds = {.n = 3, .d = 2};
  uint8_t x[] = {10, 20, 30, 50, 255, 255};
  int32_t y[] = {0, 1, 0};
  ds.x_u8 = x;
  ds.labels = y;
  uint32_t train_rows[] = {0, 1};
  caviar_scaling s;
  caviar_error err;
  cr_assert_eq(caviar_scaling_fit(&ds, train_rows, 2, CAVIAR_SCALING_UNIT, &s, &err), CAVIAR_OK);
  float out[4];
  caviar_gather(&ds, &s, train_rows, 2, out);
  cr_expect_float_eq(out[0], 0.0f, 1e-7);
  cr_expect_float_eq(out[3], 1.0f, 1e-7);
  cr_expect_float_eq(s.scale[0], 1.0f / 40, 1e-9, "row 2 (255s) must not be seen");
  caviar_scaling_free(&s);
}

Test(data_load, standardize_matches_a_double_reference) {
  caviar_dataset ds;
  caviar_error err;
  cr_assert_eq(caviar_synth(400, 5, 3, 2.0, 4, 0, false, &ds, &err), CAVIAR_OK);
  for (size_t i = 0; i < ds.n; i++) ds.x_f32[i * 5 + 2] = 1e4f + ds.x_f32[i * 5 + 2]; /* a large offset */
  uint32_t *rows = malloc(ds.n * sizeof *rows);
  for (size_t i = 0; i < ds.n; i++) rows[i] = (uint32_t)i;
  caviar_scaling s;
  cr_assert_eq(caviar_scaling_fit(&ds, rows, ds.n, CAVIAR_SCALING_STANDARDIZE, &s, &err), CAVIAR_OK);
  float *out = malloc(ds.n * 5 * sizeof *out);
  caviar_gather(&ds, &s, rows, ds.n, out);
  for (int j = 0; j < 5; j++) {
    double mean = 0, var = 0;
    for (size_t i = 0; i < ds.n; i++) mean += out[i * 5 + j];
    mean /= ds.n;
    for (size_t i = 0; i < ds.n; i++) var += (out[i * 5 + j] - mean) * (out[i * 5 + j] - mean);
    var /= ds.n;
    cr_expect_float_eq(mean, 0.0, 2e-3, "feature %d mean %g", j, mean);
    cr_expect_float_eq(var, 1.0, 2e-3, "feature %d variance %g", j, var);
  }
  free(rows);
  free(out);
  caviar_scaling_free(&s);
  caviar_dataset_free(&ds);
}

Test(data_load, test_label_outside_the_training_classes) {
  const char *dir = write_idx_dir("classes", 200, 50, 3, false);
  caviar_data_spec spec = idx_spec(dir);
  /* Rewrite the test labels with a class the training set never has. */
  char labels[1200];
  snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte", dir);
  unsigned char bytes[8 + 50] = {0, 0, 8, 1, 0, 0, 0, 50};
  bytes[8 + 7] = 9;
  FILE *f = fopen(labels, "wb");
  fwrite(bytes, 1, sizeof bytes, f);
  fclose(f);
  caviar_data data;
  caviar_error err;
  cr_assert_eq(caviar_data_load(&spec, 1, &data, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "t10k-labels-idx1-ubyte: label 9 of example 7 is out of range [0, 3)") != NULL, "%s", err.msg);
}

Test(data_load, explicit_classes_reject_larger_labels) {
  caviar_data_spec spec = idx_spec(write_idx_dir("explicit", 200, 50, 5, false));
  spec.classes = 3;
  caviar_data data;
  caviar_error err;
  cr_assert_eq(caviar_data_load(&spec, 1, &data, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "is out of range [0, 3)") != NULL, "%s", err.msg);
}

Test(data_load, missing_files_say_where_to_get_them) {
  caviar_data_spec spec = idx_spec("/nonexistent/fashion");
  caviar_data data;
  caviar_error err;
  cr_assert_eq(caviar_data_load(&spec, 1, &data, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "/nonexistent/fashion: no readable train-images-idx3-ubyte") != NULL, "%s", err.msg);
  cr_expect(strstr(err.msg, "dataset-fashion-mnist") != NULL, "%s", err.msg);
}

Test(data_load, csv_feature_count_mismatch) {
  scratch_write_text("train.csv", "0,1,2\n1,3,4\n0,5,6\n");
  scratch_write_text("test.csv", "0,1\n");
  char train[1024], test[1024];
  strcpy(train, scratch_path("train.csv"));
  strcpy(test, scratch_path("test.csv"));
  caviar_data_spec spec = {.format = CAVIAR_DATA_CSV, .train_csv = train, .test_csv = test, .validation = 0.3};
  caviar_data data;
  caviar_error err;
  cr_assert_eq(caviar_data_load(&spec, 1, &data, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "test.csv: 1 features per example, but the training set") != NULL, "%s", err.msg);
}

Test(data_load, single_class_training_set) {
  scratch_write_text("one.csv", "2,1\n2,3\n2,5\n");
  char path[1024];
  strcpy(path, scratch_path("one.csv"));
  caviar_data_spec spec = {.format = CAVIAR_DATA_CSV, .train_csv = path, .test_csv = path, .validation = 0.3};
  caviar_data data;
  caviar_error err;
  cr_assert_eq(caviar_data_load(&spec, 1, &data, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "every label is 2") != NULL, "%s", err.msg);
}

Test(data_load, fashion_mnist_from_the_debian_package) {
  if (access(CAVIAR_DEFAULT_DATA_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0)
    cr_skip_test("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
  caviar_data_spec spec = idx_spec(CAVIAR_DEFAULT_DATA_DIR);
  spec.validation = 0.1;
  caviar_data data;
  caviar_error err;
  cr_assert_eq(caviar_data_load(&spec, 1, &data, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect_eq(data.train.n, 60000);
  cr_expect_eq(data.test.n, 10000);
  cr_expect_eq(data.train.d, 784);
  cr_expect_eq(data.classes, 10);
  cr_expect_eq(data.split.n_val, 6000);
  cr_expect_float_eq(data.scaling.scale[0], 1.0f / 255, 1e-9);
  caviar_data_free(&data);
}
