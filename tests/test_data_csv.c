/* CSV datasets: round trips and every malformed file a clear error naming file and line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/data.h"
#include "caviar/gzfile.h"
#include "scratch.h"

Test(csv, round_trip_of_floats) {
  caviar_dataset ds, back;
  caviar_error err;
  cr_assert_eq(caviar_synth(200, 7, 3, 1.0, 9, 0, false, &ds, &err), CAVIAR_OK);
  char path[1024];
  strcpy(path, scratch_path("floats.csv"));
  cr_assert_eq(caviar_csv_write(&ds, path, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(caviar_csv_read(path, &back, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(back.n, 200);
  cr_assert_eq(back.d, 7);
  cr_expect_eq(memcmp(ds.x_f32, back.x_f32, 200 * 7 * sizeof(float)), 0, "%%.9g must round-trip a float");
  cr_expect_eq(memcmp(ds.labels, back.labels, 200 * sizeof(int32_t)), 0);
  caviar_dataset_free(&ds);
  caviar_dataset_free(&back);
}

Test(csv, round_trip_of_bytes_through_gzip) {
  caviar_dataset ds, back;
  caviar_error err;
  cr_assert_eq(caviar_synth(50, 4, 2, 1.0, 9, 0, true, &ds, &err), CAVIAR_OK);
  char path[1024];
  strcpy(path, scratch_path("bytes.csv"));
  cr_assert_eq(caviar_csv_write(&ds, path, &err), CAVIAR_OK);
  size_t len;
  char *text = scratch_read(path, &len);
  unsigned char *packed;
  size_t packed_len;
  cr_assert_eq(caviar_gzip((unsigned char *)text, len, &packed, &packed_len, &err), CAVIAR_OK);
  scratch_write("bytes.csv.gz", packed, packed_len);
  cr_assert_eq(caviar_csv_read(scratch_path("bytes.csv.gz"), &back, &err), CAVIAR_OK, "%s", err.msg);
  for (size_t i = 0; i < 50 * 4; i++) cr_assert_eq(back.x_f32[i], (float)ds.x_u8[i]);
  free(text);
  free(packed);
  caviar_dataset_free(&ds);
  caviar_dataset_free(&back);
}

Test(csv, header_blank_lines_crlf_and_spaces) {
  scratch_write_text("ok.csv", "label,a,b\r\n1, 0.5 ,2\r\n\r\n0,-1e-3,3\n   \n2,4,5");
  caviar_dataset ds;
  caviar_error err;
  cr_assert_eq(caviar_csv_read(scratch_path("ok.csv"), &ds, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect_eq(ds.n, 3);
  cr_expect_eq(ds.d, 2);
  cr_expect_eq(ds.labels[2], 2);
  cr_expect_float_eq(ds.x_f32[2], -1e-3f, 1e-9);
  caviar_dataset_free(&ds);
}

static void expect_csv_bytes_error(const char *text, size_t len, const char *fragment) {
  scratch_write("bad.csv", text, len);
  caviar_dataset ds;
  caviar_error err;
  cr_assert_eq(caviar_csv_read(scratch_path("bad.csv"), &ds, &err), CAVIAR_EINPUT, "accepted: %s", text);
  cr_expect(strstr(err.msg, "bad.csv") != NULL, "message does not name the file: %s", err.msg);
  cr_expect(strstr(err.msg, fragment) != NULL, "expected '%s' in: %s", fragment, err.msg);
}

static void expect_csv_error(const char *text, const char *fragment) {
  expect_csv_bytes_error(text, strlen(text), fragment);
}

Test(csv, ragged_row) { expect_csv_error("1,2,3\n0,1\n", "bad.csv:2: expected 3 columns like the first row, got 2"); }

Test(csv, not_a_number) { expect_csv_error("1,2,3\n0,1,x\n", "bad.csv:2: column 3 is not a finite number"); }

Test(csv, nan_and_inf) {
  expect_csv_error("1,2,nan\n", "bad.csv:1: column 3 is not a finite number");
  expect_csv_error("1,inf,0\n", "bad.csv:1: column 2 is not a finite number");
}

Test(csv, bad_labels) {
  expect_csv_error("1,2\n-1,3\n", "bad.csv:2: label -1 is not a class index");
  expect_csv_error("1,2\n1.5,3\n", "bad.csv:2: label 1.5 is not a class index");
  expect_csv_error("1,2\n1e9,3\n", "bad.csv:2: label 1000000000 is not a class index in [0, 65536)");
}

Test(csv, label_only) { expect_csv_error("3\n", "bad.csv:1: expected a label and at least one feature"); }

Test(csv, empty_or_header_only) {
  expect_csv_error("", "no data rows");
  expect_csv_error("label,x\n\n", "no data rows");
}

Test(csv, binary_file) { expect_csv_bytes_error("1,2\n\0\0\0", 7, "contains NUL bytes"); }

Test(csv, missing_file) {
  caviar_dataset ds;
  caviar_error err;
  cr_assert_eq(caviar_csv_read("/nonexistent.csv", &ds, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "/nonexistent.csv: cannot open") != NULL, "%s", err.msg);
}

Test(csv, values_beyond_float_range_name_line_and_column) {
  expect_csv_error("1,2,3\n0,1e39,3\n", "bad.csv:2: column 2: 1e+39 is beyond the range");
  expect_csv_error("1,2,3\n0,1,-3e38\n", "bad.csv:2: column 3: -3e+38 is beyond the range");
}

Test(csv, a_first_row_with_a_nan_or_inf_label_is_not_a_header) {
  expect_csv_error("nan,2,3\n0,1,2\n", "bad.csv:1: column 1 (the label) is not a finite number");
  expect_csv_error("inf,2,3\n0,1,2\n", "bad.csv:1: column 1 (the label) is not a finite number");
}

Test(csv, a_byte_order_mark_is_skipped_not_taken_for_a_header) {
  scratch_write_text("bom.csv", "\xef\xbb\xbf" "1,2,3\n0,4,5\n");
  caviar_dataset ds;
  caviar_error err;
  cr_assert_eq(caviar_csv_read(scratch_path("bom.csv"), &ds, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect_eq(ds.n, 2, "the first row is data");
  cr_expect_eq(ds.labels[0], 1);
  cr_expect_float_eq(ds.x_f32[1], 3.0f, 0);
  caviar_dataset_free(&ds);
}

Test(csv, a_gzip_bomb_of_nul_bytes_stops_at_the_first_chunk) {
  scratch_write_gzip_bomb("bomb.csv.gz", "1,2\n0,3\n", 8, 1024);
  double before = scratch_peak_mib();
  caviar_dataset ds;
  caviar_error err;
  cr_assert_eq(caviar_csv_read(scratch_path("bomb.csv.gz"), &ds, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "contains NUL bytes") != NULL, "%s", err.msg);
  cr_expect_lt(scratch_peak_mib() - before, 64, "reading the bomb took %.0f MiB", scratch_peak_mib() - before);
}

Test(csv, lines_longer_than_a_read_chunk_are_read_whole) {
  size_t d = 300000;
  char *text = malloc(d * 4 + 16);
  size_t n = (size_t)sprintf(text, "1");
  for (size_t j = 0; j < d; j++) n += (size_t)sprintf(text + n, ",%d", (int)(j % 10));
  n += (size_t)sprintf(text + n, "\n0");
  for (size_t j = 0; j < d; j++) n += (size_t)sprintf(text + n, ",%d", (int)(j % 7));
  scratch_write("wide.csv", text, n); /* no final newline */
  free(text);
  caviar_dataset ds;
  caviar_error err;
  cr_assert_eq(caviar_csv_read(scratch_path("wide.csv"), &ds, &err), CAVIAR_OK, "%s", err.msg);
  cr_expect_eq(ds.n, 2);
  cr_expect_eq(ds.d, d);
  cr_expect_float_eq(ds.x_f32[d + d - 1], (float)((d - 1) % 7), 0);
  caviar_dataset_free(&ds);
}
