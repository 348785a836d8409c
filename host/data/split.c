/* The validation split and seeded shuffles. */
#include <stdlib.h>
#include <string.h>

#include "caviar/counter_rng.h"
#include "caviar/data.h"

void caviar_shuffle(uint32_t *idx, size_t n, uint64_t seed, uint32_t purpose, uint32_t round) {
  /* Fisher-Yates from the top, swap i - 1 with a draw j < i keyed by i: the draws of a stretch are
   * taken first, side by side (each its own counter: the compiler may run several at once), then
   * the swaps in order. */
  enum { STRETCH = 256 };
  size_t pick[STRETCH];
  for (size_t top = n; top > 1;) {
    size_t m = top - 1 < STRETCH ? top - 1 : STRETCH;
    for (size_t k = 0; k < m; k++) {
      size_t i = top - k;
      caviar_rng_block r = caviar_rng(seed, round, purpose, i);
      size_t j = (size_t)(caviar_u01_open(r.v[0], r.v[1]) * (double)i);
      pick[k] = j >= i ? i - 1 : j;
    }
    for (size_t k = 0; k < m; k++) {
      size_t i = top - k;
      uint32_t t = idx[i - 1];
      idx[i - 1] = idx[pick[k]];
      idx[pick[k]] = t;
    }
    top -= m;
  }
}

static int compare_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

caviar_status caviar_split_make(size_t n, double val_fraction, uint64_t seed, caviar_split *out, caviar_error *err) {
  memset(out, 0, sizeof *out);
  if (n < 2) return caviar_fail(err, CAVIAR_EINPUT, "the training set has %zu example(s); a validation split needs 2 or more", n);
  if (n > UINT32_MAX) return caviar_fail(err, CAVIAR_EINPUT, "the training set has %zu examples, over 2^32", n);
  size_t n_val = (size_t)(val_fraction * (double)n + 0.5);
  if (n_val < 1) n_val = 1;
  if (n_val > n - 1) n_val = n - 1;
  uint32_t *order = caviar_alloc(n, sizeof *order, "the validation split", err);
  if (!order) return CAVIAR_ERUNTIME;
  for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
  caviar_shuffle(order, n, seed, CAVIAR_RNG_SPLIT, 0);
  out->val = caviar_alloc(n_val, sizeof *out->val, "the validation split", err);
  out->train = caviar_alloc(n - n_val, sizeof *out->train, "the validation split", err);
  if (!out->val || !out->train) {
    free(order);
    caviar_split_free(out);
    return CAVIAR_ERUNTIME;
  }
  memcpy(out->val, order, n_val * sizeof *order);
  memcpy(out->train, order + n_val, (n - n_val) * sizeof *order);
  free(order);
  out->n_val = n_val;
  out->n_train = n - n_val;
  qsort(out->val, out->n_val, sizeof *out->val, compare_u32);
  qsort(out->train, out->n_train, sizeof *out->train, compare_u32);
  return CAVIAR_OK;
}

void caviar_split_free(caviar_split *split) {
  free(split->train);
  free(split->val);
  memset(split, 0, sizeof *split);
}

void caviar_epoch_order(const caviar_split *split, uint64_t seed, int epoch, uint32_t *order) {
  memcpy(order, split->train, split->n_train * sizeof *order);
  caviar_shuffle(order, split->n_train, seed, CAVIAR_RNG_SHUFFLE, (uint32_t)epoch);
}
