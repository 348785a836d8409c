#ifndef CAVIAR_CPU_LAYERS_H
#define CAVIAR_CPU_LAYERS_H
/* The CPU backend's layer kinds: one file each (dense.c, activation.c, dropout.c), one table
 * (cpu_layer_impl_of) that member.c's forward and backward walk and that says which kinds this
 * backend supports.
 *
 * Elementwise layers (activation, dropout) after a layer whose kind `fuses` run inside that
 * layer's output tiles (forward) and inside the tiles of the input gradient of the layer after
 * them (backward): the same per-element math as on their own, in the order the list gives, so the
 * numbers are the same whether fused or not; fused, a team needs no barrier between them and the
 * values are still in cache. */

#include "cpu/member.h"

CAVIAR_C_BEGIN

/* Elementwise layers applied to a range of a block, in order. */
#define CPU_MAX_CHAIN 4
typedef struct cpu_chain {
  int n;
  const caviar_layer *layer[CPU_MAX_CHAIN];
  const float *in[CPU_MAX_CHAIN];  /* forward: each one's input */
  float *out[CPU_MAX_CHAIN];       /* forward: its output (the input itself when in place) */
  const float *saved[CPU_MAX_CHAIN]; /* backward: the output its forward pass left (an activation's) */
} cpu_chain;

/* What one layer's pass sees: one member, one minibatch, its team. */
typedef struct cpu_pass {
  const cpu_member *m;
  const caviar_layer *layer;
  const caviar_member_hp *hp;
  const cpu_dropout *drop; /* NULL: inference */
  int rows;                /* examples */
  const float *x;          /* the layer's input */
  float *y;                /* forward: its output */
  const float *dy;         /* backward: the gradient of the loss at its output */
  float *dx;               /* backward: the gradient at its input (NULL: not wanted) */
  const cpu_chain *chain;  /* forward: the layers after it, applied to y; backward: those before it
                            * (nearest first), applied to dx; NULL: none */
  cpu_workspace *ws;
  const cpu_team *team;
  int index;               /* the layer's position in the model (its workspace buffers) */
  float *scratch;          /* this thread's scratch (the team's own, or the workspace's) */
  const caviar_step_scalars *step; /* backward: the optimizer's step, for a kind that `updates_tiles` */
} cpu_pass;

typedef struct cpu_layer_impl {
  void (*forward)(const cpu_pass *p);
  /* Parameter gradients (added into m->g) and, if p->dx, the input gradient. */
  void (*backward)(const cpu_pass *p);
  bool fuses; /* applies p->chain within its own tiles */
  /* Given p->step and no input gradient to compute, its backward takes the optimizer's step on each
   * tile of its parameters as soon as that tile's gradient is done (cpu_update_range); otherwise
   * the walk takes it after the layer's backward. */
  bool updates_tiles;
  /* Elementwise kinds: the forward of elements [k0, k1) of a rows x channels block (in may be
   * out), and in place the backward of d over [k0, k1) (saved: this layer's forward output). */
  void (*apply)(const caviar_layer *l, const caviar_member_hp *hp, const cpu_dropout *drop, const float *in,
                float *out, size_t k0, size_t k1);
  void (*grad)(const caviar_layer *l, const caviar_member_hp *hp, const cpu_dropout *drop, const float *saved,
               float *d, size_t k0, size_t k1);
} cpu_layer_impl;

/* The kind's implementation, NULL where this backend has none. */
const cpu_layer_impl *cpu_layer_impl_of(caviar_layer_kind kind);

extern const cpu_layer_impl cpu_dense_impl, cpu_activation_impl, cpu_dropout_impl, cpu_conv2d_impl, cpu_pool_impl,
    cpu_batchnorm_impl, cpu_flatten_impl;

/* Examples per unfolded chunk of a convolution: a fixed function of the layer (never of the team),
 * so a member's GEMMs are the same calls however many threads share its work. */
int cpu_conv_chunk(const caviar_layer *l, int rows);
/* The unfolded floats a chunk may hold (tests lower it to make many chunks of small images). */
extern int cpu_conv_chunk_floats;

/* The parts of batch norm and pooling that cpu_forward and cpu_backward fuse channel by channel
 * where a batch norm, its activations and a pooling follow each other (a CNN's block), so that a
 * channel's values are still in cache from one layer to the next. Batch norm: channel c's forward
 * (and its chain), the step's count of a training pass (its team's rank 0), and channel c's backward
 * from the gradient dy of that channel's values. Pooling: planes [q0, q1) (a channel of an example
 * each) forward with its chain, and backward into dx, where element k's gradient is dx[k - first]
 * (its chain's saved outputs read as far along; a chain with dropout needs first 0: its mask
 * follows the element's place). */
void cpu_bn_forward_channel(const cpu_pass *p, size_t c);
void cpu_bn_count_step(const cpu_pass *p);
void cpu_bn_backward_channel(const cpu_pass *p, size_t c, const float *dy);
void cpu_pool_forward_planes(const cpu_pass *p, size_t q0, size_t q1);
void cpu_pool_backward_planes(const cpu_pass *p, size_t q0, size_t q1, float *dx, size_t first);

/* 2 x 2 pooling's row of ow windows (pool.c), for tests: from rows r0 and r1, forward into out0,
 * or backward from the gradient g into out0 (upper row) and out1 (lower row); max or average; the
 * scalar rule or, where the CPU has AVX-512, the vector form the layer uses (vector: the scalar
 * rule again elsewhere). */
void cpu_pool_rows(bool vector, bool max, bool backward, const float *r0, const float *r1, const float *g, float *out0,
                   float *out1, int ow);

/* The chain's forward and backward over one channel's part [e0, e1) of the examples of a
 * channel-major block with `pixels` values per example and channel. */
void cpu_chain_forward_examples(const cpu_chain *c, const caviar_member_hp *hp, const cpu_dropout *drop, int channels,
                                int rows, size_t pixels, int e0, int e1);
void cpu_chain_backward_examples(const cpu_chain *c, const caviar_member_hp *hp, const cpu_dropout *drop, float *d,
                                 int channels, int rows, size_t pixels, int e0, int e1);

/* Whether a layer's forward is the identity for this member now (dropout at rate 0, or in
 * inference): its output is its input. */
bool cpu_layer_is_identity(const caviar_layer *l, const caviar_member_hp *hp, const cpu_dropout *drop);

/* The chain's forward over [k0, k1), and its backward over d in place. */
void cpu_chain_forward(const cpu_chain *c, const caviar_member_hp *hp, const cpu_dropout *drop, size_t k0, size_t k1);
void cpu_chain_backward(const cpu_chain *c, const caviar_member_hp *hp, const cpu_dropout *drop, float *d, size_t k0,
                        size_t k1);

CAVIAR_C_END

#endif
