#ifndef CAVIAR_HPARAMS_H
#define CAVIAR_HPARAMS_H
/* The hyperparameters a model understands: a resolved configuration (caviar_hparams) and a table
 * describing each one (name, type, valid range, default) that the spec parser, the samplers and
 * the JSON writers all read, so adding a hyperparameter is one row here. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

typedef enum caviar_optimizer {
  CAVIAR_OPT_SGD,      /* PyTorch's SGD: with `momentum` > 0, v = momentum v + g, w -= lr v */
  CAVIAR_OPT_MOMENTUM, /* the course's momentum: v = beta1 v + (1 - beta1) g */
  CAVIAR_OPT_RMSPROP,  /* squared-gradient average with coefficient beta2 */
  CAVIAR_OPT_ADAM,     /* beta1, beta2, with bias correction */
  CAVIAR_OPT_NESTEROV, /* PyTorch's SGD with nesterov=True, coefficient `momentum` ("nag") */
  CAVIAR_OPT_ADAMW,    /* Adam with decoupled weight decay: l2 (weight_decay) shrinks weights directly */
  CAVIAR_OPT_NADAM     /* Adam with Nesterov momentum (Dozat; optax.nadam's form) */
} caviar_optimizer;

typedef enum caviar_activation {
  CAVIAR_ACT_RELU,
  CAVIAR_ACT_TANH,
  CAVIAR_ACT_SIGMOID,
  CAVIAR_ACT_GELU,      /* x Phi(x), the exact (erf) form, PyTorch's default */
  CAVIAR_ACT_SILU,      /* x sigmoid(x) ("swish") */
  CAVIAR_ACT_LEAKY_RELU /* x, or 0.01 x below 0 (PyTorch's default slope) */
} caviar_activation;

/* The kind of model (model.type): a multilayer perceptron, or convolution blocks and a dense head. */
typedef enum caviar_model_type { CAVIAR_MODEL_MLP, CAVIAR_MODEL_CNN } caviar_model_type;
/* What follows each convolution block: 2 x 2 pooling of stride 2, or nothing. */
typedef enum caviar_pool_choice { CAVIAR_POOL_CHOICE_MAX, CAVIAR_POOL_CHOICE_AVG, CAVIAR_POOL_CHOICE_NONE } caviar_pool_choice;

#define CAVIAR_MAX_LAYERS 4
#define CAVIAR_MAX_CONV_BLOCKS 4

typedef struct caviar_hparams {
  double learning_rate;
  double beta1;
  double beta2;
  double epsilon;
  double l2;       /* weight decay coefficient added to the gradient: lambda * w */
  double dropout;  /* probability of dropping a hidden unit (inverted dropout) */
  double lr_decay; /* lr_epoch = learning_rate / (1 + lr_decay * epoch) */
  double momentum; /* sgd and nesterov: PyTorch's momentum coefficient */
  int hidden;      /* units in every hidden layer */
  int layers;      /* hidden layers, 1..CAVIAR_MAX_LAYERS */
  int batch_size;
  int optimizer;  /* caviar_optimizer */
  int activation; /* caviar_activation */
  /* Convolutional networks (model cnn) and batch normalisation (model.h builds the layers): */
  int model;          /* caviar_model_type */
  int conv_blocks;    /* convolution blocks, 1..CAVIAR_MAX_CONV_BLOCKS */
  int channels;       /* the first block's output channels */
  double channel_growth; /* block b has round(channels * channel_growth^b) channels */
  int kernel_size;    /* odd: "same" padding */
  int pool;           /* caviar_pool_choice, after every block */
  int batchnorm;      /* 0 off, 1 on: after every convolution and hidden dense layer */
  double bn_momentum; /* running statistics: r = (1 - m) r + m * batch statistic (PyTorch's) */
  unsigned inactive; /* bit i: caviar_hp_table[i] means nothing here: switched off by a condition
                      * ("when"), or not part of the model (conv_blocks of an MLP; model.h) */
  unsigned swept;    /* bit i: caviar_hp_table[i] is a parameter of the search space the config was
                      * drawn from (caviar_space_apply_conditions): printed wherever it is active */
} caviar_hparams;

/* One configuration of the sweep: its id (trial k is a pure function of the seed and k) and values. */
typedef struct caviar_trial {
  uint32_t id;
  int round; /* coarse-to-fine round, 0 otherwise */
  caviar_hparams hp;
} caviar_trial;

typedef enum caviar_hp_type {
  CAVIAR_HP_REAL,
  CAVIAR_HP_INT,
  CAVIAR_HP_CHOICE /* one of a fixed list of names; stored as the index into that list */
} caviar_hp_type;

typedef struct caviar_hp_info {
  const char *name;
  caviar_hp_type type;
  double lo, hi; /* valid range (choice: 0 .. n_choices-1) */
  bool lo_open, hi_open;
  const char *const *choices;
  int n_choices;
  double default_value;
  bool quiet_default; /* left out of printed configs while at its default (configs that never use it read as before) */
  size_t offset; /* of the field in caviar_hparams */
  const char *doc;
  bool odd;      /* integers: odd values only (kernel sizes) */
} caviar_hp_info;

extern const caviar_hp_info caviar_hp_table[];
extern const int caviar_hp_count;

/* By name or by an alias people use for it (lr, weight_decay): docs/SPEC.md lists them. */
const caviar_hp_info *caviar_hp_find(const char *name);
/* Every hyperparameter's name, comma-separated, for error messages. */
const char *caviar_hp_names(void);

double caviar_hp_get(const caviar_hparams *hp, const caviar_hp_info *info);
void caviar_hp_set(caviar_hparams *hp, const caviar_hp_info *info, double value);
void caviar_hparams_default(caviar_hparams *hp);
/* Whether the hyperparameter means something in this config: not switched off by a condition
 * ("when"), and part of its model (caviar_hparams_settle, model.h). */
bool caviar_hp_active(const caviar_hparams *hp, const caviar_hp_info *info);
void caviar_hp_set_active(caviar_hparams *hp, const caviar_hp_info *info, bool active);

bool caviar_hp_in_range(const caviar_hp_info *info, double value);
/* The valid range as text, e.g. "[0, 1)" or "(0, inf)". */
void caviar_hp_range_text(const caviar_hp_info *info, char *buf, size_t size);
/* Index of a choice name (any case, or an alias: swish for silu, nag for nesterov), or -1. */
int caviar_hp_choice_index(const caviar_hp_info *info, const char *name);
/* Whether a printed config shows the hyperparameter: active, not a quiet one at its default, and
 * not model or batchnorm of a plain MLP (model.h) unless the config's space sweeps it. */
bool caviar_hp_shown(const caviar_hparams *hp, const caviar_hp_info *info);

const char *caviar_optimizer_name(int optimizer);
const char *caviar_activation_name(int activation);
const char *caviar_pool_choice_name(int pool);

CAVIAR_C_END

#endif
