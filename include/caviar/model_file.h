#ifndef CAVIAR_MODEL_FILE_H
#define CAVIAR_MODEL_FILE_H
/* Saved models as safetensors files, loadable by PyTorch, JAX and numpy: tensors
 * `layers.<i>.weight` (out x in, like nn.Linear) and `layers.<i>.bias`, the input scaling as
 * `input.shift` and `input.scale` (x' = (x - shift) * scale), and in `__metadata__` the trial's
 * hyperparameters, activation and shape. */

#include <stdint.h>

#include "caviar/data.h"
#include "caviar/hparams.h"
#include "caviar/population.h"
#include "caviar/safetensors.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

typedef struct caviar_model {
  caviar_shape shape; /* batch is meaningless here; classes is the outputs (1: regression) */
  caviar_hparams hp;
  uint32_t trial;
  float *params;            /* packed tensor after tensor in layout order */
  caviar_scaling scaling;   /* d = shape.inputs */
  /* Provenance and meaning of the outputs (saving borrows these; a loaded model owns them). */
  uint64_t seed;            /* the seed that split the data it was trained on */
  bool has_data;            /* whether data (and seed) are known: files from before they were saved lack them */
  caviar_data_spec data;    /* the data section it was trained on, paths absolute */
  caviar_target_scaling target; /* regression: y = output * std + mean */
  char **labels;            /* string labels: class k's name, n_labels of them (NULL: class indices) */
  int n_labels;
  char *data_read;          /* what identifies the data it was trained on (caviar_data_identity), or NULL */
} caviar_model;

/* The provenance and output meaning of a model trained with seed on data loaded from spec. */
void caviar_model_set_origin(caviar_model *model, uint64_t seed, const caviar_data_spec *spec, const caviar_data *data);

caviar_status caviar_model_save(const char *path, const caviar_model *model, caviar_error *err);
caviar_status caviar_model_load(const char *path, caviar_model *out, caviar_error *err);
void caviar_model_free(caviar_model *model);

/* The pieces, for files that hold a model and more (training checkpoints): the model's metadata
 * and tensors into a writer; packed tensors under a name prefix ("" for the model's own,
 * "optimizer.first." for state); a model out of an open file; tensors out under a prefix, every
 * value checked finite and >= min (-INFINITY: any finite value). */
void caviar_model_describe(caviar_st_writer *w, const caviar_model *model);
void caviar_model_add_tensors(caviar_st_writer *w, const caviar_shape *shape, const char *prefix, const float *packed);
caviar_status caviar_model_read(const caviar_st_file *f, caviar_model *out, caviar_error *err);
caviar_status caviar_model_read_tensors(const caviar_st_file *f, const char *prefix, const caviar_shape *shape,
                                        float min, float *packed, caviar_error *err);

CAVIAR_C_END

#endif
