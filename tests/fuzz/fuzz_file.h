#ifndef CAVIAR_FUZZ_FILE_H
#define CAVIAR_FUZZ_FILE_H
/* The fuzz targets: each takes one input (libFuzzer's entry point, which AFL++ drives too, and
 * replay.c replays for the test run) and feeds it to one reader. The readers take paths, so the
 * input is written to a file of this process's own first. */

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes data to this process's scratch file number slot (0 or 1) and returns its path. */
const char *fuzz_file(int slot, const uint8_t *data, size_t size);

#endif
