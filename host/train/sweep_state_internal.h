#ifndef CAVIAR_SWEEP_STATE_INTERNAL_H
#define CAVIAR_SWEEP_STATE_INTERNAL_H
/* The sweep's state on disk (include/caviar/sweep_state.h) as the trainer's files share it:
 * journal.c appends decisions, snapshot.c writes and reads snapshots and holds the trainer's
 * hooks. Not part of the public API. */

#include <stdint.h>

#include "caviar/sweep_state.h"
#include "train/trainer_internal.h"

CAVIAR_C_BEGIN

struct caviar_sweep_state {
  char dir[4096];          /* OUT/sweep-state */
  char out_dir[4096];      /* OUT */
  bool created_out;        /* OUT did not exist before: removed with the state when left empty */
  uint32_t identity_crc;   /* of sweep.json's text */
  double snapshot_every;
  double last_snapshot;    /* when the last snapshot was written (or the state opened) */
  int snapshots;           /* written by this process */
  double seconds;          /* spent writing them */
  double last_seconds;     /* the last one took */
  /* The journal: appended at epoch boundaries, by the lines of the epochs since its last write
   * (caviar_state_epoch_end says when). */
  int journal_fd;
  double journal_written;  /* when it was last written (or opened) */
  uint64_t journal_len;
  uint32_t journal_crc;    /* of its journal_len bytes */
  char *buf;               /* lines not yet written */
  size_t n, cap;
  bool buf_failed;
  /* Epoch lines wait as their points (copied: the results may be gone by the write), each run of
   * them to go at a place in buf, and are put together side by side when the journal is written
   * (caviar_journal_flush): 1.6 million lines in a 100,000-trial Hyperband sweep. */
  caviar_curve_point *pend;
  size_t n_pend, cap_pend;
  struct journal_run *runs; /* pend[from .. to) go at buf[at], in order */
  size_t n_runs, cap_runs;
  /* What the journal has said so far. */
  int j_round;             /* the last round whose box it holds */
  int j_trials;            /* trials 0 .. j_trials - 1 started */
  size_t j_curve;          /* curve points written */
  uint8_t *j_status;       /* per trial: the status last written */
  int *j_lineage;          /* per trial: lineage events written */
  bool began;              /* the sweep line is written */
  /* Resuming: the snapshot being read back. */
  unsigned char *snap;
  size_t snap_size, pos;
  char snap_path[4400];
  int resumed_round, resumed_tick;
  bool resuming;
  /* A rank other than 0 of a distributed sweep: no files; it sends its members at snapshots and
   * reads the snapshot rank 0 shares (caviar_state_share). */
  bool follower;
};

/* The journal (journal.c). */
caviar_status caviar_journal_open(caviar_sweep_state *st, bool fresh, caviar_error *err);
void caviar_journal_printf(caviar_sweep_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Lines for what happened since the journal last spoke: rounds, trials started, epochs, status
 * changes, PBT copies; returns how many members reached a rung or the end in this epoch. */
void caviar_journal_epoch(caviar_sweep_state *st, const run_state *s);
void caviar_journal_tested(caviar_sweep_state *st, const run_state *s);
caviar_status caviar_journal_flush(caviar_sweep_state *st, caviar_error *err);
/* Whether path's first len bytes have CRC-32 crc; why not in why. */
bool caviar_journal_matches(const char *path, uint64_t len, uint32_t crc, char *why, size_t why_size);
/* Sets the journal's books from the results (what a journal cut back to a snapshot has said). */
caviar_status caviar_journal_books(caviar_sweep_state *st, const run_state *s, caviar_error *err);
void caviar_journal_number(caviar_sweep_state *st, const char *key, double x);

/* The trainer's hooks (snapshot.c). */
/* At the start of a sweep: with a snapshot, the results so far, and *first_round its round. */
caviar_status caviar_state_begin(run_state *s, int per_round, int *first_round, caviar_error *err);
/* After the resumed round's setup: its trials, cohorts (books and arenas) and rung records. */
caviar_status caviar_state_restore_round(run_state *s, caviar_error *err);
/* At an epoch boundary, what this rank would do (CAVIAR_AGREE_*): stop (a signal asked), write a
 * snapshot (due by the clock; rank 0's say). The ranks agree on them (caviar_ranks_agree_epoch). */
unsigned caviar_state_epoch_flags(const run_state *s);
/* At every epoch boundary, with the agreed flags: the journal, a snapshot when due (every rank's
 * members, rank 0 writing), the results so far at rungs and every results_every seconds; a stop
 * sets result->interrupted after a snapshot. */
caviar_status caviar_state_epoch_end(run_state *s, unsigned flags, caviar_error *err);
/* After a round's test pass: the survivors' test results into the journal. */
caviar_status caviar_state_round_end(run_state *s, caviar_error *err);

/* caviar_fault_point (the tests' fault injection) is declared in caviar/status.h. */

CAVIAR_C_END

#endif
