/* The sweep's journal: append-only JSON lines, written at snapshots, stops and round ends and else
 * every so often (caviar_state_epoch_end), a running CRC-32
 * of everything written so a snapshot can say which journal it belongs to. What it says is
 * derived from the results at each epoch boundary (trials started, curve points, status changes,
 * lineage events), so a journal cut back to a snapshot and continued by the resumed run reads the
 * same as an uninterrupted run's. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "caviar/json_text.h"
#include "caviar/number_format.h"
#include "caviar/trial_json.h"
#include "caviar/zoom.h"
#include "train/sweep_state_internal.h"

caviar_status caviar_journal_open(caviar_sweep_state *st, bool fresh, caviar_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/journal.jsonl", st->dir);
  if (fresh) {
    st->journal_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    st->journal_len = 0;
    st->journal_crc = (uint32_t)crc32(0L, Z_NULL, 0);
  } else {
    st->journal_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (st->journal_fd >= 0 && ftruncate(st->journal_fd, (off_t)st->journal_len) != 0) {
      int e = errno;
      close(st->journal_fd);
      st->journal_fd = -1;
      return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot cut back to the snapshot's %llu bytes: %s", path,
                         (unsigned long long)st->journal_len, strerror(e));
    }
  }
  if (st->journal_fd < 0) return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot write: %s", path, strerror(errno));
  st->journal_written = caviar_now();
  return CAVIAR_OK;
}

/* Room for need more bytes and a NUL after them; false (and buf_failed) when memory ran out. */
static bool journal_room(caviar_sweep_state *st, size_t need) {
  if (st->cap - st->n > need) return true;
  size_t cap = st->cap ? 2 * st->cap : 65536;
  while (cap - st->n <= need) cap *= 2;
  char *grown = realloc(st->buf, cap);
  if (!grown) {
    st->buf_failed = true;
    return false;
  }
  st->buf = grown;
  st->cap = cap;
  return true;
}

void caviar_journal_printf(caviar_sweep_state *st, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = st->cap - st->n;
    int k = vsnprintf(st->buf ? st->buf + st->n : NULL, st->buf ? room : 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
      st->buf_failed = true;
      return;
    }
    if ((size_t)k < room) {
      st->n += (size_t)k;
      return;
    }
    if (!journal_room(st, (size_t)k)) return;
  }
}

/* Appends len bytes of text. */
static void journal_append(caviar_sweep_state *st, const char *text, size_t len) {
  if (!journal_room(st, len)) return;
  memcpy(st->buf + st->n, text, len);
  st->n += len;
  st->buf[st->n] = '\0';
}

/* "key": number, or null when not finite; floats as %.9g (they round-trip), by
 * caviar_float_g_text: printf's text, without printf's cost on every epoch of every member. */
void caviar_journal_number(caviar_sweep_state *st, const char *key, double x) {
  char text[40];
  if (isfinite(x)) caviar_float_g_text(text, sizeof text, x, 9);
  else snprintf(text, sizeof text, "null");
  caviar_journal_printf(st, ", \"%s\": %s", key, text);
}

static void journal_json(caviar_sweep_state *st, const char *key, const cJSON *item) {
  char *text = item ? caviar_json_print_text(item, false) : NULL;
  caviar_journal_printf(st, ", \"%s\": %s", key, text ? text : "null");
  free(text);
}

/* ", "params": {...}": a lineage's values, as cJSON_PrintUnformatted prints caviar_hparams_cjson's tree. */
static void journal_params(caviar_sweep_state *st, const caviar_hparams *hp) {
  caviar_text text = {0};
  caviar_hparams_put(&text, hp, false, 0);
  if (text.failed || !text.s) st->buf_failed = true;
  else caviar_journal_printf(st, ", \"params\": %s", text.s);
  free(text.s);
}

caviar_status caviar_journal_books(caviar_sweep_state *st, const run_state *s, caviar_error *err) {
  const caviar_sweep_result *r = s->result;
  size_t total = (size_t)(s->sched.rounds > 0 ? s->sched.rounds : 1) * (size_t)(s->sched.count > 0 ? s->sched.count : 1);
  if (!st->j_status) {
    st->j_status = caviar_alloc(total, sizeof *st->j_status, "the journal's books", err);
    st->j_lineage = caviar_alloc(total, sizeof *st->j_lineage, "the journal's books", err);
    if (!st->j_status || !st->j_lineage) return CAVIAR_ERUNTIME;
  }
  st->j_trials = r->n_trials;
  st->j_curve = r->n_curve;
  for (int i = 0; i < r->n_trials; i++) {
    st->j_status[i] = (uint8_t)r->trials[i].status;
    st->j_lineage[i] = r->trials[i].n_lineage;
  }
  return CAVIAR_OK;
}

/* A line put together by hand: the text caviar_journal_printf and caviar_journal_number would
 * give, without printf's cost on every trial and member-epoch (glibc's printf takes its slow path
 * once libquadmath, which OpenBLAS brings along, has registered its handlers). */
typedef struct jline {
  char s[256];
  size_t n;
} jline;
#define JL_PUT(l, text) (memcpy((l)->s + (l)->n, text, sizeof text - 1), (l)->n += sizeof text - 1)

static void jl_int(jline *l, long long v) { l->n += (size_t)caviar_int_text(l->s + l->n, v); }

static void jl_float(jline *l, float x) {
  if (isfinite(x)) l->n += (size_t)caviar_float_g_text(l->s + l->n, sizeof l->s - l->n, x, 9);
  else JL_PUT(l, "null");
}

/* A point's epoch line into l. */
static void epoch_line(jline *l, const caviar_curve_point *p) {
  l->n = 0;
  JL_PUT(l, "{\"event\": \"epoch\", \"trial\": ");
  jl_int(l, p->trial);
  JL_PUT(l, ", \"epoch\": ");
  jl_int(l, p->epoch);
  JL_PUT(l, ", \"train_loss\": ");
  jl_float(l, p->train_loss);
  JL_PUT(l, ", \"val_loss\": ");
  jl_float(l, p->val_loss);
  JL_PUT(l, ", \"val_acc\": ");
  jl_float(l, p->val_acc);
  JL_PUT(l, "}\n");
}

/* A trial's start line up to its values. */
static void start_head(jline *l, const caviar_trial_result *t) {
  l->n = 0;
  JL_PUT(l, "{\"event\": \"start\", \"trial\": ");
  jl_int(l, t->trial.id);
  JL_PUT(l, ", \"round\": ");
  jl_int(l, t->trial.round);
  JL_PUT(l, ", \"bracket\": ");
  jl_int(l, t->bracket);
}

/* A trial's start line with the values it was drawn with, into out (START_LINE bytes); its length. */
#define START_LINE (sizeof ((jline *)0)->s + 16 + 2048)
static size_t start_line(char *out, const caviar_trial_result *t) {
  jline l;
  start_head(&l, t);
  memcpy(out, l.s, l.n);
  size_t n = l.n;
  memcpy(out + n, ", \"params\": ", 12);
  n += 12;
  int k = caviar_hparams_json(&t->trial.hp, out + n, 2048);
  n += k < 2048 ? (size_t)k : 2047;
  memcpy(out + n, "}\n", 2);
  return n + 2;
}

struct journal_run {
  size_t at, from, to; /* pend[from .. to)'s lines go at buf[at] */
};

/* Points' lines to come at the end of buf (their copies: the results may be gone by the write). */
static void defer_lines(caviar_sweep_state *st, const caviar_curve_point *p, size_t count) {
  if (count == 0 || st->buf_failed) return;
  if (st->n_pend + count > st->cap_pend) {
    size_t cap = st->cap_pend ? 2 * st->cap_pend : 4096;
    while (cap < st->n_pend + count) cap *= 2;
    caviar_curve_point *grown = realloc(st->pend, cap * sizeof *grown);
    if (!grown) {
      st->buf_failed = true;
      return;
    }
    st->pend = grown;
    st->cap_pend = cap;
  }
  struct journal_run *last = st->n_runs ? &st->runs[st->n_runs - 1] : NULL;
  if (!last || last->at != st->n || last->to != st->n_pend) {
    if (st->n_runs == st->cap_runs) {
      size_t cap = st->cap_runs ? 2 * st->cap_runs : 256;
      struct journal_run *grown = realloc(st->runs, cap * sizeof *grown);
      if (!grown) {
        st->buf_failed = true;
        return;
      }
      st->runs = grown;
      st->cap_runs = cap;
    }
    last = &st->runs[st->n_runs++];
    *last = (struct journal_run){st->n, st->n_pend, st->n_pend};
  }
  memcpy(st->pend + st->n_pend, p, count * sizeof *p);
  st->n_pend += count;
  last->to = st->n_pend;
}

/* Room in *out (*cap bytes) for need bytes after its first len and a NUL; false when memory ran out. */
static bool out_room(char **out, size_t *cap, size_t len, size_t need) {
  if (len + need + 1 <= *cap) return true;
  size_t grow = *cap;
  while (len + need + 1 > grow) grow *= 2;
  char *grown = realloc(*out, grow);
  if (!grown) return false;
  *out = grown;
  *cap = grow;
  return true;
}

/* The waiting epoch lines put in buf at their places: PIECE lines at a time side by side on the
 * sweep's threads, each in its own line, then copied to their places side by side. */
static void journal_materialize(caviar_sweep_state *st) {
  if (st->n_runs == 0 || st->buf_failed) return;
  enum { PIECE = 8192 };
  size_t cap = st->n + st->n_pend * 128 + 1, len = 0, copied = 0;
  char *out = malloc(cap);
  jline *room = malloc((size_t)PIECE * sizeof *room);
  size_t *at = malloc(PIECE * sizeof *at);
  bool ok = out && room && at;
  for (size_t r = 0; ok && r < st->n_runs; r++) {
    const struct journal_run *run = &st->runs[r];
    size_t lit = run->at - copied; /* the lines before the run's */
    if (!(ok = out_room(&out, &cap, len, lit))) break;
    if (lit) memcpy(out + len, st->buf + copied, lit); /* buf is NULL before its first line */
    len += lit;
    copied = run->at;
    for (size_t first = run->from; ok && first < run->to; first += PIECE) {
      int m = (int)(run->to - first < PIECE ? run->to - first : PIECE);
#pragma omp parallel for schedule(static) if (m > 256)
      for (int k = 0; k < m; k++) epoch_line(&room[k], &st->pend[first + (size_t)k]);
      size_t need = 0;
      for (int k = 0; k < m; k++) at[k] = len + need, need += room[k].n;
      if (!(ok = out_room(&out, &cap, len, need))) break;
#pragma omp parallel for schedule(static) if (m > 256)
      for (int k = 0; k < m; k++) memcpy(out + at[k], room[k].s, room[k].n);
      len += need;
    }
  }
  size_t tail = st->n - copied;
  ok = ok && out_room(&out, &cap, len, tail);
  free(room);
  free(at);
  if (!ok) {
    free(out);
    st->buf_failed = true;
    return;
  }
  if (tail) memcpy(out + len, st->buf + copied, tail);
  len += tail;
  out[len] = '\0';
  free(st->buf);
  st->buf = out;
  st->n = len;
  st->cap = cap;
  st->n_pend = st->n_runs = 0;
}

static int ascending_ids(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

void caviar_journal_epoch(caviar_sweep_state *st, const run_state *s) {
  const caviar_sweep_result *r = s->result;
  if (!st->began) {
    caviar_journal_printf(st, "{\"event\": \"sweep\", \"seed\": %llu, \"trials\": %d, \"rounds\": %d}\n",
                          (unsigned long long)s->sweep->seed, s->sched.count * s->sched.rounds, s->sched.rounds);
    st->began = true;
  }
  while (st->j_round < s->sched.round) {
    st->j_round++;
    caviar_journal_printf(st, "{\"event\": \"round\", \"round\": %d", st->j_round);
    cJSON *box = caviar_space_box_json(&r->boxes[st->j_round]);
    journal_json(st, "box", box);
    cJSON_Delete(box);
    caviar_journal_printf(st, "}\n");
  }
  /* A big fill's start lines are put together side by side on the sweep's threads (100,000 at
   * once in a big sweep, each with its values' texts), START_BLOCK at a time, then appended in
   * order. */
  enum { START_BLOCK = 2048 };
  int left = r->n_trials - st->j_trials;
  int room_for = left >= 64 ? (left < START_BLOCK ? left : START_BLOCK) : 0;
  char *lines = room_for ? malloc((size_t)room_for * START_LINE) : NULL;
  size_t *lens = lines ? malloc((size_t)room_for * sizeof *lens) : NULL;
  if (!lens) {
    free(lines);
    lines = NULL;
  }
  while (st->j_trials < r->n_trials) {
    int first = st->j_trials, count = r->n_trials - first < START_BLOCK ? r->n_trials - first : START_BLOCK;
    bool side_by_side = lines && count <= room_for;
#pragma omp parallel for schedule(static) if (side_by_side && count >= 64)
    for (int k = 0; k < count; k++)
      if (side_by_side && r->trials[first + k].n_lineage == 0)
        lens[k] = start_line(lines + (size_t)k * START_LINE, &r->trials[first + k]);
    for (int k = 0; k < count; k++, st->j_trials++) {
      const caviar_trial_result *t = &r->trials[st->j_trials];
      if (t->n_lineage > 0) {
        /* The values it started with (PBT may have changed them since: its lineage's first entry). */
        jline l;
        start_head(&l, t);
        journal_append(st, l.s, l.n);
        journal_params(st, &t->lineage[0].hp);
        journal_append(st, "}\n", 2);
      } else if (side_by_side) {
        journal_append(st, lines + (size_t)k * START_LINE, lens[k]);
      } else {
        char line[START_LINE];
        journal_append(st, line, start_line(line, t));
      }
      st->j_status[st->j_trials] = CAVIAR_TRIAL_RUNNING;
      st->j_lineage[st->j_trials] = t->n_lineage > 0 ? 1 : 0;
    }
  }
  free(lines);
  free(lens);
  /* A line per member-epoch: the points wait, and their lines are put together when the journal
   * is written (journal_materialize). */
  if (st->j_curve < r->n_curve) {
    defer_lines(st, r->curve + st->j_curve, r->n_curve - st->j_curve);
    st->j_curve = r->n_curve;
  }
  /* Lineage events and status changes come only from the judging, PBT and the test pass of the
   * members that trained in this epoch (s->rank.results, the same on every rank): those trials, in
   * trial order. */
  uint32_t *ids = malloc(((size_t)s->rank.n_results + 1) * sizeof *ids);
  if (!ids) {
    st->buf_failed = true;
    return;
  }
  for (int k = 0; k < s->rank.n_results; k++) ids[k] = s->sched.trials[s->rank.results[k].index].id;
  qsort(ids, (size_t)s->rank.n_results, sizeof *ids, ascending_ids);
  for (int k = 0; k < s->rank.n_results; k++) {
    uint32_t i = ids[k];
    const caviar_trial_result *t = &r->trials[i];
    for (; st->j_lineage[i] < t->n_lineage; st->j_lineage[i]++) {
      const caviar_lineage_event *e = &t->lineage[st->j_lineage[i]];
      caviar_journal_printf(st, "{\"event\": \"pbt\", \"trial\": %u, \"epoch\": %d", (unsigned)t->trial.id, e->epoch);
      if (e->from < 0) caviar_journal_printf(st, ", \"from\": null");
      else caviar_journal_printf(st, ", \"from\": %lld", (long long)e->from);
      journal_params(st, &e->hp);
      caviar_journal_printf(st, "}\n");
    }
    if (st->j_status[i] != (uint8_t)t->status) {
      jline l = {.n = 0};
      JL_PUT(&l, "{\"event\": \"");
      const char *name = caviar_trial_status_name(t->status);
      size_t len = strlen(name);
      memcpy(l.s + l.n, name, len); /* a word */
      l.n += len;
      JL_PUT(&l, "\", \"trial\": ");
      jl_int(&l, t->trial.id);
      JL_PUT(&l, ", \"epochs\": ");
      jl_int(&l, t->epochs);
      JL_PUT(&l, "}\n");
      journal_append(st, l.s, l.n);
      st->j_status[i] = (uint8_t)t->status;
    }
  }
  free(ids);
}

void caviar_journal_tested(caviar_sweep_state *st, const run_state *s) {
  const caviar_sweep_result *r = s->result;
  for (int i = 0; i < s->sched.count; i++) {
    const caviar_trial_result *t = &r->trials[s->sched.trials[i].id];
    if (t->status != CAVIAR_TRIAL_SURVIVED) continue;
    caviar_journal_printf(st, "{\"event\": \"tested\", \"trial\": %u", (unsigned)t->trial.id);
    caviar_journal_number(st, "test_loss", t->test_loss);
    caviar_journal_number(st, "test_acc", t->test_acc);
    caviar_journal_printf(st, "}\n");
  }
}

/* zlib's crc32 of n bytes after crc: a big write's parts side by side on the sweep's threads,
 * then joined by crc32_combine (the same value; a 100,000-trial Hyperband sweep writes 224 MB of
 * journal, and one thread's CRC of it took 0.13 s). */
static uint32_t journal_crc(uint32_t crc, const char *p, size_t n) {
  enum { PARTS = 8 };
  const size_t part = (size_t)1 << 14;
  if (n < 2 * part) return (uint32_t)crc32_z(crc, (const Bytef *)p, n);
  int parts = (int)(n / part < PARTS ? n / part : PARTS);
  size_t size = n / (size_t)parts, len[PARTS]; /* the last part takes the rest */
  for (int k = 0; k < parts; k++) len[k] = k == parts - 1 ? n - (size_t)k * size : size;
  uLong of[PARTS];
#pragma omp parallel for schedule(static)
  for (int k = 0; k < parts; k++) of[k] = crc32_z(0L, (const Bytef *)p + (size_t)k * size, len[k]);
  uLong c = crc;
  for (int k = 0; k < parts; k++) c = crc32_combine(c, of[k], (z_off_t)len[k]);
  return (uint32_t)c;
}

caviar_status caviar_journal_flush(caviar_sweep_state *st, caviar_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/journal.jsonl", st->dir);
  journal_materialize(st);
  if (st->buf_failed) return caviar_fail(err, CAVIAR_ERUNTIME, "%s: out of memory writing the journal", path);
  size_t off = 0;
  if (st->n > 1 && getenv("CAVIAR_KILL_AT")) {
    /* Half the lines, then the fault point: a torn last line. */
    size_t half = st->n / 2;
    if (write(st->journal_fd, st->buf, half) == (ssize_t)half) off = half;
    caviar_fault_point("journal");
  }
  while (off < st->n) {
    ssize_t k = write(st->journal_fd, st->buf + off, st->n - off);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      int e = k < 0 ? errno : ENOSPC;
      /* The journal stays as long as the last whole flush: a snapshot never points past it. */
      if (ftruncate(st->journal_fd, (off_t)st->journal_len) != 0) {
      }
      return caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot write: %s", path, strerror(e));
    }
    off += (size_t)k;
  }
  st->journal_crc = journal_crc(st->journal_crc, st->buf, st->n);
  st->journal_len += st->n;
  st->n = 0;
  st->journal_written = caviar_now();
  return CAVIAR_OK;
}

bool caviar_journal_matches(const char *path, uint64_t len, uint32_t crc, char *why, size_t why_size) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(why, why_size, "%s: cannot read: %s", path, strerror(errno));
    return false;
  }
  uLong c = crc32(0L, Z_NULL, 0);
  unsigned char block[65536];
  uint64_t left = len;
  while (left > 0) {
    size_t want = left < sizeof block ? (size_t)left : sizeof block;
    size_t got = fread(block, 1, want, f);
    if (got == 0) break;
    c = crc32(c, block, (uInt)got);
    left -= got;
  }
  fclose(f);
  if (left > 0) {
    snprintf(why, why_size, "%s: shorter (%llu bytes) than the snapshot's %llu", path,
             (unsigned long long)(len - left), (unsigned long long)len);
    return false;
  }
  if ((uint32_t)c != crc) {
    snprintf(why, why_size, "%s: its first %llu bytes changed since the snapshot (CRC mismatch)", path,
             (unsigned long long)len);
    return false;
  }
  return true;
}
