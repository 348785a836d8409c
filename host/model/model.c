/* What a model is: architectures from shapes, and everything derived from an architecture. */
#include "caviar/model.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *caviar_layer_kind_name(caviar_layer_kind kind) {
  static const char *const names[] = {"dense", "conv2d", "pool", "batchnorm", "flatten", "activation", "dropout"};
  return kind >= 0 && kind < CAVIAR_LAYER_KINDS ? names[kind] : "?";
}

caviar_shape caviar_shape_of(const caviar_hparams *hp, caviar_dims image, int classes) {
  caviar_shape s;
  memset(&s, 0, sizeof s); /* every byte: shapes are compared field by field and hashed */
  s.inputs = (int)caviar_dims_size(image);
  s.classes = classes;
  s.layers = hp->layers;
  s.hidden = hp->hidden;
  s.batch = hp->batch_size;
  s.type = hp->model;
  s.batchnorm = hp->batchnorm;
  s.image = (caviar_dims){s.inputs, 1, 1};
  if (hp->model == CAVIAR_MODEL_CNN) {
    s.image = image;
    s.conv_blocks = hp->conv_blocks;
    s.kernel = hp->kernel_size;
    s.pool = hp->pool;
    double width = hp->channels;
    for (int b = 0; b < hp->conv_blocks && b < CAVIAR_MAX_CONV_BLOCKS; b++) {
      double c = floor(width + 0.5);
      s.channels[b] = c < 1 ? 1 : c > 4096 ? 4096 : (int)c;
      width *= hp->channel_growth;
    }
  }
  return s;
}

caviar_shape caviar_mlp_shape(int inputs, int classes, int layers, int hidden, int batch) {
  caviar_hparams hp;
  caviar_hparams_default(&hp);
  hp.layers = layers;
  hp.hidden = hidden;
  hp.batch_size = batch;
  return caviar_shape_of(&hp, (caviar_dims){inputs, 1, 1}, classes);
}

bool caviar_shape_valid(const caviar_shape *s, char *why, size_t size) {
  if (s->type != CAVIAR_MODEL_CNN) return true;
  if (s->image.h * s->image.w <= 1) {
    snprintf(why, size,
             "model cnn needs images, but each example is %d features (data.shape: [C, H, W] for a CSV; IDX images "
             "keep theirs)", s->inputs);
    return false;
  }
  int h = s->image.h, w = s->image.w;
  for (int b = 0; b < s->conv_blocks && s->pool != CAVIAR_POOL_CHOICE_NONE; b++) {
    h /= 2;
    w /= 2;
    if (h < 1 || w < 1) {
      snprintf(why, size,
               "conv_blocks %d with pool %s shrinks the %d x %d image below 1 x 1 (after block %d); use fewer blocks or "
               "pool none",
               s->conv_blocks, caviar_pool_choice_name(s->pool), s->image.h, s->image.w, b + 1);
      return false;
    }
  }
  return true;
}

/* The hyperparameters caviar_shape_of reads. */
static const char *const structural[] = {"layers", "hidden", "batch_size", "model", "conv_blocks",
                                         "channels", "channel_growth", "kernel_size", "pool", "batchnorm"};

bool caviar_hp_is_structural(const caviar_hp_info *info) {
  for (size_t i = 0; i < sizeof structural / sizeof structural[0]; i++)
    if (strcmp(info->name, structural[i]) == 0) return true;
  return false;
}

bool caviar_hparams_same_shape(const caviar_hparams *a, const caviar_hparams *b) {
  for (size_t i = 0; i < sizeof structural / sizeof structural[0]; i++) {
    const caviar_hp_info *info = caviar_hp_find(structural[i]);
    if (caviar_hp_get(a, info) != caviar_hp_get(b, info)) return false;
  }
  return true;
}

void caviar_hparams_copy_shape(caviar_hparams *dst, const caviar_hparams *src) {
  for (size_t i = 0; i < sizeof structural / sizeof structural[0]; i++) {
    const caviar_hp_info *info = caviar_hp_find(structural[i]);
    caviar_hp_set(dst, info, caviar_hp_get(src, info));
  }
}

/* Which configs a hyperparameter applies to, by its name. */
typedef enum applies_rule {
  APPLIES_ALWAYS,
  APPLIES_CNN,             /* a CNN's rows */
  APPLIES_CNN_BLOCKS,      /* channel_growth: a CNN of more than one block */
  APPLIES_BATCHNORM,       /* bn_momentum */
  APPLIES_HIDDEN_IN_PLAIN_MLP /* model, batchnorm: always (a plain MLP prints without them: model.h) */
} applies_rule;

static applies_rule rule_of(const caviar_hp_info *info) {
  static const char *const cnn_only[] = {"conv_blocks", "channels", "kernel_size", "pool"};
  for (size_t i = 0; i < sizeof cnn_only / sizeof cnn_only[0]; i++)
    if (strcmp(info->name, cnn_only[i]) == 0) return APPLIES_CNN;
  if (strcmp(info->name, "channel_growth") == 0) return APPLIES_CNN_BLOCKS;
  if (strcmp(info->name, "bn_momentum") == 0) return APPLIES_BATCHNORM;
  if (strcmp(info->name, "model") == 0 || strcmp(info->name, "batchnorm") == 0) return APPLIES_HIDDEN_IN_PLAIN_MLP;
  return APPLIES_ALWAYS;
}

static bool rule_applies(const caviar_hparams *hp, applies_rule rule) {
  switch (rule) {
  case APPLIES_CNN: return hp->model == CAVIAR_MODEL_CNN;
  case APPLIES_CNN_BLOCKS: return hp->model == CAVIAR_MODEL_CNN && hp->conv_blocks > 1;
  case APPLIES_BATCHNORM: return hp->batchnorm != 0;
  case APPLIES_HIDDEN_IN_PLAIN_MLP:
  case APPLIES_ALWAYS: break;
  }
  return true;
}

/* caviar_hp_table's rows' rules, found once: every config drawn settles every row (a 100,000-trial
 * sweep's names compared again for each took ~0.1 s). */
enum { TABLE_RULES = 64 };
static applies_rule table_rules[TABLE_RULES];
static pthread_once_t table_rules_once = PTHREAD_ONCE_INIT;
static void table_rules_find(void) {
  for (int i = 0; i < caviar_hp_count && i < TABLE_RULES; i++) table_rules[i] = rule_of(&caviar_hp_table[i]);
}

static applies_rule row_rule(int i) {
  pthread_once(&table_rules_once, table_rules_find);
  return i < TABLE_RULES ? table_rules[i] : rule_of(&caviar_hp_table[i]);
}

/* Whether row i of caviar_hp_table means anything for hp's configuration. */
static bool row_applies(const caviar_hparams *hp, int i) {
  return rule_applies(hp, row_rule(i));
}

bool caviar_hp_applies_always(const caviar_hp_info *info) {
  applies_rule rule = row_rule((int)(info - caviar_hp_table));
  return rule == APPLIES_ALWAYS || rule == APPLIES_HIDDEN_IN_PLAIN_MLP;
}

bool caviar_hp_set_plain_mlp(caviar_hparams *hp, const caviar_hp_info *info) {
  if (row_rule((int)(info - caviar_hp_table)) != APPLIES_HIDDEN_IN_PLAIN_MLP) return false;
  if (info->offset == offsetof(caviar_hparams, model)) hp->model = CAVIAR_MODEL_MLP;
  else hp->batchnorm = 0; /* off */
  return true;
}

bool caviar_hp_hidden_in_plain_mlp(const caviar_hparams *hp, const caviar_hp_info *info) {
  return hp->model == CAVIAR_MODEL_MLP && hp->batchnorm == 0 &&
         row_rule((int)(info - caviar_hp_table)) == APPLIES_HIDDEN_IN_PLAIN_MLP;
}

void caviar_hparams_settle(caviar_hparams *hp, unsigned by_conditions) {
  for (int i = 0; i < caviar_hp_count; i++) {
    const caviar_hp_info *info = &caviar_hp_table[i];
    bool off_by_condition = by_conditions >> i & 1u;
    caviar_hp_set_active(hp, info, !off_by_condition && row_applies(hp, i));
  }
}

bool caviar_shape_equal(const caviar_shape *a, const caviar_shape *b) {
  bool same = a->inputs == b->inputs && a->classes == b->classes && a->layers == b->layers && a->hidden == b->hidden &&
              a->batch == b->batch && a->type == b->type && a->batchnorm == b->batchnorm &&
              a->conv_blocks == b->conv_blocks && a->kernel == b->kernel && a->pool == b->pool &&
              a->image.c == b->image.c && a->image.h == b->image.h && a->image.w == b->image.w;
  for (int i = 0; same && i < CAVIAR_MAX_CONV_BLOCKS; i++) same = a->channels[i] == b->channels[i];
  return same;
}

/* splitmix64's finalizer over the fields, folded in one by one. */
uint64_t caviar_shape_hash(const caviar_shape *s) {
  const int fields[] = {s->inputs, s->classes, s->layers, s->hidden, s->batch, s->type, s->batchnorm, s->conv_blocks,
                        s->kernel, s->pool, s->image.c, s->image.h, s->image.w, s->channels[0], s->channels[1],
                        s->channels[2], s->channels[3]};
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

static void add_dense(builder *b, int units, bool bias, const char *name) {
  caviar_dims out = {units, 1, 1};
  caviar_layer *l = add(b, CAVIAR_LAYER_DENSE, out, bias ? 2 : 1, name);
  l->bias = bias;
}

static void add_elementwise(builder *b, caviar_layer_kind kind, int mask) {
  caviar_layer *l = add(b, kind, b->at, 0, NULL);
  l->mask = mask;
}

/* Batch normalisation: scale, shift, running mean and variance, and the step count. */
static void add_batchnorm(builder *b, const char *prefix, int index) {
  char name[24];
  snprintf(name, sizeof name, "%s_bn.%d", prefix, index);
  add(b, CAVIAR_LAYER_BATCHNORM, b->at, 5, name);
}

static void add_conv(builder *b, int channels, int kernel, bool bias, int index) {
  char name[24];
  snprintf(name, sizeof name, "conv.%d", index);
  caviar_dims out = {channels, b->at.h, b->at.w};
  caviar_layer *l = add(b, CAVIAR_LAYER_CONV2D, out, bias ? 2 : 1, name);
  l->bias = bias;
  l->kernel = kernel;
  l->pad = kernel / 2;
}

static void add_pool(builder *b, caviar_pool_kind kind) {
  caviar_dims out = {b->at.c, b->at.h / 2, b->at.w / 2};
  caviar_layer *l = add(b, CAVIAR_LAYER_POOL, out, 0, NULL);
  l->pool = kind;
  l->kernel = 2;
}

void caviar_arch_of(const caviar_shape *shape, caviar_arch *out) {
  memset(out, 0, sizeof *out);
  bool cnn = shape->type == CAVIAR_MODEL_CNN, bn = shape->batchnorm != 0;
  out->input = cnn ? shape->image : (caviar_dims){shape->inputs, 1, 1};
  out->classes = shape->classes;
  builder b = {out, out->input, true};
  char name[24];
  for (int k = 0; cnn && k < shape->conv_blocks; k++) {
    add_conv(&b, shape->channels[k], shape->kernel, !bn, k);
    if (bn) add_batchnorm(&b, "conv", k);
    add_elementwise(&b, CAVIAR_LAYER_ACTIVATION, 0);
    if (shape->pool != CAVIAR_POOL_CHOICE_NONE)
      add_pool(&b, shape->pool == CAVIAR_POOL_CHOICE_MAX ? CAVIAR_POOL_MAX : CAVIAR_POOL_AVG);
  }
  if (cnn) add(&b, CAVIAR_LAYER_FLATTEN, (caviar_dims){(int)caviar_dims_size(b.at), 1, 1}, 0, NULL);
  for (int l = 0; l < shape->layers; l++) {
    snprintf(name, sizeof name, "layers.%d", l);
    add_dense(&b, shape->hidden, !bn, name);
    if (bn) add_batchnorm(&b, "layers", l);
    add_elementwise(&b, CAVIAR_LAYER_ACTIVATION, 0);
    add_elementwise(&b, CAVIAR_LAYER_DROPOUT, l);
  }
  snprintf(name, sizeof name, "layers.%d", shape->layers);
  add_dense(&b, shape->classes, true, name);
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
    case CAVIAR_ROLE_COUNT: return "num_batches_tracked";
  }
  (void)kind;
  return "?";
}

/* Tensor k (0-based) of a layer: its role, the column-major rows x cols the math sees, the fan-in
 * of its initialisation and PyTorch's dimensions. */
static void layer_tensor(const caviar_layer *l, int k, caviar_tensor_info *info, int *rows, int *cols, int *fan_in) {
  int in = (int)caviar_dims_size(l->in), out = l->out.c;
  static const caviar_tensor_role norm[] = {CAVIAR_ROLE_SCALE, CAVIAR_ROLE_SHIFT, CAVIAR_ROLE_RUNNING_MEAN,
                                            CAVIAR_ROLE_RUNNING_VAR, CAVIAR_ROLE_COUNT};
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
  if (info->role == CAVIAR_ROLE_COUNT) {
    *rows = *cols = 1;
    info->n_dims = 0; /* a scalar, int64 in PyTorch's state_dict */
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

char *caviar_arch_json(const caviar_arch *arch) {
  cJSON *list = cJSON_CreateArray();
  bool ok = list != NULL;
  for (int i = 0; ok && i < arch->n_layers; i++) {
    const caviar_layer *l = &arch->layer[i];
    cJSON *o = cJSON_CreateObject();
    ok = o && cJSON_AddItemToArray(list, o) && cJSON_AddStringToObject(o, "kind", caviar_layer_kind_name(l->kind));
    if (ok && l->name[0]) ok = cJSON_AddStringToObject(o, "name", l->name) != NULL;
    switch (l->kind) {
      case CAVIAR_LAYER_DENSE:
      case CAVIAR_LAYER_CONV2D:
        ok = ok && cJSON_AddNumberToObject(o, "in", l->kind == CAVIAR_LAYER_DENSE ? (double)caviar_dims_size(l->in) : l->in.c) &&
             cJSON_AddNumberToObject(o, "out", l->out.c) && cJSON_AddBoolToObject(o, "bias", l->bias);
        if (l->kind == CAVIAR_LAYER_CONV2D)
          ok = ok && cJSON_AddNumberToObject(o, "kernel", l->kernel) && cJSON_AddNumberToObject(o, "padding", l->pad);
        break;
      case CAVIAR_LAYER_BATCHNORM:
        ok = ok && cJSON_AddNumberToObject(o, "features", l->out.c) &&
             cJSON_AddNumberToObject(o, "dims", l->out.h * l->out.w > 1 || l->in.h * l->in.w > 1 ? 2 : 1) &&
             cJSON_AddNumberToObject(o, "eps", (double)CAVIAR_BN_EPS);
        break;
      case CAVIAR_LAYER_POOL:
        ok = ok && cJSON_AddStringToObject(o, "op", l->pool == CAVIAR_POOL_MAX ? "max" : "avg") &&
             cJSON_AddNumberToObject(o, "kernel", l->kernel);
        break;
      default: break;
    }
  }
  char *text = ok ? cJSON_PrintUnformatted(list) : NULL;
  cJSON_Delete(list);
  return text;
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
  for (int i = 0; i < arch->n_layers; i++) {
    const caviar_layer *l = &arch->layer[i];
    out->out[i] = caviar_dims_size(l->out);
    out->in_place[i] = l->kind == CAVIAR_LAYER_ACTIVATION;
    if (out->out[i] > out->widest) out->widest = out->out[i];
    /* A convolution unfolds its input: (C_in k k) values for each output pixel. */
    size_t scratch = l->kind == CAVIAR_LAYER_CONV2D
                         ? (size_t)l->in.c * (size_t)l->kernel * (size_t)l->kernel * caviar_dims_pixels(l->out)
                         : 0;
    if (scratch > out->scratch) out->scratch = scratch;
  }
}

/* ---- costs ---- */

/* Multiply-adds per sample of a weighted layer (0 for the others). */
static double layer_macs(const caviar_layer *l) {
  if (l->kind == CAVIAR_LAYER_DENSE) return (double)caviar_dims_size(l->in) * (double)l->out.c;
  if (l->kind == CAVIAR_LAYER_CONV2D)
    return (double)caviar_dims_pixels(l->out) * (double)l->out.c * (double)l->in.c * (double)(l->kernel * l->kernel);
  return 0;
}

size_t caviar_arch_weights(const caviar_arch *arch) {
  size_t weights = 0;
  for (int i = 0; i < arch->n_layers; i++) {
    const caviar_layer *l = &arch->layer[i];
    if (l->kind == CAVIAR_LAYER_DENSE) weights += caviar_dims_size(l->in) * (size_t)l->out.c;
    if (l->kind == CAVIAR_LAYER_CONV2D) weights += (size_t)l->in.c * (size_t)(l->kernel * l->kernel) * (size_t)l->out.c;
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
