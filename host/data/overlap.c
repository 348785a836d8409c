/* Which examples of one data set also occur in another: each example (features and label or target)
 * hashed, one side sorted, the other looked up. */
#include <stdlib.h>
#include <string.h>

#include "caviar/data.h"

static uint64_t fnv(uint64_t h, const void *bytes, size_t n) {
  const unsigned char *p = bytes;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

/* Features hashed as the floats they are read as, so a CSV and an IDX copy of an example agree. */
static uint64_t example_hash(const caviar_dataset *ds, size_t row) {
  uint64_t h = 1469598103934665603ull;
  for (size_t j = 0; j < ds->d; j++) {
    float x = ds->x_u8 ? (float)ds->x_u8[row * ds->d + j] : ds->x_f32[row * ds->d + j];
    h = fnv(h, &x, sizeof x);
  }
  /* Targets are standardised by each load's own training part: features alone identify them. */
  if (!ds->targets) h = fnv(h, &ds->labels[row], sizeof(int32_t));
  return h;
}

static int compare_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

caviar_status caviar_overlap_count(const caviar_dataset *seen, const uint32_t *seen_rows, size_t n_seen,
                                   const caviar_dataset *other, const uint32_t *rows, size_t n, size_t *out,
                                   caviar_error *err) {
  *out = 0;
  if (seen->d != other->d) return CAVIAR_OK;
  uint64_t *hashes = caviar_alloc(n_seen ? n_seen : 1, sizeof *hashes, "example hashes", err);
  if (!hashes) return CAVIAR_ERUNTIME;
  for (size_t i = 0; i < n_seen; i++) hashes[i] = example_hash(seen, seen_rows ? seen_rows[i] : i);
  qsort(hashes, n_seen, sizeof *hashes, compare_u64);
  for (size_t i = 0; i < n; i++) {
    uint64_t h = example_hash(other, rows ? rows[i] : i);
    if (bsearch(&h, hashes, n_seen, sizeof *hashes, compare_u64)) (*out)++;
  }
  free(hashes);
  return CAVIAR_OK;
}

caviar_status caviar_data_check_test_overlap(const caviar_data_spec *spec, const caviar_data *data, caviar_error *err) {
  if (spec->allow_test_overlap || data->test.n == 0) return CAVIAR_OK;
  size_t shared = 0;
  caviar_status st = caviar_overlap_count(&data->train, NULL, data->train.n, &data->test, NULL, data->test.n, &shared, err);
  if (st != CAVIAR_OK || shared == 0) return st;
  static const char allow[] = "set data.test_overlap \"allow\" (--data ...,test_overlap=allow) to use it anyway";
  bool carved = spec->format == CAVIAR_DATA_CSV && !spec->test_csv;
  if (carved)
    return caviar_fail(err, CAVIAR_EINPUT,
                       "data.test: %zu of the %zu test examples carved from %s repeat examples left for training (the "
                       "file has repeated rows): a test set must be examples training never sees; drop the repeats, "
                       "or %s",
                       shared, data->test.n, data->train_name, allow);
  return caviar_fail(err, CAVIAR_EINPUT,
                     "data.test: %zu of the %zu test examples (%s) are also in the training data (%s): a test set must "
                     "be examples training never sees; give another test file, or test=FRACTION to carve one out of "
                     "the training file, or %s",
                     shared, data->test.n, data->test_name, data->train_name, allow);
}
