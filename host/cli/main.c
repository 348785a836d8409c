/* caviar: hyperparameter sweeps that train a whole population of small networks at once. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "usage: caviar COMMAND [ARGS]\n"
    "\n"
    "Hyperparameter sweeps that train a whole population of small networks at once.\n"
    "\n"
    "commands:\n"
    "  sweep [SPEC] [-o DIR]             train the sweep, cull, report and save the best models\n"
    "  report DIR [-o FILE]              one self-contained report.html of a sweep's output folder\n"
    "  sample [SPEC] [-n N] [--seed S]   print the trial configs a sweep draws (JSON lines)\n"
    "  train [CONFIG] [--checkpoint F]   one model, babysat: live curve, resumable, adjustable\n"
    "  eval MODEL [--data PATH]          a saved model's test accuracy and loss\n"
    "  bench [--models N] [--hidden H]   training speed against the machine's measured ceiling\n"
    "  spec                              print the built-in default spec (Fashion-MNIST)\n"
    "  synth DIR                         write a small synthetic dataset (IDX) to try things on\n"
    "  info                              version, backends and devices\n"
    "\n"
    "  caviar COMMAND -h, --help   help for one command\n"
    "  caviar --version        version and backends\n"
    "\n"
    "Exit status: 0 ok, 1 runtime failure, 2 bad input or usage, 3 a sweep stopped by SIGINT, SIGTERM\n"
    "or SIGUSR1 after saving its snapshot and results so far (resumable with caviar sweep --resume).\n";

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"sweep", caviar_cmd_sweep},
    {"report", caviar_cmd_report},
    {"sample", caviar_cmd_sample},
    {"train", caviar_cmd_train},
    {"eval", caviar_cmd_eval},
    {"bench", caviar_cmd_bench},
    {"spec", caviar_cmd_spec},
    {"info", caviar_cmd_info},
    {"synth", caviar_cmd_synth},
};

/* What a command printed must have reached stdout: a full disk or a closed file turns a
 * successful exit into exit 1 with the reason. A pipe whose reader went away (| head, | true) is
 * no error: the results were saved before anything was printed, and SIGPIPE is ignored. */
static int finish_stdout(int rc) {
  errno = 0;
  if (fflush(stdout) == 0 && !ferror(stdout)) return rc;
  int saved = errno;
  struct stat st;
  if (saved == EPIPE || (fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode))) return rc;
  fprintf(stderr, "caviar: cannot write to stdout: %s\n", saved ? strerror(saved) : "write error");
  return rc ? rc : 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage, stderr);
    return CAVIAR_EINPUT;
  }
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
    fputs(usage, stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
    printf("caviar %s (backends: cpu%s)\n", CAVIAR_VERSION, caviar_has_cuda() ? ", cuda" : "");
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name)) return finish_stdout(commands[i].run(argc - 1, argv + 1));
  return caviar_usage_error(NULL, "unknown command '%s'", argv[1]);
}
