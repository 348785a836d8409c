#ifndef CAVIAR_PANDA_H
#define CAVIAR_PANDA_H
/* Panda mode: babysitting one model, as the course calls it. A training run that can stop after
 * any epoch and resume from its checkpoint — parameters, optimizer state and the position of every
 * random stream (seed, epoch, step) — bit for bit, or resume with a hyperparameter changed, the
 * change recorded in the run's history. Checkpoints are safetensors files that also load as
 * models (`caviar eval run.ckpt`). */

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "caviar/backend.h"
#include "caviar/data.h"
#include "caviar/hparams.h"
#include "caviar/model_file.h"
#include "caviar/spec.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

/* The most epochs a run may count (a checkpoint's epochs_done and what it trains on top). */
#define CAVIAR_MAX_EPOCHS_DONE 1000000000

typedef struct caviar_panda {
  caviar_hparams hp;
  uint32_t trial;    /* keys the initial weights and dropout masks */
  uint64_t seed;     /* keys the split, the minibatch order, the weights */
  caviar_data_spec data;
  int epochs_done;   /* epochs trained so far (the next epoch's index) */
  int steps;         /* optimizer steps taken: Adam's t and the dropout counter */
  caviar_shape shape;
  float *params, *first, *second; /* NULL until trained or loaded */
  caviar_scaling scaling;         /* the inputs' scaling, fixed at the first epoch */
  caviar_target_scaling target;   /* regression: the targets' scaling, fixed at the first epoch */
  char **labels;                  /* string labels' names (owned), n_labels of them, or NULL */
  int n_labels;
  cJSON *history;    /* [{"epoch": e, "start": ...} | {"epoch": e, "set": {name: value}}] */
  cJSON *curve;      /* [[epoch, train_loss, val_loss, val_acc, learning_rate], ...] */
  char *data_read;   /* what identifies the data it trained on (caviar_data_identity; owned), or NULL */
} caviar_panda;

/* A fresh run: hyperparameters, trial id, seed, data; history starts with `origin`. */
caviar_status caviar_panda_init(caviar_panda *p, const caviar_hparams *hp, uint32_t trial, uint64_t seed,
                                const caviar_data_spec *data, const char *origin, caviar_error *err);
/* From a file: a `caviar sample` line ({"trial": k, "params": {...}}, optionally "data" and
 * "seed"; trial_given must be < 0), or a sweep spec, whose trial trial_given (0 if < 0) is taken. */
caviar_status caviar_panda_from_config(caviar_panda *p, const char *path, long long trial_given, caviar_error *err);
/* Applies "name=value". Once trained, the shape (hidden, layers) is fixed. Records the change. */
caviar_status caviar_panda_set(caviar_panda *p, const char *assignment, caviar_error *err);

caviar_status caviar_panda_save(const caviar_panda *p, const char *path, caviar_error *err);
/* The run's model as a caviar_model that borrows the run's arrays (for saving). */
void caviar_panda_model(const caviar_panda *p, caviar_model *out);
caviar_status caviar_panda_load(const char *path, caviar_panda *p, caviar_error *err);
/* The run takes the model's shape, weights, input scaling, target scaling and label names (they
 * leave the model, which keeps the rest). */
void caviar_panda_take_model(caviar_panda *p, caviar_model *model);

/* After every epoch: its curve row. */
typedef void (*caviar_panda_epoch_fn)(const caviar_panda *p, int epoch, float train_loss, float val_loss,
                                      float val_acc, float learning_rate, void *ctx);

/* Trains `epochs` more epochs on data (loaded from p->data with p->seed), writing the checkpoint
 * after each when checkpoint is not NULL. A diverging epoch stops the run with an error and leaves
 * the last good checkpoint in place. */
caviar_status caviar_panda_train(caviar_panda *p, caviar_backend *be, caviar_data *data, int epochs,
                                 const char *checkpoint, caviar_panda_epoch_fn on_epoch, void *ctx,
                                 caviar_error *err);

void caviar_panda_free(caviar_panda *p);

CAVIAR_C_END

#endif
