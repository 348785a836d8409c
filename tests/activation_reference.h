#ifndef CAVIAR_TEST_ACTIVATION_REFERENCE_H
#define CAVIAR_TEST_ACTIVATION_REFERENCE_H
/* Each activation from its definition, in float64: the gradient tests' independent reference. */

#include <math.h>

#include "caviar/hparams.h"

static inline double activate64(int activation, double z) {
  switch (activation) {
    case CAVIAR_ACT_TANH: return tanh(z);
    case CAVIAR_ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case CAVIAR_ACT_GELU: return 0.5 * z * (1.0 + erf(z / sqrt(2.0)));
    case CAVIAR_ACT_SILU: return z / (1.0 + exp(-z));
    case CAVIAR_ACT_LEAKY_RELU: return z > 0 ? z : 0.01 * z;
    default: return z > 0 ? z : 0;
  }
}

#endif
