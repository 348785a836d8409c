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

/* An example of the data as a model's input sees it: C x H x W. */
static inline caviar_dims caviar_data_dims(const caviar_data *d) {
  int image[3];
  caviar_dataset_image(&d->train, image);
  caviar_dims dims = {image[0], image[1], image[2]};
  return dims;
}

/* Per-slot results of an epoch of training. */
typedef struct caviar_epoch_stats {
  float *train_loss; /* mean minibatch loss over the epoch's steps */
  uint8_t *diverged; /* 1 once a step's loss was NaN or Inf: the member stopped updating there */
  int *steps;        /* optimizer steps each slot took in this call (the caller books them) */
} caviar_epoch_stats;

/* The BLAS a backend's GEMMs run on, as summary.json, sweep.json (a resume compares the kernel)
 * and caviar info record it. */
typedef struct caviar_blas_info {
  char library[16]; /* "OpenBLAS", "cuBLAS" */
  char version[32];
  char kernel[32];  /* OpenBLAS's core (its kernels for this CPU); "" for cuBLAS, which picks per call */
  char pinned[32];  /* OPENBLAS_CORETYPE as the process started with it (--blas-kernel sets it); "": none */
} caviar_blas_info;

typedef struct caviar_backend caviar_backend;

/* Which hardware a backend drives. */
typedef enum caviar_backend_kind { CAVIAR_BACKEND_CPU, CAVIAR_BACKEND_CUDA } caviar_backend_kind;

/* A backend's memory, the one small interface the cohort's arenas go through (ggml's buffer
 * interface): everything that moves members around (compaction after a cull, PBT's copies,
 * model.keep best, snapshots, MPI moves, saving a model) is written once above it
 * (host/train/cohort.c). Counts are floats; copies are queued in order and `sync` waits for them. */
typedef struct caviar_buffer_ops {
  /* n floats, zeroed; NULL on failure with a one-line error saying what it was for. */
  float *(*alloc)(caviar_backend *be, size_t n, const char *what, caviar_error *err);
  void (*release)(caviar_backend *be, float *buffer);
  /* Within the backend's memory (device to device), non-overlapping. */
  caviar_status (*copy)(caviar_backend *be, float *dst, const float *src, size_t n, caviar_error *err);
  caviar_status (*to_host)(caviar_backend *be, float *host, const float *src, size_t n, caviar_error *err);
  caviar_status (*from_host)(caviar_backend *be, float *dst, const float *host, size_t n, caviar_error *err);
  caviar_status (*clear)(caviar_backend *be, float *dst, size_t n, caviar_error *err);
  /* Every copy queued so far is done (host buffers given to to_host hold their values). */
  caviar_status (*sync)(caviar_backend *be, caviar_error *err);
} caviar_buffer_ops;

struct caviar_backend {
  const char *name;
  caviar_backend_kind kind;
  caviar_blas_info blas;
  void *ctx;
  caviar_buffer_ops buf;
  /* Whether the backend can run a layer of this kind (ggml's supports_op): a model with a kind it
   * lacks is refused with one line before anything trains (caviar_backend_check_arch). */
  bool (*supports)(const caviar_backend *be, const caviar_layer *layer);
  /* Checks, before anything is allocated, that a population of these cohorts (and the data) fits
   * the backend's memory, with the best-epoch arena when keep_best; if not, a one-line error says
   * how many members would. */
  caviar_status (*plan)(caviar_backend *be, const caviar_data *data, const caviar_shape *shapes, const int *members,
                        const bool *dropout, int n_cohorts, bool keep_best, caviar_error *err);
  /* Makes the dataset (features as stored, labels, scaling) available to the steps that follow. */
  caviar_status (*upload)(caviar_backend *be, const caviar_data *data, caviar_error *err);
  /* The backend's own state of a cohort whose arenas exist (workspaces, activation buffers), sized
   * for its layout's capacity, and its release. */
  caviar_status (*cohort_alloc)(caviar_backend *be, caviar_cohort *c, caviar_error *err);
  void (*cohort_free)(caviar_backend *be, caviar_cohort *c);
  /* Draws the initial parameters of slots [first, first + count) from (seed, trial) by each
   * tensor's role and zeroes their optimizer state. */
  caviar_status (*init_members)(caviar_backend *be, caviar_cohort *c, int first, int count, caviar_error *err);
  /* Trains every slot for one epoch (or a contiguous part of one): n_rows / batch steps over the training rows in this order
   * (the same order for every member), each at the learning rate of its own epoch count
   * (c->epochs: members that joined later are at earlier epochs). */
  caviar_status (*train_epoch)(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, size_t n_rows,
                               caviar_epoch_stats *stats, caviar_error *err);
  /* Mean loss and accuracy of every slot over the given rows of a set (no dropout; batch
   * normalisation by its running statistics). */
  caviar_status (*evaluate)(caviar_backend *be, caviar_cohort *c, caviar_set set, const uint32_t *rows, size_t n_rows,
                            float *loss, float *accuracy, caviar_error *err);
  /* For the agreement tests: each slot's mean loss and every gradient (packed like
   * caviar_cohort_read_arena) on one minibatch of training rows, at the slot's next step (its
   * dropout mask), changing nothing (running statistics included). */
  caviar_status (*loss_and_grads)(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, float *loss,
                                  float *grads, caviar_error *err);
  void (*destroy)(caviar_backend *be);
};

/* Whether the backend runs every layer of the architecture; if not, one line naming the first
 * layer kind it lacks and where it comes from (`what`, e.g. the spec's file). */
caviar_status caviar_backend_check_arch(const caviar_backend *be, const caviar_arch *arch, const char *what,
                                        caviar_error *err);

/* A cohort's arenas in the backend's memory (every one the cohort keeps, zeroed), then the
 * backend's own state; and their release. */
caviar_status caviar_cohort_alloc(caviar_backend *be, caviar_cohort *c, caviar_error *err);
void caviar_cohort_release(caviar_backend *be, caviar_cohort *c);
/* Slots [first, first + count): initial parameters from (seed, trial), zero optimizer state, and
 * (model.keep best) the initial parameters as their best so far. */
caviar_status caviar_cohort_init_members(caviar_backend *be, caviar_cohort *c, int first, int count, caviar_error *err);

/* A cohort's operations through a backend: the backend moves the memory, population.c keeps the
 * books (host/train/cohort.c). Everything but the backends' own tests calls these, never the table
 * directly. caviar_cohort_train books the steps each slot took (stats->steps is not needed). */
caviar_status caviar_cohort_train(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, size_t n_rows,
                                  caviar_epoch_stats *stats, caviar_error *err);
/* Moves the listed slots (ascending) to the front, parameters, optimizer state and best-epoch
 * copy alike, and keeps the books. */
caviar_status caviar_cohort_compact(caviar_backend *be, caviar_cohort *c, const int *keep, int n_keep,
                                    caviar_error *err);
/* Copies one slot's parameters and optimizer state over another's; in a cohort that keeps
 * best-epoch copies, dst's copy becomes the copied parameters too (PBT: the recipient starts its
 * best afresh from the weights it took, whose validation metrics are src's now). dst takes src's
 * step and epoch counts (its trial and hyperparameters stay its own). */
caviar_status caviar_cohort_copy(caviar_backend *be, caviar_cohort *c, int src, int dst, caviar_error *err);
/* The listed slots' (ascending) current parameters become their best-epoch copies (a cohort that
 * does not keep them: nothing to do). */
caviar_status caviar_cohort_save_best(caviar_backend *be, caviar_cohort *c, const int *slots, int n,
                                      caviar_error *err);
/* A slot's parameters (with running statistics), optimizer state or best-epoch copy, packed tensor
 * after tensor (layout.per_member floats), and back: what saving a model, checkpointing and
 * snapshots read and write. */
caviar_status caviar_cohort_read_arena(caviar_backend *be, caviar_cohort *c, caviar_arena which, int slot, float *out,
                                       caviar_error *err);
caviar_status caviar_cohort_write_arena(caviar_backend *be, caviar_cohort *c, caviar_arena which, int slot,
                                        const float *in, caviar_error *err);
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
