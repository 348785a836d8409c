#ifndef CAVIAR_MODEL_H
#define CAVIAR_MODEL_H
/* What a model is (host/model/): a list of layers built from one trial's structural
 * hyperparameters, and everything derived from it, in one place (as llm.c fills in its parameter
 * and activation sizes once): the parameter tensors with their roles and saved names, the arena
 * layout, the activation buffers a step needs, FLOPs per sample and bytes. Nothing outside
 * host/model/ reads a tensor's role or a layer's kind from its position: the backends walk the
 * layers, the optimizer and the initialisation read each tensor's role, the model files its name.
 *
 * Data layout, the one every backend uses: a sample's values between layers are C x H x W
 * (features: C x 1 x 1). A minibatch's activations are column-major "rows x channels" blocks with
 * rows = examples x H x W: channel c's values of every example and pixel are contiguous ([C][B][H][W]),
 * so a dense layer's output (rows = examples) and a convolution's are the same kind of block, and
 * batch normalisation, activations and dropout treat them alike. The gathered minibatch itself
 * arrives row by row ([B][C][H][W], i.e. features x rows column-major), as does the output of a
 * flatten layer: a layer whose input is `rowwise` reads it that way.
 *
 * Parameter layout (column-major throughout, as cuBLAS): a dense layer's weight is an
 * inputs x outputs block (leading dimension inputs: the bytes of PyTorch's row-major
 * out x in nn.Linear.weight), a convolution's a (C_in k k) x C_out block (PyTorch's
 * out x in x kh x kw Conv2d.weight). The arena is tensor-major: tensor t of every member, member
 * after member, then tensor t + 1; every member's block of every tensor starts on a 64-byte
 * boundary, so a cull or copy is one block move per tensor, and the first layer's weights of a
 * whole cohort form one matrix (one GEMM over a shared minibatch). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caviar/hostdevice.h"
#include "caviar/hparams.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

typedef enum caviar_layer_kind {
  CAVIAR_LAYER_DENSE,      /* y = x W + b */
  CAVIAR_LAYER_CONV2D,     /* "same" padding, stride 1; cross-correlation as PyTorch's Conv2d */
  CAVIAR_LAYER_POOL,       /* 2 x 2, stride 2: max or average */
  CAVIAR_LAYER_BATCHNORM,  /* per channel: batch statistics in training, running ones otherwise */
  CAVIAR_LAYER_FLATTEN,    /* C x H x W -> features, PyTorch's order */
  CAVIAR_LAYER_ACTIVATION, /* the member's activation (a hyperparameter) */
  CAVIAR_LAYER_DROPOUT,    /* inverted dropout at the member's rate (0: identity) */
  CAVIAR_LAYER_KINDS
} caviar_layer_kind;

const char *caviar_layer_kind_name(caviar_layer_kind kind);

/* What a parameter tensor is for: the optimizer updates weights (with L2), biases, scales and
 * shifts (without); running statistics are state the forward pass keeps, carried with the member
 * like its parameters but never stepped. */
typedef enum caviar_tensor_role {
  CAVIAR_ROLE_WEIGHT,
  CAVIAR_ROLE_BIAS,
  CAVIAR_ROLE_SCALE,
  CAVIAR_ROLE_SHIFT,
  CAVIAR_ROLE_RUNNING_MEAN,
  CAVIAR_ROLE_RUNNING_VAR,
  CAVIAR_ROLE_COUNT /* batch normalisation's training steps (PyTorch's num_batches_tracked), one value */
} caviar_tensor_role;

static inline CAVIAR_HD bool caviar_role_trained(int role) { return role <= CAVIAR_ROLE_SHIFT; }
/* L2 (weight decay) applies to weights only. */
static inline CAVIAR_HD bool caviar_role_decayed(int role) { return role == CAVIAR_ROLE_WEIGHT; }

typedef enum caviar_pool_kind { CAVIAR_POOL_MAX, CAVIAR_POOL_AVG } caviar_pool_kind;

/* A sample's shape: channels x height x width. */
typedef struct caviar_dims {
  int c, h, w;
} caviar_dims;

static inline CAVIAR_HD size_t caviar_dims_size(caviar_dims d) { return (size_t)d.c * (size_t)d.h * (size_t)d.w; }
static inline CAVIAR_HD size_t caviar_dims_pixels(caviar_dims d) { return (size_t)d.h * (size_t)d.w; }

/* The structural hyperparameters that make members share a cohort (one arena layout, one step):
 * members differ in everything else (learning rates, optimizer, activation, dropout rate, ...).
 * Built by caviar_shape_of from a trial's values and the data. */
typedef struct caviar_shape {
  int inputs, classes;  /* features per example; outputs (1: a regression) */
  int layers, hidden;   /* dense hidden layers and their width (a CNN's head) */
  int batch;            /* minibatch size */
  caviar_dims image;    /* a CNN's input, C x H x W (an MLP's: inputs x 1 x 1) */
  int type;             /* caviar_model_type */
  int batchnorm;        /* after every convolution and hidden dense layer */
  int conv_blocks;      /* a CNN's: each a convolution, [batch norm], activation, [pooling] */
  int channels[CAVIAR_MAX_CONV_BLOCKS];
  int kernel;
  int pool;             /* caviar_pool_choice */
} caviar_shape;

/* The shape of a trial's model on data whose examples are `image` (features: {d, 1, 1}) with
 * `classes` outputs. */
caviar_shape caviar_shape_of(const caviar_hparams *hp, caviar_dims image, int classes);
/* An MLP's shape without a configuration: inputs -> layers x hidden -> classes, at a batch size. */
caviar_shape caviar_mlp_shape(int inputs, int classes, int layers, int hidden, int batch);
/* Whether the shape makes a model: a CNN needs an image (H x W > 1) that its pooling keeps at 1 x 1
 * or more; if not, a one-line reason naming the hyperparameter into why (size bytes). */
bool caviar_shape_valid(const caviar_shape *s, char *why, size_t size);
/* model and batchnorm mean something in every config, yet a plain MLP (no batch normalisation)
 * leaves them out of printed configs (summary.json, model files), which read as configs always did,
 * unless its spec sweeps them: caviar_hp_shown asks this. */
bool caviar_hp_hidden_in_plain_mlp(const caviar_hparams *hp, const caviar_hp_info *info);
/* Whether the row means something in every config (not a CNN's row, not bn_momentum). */
bool caviar_hp_applies_always(const caviar_hp_info *info);
/* Sets such a row (model or batchnorm) to a plain MLP's value (mlp, off); false for any other row. */
bool caviar_hp_set_plain_mlp(caviar_hparams *hp, const caviar_hp_info *info);
/* Every hyperparameter's active bit from scratch: off where a condition switched it off (bit i of
 * by_conditions) or where it means nothing for this configuration (conv_blocks for an MLP,
 * channel_growth for one block, bn_momentum without batch normalisation), on otherwise. Samplers
 * model only active values; sample lines, summaries and the report leave inactive ones out. */
void caviar_hparams_settle(caviar_hparams *hp, unsigned by_conditions);
bool caviar_shape_equal(const caviar_shape *a, const caviar_shape *b);
/* Whether a hyperparameter is structural (decides the shape: layers, hidden, batch_size, ...), whether
 * two configs' structural values agree, and the structural values of src copied into dst. */
bool caviar_hp_is_structural(const caviar_hp_info *info);
bool caviar_hparams_same_shape(const caviar_hparams *a, const caviar_hparams *b);
void caviar_hparams_copy_shape(caviar_hparams *dst, const caviar_hparams *src);
uint64_t caviar_shape_hash(const caviar_shape *s);

/* One layer of an architecture. */
typedef struct caviar_layer {
  caviar_layer_kind kind;
  caviar_dims in, out;
  bool rowwise;       /* its input arrives row by row (the minibatch, a flatten's output) */
  bool bias;          /* dense, conv2d: with a bias tensor */
  int kernel, pad;    /* conv2d, pool */
  caviar_pool_kind pool;
  int mask;           /* dropout: which mask stream (0-3; the MLP's hidden layer) */
  int tensor;         /* its first parameter tensor; n_tensors of them */
  int n_tensors;
  char name[24];      /* its tensors' saved names start with this ("layers.0") */
} caviar_layer;

#define CAVIAR_MAX_ARCH_LAYERS 48
#define CAVIAR_MAX_TENSORS 64

/* A model: its layers in order, the input's shape and the number of outputs. The last layer's
 * output is the logits (classes x 1 x 1), which the loss reads. */
typedef struct caviar_arch {
  caviar_dims input;
  int classes;
  int n_layers;
  caviar_layer layer[CAVIAR_MAX_ARCH_LAYERS];
  int n_tensors;
} caviar_arch;

/* The architecture of a shape: for an MLP, `layers` times dense -> activation -> dropout, then a
 * dense layer to the outputs. */
void caviar_arch_of(const caviar_shape *shape, caviar_arch *out);

/* Where tensor t is saved and how: "<layer name>.<weight|bias|running_mean|running_var>", with
 * PyTorch's dimensions (dense weight out x in; convolution weight out x in x kh x kw). */
typedef struct caviar_tensor_info {
  char name[40];
  int layer;   /* the layer it belongs to */
  caviar_tensor_role role;
  int n_dims;
  int dims[4];
} caviar_tensor_info;

void caviar_tensor_info_of(const caviar_arch *arch, int t, caviar_tensor_info *out);

/* The layers as JSON, for a saved model's metadata (what a PyTorch module for it is built from):
 * [{"kind": "conv2d", "name": "conv.0", "in": 1, "out": 32, "kernel": 3, "padding": 1, "bias": false},
 * {"kind": "batchnorm", "name": "conv_bn.0", "features": 32, "dims": 2, "eps": 1e-05}, ...]. The
 * caller frees the text; NULL when out of memory. */
char *caviar_arch_json(const caviar_arch *arch);

/* Batch normalisation's epsilon (PyTorch's default). */
#define CAVIAR_BN_EPS 1e-5f

/* The parameter arena's layout for `capacity` members: per tensor, its rows x cols block (the
 * column-major matrix the math sees), its role, the fan-in its initialisation scales by, its
 * elements per member and the padded stride between members' blocks, and where its section of the
 * arena starts. Passed by value to GPU kernels. */
#define CAVIAR_BLOCK_ALIGN 16
typedef struct caviar_layout {
  int n_tensors;
  int rows[CAVIAR_MAX_TENSORS];
  int cols[CAVIAR_MAX_TENSORS];
  uint8_t role[CAVIAR_MAX_TENSORS];   /* caviar_tensor_role */
  int fan_in[CAVIAR_MAX_TENSORS];     /* weights: inputs per output (initialisation) */
  size_t size[CAVIAR_MAX_TENSORS];    /* elements per member */
  size_t stride[CAVIAR_MAX_TENSORS];  /* size rounded up to CAVIAR_BLOCK_ALIGN */
  size_t offset[CAVIAR_MAX_TENSORS];  /* start of the tensor's section in the arena */
  size_t per_member;                  /* parameters per member (sum of size) */
  size_t arena;                       /* elements of one arena for `capacity` members */
  int capacity;
} caviar_layout;

void caviar_layout_of(const caviar_arch *arch, int capacity, caviar_layout *out);
/* caviar_layout_of(caviar_arch_of(shape)). */
void caviar_layout_make(const caviar_shape *shape, int capacity, caviar_layout *out);

static inline float *caviar_block(float *arena, const caviar_layout *layout, int tensor, int member) {
  return arena + layout->offset[tensor] + (size_t)member * layout->stride[tensor];
}

/* The activation buffers of one member's step, floats per example: the output of each layer, the
 * largest of them (gradients flow through two such buffers), and the largest a layer needs for its
 * own scratch (a convolution's unfolded patches). A layer that works in place (an activation)
 * shares its input's buffer. */
typedef struct caviar_act_plan {
  size_t out[CAVIAR_MAX_ARCH_LAYERS]; /* floats per example of layer i's output */
  bool in_place[CAVIAR_MAX_ARCH_LAYERS];
  size_t widest;                      /* the largest output of any layer (gradients flow through two such) */
  size_t scratch;                     /* the largest per-example scratch of any layer */
} caviar_act_plan;

void caviar_act_plan_of(const caviar_arch *arch, caviar_act_plan *out);

/* FLOPs per sample: the forward pass, and a training step (forward, the weight gradients, and the
 * input gradients of every layer but the first: 3x the multiply-adds of each weighted layer less
 * the first's input gradient). Weights: multiply-add weights (dense and convolution weights, not
 * biases or normalisation). */
double caviar_arch_forward_flops(const caviar_arch *arch);
double caviar_arch_train_flops(const caviar_arch *arch);
size_t caviar_arch_weights(const caviar_arch *arch);

/* Shortcuts through caviar_arch_of. */
double caviar_shape_train_flops(const caviar_shape *shape);
size_t caviar_shape_weights(const caviar_shape *shape);

/* Whether every one of n parameters is finite: the second half of the divergence test (with ReLU a
 * NaN weight can leave the loss finite: z > 0 ? z : 0 turns NaN into 0). */
bool caviar_params_finite(const float *params, size_t n);

CAVIAR_C_END

#endif
