/* Replays inputs through a fuzz target without a fuzzing engine (built with any compiler): every
 * file named, and every file in every folder named. The test run replays the seed corpora and
 * reproducers in tests/fuzz/corpus/ this way (under the sanitizers in build-asan): a crash, a
 * leak or undefined behaviour fails it. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_file.h"

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return 1;
  }
  size_t cap = 1 << 16, n = 0, got;
  unsigned char *buf = malloc(cap);
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      unsigned char *grown = realloc(buf, cap *= 2);
      if (!grown) free(buf);
      buf = grown;
    }
  }
  fclose(f);
  if (!buf) {
    fprintf(stderr, "replay: out of memory reading %s\n", path);
    return 1;
  }
  LLVMFuzzerTestOneInput(buf, n);
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  int failures = 0, inputs = 0;
  for (int i = 1; i < argc; i++) {
    struct stat sb;
    if (stat(argv[i], &sb) != 0) {
      fprintf(stderr, "replay: no %s\n", argv[i]);
      failures++;
      continue;
    }
    if (!S_ISDIR(sb.st_mode)) {
      failures += replay_file(argv[i]);
      inputs++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    struct dirent *e;
    char path[4096];
    while (d && (e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
      failures += replay_file(path);
      inputs++;
    }
    if (d) closedir(d);
  }
  printf("replayed %d inputs\n", inputs);
  return failures || inputs == 0 ? 1 : 0;
}
