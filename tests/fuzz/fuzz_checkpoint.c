/* Training checkpoints: a model plus optimizer state and the run's description. */
#include "caviar/panda.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  caviar_panda p;
  caviar_error err;
  if (caviar_panda_load(fuzz_file(0, data, size), &p, &err) == CAVIAR_OK) caviar_panda_free(&p);
  return 0;
}
