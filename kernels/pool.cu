// 2 x 2 pooling of stride 2 on the GPU, max or average, over each member's channel-major planes;
// an odd last row or column is dropped (PyTorch's MaxPool2d(2), AvgPool2d(2)). Backward gathers:
// each input pixel takes its window's gradient if it is the window's first largest input (max) or
// a quarter of it (average), so there are no atomics.
#include "cuda_backend.cuh"
#include "cuda_check.h"

namespace {

struct pool_geometry {
  int h, w, oh, ow;
  size_t planes; // members x channels x batch
  bool max;
};

__global__ void pool_forward_kernel(const float *x, float *y, pool_geometry g) {
  size_t total = g.planes * (size_t)g.oh * g.ow;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
    size_t plane = i / ((size_t)g.oh * g.ow), r = i % ((size_t)g.oh * g.ow);
    int oy = (int)(r / g.ow), ox = (int)(r % g.ow);
    const float *w = x + plane * (size_t)g.h * g.w + (size_t)(2 * oy) * g.w + 2 * ox;
    float a = w[0], b = w[1], c = w[g.w], d = w[g.w + 1];
    float v;
    if (g.max) {
      v = a;
      if (b > v) v = b;
      if (c > v) v = c;
      if (d > v) v = d;
    } else {
      v = ((a + b) + (c + d)) * 0.25f;
    }
    y[i] = v;
  }
}

__global__ void pool_backward_kernel(const float *x, const float *dy, float *dx, pool_geometry g) {
  size_t total = g.planes * (size_t)g.h * g.w;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
    size_t plane = i / ((size_t)g.h * g.w), r = i % ((size_t)g.h * g.w);
    int iy = (int)(r / g.w), ix = (int)(r % g.w), oy = iy / 2, ox = ix / 2;
    float grad = 0.0f;
    if (oy < g.oh && ox < g.ow) {
      float d = dy[plane * (size_t)g.oh * g.ow + (size_t)oy * g.ow + ox];
      if (g.max) {
        const float *w = x + plane * (size_t)g.h * g.w + (size_t)(2 * oy) * g.w + 2 * ox;
        size_t window[4] = {0, 1, (size_t)g.w, (size_t)g.w + 1};
        int best = 0;
        for (int k = 1; k < 4; k++)
          if (w[window[k]] > w[window[best]]) best = k;
        size_t mine = (size_t)(iy - 2 * oy) * g.w + (size_t)(ix - 2 * ox);
        grad = window[best] == mine ? d : 0.0f;
      } else {
        grad = d * 0.25f;
      }
    }
    dx[i] = grad;
  }
}

unsigned grid_for(size_t total) {
  size_t blocks = (total + 255) / 256;
  return (unsigned)(blocks > 65535u * 32 ? 65535u * 32 : blocks);
}

pool_geometry geometry_of(const cuda_pass &p) {
  const caviar_layer *l = p.layer;
  return pool_geometry{l->in.h, l->in.w, l->out.h, l->out.w,
                       (size_t)p.sp.n * (size_t)l->in.c * (size_t)p.c->shape.batch, l->pool == CAVIAR_POOL_MAX};
}

}  // namespace

caviar_status cuda_pool_forward(const cuda_pass &p, caviar_error *err) {
  pool_geometry g = geometry_of(p);
  pool_forward_kernel<<<grid_for(g.planes * (size_t)g.oh * g.ow), 256, 0, p.ctx->stream>>>(p.x, p.y, g);
  CAVIAR_LAUNCH_CHECK(err, "pool_forward");
  return cuda_chain_forward(p, p.y, nullptr, 0, p.c->shape.batch * g.oh * g.ow, p.layer->out.c, err);
}

caviar_status cuda_pool_backward(const cuda_pass &p, caviar_error *err) {
  if (!p.dx) return CAVIAR_OK;
  pool_geometry g = geometry_of(p);
  pool_backward_kernel<<<grid_for(g.planes * (size_t)g.h * g.w), 256, 0, p.ctx->stream>>>(p.x, p.dy, p.dx, g);
  CAVIAR_LAUNCH_CHECK(err, "pool_backward");
  return cuda_chain_backward(p, p.dx, p.c->shape.batch * g.h * g.w, p.layer->in.c, err);
}
