#ifndef CAVIAR_CPU_MEMBER_H
#define CAVIAR_CPU_MEMBER_H
/* The CPU backend's math for one member: forward, softmax cross-entropy, backward and the optimizer
 * update, with single-threaded OpenBLAS GEMMs (the backend runs members in parallel). Shapes are
 * column-major as in population.h; a minibatch arrives as xt, the gathered rows (rows x inputs
 * row-major, i.e. inputs x rows column-major). */

#include <stdint.h>

#include "caviar/model_math.h"
#include "caviar/population.h"

/* One member's tensors: block pointers into the cohort's arenas. */
typedef struct cpu_member {
  const caviar_shape *shape;
  const caviar_layout *layout;
  float *w[CAVIAR_MAX_TENSORS]; /* parameters */
  float *g[CAVIAR_MAX_TENSORS]; /* gradients */
  float *m[CAVIAR_MAX_TENSORS]; /* first optimizer slot */
  float *v[CAVIAR_MAX_TENSORS]; /* second optimizer slot */
} cpu_member;

/* Scratch for a forward and backward pass over up to `rows` examples. */
typedef struct cpu_workspace {
  int rows;
  float *xt;                          /* inputs x rows */
  int32_t *labels;
  float *act[CAVIAR_MAX_LAYERS];      /* hidden activations, rows x hidden */
  float *out[CAVIAR_MAX_LAYERS];      /* the same after dropout (the next layer's input) */
  float *logits;                      /* rows x classes, then their gradient */
  float *delta[2];                    /* rows x hidden: the gradient flowing down, alternating */
} cpu_workspace;

/* Dropout of one member at one step; NULL for inference. */
typedef struct cpu_dropout {
  uint64_t seed;
  uint32_t trial;
  uint32_t step;
  float p;
} cpu_dropout;

caviar_status cpu_workspace_alloc(cpu_workspace *ws, const caviar_shape *shape, int rows, caviar_error *err);
void cpu_workspace_free(cpu_workspace *ws);

/* Points m at slot's blocks of the four arenas. */
void cpu_member_bind(cpu_member *m, const caviar_shape *shape, const caviar_layout *layout, float *params,
                     float *grads, float *first, float *second, int slot);

/* Logits of ws->xt (rows examples) into ws->logits. */
void cpu_forward(const cpu_member *m, int activation, const cpu_dropout *drop, int rows, cpu_workspace *ws);

/* Mean softmax cross-entropy of ws->logits against ws->labels (accumulated in double); counts the
 * correct predictions; with grad set, replaces the logits by d(mean loss)/d(logits). */
double cpu_softmax_xent(cpu_workspace *ws, int rows, int classes, int grad, int *correct);

/* Gradients of the mean loss added into m->g, which must hold zeros (cpu_update leaves them so,
 * and arenas start zeroed), from ws->logits holding d(loss)/d(logits). */
void cpu_backward(const cpu_member *m, int activation, const cpu_dropout *drop, int rows, cpu_workspace *ws);

/* The optimizer step over every tensor (L2 on weights only); zeroes the gradients it consumed. */
void cpu_update(const cpu_member *m, const caviar_member_hp *hp, const caviar_step_scalars *s);

#endif
