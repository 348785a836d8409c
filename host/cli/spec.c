/* caviar spec: print the built-in default spec, a starting point for your own. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: caviar spec\n"
    "\n"
    "Print the built-in default sweep spec (Fashion-MNIST) to stdout: copy it, edit it, and pass\n"
    "the file to `caviar sample`. docs/SPEC.md describes every key.\n"
    "\n"
    "  -h, --help   this text\n";

int caviar_cmd_spec(int argc, char **argv) {
  if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
    fputs(usage, stdout);
    return 0;
  }
  if (argc > 1) return caviar_usage_error("spec", "takes no arguments, got '%s'", argv[1]);
  fputs(caviar_spec_default_text(), stdout);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "caviar: cannot write to stdout\n");
    return CAVIAR_ERUNTIME;
  }
  return 0;
}
