/* What a model is: architectures from shapes, and everything derived from an architecture. */
#include "caviar/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *caviar_layer_kind_name(caviar_layer_kind kind) {
  static const char *const names[] = {"dense", "conv2d", "pool", "batchnorm", "flatten", "activation", "dropout"};
  return kind >= 0 && kind < CAVIAR_LAYER_KINDS ? names[kind] : "?";
}

caviar_shape caviar_shape_of(const caviar_hparams *hp, int inputs, int classes) {
  caviar_shape s;
  memset(&s, 0, sizeof s); /* every byte: shapes are compared and hashed whole */
  s.inputs = inputs;
  s.classes = classes;
  s.layers = hp->layers;
  s.hidden = hp->hidden;
  s.batch = hp->batch_size;
  return s;
}

/* The hyperparameters caviar_shape_of reads. */
static const char *const structural[] = {"layers", "hidden", "batch_size"};

bool caviar_hp_is_structural(const caviar_hp_info *info) {
  for (size_t i = 0; i < sizeof structural / sizeof structural[0]; i++)
    if (strcmp(info->name, structural[i]) == 0) return true;
  return false;
}

void caviar_hparams_copy_shape(caviar_hparams *dst, const caviar_hparams *src) {
  for (size_t i = 0; i < sizeof structural / sizeof structural[0]; i++) {
    const caviar_hp_info *info = caviar_hp_find(structural[i]);
    caviar_hp_set(dst, info, caviar_hp_get(src, info));
  }
}

bool caviar_shape_equal(const caviar_shape *a, const caviar_shape *b) {
  return a->inputs == b->inputs && a->classes == b->classes && a->layers == b->layers && a->hidden == b->hidden &&
         a->batch == b->batch;
}

/* splitmix64's finalizer over the fields, folded in one by one. */
uint64_t caviar_shape_hash(const caviar_shape *s) {
  const int fields[] = {s->inputs, s->classes, s->layers, s->hidden, s->batch};
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    h ^= (uint64_t)(uint32_t)fields[i] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    h ^= h >> 31;
  }
  return h;
}

/* ---- building an architecture ---- */

typedef struct builder {
  caviar_arch *arch;
  caviar_dims at;   /* the shape flowing out of the last layer added */
  bool rowwise;     /* whether it flows row by row (the minibatch, a flatten's output) */
} builder;

static caviar_layer *add(builder *b, caviar_layer_kind kind, caviar_dims out, int n_tensors, const char *name) {
  caviar_arch *a = b->arch;
  caviar_layer *l = &a->layer[a->n_layers++];
  memset(l, 0, sizeof *l);
  l->kind = kind;
  l->in = b->at;
  l->out = out;
  l->rowwise = b->rowwise;
  l->tensor = n_tensors > 0 ? a->n_tensors : -1;
  l->n_tensors = n_tensors;
  a->n_tensors += n_tensors;
  if (name) snprintf(l->name, sizeof l->name, "%s", name);
  b->at = out;
  /* Every layer but a flatten writes channel-major blocks. */
  b->rowwise = kind == CAVIAR_LAYER_FLATTEN;
  return l;
}

static void add_dense(builder *b, int units, const char *name) {
  caviar_dims out = {units, 1, 1};
  caviar_layer *l = add(b, CAVIAR_LAYER_DENSE, out, 2, name);
  l->bias = true;
}

static void add_elementwise(builder *b, caviar_layer_kind kind, int mask) {
  caviar_layer *l = add(b, kind, b->at, 0, NULL);
  l->mask = mask;
}

void caviar_arch_of(const caviar_shape *shape, caviar_arch *out) {
  memset(out, 0, sizeof *out);
  out->input = (caviar_dims){shape->inputs, 1, 1};
  out->classes = shape->classes;
  builder b = {out, out->input, true};
  char name[24];
  for (int l = 0; l < shape->layers; l++) {
    snprintf(name, sizeof name, "layers.%d", l);
    add_dense(&b, shape->hidden, name);
    add_elementwise(&b, CAVIAR_LAYER_ACTIVATION, 0);
    add_elementwise(&b, CAVIAR_LAYER_DROPOUT, l);
  }
  snprintf(name, sizeof name, "layers.%d", shape->layers);
  add_dense(&b, shape->classes, name);
}

/* ---- tensors ---- */

static const char *role_suffix(caviar_layer_kind kind, caviar_tensor_role role) {
  switch (role) {
    case CAVIAR_ROLE_WEIGHT: return "weight";
    case CAVIAR_ROLE_BIAS: return "bias";
    case CAVIAR_ROLE_SCALE: return "weight"; /* PyTorch's BatchNorm names its scale weight */
    case CAVIAR_ROLE_SHIFT: return "bias";
    case CAVIAR_ROLE_RUNNING_MEAN: return "running_mean";
    case CAVIAR_ROLE_RUNNING_VAR: return "running_var";
  }
  (void)kind;
  return "?";
}

/* Tensor k (0-based) of a layer: its role, the column-major rows x cols the math sees, the fan-in
 * of its initialisation and PyTorch's dimensions. */
static void layer_tensor(const caviar_layer *l, int k, caviar_tensor_info *info, int *rows, int *cols, int *fan_in) {
  int in = (int)caviar_dims_size(l->in), out = l->out.c;
  static const caviar_tensor_role norm[] = {CAVIAR_ROLE_SCALE, CAVIAR_ROLE_SHIFT, CAVIAR_ROLE_RUNNING_MEAN,
                                            CAVIAR_ROLE_RUNNING_VAR};
  *fan_in = 1;
  info->role = l->kind == CAVIAR_LAYER_BATCHNORM ? norm[k] : k == 0 ? CAVIAR_ROLE_WEIGHT : CAVIAR_ROLE_BIAS;
  if (info->role == CAVIAR_ROLE_WEIGHT && l->kind == CAVIAR_LAYER_CONV2D) {
    *rows = *fan_in = l->in.c * l->kernel * l->kernel;
    *cols = out;
    info->n_dims = 4;
    info->dims[0] = out;
    info->dims[1] = l->in.c;
    info->dims[2] = info->dims[3] = l->kernel;
    return;
  }
  if (info->role == CAVIAR_ROLE_WEIGHT) {
    *rows = *fan_in = in;
    *cols = out;
    info->n_dims = 2;
    info->dims[0] = out;
    info->dims[1] = in;
    return;
  }
  *rows = out;
  *cols = 1;
  info->n_dims = 1;
  info->dims[0] = out;
}

void caviar_tensor_info_of(const caviar_arch *arch, int t, caviar_tensor_info *out) {
  memset(out, 0, sizeof *out);
  for (int i = 0; i < arch->n_layers; i++) {
    const caviar_layer *l = &arch->layer[i];
    if (l->n_tensors == 0 || t < l->tensor || t >= l->tensor + l->n_tensors) continue;
    int rows, cols, fan_in;
    out->layer = i;
    layer_tensor(l, t - l->tensor, out, &rows, &cols, &fan_in);
    snprintf(out->name, sizeof out->name, "%s.%s", l->name, role_suffix(l->kind, out->role));
    return;
  }
}

void caviar_layout_of(const caviar_arch *arch, int capacity, caviar_layout *out) {
  memset(out, 0, sizeof *out);
  out->capacity = capacity;
  out->n_tensors = arch->n_tensors;
  size_t offset = 0;
  for (int i = 0; i < arch->n_layers; i++) {
    const caviar_layer *l = &arch->layer[i];
    for (int k = 0; k < l->n_tensors; k++) {
      int t = l->tensor + k;
      caviar_tensor_info info;
      layer_tensor(l, k, &info, &out->rows[t], &out->cols[t], &out->fan_in[t]);
      out->role[t] = (uint8_t)info.role;
      out->size[t] = (size_t)out->rows[t] * (size_t)out->cols[t];
      out->stride[t] = (out->size[t] + CAVIAR_BLOCK_ALIGN - 1) / CAVIAR_BLOCK_ALIGN * CAVIAR_BLOCK_ALIGN;
      out->offset[t] = offset;
      offset += out->stride[t] * (size_t)capacity;
      out->per_member += out->size[t];
    }
  }
  out->arena = offset;
}

void caviar_layout_make(const caviar_shape *shape, int capacity, caviar_layout *out) {
  caviar_arch arch;
  caviar_arch_of(shape, &arch);
  caviar_layout_of(&arch, capacity, out);
}

/* ---- activations ---- */

void caviar_act_plan_of(const caviar_arch *arch, caviar_act_plan *out) {
  memset(out, 0, sizeof *out);
  out->widest = caviar_dims_size(arch->input);
  for (int i = 0; i < arch->n_layers; i++) {
    const caviar_layer *l = &arch->layer[i];
    out->out[i] = caviar_dims_size(l->out);
    out->in_place[i] = l->kind == CAVIAR_LAYER_ACTIVATION;
    if (out->out[i] > out->widest) out->widest = out->out[i];
  }
}

/* ---- costs ---- */

/* Multiply-adds per sample of a weighted layer (0 for the others). */
static double layer_macs(const caviar_layer *l) {
  if (l->kind == CAVIAR_LAYER_DENSE) return (double)caviar_dims_size(l->in) * (double)l->out.c;
  return 0;
}

size_t caviar_arch_weights(const caviar_arch *arch) {
  size_t weights = 0;
  for (int i = 0; i < arch->n_layers; i++) {
    const caviar_layer *l = &arch->layer[i];
    if (l->kind == CAVIAR_LAYER_DENSE) weights += caviar_dims_size(l->in) * (size_t)l->out.c;
  }
  return weights;
}

double caviar_arch_forward_flops(const caviar_arch *arch) {
  double macs = 0;
  for (int i = 0; i < arch->n_layers; i++) macs += layer_macs(&arch->layer[i]);
  return 2.0 * macs;
}

double caviar_arch_train_flops(const caviar_arch *arch) {
  double first = 0;
  for (int i = 0; i < arch->n_layers && first == 0; i++) first = layer_macs(&arch->layer[i]);
  return 3.0 * caviar_arch_forward_flops(arch) - 2.0 * first;
}

double caviar_shape_train_flops(const caviar_shape *shape) {
  caviar_arch arch;
  caviar_arch_of(shape, &arch);
  return caviar_arch_train_flops(&arch);
}

size_t caviar_shape_weights(const caviar_shape *shape) {
  caviar_arch arch;
  caviar_arch_of(shape, &arch);
  return caviar_arch_weights(&arch);
}

bool caviar_params_finite(const float *params, size_t n) {
  for (size_t k = 0; k < n; k++)
    if (!isfinite(params[k])) return false;
  return true;
}
