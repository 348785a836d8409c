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
    "  report DIR [-o FILE]              one self-contained report.html of a sweep's or a study's folder\n"
    "  study init SPEC -o DIR            a study: the samplers and schedule for your own training code\n"
    "  ask DIR                           hand out one trial of a study (a JSON line)\n"
    "  report DIR ID --epoch E --M X     a study trial's values after epoch E: exit 0 go on, 3 stop\n"
    "  tell DIR ID --M X                 a study trial's final values (--status failed)\n"
    "  agent DIR -j N -- COMMAND ...     run COMMAND for a study's trials, N at once\n"
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
    "Exit status: 0 ok, 1 runtime failure, 2 bad input or usage.\n";

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"sweep", caviar_cmd_sweep},
    {"report", caviar_cmd_report},
    {"study", caviar_cmd_study},
    {"ask", caviar_cmd_ask},
    {"tell", caviar_cmd_tell},
    {"agent", caviar_cmd_agent},
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
