/* IDX files: round trips, plain and gzipped, and every corruption a clear error. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/data.h"
#include "caviar/gzfile.h"
#include "scratch.h"

static caviar_dataset synth_bytes(size_t n, size_t d) {
  caviar_dataset ds;
  caviar_error err;
  cr_assert_eq(caviar_synth(n, d, 5, 0.5, 3, 0, true, &ds, &err), CAVIAR_OK, "%s", err.msg);
  return ds;
}

static void expect_same(const caviar_dataset *a, const caviar_dataset *b) {
  cr_assert_eq(a->n, b->n);
  cr_assert_eq(a->d, b->d);
  cr_expect_eq(memcmp(a->x_u8, b->x_u8, a->n * a->d), 0);
  cr_expect_eq(memcmp(a->labels, b->labels, a->n * sizeof *a->labels), 0);
}

Test(idx, round_trip_plain_and_gzipped) {
  caviar_dataset ds = synth_bytes(300, 49), back;
  caviar_error err;
  for (int gz = 0; gz < 2; gz++) {
    const char *images = scratch_path(gz ? "img.gz" : "img"), *labels = scratch_path(gz ? "lab.gz" : "lab");
    char images_copy[1024];
    strcpy(images_copy, images);
    cr_assert_eq(caviar_idx_write(&ds, images_copy, labels, gz, &err), CAVIAR_OK, "%s", err.msg);
    cr_assert_eq(caviar_idx_read(images_copy, labels, &back, &err), CAVIAR_OK, "%s", err.msg);
    expect_same(&ds, &back);
    caviar_dataset_free(&back);
  }
  caviar_dataset_free(&ds);
}

/* A 2-image, 2x2-pixel file with the standard 3-dimensional header. */
static const unsigned char images3[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8};
static const unsigned char labels2[] = {0, 0, 8, 1, 0, 0, 0, 2, 1, 0};

Test(idx, reads_three_dimensional_images_flattened) {
  scratch_write("i3", images3, sizeof images3);
  scratch_write("l2", labels2, sizeof labels2);
  caviar_dataset ds;
  caviar_error err;
  char images[1024];
  strcpy(images, scratch_path("i3"));
  cr_assert_eq(caviar_idx_read(images, scratch_path("l2"), &ds, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect_eq(ds.n, 2);
  cr_expect_eq(ds.d, 4);
  cr_expect_eq(ds.x_u8[7], 8);
  cr_expect_eq(ds.labels[0], 1);
  caviar_dataset_free(&ds);
}

/* Writes bytes as the image file (the label file is the good one) and expects fragment. */
static void expect_image_error(const void *bytes, size_t len, const char *fragment) {
  scratch_write("bad", bytes, len);
  scratch_write("l2", labels2, sizeof labels2);
  caviar_dataset ds;
  caviar_error err;
  char images[1024];
  strcpy(images, scratch_path("bad"));
  cr_assert_eq(caviar_idx_read(images, scratch_path("l2"), &ds, &err), CAVIAR_EINPUT, "accepted");
  cr_expect(strstr(err.msg, images) != NULL, "message does not name the file: %s", err.msg);
  cr_expect(strstr(err.msg, fragment) != NULL, "expected '%s' in: %s", fragment, err.msg);
}

Test(idx, truncated_data) {
  expect_image_error(images3, sizeof images3 - 3, "truncated: the header promises 8 bytes of data, the file has 5");
}

Test(idx, truncated_header) {
  expect_image_error(images3, 9, "truncated: the header needs 16 bytes, the file has 9");
  expect_image_error(images3, 2, "truncated: 2 bytes, too short for an IDX header");
}

Test(idx, bad_magic_number) {
  unsigned char bytes[sizeof images3];
  memcpy(bytes, images3, sizeof bytes);
  bytes[2] = 0x0d; /* floats */
  expect_image_error(bytes, sizeof bytes, "bad magic number 0x00000d03 (expected 0x00000803");
  expect_image_error("PK\3\4 not an idx file", 20, "bad magic number 0x504b0304");
}

Test(idx, trailing_bytes) {
  unsigned char bytes[sizeof images3 + 2];
  memcpy(bytes, images3, sizeof images3);
  expect_image_error(bytes, sizeof bytes, "2 unexpected bytes after the 8 bytes of data");
}

Test(idx, zero_dimension) {
  unsigned char bytes[sizeof images3];
  memcpy(bytes, images3, sizeof bytes);
  bytes[11] = 0;
  expect_image_error(bytes, sizeof bytes, "dimension 1 is 0");
}

Test(idx, truncated_gzip_stream) {
  unsigned char *packed;
  size_t len;
  caviar_error err;
  cr_assert_eq(caviar_gzip(images3, sizeof images3, &packed, &len, &err), CAVIAR_OK);
  expect_image_error(packed, len - 6, "truncated or corrupt gzip data");
  free(packed);
}

Test(idx, mismatched_counts) {
  const unsigned char three_labels[] = {0, 0, 8, 1, 0, 0, 0, 3, 1, 0, 2};
  scratch_write("i3", images3, sizeof images3);
  scratch_write("l3", three_labels, sizeof three_labels);
  caviar_dataset ds;
  caviar_error err;
  char images[1024];
  strcpy(images, scratch_path("i3"));
  cr_assert_eq(caviar_idx_read(images, scratch_path("l3"), &ds, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "3 labels, but") != NULL && strstr(err.msg, "has 2 images") != NULL, "%s", err.msg);
}

Test(idx, labels_file_with_image_magic) {
  scratch_write("i3", images3, sizeof images3);
  caviar_dataset ds;
  caviar_error err;
  char images[1024];
  strcpy(images, scratch_path("i3"));
  cr_assert_eq(caviar_idx_read(images, images, &ds, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "bad magic number 0x00000803 (expected 0x00000801") != NULL, "%s", err.msg);
}

Test(idx, missing_file) {
  caviar_dataset ds;
  caviar_error err;
  cr_assert_eq(caviar_idx_read("/nonexistent/images", "/nonexistent/labels", &ds, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "/nonexistent/images: cannot open: No such file") != NULL, "%s", err.msg);
}

Test(idx, dimensions_whose_product_wraps_around_are_refused) {
  /* 4 x 2^31 x 2^31 is 2^64: a product checked only after multiplying wraps to 0. */
  const unsigned char wraps[] = {0, 0, 8, 3, 0, 0, 0, 4, 0x80, 0, 0, 0, 0x80, 0, 0, 0};
  expect_image_error(wraps, sizeof wraps, "header claims over 2^40 elements");
  const unsigned char four[] = {0, 0, 8, 4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  expect_image_error(four, sizeof four, "header claims over 2^40 elements");
}

Test(idx, a_gzip_bomb_stops_after_the_promised_bytes) {
  /* A valid 2-image header and its 8 bytes, then 1 GiB of zeros (about 1 MiB gzipped). */
  scratch_write_gzip_bomb("bomb.gz", images3, sizeof images3, 1024);
  scratch_write("l2", labels2, sizeof labels2);
  double before = scratch_peak_mib();
  caviar_dataset ds;
  caviar_error err;
  char images[1024];
  strcpy(images, scratch_path("bomb.gz"));
  cr_assert_eq(caviar_idx_read(images, scratch_path("l2"), &ds, &err), CAVIAR_EINPUT, "accepted");
  cr_expect(strstr(err.msg, "over 1048577 unexpected bytes after the 8 bytes of data") != NULL, "%s", err.msg);
  cr_expect_lt(scratch_peak_mib() - before, 64, "reading the bomb took %.0f MiB", scratch_peak_mib() - before);
}

Test(idx, bytes_after_the_gzip_stream_are_an_error_and_members_concatenate) {
  unsigned char *a, *b;
  size_t a_len, b_len;
  caviar_error err;
  cr_assert_eq(caviar_gzip(images3, 10, &a, &a_len, &err), CAVIAR_OK);
  cr_assert_eq(caviar_gzip(images3 + 10, sizeof images3 - 10, &b, &b_len, &err), CAVIAR_OK);
  unsigned char both[512];
  memcpy(both, a, a_len);
  memcpy(both + a_len, b, b_len);
  scratch_write("two.gz", both, a_len + b_len);
  scratch_write("l2", labels2, sizeof labels2);
  caviar_dataset ds;
  char images[1024];
  strcpy(images, scratch_path("two.gz"));
  cr_assert_eq(caviar_idx_read(images, scratch_path("l2"), &ds, &err), CAVIAR_OK, "two members: %s", err.msg);
  cr_expect_eq(ds.x_u8[7], 8);
  caviar_dataset_free(&ds);
  memcpy(both + a_len, "garbage", 7);
  memcpy(both, a, a_len);
  unsigned char whole[512];
  free(a);
  cr_assert_eq(caviar_gzip(images3, sizeof images3, &a, &a_len, &err), CAVIAR_OK);
  memcpy(whole, a, a_len);
  memcpy(whole + a_len, "garbage", 7);
  expect_image_error(whole, a_len + 7, "unexpected bytes after the end of the gzip data");
  free(a);
  free(b);
}

Test(idx, a_folder_is_named_once) {
  caviar_dataset ds;
  caviar_error err;
  char dir[1024];
  strcpy(dir, scratch_dir());
  cr_assert_eq(caviar_idx_read(dir, dir, &ds, &err), CAVIAR_EINPUT);
  char expected[1200];
  snprintf(expected, sizeof expected, "%s: is a folder, expected a file", dir);
  cr_expect_str_eq(err.msg, expected);
}
