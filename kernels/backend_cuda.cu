// The CUDA backend: the cohort's arenas on the device, layer 1 of the whole cohort as one cuBLAS
// GEMM over the stacked weights (the minibatch is shared), deeper layers as strided-batched GEMMs,
// our kernels around them, and each training step captured once as a CUDA graph and replayed, so
// a shrinking population does not become launch-bound.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "caviar/backend.h"
#include "caviar/cuda_device.h"
#include "caviar/cuda_plan.h"
#include "cuda_check.h"
#include "kernels.cuh"

namespace {

// Chunks a training step is split into unless the options say otherwise (docs/PERF.md has the
// measurements behind it).
constexpr int CAVIAR_CUDA_DEFAULT_CHUNKS = 1;

struct cuda_ctx {
  int device;
  cudaStream_t stream;
  cublasHandle_t blas;
  void *blas_workspace;
  bool tf32;
  bool eager; // no step graphs: every kernel launched directly
  int chunks; // a step's member chunks (1: no overlap)
  cudaStream_t aux; // the chunks' optimizer passes
  cudaEvent_t chunk_done[CAVIAR_CUDA_MAX_CHUNKS + 1];
  device_dataset train, test;
  void *owned[8]; // dataset buffers to free
  int n_owned;
  uint32_t *rows;  // the order of an epoch or the rows of an evaluation
  size_t rows_capacity;
  int *step_index;
  unsigned data_generation; // bumped by every upload: captured graphs bake in the data's addresses
  int sms;
  char name[400];
};

struct cuda_cohort {
  float *params, *grads, *first, *second;
  float *best; // model.keep best: each slot's parameters at its best validation epoch, else null
  float *xt;
  int32_t *labels;
  float *act[CAVIAR_MAX_LAYERS], *out[CAVIAR_MAX_LAYERS];
  float *delta[2], *logits;
  bool dropout;
  member_vectors mv;
  caviar_member_hp *hp;
  uint32_t *trial;
  int *epochs;
  cudaGraphExec_t graph;
  caviar_graph_key key;
  bool have_graph;
  bool eager; // capture failed once: launch every step directly
};

cuda_ctx *ctx_of(caviar_backend *be) { return static_cast<cuda_ctx *>(be->ctx); }
cuda_cohort *impl_of(caviar_cohort *c) { return static_cast<cuda_cohort *>(c->impl); }

template <typename T> caviar_status device_alloc(T **p, size_t count, const char *what, caviar_error *err) {
  cudaError_t rc = cudaMalloc(reinterpret_cast<void **>(p), (count ? count : 1) * sizeof(T));
  if (rc != cudaSuccess) {
    *p = nullptr;
    char doing[200];
    snprintf(doing, sizeof doing, "cudaMalloc of %s (%.1f MiB)", what, (double)count * sizeof(T) / (1 << 20));
    return CAVIAR_CUDA_FAIL(err, rc, doing);
  }
  return CAVIAR_OK;
}

caviar_status cuda_plan(caviar_backend *be, const caviar_data *data, const caviar_shape *shapes, const int *members,
                        const bool *dropout, int n_cohorts, bool keep_best, caviar_error *err) {
  cuda_ctx *ctx = ctx_of(be);
  size_t free_bytes = 0, total_bytes = 0;
  CAVIAR_CUDA_TRY(err, cudaMemGetInfo(&free_bytes, &total_bytes));
  const caviar_dataset *sets[] = {&data->train, &data->test};
  double data_bytes = 0;
  for (const caviar_dataset *ds : sets)
    data_bytes += (double)ds->n * ds->d * (ds->x_u8 ? 1 : 4) + 4.0 * ds->n + 4.0 * ds->n + 8.0 * ds->d;
  double need;
  int fit;
  // A tenth of the free memory stays for cuBLAS, graphs and fragmentation.
  if (caviar_cuda_population_fits(shapes, members, dropout, n_cohorts, keep_best, data_bytes, 0.9 * (double)free_bytes, &need,
                                  &fit))
    return CAVIAR_OK;
  int total = 0;
  for (int c = 0; c < n_cohorts; c++) total += members[c];
  return caviar_fail(err, CAVIAR_EINPUT,
                     "the population needs %.1f GiB on %s, which has %.1f GiB free: about %d of its %d members fit; "
                     "run fewer trials (-n %d) or smaller models",
                     need / (1 << 30), ctx->name, (double)free_bytes / (1 << 30), fit, total, fit > 0 ? fit : 1);
}

// Keeps a dataset buffer for free_data; the table has room for both sets' four buffers.
caviar_status own(cuda_ctx *ctx, void *p, caviar_error *err) {
  if (ctx->n_owned >= (int)(sizeof ctx->owned / sizeof ctx->owned[0])) {
    cudaFree(p);
    return caviar_fail(err, CAVIAR_ERUNTIME, "%s:%d: more dataset buffers than the backend keeps", __FILE__, __LINE__);
  }
  ctx->owned[ctx->n_owned++] = p;
  return CAVIAR_OK;
}

template <typename T>
caviar_status upload_buffer(cuda_ctx *ctx, T **dst, const T *src, size_t count, const char *what, caviar_error *err) {
  caviar_status st = device_alloc(dst, count, what, err);
  if (st == CAVIAR_OK) st = own(ctx, *dst, err);
  if (st != CAVIAR_OK) return st;
  // On the backend's (non-blocking) stream, like every other transfer: the legacy default stream
  // does not order against it.
  CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(*dst, src, count * sizeof(T), cudaMemcpyHostToDevice, ctx->stream));
  return CAVIAR_OK;
}

caviar_status upload_set(cuda_ctx *ctx, const caviar_dataset *ds, const caviar_scaling *scaling, device_dataset *out,
                         caviar_error *err) {
  *out = device_dataset{};
  size_t n = ds->n * ds->d;
  uint8_t *x8 = nullptr;
  float *x32 = nullptr, *shift = nullptr, *scale = nullptr;
  int32_t *labels = nullptr;
  caviar_status st = ds->x_u8 ? upload_buffer(ctx, &x8, ds->x_u8, n, "the dataset", err)
                              : upload_buffer(ctx, &x32, ds->x_f32, n, "the dataset", err);
  // Regression: the labels' slots hold the standardised targets' float bits (the loss kernel reads
  // them back with __int_as_float), so the gather and the memory plan are the same for both tasks.
  const int32_t *label_words = ds->targets ? reinterpret_cast<const int32_t *>(ds->targets) : ds->labels;
  if (st == CAVIAR_OK) st = upload_buffer(ctx, &labels, label_words, ds->n, "labels", err);
  if (st == CAVIAR_OK) st = upload_buffer(ctx, &shift, scaling->shift, ds->d, "the input scaling", err);
  if (st == CAVIAR_OK) st = upload_buffer(ctx, &scale, scaling->scale, ds->d, "the input scaling", err);
  if (st != CAVIAR_OK) return st;
  // The host's arrays may be freed once this returns.
  CAVIAR_CUDA_TRY(err, cudaStreamSynchronize(ctx->stream));
  *out = device_dataset{x8, x32, labels, shift, scale, (int)ds->d};
  return CAVIAR_OK;
}

void free_data(cuda_ctx *ctx) {
  for (int i = 0; i < ctx->n_owned; i++) cudaFree(ctx->owned[i]);
  ctx->n_owned = 0;
  cudaFree(ctx->rows);
  ctx->rows = nullptr;
  ctx->rows_capacity = 0;
}

caviar_status cuda_upload(caviar_backend *be, const caviar_data *data, caviar_error *err) {
  cuda_ctx *ctx = ctx_of(be);
  free_data(ctx);
  ctx->data_generation++;
  caviar_status st = upload_set(ctx, &data->train, &data->scaling, &ctx->train, err);
  if (st == CAVIAR_OK) st = upload_set(ctx, &data->test, &data->scaling, &ctx->test, err);
  ctx->rows_capacity = data->train.n > data->test.n ? data->train.n : data->test.n;
  if (st == CAVIAR_OK) st = device_alloc(&ctx->rows, ctx->rows_capacity, "row indices", err);
  return st;
}

void cuda_cohort_free(caviar_backend *be, caviar_cohort *c) {
  (void)be;
  cuda_cohort *cc = impl_of(c);
  if (!cc) return;
  if (cc->have_graph) cudaGraphExecDestroy(cc->graph);
  void *buffers[] = {cc->params, cc->grads, cc->first, cc->second, cc->best, cc->xt, cc->labels, cc->delta[0], cc->delta[1],
                     cc->logits, cc->hp, cc->trial, cc->epochs, cc->mv.steps, cc->mv.scalars, cc->mv.diverged, cc->mv.loss_sum,
                     cc->mv.eval_loss, cc->mv.eval_correct};
  for (void *p : buffers) cudaFree(p);
  for (int l = 0; l < CAVIAR_MAX_LAYERS; l++) {
    if (cc->out[l] != cc->act[l]) cudaFree(cc->out[l]);
    cudaFree(cc->act[l]);
  }
  delete cc;
  c->impl = nullptr;
}

// Whether some member needs the next layer's input apart from the activation buffer: dropout, or
// an activation that keeps its input there (model_math.h).
bool any_dropout(const caviar_cohort *c) {
  for (int i = 0; i < c->n; i++)
    if (c->hp[i].dropout > 0 || caviar_activation_keeps_input(c->hp[i].activation)) return true;
  return false;
}

// Separate post-dropout buffers (the next layer's input), only once some member uses dropout (or
// an activation that keeps its input).
caviar_status alloc_dropout_buffers(caviar_cohort *c, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  caviar_cuda_buffers with;
  caviar_cuda_buffers_of(&c->shape, c->layout.capacity, true, c->keep_best, &with);
  size_t n = with.out;
  for (int l = 0; l < c->shape.layers; l++) {
    if (cc->out[l] != cc->act[l]) continue;
    caviar_status st = device_alloc(&cc->out[l], n, "dropout outputs", err);
    if (st != CAVIAR_OK) {
      cc->out[l] = cc->act[l];
      return st;
    }
  }
  cc->dropout = true;
  if (cc->have_graph) cudaGraphExecDestroy(cc->graph);
  cc->have_graph = false;
  return CAVIAR_OK;
}

caviar_status cuda_cohort_alloc(caviar_backend *be, caviar_cohort *c, caviar_error *err) {
  cuda_cohort *cc = new (std::nothrow) cuda_cohort();
  if (!cc) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory allocating a cohort");
  c->impl = cc;
  const caviar_shape &s = c->shape;
  size_t cap = (size_t)c->layout.capacity;
  cc->dropout = any_dropout(c);
  cc->eager = ctx_of(be)->eager;
  // Exactly the buffers the memory plan counted (cuda_plan.c); the per-member vectors are the
  // `members` entries, one allocation each.
  caviar_cuda_buffers bufs;
  caviar_cuda_buffers_of(&s, c->layout.capacity, false, c->keep_best, &bufs);
  caviar_status st = CAVIAR_OK;
  float **arenas[] = {&cc->params, &cc->grads, &cc->first, &cc->second};
  for (float **a : arenas)
    if (st == CAVIAR_OK) st = device_alloc(a, bufs.arena, "a cohort arena", err);
  if (st == CAVIAR_OK && bufs.best > 0) st = device_alloc(&cc->best, bufs.best, "the best-epoch arena", err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->xt, bufs.xt, "the minibatch", err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->labels, bufs.labels, "minibatch labels", err);
  for (int l = 0; st == CAVIAR_OK && l < s.layers; l++) {
    st = device_alloc(&cc->act[l], bufs.act, "activations", err);
    cc->out[l] = cc->act[l];
  }
  if (st == CAVIAR_OK && cc->dropout) st = alloc_dropout_buffers(c, err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->delta[0], bufs.delta, "gradients", err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->delta[1], bufs.delta, "gradients", err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->logits, bufs.logits, "logits", err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->hp, cap, "hyperparameters", err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->trial, cap, "trial ids", err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->mv.steps, cap, "step counters", err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->epochs, cap, "epoch counters", err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->mv.scalars, cap, "step scalars", err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->mv.diverged, cap, "divergence flags", err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->mv.loss_sum, cap, "losses", err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->mv.eval_loss, cap, "evaluation sums", err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->mv.eval_correct, cap, "evaluation counts", err);
  cc->mv.hp = cc->hp;
  cc->mv.trial = cc->trial;
  cc->mv.epochs = cc->epochs;
  cuda_ctx *ctx = ctx_of(be);
  cudaError_t rc = cudaSuccess;
  for (float **a : arenas)
    if (st == CAVIAR_OK && rc == cudaSuccess) rc = cudaMemsetAsync(*a, 0, c->layout.arena * sizeof(float), ctx->stream);
  if (st == CAVIAR_OK && rc == cudaSuccess && cc->best)
    rc = cudaMemsetAsync(cc->best, 0, c->layout.arena * sizeof(float), ctx->stream);
  if (st == CAVIAR_OK && rc == cudaSuccess) rc = cudaStreamSynchronize(ctx->stream);
  if (st == CAVIAR_OK && rc != cudaSuccess)
    st = CAVIAR_CUDA_FAIL(err, rc, "clearing a cohort's arenas");
  if (st != CAVIAR_OK) cuda_cohort_free(be, c);
  return st;
}

// The host's books (hyperparameters, trial ids, step counts) are the truth between epochs.
caviar_status upload_books(cuda_ctx *ctx, caviar_cohort *c, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  if (c->n == 0) return CAVIAR_OK;
  CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(cc->hp, c->hp, c->n * sizeof(caviar_member_hp), cudaMemcpyHostToDevice, ctx->stream));
  CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(cc->trial, c->trial, c->n * sizeof(uint32_t), cudaMemcpyHostToDevice, ctx->stream));
  CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(cc->mv.steps, c->steps, c->n * sizeof(int), cudaMemcpyHostToDevice, ctx->stream));
  CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(cc->epochs, c->epochs, c->n * sizeof(int), cudaMemcpyHostToDevice, ctx->stream));
  return CAVIAR_OK;
}

// Slots [first, first + count) of every tensor from one arena to another, device to device on the
// stream: a member's blocks of a tensor are adjacent, so a run of slots is one copy per tensor.
caviar_status copy_blocks(cuda_ctx *ctx, const caviar_cohort *c, float *to, const float *from, int dst, int src,
                          int count, caviar_error *err) {
  const caviar_layout &lay = c->layout;
  for (int t = 0; t < lay.n_tensors; t++)
    CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(caviar_block(to, &lay, t, dst), caviar_block(const_cast<float *>(from), &lay, t, src),
                                         ((size_t)(count - 1) * lay.stride[t] + lay.size[t]) * sizeof(float),
                                         cudaMemcpyDeviceToDevice, ctx->stream));
  return CAVIAR_OK;
}

caviar_status cuda_init_members(caviar_backend *be, caviar_cohort *c, int first, int count, caviar_error *err) {
  cuda_ctx *ctx = ctx_of(be);
  cuda_cohort *cc = impl_of(c);
  caviar_status st = upload_books(ctx, c, err);
  if (st == CAVIAR_OK)
    st = launch_init(ctx->stream, c->layout, first, count, c->seed, cc->params, cc->grads, cc->first, cc->second,
                     cc->mv, err);
  // A fresh member's best-epoch copy: its initial weights, until its first validation.
  if (st == CAVIAR_OK && cc->best && count > 0) st = copy_blocks(ctx, c, cc->best, cc->params, first, first, count, err);
  if (st == CAVIAR_OK) CAVIAR_CUDA_TRY(err, cudaStreamSynchronize(ctx->stream));
  return st;
}

// A contiguous range of slots [m0, m0 + n): the whole cohort, or one chunk of a step that
// overlaps chunks' optimizer passes with other chunks' GEMMs. Every buffer is member-major or
// tensor-major, so a span is an offset into each.
struct span {
  int m0, n;
};

// The per-member vectors of a span: kernels index its members from 0.
member_vectors vectors_at(const member_vectors &mv, int m0) {
  member_vectors v = mv;
  v.hp += m0;
  v.trial += m0;
  v.steps += m0;
  v.epochs += m0;
  v.scalars += m0;
  v.diverged += m0;
  v.loss_sum += m0;
  v.eval_loss += m0;
  v.eval_correct += m0;
  return v;
}

// Z (batch x n_out per member, member-major) = input x W for every member of the span.
caviar_status linear_forward(cuda_ctx *ctx, caviar_cohort *c, span sp, int l, const float *input, float *z,
                             caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  const caviar_layout &lay = c->layout;
  int b = c->shape.batch, n = sp.n, n_in = caviar_layer_in(&c->shape, l), n_out = caviar_layer_out(&c->shape, l);
  const float one = 1.0f, zero = 0.0f;
  const float *w = cc->params + lay.offset[caviar_weight_tensor(l)] + (size_t)sp.m0 * lay.stride[caviar_weight_tensor(l)];
  if (l == 0 && lay.stride[0] == lay.size[0]) {
    // The shared minibatch times the stacked first-layer weights: one inputs x (n * hidden) GEMM,
    // split where the 32-bit API's sizes would overflow.
    int chunk = caviar_cuda_stacked_chunk(n_in, b, n_out);
    for (int m0 = 0; m0 < n; m0 += chunk) {
      int k = n - m0 < chunk ? n - m0 : chunk;
      CAVIAR_CUBLAS_TRY(err, cublasSgemm(ctx->blas, CUBLAS_OP_T, CUBLAS_OP_N, b, k * n_out, n_in, &one, input, n_in,
                                         w + (size_t)m0 * n_in * n_out, n_in, &zero, z + (size_t)m0 * b * n_out, b));
    }
  } else {
    // Deeper layers (and a padded first layer, with the minibatch's stride 0) as a strided batch.
    long long stride_in = l == 0 ? 0 : (long long)b * n_in;
    CAVIAR_CUBLAS_TRY(err, cublasSgemmStridedBatched(ctx->blas, l == 0 ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, b,
                                                     n_out, n_in, &one, input, l == 0 ? n_in : b, stride_in, w, n_in,
                                                     (long long)lay.stride[caviar_weight_tensor(l)], &zero, z, b, (long long)b * n_out, n));
  }
  return CAVIAR_OK;
}

caviar_status forward(cuda_ctx *ctx, caviar_cohort *c, span sp, bool train, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  const caviar_shape &s = c->shape;
  size_t b = (size_t)s.batch, m0 = (size_t)sp.m0;
  member_vectors mv = vectors_at(cc->mv, sp.m0);
  const float *input = cc->xt;
  for (int l = 0; l <= s.layers; l++) {
    bool hidden = l < s.layers;
    size_t units = (size_t)caviar_layer_out(&s, l);
    float *z = (hidden ? cc->act[l] : cc->logits) + m0 * b * units;
    caviar_status st = linear_forward(ctx, c, sp, l, input, z, err);
    if (st != CAVIAR_OK) return st;
    float *out = hidden && cc->out[l] != cc->act[l] ? cc->out[l] + m0 * b * units : nullptr;
    size_t bias_stride = c->layout.stride[caviar_bias_tensor(l)];
    st = launch_bias_activation(ctx->stream, z, out, cc->params, c->layout.offset[caviar_bias_tensor(l)] + m0 * bias_stride,
                                bias_stride, s.batch, (int)units, sp.n, hidden, train, l, c->seed, mv, err);
    if (st != CAVIAR_OK) return st;
    if (hidden) input = cc->out[l] + m0 * b * units;
  }
  return CAVIAR_OK;
}

caviar_status backward(cuda_ctx *ctx, caviar_cohort *c, span sp, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  const caviar_shape &s = c->shape;
  const caviar_layout &lay = c->layout;
  const float one = 1.0f, zero = 0.0f;
  int b = s.batch, n = sp.n;
  size_t m0 = (size_t)sp.m0;
  member_vectors mv = vectors_at(cc->mv, sp.m0);
  float *dz = cc->logits + m0 * b * s.classes;
  for (int l = s.layers; l >= 0; l--) {
    int n_in = caviar_layer_in(&s, l), n_out = caviar_layer_out(&s, l);
    float *dw = cc->grads + lay.offset[caviar_weight_tensor(l)] + m0 * lay.stride[caviar_weight_tensor(l)];
    if (l == 0 && lay.stride[0] == lay.size[0]) {
      // Every member's first-layer weight gradient in one GEMM: minibatch x (all members' dz).
      int chunk = caviar_cuda_stacked_chunk(n_in, b, n_out);
      for (int k0 = 0; k0 < n; k0 += chunk) {
        int k = n - k0 < chunk ? n - k0 : chunk;
        CAVIAR_CUBLAS_TRY(err, cublasSgemm(ctx->blas, CUBLAS_OP_N, CUBLAS_OP_N, n_in, k * n_out, b, &one, cc->xt, n_in,
                                           dz + (size_t)k0 * b * n_out, b, &zero, dw + (size_t)k0 * n_in * n_out,
                                           n_in));
      }
    } else {
      const float *input = l == 0 ? cc->xt : cc->out[l - 1] + m0 * b * n_in;
      CAVIAR_CUBLAS_TRY(err, cublasSgemmStridedBatched(ctx->blas, l == 0 ? CUBLAS_OP_N : CUBLAS_OP_T, CUBLAS_OP_N,
                                                       n_in, n_out, b, &one, input, l == 0 ? n_in : b,
                                                       l == 0 ? 0 : (long long)b * n_in, dz, b, (long long)b * n_out,
                                                       &zero, dw, n_in, (long long)lay.stride[caviar_weight_tensor(l)], n));
    }
    size_t bias_stride = lay.stride[caviar_bias_tensor(l)];
    caviar_status st = launch_bias_grad(ctx->stream, dz, cc->grads, lay.offset[caviar_bias_tensor(l)] + m0 * bias_stride,
                                        bias_stride, b, n_out, n, err);
    if (st != CAVIAR_OK) return st;
    if (l == 0) break;
    float *da = cc->delta[l % 2] + m0 * b * n_in;
    CAVIAR_CUBLAS_TRY(err, cublasSgemmStridedBatched(ctx->blas, CUBLAS_OP_N, CUBLAS_OP_T, b, n_in, n_out, &one, dz, b,
                                                     (long long)b * n_out,
                                                     cc->params + lay.offset[caviar_weight_tensor(l)] + m0 * lay.stride[caviar_weight_tensor(l)], n_in,
                                                     (long long)lay.stride[caviar_weight_tensor(l)], &zero, da, b, (long long)b * n_in,
                                                     n));
    st = launch_activation_backward(ctx->stream, da, cc->act[l - 1] + m0 * b * n_in, b, n_in, n, l - 1, c->seed, mv,
                                    err);
    if (st != CAVIAR_OK) return st;
    dz = da;
  }
  return CAVIAR_OK;
}

// The start of a training step: the members' next step and the minibatch at the step index.
caviar_status enqueue_step_begin(cuda_ctx *ctx, caviar_cohort *c, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  caviar_status st = launch_step_begin(ctx->stream, cc->mv, c->n, err);
  if (st == CAVIAR_OK)
    st = launch_gather(ctx->stream, ctx->train, ctx->rows, ctx->step_index, c->shape.batch, c->shape.batch, cc->xt,
                       cc->labels, err);
  return st;
}

// A span's forward, loss and backward: its gradients, on the backend's stream.
caviar_status enqueue_gradients(cuda_ctx *ctx, caviar_cohort *c, span sp, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  caviar_status st = forward(ctx, c, sp, true, err);
  if (st == CAVIAR_OK)
    st = launch_softmax_xent(ctx->stream, cc->logits + (size_t)sp.m0 * c->shape.batch * c->shape.classes, cc->labels,
                             c->shape.batch, c->shape.batch, c->shape.classes, sp.n, true, vectors_at(cc->mv, sp.m0),
                             err);
  return st == CAVIAR_OK ? backward(ctx, c, sp, err) : st;
}

caviar_status enqueue_update(cudaStream_t stream, int ctx_sms, caviar_cohort *c, span sp, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  return launch_update(stream, c->layout, sp.m0, sp.n, cc->params, cc->grads, cc->first, cc->second,
                       vectors_at(cc->mv, sp.m0), ctx_sms, err);
}

// How many chunks a step of n members is split into (at most one per member).
int chunks_for(const cuda_ctx *ctx, int n) { return ctx->chunks < n ? ctx->chunks : (n > 0 ? n : 1); }

// One training step of every member, all on the backend's stream and (with chunks) a second one
// joined back to it, so the whole step is capturable as one graph. With k chunks, chunk i's
// optimizer pass (memory-bound) runs on the second stream while chunks i + 1 .. k - 1 compute
// their gradients (GEMM-bound) on the first: the two costs overlap instead of adding up. Each
// member's own order (its gradients, then its update) is kept by an event per chunk.
caviar_status enqueue_step(cuda_ctx *ctx, caviar_cohort *c, caviar_error *err) {
  caviar_status st = enqueue_step_begin(ctx, c, err);
  int k = chunks_for(ctx, c->n);
  if (k == 1) {
    if (st == CAVIAR_OK) st = enqueue_gradients(ctx, c, span{0, c->n}, err);
    if (st == CAVIAR_OK) st = enqueue_update(ctx->stream, ctx->sms, c, span{0, c->n}, err);
  } else {
    for (int i = 0; st == CAVIAR_OK && i < k; i++) {
      int m0 = (int)((long long)c->n * i / k), m1 = (int)((long long)c->n * (i + 1) / k);
      span sp = {m0, m1 - m0};
      st = enqueue_gradients(ctx, c, sp, err);
      if (st == CAVIAR_OK) CAVIAR_CUDA_TRY(err, cudaEventRecord(ctx->chunk_done[i], ctx->stream));
      if (st == CAVIAR_OK) CAVIAR_CUDA_TRY(err, cudaStreamWaitEvent(ctx->aux, ctx->chunk_done[i], 0));
      if (st == CAVIAR_OK) st = enqueue_update(ctx->aux, ctx->sms, c, sp, err);
    }
    if (st == CAVIAR_OK) CAVIAR_CUDA_TRY(err, cudaEventRecord(ctx->chunk_done[k], ctx->aux));
    if (st == CAVIAR_OK) CAVIAR_CUDA_TRY(err, cudaStreamWaitEvent(ctx->stream, ctx->chunk_done[k], 0));
  }
  if (st == CAVIAR_OK) st = launch_step_end(ctx->stream, ctx->step_index, err);
  return st;
}

// Captures the step once per member count; compaction changes the count and so the graph.
caviar_status step_graph(cuda_ctx *ctx, caviar_cohort *c, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  caviar_graph_key now = {c->n, cc->params, ctx->data_generation};
  if (cc->have_graph && caviar_graph_key_matches(&cc->key, &now)) return CAVIAR_OK;
  if (cc->have_graph) cudaGraphExecDestroy(cc->graph);
  cc->have_graph = false;
  CAVIAR_CUDA_TRY(err, cudaStreamBeginCapture(ctx->stream, cudaStreamCaptureModeThreadLocal));
  caviar_status st = enqueue_step(ctx, c, err);
  cudaGraph_t graph = nullptr;
  cudaError_t rc = cudaStreamEndCapture(ctx->stream, &graph);
  if (st != CAVIAR_OK) {
    if (graph) cudaGraphDestroy(graph);
    return st;
  }
  if (rc != cudaSuccess)
    return CAVIAR_CUDA_FAIL(err, rc, "capturing the training step");
  rc = cudaGraphInstantiate(&cc->graph, graph, 0);
  cudaGraphDestroy(graph);
  if (rc != cudaSuccess)
    return CAVIAR_CUDA_FAIL(err, rc, "instantiating the step graph");
  cc->have_graph = true;
  cc->key = now;
  return CAVIAR_OK;
}

caviar_status start_steps(cuda_ctx *ctx, caviar_cohort *c, const uint32_t *rows, size_t n_rows, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  static const int zero = 0;
  if (n_rows > ctx->rows_capacity)
    return caviar_fail(err, CAVIAR_ERUNTIME, "%zu rows, more than the %zu uploaded", n_rows, ctx->rows_capacity);
  CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(ctx->rows, rows, n_rows * sizeof(uint32_t), cudaMemcpyHostToDevice, ctx->stream));
  CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(ctx->step_index, &zero, sizeof(int), cudaMemcpyHostToDevice, ctx->stream));
  CAVIAR_CUDA_TRY(err, cudaMemsetAsync(cc->mv.diverged, 0, c->n, ctx->stream));
  CAVIAR_CUDA_TRY(err, cudaMemsetAsync(cc->mv.loss_sum, 0, c->n * sizeof(float), ctx->stream));
  if (!cc->dropout && any_dropout(c)) {
    caviar_status st = alloc_dropout_buffers(c, err);
    if (st != CAVIAR_OK) return st;
  }
  return upload_books(ctx, c, err);
}

caviar_status cuda_train_epoch(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, size_t n_rows,
                               caviar_epoch_stats *stats, caviar_error *err) {
  cuda_ctx *ctx = ctx_of(be);
  cuda_cohort *cc = impl_of(c);
  size_t steps = n_rows / (size_t)c->shape.batch;
  if (c->n == 0) return CAVIAR_OK;
  caviar_status st = start_steps(ctx, c, rows, n_rows, err);
  if (st == CAVIAR_OK && !cc->eager && step_graph(ctx, c, err) != CAVIAR_OK) {
    // A step that cannot be captured (an old driver, lazy module loading) still trains, with a
    // launch per kernel: slower once few members remain, so say so once.
    fprintf(stderr, "caviar: warning: no CUDA graph for the training step (%s); launching its kernels directly\n",
            err->msg);
    cudaGetLastError();  // the failed capture's error must not be taken for the next launch's
    cc->eager = true;
  }
  for (size_t s = 0; st == CAVIAR_OK && s < steps; s++) {
    if (cc->eager) st = enqueue_step(ctx, c, err);
    else CAVIAR_CUDA_TRY(err, cudaGraphLaunch(cc->graph, ctx->stream));
  }
  if (st != CAVIAR_OK) return st;
  CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(stats->train_loss, cc->mv.loss_sum, c->n * sizeof(float), cudaMemcpyDeviceToHost, ctx->stream));
  CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(stats->diverged, cc->mv.diverged, c->n, cudaMemcpyDeviceToHost, ctx->stream));
  CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(stats->steps, cc->mv.steps, c->n * sizeof(int), cudaMemcpyDeviceToHost, ctx->stream));
  CAVIAR_CUDA_TRY(err, cudaStreamSynchronize(ctx->stream));
  for (int m = 0; m < c->n; m++) {
    stats->steps[m] -= c->steps[m];  // the device counts on from the books' step count
    if (!stats->diverged[m]) stats->train_loss[m] /= (float)(steps ? steps : 1);
  }
  return CAVIAR_OK;
}

caviar_status cuda_evaluate(caviar_backend *be, caviar_cohort *c, caviar_set set, const uint32_t *rows, size_t n_rows,
                            float *loss, float *accuracy, caviar_error *err) {
  cuda_ctx *ctx = ctx_of(be);
  cuda_cohort *cc = impl_of(c);
  if (c->n == 0 || n_rows == 0) return CAVIAR_OK;
  if (n_rows > ctx->rows_capacity)
    return caviar_fail(err, CAVIAR_ERUNTIME, "%zu rows, more than the %zu uploaded", n_rows, ctx->rows_capacity);
  CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(ctx->rows, rows, n_rows * sizeof(uint32_t), cudaMemcpyHostToDevice, ctx->stream));
  CAVIAR_CUDA_TRY(err, cudaMemsetAsync(cc->mv.eval_loss, 0, c->n * sizeof(double), ctx->stream));
  CAVIAR_CUDA_TRY(err, cudaMemsetAsync(cc->mv.eval_correct, 0, c->n * sizeof(unsigned long long), ctx->stream));
  caviar_status st = upload_books(ctx, c, err);
  const device_dataset &data = set == CAVIAR_SET_TRAIN ? ctx->train : ctx->test;
  int b = c->shape.batch;
  for (size_t start = 0; st == CAVIAR_OK && start < n_rows; start += (size_t)b) {
    int valid = (int)(n_rows - start < (size_t)b ? n_rows - start : (size_t)b);
    st = launch_gather(ctx->stream, data, ctx->rows + start, nullptr, b, valid, cc->xt, cc->labels, err);
    if (st == CAVIAR_OK) st = forward(ctx, c, span{0, c->n}, false, err);
    if (st == CAVIAR_OK)
      st = launch_softmax_xent(ctx->stream, cc->logits, cc->labels, b, valid, c->shape.classes, c->n, false, cc->mv, err);
  }
  if (st != CAVIAR_OK) return st;
  double *sums = static_cast<double *>(malloc(c->n * sizeof(double)));
  unsigned long long *right = static_cast<unsigned long long *>(malloc(c->n * sizeof(unsigned long long)));
  if (!sums || !right) {
    free(sums);
    free(right);
    return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory reading evaluation results");
  }
  cudaError_t rc = cudaMemcpyAsync(sums, cc->mv.eval_loss, c->n * sizeof(double), cudaMemcpyDeviceToHost, ctx->stream);
  if (rc == cudaSuccess)
    rc = cudaMemcpyAsync(right, cc->mv.eval_correct, c->n * sizeof(unsigned long long), cudaMemcpyDeviceToHost, ctx->stream);
  if (rc == cudaSuccess) rc = cudaStreamSynchronize(ctx->stream);
  for (int m = 0; rc == cudaSuccess && m < c->n; m++) {
    loss[m] = (float)(sums[m] / (double)n_rows);
    accuracy[m] = (float)((double)right[m] / (double)n_rows);
  }
  free(sums);
  free(right);
  if (rc != cudaSuccess)
    return CAVIAR_CUDA_FAIL(err, rc, "reading evaluation results");
  return CAVIAR_OK;
}

// Copies one member's blocks of every tensor of every arena (device to device, on the stream).
caviar_status move_member(cuda_ctx *ctx, caviar_cohort *c, int src, int dst, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  float *arenas[] = {cc->params, cc->first, cc->second, cc->best};
  for (float *a : arenas)
    if (a) {
      caviar_status st = copy_blocks(ctx, c, a, a, dst, src, 1, err);
      if (st != CAVIAR_OK) return st;
    }
  return CAVIAR_OK;
}

// The host's books change only once the device's copies are done: an error leaves both as they were
// before (or the device partly moved, reported, and the books still naming the old slots).
caviar_status cuda_compact(caviar_backend *be, caviar_cohort *c, const int *keep, int n_keep, caviar_error *err) {
  cuda_ctx *ctx = ctx_of(be);
  for (int i = 0; i < n_keep; i++)
    if (keep[i] != i) {
      caviar_status st = move_member(ctx, c, keep[i], i, err);
      if (st != CAVIAR_OK) return st;
    }
  CAVIAR_CUDA_TRY(err, cudaStreamSynchronize(ctx->stream));
  return CAVIAR_OK;
}

caviar_status cuda_copy_member(caviar_backend *be, caviar_cohort *c, int src, int dst, caviar_error *err) {
  cuda_ctx *ctx = ctx_of(be);
  caviar_status st = move_member(ctx, c, src, dst, err);
  // The recipient's best-epoch copy starts afresh from the parameters it took (backend.h).
  cuda_cohort *cc = impl_of(c);
  if (st == CAVIAR_OK && cc->best) st = copy_blocks(ctx, c, cc->best, cc->params, dst, dst, 1, err);
  if (st != CAVIAR_OK) return st;
  CAVIAR_CUDA_TRY(err, cudaStreamSynchronize(ctx->stream));
  return CAVIAR_OK;
}

// Device to device, a copy per tensor for each run of consecutive slots: after an epoch where most
// members improve (early in training) that is a few copies per tensor; never a host round trip.
caviar_status cuda_save_best(caviar_backend *be, caviar_cohort *c, const int *slots, int n, caviar_error *err) {
  cuda_ctx *ctx = ctx_of(be);
  cuda_cohort *cc = impl_of(c);
  if (!cc->best) return caviar_fail(err, CAVIAR_ERUNTIME, "this cohort keeps no best-epoch copies (model.keep last)");
  for (int i = 0; i < n;) {
    int run = 1;
    while (i + run < n && slots[i + run] == slots[i] + run) run++;
    caviar_status st = copy_blocks(ctx, c, cc->best, cc->params, slots[i], slots[i], run, err);
    if (st != CAVIAR_OK) return st;
    i += run;
  }
  CAVIAR_CUDA_TRY(err, cudaStreamSynchronize(ctx->stream));
  return CAVIAR_OK;
}

caviar_status copy_params(cuda_ctx *ctx, caviar_cohort *c, float *arena, int slot, float *host, bool to_device,
                          caviar_error *err) {
  for (int t = 0; t < c->layout.n_tensors; t++) {
    float *block = caviar_block(arena, &c->layout, t, slot);
    size_t bytes = c->layout.size[t] * sizeof(float);
    CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(to_device ? block : host, to_device ? host : block, bytes,
                                         to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost, ctx->stream));
    host += c->layout.size[t];
  }
  CAVIAR_CUDA_TRY(err, cudaStreamSynchronize(ctx->stream));
  return CAVIAR_OK;
}

float *arena_of(caviar_cohort *c, caviar_arena which, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  float *a = which == CAVIAR_ARENA_PARAMS   ? cc->params
             : which == CAVIAR_ARENA_FIRST  ? cc->first
             : which == CAVIAR_ARENA_SECOND ? cc->second
                                            : cc->best;
  if (!a) caviar_fail(err, CAVIAR_ERUNTIME, "this cohort keeps no best-epoch copies (model.keep last)");
  return a;
}

caviar_status cuda_read_arena(caviar_backend *be, caviar_cohort *c, caviar_arena which, int slot, float *out,
                              caviar_error *err) {
  float *arena = arena_of(c, which, err);
  return arena ? copy_params(ctx_of(be), c, arena, slot, out, false, err) : CAVIAR_ERUNTIME;
}

caviar_status cuda_write_arena(caviar_backend *be, caviar_cohort *c, caviar_arena which, int slot, const float *in,
                               caviar_error *err) {
  float *arena = arena_of(c, which, err);
  return arena ? copy_params(ctx_of(be), c, arena, slot, const_cast<float *>(in), true, err) : CAVIAR_ERUNTIME;
}

caviar_status cuda_loss_and_grads(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, float *loss,
                                  float *grads, caviar_error *err) {
  cuda_ctx *ctx = ctx_of(be);
  cuda_cohort *cc = impl_of(c);
  // step_begin advances the device's step counters to the slots' next step (the dropout mask);
  // the host's books keep the old counts, so nothing changes once they are uploaded again.
  caviar_status st = start_steps(ctx, c, rows, (size_t)c->shape.batch, err);
  if (st == CAVIAR_OK) st = enqueue_step_begin(ctx, c, err);
  if (st == CAVIAR_OK) st = enqueue_gradients(ctx, c, span{0, c->n}, err);
  if (st == CAVIAR_OK)
    CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(loss, cc->mv.loss_sum, c->n * sizeof(float), cudaMemcpyDeviceToHost, ctx->stream));
  for (int slot = 0; st == CAVIAR_OK && slot < c->n; slot++)
    st = copy_params(ctx, c, cc->grads, slot, grads + (size_t)slot * c->layout.per_member, false, err);
  if (st == CAVIAR_OK) st = upload_books(ctx, c, err);
  if (st == CAVIAR_OK) CAVIAR_CUDA_TRY(err, cudaStreamSynchronize(ctx->stream));
  return st;
}

void cuda_destroy(caviar_backend *be) {
  cuda_ctx *ctx = ctx_of(be);
  free_data(ctx);
  cudaFree(ctx->step_index);
  cudaFree(ctx->blas_workspace);
  if (ctx->blas) cublasDestroy(ctx->blas);
  for (cudaEvent_t e : ctx->chunk_done)
    if (e) cudaEventDestroy(e);
  if (ctx->aux) cudaStreamDestroy(ctx->aux);
  if (ctx->stream) cudaStreamDestroy(ctx->stream);
  delete ctx;
  free(be);
}

caviar_status cuda_setup(cuda_ctx *ctx, const caviar_backend_options *options, caviar_error *err) {
  char devices[1024];
  if (caviar_cuda_devices(devices, sizeof devices) == 0)
    return caviar_fail(err, CAVIAR_EINPUT, "--device cuda: %s", devices);
  if (options && options->device > 0) CAVIAR_CUDA_TRY(err, cudaSetDevice(options->device));
  CAVIAR_CUDA_TRY(err, cudaGetDevice(&ctx->device));
  cudaDeviceProp prop;
  CAVIAR_CUDA_TRY(err, cudaGetDeviceProperties(&prop, ctx->device));
  ctx->sms = prop.multiProcessorCount;
  ctx->tf32 = options && options->tf32;
  ctx->eager = options && options->eager;
  ctx->chunks = options && options->chunks > 0 ? options->chunks : CAVIAR_CUDA_DEFAULT_CHUNKS;
  if (ctx->chunks > CAVIAR_CUDA_MAX_CHUNKS)
    return caviar_fail(err, CAVIAR_EINPUT, "--chunks: at most %d, got %d", CAVIAR_CUDA_MAX_CHUNKS, ctx->chunks);
  char chunks[32] = "";
  if (ctx->chunks > 1) snprintf(chunks, sizeof chunks, ", %d chunks a step", ctx->chunks);
  snprintf(ctx->name, sizeof ctx->name, "cuda:%d %s (sm_%d%d, cuBLAS %s%s%s)", ctx->device, prop.name, prop.major,
           prop.minor, ctx->tf32 ? "TF32" : "FP32", ctx->eager ? ", no step graphs" : "", chunks);
  CAVIAR_CUDA_TRY(err, cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking));
  CAVIAR_CUDA_TRY(err, cudaStreamCreateWithFlags(&ctx->aux, cudaStreamNonBlocking));
  for (cudaEvent_t &e : ctx->chunk_done) CAVIAR_CUDA_TRY(err, cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  CAVIAR_CUBLAS_TRY(err, cublasCreate(&ctx->blas));
  CAVIAR_CUBLAS_TRY(err, cublasSetStream(ctx->blas, ctx->stream));
  // A workspace of our own, so cuBLAS never allocates while a step is being captured.
  const size_t workspace = 32u << 20;
  CAVIAR_CUDA_TRY(err, cudaMalloc(&ctx->blas_workspace, workspace));
  CAVIAR_CUBLAS_TRY(err, cublasSetWorkspace(ctx->blas, ctx->blas_workspace, workspace));
  CAVIAR_CUBLAS_TRY(err, cublasSetMathMode(ctx->blas, ctx->tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  CAVIAR_CUDA_TRY(err, cudaMalloc(&ctx->step_index, sizeof(int)));
  return CAVIAR_OK;
}

}  // namespace

extern "C" caviar_status caviar_backend_cuda(const caviar_backend_options *options, caviar_backend **out,
                                             caviar_error *err) {
  caviar_backend *be = static_cast<caviar_backend *>(calloc(1, sizeof *be));
  cuda_ctx *ctx = new (std::nothrow) cuda_ctx();
  if (!be || !ctx) {
    free(be);
    delete ctx;
    return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory creating the CUDA backend");
  }
  be->ctx = ctx;
  be->destroy = cuda_destroy;
  caviar_status st = cuda_setup(ctx, options, err);
  if (st != CAVIAR_OK) {
    cuda_destroy(be);
    return st;
  }
  be->name = ctx->name;
  be->kind = CAVIAR_BACKEND_CUDA;
  be->plan = cuda_plan;
  be->upload = cuda_upload;
  be->cohort_alloc = cuda_cohort_alloc;
  be->cohort_free = cuda_cohort_free;
  be->init_members = cuda_init_members;
  be->train_epoch = cuda_train_epoch;
  be->evaluate = cuda_evaluate;
  be->compact = cuda_compact;
  be->copy_member = cuda_copy_member;
  be->save_best = cuda_save_best;
  be->read_arena = cuda_read_arena;
  be->write_arena = cuda_write_arena;
  be->loss_and_grads = cuda_loss_and_grads;
  *out = be;
  return CAVIAR_OK;
}
