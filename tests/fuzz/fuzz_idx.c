/* IDX files, plain or gzipped: the input is an images file and a labels file, split where its
 * first two bytes say. */
#include "caviar/data.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t split = (size_t)(data[0] | data[1] << 8);
  data += 2;
  size -= 2;
  if (split > size) split = size;
  const char *images = fuzz_file(0, data, split), *labels = fuzz_file(1, data + split, size - split);
  caviar_dataset ds;
  caviar_error err;
  if (caviar_idx_read(images, labels, &ds, &err) == CAVIAR_OK) caviar_dataset_free(&ds);
  return 0;
}
