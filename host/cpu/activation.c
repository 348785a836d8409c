/* The activation layer on the CPU: the member's activation, elementwise, in place (model_math.h's
 * scalar functions, the GPU's too); its backward multiplies by the derivative at its output. */
#include "cpu/layers.h"

static void activation_apply(const caviar_layer *l, const caviar_member_hp *hp, const cpu_dropout *drop,
                             const float *in, float *out, size_t k0, size_t k1) {
  (void)l;
  (void)drop;
  /* One loop per kind, the kind a constant in each: the relu family's loops vectorise (a switch
   * inside one loop kept every element scalar), and each element is the same expression as before. */
#define EACH(kind) for (size_t k = k0; k < k1; k++) out[k] = caviar_activate(kind, in[k])
  switch (hp->activation) {
    case CAVIAR_ACT_RELU: EACH(CAVIAR_ACT_RELU); break;
    case CAVIAR_ACT_LEAKY_RELU: EACH(CAVIAR_ACT_LEAKY_RELU); break;
    case CAVIAR_ACT_TANH: EACH(CAVIAR_ACT_TANH); break;
    case CAVIAR_ACT_SIGMOID: EACH(CAVIAR_ACT_SIGMOID); break;
    case CAVIAR_ACT_GELU: EACH(CAVIAR_ACT_GELU); break;
    case CAVIAR_ACT_SILU: EACH(CAVIAR_ACT_SILU); break;
    default: EACH(hp->activation);
  }
#undef EACH
}

static void activation_grad(const caviar_layer *l, const caviar_member_hp *hp, const cpu_dropout *drop,
                            const float *saved, float *d, size_t k0, size_t k1) {
  (void)l;
  (void)drop;
#define EACH(kind) for (size_t k = k0; k < k1; k++) d[k] *= caviar_activation_grad(kind, saved[k])
  switch (hp->activation) {
    case CAVIAR_ACT_RELU: EACH(CAVIAR_ACT_RELU); break;
    case CAVIAR_ACT_LEAKY_RELU: EACH(CAVIAR_ACT_LEAKY_RELU); break;
    case CAVIAR_ACT_TANH: EACH(CAVIAR_ACT_TANH); break;
    case CAVIAR_ACT_SIGMOID: EACH(CAVIAR_ACT_SIGMOID); break;
    case CAVIAR_ACT_GELU: EACH(CAVIAR_ACT_GELU); break;
    case CAVIAR_ACT_SILU: EACH(CAVIAR_ACT_SILU); break;
    default: EACH(hp->activation);
  }
#undef EACH
}

const cpu_layer_impl cpu_activation_impl = {.apply = activation_apply, .grad = activation_grad};
