// The GPU's ceilings for `caviar bench`, measured in the same run as the training they judge.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "caviar/cuda_device.h"
#include "cuda_check.h"

namespace {

caviar_status copy_bandwidth(double *gbs, caviar_error *err) {
  const size_t bytes = 1ull << 30;
  void *a = nullptr, *b = nullptr;
  CAVIAR_CUDA_TRY(err, cudaMalloc(&a, bytes));
  cudaError_t rc = cudaMalloc(&b, bytes);
  cudaEvent_t start = nullptr, stop = nullptr;
  if (rc == cudaSuccess) rc = cudaEventCreate(&start);
  if (rc == cudaSuccess) rc = cudaEventCreate(&stop);
  if (rc == cudaSuccess) rc = cudaMemset(a, 1, bytes);
  if (rc == cudaSuccess) rc = cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice);  // warm-up
  float best = 1e30f;
  for (int r = 0; rc == cudaSuccess && r < 5; r++) {
    float ms = 0;
    rc = cudaEventRecord(start);
    if (rc == cudaSuccess) rc = cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice);
    if (rc == cudaSuccess) rc = cudaEventRecord(stop);
    if (rc == cudaSuccess) rc = cudaEventSynchronize(stop);
    if (rc == cudaSuccess) rc = cudaEventElapsedTime(&ms, start, stop);
    if (ms > 0 && ms < best) best = ms;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaFree(a);
  cudaFree(b);
  if (rc != cudaSuccess)
    return CAVIAR_CUDA_FAIL(err, rc, "measuring copy bandwidth");
  *gbs = 2.0 * bytes / (best * 1e-3) / 1e9;
  return CAVIAR_OK;
}

caviar_status sgemm_rate(bool tf32, double *gflops, caviar_error *err) {
  const int n = 8192;
  size_t count = (size_t)n * n;
  float *a = nullptr, *b = nullptr, *c = nullptr;
  cublasHandle_t blas = nullptr;
  CAVIAR_CUBLAS_TRY(err, cublasCreate(&blas));
  cudaError_t rc = cudaMalloc(&a, count * sizeof(float));
  if (rc == cudaSuccess) rc = cudaMalloc(&b, count * sizeof(float));
  if (rc == cudaSuccess) rc = cudaMalloc(&c, count * sizeof(float));
  if (rc == cudaSuccess) rc = cudaMemset(a, 0, count * sizeof(float));
  if (rc == cudaSuccess) rc = cudaMemset(b, 0, count * sizeof(float));
  cudaEvent_t start = nullptr, stop = nullptr;
  if (rc == cudaSuccess) rc = cudaEventCreate(&start);
  if (rc == cudaSuccess) rc = cudaEventCreate(&stop);
  cublasStatus_t bs = cublasSetMathMode(blas, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
  const float one = 1.0f, zero = 0.0f;
  float best = 1e30f;
  for (int r = 0; rc == cudaSuccess && bs == CUBLAS_STATUS_SUCCESS && r < 4; r++) {
    float ms = 0;
    rc = cudaEventRecord(start);
    bs = cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, b, n, &zero, c, n);
    if (rc == cudaSuccess) rc = cudaEventRecord(stop);
    if (rc == cudaSuccess) rc = cudaEventSynchronize(stop);
    if (rc == cudaSuccess) rc = cudaEventElapsedTime(&ms, start, stop);
    if (r > 0 && ms > 0 && ms < best) best = ms;  // the first call is a warm-up
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  cublasDestroy(blas);
  if (rc != cudaSuccess)
    return CAVIAR_CUDA_FAIL(err, rc, "measuring SGEMM");
  if (bs != CUBLAS_STATUS_SUCCESS)
    return CAVIAR_CUBLAS_FAIL(err, bs, "measuring SGEMM");
  *gflops = 2.0 * n * (double)n * n / (best * 1e-3) / 1e9;
  return CAVIAR_OK;
}

}  // namespace

extern "C" caviar_status caviar_cuda_ceilings(bool tf32, double *copy_gbs, double *sgemm_gflops, caviar_error *err) {
  caviar_status st = copy_bandwidth(copy_gbs, err);
  return st == CAVIAR_OK ? sgemm_rate(tf32, sgemm_gflops, err) : st;
}
