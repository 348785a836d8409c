/* Saved models: the safetensors reader, then the model's metadata, shape and tensors. */
#include "caviar/model_file.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  caviar_model model;
  caviar_error err;
  if (caviar_model_load(fuzz_file(0, data, size), &model, &err) == CAVIAR_OK) caviar_model_free(&model);
  return 0;
}
