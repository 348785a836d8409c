// The 2-D convolution on the GPU ("same" padding, stride 1, PyTorch's cross-correlation) as
// explicit im2col and cuBLAS GEMMs, as on the CPU. HFTA's fusion for the first convolution: the
// shared minibatch is unfolded once ((batch x pixels) x (C_in k k)) and multiplied by every
// member's weights side by side, one GEMM whose (batch x pixels) x (members x C_out) result is the
// member-major output; later convolutions unfold each member's input (a chunk of members at a time,
// cuda_patch_members) and run a strided batch of per-member GEMMs, the grouped convolution with
// groups = members. Backward: weight gradients P^T dZ, the input gradient dZ W^T folded back onto
// the pixels by gathering (each input pixel sums the patches that saw it: no atomics).
#include "cuda_backend.cuh"
#include "cuda_check.h"
#include "caviar/cuda_plan.h"

namespace {

struct conv_geometry {
  int cin, h, w, k, pad, batch;
  bool rowwise;
};

conv_geometry geometry_of(const cuda_pass &p) {
  const caviar_layer *l = p.layer;
  return conv_geometry{l->in.c, l->in.h, l->in.w, l->kernel, l->pad, p.c->shape.batch, l->rowwise};
}

// members x (K columns of batch x pixels) of patches, each member's column-major block at
// m * M * K, from its input at m * x_stride (0: shared).
__global__ void im2col_kernel(const float *x, size_t x_stride, conv_geometry g, float *P, int members) {
  size_t pixels = (size_t)g.h * g.w, M = (size_t)g.batch * pixels, K = (size_t)g.cin * g.k * g.k;
  size_t total = (size_t)members * M * K;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
    size_t m = i / (M * K), r = i % (M * K), col = r / M, row = r % M;
    int c = (int)(col / (size_t)(g.k * g.k)), ky = (int)(col % (size_t)(g.k * g.k)) / g.k, kx = (int)(col % (size_t)g.k);
    int b = (int)(row / pixels), y = (int)(row % pixels) / g.w, xx = (int)(row % pixels) % g.w;
    int iy = y + ky - g.pad, ix = xx + kx - g.pad;
    float v = 0.0f;
    if (iy >= 0 && ix >= 0 && iy < g.h && ix < g.w) {
      size_t at = (size_t)iy * g.w + ix;
      v = g.rowwise ? x[m * x_stride + (size_t)b * g.cin * pixels + (size_t)c * pixels + at]
                    : x[m * x_stride + ((size_t)c * g.batch + b) * pixels + at];
    }
    P[i] = v;
  }
}

// The input gradient of members' chunk from their patches' gradients dP (same layout as P):
// dx (channel-major, [C][B][H][W] per member) gathers every patch entry that read its pixel.
__global__ void col2im_kernel(const float *dP, conv_geometry g, float *dx, int members) {
  size_t pixels = (size_t)g.h * g.w, M = (size_t)g.batch * pixels, K = (size_t)g.cin * g.k * g.k;
  size_t block = (size_t)g.cin * M, total = (size_t)members * block;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
    size_t m = i / block, r = i % block;
    int c = (int)(r / M);
    size_t row = r % M;
    int b = (int)(row / pixels), iy = (int)(row % pixels) / g.w, ix = (int)(row % pixels) % g.w;
    float sum = 0.0f;
    for (int ky = 0; ky < g.k; ky++)
      for (int kx = 0; kx < g.k; kx++) {
        int y = iy - ky + g.pad, xx = ix - kx + g.pad;
        if (y < 0 || xx < 0 || y >= g.h || xx >= g.w) continue;
        size_t col = ((size_t)c * g.k + ky) * g.k + kx;
        sum += dP[m * M * K + col * M + (size_t)b * pixels + (size_t)y * g.w + xx];
      }
    dx[i] = sum;
  }
}

unsigned grid_for(size_t total) {
  size_t blocks = (total + 255) / 256;
  return (unsigned)(blocks > 65535u * 32 ? 65535u * 32 : blocks);
}

caviar_status unfold(const cuda_pass &p, const float *x, size_t x_stride, int members, caviar_error *err) {
  conv_geometry g = geometry_of(p);
  size_t total = (size_t)members * g.batch * g.h * g.w * g.cin * g.k * g.k;
  im2col_kernel<<<grid_for(total), 256, 0, p.ctx->stream>>>(x, x_stride, g, p.cc->patches, members);
  CAVIAR_LAUNCH_CHECK(err, "im2col");
  return CAVIAR_OK;
}

}  // namespace

int cuda_patch_members(const caviar_cohort *c) {
  return caviar_cuda_patch_members(&c->shape, c->layout.capacity);
}

caviar_status cuda_conv_forward(const cuda_pass &p, caviar_error *err) {
  const caviar_layer *l = p.layer;
  const caviar_layout &lay = p.c->layout;
  int wt = l->tensor, n = p.sp.n, C = l->out.c;
  int M = p.c->shape.batch * l->out.h * l->out.w, K = l->in.c * l->kernel * l->kernel;
  const float one = 1.0f, zero = 0.0f;
  const float *w = p.cc->params + lay.offset[wt] + (size_t)p.sp.m0 * lay.stride[wt];
  if (p.shared) {
    caviar_status st = unfold(p, p.x, 0, 1, err);
    if (st != CAVIAR_OK) return st;
    if (lay.stride[wt] == lay.size[wt]) {
      int chunk = caviar_cuda_stacked_chunk(K, M, C);
      for (int m0 = 0; m0 < n; m0 += chunk) {
        int k = n - m0 < chunk ? n - m0 : chunk;
        CAVIAR_CUBLAS_TRY(err, cublasSgemm(p.ctx->blas, CUBLAS_OP_N, CUBLAS_OP_N, M, k * C, K, &one, p.cc->patches, M,
                                           w + (size_t)m0 * K * C, K, &zero, p.y + (size_t)m0 * M * C, M));
      }
    } else {
      CAVIAR_CUBLAS_TRY(err, cublasSgemmStridedBatched(p.ctx->blas, CUBLAS_OP_N, CUBLAS_OP_N, M, C, K, &one, p.cc->patches,
                                                       M, 0, w, K, (long long)lay.stride[wt], &zero, p.y, M,
                                                       (long long)M * C, n));
    }
  } else {
    int chunk = p.cc->patch_members;
    for (int m0 = 0; m0 < n; m0 += chunk) {
      int k = n - m0 < chunk ? n - m0 : chunk;
      caviar_status st = unfold(p, p.x + (size_t)m0 * pass_in(p), pass_in(p), k, err);
      if (st != CAVIAR_OK) return st;
      CAVIAR_CUBLAS_TRY(err, cublasSgemmStridedBatched(p.ctx->blas, CUBLAS_OP_N, CUBLAS_OP_N, M, C, K, &one, p.cc->patches,
                                                       M, (long long)M * K, w + (size_t)m0 * lay.stride[wt], K,
                                                       (long long)lay.stride[wt], &zero, p.y + (size_t)m0 * M * C, M,
                                                       (long long)M * C, k));
    }
  }
  const float *bias = l->bias ? p.cc->params + lay.offset[wt + 1] + (size_t)p.sp.m0 * lay.stride[wt + 1] : nullptr;
  return cuda_chain_forward(p, p.y, bias, l->bias ? lay.stride[wt + 1] : 0, M, C, err);
}

caviar_status cuda_conv_backward(const cuda_pass &p, caviar_error *err) {
  const caviar_layer *l = p.layer;
  const caviar_layout &lay = p.c->layout;
  int wt = l->tensor, n = p.sp.n, C = l->out.c;
  int M = p.c->shape.batch * l->out.h * l->out.w, K = l->in.c * l->kernel * l->kernel;
  const float one = 1.0f, zero = 0.0f;
  size_t m0s = (size_t)p.sp.m0;
  float *dw = p.cc->grads + lay.offset[wt] + m0s * lay.stride[wt];
  const float *w = p.cc->params + lay.offset[wt] + m0s * lay.stride[wt];
  if (p.shared) {
    // The patches again (later convolutions reused the scratch), then every member's weight
    // gradient in one GEMM: P^T x (all members' dZ).
    caviar_status st = unfold(p, p.x, 0, 1, err);
    if (st != CAVIAR_OK) return st;
    if (lay.stride[wt] == lay.size[wt]) {
      int chunk = caviar_cuda_stacked_chunk(K, M, C);
      for (int k0 = 0; k0 < n; k0 += chunk) {
        int k = n - k0 < chunk ? n - k0 : chunk;
        CAVIAR_CUBLAS_TRY(err, cublasSgemm(p.ctx->blas, CUBLAS_OP_T, CUBLAS_OP_N, K, k * C, M, &one, p.cc->patches, M,
                                           p.dy + (size_t)k0 * M * C, M, &zero, dw + (size_t)k0 * K * C, K));
      }
    } else {
      CAVIAR_CUBLAS_TRY(err, cublasSgemmStridedBatched(p.ctx->blas, CUBLAS_OP_T, CUBLAS_OP_N, K, C, M, &one, p.cc->patches,
                                                       M, 0, p.dy, M, (long long)M * C, &zero, dw, K,
                                                       (long long)lay.stride[wt], n));
    }
  } else {
    int chunk = p.cc->patch_members;
    for (int m0 = 0; m0 < n; m0 += chunk) {
      int k = n - m0 < chunk ? n - m0 : chunk;
      caviar_status st = unfold(p, p.x + (size_t)m0 * pass_in(p), pass_in(p), k, err);
      if (st != CAVIAR_OK) return st;
      CAVIAR_CUBLAS_TRY(err, cublasSgemmStridedBatched(p.ctx->blas, CUBLAS_OP_T, CUBLAS_OP_N, K, C, M, &one, p.cc->patches,
                                                       M, (long long)M * K, p.dy + (size_t)m0 * M * C, M, (long long)M * C,
                                                       &zero, dw + (size_t)m0 * lay.stride[wt], K, (long long)lay.stride[wt],
                                                       k));
      if (!p.dx) continue;
      // This chunk's input gradient: dP = dZ W^T into the scratch, folded back onto the pixels.
      CAVIAR_CUBLAS_TRY(err, cublasSgemmStridedBatched(p.ctx->blas, CUBLAS_OP_N, CUBLAS_OP_T, M, K, C, &one,
                                                       p.dy + (size_t)m0 * M * C, M, (long long)M * C,
                                                       w + (size_t)m0 * lay.stride[wt], K, (long long)lay.stride[wt], &zero,
                                                       p.cc->patches, M, (long long)M * K, k));
      conv_geometry g = geometry_of(p);
      size_t total = (size_t)k * pass_in(p);
      col2im_kernel<<<grid_for(total), 256, 0, p.ctx->stream>>>(p.cc->patches, g, p.dx + (size_t)m0 * pass_in(p), k);
      CAVIAR_LAUNCH_CHECK(err, "col2im");
    }
  }
  if (l->bias) {
    size_t bias_stride = lay.stride[wt + 1];
    caviar_status st = launch_bias_grad(p.ctx->stream, p.dy, p.cc->grads, lay.offset[wt + 1] + m0s * bias_stride,
                                        bias_stride, M, C, n, err);
    if (st != CAVIAR_OK) return st;
  }
  if (!p.dx) return CAVIAR_OK;
  return cuda_chain_backward(p, p.dx, p.c->shape.batch * l->in.h * l->in.w, l->in.c, err);
}
