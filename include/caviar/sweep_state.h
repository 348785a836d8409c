#ifndef CAVIAR_SWEEP_STATE_H
#define CAVIAR_SWEEP_STATE_H
/* A sweep's state on disk, so an interrupted sweep loses nothing. It lives in OUT/sweep-state/:
 *
 *   sweep.json         what was started (the spec's text, seed, flags, backend): a resume must match
 *   journal.jsonl      append-only, one JSON object a line: trials started, every epoch's metrics,
 *                      culls, divergences, survivors, PBT copies, coarse-to-fine boxes, snapshots
 *   snapshot.bin       the live population at an epoch boundary (every cohort's parameters and
 *                      optimizer state, step and epoch counts, the scheduler's rung records, the
 *                      round's trials, every result so far), with a CRC-32 trailer
 *   snapshot.prev.bin  the one before it: the fallback when snapshot.bin is damaged
 *
 * Every random number of a sweep is a function of (seed, trial, purpose, counter) and epoch chunks
 * are fixed by the step count, so a sweep resumed from a snapshot ends bit-identical to one never
 * interrupted. A snapshot records the journal's length and CRC at its epoch; resuming cuts the
 * journal back to that length (a torn last line goes with it). The folder is removed when the
 * sweep finishes. */

#include <stdbool.h>
#include <stddef.h>

#include "caviar/status.h"
#include "caviar/trainer.h"
#include "caviar/world.h"

CAVIAR_C_BEGIN

#define CAVIAR_STATE_DIR "sweep-state"

/* Starts a fresh state folder in out_dir (replacing any old one, through caviar_state_prepare);
 * identity is sweep.json's text.
 * Snapshots are written at most every snapshot_every seconds (0: at every epoch boundary). */
caviar_status caviar_state_create(const char *out_dir, const char *identity, double snapshot_every,
                                  caviar_sweep_state **out, caviar_error *err);

/* The state folder as a sweep's first write, before anything is loaded: out_dir/sweep-state
 * holding identity as sweep.json, made whole under a temporary name and put in place with one
 * rename (replacing an old folder), so a kill at any moment leaves either the old state or this
 * one. A resume of a folder holding only sweep.json starts the sweep over. */
caviar_status caviar_state_prepare(const char *out_dir, const char *identity, caviar_error *err);
/* Replaces the prepared folder's sweep.json (atomically) with identity: what the sweep learns once
 * its data is loaded. */
caviar_status caviar_state_complete(const char *out_dir, const char *identity, caviar_error *err);

/* Reads out_dir's sweep.json (malloc'd text); a clear error when out_dir holds no resumable sweep. */
caviar_status caviar_state_read_identity(const char *out_dir, char **identity, caviar_error *err);

/* Opens out_dir's state to resume: picks the newest good snapshot (falling back to the previous
 * one when the newest is damaged or the journal disagrees with it; note says so), cuts the
 * journal back to it. Without any snapshot the sweep starts over (note says so). */
caviar_status caviar_state_resume(const char *out_dir, double snapshot_every, caviar_sweep_state **out, char *note,
                                  size_t note_size, caviar_error *err);

/* Across MPI ranks rank 0 opens the state (create or resume) and every other rank follows: its
 * state writes no file; at a snapshot it sends rank 0 its members, and resuming it reads the
 * snapshot rank 0 read. caviar_state_share is called by every rank once rank 0's state is open. */
caviar_status caviar_state_follow(const char *out_dir, caviar_sweep_state **out, caviar_error *err);
caviar_status caviar_state_share(caviar_world *world, caviar_sweep_state *st, caviar_error *err);

/* Whether the state holds a snapshot the next caviar_sweep_run continues from. */
bool caviar_state_resuming(const caviar_sweep_state *st);
/* The epoch boundary (epochs trained by the population in its round) and round of the snapshot
 * resumed from. */
void caviar_state_resumed_at(const caviar_sweep_state *st, int *round, int *tick);
/* Snapshots written and seconds spent writing them (journal included) by this process. */
int caviar_state_snapshots(const caviar_sweep_state *st);
double caviar_state_seconds(const caviar_sweep_state *st);
/* Whether a snapshot is on disk (this run's, or the one it resumed from): --resume continues from it. */
bool caviar_state_has_snapshot(const caviar_sweep_state *st);
/* Writes the journal's lines still waiting for their write (they wait up to half a second): a
 * sweep that ends without its final results keeps every epoch's. A failed write leaves the journal
 * as its last whole write. */
void caviar_state_write_journal(caviar_sweep_state *st);
/* Whether the journal holds at least one epoch boundary (worth keeping when a run fails). */
bool caviar_state_has_journal(const caviar_sweep_state *st);
/* Closes the state; remove: deletes the folder (the sweep finished, or nothing worth resuming). */
void caviar_state_close(caviar_sweep_state *st, bool remove);
/* Removes out_dir's state folder (a new sweep replacing an old one). */
void caviar_state_remove(const char *out_dir);

/* Fault injection for the tests: with CAVIAR_KILL_AT=NAME:K in the environment, the K-th time
 * (1-based) the point NAME is passed the process kills itself with SIGKILL (NAME:K:INT, :TERM,
 * :HUP or :USR1 raises that signal instead; :STOP stops the process until a SIGCONT; entries
 * separated by commas). With CAVIAR_KILL_RANK=R only rank R of a distributed sweep does (the
 * launcher's rank variable). Points: locked (sweep and train: the outputs just locked, nothing
 * loaded), state (a state folder made under its temporary name, before the rename that puts it in
 * place), loaded (the data loaded, the state's sweep.json not yet complete), chunk (inside an epoch), epoch (an epoch boundary, before the journal), journal (half
 * of a journal write), snapshot (half of a snapshot file written), test (the test pass), final
 * (the final results about to be written). */
void caviar_fault_point(const char *name);

CAVIAR_C_END

#endif
