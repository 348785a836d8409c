/* The activation layer on the CPU: the member's activation, elementwise, in place (model_math.h's
 * scalar functions, the GPU's too); its backward multiplies by the derivative at its output. */
#include "cpu/layers.h"

static void activation_apply(const caviar_layer *l, const caviar_member_hp *hp, const cpu_dropout *drop,
                             const float *in, float *out, size_t k0, size_t k1) {
  (void)l;
  (void)drop;
  for (size_t k = k0; k < k1; k++) out[k] = caviar_activate(hp->activation, in[k]);
}

static void activation_grad(const caviar_layer *l, const caviar_member_hp *hp, const cpu_dropout *drop,
                            const float *saved, float *d, size_t k0, size_t k1) {
  (void)l;
  (void)drop;
  for (size_t k = k0; k < k1; k++) d[k] *= caviar_activation_grad(hp->activation, saved[k]);
}

const cpu_layer_impl cpu_activation_impl = {.apply = activation_apply, .grad = activation_grad};
