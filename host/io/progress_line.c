#include "caviar/progress_line.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void caviar_format_duration(double s, char *buf, size_t size) {
  if (!isfinite(s) || s < 0) s = 0;
  long t = (long)(s + 0.5);
  if (t >= 3600) snprintf(buf, size, "%ldh%02ldm", t / 3600, t / 60 % 60);
  else if (t >= 60) snprintf(buf, size, "%ldm%02lds", t / 60, t % 60);
  else snprintf(buf, size, "%lds", t);
}

typedef struct field {
  char full[112], brief[112]; /* brief "": the field goes when it must be shortened */
  int keep;                 /* higher stays longer */
  int form;                 /* 0 full, 1 brief, 2 dropped */
} field;

enum { ROUND, EPOCH, RUNG, ALIVE, BEST, BEST_ALIVE, SPEED, ELAPSED, ETA, N_FIELDS };

static size_t line_length(const field *f) {
  size_t n = 0;
  int shown = 0;
  for (int i = 0; i < N_FIELDS; i++) {
    const char *text = f[i].form == 0 ? f[i].full : f[i].form == 1 ? f[i].brief : "";
    if (!*text) continue;
    n += strlen(text) + (shown++ ? 2 : 0);
  }
  return n;
}

static void metric_text(float value, char *buf, size_t size) {
  if (isnan(value)) snprintf(buf, size, "-");
  else snprintf(buf, size, "%.4f", (double)value);
}

size_t caviar_progress_line(const caviar_progress *p, int width, char *buf, size_t size) {
  field f[N_FIELDS];
  memset(f, 0, sizeof f);
  char a[32], b[32];
  if (p->rounds > 1) {
    snprintf(f[ROUND].full, sizeof f[ROUND].full, "round %d/%d", p->round + 1, p->rounds);
    snprintf(f[ROUND].brief, sizeof f[ROUND].brief, "r%d/%d", p->round + 1, p->rounds);
  }
  /* The epochs of the trials training now, out of the most any trains: one number when they agree
   * (everyone started together), a range when a refilled population's members are at different
   * epochs. Within an epoch, the one each is training and how far into it. */
  char epochs[16] = "", span[32];
  if (p->epochs) snprintf(epochs, sizeof epochs, "/%d", p->epochs);
  int lo = p->epoch_lo, hi = p->epoch_hi, next = p->within_epoch ? 1 : 0;
  bool range = p->alive > 0 && lo != hi;
  if (range) snprintf(span, sizeof span, "%d-%d", lo + next, hi + next);
  else snprintf(span, sizeof span, "%d", lo + next);
  char pct[8] = "", pct_brief[8] = "";
  if (p->within_epoch) {
    snprintf(pct, sizeof pct, " %2d%%", (int)(100 * p->epoch_done));
    snprintf(pct_brief, sizeof pct_brief, " %d%%", (int)(100 * p->epoch_done));
  }
  snprintf(f[EPOCH].full, sizeof f[EPOCH].full, "epoch%s %s%s%s", range ? "s" : "", span, epochs, pct);
  snprintf(f[EPOCH].brief, sizeof f[EPOCH].brief, "ep %s%s%s", span, epochs, pct_brief);
  if (p->rungs) {
    snprintf(f[RUNG].full, sizeof f[RUNG].full, "rung %d/%d", p->rung < p->rungs ? p->rung + 1 : p->rungs, p->rungs);
  }
  snprintf(f[ALIVE].full, sizeof f[ALIVE].full, "alive %d  started %d/%d", p->alive, p->trials, p->budget);
  snprintf(f[ALIVE].brief, sizeof f[ALIVE].brief, "alive %d", p->alive);
  const char *metric = p->metric ? p->metric : "val_acc";
  /* The best trial so far and the epoch its value is from (docs/SPEC.md: the leaderboard's first). */
  metric_text(p->best, a, sizeof a);
  if (p->best_trial >= 0 && !isnan(p->best)) {
    snprintf(f[BEST].full, sizeof f[BEST].full, "best %s %s (trial %d, epoch %d)", metric, a, p->best_trial,
             p->best_epoch);
    snprintf(f[BEST].brief, sizeof f[BEST].brief, "best %s (ep %d)", a, p->best_epoch);
  } else {
    snprintf(f[BEST].full, sizeof f[BEST].full, "best %s -", metric);
    snprintf(f[BEST].brief, sizeof f[BEST].brief, "best -");
  }
  if (p->alive > 0 && !isnan(p->best_alive)) {
    metric_text(p->best_alive, a, sizeof a);
    snprintf(f[BEST_ALIVE].full, sizeof f[BEST_ALIVE].full, "best alive %s", a);
  }
  snprintf(f[SPEED].full, sizeof f[SPEED].full, "%.1fk model-samples/s", p->model_samples_per_s / 1e3);
  snprintf(f[SPEED].brief, sizeof f[SPEED].brief, "%.1fk/s", p->model_samples_per_s / 1e3);
  /* A bare duration would read as the ETA: elapsed keeps its label or goes. */
  caviar_format_duration(p->elapsed_s, a, sizeof a);
  snprintf(f[ELAPSED].full, sizeof f[ELAPSED].full, "elapsed %s", a);
  if (p->eta_s < 0) {
    snprintf(f[ETA].full, sizeof f[ETA].full, "ETA measuring");
    snprintf(f[ETA].brief, sizeof f[ETA].brief, "ETA ?");
  } else {
    caviar_format_duration(p->eta_s, b, sizeof b);
    snprintf(f[ETA].full, sizeof f[ETA].full, "ETA %s", b);
  }
  static const int keep[N_FIELDS] = {[ROUND] = 3, [EPOCH] = 9, [RUNG] = 4, [ALIVE] = 5, [BEST] = 8,
                                     [BEST_ALIVE] = 2, [SPEED] = 1, [ELAPSED] = 0, [ETA] = 7};
  for (int i = 0; i < N_FIELDS; i++) {
    f[i].keep = keep[i];
    if (!f[i].brief[0] && i != ELAPSED) memcpy(f[i].brief, f[i].full, sizeof f[i].brief);
  }
  if (width < 1) width = 1;
  /* Least important first, until the line fits: the minor fields are shortened, then dropped,
   * one by one; then the epoch, best so far and ETA are shortened; then the ETA and the best go
   * (the epoch never). */
  static const struct { int keep, form; } steps[] = {{0, 1}, {0, 2}, {1, 1}, {1, 2}, {2, 1}, {2, 2}, {3, 1}, {3, 2},
                                                     {4, 1}, {4, 2}, {5, 1}, {5, 2}, {8, 1}, {7, 1}, {9, 1}, {7, 2},
                                                     {8, 2}};
  for (size_t k = 0; k < sizeof steps / sizeof steps[0] && line_length(f) > (size_t)width; k++)
    for (int i = 0; i < N_FIELDS; i++)
      if (f[i].keep == steps[k].keep) f[i].form = steps[k].form;
  size_t n = 0;
  if (size == 0) return 0;
  buf[0] = '\0';
  for (int i = 0; i < N_FIELDS; i++) {
    const char *text = f[i].form == 0 ? f[i].full : f[i].form == 1 ? f[i].brief : "";
    if (!*text) continue;
    n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? "  " : "", text);
    if (n >= size) n = size - 1;
  }
  /* Narrower than the most important field alone: cut it. */
  if (n > (size_t)width) n = (size_t)width;
  buf[n] = '\0';
  return n;
}
