/* Panda mode: one model, trained epoch by epoch, resumable, adjustable between epochs. */
#include "caviar/panda.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/counter_rng.h"
#include "spec/spec_internal.h"
#include "caviar/trainer.h"

caviar_status caviar_panda_init(caviar_panda *p, const caviar_hparams *hp, uint32_t trial, uint64_t seed,
                                const caviar_data_spec *data, const char *origin, caviar_error *err) {
  memset(p, 0, sizeof *p);
  p->hp = *hp;
  p->trial = trial;
  p->seed = seed;
  caviar_status st = caviar_data_spec_copy(data, &p->data, err);
  if (st != CAVIAR_OK) return st;
  p->history = cJSON_CreateArray();
  p->curve = cJSON_CreateArray();
  if (!p->history || !p->curve) {
    caviar_panda_free(p);
    return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory starting a training run");
  }
  cJSON *start = cJSON_CreateObject();
  cJSON_AddNumberToObject(start, "epoch", 0);
  cJSON_AddStringToObject(start, "start", origin);
  cJSON_AddItemToArray(p->history, start);
  return CAVIAR_OK;
}

caviar_status caviar_panda_set(caviar_panda *p, const char *assignment, caviar_error *err) {
  const char *eq = strchr(assignment, '=');
  char name[64];
  if (!eq || eq == assignment || (size_t)(eq - assignment) >= sizeof name)
    return caviar_fail(err, CAVIAR_EINPUT, "--set %s: expected name=value", assignment);
  memcpy(name, assignment, (size_t)(eq - assignment));
  name[eq - assignment] = '\0';
  const char *text = eq + 1;
  const caviar_hp_info *hp = caviar_hp_find(name);
  if (!hp) return caviar_fail(err, CAVIAR_EINPUT, "--set %s: unknown hyperparameter (expected one of: %s)", name, caviar_hp_names());
  if (p->params && (hp->offset == offsetof(caviar_hparams, hidden) || hp->offset == offsetof(caviar_hparams, layers)))
    return caviar_fail(err, CAVIAR_EINPUT, "--set %s: changes the model's shape; a trained model keeps its %s", name, name);
  char range[160];
  caviar_hp_range_text(hp, range, sizeof range);
  double value;
  cJSON *json_value;
  if (hp->type == CAVIAR_HP_CHOICE) {
    int index = caviar_hp_choice_index(hp, text);
    if (index < 0) return caviar_fail(err, CAVIAR_EINPUT, "--set %s: expected %s, got '%s'", name, range, text);
    value = index;
    json_value = cJSON_CreateString(text);
  } else {
    char *end;
    value = strtod(text, &end);
    if (end == text || *end || !caviar_hp_in_range(hp, value))
      return caviar_fail(err, CAVIAR_EINPUT, "--set %s: expected %s, got '%s'", name, range, text);
    json_value = cJSON_CreateNumber(value);
  }
  caviar_hp_set(&p->hp, hp, value);
  cJSON *change = cJSON_CreateObject();
  cJSON_AddNumberToObject(change, "epoch", p->epochs_done);
  cJSON_AddItemToObject(cJSON_AddObjectToObject(change, "set"), name, json_value);
  cJSON_AddItemToArray(p->history, change);
  return CAVIAR_OK;
}

/* A one-member cohort holding the run's model: initial weights, or the ones it had. */
static caviar_status open_cohort(caviar_panda *p, caviar_backend *be, caviar_cohort *c, caviar_error *err) {
  caviar_trial trial = {.id = p->trial, .hp = p->hp};
  caviar_status st = caviar_cohort_init(c, &p->shape, 1, p->seed, err);
  if (st != CAVIAR_OK) return st;
  caviar_cohort_add_resumed(c, &trial, p->steps, p->epochs_done);
  st = caviar_cohort_alloc(be, c, err);
  if (st != CAVIAR_OK) {
    caviar_cohort_free(c);
    return st;
  }
  if (!p->params) return caviar_cohort_init_members(be, c, 0, 1, err);
  st = caviar_cohort_write_arena(be, c, CAVIAR_ARENA_PARAMS, 0, p->params, err);
  if (st == CAVIAR_OK) st = caviar_cohort_write_arena(be, c, CAVIAR_ARENA_FIRST, 0, p->first, err);
  if (st == CAVIAR_OK) st = caviar_cohort_write_arena(be, c, CAVIAR_ARENA_SECOND, 0, p->second, err);
  return st;
}

static caviar_status read_back(caviar_panda *p, caviar_backend *be, caviar_cohort *c, caviar_error *err) {
  size_t n = c->layout.per_member;
  float **slots[] = {&p->params, &p->first, &p->second};
  for (int i = 0; i < 3; i++)
    if (!*slots[i] && !(*slots[i] = caviar_alloc(n, sizeof(float), "the model's state", err))) return CAVIAR_ERUNTIME;
  caviar_status st = caviar_cohort_read_arena(be, c, CAVIAR_ARENA_PARAMS, 0, p->params, err);
  if (st == CAVIAR_OK) st = caviar_cohort_read_arena(be, c, CAVIAR_ARENA_FIRST, 0, p->first, err);
  if (st == CAVIAR_OK) st = caviar_cohort_read_arena(be, c, CAVIAR_ARENA_SECOND, 0, p->second, err);
  return st;
}

/* The run's shape and scaling against the data: a resumed run must find the data it began on. */
static caviar_status adopt_data(caviar_panda *p, caviar_data *data, caviar_error *err) {
  if (p->params) {
    /* A model keeps its classes: the data's names are renumbered to the model's (a subset of
     * them is fine), and only a name the model never learned is refused. */
    caviar_status st = caviar_data_labels_map(data, p->labels, p->n_labels, err);
    if (st != CAVIAR_OK) return st;
  }
  caviar_shape shape = caviar_shape_of(&p->hp, caviar_data_dims(data), data->classes);
  char why[512];
  if (!caviar_shape_valid(&shape, why, sizeof why)) return caviar_fail(err, CAVIAR_EINPUT, "%s", why);
  if ((size_t)shape.batch > data->split.n_train)
    return caviar_fail(err, CAVIAR_EINPUT,
                       "batch_size %d is larger than the training split of %s (%zu examples): no step could be taken",
                       shape.batch, data->train_name, data->split.n_train);
  if (p->params && (shape.inputs != p->shape.inputs || shape.classes != p->shape.classes))
    return caviar_fail(err, CAVIAR_EINPUT, "%s: %d features and %d classes, but the model takes %d and %d",
                       data->train_name, shape.inputs, shape.classes, p->shape.inputs, p->shape.classes);
  p->shape = shape;
  if (!p->params) {
    p->target = data->target;
    for (int k = 0; k < p->n_labels; k++) free(p->labels[k]);
    free(p->labels);
    p->labels = NULL;
    p->n_labels = 0;
    if (data->train.names) {
      p->labels = caviar_alloc((size_t)data->train.n_names, sizeof *p->labels, "label names", err);
      if (!p->labels) return CAVIAR_ERUNTIME;
      for (int k = 0; k < data->train.n_names; k++, p->n_labels++)
        if (!(p->labels[k] = caviar_strdup(data->train.names[k], err))) return CAVIAR_ERUNTIME;
    }
  } else if (data->task == CAVIAR_TASK_REGRESSION) {
    /* A model keeps the target scaling it was trained with. */
    caviar_target_scaling now = data->target;
    for (size_t i = 0; i < data->train.n; i++)
      data->train.targets[i] = (float)(((data->train.targets[i] * now.std + now.mean) - p->target.mean) / p->target.std);
    for (size_t i = 0; i < data->test.n; i++)
      data->test.targets[i] = (float)(((data->test.targets[i] * now.std + now.mean) - p->target.mean) / p->target.std);
    data->target = p->target;
  }
  if (!p->scaling.shift) {
    p->scaling = data->scaling;
    p->scaling.shift = caviar_alloc(data->train.d, sizeof(float), "the input scaling", err);
    p->scaling.scale = caviar_alloc(data->train.d, sizeof(float), "the input scaling", err);
    if (!p->scaling.shift || !p->scaling.scale) return CAVIAR_ERUNTIME;
    memcpy(p->scaling.shift, data->scaling.shift, data->train.d * sizeof(float));
    memcpy(p->scaling.scale, data->scaling.scale, data->train.d * sizeof(float));
  } else {
    /* The model keeps the scaling it was trained with. */
    memcpy(data->scaling.shift, p->scaling.shift, data->train.d * sizeof(float));
    memcpy(data->scaling.scale, p->scaling.scale, data->train.d * sizeof(float));
  }
  return CAVIAR_OK;
}

caviar_status caviar_panda_train(caviar_panda *p, caviar_backend *be, caviar_data *data, int epochs,
                                 const char *checkpoint, caviar_panda_epoch_fn on_epoch, void *ctx,
                                 caviar_error *err) {
  caviar_status st = adopt_data(p, data, err);
  size_t steps_per_epoch = data->split.n_train / (size_t)(p->shape.batch > 0 ? p->shape.batch : 1);
  if (st == CAVIAR_OK && epochs > CAVIAR_MAX_EPOCHS_DONE - p->epochs_done)
    st = caviar_fail(err, CAVIAR_EINPUT, "%d epochs on top of %d would pass the limit of %d", epochs, p->epochs_done,
                     CAVIAR_MAX_EPOCHS_DONE);
  if (st == CAVIAR_OK && (double)p->steps + (double)epochs * (double)steps_per_epoch > INT_MAX)
    st = caviar_fail(err, CAVIAR_EINPUT, "%d epochs of %zu steps on top of step %d would overflow the step counter",
                     epochs, steps_per_epoch, p->steps);
  if (st == CAVIAR_OK) st = be->upload(be, data, err);
  if (st != CAVIAR_OK) return st;
  caviar_cohort c;
  st = open_cohort(p, be, &c, err);
  if (st != CAVIAR_OK) return st;
  uint32_t *order = caviar_alloc(data->split.n_train, sizeof *order, "the minibatch order", err);
  if (!order) st = CAVIAR_ERUNTIME;
  for (int i = 0; st == CAVIAR_OK && i < epochs; i++) {
    int epoch = p->epochs_done;
    caviar_epoch_order(&data->split, p->seed, epoch, order);
    c.tick = (uint32_t)epoch;
    float train_loss = 0, val_loss = 0, val_acc = 0;
    uint8_t diverged = 0;
    caviar_epoch_stats stats = {&train_loss, &diverged, NULL};
    st = caviar_cohort_train(be, &c, order, data->split.n_train, &stats, err);
    if (st == CAVIAR_OK && diverged)
      st = caviar_fail(err, CAVIAR_ERUNTIME,
                       "diverged in epoch %d (minibatch loss %g): lower learning_rate; the checkpoint keeps epoch %d",
                       epoch + 1, (double)train_loss, p->epochs_done);
    if (st == CAVIAR_OK)
      st = be->evaluate(be, &c, CAVIAR_SET_TRAIN, data->split.val, data->split.n_val, &val_loss, &val_acc, err);
    if (st == CAVIAR_OK) st = read_back(p, be, &c, err);
    if (st == CAVIAR_OK && !caviar_params_finite(p->params, c.layout.per_member))
      st = caviar_fail(err, CAVIAR_ERUNTIME,
                       "diverged in epoch %d (NaN or Inf parameters): lower learning_rate; the checkpoint keeps epoch %d",
                       epoch + 1, p->epochs_done);
    if (st != CAVIAR_OK) break;
    caviar_cohort_end_epoch(&c);
    p->steps = c.steps[0];
    p->epochs_done++;
    float lr = caviar_epoch_lr(&c.hp[0], epoch);
    cJSON *row = cJSON_CreateArray();
    double values[] = {p->epochs_done, train_loss, val_loss, val_acc, lr};
    for (int k = 0; k < 5; k++) cJSON_AddItemToArray(row, cJSON_CreateNumber(values[k]));
    cJSON_AddItemToArray(p->curve, row);
    if (on_epoch) on_epoch(p, p->epochs_done, train_loss, val_loss, val_acc, lr, ctx);
    if (st == CAVIAR_OK && checkpoint) st = caviar_panda_save(p, checkpoint, err);
  }
  free(order);
  caviar_cohort_release(be, &c);
  caviar_cohort_free(&c);
  return st;
}

void caviar_panda_free(caviar_panda *p) {
  caviar_data_spec_free(&p->data);
  for (int k = 0; k < p->n_labels; k++) free(p->labels[k]);
  free(p->labels);
  free(p->params);
  free(p->first);
  free(p->second);
  caviar_scaling_free(&p->scaling);
  cJSON_Delete(p->history);
  cJSON_Delete(p->curve);
  free(p->data_read);
  memset(p, 0, sizeof *p);
}
