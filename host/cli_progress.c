#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"

static void format_duration(double s, char *buf, size_t size) {
  if (!isfinite(s) || s < 0) s = 0;
  long t = (long)(s + 0.5);
  if (t >= 3600) snprintf(buf, size, "%ldh%02ldm", t / 3600, t / 60 % 60);
  else if (t >= 60) snprintf(buf, size, "%ldm%02lds", t / 60, t % 60);
  else snprintf(buf, size, "%lds", t);
}

void caviar_print_progress(const caviar_progress *p, void *ctx) {
  (void)ctx;
  static int tty = -1;
  if (tty < 0) tty = isatty(STDERR_FILENO);
  char eta[32], elapsed[32], rung[32] = "", round[32] = "";
  if (p->rounds > 1) snprintf(round, sizeof round, "round %d/%d  ", p->round + 1, p->rounds);
  format_duration(p->eta_s, eta, sizeof eta);
  format_duration(p->elapsed_s, elapsed, sizeof elapsed);
  if (p->rungs) snprintf(rung, sizeof rung, "  rung %d/%d", p->rung < p->rungs ? p->rung + 1 : p->rungs, p->rungs);
  char best[16] = "-";
  if (!isnan(p->best_val_acc)) snprintf(best, sizeof best, "%.4f", (double)p->best_val_acc);
  char epochs[32] = "";
  if (p->epochs) snprintf(epochs, sizeof epochs, "/%d", p->epochs);
  bool last = p->alive == 0 && p->round + 1 >= p->rounds;
  fprintf(stderr, "%s%sepoch %d%s%s  alive %d  started %d/%d  best val_acc %s  %.1fk model-samples/s  elapsed %s  ETA %s%s",
          tty ? "\r\033[K" : "", round, p->epoch, epochs, rung, p->alive, p->trials, p->budget, best,
          p->model_samples_per_s / 1e3, elapsed, last ? "0s" : eta, tty && !last ? "" : "\n");
  fflush(stderr);
}
