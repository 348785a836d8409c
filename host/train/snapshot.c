/* Snapshots of a sweep at an epoch boundary, the trainer's hooks around them, and opening a
 * sweep's state folder to start or resume (include/caviar/sweep_state.h).
 *
 * A snapshot holds exactly what the rest of the sweep depends on: the results so far (every
 * trial's record, learning curves, survivors' weights, PBT lineage), the round's trials (tpe's
 * proposals included) and where they went, the rung records, and every live member's books
 * (trial, hyperparameters, steps, epochs) with its parameters and both optimizer states read
 * through the backend. Everything random is a counter function of (seed, trial, step or epoch),
 * so nothing else is needed: the minibatch order is a function of the epoch, dropout of the
 * member's step, PBT's draws of the epoch; tpe's observations are replayed from the learning
 * curves in order; coarse-to-fine boxes are zoomed again from the finished rounds' results. The
 * file is native-endian binary, checked by a CRC-32 trailer, sized fields and the sweep's
 * identity, and written through a temporary file renamed into place (the previous one kept as
 * snapshot.prev.bin). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>

#include "caviar/atomic_file.h"
#include "caviar/json_text.h"
#include "train/sweep_state_internal.h"

#define SNAP_MAGIC "CAVIARS1"
/* 3: PBT's lineage as events; 4: a config's inactive bits mean "nothing for this model" (model and
 * batchnorm always on, meaningless values the fixed ones) and its swept bits are kept, so an older
 * snapshot's configs would mix two rules on resume. */
#define SNAP_VERSION 4u

void caviar_fault_point(const char *name) {
  static char names[16][16];
  static int counts[16];
  const char *spec = getenv("CAVIAR_KILL_AT"), *only = getenv("CAVIAR_KILL_RANK");
  if (!spec) return;
  if (only && caviar_launcher_rank() != atoi(only)) return;
  int k = 0;
  while (k < 16 && names[k][0] && strcmp(names[k], name) != 0) k++;
  if (k == 16) return;
  if (!names[k][0]) snprintf(names[k], sizeof names[k], "%s", name);
  int count = ++counts[k];
  /* NAME:K[:INT|:TERM|:HUP|:USR1|:STOP], comma-separated: the K-th pass of NAME raises SIGKILL (or the
   * signal named). */
  char entry[64];
  for (const char *p = spec; *p;) {
    size_t len = strcspn(p, ",");
    snprintf(entry, sizeof entry, "%.*s", (int)(len < 63 ? len : 63), p);
    p += len + (p[len] == ',');
    char *colon = strchr(entry, ':');
    if (!colon) continue;
    *colon = '\0';
    char *sig = strchr(colon + 1, ':');
    if (strcmp(entry, name) != 0 || atoi(colon + 1) != count) continue;
    raise(sig && !strcmp(sig + 1, "INT")    ? SIGINT
          : sig && !strcmp(sig + 1, "TERM") ? SIGTERM
          : sig && !strcmp(sig + 1, "HUP")  ? SIGHUP
          : sig && !strcmp(sig + 1, "USR1") ? SIGUSR1
          : sig && !strcmp(sig + 1, "STOP") ? SIGSTOP
                                            : SIGKILL);
  }
}

/* ---- writing ---- */

typedef struct writer {
  FILE *f;
  uLong crc;
  size_t bytes;
} writer;

static void put(writer *w, const void *p, size_t n) {
  if (n == 0) return;
  w->crc = crc32(w->crc, p, (uInt)n);
  /* crc32 takes at most 4 GiB at once: large arenas come in pieces through put_floats. */
  fwrite(p, 1, n, w->f);
  w->bytes += n;
}
static void put_i32(writer *w, int32_t v) { put(w, &v, sizeof v); }
static void put_u32(writer *w, uint32_t v) { put(w, &v, sizeof v); }
static void put_u64(writer *w, uint64_t v) { put(w, &v, sizeof v); }
static void put_f64(writer *w, double v) { put(w, &v, sizeof v); }
static void put_floats(writer *w, const float *p, size_t n) {
  while (n > 0) {
    size_t k = n < ((size_t)1 << 28) ? n : ((size_t)1 << 28);
    put(w, p, k * sizeof *p);
    p += k;
    n -= k;
  }
}

/* The parts of a trial's record that are plain values (its pointers zeroed). */
static void put_result(writer *w, const caviar_trial_result *t) {
  caviar_trial_result plain;
  memset(&plain, 0, sizeof plain);
  plain.trial = t->trial;
  plain.shape = t->shape;
  plain.bracket = t->bracket;
  plain.status = t->status;
  plain.epochs = t->epochs;
  plain.train_loss = t->train_loss;
  plain.val_loss = t->val_loss;
  plain.val_acc = t->val_acc;
  plain.test_loss = t->test_loss;
  plain.test_acc = t->test_acc;
  plain.best_epoch = t->best_epoch;
  plain.best_train_loss = t->best_train_loss;
  plain.best_val_loss = t->best_val_loss;
  plain.best_val_acc = t->best_val_acc;
  plain.kept_best = t->kept_best;
  put(w, &plain, sizeof plain);
}

static size_t per_member(const caviar_shape *shape) {
  caviar_layout layout;
  caviar_layout_make(shape, 1, &layout);
  return layout.per_member;
}

static void put_member(writer *w, const caviar_member_books *h, const float *arenas, size_t floats) {
  put_u32(w, h->trial);
  put(w, &h->hp, sizeof h->hp);
  put_i32(w, h->steps);
  put_i32(w, h->epochs);
  put_floats(w, arenas, floats);
}

static caviar_status write_body(writer *w, const run_state *s, const int *held, float *slot_buf, unsigned char *message,
                                caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  const caviar_sweep_result *r = s->result;
  /* The sweep. */
  put_i32(w, s->sched.round);
  put_i32(w, r->n_trials);
  put_f64(w, r->model_samples);
  /* Once the progress line's best value; unused now (the best trial is found from the results),
   * kept so snapshots keep their layout. */
  float unused = NAN;
  put(w, &unused, sizeof unused);
  put_i32(w, s->prog.epochs_run);
  put_f64(w, s->prog.prior_wall + caviar_now() - s->prog.start);
  for (int i = 0; i < r->n_trials; i++) {
    const caviar_trial_result *t = &r->trials[i];
    put_result(w, t);
    put_u32(w, (uint32_t)t->n_lineage);
    for (int k = 0; k < t->n_lineage; k++) {
      put_i32(w, t->lineage[k].epoch);
      put_u64(w, (uint64_t)t->lineage[k].from);
      put(w, &t->lineage[k].hp, sizeof t->lineage[k].hp);
    }
    put_i32(w, t->params != NULL);
    if (t->params) put_floats(w, t->params, per_member(&t->shape));
  }
  put_u64(w, r->n_curve);
  put(w, r->curve, r->n_curve * sizeof *r->curve);
  caviar_fault_point("snapshot");
  /* The round. */
  put_i32(w, s->sched.count);
  put_i32(w, s->sched.next);
  put_i32(w, s->sched.running);
  put_i32(w, s->sched.tick);
  put(w, s->sched.trials, (size_t)s->sched.count * sizeof *s->sched.trials);
  for (int i = 0; i < s->sched.count; i++) put_i32(w, s->work.groups.cohort_of[i]);
  /* Where each trial of the round lives, and among how many ranks. */
  put_i32(w, caviar_world_size(sw->world));
  for (int i = 0; i < s->sched.count; i++) put_i32(w, s->rank.owner[i]);
  int n_records = r->brackets.n_brackets * CAVIAR_MAX_RUNGS;
  put_i32(w, n_records);
  for (int k = 0; k < n_records; k++) {
    const caviar_rung_record *rec = &s->sched.records[k];
    put_i32(w, rec->n);
    put(w, rec->loss, (size_t)rec->n * sizeof *rec->loss);
    put(w, rec->acc, (size_t)rec->n * sizeof *rec->acc);
    put(w, rec->trial, (size_t)rec->n * sizeof *rec->trial);
  }
  put_i32(w, s->work.groups.n_cohorts);
  int size = caviar_world_size(sw->world);
  for (int c = 0; c < s->work.groups.n_cohorts; c++) {
    caviar_cohort *cohort = &s->work.cohorts[c];
    put(w, &cohort->shape, sizeof cohort->shape);
    put_f64(w, s->prog.trained_epochs[c]);
    put_f64(w, s->prog.step_s[c]);
    put_f64(w, s->prog.steady_s[c]);
    put_f64(w, s->prog.steady_steps[c]);
    put_i32(w, s->rank.cohort_started[c]);
    int total = 0;
    for (int r = 0; r < size; r++) total += held[r * s->work.groups.n_cohorts + c];
    put_i32(w, total);
    /* Rank 0's members, then each other rank's as it sends them (send_members), slot by slot. */
    size_t floats = (size_t)caviar_cohort_arenas(cohort) * cohort->layout.per_member;
    for (int slot = 0; slot < cohort->n; slot++) {
      caviar_member_books h;
      caviar_status st = caviar_cohort_take_member(sw->backend, cohort, slot, &h, slot_buf, err);
      if (st != CAVIAR_OK) return st;
      put_member(w, &h, slot_buf, floats);
    }
    for (int r = 1; r < size; r++)
      for (int k = 0; k < held[r * s->work.groups.n_cohorts + c]; k++) {
        caviar_status st = caviar_world_recv(sw->world, r, message, sizeof(caviar_member_books) + floats * sizeof(float), err);
        if (st != CAVIAR_OK) return st;
        caviar_member_books h;
        memcpy(&h, message, sizeof h);
        put_member(w, &h, (const float *)(const void *)(message + sizeof h), floats);
      }
  }
  return CAVIAR_OK;
}

/* A rank other than 0 at a snapshot: its members, cohort by cohort and slot by slot, to rank 0. */
static caviar_status send_members(const run_state *s, unsigned char *message, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  for (int c = 0; c < s->work.groups.n_cohorts; c++) {
    caviar_cohort *cohort = &s->work.cohorts[c];
    size_t floats = (size_t)caviar_cohort_arenas(cohort) * cohort->layout.per_member;
    for (int slot = 0; slot < cohort->n; slot++) {
      caviar_member_books h;
      caviar_status st = caviar_cohort_take_member(sw->backend, cohort, slot, &h, (float *)(void *)(message + sizeof h), err);
      memcpy(message, &h, sizeof h);
      if (st == CAVIAR_OK) st = caviar_world_send(sw->world, 0, message, sizeof h + floats * sizeof(float), err);
      if (st != CAVIAR_OK) return st;
    }
  }
  return CAVIAR_OK;
}

/* Rank 0 writes the snapshot; every other rank sends it its members (held: every rank's member
 * count per cohort). */
static caviar_status write_snapshot(caviar_sweep_state *st, const run_state *s, const int *held, float *slot_buf,
                                   unsigned char *message, caviar_error *err) {
  char tmp[4500], prev[4300];
  caviar_temporary_name(st->snap_path, tmp, sizeof tmp);
  int fd = mkstemp(tmp);
  if (fd < 0) return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot write: %s", st->snap_path, strerror(errno));
  writer w = {fdopen(fd, "wb"), crc32(0L, Z_NULL, 0), 0};
  if (!w.f) {
    close(fd);
    unlink(tmp);
    return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot write: %s", st->snap_path, strerror(errno));
  }
  setvbuf(w.f, NULL, _IOFBF, 1 << 20);
  put(&w, SNAP_MAGIC, 8);
  put_u32(&w, SNAP_VERSION);
  put_u32(&w, (uint32_t)sizeof(caviar_trial_result));
  put_u32(&w, (uint32_t)sizeof(caviar_trial));
  put_u32(&w, (uint32_t)sizeof(caviar_curve_point));
  put_u32(&w, (uint32_t)sizeof(caviar_hparams));
  put_u32(&w, st->identity_crc);
  put_u64(&w, st->journal_len);
  put_u32(&w, st->journal_crc);
  caviar_status status = write_body(&w, s, held, slot_buf, message, err);
  uint32_t crc = (uint32_t)w.crc;
  if (status == CAVIAR_OK) fwrite(&crc, sizeof crc, 1, w.f);
  int e = 0;
  if (status == CAVIAR_OK && (fflush(w.f) != 0 || ferror(w.f))) e = errno ? errno : EIO;
  if (status == CAVIAR_OK && !e && fsync(fd) != 0) e = errno;
  if (fclose(w.f) != 0 && status == CAVIAR_OK && !e) e = errno ? errno : EIO;
  if (status == CAVIAR_OK && e) status = caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot write: %s", st->snap_path, strerror(e));
  if (status != CAVIAR_OK) {
    unlink(tmp);
    return status;
  }
  snprintf(prev, sizeof prev, "%s/snapshot.prev.bin", st->dir);
  if (rename(st->snap_path, prev) != 0 && errno != ENOENT) e = errno;
  if (!e && rename(tmp, st->snap_path) != 0) e = errno;
  if (e) {
    unlink(tmp);
    return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot move into place: %s", st->snap_path, strerror(e));
  }
  return CAVIAR_OK;
}

/* A snapshot at this epoch boundary: every rank's member counts to every rank, then rank 0 writes
 * while the others send their members. */
static caviar_status snapshot(caviar_sweep_state *st, const run_state *s, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  int n_cohorts = s->work.groups.n_cohorts, size = caviar_world_size(sw->world);
  size_t biggest = 1;
  for (int c = 0; c < n_cohorts; c++)
    if ((size_t)caviar_cohort_arenas(&s->work.cohorts[c]) * s->work.cohorts[c].layout.per_member > biggest)
      biggest = (size_t)caviar_cohort_arenas(&s->work.cohorts[c]) * s->work.cohorts[c].layout.per_member;
  int *mine = caviar_alloc((size_t)n_cohorts + 1, sizeof *mine, "a snapshot", err);
  size_t *counts = caviar_alloc((size_t)size, sizeof *counts, "a snapshot", err);
  float *slot_buf = caviar_alloc(biggest, sizeof *slot_buf, "a snapshot", err);
  unsigned char *message = caviar_alloc(sizeof(caviar_member_books) + biggest * sizeof(float), 1, "a snapshot", err);
  void *held = NULL;
  caviar_status status = mine && counts && slot_buf && message ? CAVIAR_OK : CAVIAR_ERUNTIME;
  for (int c = 0; status == CAVIAR_OK && c < n_cohorts; c++) mine[c] = s->work.cohorts[c].n;
  if (status == CAVIAR_OK) status = caviar_world_allgather(sw->world, mine, (size_t)n_cohorts * sizeof *mine, &held, counts, err);
  if (status == CAVIAR_OK)
    status = st->follower ? send_members(s, message, err) : write_snapshot(st, s, held, slot_buf, message, err);
  free(held);
  free(mine);
  free(counts);
  free(slot_buf);
  free(message);
  return status;
}

/* ---- reading ---- */

static bool get(caviar_sweep_state *st, void *p, size_t n) {
  if (st->snap_size - 4 - st->pos < n) return false;
  memcpy(p, st->snap + st->pos, n);
  st->pos += n;
  return true;
}
static bool get_i32(caviar_sweep_state *st, int32_t *v) { return get(st, v, sizeof *v); }
static bool get_u32(caviar_sweep_state *st, uint32_t *v) { return get(st, v, sizeof *v); }
static bool get_u64(caviar_sweep_state *st, uint64_t *v) { return get(st, v, sizeof *v); }
static bool get_f64(caviar_sweep_state *st, double *v) { return get(st, v, sizeof *v); }

static caviar_status damaged(const caviar_sweep_state *st, const char *what, caviar_error *err) {
  return caviar_fail(err, CAVIAR_EINPUT, "%s: damaged snapshot: %s", st->snap_path, what);
}

/* Reads a whole snapshot and checks its trailer, header and journal; why says what is wrong. */
static bool load_snapshot(caviar_sweep_state *st, const char *path, char *why, size_t why_size) {
  free(st->snap);
  st->snap = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(why, why_size, "%s: cannot read: %s", path, strerror(errno));
    return false;
  }
  struct stat sb;
  size_t size = fstat(fileno(f), &sb) == 0 && sb.st_size > 0 ? (size_t)sb.st_size : 0;
  unsigned char *buf = size ? malloc(size) : NULL;
  bool ok = buf && fread(buf, 1, size, f) == size;
  fclose(f);
  if (!ok) {
    free(buf);
    snprintf(why, why_size, "%s: %s", path, size ? "cannot read it whole" : "empty");
    return false;
  }
  snprintf(st->snap_path, sizeof st->snap_path, "%s", path);
  st->snap = buf;
  st->snap_size = size;
  st->pos = 0;
  size_t header = 8 + 6 * 4 + 8 + 4;
  uint32_t trailer = 0;
  if (size >= header + 4) memcpy(&trailer, buf + size - 4, 4);
  if (size < header + 4 || (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(size - 4)) != trailer) {
    snprintf(why, why_size, "%s: truncated or corrupt (CRC-32 mismatch over %zu bytes)", path, size);
    return false;
  }
  char magic[8] = {0};
  uint32_t version = 0, sizes[4] = {0}, identity = 0, journal_crc = 0;
  uint64_t journal_len = 0;
  get(st, magic, 8);
  get_u32(st, &version);
  for (int i = 0; i < 4; i++) get_u32(st, &sizes[i]);
  get_u32(st, &identity);
  get_u64(st, &journal_len);
  get_u32(st, &journal_crc);
  if (memcmp(magic, SNAP_MAGIC, 8) != 0 || version != SNAP_VERSION || sizes[0] != sizeof(caviar_trial_result) ||
      sizes[1] != sizeof(caviar_trial) || sizes[2] != sizeof(caviar_curve_point) || sizes[3] != sizeof(caviar_hparams)) {
    snprintf(why, why_size, "%s: not a snapshot of this caviar build", path);
    return false;
  }
  if (identity != st->identity_crc) {
    snprintf(why, why_size, "%s: belongs to another sweep than sweep.json", path);
    return false;
  }
  char journal[4200];
  snprintf(journal, sizeof journal, "%s/journal.jsonl", st->dir);
  char journal_why[1100];
  if (!caviar_journal_matches(journal, journal_len, journal_crc, journal_why, sizeof journal_why)) {
    snprintf(why, why_size, "%s does not fit the journal: %s", path, journal_why);
    return false;
  }
  st->journal_len = journal_len;
  st->journal_crc = journal_crc;
  return true;
}

caviar_status caviar_state_begin(run_state *s, int per_round, int *first_round, caviar_error *err) {
  caviar_sweep_state *st = s->sweep->state;
  *first_round = 0;
  if (!st) return CAVIAR_OK;
  s->sched.count = per_round; /* for the journal's books */
  caviar_sweep_result *r = s->result;
  if (!st->resuming) return st->follower ? CAVIAR_OK : caviar_journal_books(st, s, err);
  int32_t round, n_trials, epochs_run;
  double samples, wall;
  float best;
  if (!get_i32(st, &round) || !get_i32(st, &n_trials) || !get_f64(st, &samples) || !get(st, &best, sizeof best) ||
      !get_i32(st, &epochs_run) || !get_f64(st, &wall))
    return damaged(st, "the sweep's header is cut short", err);
  if (round < 0 || round >= s->sched.rounds || n_trials < 0 || n_trials > per_round * s->sched.rounds)
    return damaged(st, "its round or trial count does not fit the spec", err);
  for (int i = 0; i < n_trials; i++) {
    caviar_trial_result *t = &r->trials[i];
    uint32_t len;
    int32_t has_params;
    if (!get(st, t, sizeof *t) || !get_u32(st, &len)) return damaged(st, "the trials are cut short", err);
    t->params = NULL;
    t->lineage = NULL;
    t->n_lineage = 0;
    r->n_trials = i + 1; /* so what is read is freed on failure */
    if ((int)t->trial.id != i || t->status > CAVIAR_TRIAL_DIVERGED) return damaged(st, "a trial record is out of order", err);
    if (len > 0) {
      const size_t event_bytes = 4 + 8 + sizeof(caviar_hparams);
      if ((st->snap_size - 4 - st->pos) / event_bytes < len) return damaged(st, "a lineage is cut short", err);
      t->lineage = caviar_alloc(len, sizeof *t->lineage, "a lineage", err);
      if (!t->lineage) return CAVIAR_ERUNTIME;
      t->n_lineage = (int)len;
      for (uint32_t k = 0; k < len; k++) {
        caviar_lineage_event *e = &t->lineage[k];
        uint64_t from = 0;
        get_i32(st, &e->epoch);
        get_u64(st, &from);
        get(st, &e->hp, sizeof e->hp);
        e->from = (int64_t)from;
        if (e->epoch < 0 || e->from < -1 || e->from >= n_trials) return damaged(st, "a lineage event is out of range", err);
      }
    }
    if (!get_i32(st, &has_params)) return damaged(st, "the trials are cut short", err);
    if (has_params) {
      if (t->shape.layers < 1 || t->shape.layers > CAVIAR_MAX_LAYERS || t->shape.hidden < 1 || t->shape.inputs < 1 ||
          t->shape.classes < 1)
        return damaged(st, "a survivor's shape is invalid", err);
      size_t n = per_member(&t->shape);
      if ((st->snap_size - 4 - st->pos) / sizeof(float) < n) return damaged(st, "a survivor's weights are cut short", err);
      t->params = caviar_alloc(n, sizeof(float), "a survivor's parameters", err);
      if (!t->params) return CAVIAR_ERUNTIME;
      get(st, t->params, n * sizeof(float));
    }
  }
  uint64_t n_curve;
  if (!get_u64(st, &n_curve) || (st->snap_size - 4 - st->pos) / sizeof(caviar_curve_point) < n_curve)
    return damaged(st, "the learning curves are cut short", err);
  if (n_curve > 0) {
    r->curve = caviar_alloc((size_t)n_curve, sizeof *r->curve, "learning curves", err);
    if (!r->curve) return CAVIAR_ERUNTIME;
    get(st, r->curve, (size_t)n_curve * sizeof *r->curve);
    r->n_curve = r->cap_curve = (size_t)n_curve;
  }
  for (size_t k = 0; k < r->n_curve; k++)
    if ((int)r->curve[k].trial >= r->n_trials) return damaged(st, "a curve point names no trial", err);
  r->model_samples = s->rank.synced_samples = samples;
  (void)best;
  s->prog.epochs_run = epochs_run;
  s->prog.prior_wall = wall;
  /* tpe saw every curve point in this order: a diverged trial's last one as infinitely bad. */
  for (size_t k = 0; s->sched.tpe && k < r->n_curve; k++) {
    const caviar_curve_point *p = &r->curve[k];
    const caviar_trial_result *t = &r->trials[p->trial];
    double loss = t->status == CAVIAR_TRIAL_DIVERGED && p->epoch == t->epochs ? INFINITY
                  : s->sweep->spec->metric.name == CAVIAR_METRIC_VAL_ACC   ? -(double)p->val_acc
                                                                           : (double)p->val_loss;
    caviar_status status = caviar_tpe_observe(s->sched.tpe, &t->trial.hp, p->epoch, loss, err);
    if (status != CAVIAR_OK) return status;
  }
  caviar_status status = st->follower ? CAVIAR_OK : caviar_journal_books(st, s, err);
  if (status != CAVIAR_OK) return status;
  st->j_round = round;
  st->began = true;
  s->sched.resume_round = true;
  *first_round = round;
  return CAVIAR_OK;
}

caviar_status caviar_state_restore_round(run_state *s, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  caviar_sweep_state *st = sw->state;
  caviar_sweep_result *r = s->result;
  s->sched.resume_round = false;
  int32_t count, next, running, tick, n_records, n_cohorts;
  if (!get_i32(st, &count) || !get_i32(st, &next) || !get_i32(st, &running) || !get_i32(st, &tick))
    return damaged(st, "the round is cut short", err);
  if (count != s->sched.count || next < 0 || next > count || running < 0 || running > s->sched.population || tick < 0)
    return damaged(st, "the round does not fit the spec", err);
  if (!get(st, s->sched.trials, (size_t)count * sizeof *s->sched.trials)) return damaged(st, "the round's trials are cut short", err);
  for (int i = 0; i < count; i++) {
    int32_t c;
    if (!get_i32(st, &c)) return damaged(st, "the round's cohorts are cut short", err);
    if (c < 0 || c >= s->work.groups.n_cohorts) return damaged(st, "a trial's cohort does not exist", err);
    s->work.groups.cohort_of[i] = c;
  }
  int32_t saved_size;
  if (!get_i32(st, &saved_size) || saved_size < 1 || (st->snap_size - 4 - st->pos) / 4 < (size_t)count)
    return damaged(st, "the round's ranks are cut short", err);
  int32_t *saved = caviar_alloc((size_t)count + 1, sizeof *saved, "the trials' ranks", err);
  if (!saved) return CAVIAR_ERUNTIME;
  get(st, saved, (size_t)count * sizeof *saved);
  bool owners_ok = true;
  for (int i = 0; i < count; i++) owners_ok &= saved[i] >= -1 && saved[i] < saved_size && (saved[i] >= 0) == (i < next);
  s->sched.next = next;
  caviar_status placed = owners_ok ? caviar_ranks_restore(s, saved, saved_size, err) : damaged(st, "a trial's rank does not fit", err);
  free(saved);
  if (placed != CAVIAR_OK) return placed;
  if (!get_i32(st, &n_records) || n_records != r->brackets.n_brackets * CAVIAR_MAX_RUNGS)
    return damaged(st, "its rung records do not fit the spec", err);
  bool by_accuracy = sw->spec->metric.name == CAVIAR_METRIC_VAL_ACC;
  for (int k = 0; k < n_records; k++) {
    int32_t n;
    if (!get_i32(st, &n) || n < 0 || (st->snap_size - 4 - st->pos) / 12 < (size_t)n)
      return damaged(st, "the rung records are cut short", err);
    if (n == 0) continue;
    /* Recorded again in the order they arrived: the same top as before. */
    float *loss = caviar_alloc((size_t)n, sizeof *loss, "a rung", err), *acc = caviar_alloc((size_t)n, sizeof *acc, "a rung", err);
    uint32_t *ids = caviar_alloc((size_t)n, sizeof *ids, "a rung", err);
    caviar_status added = loss && acc && ids ? CAVIAR_OK : CAVIAR_ERUNTIME;
    if (added == CAVIAR_OK) {
      get(st, loss, (size_t)n * sizeof *loss);
      get(st, acc, (size_t)n * sizeof *acc);
      get(st, ids, (size_t)n * sizeof *ids);
    }
    for (int i = 0; added == CAVIAR_OK && i < n; i++)
      added = caviar_rung_record_add(&s->sched.records[k], loss[i], acc[i], ids[i], by_accuracy, r->brackets.eta, err);
    free(loss);
    free(acc);
    free(ids);
    if (added != CAVIAR_OK) return added;
  }
  if (!get_i32(st, &n_cohorts) || n_cohorts != s->work.groups.n_cohorts) return damaged(st, "its cohorts do not fit the round", err);
  int me = caviar_run_rank(s);
  size_t biggest = 1;
  for (int c = 0; c < n_cohorts; c++)
    if ((size_t)caviar_cohort_arenas(&s->work.cohorts[c]) * s->work.cohorts[c].layout.per_member > biggest)
      biggest = (size_t)caviar_cohort_arenas(&s->work.cohorts[c]) * s->work.cohorts[c].layout.per_member;
  float *slot_buf = caviar_alloc(biggest, sizeof *slot_buf, "a snapshot", err);
  if (!slot_buf) return CAVIAR_ERUNTIME;
  caviar_status status = CAVIAR_OK;
  int alive = 0;
  for (int c = 0; status == CAVIAR_OK && c < n_cohorts; c++) {
    caviar_cohort *cohort = &s->work.cohorts[c];
    caviar_shape shape;
    int32_t n, started;
    if (!get(st, &shape, sizeof shape) || !get_f64(st, &s->prog.trained_epochs[c]) || !get_f64(st, &s->prog.step_s[c]) ||
        !get_f64(st, &s->prog.steady_s[c]) || !get_f64(st, &s->prog.steady_steps[c]) || !get_i32(st, &started) || !get_i32(st, &n)) {
      status = damaged(st, "a cohort is cut short", err);
      break;
    }
    if (memcmp(&shape, &cohort->shape, sizeof shape) != 0 || n < 0 || n > running) {
      status = damaged(st, "a cohort does not fit the round", err);
      break;
    }
    /* The first chunk of a cohort's epoch is short only in the round's first epoch it trains. */
    s->rank.cohort_started[c] = started != 0;
    size_t bytes = (size_t)caviar_cohort_arenas(cohort) * cohort->layout.per_member * sizeof(float);
    for (int k = 0; status == CAVIAR_OK && k < n; k++) {
      caviar_member_books h;
      if (!get_u32(st, &h.trial) || !get(st, &h.hp, sizeof h.hp) || !get_i32(st, &h.steps) || !get_i32(st, &h.epochs)) {
        status = damaged(st, "a member is cut short", err);
        break;
      }
      uint32_t index = h.trial - (uint32_t)(s->sched.round * count);
      if ((int)h.trial >= r->n_trials || index >= (uint32_t)count || r->trials[h.trial].status != CAVIAR_TRIAL_RUNNING ||
          s->work.groups.cohort_of[index] != c || h.steps < 0 || h.epochs < 0) {
        status = damaged(st, "a member is not a running trial of its cohort", err);
        break;
      }
      if (st->snap_size - 4 - st->pos < bytes) {
        status = damaged(st, "a member's arenas are cut short", err);
        break;
      }
      /* Each rank takes the members it owns now and steps over the others. */
      if (s->rank.owner[index] != me) {
        st->pos += bytes;
        continue;
      }
      if (cohort->n >= cohort->layout.capacity) {
        status = damaged(st, "a cohort holds more members than fit", err);
        break;
      }
      get(st, slot_buf, bytes);
      status = caviar_cohort_place_member(sw->backend, cohort, &h, slot_buf, err);
    }
    alive += n;
  }
  free(slot_buf);
  if (status == CAVIAR_OK && alive != running) status = damaged(st, "its member count disagrees with the round", err);
  if (status == CAVIAR_OK && st->pos != st->snap_size - 4) status = damaged(st, "bytes left over after the last cohort", err);
  if (status != CAVIAR_OK) return status;
  /* Rank 0 holds the finished survivors' weights; the others need none. */
  for (int i = 0; me != 0 && i < r->n_trials; i++) {
    free(r->trials[i].params);
    r->trials[i].params = NULL;
  }
  s->sched.running = running;
  s->sched.tick = tick;
  st->resumed_round = s->sched.round;
  st->resumed_tick = tick;
  free(st->snap);
  st->snap = NULL;
  st->resuming = false;
  snprintf(st->snap_path, sizeof st->snap_path, "%s/snapshot.bin", st->dir);
  return CAVIAR_OK;
}

/* ---- the hooks ---- */

/* The most of the time since the last one that writing the results so far, or a snapshot, may
 * take (the user's intervals stand unless they would ask for more). */
#define RESULTS_SHARE 0.02
/* How long, and how many bytes of, journal lines may wait for their write. */
#define JOURNAL_HOLD_S 0.5
#define JOURNAL_HOLD_BYTES ((size_t)1 << 20)
/* A results write's cost a trial before the first one is measured (summary.json, curves.csv and
 * report.html of 100,000 trials took 4-5 s on the 2-core dev VM): a first write at the first rung
 * of a big sweep is held back until it too fits the share. One expected to take at most
 * RESULTS_FIRST_FREE_S (a sweep of up to 1,250 trials) is written at once, as always. */
#define RESULTS_PRIOR_S_PER_TRIAL 40e-6
#define RESULTS_FIRST_FREE_S 0.05

/* Whether a member that trained in this epoch reached a rung of its bracket or the last epoch:
 * the curve's last `trained` points are this epoch's. */
static bool at_rung(const run_state *s) {
  const caviar_sweep_result *r = s->result;
  size_t n = (size_t)s->work.trained < r->n_curve ? (size_t)s->work.trained : r->n_curve;
  for (size_t k = r->n_curve - n; k < r->n_curve; k++) {
    const caviar_curve_point *p = &r->curve[k];
    const caviar_trial_result *t = &r->trials[p->trial];
    int rung;
    if (p->epoch >= s->sweep->spec->epochs || caviar_is_rung(&r->brackets.brackets[t->bracket].rungs, p->epoch, &rung))
      return true;
  }
  return false;
}


unsigned caviar_state_epoch_flags(const run_state *s) {
  const caviar_sweep *sw = s->sweep;
  const caviar_sweep_state *st = sw->state;
  caviar_fault_point("epoch");
  bool stop = sw->stop && *sw->stop;
  /* At most every snapshot_every seconds, and (but for 0: every epoch, as asked) no more often than
   * keeps them under RESULTS_SHARE of the time: a snapshot holds every trial's results. */
  double since = st ? caviar_now() - st->last_snapshot : 0;
  bool due = st && !st->follower && since >= st->snapshot_every &&
             (st->snapshot_every <= 0 || since >= st->last_seconds / RESULTS_SHARE);
  return (stop ? CAVIAR_AGREE_STOP : 0u) | (due ? CAVIAR_AGREE_SNAPSHOT : 0u);
}

caviar_status caviar_state_epoch_end(run_state *s, unsigned flags, caviar_error *err) {
  const caviar_sweep *sw = s->sweep;
  caviar_sweep_state *st = sw->state;
  bool stop = flags & CAVIAR_AGREE_STOP;
  double now = caviar_now();
  caviar_status status = CAVIAR_OK;
  if (st) {
    bool due = stop || (flags & CAVIAR_AGREE_SNAPSHOT);
    /* Rank 0 keeps the journal. It is written before a snapshot (which points into it) and at a
     * stop, else once JOURNAL_HOLD_S have passed or JOURNAL_HOLD_BYTES wait: a write at every
     * epoch boundary was 97,336 writes in a 100,000-trial Hyperband sweep. A kill loses at most
     * the lines since the last snapshot, which the resume cuts off anyway; a sweep that ends
     * without its final results writes them (caviar_state_write_journal). */
    if (!st->follower) {
      caviar_journal_epoch(st, s);
      if (due) caviar_journal_printf(st, "{\"event\": \"snapshot\", \"round\": %d, \"epoch\": %d}\n", s->sched.round, s->sched.tick);
      if (due || st->n + 120 * st->n_pend >= JOURNAL_HOLD_BYTES || now - st->journal_written >= JOURNAL_HOLD_S)
        status = caviar_journal_flush(st, err);
    }
    if (status == CAVIAR_OK && due) {
      status = snapshot(st, s, err);
      double after = caviar_now();
      st->seconds += after - now;
      st->last_seconds = after - now;
      st->last_snapshot = after;
      if (status == CAVIAR_OK) st->snapshots++; /* a failed first one leaves none to resume from */
    }
  }
  if (status == CAVIAR_OK && sw->each_epoch) status = sw->each_epoch(s->result, sw->each_epoch_ctx, err);
  /* At a rung, and every results_every seconds, only while writing them stays a small part of the
   * time (RESULTS_SHARE): a big refilled population reaches a rung every epoch, and the results of
   * 100,000 trials take a while to write. results_every <= 0 asks for every epoch. */
  bool first = s->prog.results_trials == 0;
  double since = now - (first ? s->prog.start : s->prog.last_results);
  double per_trial = first ? RESULTS_PRIOR_S_PER_TRIAL : s->prog.results_s / s->prog.results_trials;
  double expected = per_trial * s->result->n_trials;
  bool cheap = (first && expected <= RESULTS_FIRST_FREE_S) || since >= expected / RESULTS_SHARE;
  bool due = sw->results_every > 0 ? cheap && (first || since >= sw->results_every || at_rung(s)) : true;
  if (status == CAVIAR_OK && sw->results && (stop || due)) {
    s->result->wall_seconds = s->prog.prior_wall + now - s->prog.start;
    status = sw->results(s->result, sw->results_ctx, err);
    s->prog.last_results = caviar_now();
    s->prog.results_s = s->prog.last_results - now;
    s->prog.results_trials = s->result->n_trials > 0 ? s->result->n_trials : 1;
  }
  if (status == CAVIAR_OK && stop) s->result->interrupted = true;
  return status;
}

caviar_status caviar_state_round_end(run_state *s, caviar_error *err) {
  caviar_sweep_state *st = s->sweep->state;
  if (!st || st->follower) return CAVIAR_OK;
  caviar_journal_epoch(st, s);
  caviar_journal_tested(st, s);
  return caviar_journal_flush(st, err);
}

/* ---- opening and closing ---- */

static void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char path[4400];
  while (d && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  if (d) closedir(d);
  rmdir(dir);
}

/* A killed run's half-written snapshots (snapshot.bin.tmp-PID-XXXXXX). */
static void remove_temporaries(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char path[4400];
  while (d && (e = readdir(d))) {
    if (!caviar_is_stale_temporary(e->d_name)) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  if (d) closedir(d);
}

void caviar_state_remove(const char *out_dir) {
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/%s", out_dir, CAVIAR_STATE_DIR);
  remove_dir(dir);
}

static caviar_status state_new(const char *out_dir, double snapshot_every, caviar_sweep_state **out, caviar_error *err) {
  caviar_sweep_state *st = caviar_alloc(1, sizeof *st, "the sweep's state", err);
  if (!st) return CAVIAR_ERUNTIME;
  snprintf(st->dir, sizeof st->dir, "%s/%s", out_dir, CAVIAR_STATE_DIR);
  snprintf(st->snap_path, sizeof st->snap_path, "%s/snapshot.bin", st->dir);
  st->snapshot_every = snapshot_every;
  st->last_snapshot = caviar_now();
  st->journal_fd = -1;
  st->j_round = -1;
  *out = st;
  return CAVIAR_OK;
}

/* Exchanges two paths (Linux's renameat2 RENAME_EXCHANGE); false where the kernel or the file
 * system cannot. */
static bool exchange(const char *a, const char *b) {
#if defined(SYS_renameat2)
  return syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */) == 0;
#else
  (void)a;
  (void)b;
  errno = EINVAL;
  return false;
#endif
}

caviar_status caviar_state_prepare(const char *out_dir, const char *identity, caviar_error *err) {
  char dir[4200], tmp[4300], path[4400];
  snprintf(dir, sizeof dir, "%s/%s", out_dir, CAVIAR_STATE_DIR);
  if (!caviar_temporary_name(dir, tmp, sizeof tmp)) return caviar_fail(err, CAVIAR_EINPUT, "%s: path too long", dir);
  if (!mkdtemp(tmp)) return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot create: %s", dir, strerror(errno));
  chmod(tmp, 0755);
  snprintf(path, sizeof path, "%s/sweep.json", tmp);
  caviar_atomic_file af;
  caviar_status status = caviar_atomic_open(&af, path, err);
  if (status == CAVIAR_OK) {
    fputs(identity, af.f);
    status = caviar_atomic_commit(&af, err);
  }
  caviar_fault_point("state");
  /* In place with one rename: over nothing, else exchanged with the old folder, which then goes
   * (where the file system cannot exchange, the old one goes first). */
  if (status == CAVIAR_OK && rename(tmp, dir) != 0) {
    if (errno != ENOTEMPTY && errno != EEXIST)
      status = caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot create: %s", dir, strerror(errno));
    else if (!exchange(tmp, dir)) {
      remove_dir(dir);
      if (rename(tmp, dir) != 0) status = caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot create: %s", dir, strerror(errno));
    }
  }
  remove_dir(tmp); /* the old folder, or what a failure left */
  return status;
}

caviar_status caviar_state_complete(const char *out_dir, const char *identity, caviar_error *err) {
  char path[4300];
  snprintf(path, sizeof path, "%s/%s/sweep.json", out_dir, CAVIAR_STATE_DIR);
  caviar_atomic_file af;
  caviar_status status = caviar_atomic_open(&af, path, err);
  if (status == CAVIAR_OK) {
    fputs(identity, af.f);
    status = caviar_atomic_commit(&af, err);
  }
  return status;
}

caviar_status caviar_state_create(const char *out_dir, const char *identity, double snapshot_every,
                                  caviar_sweep_state **out, caviar_error *err) {
  caviar_status status = state_new(out_dir, snapshot_every, out, err);
  if (status != CAVIAR_OK) return status;
  caviar_sweep_state *st = *out;
  snprintf(st->out_dir, sizeof st->out_dir, "%s", out_dir);
  if (mkdir(out_dir, 0755) == 0) st->created_out = true;
  else if (errno != EEXIST)
    status = caviar_fail(err, CAVIAR_EINPUT, "%s: cannot create the output folder: %s", out_dir, strerror(errno));
  if (status == CAVIAR_OK) status = caviar_state_prepare(out_dir, identity, err);
  st->identity_crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)identity, (uInt)strlen(identity));
  if (status == CAVIAR_OK) status = caviar_journal_open(st, true, err);
  if (status != CAVIAR_OK) {
    caviar_state_close(st, true);
    *out = NULL;
  }
  return status;
}

caviar_status caviar_state_read_identity(const char *out_dir, char **identity, caviar_error *err) {
  char path[4300];
  snprintf(path, sizeof path, "%s/%s/sweep.json", out_dir, CAVIAR_STATE_DIR);
  *identity = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    struct stat sb;
    char summary[4300];
    snprintf(summary, sizeof summary, "%s/summary.json", out_dir);
    char state[4300];
    snprintf(state, sizeof state, "%s/%s", out_dir, CAVIAR_STATE_DIR);
    if (errno == ENOENT && stat(state, &sb) == 0)
      return caviar_fail(err, CAVIAR_EINPUT,
                         "%s: missing, so the state in %s cannot be resumed (damaged); --force starts the sweep over",
                         path, state);
    if (errno == ENOENT && stat(summary, &sb) == 0)
      return caviar_fail(err, CAVIAR_EINPUT, "%s: the sweep there finished (summary.json, no %s/): nothing to resume",
                         out_dir, CAVIAR_STATE_DIR);
    if (errno == ENOENT)
      return caviar_fail(err, CAVIAR_EINPUT,
                         "%s: no sweep to resume there (missing; a sweep stopped before its first write leaves "
                         "nothing: caviar sweep --resume %s SPEC starts it)",
                         path, out_dir);
    return caviar_fail(err, CAVIAR_EINPUT, "%s: no sweep to resume there: %s", path, strerror(errno));
  }
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  char block[8192];
  size_t k;
  while (m && (k = fread(block, 1, sizeof block, f)) > 0) fwrite(block, 1, k, m);
  fclose(f);
  if (!m || fclose(m) != 0) {
    free(text);
    return caviar_fail(err, CAVIAR_ERUNTIME, "%s: out of memory reading it", path);
  }
  *identity = text;
  return CAVIAR_OK;
}

caviar_status caviar_state_resume(const char *out_dir, double snapshot_every, caviar_sweep_state **out, char *note,
                                  size_t note_size, caviar_error *err) {
  char *identity;
  note[0] = '\0';
  caviar_status status = caviar_state_read_identity(out_dir, &identity, err);
  if (status != CAVIAR_OK) return status;
  status = state_new(out_dir, snapshot_every, out, err);
  if (status != CAVIAR_OK) {
    free(identity);
    return status;
  }
  caviar_sweep_state *st = *out;
  st->identity_crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)identity, (uInt)strlen(identity));
  free(identity);
  remove_temporaries(st->dir);
  const char *const names[] = {"snapshot.bin", "snapshot.prev.bin"};
  char why[2][1200], path[4300];
  bool found = false;
  int exists = 0;
  for (int i = 0; i < 2 && !found; i++) {
    snprintf(path, sizeof path, "%s/%s", st->dir, names[i]);
    struct stat sb;
    if (stat(path, &sb) != 0) {
      snprintf(why[i], sizeof why[i], "%s: missing", path);
      continue;
    }
    exists++;
    found = load_snapshot(st, path, why[i], sizeof why[i]);
  }
  if (!found && exists > 0) {
    status = caviar_fail(err, CAVIAR_EINPUT, "%s: no usable snapshot to resume from: %s; %s", st->dir, why[0], why[1]);
  } else if (!found) {
    /* Killed before its first snapshot: the sweep starts over, with the same identity. */
    snprintf(note, note_size, "%s holds no snapshot yet: the sweep starts over", st->dir);
    st->journal_len = 0;
    status = caviar_journal_open(st, true, err);
  } else {
    if (strcmp(path + strlen(path) - strlen(names[1]), names[1]) == 0)
      snprintf(note, note_size, "%s; resuming from the previous snapshot, %s", why[0], path);
    st->resuming = true;
    status = caviar_journal_open(st, false, err);
  }
  if (status != CAVIAR_OK) {
    caviar_state_close(st, false);
    *out = NULL;
  }
  return status;
}

caviar_status caviar_state_follow(const char *out_dir, caviar_sweep_state **out, caviar_error *err) {
  caviar_status status = state_new(out_dir, 0, out, err);
  if (status == CAVIAR_OK) (*out)->follower = true;
  return status;
}

/* What rank 0 tells the others about the state it opened. */
typedef struct shared_state {
  uint64_t snap_size, pos; /* 0: a fresh start */
  char snap_path[4400];
} shared_state;

caviar_status caviar_state_share(caviar_world *world, caviar_sweep_state *st, caviar_error *err) {
  if (!world) return CAVIAR_OK;
  shared_state h;
  memset(&h, 0, sizeof h);
  if (!st->follower && st->resuming) {
    h.snap_size = st->snap_size;
    h.pos = st->pos;
    snprintf(h.snap_path, sizeof h.snap_path, "%s", st->snap_path);
  }
  caviar_status status = caviar_world_broadcast(world, &h, sizeof h, err);
  if (status != CAVIAR_OK || h.snap_size == 0) return status;
  if (!st->follower) return caviar_world_broadcast(world, st->snap, st->snap_size, err);
  /* Every rank reads the same snapshot: the results so far, the round, and its own members. */
  st->snap = caviar_alloc((size_t)h.snap_size, 1, "the snapshot shared by rank 0", err);
  if (!st->snap) return CAVIAR_ERUNTIME;
  status = caviar_world_broadcast(world, st->snap, (size_t)h.snap_size, err);
  st->snap_size = (size_t)h.snap_size;
  st->pos = (size_t)h.pos;
  snprintf(st->snap_path, sizeof st->snap_path, "%s", h.snap_path);
  st->resuming = status == CAVIAR_OK;
  return status;
}

bool caviar_state_resuming(const caviar_sweep_state *st) { return st && st->resuming; }

void caviar_state_resumed_at(const caviar_sweep_state *st, int *round, int *tick) {
  *round = st->resumed_round;
  *tick = st->resumed_tick;
}

int caviar_state_snapshots(const caviar_sweep_state *st) { return st ? st->snapshots : 0; }

bool caviar_state_has_snapshot(const caviar_sweep_state *st) {
  if (!st || st->follower) return false;
  const char *const names[] = {"snapshot.bin", "snapshot.prev.bin"};
  char path[4300];
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s", st->dir, names[i]);
    if (access(path, F_OK) == 0) return true;
  }
  return false;
}

bool caviar_state_has_journal(const caviar_sweep_state *st) { return st && !st->follower && st->journal_len > 0; }

void caviar_state_write_journal(caviar_sweep_state *st) {
  caviar_error ignored;
  if (st && !st->follower && st->journal_fd >= 0 && (st->n > 0 || st->n_pend > 0) && !st->buf_failed)
    caviar_journal_flush(st, &ignored);
}
double caviar_state_seconds(const caviar_sweep_state *st) { return st ? st->seconds : 0; }

void caviar_state_close(caviar_sweep_state *st, bool remove) {
  if (!st) return;
  if (st->journal_fd >= 0) close(st->journal_fd);
  remove = remove && !st->follower; /* rank 0's folder */
  if (remove) remove_dir(st->dir);
  if (remove && st->created_out) rmdir(st->out_dir); /* only when empty: results stay */
  free(st->buf);
  free(st->pend);
  free(st->runs);
  free(st->snap);
  free(st->j_status);
  free(st->j_lineage);
  free(st);
}
