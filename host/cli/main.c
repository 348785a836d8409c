/* caviar: hyperparameter sweeps that train a whole population of small networks at once. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caviar/cpu_ceiling.h"
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
    "  agent SWEEP.yaml -o DIR -j N      run a W&B sweep's program per trial, as wandb agent does\n"
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
    "  --blas-kernel NAME      with any command: run OpenBLAS's NAME kernels (Haswell, SkylakeX,\n"
    "                          Cooperlake, ...; the same as OPENBLAS_CORETYPE=NAME) instead of the\n"
    "                          ones it picks for this CPU, so a sweep gives the same numbers on\n"
    "                          any x86-64 machine that runs NAME (caviar info names the kernel)\n"
    "\n"
    "Exit status: 0 ok, 1 runtime failure (a full disk, out of memory), 2 bad input or usage (an\n"
    "output another caviar is writing), 3 a sweep stopped by SIGINT, SIGTERM, SIGHUP or SIGUSR1 after\n"
    "saving its snapshot and results so far (resumable with caviar sweep --resume).\n";

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

/* This process starts again (the same program, argv, and the environment as changed); returns
 * only when it cannot. */
static void start_again(char **argv) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return;
  self[n] = '\0';
  execv(self, argv);
}

/* --blas-kernel NAME (or =NAME), anywhere before a "--" (the command agent runs after it), for
 * every command: OpenBLAS picks its kernels once, as it loads, reading OPENBLAS_CORETYPE only then,
 * so the process starts again with OPENBLAS_CORETYPE=NAME; started with it, the flag is taken out
 * of argv and the kernel OpenBLAS runs is checked to be NAME (an OpenBLAS that lacks NAME runs its
 * own choice silently). 0, or the exit status of a refusal. */
static int blas_kernel_option(int *argc, char **argv) {
  const char *name = NULL;
  int at = -1, width = 0;
  for (int i = 1; i < *argc && strcmp(argv[i], "--") != 0; i++) {
    if (!strcmp(argv[i], "--blas-kernel")) {
      if (i + 1 >= *argc) return caviar_usage_error(NULL, "--blas-kernel expects a kernel name (Haswell, SkylakeX, ...)");
      name = argv[i + 1], at = i, width = 2;
      i++;
    } else if (!strncmp(argv[i], "--blas-kernel=", 14)) {
      name = argv[i] + 14, at = i, width = 1;
    }
  }
  if (!name) return 0;
  if (!*name || strlen(name) >= sizeof ((caviar_blas_info *)0)->kernel)
    return caviar_usage_error(NULL, "--blas-kernel expects a kernel name (Haswell, SkylakeX, ...), got '%s'", name);
  const char *set = getenv("OPENBLAS_CORETYPE");
  if (!set || strcmp(set, name) != 0) {
    if (setenv("OPENBLAS_CORETYPE", name, 1) == 0) start_again(argv);
    fprintf(stderr, "caviar: --blas-kernel %s: cannot start again with OPENBLAS_CORETYPE=%s: %s\n", name, name,
            strerror(errno));
    return CAVIAR_ERUNTIME;
  }
  caviar_blas_info blas;
  caviar_cpu_blas(&blas);
  if (strcasecmp(blas.kernel, name) != 0)
    return caviar_usage_error(NULL,
                              "--blas-kernel %s: OpenBLAS %s runs %s instead (it has no %s kernel, or not for this "
                              "CPU); caviar info names the kernel it picks",
                              name, blas.version, blas.kernel, name);
  memmove(argv + at, argv + at + width, (size_t)(*argc - at - width + 1) * sizeof *argv);
  *argc -= width;
  return 0;
}

/* What every command needs of the process before it opens anything:
 * - descriptors 0, 1 and 2 open: one closed at start (2>&-) would be taken by the first file a
 *   command opens (a sweep's journal), and messages meant for stderr would land in it; /dev/null
 *   stands in for the closed ones;
 * - no OpenBLAS thread pool under an address-space limit (below);
 * - SIGXFSZ ignored: a file-size limit (ulimit -f) then fails the write with EFBIG, which is
 *   handled as a full disk (a one-line error, temporary files removed, the last snapshot kept),
 *   instead of killing the process mid-write. */
static void standard_process(char **argv) {
  /* Under an address-space limit (ulimit -v), OpenBLAS's own thread pool, started as the library
   * loads with a thread per core each mapping a 128 MiB buffer, can use up the limit before main()
   * and then spins for ever where a buffer does not fit. caviar never calls into that pool (every
   * GEMM is single-threaded, on the backend's own threads: the numbers do not change), so the
   * process starts again with OPENBLAS_NUM_THREADS=1, which keeps the pool from starting; the
   * backend then gives its threads their buffers while the room is known (cpu_room.h). */
  struct rlimit limit;
  const char *blas_threads = getenv("OPENBLAS_NUM_THREADS");
  if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      !(blas_threads && strcmp(blas_threads, "1") == 0) && setenv("OPENBLAS_NUM_THREADS", "1", 1) == 0)
    start_again(argv); /* if it cannot, the run goes on as it was */
  for (int fd = 0; fd < 3; fd++) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    int opened = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (opened >= 0 && opened != fd) {
      dup2(opened, fd);
      close(opened);
    }
  }
  signal(SIGXFSZ, SIG_IGN);
}

int main(int argc, char **argv) {
  standard_process(argv);
  int rc = blas_kernel_option(&argc, argv);
  if (rc) return rc;
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
