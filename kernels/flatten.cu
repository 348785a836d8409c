// Flatten on the GPU: each member's channel-major block ([C][B][H][W]) to one row per example
// ([B][C x H x W], PyTorch's order), and the gradient (channel-major [feature][B]) back.
#include "cuda_backend.cuh"
#include "cuda_check.h"

namespace {

__global__ void flatten_kernel(const float *x, float *y, int c, int batch, size_t pixels, size_t members, bool back) {
  size_t d = (size_t)c * pixels, block = d * batch, total = members * block;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
    size_t m = i / block, r = i % block;
    // r indexes the channel-major element (channel, example, pixel).
    size_t ch = r / ((size_t)batch * pixels), b = r / pixels % batch, px = r % pixels;
    size_t row = m * block + b * d + ch * pixels + px;       // [B][C][H][W]
    size_t column = m * block + (ch * pixels + px) * batch + b; // [feature][B]
    if (back) y[i] = x[column];
    else y[row] = x[i];
  }
}

unsigned grid_for(size_t total) {
  size_t blocks = (total + 255) / 256;
  return (unsigned)(blocks > 65535u * 32 ? 65535u * 32 : blocks);
}

}  // namespace

caviar_status cuda_flatten_forward(const cuda_pass &p, caviar_error *err) {
  const caviar_layer *l = p.layer;
  size_t total = (size_t)p.sp.n * pass_in(p);
  flatten_kernel<<<grid_for(total), 256, 0, p.ctx->stream>>>(p.x, p.y, l->in.c, p.c->shape.batch,
                                                             caviar_dims_pixels(l->in), (size_t)p.sp.n, false);
  CAVIAR_LAUNCH_CHECK(err, "flatten");
  return CAVIAR_OK;
}

caviar_status cuda_flatten_backward(const cuda_pass &p, caviar_error *err) {
  if (!p.dx) return CAVIAR_OK;
  const caviar_layer *l = p.layer;
  size_t total = (size_t)p.sp.n * pass_in(p);
  flatten_kernel<<<grid_for(total), 256, 0, p.ctx->stream>>>(p.dy, p.dx, l->in.c, p.c->shape.batch,
                                                             caviar_dims_pixels(l->in), (size_t)p.sp.n, true);
  CAVIAR_LAUNCH_CHECK(err, "flatten_backward");
  return cuda_chain_backward(p, p.dx, p.c->shape.batch * (int)caviar_dims_pixels(l->in), l->in.c, err);
}
