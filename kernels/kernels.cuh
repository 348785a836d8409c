// Launchers of the CUDA backend's kernels. Each takes its stream, launches, and checks the launch
// (file:line and CUDA's message). Layouts follow population.h: column-major blocks, and the
// per-member activation buffers are member-major (member m's batch x units block at m * batch * units).
#ifndef CAVIAR_KERNELS_CUH
#define CAVIAR_KERNELS_CUH

#include <cuda_runtime.h>
#include <stdint.h>

#include "caviar/augment.h"
#include "caviar/model_math.h"
#include "caviar/population.h"

// gridDim.y's limit: kernels with a member per blockIdx.y are launched in chunks of this many
// members, so a cohort of any size runs (blockIdx.x carries the member in the others).
#define CAVIAR_CUDA_GRID_Y 65535
static inline int member_chunk(int members, int m0) {
  return members - m0 < CAVIAR_CUDA_GRID_Y ? members - m0 : CAVIAR_CUDA_GRID_Y;
}

// The per-member vectors every kernel may read, all device pointers indexed by slot.
struct member_vectors {
  const caviar_member_hp *hp;
  const uint32_t *trial;
  int *steps;                   // optimizer steps taken (Adam's t, the dropout counter)
  const int *epochs;            // epochs trained: the learning-rate decay's epoch
  caviar_step_scalars *scalars; // this step's lr and bias corrections
  uint8_t *diverged;
  float *loss_sum;              // training loss summed over the epoch's steps
  double *eval_loss;            // evaluation sums
  unsigned long long *eval_correct;
};

// The dataset as uploaded: features as stored (bytes or floats), labels, the input scaling.
struct device_dataset {
  const uint8_t *x_u8;
  const float *x_f32;
  const int32_t *labels;
  const float *shift, *scale;
  int d;
  caviar_augment augment;  // data.augment (training set only; none: nothing)
  int h, w;                // an example's image height and width (augmentation)
};

// The key of a training step's augmentation, in device memory (a captured step graph reads the
// epoch's, uploaded with its rows).
struct augment_key {
  uint64_t seed;
  uint32_t tick;
};

// Rows of a minibatch: explicit (rows[0 .. valid)), or the training order at *step_index * batch.
// Slots past `valid` repeat row 0 so every kernel runs at the full batch; their results are ignored.
// With key (a training step) and data.augment set, each image is augmented as caviar/augment.h
// draws it, the same as the CPU's caviar_gather_augmented.
caviar_status launch_gather(cudaStream_t s, const device_dataset &data, const uint32_t *rows, const int *step_index,
                            const augment_key *key, int batch, int valid, float *xt, int32_t *labels,
                            caviar_error *err);

// Before a training step: members not diverged take a step (steps += 1) and get its scalars.
caviar_status launch_step_begin(cudaStream_t s, member_vectors mv, int members, caviar_error *err);
caviar_status launch_step_end(cudaStream_t s, int *step_index, caviar_error *err);

// Softmax cross-entropy per member. Training: logits become d(mean loss)/d(logits), the mean loss
// is added to loss_sum, and a diverging loss sets the flag. Evaluation: sums over `valid` rows.
caviar_status launch_softmax_xent(cudaStream_t s, float *logits, const int32_t *labels, int batch, int valid,
                                  int classes, int members, bool train, member_vectors mv, caviar_error *err);

// Bias gradients: column sums of each member's rows x units block of dz (rows = batch x pixels).
caviar_status launch_bias_grad(cudaStream_t s, const float *dz, float *grads, size_t bias_offset, size_t bias_stride,
                               int batch, int units, int members, caviar_error *err);

// The optimizer's pass over members [m0, m0 + members) of the arenas (mv already offset to m0):
// one launch per tensor, a block row per member, sized for about 16 blocks per SM.
caviar_status launch_update(cudaStream_t s, const caviar_layout &layout, int m0, int members, float *params,
                            const float *grads, float *first, float *second, member_vectors mv, int sms,
                            caviar_error *err);

// Initial weights of slots [from, from + count) (the CPU's function, bit for bit), zeroed gradients
// and first and second optimizer state.
caviar_status launch_init(cudaStream_t s, const caviar_layout &layout, int from, int count, uint64_t seed,
                          float *params, float *grads, float *first, float *second, member_vectors mv,
                          caviar_error *err);

#endif
