// The CUDA backend: the cohort's arenas on the device, its model's layers walked in order, each
// kind in a file of its own (dense.cu, conv.cu, pool.cu, batchnorm.cu, flatten.cu, elementwise.cu:
// HFTA's fusion, the first layer of the whole cohort as one cuBLAS GEMM over the stacked weights
// because the minibatch is shared, later layers as strided batches of per-member GEMMs), our
// kernels around them, and each training step captured once as a CUDA graph and replayed, so a
// shrinking population does not become launch-bound.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "caviar/backend.h"
#include "caviar/cuda_device.h"
#include "caviar/cuda_plan.h"
#include "cuda_backend.cuh"
#include "cuda_check.h"
#include "kernels.cuh"

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

namespace {

// Chunks a training step is split into unless the options say otherwise (docs/PERF.md has the
// measurements behind it).
constexpr int CAVIAR_CUDA_DEFAULT_CHUNKS = 1;

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
  *out = device_dataset{x8, x32, labels, shift, scale, (int)ds->d, caviar_augment{false, 0}, 0, 0};
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
  if (st == CAVIAR_OK) {
    int image[3];
    caviar_dataset_image(&data->train, image);
    ctx->train.augment = data->augment;
    ctx->train.h = image[1];
    ctx->train.w = image[2];
  }
  ctx->rows_capacity = data->train.n > data->test.n ? data->train.n : data->test.n;
  if (st == CAVIAR_OK) st = device_alloc(&ctx->rows, ctx->rows_capacity, "row indices", err);
  return st;
}

void cuda_cohort_free(caviar_backend *be, caviar_cohort *c) {
  (void)be;
  cuda_cohort *cc = impl_of(c);
  if (!cc) return;
  if (cc->have_graph) cudaGraphExecDestroy(cc->graph);
  void *buffers[] = {cc->xt, cc->labels, cc->delta[0], cc->delta[1], cc->patches, cc->hp, cc->trial, cc->epochs,
                     cc->mv.steps, cc->mv.scalars, cc->mv.diverged, cc->mv.loss_sum, cc->mv.eval_loss, cc->mv.eval_correct};
  for (void *p : buffers) cudaFree(p);
  for (int i = 0; i < CAVIAR_MAX_ARCH_LAYERS; i++) {
    cudaFree(cc->y[i]);
    cudaFree(cc->stats[i]);
  }
  delete cc;
  c->impl = nullptr;
}

// Whether some member keeps its activation's input (gelu, silu): the activation's output then needs
// a buffer of its own, its input staying where the layer before wrote it.
bool any_keeps(const caviar_cohort *c) {
  for (int i = 0; i < c->n; i++)
    if (caviar_activation_keeps_input(c->hp[i].activation)) return true;
  return false;
}

// Whether dropout layers need their own outputs: some member drops, or keeps its activation's
// input (the chain's result then goes past the activation's input).
bool any_dropout(const caviar_cohort *c) {
  for (int i = 0; i < c->n; i++)
    if (c->hp[i].dropout > 0) return true;
  return any_keeps(c);
}

// Floats of one member's block of layer i's output.
size_t layer_block(const caviar_cohort *c, int i) {
  return (size_t)c->shape.batch * caviar_dims_size(c->arch.layer[i].out);
}

// Separate post-dropout buffers (the next layer's input), only once some member uses dropout.
caviar_status alloc_dropout_buffers(caviar_cohort *c, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  for (int i = 0; i < c->arch.n_layers; i++) {
    if (c->arch.layer[i].kind != CAVIAR_LAYER_DROPOUT || cc->y[i]) continue;
    caviar_status st = device_alloc(&cc->y[i], (size_t)c->layout.capacity * layer_block(c, i), "dropout outputs", err);
    if (st != CAVIAR_OK) return st;
  }
  cc->dropout = true;
  if (cc->have_graph) cudaGraphExecDestroy(cc->graph);
  cc->have_graph = false;
  return CAVIAR_OK;
}

// Outputs of their own for the activations no dropout layer follows, once a member keeps its
// activation's input (cuda_plan.c counts them with dropout's).
caviar_status alloc_keep_buffers(caviar_cohort *c, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  const caviar_arch &a = c->arch;
  for (int i = 0; i < a.n_layers; i++) {
    bool dropout_next = i + 1 < a.n_layers && a.layer[i + 1].kind == CAVIAR_LAYER_DROPOUT;
    if (a.layer[i].kind != CAVIAR_LAYER_ACTIVATION || dropout_next || cc->y[i]) continue;
    caviar_status st = device_alloc(&cc->y[i], (size_t)c->layout.capacity * layer_block(c, i), "activation outputs", err);
    if (st != CAVIAR_OK) return st;
  }
  cc->keeps = true;
  if (cc->have_graph) cudaGraphExecDestroy(cc->graph);
  cc->have_graph = false;
  return CAVIAR_OK;
}

caviar_status cuda_cohort_alloc(caviar_backend *be, caviar_cohort *c, caviar_error *err) {
  cuda_cohort *cc = new (std::nothrow) cuda_cohort();
  if (!cc) return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory allocating a cohort");
  c->impl = cc;
  caviar_status st = CAVIAR_OK;
  const caviar_shape &s = c->shape;
  size_t cap = (size_t)c->layout.capacity;
  cc->params = c->arena[CAVIAR_ARENA_PARAMS];
  cc->grads = c->arena[CAVIAR_ARENA_GRADS];
  cc->first = c->arena[CAVIAR_ARENA_FIRST];
  cc->second = c->arena[CAVIAR_ARENA_SECOND];
  cc->dropout = any_dropout(c);
  cc->eager = ctx_of(be)->eager;
  cc->patch_members = cuda_patch_members(c);
  // Exactly the buffers the memory plan counted (cuda_plan.c) beside the arenas (cohort.c's); the
  // per-member vectors are the `members` entries, one allocation each.
  caviar_cuda_buffers bufs;
  caviar_cuda_buffers_of(&s, c->layout.capacity, false, c->keep_best, &bufs);
  caviar_act_plan plan;
  caviar_act_plan_of(&c->arch, &plan);
  if (st == CAVIAR_OK) st = device_alloc(&cc->xt, bufs.xt, "the minibatch", err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->labels, bufs.labels, "minibatch labels", err);
  for (int i = 0; st == CAVIAR_OK && i < c->arch.n_layers; i++) {
    const caviar_layer *l = &c->arch.layer[i];
    if (plan.in_place[i] || l->kind == CAVIAR_LAYER_DROPOUT) continue;
    st = device_alloc(&cc->y[i], cap * layer_block(c, i), i == c->arch.n_layers - 1 ? "logits" : "activations", err);
    if (st == CAVIAR_OK && l->kind == CAVIAR_LAYER_BATCHNORM)
      st = device_alloc(&cc->stats[i], 2 * cap * (size_t)l->out.c, "batch statistics", err);
  }
  cc->logits = cc->y[c->arch.n_layers - 1];
  if (st == CAVIAR_OK && cc->dropout) st = alloc_dropout_buffers(c, err);
  if (st == CAVIAR_OK && any_keeps(c)) st = alloc_keep_buffers(c, err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->delta[0], bufs.delta, "gradients", err);
  if (st == CAVIAR_OK) st = device_alloc(&cc->delta[1], bufs.delta, "gradients", err);
  if (st == CAVIAR_OK && bufs.patches) st = device_alloc(&cc->patches, bufs.patches, "convolution patches", err);
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

caviar_status cuda_init_members(caviar_backend *be, caviar_cohort *c, int first, int count, caviar_error *err) {
  cuda_ctx *ctx = ctx_of(be);
  cuda_cohort *cc = impl_of(c);
  caviar_status st = upload_books(ctx, c, err);
  if (st == CAVIAR_OK)
    st = launch_init(ctx->stream, c->layout, first, count, c->seed, cc->params, cc->grads, cc->first, cc->second,
                     cc->mv, err);
  if (st == CAVIAR_OK) CAVIAR_CUDA_TRY(err, cudaStreamSynchronize(ctx->stream));
  return st;
}

bool elementwise(const caviar_layer *l) {
  return l->kind == CAVIAR_LAYER_ACTIVATION || l->kind == CAVIAR_LAYER_DROPOUT;
}

// A layer's pass over a span: its input is the previous layer's output (the minibatch for the
// first, shared by every member), its output its own buffer.
cuda_pass pass_for(cuda_ctx *ctx, caviar_cohort *c, span sp, int i, bool train) {
  cuda_cohort *cc = impl_of(c);
  cuda_pass p = {};
  p.ctx = ctx;
  p.c = c;
  p.cc = cc;
  p.sp = sp;
  p.layer = &c->arch.layer[i];
  p.index = i;
  p.train = train;
  p.shared = i == 0;
  size_t m0 = (size_t)sp.m0;
  p.x = i == 0 ? cc->xt : cc->out[i - 1] + m0 * layer_block(c, i - 1);
  if (cc->y[i]) p.y = cc->y[i] + m0 * layer_block(c, i);
  return p;
}

caviar_status run_forward(const cuda_pass &p, caviar_error *err) {
  switch (p.layer->kind) {
    case CAVIAR_LAYER_DENSE: return cuda_dense_forward(p, err);
    case CAVIAR_LAYER_CONV2D: return cuda_conv_forward(p, err);
    case CAVIAR_LAYER_POOL: return cuda_pool_forward(p, err);
    case CAVIAR_LAYER_BATCHNORM: return cuda_batchnorm_forward(p, err);
    case CAVIAR_LAYER_FLATTEN: return cuda_flatten_forward(p, err);
    default: return caviar_fail(err, CAVIAR_ERUNTIME, "%s:%d: no CUDA forward for %s layers", __FILE__, __LINE__,
                                caviar_layer_kind_name(p.layer->kind));
  }
}

caviar_status run_backward(const cuda_pass &p, caviar_error *err) {
  switch (p.layer->kind) {
    case CAVIAR_LAYER_DENSE: return cuda_dense_backward(p, err);
    case CAVIAR_LAYER_CONV2D: return cuda_conv_backward(p, err);
    case CAVIAR_LAYER_POOL: return cuda_pool_backward(p, err);
    case CAVIAR_LAYER_BATCHNORM: return cuda_batchnorm_backward(p, err);
    case CAVIAR_LAYER_FLATTEN: return cuda_flatten_backward(p, err);
    default: return caviar_fail(err, CAVIAR_ERUNTIME, "%s:%d: no CUDA backward for %s layers", __FILE__, __LINE__,
                                caviar_layer_kind_name(p.layer->kind));
  }
}

// The model's layers over a span, each with the activation and dropout after it fused into its
// output pass; records where every layer's output is (cc->out) for the backward pass.
caviar_status forward(cuda_ctx *ctx, caviar_cohort *c, span sp, bool train, bool frozen, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  const caviar_arch &a = c->arch;
  for (int i = 0; i < a.n_layers;) {
    cuda_pass p = pass_for(ctx, c, sp, i, train);
    p.frozen = frozen;
    // The chain: [activation] [dropout], their result in the dropout's buffer (when any member
    // drops) or in place.
    int next = i + 1;
    cc->out[i] = cc->y[i];
    const float *at = cc->y[i];
    while (next < a.n_layers && elementwise(&a.layer[next])) {
      const caviar_layer *e = &a.layer[next];
      p.has_chain = true;
      if (e->kind == CAVIAR_LAYER_ACTIVATION) {
        p.chain.act = true;
        if (cc->y[next]) at = cc->y[next]; /* its own output: its input kept (cc->keeps) */
      }
      if (e->kind == CAVIAR_LAYER_DROPOUT && cc->dropout) {
        p.chain.drop = true;
        p.chain.mask = e->mask;
        at = cc->y[next];
      }
      cc->out[next++] = at;
    }
    if (p.has_chain) p.chain.out = const_cast<float *>(at) + (size_t)sp.m0 * layer_block(c, i);
    caviar_status st = run_forward(p, err);
    if (st != CAVIAR_OK) return st;
    i = next;
  }
  return CAVIAR_OK;
}

// The layers in reverse over a span from the loss's gradient in the logits: each layer's
// parameter gradients and, where a layer with parameters lies below, its input gradient, through
// the dropout and activation before it in the same pass.
caviar_status backward(cuda_ctx *ctx, caviar_cohort *c, span sp, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  const caviar_arch &a = c->arch;
  const float *dy = cc->logits + (size_t)sp.m0 * layer_block(c, a.n_layers - 1);
  int flip = 0;
  for (int i = a.n_layers - 1; i >= 0;) {
    if (elementwise(&a.layer[i])) return caviar_fail(err, CAVIAR_ERUNTIME, "%s:%d: an activation or dropout layer not "
                                                                           "fused into the layer before it", __FILE__, __LINE__);
    cuda_pass p = pass_for(ctx, c, sp, i, true);
    p.dy = dy;
    int prev = i - 1;
    while (prev >= 0 && elementwise(&a.layer[prev])) {
      const caviar_layer *e = &a.layer[prev];
      p.has_chain = true;
      if (e->kind == CAVIAR_LAYER_DROPOUT && cc->dropout) {
        p.chain.drop = true;
        p.chain.mask = e->mask;
      }
      if (e->kind == CAVIAR_LAYER_ACTIVATION) {
        /* Its input's buffer: the output for members whose derivative takes it (written there in
         * place), the input for those that keep it (elementwise.cu). */
        p.chain.act = true;
        p.chain.saved = cc->out[prev - 1] + (size_t)sp.m0 * layer_block(c, prev - 1);
      }
      prev--;
    }
    bool wanted = false;
    for (int j = 0; j < i && !wanted; j++) wanted = a.layer[j].n_tensors > 0;
    if (wanted) p.dx = cc->delta[flip] + (size_t)sp.m0 * (size_t)c->shape.batch * caviar_dims_size(p.layer->in);
    flip ^= 1;
    caviar_status st = run_backward(p, err);
    if (st != CAVIAR_OK) return st;
    dy = p.dx;
    i = prev;
  }
  return CAVIAR_OK;
}

// The start of a training step: the members' next step and the minibatch at the step index.
caviar_status enqueue_step_begin(cuda_ctx *ctx, caviar_cohort *c, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  caviar_status st = launch_step_begin(ctx->stream, cc->mv, c->n, err);
  if (st == CAVIAR_OK)
    st = launch_gather(ctx->stream, ctx->train, ctx->rows, ctx->step_index, ctx->aug_key, c->shape.batch,
                       c->shape.batch, cc->xt, cc->labels, err);
  return st;
}

// A span's forward, loss and backward: its gradients, on the backend's stream.
caviar_status enqueue_gradients(cuda_ctx *ctx, caviar_cohort *c, span sp, bool frozen, caviar_error *err) {
  cuda_cohort *cc = impl_of(c);
  caviar_status st = forward(ctx, c, sp, true, frozen, err);
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
    if (st == CAVIAR_OK) st = enqueue_gradients(ctx, c, span{0, c->n}, false, err);
    if (st == CAVIAR_OK) st = enqueue_update(ctx->stream, ctx->sms, c, span{0, c->n}, err);
  } else {
    for (int i = 0; st == CAVIAR_OK && i < k; i++) {
      int m0 = (int)((long long)c->n * i / k), m1 = (int)((long long)c->n * (i + 1) / k);
      span sp = {m0, m1 - m0};
      st = enqueue_gradients(ctx, c, sp, false, err);
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
  if (caviar_augment_on(ctx->train.augment)) {
    ctx->aug_key_host = augment_key{c->seed, c->tick};
    CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(ctx->aug_key, &ctx->aug_key_host, sizeof ctx->aug_key_host,
                                         cudaMemcpyHostToDevice, ctx->stream));
  }
  CAVIAR_CUDA_TRY(err, cudaMemsetAsync(cc->mv.diverged, 0, c->n, ctx->stream));
  CAVIAR_CUDA_TRY(err, cudaMemsetAsync(cc->mv.loss_sum, 0, c->n * sizeof(float), ctx->stream));
  if (!cc->dropout && any_dropout(c)) {
    caviar_status st = alloc_dropout_buffers(c, err);
    if (st != CAVIAR_OK) return st;
  }
  if (!cc->keeps && any_keeps(c)) {
    caviar_status st = alloc_keep_buffers(c, err);
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
    st = launch_gather(ctx->stream, data, ctx->rows + start, nullptr, nullptr, b, valid, cc->xt, cc->labels, err);
    if (st == CAVIAR_OK) st = forward(ctx, c, span{0, c->n}, false, false, err);
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

// ---- memory: the buffer interface (backend.h), on the backend's non-blocking stream ----

float *cuda_buf_alloc(caviar_backend *be, size_t n, const char *what, caviar_error *err) {
  float *p = nullptr;
  if (device_alloc(&p, n, what, err) != CAVIAR_OK) return nullptr;
  cudaError_t rc = cudaMemsetAsync(p, 0, (n ? n : 1) * sizeof(float), ctx_of(be)->stream);
  if (rc == cudaSuccess) rc = cudaStreamSynchronize(ctx_of(be)->stream);
  if (rc != cudaSuccess) {
    cudaFree(p);
    CAVIAR_CUDA_FAIL(err, rc, "clearing a new buffer");
    return nullptr;
  }
  return p;
}

void cuda_buf_release(caviar_backend *be, float *buffer) {
  (void)be;
  cudaFree(buffer);
}

caviar_status cuda_memcpy(caviar_backend *be, float *dst, const float *src, size_t n, cudaMemcpyKind kind,
                          caviar_error *err) {
  if (n == 0) return CAVIAR_OK;
  CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(dst, src, n * sizeof(float), kind, ctx_of(be)->stream));
  return CAVIAR_OK;
}

caviar_status cuda_buf_copy(caviar_backend *be, float *dst, const float *src, size_t n, caviar_error *err) {
  return cuda_memcpy(be, dst, src, n, cudaMemcpyDeviceToDevice, err);
}

caviar_status cuda_buf_to_host(caviar_backend *be, float *host, const float *src, size_t n, caviar_error *err) {
  return cuda_memcpy(be, host, src, n, cudaMemcpyDeviceToHost, err);
}

caviar_status cuda_buf_from_host(caviar_backend *be, float *dst, const float *host, size_t n, caviar_error *err) {
  return cuda_memcpy(be, dst, host, n, cudaMemcpyHostToDevice, err);
}

caviar_status cuda_buf_clear(caviar_backend *be, float *dst, size_t n, caviar_error *err) {
  if (n == 0) return CAVIAR_OK;
  CAVIAR_CUDA_TRY(err, cudaMemsetAsync(dst, 0, n * sizeof(float), ctx_of(be)->stream));
  return CAVIAR_OK;
}

caviar_status cuda_buf_sync(caviar_backend *be, caviar_error *err) {
  CAVIAR_CUDA_TRY(err, cudaStreamSynchronize(ctx_of(be)->stream));
  return CAVIAR_OK;
}

// Every kind of model.h (each a file of its own); activation and dropout run fused into the layer
// before them, which every architecture caviar builds has.
bool cuda_supports(const caviar_backend *be, const caviar_layer *layer) {
  (void)be;
  return layer->kind >= 0 && layer->kind < CAVIAR_LAYER_KINDS;
}

caviar_status cuda_loss_and_grads(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, float *loss,
                                  float *grads, caviar_error *err) {
  cuda_ctx *ctx = ctx_of(be);
  cuda_cohort *cc = impl_of(c);
  // step_begin advances the device's step counters to the slots' next step (the dropout mask);
  // the host's books keep the old counts, so nothing changes once they are uploaded again.
  caviar_status st = start_steps(ctx, c, rows, (size_t)c->shape.batch, err);
  if (st == CAVIAR_OK) st = enqueue_step_begin(ctx, c, err);
  if (st == CAVIAR_OK) st = enqueue_gradients(ctx, c, span{0, c->n}, true, err);
  if (st == CAVIAR_OK)
    CAVIAR_CUDA_TRY(err, cudaMemcpyAsync(loss, cc->mv.loss_sum, c->n * sizeof(float), cudaMemcpyDeviceToHost, ctx->stream));
  for (int slot = 0; st == CAVIAR_OK && slot < c->n; slot++)
    st = caviar_cohort_read_arena(be, c, CAVIAR_ARENA_GRADS, slot, grads + (size_t)slot * c->layout.per_member, err);
  if (st == CAVIAR_OK) st = upload_books(ctx, c, err);
  if (st == CAVIAR_OK) CAVIAR_CUDA_TRY(err, cudaStreamSynchronize(ctx->stream));
  return st;
}

void cuda_destroy(caviar_backend *be) {
  cuda_ctx *ctx = ctx_of(be);
  free_data(ctx);
  cudaFree(ctx->step_index);
  cudaFree(ctx->aug_key);
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
  CAVIAR_CUDA_TRY(err, cudaMalloc(&ctx->aug_key, sizeof(augment_key)));
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
  caviar_cuda_blas(&be->blas);
  be->plan = cuda_plan;
  be->upload = cuda_upload;
  be->cohort_alloc = cuda_cohort_alloc;
  be->cohort_free = cuda_cohort_free;
  be->init_members = cuda_init_members;
  be->buf = caviar_buffer_ops{cuda_buf_alloc, cuda_buf_release, cuda_buf_copy, cuda_buf_to_host, cuda_buf_from_host,
                              cuda_buf_clear, cuda_buf_sync};
  be->supports = cuda_supports;
  be->train_epoch = cuda_train_epoch;
  be->evaluate = cuda_evaluate;
  be->loss_and_grads = cuda_loss_and_grads;
  *out = be;
  return CAVIAR_OK;
}
