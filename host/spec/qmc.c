#include "caviar/qmc.h"

#include <gsl/gsl_qrng.h>
#include <math.h>
#include <stdlib.h>

#include "caviar/counter_rng.h"

#define SOBOL_BITS 30 /* GSL's Sobol fractions have 30 bits */

struct caviar_qmc {
  gsl_qrng *gen;
  int dims;
  int sobol;
  int have;        /* raw holds point cur */
  uint64_t cur;
  uint32_t *mask;  /* Sobol: digital shift per dimension */
  double *shift;   /* Halton: rotation per dimension */
  double *raw;
};

caviar_status caviar_qmc_new(int dims, uint64_t seed, caviar_qmc **out, caviar_error *err) {
  *out = NULL;
  if (dims < 1 || dims > CAVIAR_QMC_MAX_DIMS)
    return caviar_fail(err, CAVIAR_EINPUT, "quasi-random points need 1 to %d dimensions, got %d", CAVIAR_QMC_MAX_DIMS,
                       dims);
  caviar_qmc *q = caviar_alloc(1, sizeof *q, "the quasi-random sequence", err);
  if (!q) return CAVIAR_ERUNTIME;
  q->dims = dims;
  q->sobol = dims <= CAVIAR_QMC_SOBOL_MAX_DIMS;
  q->gen = gsl_qrng_alloc(q->sobol ? gsl_qrng_sobol : gsl_qrng_halton, (unsigned)dims);
  q->mask = caviar_alloc((size_t)dims, sizeof *q->mask, "the quasi-random sequence", err);
  q->shift = caviar_alloc((size_t)dims, sizeof *q->shift, "the quasi-random sequence", err);
  q->raw = caviar_alloc((size_t)dims, sizeof *q->raw, "the quasi-random sequence", err);
  if (!q->gen || !q->mask || !q->shift || !q->raw) {
    caviar_qmc_free(q);
    return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory allocating the quasi-random sequence");
  }
  for (int j = 0; j < dims; j++) {
    /* Sweep-wide draws (stream 0) of their own purpose, one per dimension. */
    caviar_rng_block r = caviar_rng(seed, 0, CAVIAR_RNG_QMC, (uint64_t)j);
    q->mask[j] = r.v[0] & ((1u << SOBOL_BITS) - 1);
    q->shift[j] = caviar_u01_open(r.v[1], r.v[2]);
  }
  *out = q;
  return CAVIAR_OK;
}

void caviar_qmc_point(caviar_qmc *q, uint64_t k, double *out) {
  /* Point 0 is the sequence's origin (GSL's generator starts after it); the scrambling moves it
   * off the corner. */
  if (!q->have || k < q->cur) {
    gsl_qrng_init(q->gen);
    for (int j = 0; j < q->dims; j++) q->raw[j] = 0.0;
    q->cur = 0;
    q->have = 1;
  }
  while (q->cur < k) {
    gsl_qrng_get(q->gen, q->raw);
    q->cur++;
  }
  for (int j = 0; j < q->dims; j++) {
    if (q->sobol) {
      uint32_t bits = (uint32_t)ldexp(q->raw[j], SOBOL_BITS) ^ q->mask[j];
      out[j] = ldexp((double)bits + 0.5, -SOBOL_BITS);
    } else {
      double x = q->raw[j] + q->shift[j];
      x -= floor(x);
      out[j] = x > 0.0 ? x : 0x1p-53;
    }
  }
}

int caviar_qmc_is_sobol(const caviar_qmc *q) { return q->sobol; }

void caviar_qmc_free(caviar_qmc *q) {
  if (!q) return;
  if (q->gen) gsl_qrng_free(q->gen);
  free(q->mask);
  free(q->shift);
  free(q->raw);
  free(q);
}
