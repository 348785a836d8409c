// The CUDA backend's own state, shared by backend_cuda.cu (the backend table, the step and its
// graph) and the files of its layer kinds (dense.cu, conv.cu, pool.cu, batchnorm.cu, flatten.cu,
// elementwise.cu: activation and dropout). Layouts are model.h's, member-major: member m's block of
// a layer's output (batch x its output size, channel-major) starts at m * batch * size.
#ifndef CAVIAR_CUDA_BACKEND_CUH
#define CAVIAR_CUDA_BACKEND_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "caviar/backend.h"
#include "caviar/cuda_plan.h"
#include "kernels.cuh"

struct cuda_ctx {
  int device;
  cudaStream_t stream;
  cublasHandle_t blas;
  void *blas_workspace;
  bool tf32;
  bool eager; // no step graphs: every kernel launched directly
  int chunks; // a step's member chunks (1: no overlap)
  cudaStream_t aux; // the chunks' optimizer passes
  cudaEvent_t chunk_done[CAVIAR_CUDA_MAX_CHUNKS + 1];
  device_dataset train, test;
  void *owned[8]; // dataset buffers to free
  int n_owned;
  uint32_t *rows;  // the order of an epoch or the rows of an evaluation
  size_t rows_capacity;
  int *step_index;
  augment_key *aug_key;  // the training steps' augmentation key (data.augment), uploaded with their rows
  augment_key aug_key_host; // its source, alive until the copy has run
  unsigned data_generation; // bumped by every upload: captured graphs bake in the data's addresses
  int sms;
  char name[400];
};

struct cuda_cohort {
  float *params, *grads, *first, *second; // the cohort's arenas (c->arena), device memory
  float *xt;
  int32_t *labels;
  float *y[CAVIAR_MAX_ARCH_LAYERS];        // each layer's output (an in-place layer's is its input's;
                                           // dropout's only once a member uses dropout)
  const float *out[CAVIAR_MAX_ARCH_LAYERS]; // where each layer's output is after a forward pass
  float *delta[2], *logits;
  float *patches;                          // convolutions' unfolded inputs
  int patch_members;                       // members unfolded at once (conv.cu)
  float *stats[CAVIAR_MAX_ARCH_LAYERS];    // batch norm: per member and channel, mean and 1/std
  bool dropout;                            // dropout layers have their own outputs
  bool keeps;                              // a member's activation keeps its input (model_math.h):
                                           // activations not followed by dropout have their own outputs
  member_vectors mv;
  caviar_member_hp *hp;
  uint32_t *trial;
  int *epochs;
  cudaGraphExec_t graph;
  caviar_graph_key key;
  bool have_graph;
  bool eager; // capture failed once: launch every step directly
};

// A contiguous range of slots [m0, m0 + n): the whole cohort, or one chunk of a step that
// overlaps chunks' optimizer passes with other chunks' GEMMs. Every buffer is member-major or
// tensor-major, so a span is an offset into each.
struct span {
  int m0, n;
};

// The per-member vectors of a span: kernels index its members from 0.
member_vectors vectors_at(const member_vectors &mv, int m0);

// The elementwise layers applied with a layer (model.h's activation and dropout): forward after its
// output (fused into its epilogue), backward on its input gradient (before the layer below).
struct cuda_chain {
  bool act;       // the member's activation
  bool drop;      // inverted dropout (training, members with a rate above 0)
  int mask;       // the dropout's mask stream
  float *out;     // forward: where the chain's result goes (the dropout's buffer, or in place)
  const float *saved; // backward: the activation's output (its derivative's argument)
};

// One layer's pass over a span of members.
struct cuda_pass {
  cuda_ctx *ctx;
  caviar_cohort *c;
  cuda_cohort *cc;
  span sp;
  const caviar_layer *layer;
  int index;            // the layer's position in the model
  bool train;
  bool frozen;          // training, but batch norm's running statistics stay (gradient checks)
  bool shared;          // the input is the minibatch itself, the same for every member (stride 0)
  const float *x;       // the span's first member's input
  float *y;             // forward: its output
  const float *dy;      // backward: the gradient at its output
  float *dx;            // backward: the gradient at its input, or null
  cuda_chain chain;     // forward: after it; backward: before it (on dx)
  bool has_chain;
};

// Floats of one member's block of a layer's input and output.
static inline size_t pass_in(const cuda_pass &p) { return (size_t)p.c->shape.batch * caviar_dims_size(p.layer->in); }
static inline size_t pass_out(const cuda_pass &p) { return (size_t)p.c->shape.batch * caviar_dims_size(p.layer->out); }

caviar_status cuda_dense_forward(const cuda_pass &p, caviar_error *err);
caviar_status cuda_dense_backward(const cuda_pass &p, caviar_error *err);
caviar_status cuda_conv_forward(const cuda_pass &p, caviar_error *err);
caviar_status cuda_conv_backward(const cuda_pass &p, caviar_error *err);
caviar_status cuda_pool_forward(const cuda_pass &p, caviar_error *err);
caviar_status cuda_pool_backward(const cuda_pass &p, caviar_error *err);
caviar_status cuda_batchnorm_forward(const cuda_pass &p, caviar_error *err);
caviar_status cuda_batchnorm_backward(const cuda_pass &p, caviar_error *err);
caviar_status cuda_flatten_forward(const cuda_pass &p, caviar_error *err);
caviar_status cuda_flatten_backward(const cuda_pass &p, caviar_error *err);

// elementwise.cu: a chain over each member's rows x units block (rows = batch x pixels): forward
// with an optional per-unit bias first (a dense or convolution's), in place or into chain.out;
// backward in place on d.
caviar_status cuda_chain_forward(const cuda_pass &p, float *z, const float *bias, size_t bias_stride, int rows,
                                 int units, caviar_error *err);
caviar_status cuda_chain_backward(const cuda_pass &p, float *d, int rows, int units, caviar_error *err);

// Members unfolded at once by a convolution of this cohort (a budget of patches, at least one).
int cuda_patch_members(const caviar_cohort *c);

#endif
