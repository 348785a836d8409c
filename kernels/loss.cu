// Per-member softmax cross-entropy (one output: squared error against the standardised target):
// loss, logit gradient, correct count and the divergence flag.
#include "cuda_check.h"
#include "kernels.cuh"

enum { LOSS_THREADS = 256 };

// One block per member; the member's logits are a batch x classes column-major block.
__global__ void softmax_xent_kernel(float *logits, const int32_t *labels, int batch, int valid, int classes, bool train,
                                    member_vectors mv) {
  __shared__ double loss_part[LOSS_THREADS];
  __shared__ unsigned correct_part[LOSS_THREADS];
  int m = blockIdx.x;
  float *z = logits + (size_t)m * batch * classes;
  double loss = 0;
  unsigned correct = 0;
  for (int i = threadIdx.x; i < valid && classes == 1; i += blockDim.x)
    loss += (double)caviar_squared_error(z + i, __int_as_float(labels[i]), train ? (float)batch : 0.0f);
  for (int i = threadIdx.x; i < valid && classes > 1; i += blockDim.x) {
    int hit;
    loss += (double)caviar_softmax_xent(z + i, (size_t)batch, classes, labels[i], train ? (float)batch : 0.0f, &hit);
    correct += hit;
  }
  loss_part[threadIdx.x] = loss;
  correct_part[threadIdx.x] = correct;
  __syncthreads();
  for (int width = blockDim.x / 2; width > 0; width /= 2) {
    if ((int)threadIdx.x < width) {
      loss_part[threadIdx.x] += loss_part[threadIdx.x + width];
      correct_part[threadIdx.x] += correct_part[threadIdx.x + width];
    }
    __syncthreads();
  }
  if (threadIdx.x != 0) return;
  if (!train) {
    mv.eval_loss[m] += loss_part[0];
    mv.eval_correct[m] += correct_part[0];
    return;
  }
  if (mv.diverged[m]) return;
  double mean = loss_part[0] / batch;
  if (caviar_loss_diverged(mean, classes)) {
    // The epoch's loss of a diverged member is the loss that condemned it, as on the CPU.
    mv.diverged[m] = 1;
    mv.loss_sum[m] = (float)mean;
  } else {
    mv.loss_sum[m] += (float)mean;
  }
}

caviar_status launch_softmax_xent(cudaStream_t s, float *logits, const int32_t *labels, int batch, int valid,
                                  int classes, int members, bool train, member_vectors mv, caviar_error *err) {
  softmax_xent_kernel<<<(unsigned)members, LOSS_THREADS, 0, s>>>(logits, labels, batch, valid, classes, train, mv);
  CAVIAR_LAUNCH_CHECK(err, "softmax_xent");
  return CAVIAR_OK;
}
