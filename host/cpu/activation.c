/* The activation layer on the CPU: the member's activation, elementwise, in place (model_math.h's
 * scalar functions, the GPU's too); its backward multiplies by the derivative at its output. */
#include "cpu/layers.h"

/* BODY(kind) once per activation kind, the kind a constant in each: the relu family's loops
 * vectorise (a switch inside one loop kept every element scalar, a jump table per element), and each
 * element is the same expression as the switch gave. */
#define EACH_KIND(activation, BODY)                                 \
  switch (activation) {                                             \
    case CAVIAR_ACT_RELU: BODY(CAVIAR_ACT_RELU); break;             \
    case CAVIAR_ACT_LEAKY_RELU: BODY(CAVIAR_ACT_LEAKY_RELU); break; \
    case CAVIAR_ACT_TANH: BODY(CAVIAR_ACT_TANH); break;             \
    case CAVIAR_ACT_SIGMOID: BODY(CAVIAR_ACT_SIGMOID); break;       \
    case CAVIAR_ACT_GELU: BODY(CAVIAR_ACT_GELU); break;             \
    case CAVIAR_ACT_SILU: BODY(CAVIAR_ACT_SILU); break;             \
    default: BODY(activation);                                      \
  }

static void activation_apply(const caviar_layer *l, const caviar_member_hp *hp, const cpu_dropout *drop,
                             const float *in, float *out, size_t k0, size_t k1) {
  (void)l;
  (void)drop;
#define APPLY(kind) for (size_t k = k0; k < k1; k++) out[k] = caviar_activate(kind, in[k])
  EACH_KIND(hp->activation, APPLY)
#undef APPLY
}

static void activation_grad(const caviar_layer *l, const caviar_member_hp *hp, const cpu_dropout *drop,
                            const float *saved, float *d, size_t k0, size_t k1) {
  (void)l;
  (void)drop;
#define GRAD(kind) for (size_t k = k0; k < k1; k++) d[k] *= caviar_activation_grad(kind, saved[k])
  EACH_KIND(hp->activation, GRAD)
#undef GRAD
}

const cpu_layer_impl cpu_activation_impl = {.apply = activation_apply, .grad = activation_grad};
