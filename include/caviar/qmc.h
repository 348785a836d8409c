#ifndef CAVIAR_QMC_H
#define CAVIAR_QMC_H
/* Quasi-random points in (0, 1)^dims for `method: sobol`: GSL's Sobol sequence (up to
 * CAVIAR_QMC_SOBOL_MAX_DIMS dimensions), GSL's Halton sequence beyond that, scrambled by the seed.
 * A Sobol point gets a random digital shift (its 30-bit binary fraction XORed with a seeded mask
 * per dimension, which keeps the sequence's net structure); a Halton point a random rotation
 * (Cranley-Patterson: + a seeded shift, mod 1). Point k is a pure function of (seed, dims, k). */

#include <stdint.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

#define CAVIAR_QMC_SOBOL_MAX_DIMS 40 /* GSL's gsl_qrng_sobol */
#define CAVIAR_QMC_MAX_DIMS 1229     /* GSL's gsl_qrng_halton */

typedef struct caviar_qmc caviar_qmc;

caviar_status caviar_qmc_new(int dims, uint64_t seed, caviar_qmc **out, caviar_error *err);
/* Point k (k >= 0) into out[0 .. dims-1], each in (0, 1). Sequential k are cheap; going back
 * restarts the sequence. */
void caviar_qmc_point(caviar_qmc *q, uint64_t k, double *out);
/* Whether the points come from Sobol (else Halton). */
int caviar_qmc_is_sobol(const caviar_qmc *q);
void caviar_qmc_free(caviar_qmc *q);

CAVIAR_C_END

#endif
