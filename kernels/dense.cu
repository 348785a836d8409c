// The dense layer on the GPU: a member's y = x W + b as cuBLAS GEMMs over the span's members. A
// layer whose input is the shared minibatch (the first) is one GEMM against every member's weights
// side by side (inputs x (members * units): the members' blocks are adjacent when unpadded), split
// where cuBLAS's 32-bit sizes would overflow; every other is a strided batch, one member per batch
// entry. The bias and the activation and dropout after it are one pass (elementwise.cu).
#include "cuda_backend.cuh"
#include "cuda_check.h"
#include "caviar/cuda_plan.h"

caviar_status cuda_dense_forward(const cuda_pass &p, caviar_error *err) {
  const caviar_layer *l = p.layer;
  const caviar_layout &lay = p.c->layout;
  int b = p.c->shape.batch, n = p.sp.n, n_in = (int)caviar_dims_size(l->in), n_out = l->out.c, wt = l->tensor;
  const float one = 1.0f, zero = 0.0f;
  const float *w = p.cc->params + lay.offset[wt] + (size_t)p.sp.m0 * lay.stride[wt];
  if (p.shared && lay.stride[wt] == lay.size[wt]) {
    int chunk = caviar_cuda_stacked_chunk(n_in, b, n_out);
    for (int m0 = 0; m0 < n; m0 += chunk) {
      int k = n - m0 < chunk ? n - m0 : chunk;
      CAVIAR_CUBLAS_TRY(err, cublasSgemm(p.ctx->blas, CUBLAS_OP_T, CUBLAS_OP_N, b, k * n_out, n_in, &one, p.x, n_in,
                                         w + (size_t)m0 * n_in * n_out, n_in, &zero, p.y + (size_t)m0 * b * n_out, b));
    }
  } else {
    // Row by row input (the minibatch, a flatten's output) is inputs x batch column-major.
    CAVIAR_CUBLAS_TRY(err, cublasSgemmStridedBatched(p.ctx->blas, l->rowwise ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, b,
                                                     n_out, n_in, &one, p.x, l->rowwise ? n_in : b,
                                                     p.shared ? 0 : (long long)b * n_in, w, n_in,
                                                     (long long)lay.stride[wt], &zero, p.y, b, (long long)b * n_out, n));
  }
  const float *bias = l->bias ? p.cc->params + lay.offset[wt + 1] + (size_t)p.sp.m0 * lay.stride[wt + 1] : nullptr;
  return cuda_chain_forward(p, p.y, bias, l->bias ? lay.stride[wt + 1] : 0, b, n_out, err);
}

caviar_status cuda_dense_backward(const cuda_pass &p, caviar_error *err) {
  const caviar_layer *l = p.layer;
  const caviar_layout &lay = p.c->layout;
  int b = p.c->shape.batch, n = p.sp.n, n_in = (int)caviar_dims_size(l->in), n_out = l->out.c, wt = l->tensor;
  const float one = 1.0f, zero = 0.0f;
  size_t m0 = (size_t)p.sp.m0;
  float *dw = p.cc->grads + lay.offset[wt] + m0 * lay.stride[wt];
  if (p.shared && lay.stride[wt] == lay.size[wt]) {
    // Every member's weight gradient in one GEMM: minibatch x (all members' dz).
    int chunk = caviar_cuda_stacked_chunk(n_in, b, n_out);
    for (int k0 = 0; k0 < n; k0 += chunk) {
      int k = n - k0 < chunk ? n - k0 : chunk;
      CAVIAR_CUBLAS_TRY(err, cublasSgemm(p.ctx->blas, CUBLAS_OP_N, CUBLAS_OP_N, n_in, k * n_out, b, &one, p.x, n_in,
                                         p.dy + (size_t)k0 * b * n_out, b, &zero, dw + (size_t)k0 * n_in * n_out, n_in));
    }
  } else {
    CAVIAR_CUBLAS_TRY(err, cublasSgemmStridedBatched(p.ctx->blas, l->rowwise ? CUBLAS_OP_N : CUBLAS_OP_T, CUBLAS_OP_N,
                                                     n_in, n_out, b, &one, p.x, l->rowwise ? n_in : b,
                                                     p.shared ? 0 : (long long)b * n_in, p.dy, b, (long long)b * n_out,
                                                     &zero, dw, n_in, (long long)lay.stride[wt], n));
  }
  if (l->bias) {
    size_t bias_stride = lay.stride[wt + 1];
    caviar_status st =
        launch_bias_grad(p.ctx->stream, p.dy, p.cc->grads, lay.offset[wt + 1] + m0 * bias_stride, bias_stride, b, n_out, n, err);
    if (st != CAVIAR_OK) return st;
  }
  if (!p.dx) return CAVIAR_OK;
  // The input gradient (channel-major, batch x inputs), then back through the layers before.
  CAVIAR_CUBLAS_TRY(err, cublasSgemmStridedBatched(p.ctx->blas, CUBLAS_OP_N, CUBLAS_OP_T, b, n_in, n_out, &one, p.dy, b,
                                                   (long long)b * n_out,
                                                   p.cc->params + lay.offset[wt] + m0 * lay.stride[wt], n_in,
                                                   (long long)lay.stride[wt], &zero, p.dx, b, (long long)b * n_in, n));
  return cuda_chain_backward(p, p.dx, b, n_in, err);
}
