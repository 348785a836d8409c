#ifndef CAVIAR_CPU_MEMBER_H
#define CAVIAR_CPU_MEMBER_H
/* The CPU backend's math for one member: its model's layers forward (model.h's list, each kind in
 * a file of its own: dense.c, activation.c, dropout.c), the loss, the layers backward and the
 * optimizer update, with single-threaded OpenBLAS GEMMs. The backend runs members in parallel, one
 * per thread, and when a cohort has fewer members than threads it gives each member a team of
 * threads that split its GEMMs by output tiles and its elementwise passes by ranges, so no thread
 * ever sums another's partial results. Every GEMM is computed tile by tile (CPU_TILE output
 * columns, a fixed number) whatever the team's size: OpenBLAS does not promise that a column of C
 * comes out the same when C is computed in other widths (and on this machine it does not), so a
 * member's arithmetic is the same calls in the same order alone, in a cohort or in a team of any
 * size, and its weights are bitwise identical. Layouts are model.h's; a minibatch arrives as xt,
 * the gathered rows (rows x inputs row-major). */

#include <stdbool.h>
#include <stdint.h>

#include "caviar/model.h"
#include "caviar/model_math.h"
#include "caviar/status.h"

CAVIAR_C_BEGIN

/* One member's tensors: block pointers into the cohort's arenas. */
typedef struct cpu_member {
  const caviar_arch *arch;
  const caviar_layout *layout;
  float *w[CAVIAR_MAX_TENSORS];      /* parameters (and running statistics) */
  float *g[CAVIAR_MAX_TENSORS];      /* gradients */
  float *first[CAVIAR_MAX_TENSORS];  /* the optimizer's first state (momentum, Adam's m) */
  float *second[CAVIAR_MAX_TENSORS]; /* its second state (RMSprop's and Adam's v) */
} cpu_member;

/* Output columns of one GEMM tile. */
#define CPU_TILE 64

/* A barrier for the threads of one team: each waits until all `size` have arrived, spinning
 * briefly (the phases of a balanced team end together) and then yielding the core, so a team on a
 * busy machine does not burn the time its other threads need. */
typedef struct cpu_barrier {
  _Atomic unsigned arrived, generation;
  unsigned size;
} cpu_barrier;

void cpu_barrier_init(cpu_barrier *b, unsigned size);
void cpu_barrier_wait(cpu_barrier *b);

/* The threads training one member: this thread's rank among size, and their barrier (NULL for a
 * thread alone). Teams never wait for each other. */
typedef struct cpu_team {
  int rank, size;
  cpu_barrier *barrier;
  float *scratch; /* this thread's own scratch (a convolution's patches); NULL: the workspace's */
} cpu_team;

/* A member trained by its thread alone. */
extern const cpu_team cpu_solo;

/* The barrier between two phases of a team's work (nothing for a thread alone). */
void cpu_team_sync(const cpu_team *team);

/* [*begin, *end): the part of n items (tiles, rows, elements) that is this thread's. */
void cpu_team_share(const cpu_team *team, size_t n, size_t *begin, size_t *end);
/* This thread's tiles of a GEMM with n output columns: columns [*j0, *j1) in CPU_TILE steps. */
void cpu_team_columns(const cpu_team *team, int n, int *j0, int *j1);

/* Scratch for a forward and backward pass over up to `rows` examples: the minibatch, a buffer per
 * layer output (an in-place layer shares its input's), two gradient buffers, and where each layer's
 * output is after the last forward pass (out[i]: its buffer, or its input's when it was the
 * identity, as dropout at rate 0 or in inference). */
typedef struct cpu_workspace {
  int rows;
  float *xt;                              /* inputs x rows */
  int32_t *labels;
  float *targets;                         /* regression: the minibatch's standardised targets */
  float *y[CAVIAR_MAX_ARCH_LAYERS];       /* layer outputs, rows x (its output size) */
  const float *out[CAVIAR_MAX_ARCH_LAYERS];
  float *logits;                          /* the last layer's output, then the loss's gradient */
  float *delta[2];                        /* rows x widest: the gradient flowing down, alternating */
  float *patches;                         /* a convolution's unfolded input, cpu_conv_scratch floats */
  float *stats[CAVIAR_MAX_ARCH_LAYERS];   /* batch normalisation: each channel's batch mean and 1/std */
  double loss;                            /* the last cpu_softmax_xent, for the whole team to read */
  int correct;
} cpu_workspace;

/* A training step of one member: its dropout, and whether batch normalisation's running statistics
 * stay as they are (a gradient check); NULL for inference (no dropout, running statistics). */
typedef struct cpu_dropout {
  uint64_t seed;
  uint32_t trial;
  uint32_t step;
  float p;
  bool frozen;
} cpu_dropout;

/* Floats of one thread's scratch for a model at `rows` examples: a convolution's unfolded patches,
 * or a channel's gradient between a pooling and the batch norm below it (member.c); 0: neither. */
size_t cpu_conv_scratch(const caviar_arch *arch, int rows);

caviar_status cpu_workspace_alloc(cpu_workspace *ws, const caviar_arch *arch, int rows, caviar_error *err);
void cpu_workspace_free(cpu_workspace *ws);

/* Points m at slot's blocks of the four arenas (grads, first, second may be NULL). */
void cpu_member_bind(cpu_member *m, const caviar_arch *arch, const caviar_layout *layout, float *params, float *grads,
                     float *first, float *second, int slot);

/* Each function below is one or more team phases: the team's threads call it together, each does
 * its share, and all of it is done when it returns. */

/* The last layer's output (the logits) of ws->xt (rows examples), into ws->logits; the member's
 * activation is hp's, dropout drop's (NULL: inference). */
void cpu_forward(const cpu_member *m, const caviar_member_hp *hp, const cpu_dropout *drop, int rows, cpu_workspace *ws,
                 const cpu_team *team);

/* Mean softmax cross-entropy of ws->logits against ws->labels (one output: the mean squared error
 * against ws->targets) (accumulated in double, by the
 * team's first thread) into ws->loss, correct predictions into ws->correct; with grad set, the
 * logits become d(mean loss)/d(logits). */
void cpu_softmax_xent(cpu_workspace *ws, int rows, int classes, int grad, const cpu_team *team);

/* Gradients of the mean loss added into m->g, which must hold zeros (cpu_update leaves them so,
 * and arenas start zeroed), from ws->logits holding d(loss)/d(logits), after cpu_forward with the
 * same arguments. With step set, the optimizer's step too (cpu_update's, the same numbers): each
 * layer's tensors as soon as its gradients are final and its weights read for the last time (a
 * dense layer with no input gradient tile by tile), so a gradient is consumed while it is still in
 * cache instead of in a pass over the whole arena after the backward pass. */
void cpu_backward(const cpu_member *m, const caviar_member_hp *hp, const cpu_dropout *drop, int rows,
                  cpu_workspace *ws, const caviar_step_scalars *step, const cpu_team *team);

/* The optimizer step over every trained tensor (L2 on weights only); zeroes the gradients it
 * consumed. */
void cpu_update(const cpu_member *m, const caviar_member_hp *hp, const caviar_step_scalars *s, const cpu_team *team);
/* The same over elements [k0, k1) of tensor t (nothing for a tensor that is not trained), by the
 * calling thread alone. */
void cpu_update_range(const cpu_member *m, const caviar_member_hp *hp, const caviar_step_scalars *s, int t, size_t k0,
                      size_t k1);

CAVIAR_C_END

#endif
