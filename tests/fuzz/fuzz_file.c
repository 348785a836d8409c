#include "fuzz_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char paths[2][512];

static void remove_files(void) {
  for (int i = 0; i < 2; i++)
    if (paths[i][0]) unlink(paths[i]);
}

const char *fuzz_file(int slot, const uint8_t *data, size_t size) {
  if (!paths[slot][0]) {
    const char *tmp = getenv("TMPDIR");
    snprintf(paths[slot], sizeof paths[slot], "%s/caviar-fuzz-%d-%d", tmp && tmp[0] ? tmp : "/tmp", (int)getpid(),
             slot);
    if (!paths[0][0] || !paths[1][0]) atexit(remove_files);
  }
  FILE *f = fopen(paths[slot], "wb");
  if (!f) abort();
  if (size && fwrite(data, 1, size, f) != size) abort();
  if (fclose(f) != 0) abort();
  return paths[slot];
}
