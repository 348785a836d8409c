/* The dropout layer on the CPU: inverted dropout at the member's rate, the mask a pure function of
 * (seed, trial, step, mask stream, unit) (model_math.h), recomputed in backward and applied to the
 * gradient. One Philox block decides each aligned group of four units, whichever thread asks. */
#include "cpu/layers.h"

static void mask(const caviar_layer *l, const cpu_dropout *drop, const float *in, float *out, size_t k0, size_t k1) {
  caviar_rng_block block = {{0}};
  for (size_t k = k0; k < k1; k++) {
    if (k == k0 || (k & 3) == 0) block = caviar_dropout_block(drop->seed, drop->trial, drop->step, l->mask, (uint32_t)k);
    out[k] = caviar_dropout_apply(block, (uint32_t)k, drop->p, in[k]);
  }
}

static void dropout_apply(const caviar_layer *l, const caviar_member_hp *hp, const cpu_dropout *drop, const float *in,
                          float *out, size_t k0, size_t k1) {
  (void)hp;
  mask(l, drop, in, out, k0, k1);
}

static void dropout_grad(const caviar_layer *l, const caviar_member_hp *hp, const cpu_dropout *drop,
                         const float *saved, float *d, size_t k0, size_t k1) {
  (void)hp;
  (void)saved;
  mask(l, drop, d, d, k0, k1);
}

const cpu_layer_impl cpu_dropout_impl = {.apply = dropout_apply, .grad = dropout_grad};
