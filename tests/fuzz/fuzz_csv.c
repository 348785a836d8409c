/* CSV files, plain or gzipped. */
#include "caviar/data.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  caviar_dataset ds;
  caviar_error err;
  if (caviar_csv_read(fuzz_file(0, data, size), &ds, &err) == CAVIAR_OK) caviar_dataset_free(&ds);
  return 0;
}
