// Which CUDA devices this process sees, for `caviar info` and --device auto.
#include <cstdio>
#include <cstring>

#include <unistd.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "caviar/cuda_device.h"
#include "cuda_check.h"

extern "C" int caviar_cuda_devices(char *buf, size_t size) {
  int count = 0;
  cudaError_t rc = cudaGetDeviceCount(&count);
  if (rc != cudaSuccess || count == 0) {
    // Without a GPU the runtime's own words mislead ("CUDA driver version is insufficient" is what
    // it says when no NVIDIA driver is loaded at all): say what was found, then what it said.
    bool driver = access("/proc/driver/nvidia/version", F_OK) == 0;
    if (rc == cudaSuccess || rc == cudaErrorNoDevice || (rc == cudaErrorInsufficientDriver && !driver))
      snprintf(buf, size, "no GPU found (%s)", driver ? "the NVIDIA driver sees no device" : "no NVIDIA driver loaded");
    else
      snprintf(buf, size, "no usable GPU found (CUDA: %s)", cudaGetErrorString(rc));
    return 0;
  }
  size_t used = 0;
  for (int i = 0; i < count && used < size; i++) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    used += (size_t)snprintf(buf + used, size - used, "%scuda:%d %s (sm_%d%d, %.1f GiB)", i ? "; " : "", i,
                             prop.name, prop.major, prop.minor, (double)prop.totalGlobalMem / (1 << 30));
  }
  return count;
}

extern "C" caviar_status caviar_cuda_memory(size_t *free_bytes, size_t *total_bytes, caviar_error *err) {
  CAVIAR_CUDA_TRY(err, cudaMemGetInfo(free_bytes, total_bytes));
  return CAVIAR_OK;
}

extern "C" void caviar_cuda_blas(caviar_blas_info *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->library, sizeof out->library, "cuBLAS");
  int major = 0, minor = 0, patch = 0;
  if (cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS)
    snprintf(out->version, sizeof out->version, "%d.%d.%d", major, minor, patch);
  else
    snprintf(out->version, sizeof out->version, "?");
}
