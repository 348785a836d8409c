// Minibatch gather from the device-resident dataset: images stay uint8 on the device and are
// scaled here, so the dataset costs a quarter of its float size and the copy is fused with the
// conversion.
#include "cuda_check.h"
#include "kernels.cuh"

__global__ void gather_kernel(device_dataset data, const uint32_t *rows, const int *step_index, const augment_key *key,
                              int batch, int valid, float *xt, int32_t *labels) {
  size_t total = (size_t)batch * data.d;
  const uint32_t *base = step_index ? rows + (size_t)*step_index * batch : rows;
  bool augment = key && caviar_augment_on(data.augment);
  for (size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x; k < total; k += (size_t)gridDim.x * blockDim.x) {
    int i = (int)(k / data.d), j = (int)(k % data.d);
    uint32_t row = base[i < valid ? i : 0];
    long long from = j;
    if (augment)
      from = caviar_augment_source(caviar_augment_draw_of(data.augment, key->seed, key->tick, row), data.h, data.w, j);
    size_t at = (size_t)row * data.d + (size_t)from;
    float x = from < 0 ? 0.0f : data.x_u8 ? (float)data.x_u8[at] : data.x_f32[at];
    // Column i of xt (inputs x batch) is example i: consecutive threads read and write consecutive bytes.
    xt[k] = (x - data.shift[j]) * data.scale[j];
    if (j == 0) labels[i] = data.labels[row];
  }
}

caviar_status launch_gather(cudaStream_t s, const device_dataset &data, const uint32_t *rows, const int *step_index,
                            const augment_key *key, int batch, int valid, float *xt, int32_t *labels,
                            caviar_error *err) {
  size_t total = (size_t)batch * data.d;
  unsigned blocks = (unsigned)((total + 255) / 256);
  if (blocks > 65535u * 16) blocks = 65535u * 16;
  gather_kernel<<<blocks, 256, 0, s>>>(data, rows, step_index, key, batch, valid, xt, labels);
  CAVIAR_LAUNCH_CHECK(err, "gather");
  return CAVIAR_OK;
}
