#include "caviar/hparams.h"
#include "caviar/model.h"
#include "caviar/number_format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const optimizer_names[] = {"sgd", "momentum", "rmsprop", "adam", "nesterov", "adamw", "nadam"};
static const char *const activation_names[] = {"relu", "tanh", "sigmoid", "gelu", "silu", "leaky_relu"};
static const char *const model_names[] = {"mlp", "cnn"};
static const char *const pool_names[] = {"max", "avg", "none"};
static const char *const switch_names[] = {"off", "on"};

#define REAL(field, lo, hi, lo_open, hi_open, def, doc) \
  {#field, CAVIAR_HP_REAL, lo, hi, lo_open, hi_open, NULL, 0, def, false, offsetof(caviar_hparams, field), doc, false}
#define QUIET_REAL(field, lo, hi, lo_open, hi_open, def, doc) \
  {#field, CAVIAR_HP_REAL, lo, hi, lo_open, hi_open, NULL, 0, def, true, offsetof(caviar_hparams, field), doc, false}
#define INT(field, lo, hi, def, doc) \
  {#field, CAVIAR_HP_INT, lo, hi, false, false, NULL, 0, def, false, offsetof(caviar_hparams, field), doc, false}
#define ODD_INT(field, lo, hi, def, doc) \
  {#field, CAVIAR_HP_INT, lo, hi, false, false, NULL, 0, def, false, offsetof(caviar_hparams, field), doc, true}
#define CHOICE(field, names, def, doc)                                                           \
  {#field, CAVIAR_HP_CHOICE, 0, (double)(sizeof names / sizeof names[0]) - 1, false, false, names, \
   (int)(sizeof names / sizeof names[0]), def, false, offsetof(caviar_hparams, field), doc, false}

/* Other names for the same thing (same meaning, so the same hyperparameter): a name people use
 * in their own configs, then caviar's. */
static const char *const hp_aliases[][2] = {{"lr", "learning_rate"}, {"weight_decay", "l2"}};
static const char *const choice_aliases[][2] = {{"swish", "silu"}, {"nag", "nesterov"}};

/* The order here is the order of every printed config. */
const caviar_hp_info caviar_hp_table[] = {
    REAL(learning_rate, 0, INFINITY, true, true, 1e-3, "step size (lr)"),
    CHOICE(optimizer, optimizer_names, CAVIAR_OPT_ADAM, "sgd, momentum, rmsprop, adam, nesterov (nag), adamw or nadam"),
    REAL(beta1, 0, 1, false, true, 0.9, "momentum / Adam first-moment coefficient"),
    REAL(beta2, 0, 1, false, true, 0.999, "RMSprop / Adam second-moment coefficient"),
    REAL(epsilon, 0, INFINITY, true, true, 1e-8, "RMSprop / Adam denominator guard"),
    INT(hidden, 1, 65536, 128, "units per hidden layer"),
    INT(layers, 1, CAVIAR_MAX_LAYERS, 1, "hidden layers"),
    INT(batch_size, 1, 65536, 128, "minibatch size"),
    REAL(l2, 0, INFINITY, false, true, 0, "L2 weight decay coefficient"),
    REAL(dropout, 0, 1, false, true, 0, "probability of dropping a hidden unit"),
    REAL(lr_decay, 0, INFINITY, false, true, 0, "lr / (1 + lr_decay * epoch)"),
    CHOICE(activation, activation_names, CAVIAR_ACT_RELU, "relu, tanh, sigmoid, gelu, silu (swish) or leaky_relu"),
    QUIET_REAL(momentum, 0, 1, false, true, 0, "sgd / nesterov momentum coefficient (PyTorch's)"),
    CHOICE(model, model_names, CAVIAR_MODEL_MLP, "mlp, or cnn: convolution blocks, then the dense head"),
    INT(conv_blocks, 1, CAVIAR_MAX_CONV_BLOCKS, 2, "cnn: convolution blocks"),
    INT(channels, 1, 1024, 32, "cnn: output channels of the first block"),
    REAL(channel_growth, 1, 4, false, false, 2, "cnn: each block's channels over the one before"),
    ODD_INT(kernel_size, 1, 7, 3, "cnn: convolution kernel (odd; same padding)"),
    CHOICE(pool, pool_names, CAVIAR_POOL_CHOICE_MAX, "cnn: max, avg or none, 2 x 2 after each block"),
    CHOICE(batchnorm, switch_names, 0, "off or on: batch normalisation after every convolution and hidden layer"),
    REAL(bn_momentum, 0, 1, true, false, 0.1, "batch norm: running statistics' momentum"),
};
const int caviar_hp_count = (int)(sizeof caviar_hp_table / sizeof caviar_hp_table[0]);

const caviar_hp_info *caviar_hp_find(const char *name) {
  for (size_t a = 0; a < sizeof hp_aliases / sizeof hp_aliases[0]; a++)
    if (strcmp(hp_aliases[a][0], name) == 0) name = hp_aliases[a][1];
  for (int i = 0; i < caviar_hp_count; i++)
    if (strcmp(caviar_hp_table[i].name, name) == 0) return &caviar_hp_table[i];
  return NULL;
}

const char *caviar_hp_names(void) {
  static char names[1024];
  if (!names[0]) {
    size_t used = 0;
    for (int i = 0; i < caviar_hp_count; i++)
      used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                               caviar_hp_table[i].name);
  }
  return names;
}

double caviar_hp_get(const caviar_hparams *hp, const caviar_hp_info *info) {
  const char *base = (const char *)hp + info->offset;
  if (info->type == CAVIAR_HP_REAL) return *(const double *)base;
  return (double)*(const int *)base;
}

void caviar_hp_set(caviar_hparams *hp, const caviar_hp_info *info, double value) {
  char *base = (char *)hp + info->offset;
  if (info->type == CAVIAR_HP_REAL)
    *(double *)base = value;
  else
    *(int *)base = (int)value;
}

void caviar_hparams_default(caviar_hparams *hp) {
  memset(hp, 0, sizeof *hp);
  for (int i = 0; i < caviar_hp_count; i++)
    caviar_hp_set(hp, &caviar_hp_table[i], caviar_hp_table[i].default_value);
  caviar_hparams_settle(hp, 0); /* an MLP: the CNN's rows do not apply */
}

bool caviar_hp_active(const caviar_hparams *hp, const caviar_hp_info *info) {
  return !(hp->inactive >> (info - caviar_hp_table) & 1u);
}

void caviar_hp_set_active(caviar_hparams *hp, const caviar_hp_info *info, bool active) {
  unsigned bit = 1u << (info - caviar_hp_table);
  hp->inactive = active ? hp->inactive & ~bit : hp->inactive | bit;
}

bool caviar_hp_in_range(const caviar_hp_info *info, double value) {
  if (isnan(value)) return false;
  if (info->type != CAVIAR_HP_REAL && value != floor(value)) return false;
  if (info->odd && fmod(value, 2.0) == 0) return false;
  if (info->lo_open ? !(value > info->lo) : !(value >= info->lo)) return false;
  if (info->hi_open ? !(value < info->hi) : !(value <= info->hi)) return false;
  return true;
}

void caviar_hp_range_text(const caviar_hp_info *info, char *buf, size_t size) {
  if (info->type == CAVIAR_HP_CHOICE) {
    size_t used = 0;
    for (int i = 0; i < info->n_choices && used < size; i++)
      used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "one of ", info->choices[i]);
    return;
  }
  snprintf(buf, size, "%s%s%s, %s%s", info->odd ? "an odd integer in " : info->type == CAVIAR_HP_INT ? "an integer in " : "",
           info->lo_open ? "(" : "[", CAVIAR_NUM(info->lo), CAVIAR_NUM(info->hi), info->hi_open ? ")" : "]");
}

int caviar_hp_choice_index(const caviar_hp_info *info, const char *name) {
  for (size_t a = 0; a < sizeof choice_aliases / sizeof choice_aliases[0]; a++)
    if (strcasecmp(choice_aliases[a][0], name) == 0) name = choice_aliases[a][1];
  for (int i = 0; i < info->n_choices; i++)
    if (strcasecmp(info->choices[i], name) == 0) return i;
  return -1;
}

bool caviar_hp_shown(const caviar_hparams *hp, const caviar_hp_info *info) {
  bool swept = hp->swept >> (info - caviar_hp_table) & 1u;
  return caviar_hp_active(hp, info) && !(info->quiet_default && caviar_hp_get(hp, info) == info->default_value) &&
         !(caviar_hp_hidden_in_plain_mlp(hp, info) && !swept);
}

const char *caviar_optimizer_name(int optimizer) {
  return optimizer >= 0 && optimizer < (int)(sizeof optimizer_names / sizeof optimizer_names[0]) ? optimizer_names[optimizer] : "?";
}

const char *caviar_pool_choice_name(int pool) {
  return pool >= 0 && pool < (int)(sizeof pool_names / sizeof pool_names[0]) ? pool_names[pool] : "?";
}

const char *caviar_activation_name(int activation) {
  return activation >= 0 && activation < (int)(sizeof activation_names / sizeof activation_names[0]) ? activation_names[activation] : "?";
}
