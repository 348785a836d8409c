#ifndef CAVIAR_BACKEND_H
#define CAVIAR_BACKEND_H
/* The backend interface: what the trainer asks of the hardware, a small table of functions like
 * ggml's backend interface. The CPU backend (OpenBLAS + OpenMP) is the reference; the CUDA backend
 * implements the same table and is checked against it. */

#include <stddef.h>
#include <stdint.h>

#include "caviar/data.h"
#include "caviar/population.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

typedef enum caviar_set { CAVIAR_SET_TRAIN, CAVIAR_SET_TEST } caviar_set;

/* The arenas a caller may read or write: parameters, the optimizer's two state slots, and (in a
 * cohort that keeps them, c->keep_best) the parameters at each slot's best validation epoch. */
typedef enum caviar_arena {
  CAVIAR_ARENA_PARAMS,
  CAVIAR_ARENA_FIRST,
  CAVIAR_ARENA_SECOND,
  CAVIAR_ARENA_BEST
} caviar_arena;

/* Per-slot results of an epoch of training. */
typedef struct caviar_epoch_stats {
  float *train_loss; /* mean minibatch loss over the epoch's steps */
  uint8_t *diverged; /* 1 once a step's loss was NaN or Inf: the member stopped updating there */
  int *steps;        /* optimizer steps each slot took in this call (the caller books them) */
} caviar_epoch_stats;

typedef struct caviar_backend caviar_backend;

/* Which hardware a backend drives. */
typedef enum caviar_backend_kind { CAVIAR_BACKEND_CPU, CAVIAR_BACKEND_CUDA } caviar_backend_kind;

struct caviar_backend {
  const char *name;
  caviar_backend_kind kind;
  void *ctx;
  /* Checks, before anything is allocated, that a population of these cohorts (and the data) fits
   * the backend's memory, with the best-epoch arena when keep_best; if not, a one-line error says
   * how many members would. */
  caviar_status (*plan)(caviar_backend *be, const caviar_data *data, const caviar_shape *shapes, const int *members,
                        const bool *dropout, int n_cohorts, bool keep_best, caviar_error *err);
  /* Makes the dataset (features as stored, labels, scaling) available to the steps that follow. */
  caviar_status (*upload)(caviar_backend *be, const caviar_data *data, caviar_error *err);
  /* Allocates the cohort's arenas for its layout's capacity, and frees them. */
  caviar_status (*cohort_alloc)(caviar_backend *be, caviar_cohort *c, caviar_error *err);
  void (*cohort_free)(caviar_backend *be, caviar_cohort *c);
  /* Draws the initial weights of slots [first, first + count) from (seed, trial) and zeroes
   * their optimizer state. */
  caviar_status (*init_members)(caviar_backend *be, caviar_cohort *c, int first, int count, caviar_error *err);
  /* Trains every slot for one epoch (or a contiguous part of one): n_rows / batch steps over the training rows in this order
   * (the same order for every member), each at the learning rate of its own epoch count
   * (c->epochs: members that joined later are at earlier epochs). */
  caviar_status (*train_epoch)(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, size_t n_rows,
                               caviar_epoch_stats *stats, caviar_error *err);
  /* Mean loss and accuracy of every slot over the given rows of a set (no dropout). */
  caviar_status (*evaluate)(caviar_backend *be, caviar_cohort *c, caviar_set set, const uint32_t *rows, size_t n_rows,
                            float *loss, float *accuracy, caviar_error *err);
  /* Moves the listed slots (ascending) to the front, parameters, optimizer state and best-epoch
   * copy alike (the memory only: caviar_cohort_compact below keeps the books too). */
  caviar_status (*compact)(caviar_backend *be, caviar_cohort *c, const int *keep, int n_keep, caviar_error *err);
  /* Copies one slot's parameters and optimizer state over another's (memory only); in a cohort
   * that keeps best-epoch copies, dst's copy becomes the copied parameters too (PBT: the recipient
   * starts its best afresh from the weights it took, whose validation metrics are src's now). */
  caviar_status (*copy_member)(caviar_backend *be, caviar_cohort *c, int src, int dst, caviar_error *err);
  /* model.keep best: copies the listed slots' (ascending) parameters into their best-epoch copies,
   * on the backend's own memory (device to device on a GPU). */
  caviar_status (*save_best)(caviar_backend *be, caviar_cohort *c, const int *slots, int n, caviar_error *err);
  /* A slot's parameters or optimizer state, packed tensor after tensor (layout.per_member floats),
   * and back: what saving a model and checkpointing a training run read and write. */
  caviar_status (*read_arena)(caviar_backend *be, caviar_cohort *c, caviar_arena which, int slot, float *out,
                              caviar_error *err);
  caviar_status (*write_arena)(caviar_backend *be, caviar_cohort *c, caviar_arena which, int slot, const float *in,
                               caviar_error *err);
  /* For the agreement tests: each slot's mean loss and every gradient (packed like read_arena)
   * on one minibatch of training rows, at the slot's next step (its dropout mask), changing
   * nothing. */
  caviar_status (*loss_and_grads)(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, float *loss,
                                  float *grads, caviar_error *err);
  void (*destroy)(caviar_backend *be);
};

/* A cohort's operations through a backend: the backend moves the memory, population.c keeps the
 * books (host/train/cohort.c). Everything but the backends' own tests calls these, never the table
 * directly. caviar_cohort_train books the steps each slot took (stats->steps is not needed). */
caviar_status caviar_cohort_train(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, size_t n_rows,
                                  caviar_epoch_stats *stats, caviar_error *err);
caviar_status caviar_cohort_compact(caviar_backend *be, caviar_cohort *c, const int *keep, int n_keep,
                                    caviar_error *err);
caviar_status caviar_cohort_copy(caviar_backend *be, caviar_cohort *c, int src, int dst, caviar_error *err);
/* The listed slots' (ascending) current parameters become their best-epoch copies (a cohort that
 * does not keep them: nothing to do). */
caviar_status caviar_cohort_save_best(caviar_backend *be, caviar_cohort *c, const int *slots, int n,
                                      caviar_error *err);
/* A member's whole training state, to move it between processes: parameters, then the first and
 * the second optimizer state (3 * layout.per_member floats), and its step and epoch counts. Write
 * puts it over a slot's (the slot's trial and hyperparameters stay its own). */
caviar_status caviar_cohort_read_member(caviar_backend *be, caviar_cohort *c, int slot, float *state, int *steps,
                                        int *epochs, caviar_error *err);
caviar_status caviar_cohort_write_member(caviar_backend *be, caviar_cohort *c, int slot, const float *state, int steps,
                                         int epochs, caviar_error *err);

/* A member whole, to move it to another process or into a snapshot: its books, and every arena
 * the cohort keeps for it in the order parameters, first and second optimizer state, and (model.keep
 * best) its best epoch's parameters: caviar_cohort_arenas(c) * layout.per_member floats. Place
 * adds it to a cohort as a new slot. */
typedef struct caviar_member_books {
  uint32_t trial;
  int32_t steps, epochs;
  caviar_hparams hp;
} caviar_member_books;
int caviar_cohort_arenas(const caviar_cohort *c);
caviar_status caviar_cohort_take_member(caviar_backend *be, caviar_cohort *c, int slot, caviar_member_books *books,
                                        float *arenas, caviar_error *err);
caviar_status caviar_cohort_place_member(caviar_backend *be, caviar_cohort *c, const caviar_member_books *books,
                                         const float *arenas, caviar_error *err);

/* The most chunks a CUDA training step may be split into (caviar_backend_options.chunks). */
/* A backend that forwards every call to inner and adds the seconds each call takes: a sweep's
 * device_seconds, so the rest of its wall time is the host's (scheduling, bookkeeping, output).
 * Callers use &t->backend; it owns nothing (no destroy). */
typedef struct caviar_timed_backend {
  caviar_backend backend;
  caviar_backend *inner;
  double seconds;
} caviar_timed_backend;
void caviar_timed_backend_init(caviar_timed_backend *t, caviar_backend *inner);

#define CAVIAR_CUDA_MAX_CHUNKS 8

typedef struct caviar_backend_options {
  bool tf32;  /* CUDA: let cuBLAS use TF32 tensor cores for the GEMMs */
  bool eager; /* CUDA: launch every kernel of every step directly, never a captured graph (the
               * fallback when capture fails; tested and benchmarked on its own) */
  int chunks; /* CUDA: split each step's members into this many chunks, so one chunk's optimizer
               * pass overlaps the next chunks' GEMMs (0: the backend's default; 1: no overlap) */
  int device; /* CUDA: which device (0: the first visible; a rank of a distributed sweep takes its
               * rank on the host, modulo the devices) */
} caviar_backend_options;

caviar_status caviar_backend_cpu(caviar_backend **out, caviar_error *err);
/* Only in builds with CAVIAR_HAVE_CUDA; fails with a one-line reason where no device is usable. */
caviar_status caviar_backend_cuda(const caviar_backend_options *options, caviar_backend **out, caviar_error *err);

CAVIAR_C_END

#endif
