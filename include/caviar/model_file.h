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
#include "caviar/status.h"

typedef struct caviar_model {
  caviar_shape shape; /* batch is meaningless here */
  caviar_hparams hp;
  uint32_t trial;
  float *params;            /* packed tensor after tensor in layout order */
  caviar_scaling scaling;   /* d = shape.inputs */
} caviar_model;

caviar_status caviar_model_save(const char *path, const caviar_model *model, caviar_error *err);
caviar_status caviar_model_load(const char *path, caviar_model *out, caviar_error *err);
void caviar_model_free(caviar_model *model);

#endif
