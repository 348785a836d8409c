/* One member's step on the CPU: the walk over its model's layers (each kind in its own file,
 * layers.h), the loss and the optimizer update; and what a team of threads shares. */
#include "cpu/member.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/layers.h"

const cpu_layer_impl *cpu_layer_impl_of(caviar_layer_kind kind) {
  switch (kind) {
    case CAVIAR_LAYER_DENSE: return &cpu_dense_impl;
    case CAVIAR_LAYER_ACTIVATION: return &cpu_activation_impl;
    case CAVIAR_LAYER_DROPOUT: return &cpu_dropout_impl;
    case CAVIAR_LAYER_CONV2D: return &cpu_conv2d_impl;
    case CAVIAR_LAYER_POOL: return &cpu_pool_impl;
    case CAVIAR_LAYER_BATCHNORM: return &cpu_batchnorm_impl;
    case CAVIAR_LAYER_FLATTEN: return &cpu_flatten_impl;
    default: return NULL;
  }
}

/* Whether the layer's output shares its input's buffer (model.h's activation plan). An activation
 * always has a buffer of its own on the CPU: gelu and silu need their input for the derivative
 * (model_math.h), so it stays where the layer before wrote it; a member whose activation needs only
 * its output writes it over its input all the same where the layer before fuses it (cpu_forward). */
static bool works_in_place(const caviar_arch *arch, int i) {
  caviar_act_plan plan;
  caviar_act_plan_of(arch, &plan);
  return plan.in_place[i] && i > 0 && arch->layer[i].kind != CAVIAR_LAYER_ACTIVATION;
}

/* What an elementwise layer's backward is given: its forward output, or, for an activation whose
 * derivative needs them, its inputs. */
static const float *saved_for(const caviar_arch *a, const caviar_member_hp *hp, const cpu_workspace *ws, int i) {
  if (a->layer[i].kind == CAVIAR_LAYER_ACTIVATION && caviar_activation_keeps_input(hp->activation))
    return i > 0 ? ws->out[i - 1] : ws->xt;
  return ws->out[i];
}

/* Whether layers [first, pool) are a batch norm and activations, and pool a pooling: the pair that
 * runs fused channel by channel (layers.h). */
static bool norm_then_pool(const caviar_arch *a, int first, int pool) {
  if (first < 0 || pool >= a->n_layers || a->layer[first].kind != CAVIAR_LAYER_BATCHNORM ||
      a->layer[pool].kind != CAVIAR_LAYER_POOL)
    return false;
  for (int j = first + 1; j < pool; j++)
    if (a->layer[j].kind != CAVIAR_LAYER_ACTIVATION) return false;
  return true;
}

size_t cpu_conv_scratch(const caviar_arch *arch, int rows) {
  size_t most = 0;
  for (int i = 0; i < arch->n_layers; i++) {
    const caviar_layer *l = &arch->layer[i];
    /* A pooling's channel of input gradient, where it runs fused with a batch norm below it. */
    int below = i - 1;
    while (below >= 0 && arch->layer[below].kind == CAVIAR_LAYER_ACTIVATION) below--;
    if (norm_then_pool(arch, below, i) && (size_t)rows * caviar_dims_pixels(l->in) > most)
      most = (size_t)rows * caviar_dims_pixels(l->in);
    if (l->kind != CAVIAR_LAYER_CONV2D) continue;
    size_t need = (size_t)cpu_conv_chunk(l, rows) * (size_t)(l->in.c * l->kernel * l->kernel) * caviar_dims_pixels(l->out);
    if (need > most) most = need;
  }
  return most;
}

caviar_status cpu_workspace_alloc(cpu_workspace *ws, const caviar_arch *arch, int rows, caviar_error *err) {
  memset(ws, 0, sizeof *ws);
  ws->rows = rows;
  caviar_act_plan plan;
  caviar_act_plan_of(arch, &plan);
  size_t r = (size_t)rows;
  bool ok = (ws->xt = caviar_alloc(r * caviar_dims_size(arch->input), sizeof(float), "a minibatch", err)) &&
            (ws->labels = caviar_alloc(r, sizeof(int32_t), "minibatch labels", err)) &&
            (ws->targets = caviar_alloc(r, sizeof(float), "minibatch targets", err)) &&
            (ws->delta[0] = caviar_alloc(r * plan.widest, sizeof(float), "gradients", err)) &&
            (ws->delta[1] = caviar_alloc(r * plan.widest, sizeof(float), "gradients", err));
  for (int i = 0; ok && i < arch->n_layers; i++) {
    if (!works_in_place(arch, i)) ok = (ws->y[i] = caviar_alloc(r * plan.out[i], sizeof(float), "activations", err)) != NULL;
    if (ok && arch->layer[i].kind == CAVIAR_LAYER_BATCHNORM)
      ok = (ws->stats[i] = caviar_alloc(2 * (size_t)arch->layer[i].out.c, sizeof(float), "batch statistics", err)) != NULL;
  }
  size_t patches = cpu_conv_scratch(arch, rows);
  if (ok && patches) ok = (ws->patches = caviar_alloc(patches, sizeof(float), "convolution patches", err)) != NULL;
  if (!ok) {
    cpu_workspace_free(ws);
    return CAVIAR_ERUNTIME;
  }
  ws->logits = ws->y[arch->n_layers - 1];
  return CAVIAR_OK;
}

void cpu_workspace_free(cpu_workspace *ws) {
  free(ws->xt);
  free(ws->labels);
  free(ws->targets);
  free(ws->delta[0]);
  free(ws->delta[1]);
  for (int i = 0; i < CAVIAR_MAX_ARCH_LAYERS; i++) {
    free(ws->y[i]);
    free(ws->stats[i]);
  }
  free(ws->patches);
  memset(ws, 0, sizeof *ws);
}

void cpu_member_bind(cpu_member *m, const caviar_arch *arch, const caviar_layout *layout, float *params, float *grads,
                     float *first, float *second, int slot) {
  m->arch = arch;
  m->layout = layout;
  for (int t = 0; t < layout->n_tensors; t++) {
    m->w[t] = caviar_block(params, layout, t, slot);
    m->g[t] = grads ? caviar_block(grads, layout, t, slot) : NULL;
    m->first[t] = first ? caviar_block(first, layout, t, slot) : NULL;
    m->second[t] = second ? caviar_block(second, layout, t, slot) : NULL;
  }
}

const cpu_team cpu_solo = {0, 1, NULL, NULL};

void cpu_barrier_init(cpu_barrier *b, unsigned size) {
  atomic_init(&b->arrived, 0);
  atomic_init(&b->generation, 0);
  b->size = size;
}

/* Spins before a waiting thread yields its core: about 10-40 us of pause instructions. */
enum { BARRIER_SPINS = 256 };

void cpu_barrier_wait(cpu_barrier *b) {
  unsigned generation = atomic_load_explicit(&b->generation, memory_order_acquire);
  if (atomic_fetch_add_explicit(&b->arrived, 1, memory_order_acq_rel) + 1 == b->size) {
    /* The last to arrive opens the next round; its release publishes every thread's writes, which
     * it acquired through `arrived`. */
    atomic_store_explicit(&b->arrived, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&b->generation, 1, memory_order_release);
    return;
  }
  for (unsigned spins = 0; atomic_load_explicit(&b->generation, memory_order_acquire) == generation; spins++) {
    if (spins >= BARRIER_SPINS) {
      sched_yield();
    } else {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  }
}

void cpu_team_sync(const cpu_team *team) {
  if (team->barrier) cpu_barrier_wait(team->barrier);
}

void cpu_team_share(const cpu_team *team, size_t n, size_t *begin, size_t *end) {
  *begin = n * (size_t)team->rank / (size_t)team->size;
  *end = n * (size_t)(team->rank + 1) / (size_t)team->size;
}

void cpu_team_columns(const cpu_team *team, int n, int *j0, int *j1) {
  size_t tiles = ((size_t)n + CPU_TILE - 1) / CPU_TILE, t0, t1;
  cpu_team_share(team, tiles, &t0, &t1);
  *j0 = (int)t0 * CPU_TILE;
  *j1 = (int)t1 * CPU_TILE < n ? (int)t1 * CPU_TILE : n;
  if (*j0 > *j1) *j0 = *j1;
}

/* ---- elementwise layers ---- */

static bool elementwise(const caviar_layer *l) {
  const cpu_layer_impl *impl = cpu_layer_impl_of(l->kind);
  return impl && impl->apply;
}

bool cpu_layer_is_identity(const caviar_layer *l, const caviar_member_hp *hp, const cpu_dropout *drop) {
  (void)hp;
  return l->kind == CAVIAR_LAYER_DROPOUT && !(drop && drop->p > 0);
}

void cpu_chain_forward(const cpu_chain *c, const caviar_member_hp *hp, const cpu_dropout *drop, size_t k0, size_t k1) {
  for (int i = 0; i < c->n; i++) cpu_layer_impl_of(c->layer[i]->kind)->apply(c->layer[i], hp, drop, c->in[i], c->out[i], k0, k1);
}

void cpu_chain_backward(const cpu_chain *c, const caviar_member_hp *hp, const cpu_dropout *drop, float *d, size_t k0,
                        size_t k1) {
  for (int i = 0; i < c->n; i++) cpu_layer_impl_of(c->layer[i]->kind)->grad(c->layer[i], hp, drop, c->saved[i], d, k0, k1);
}

void cpu_chain_forward_examples(const cpu_chain *c, const caviar_member_hp *hp, const cpu_dropout *drop, int channels,
                                int rows, size_t pixels, int e0, int e1) {
  for (int ch = 0; ch < channels; ch++) {
    size_t base = (size_t)ch * (size_t)rows * pixels;
    cpu_chain_forward(c, hp, drop, base + (size_t)e0 * pixels, base + (size_t)e1 * pixels);
  }
}

void cpu_chain_backward_examples(const cpu_chain *c, const caviar_member_hp *hp, const cpu_dropout *drop, float *d,
                                 int channels, int rows, size_t pixels, int e0, int e1) {
  for (int ch = 0; ch < channels; ch++) {
    size_t base = (size_t)ch * (size_t)rows * pixels;
    cpu_chain_backward(c, hp, drop, d, base + (size_t)e0 * pixels, base + (size_t)e1 * pixels);
  }
}

/* Elements of a rows x (output size) block: this thread's share. */
static void my_elements(const cpu_team *team, const caviar_layer *l, int rows, size_t *k0, size_t *k1) {
  cpu_team_share(team, (size_t)rows * caviar_dims_size(l->out), k0, k1);
}

/* ---- the walk ---- */

static void update_tensors(const cpu_member *m, const caviar_member_hp *hp, const caviar_step_scalars *s, int t0, int t1,
                           const cpu_team *team);

/* The elementwise layers after layer i into chain, where its kind fuses them, from its output `at`
 * on (setting where each one's output is); returns the index after them, *end their output. */
static int chain_after(const caviar_arch *a, int i, const caviar_member_hp *hp, const cpu_dropout *drop,
                       cpu_workspace *ws, cpu_chain *chain, const float **end) {
  const float *at = ws->y[i];
  int next = i + 1;
  while (cpu_layer_impl_of(a->layer[i].kind)->fuses && next < a->n_layers && elementwise(&a->layer[next]) &&
         chain->n < CPU_MAX_CHAIN) {
    const caviar_layer *e = &a->layer[next];
    if (!cpu_layer_is_identity(e, hp, drop)) {
      /* An activation whose derivative needs only its output overwrites its input (the output
       * of a layer of this step, which no backward pass reads): one buffer streamed through
       * memory instead of two. */
      bool over_input = e->kind == CAVIAR_LAYER_ACTIVATION && !caviar_activation_keeps_input(hp->activation);
      float *o = ws->y[next] && !over_input ? ws->y[next] : (float *)at;
      chain->layer[chain->n] = e;
      chain->in[chain->n] = at;
      chain->out[chain->n++] = o;
      at = o;
    }
    ws->out[next++] = at;
  }
  *end = at;
  return next;
}

void cpu_forward(const cpu_member *m, const caviar_member_hp *hp, const cpu_dropout *drop, int rows, cpu_workspace *ws,
                 const cpu_team *team) {
  const caviar_arch *a = m->arch;
  const float *x = ws->xt;
  float *scratch = team->scratch ? team->scratch : ws->patches;
  for (int i = 0; i < a->n_layers;) {
    const caviar_layer *l = &a->layer[i];
    const cpu_layer_impl *impl = cpu_layer_impl_of(l->kind);
    if (impl->apply) {
      /* An elementwise layer on its own (nothing before it fuses it). */
      if (!cpu_layer_is_identity(l, hp, drop)) {
        float *y = ws->y[i] ? ws->y[i] : (float *)x;
        size_t k0, k1;
        my_elements(team, l, rows, &k0, &k1);
        impl->apply(l, hp, drop, x, y, k0, k1);
        cpu_team_sync(team);
        x = y;
      }
      ws->out[i++] = x;
      continue;
    }
    /* The layer, with the elementwise layers after it in its own tiles where it fuses them. */
    cpu_chain chain = {0};
    const float *at;
    int next = chain_after(a, i, hp, drop, ws, &chain, &at);
    cpu_pass p = {.m = m, .layer = l, .hp = hp, .drop = drop, .rows = rows, .x = x, .y = ws->y[i],
                  .chain = chain.n ? &chain : NULL, .ws = ws, .team = team, .index = i, .scratch = scratch};
    ws->out[i] = ws->y[i];
    if (norm_then_pool(a, i, next)) {
      /* Batch norm, its activations and the pooling after them, a channel at a time: the pooling
       * reads the channel while it is still in cache. */
      cpu_chain after = {0};
      const float *pooled;
      int beyond = chain_after(a, next, hp, drop, ws, &after, &pooled);
      cpu_pass q = {.m = m, .layer = &a->layer[next], .hp = hp, .drop = drop, .rows = rows, .x = at,
                    .y = ws->y[next], .chain = after.n ? &after : NULL, .ws = ws, .team = team, .index = next,
                    .scratch = scratch};
      size_t c0, c1, planes = (size_t)rows;
      cpu_team_share(team, (size_t)l->out.c, &c0, &c1);
      for (size_t c = c0; c < c1; c++) {
        cpu_bn_forward_channel(&p, c);
        cpu_pool_forward_planes(&q, c * planes, (c + 1) * planes);
      }
      cpu_bn_count_step(&p);
      cpu_team_sync(team);
      ws->out[next] = ws->y[next];
      x = pooled;
      i = beyond;
      continue;
    }
    impl->forward(&p);
    x = at;
    i = next;
  }
}

/* The elementwise layers before layer i, nearest first, into chain (they go into its input
 * gradient's tiles) where its kind fuses them; returns the index of the layer below them. */
static int chain_before(const caviar_arch *a, int i, const caviar_member_hp *hp, const cpu_dropout *drop,
                        const cpu_workspace *ws, cpu_chain *chain) {
  int prev = i - 1;
  while (cpu_layer_impl_of(a->layer[i].kind)->fuses && prev >= 0 && elementwise(&a->layer[prev]) &&
         chain->n < CPU_MAX_CHAIN) {
    if (!cpu_layer_is_identity(&a->layer[prev], hp, drop)) {
      chain->layer[chain->n] = &a->layer[prev];
      chain->saved[chain->n++] = saved_for(a, hp, ws, prev);
    }
    prev--;
  }
  return prev;
}

/* Whether a layer with parameters lies below layer i (its input gradient is wanted). */
static bool gradient_wanted(const caviar_arch *a, int i) {
  for (int j = 0; j < i; j++)
    if (a->layer[j].n_tensors > 0) return true;
  return false;
}

void cpu_backward(const cpu_member *m, const caviar_member_hp *hp, const cpu_dropout *drop, int rows,
                  cpu_workspace *ws, const caviar_step_scalars *step, const cpu_team *team) {
  const caviar_arch *a = m->arch;
  float *dy = ws->logits;
  float *scratch = team->scratch ? team->scratch : ws->patches;
  int flip = 0;
  for (int i = a->n_layers - 1; i >= 0;) {
    const caviar_layer *l = &a->layer[i];
    const cpu_layer_impl *impl = cpu_layer_impl_of(l->kind);
    if (impl->apply) {
      if (!cpu_layer_is_identity(l, hp, drop)) {
        size_t k0, k1;
        my_elements(team, l, rows, &k0, &k1);
        impl->grad(l, hp, drop, saved_for(a, hp, ws, i), dy, k0, k1);
        cpu_team_sync(team);
      }
      if (step) update_tensors(m, hp, step, l->tensor, l->tensor + l->n_tensors, team);
      i--;
      continue;
    }
    cpu_chain chain = {0};
    int prev = chain_before(a, i, hp, drop, ws, &chain);
    float *dx = gradient_wanted(a, i) ? ws->delta[flip] : NULL;
    flip ^= 1;
    cpu_pass p = {.m = m, .layer = l, .hp = hp, .drop = drop, .rows = rows, .x = i > 0 ? ws->out[i - 1] : ws->xt,
                  .dy = dy, .dx = dx, .chain = chain.n ? &chain : NULL, .ws = ws, .team = team, .index = i,
                  .scratch = scratch, .step = step};
    if (norm_then_pool(a, prev, i)) {
      /* The pooling, the activations below it and their batch norm, a channel at a time: the
       * channel's gradient goes into this thread's scratch (cpu_conv_scratch has room for it) and
       * batch norm's backward reads it from there, still in cache. */
      const caviar_layer *norm = &a->layer[prev];
      cpu_chain below = {0};
      int under = chain_before(a, prev, hp, drop, ws, &below);
      /* Batch norm's input gradient goes where the pooling's would have (the pooling reads dy
       * until its last channel, so not there). */
      float *dnorm = gradient_wanted(a, prev) ? ws->delta[flip ^ 1] : NULL;
      cpu_pass q = {.m = m, .layer = norm, .hp = hp, .drop = drop, .rows = rows,
                    .x = prev > 0 ? ws->out[prev - 1] : ws->xt, .dx = dnorm, .chain = below.n ? &below : NULL,
                    .ws = ws, .team = team, .index = prev, .scratch = scratch, .step = step};
      size_t c0, c1, n = (size_t)rows * caviar_dims_pixels(norm->out);
      cpu_team_share(team, (size_t)norm->out.c, &c0, &c1);
      for (size_t c = c0; c < c1; c++) {
        cpu_pool_backward_planes(&p, c * (size_t)rows, (c + 1) * (size_t)rows, scratch, c * n);
        cpu_bn_backward_channel(&q, c, scratch);
      }
      cpu_team_sync(team);
      if (step) update_tensors(m, hp, step, norm->tensor, norm->tensor + norm->n_tensors, team);
      dy = dnorm;
      i = under;
      continue;
    }
    impl->backward(&p);
    /* Its gradients are final and nothing below reads its weights: the optimizer's step now, while
     * they are still in cache (unless the layer took it tile by tile itself). */
    if (step && !(impl->updates_tiles && !dx)) update_tensors(m, hp, step, l->tensor, l->tensor + l->n_tensors, team);
    dy = dx;
    i = prev;
  }
  /* The step's last reads of the minibatch and the weights are done before any thread of the team
   * gathers the next one. */
  if (step) cpu_team_sync(team);
}

void cpu_softmax_xent(cpu_workspace *ws, int rows, int classes, int grad, const cpu_team *team) {
  if (team->rank == 0) {
    double total = 0;
    int right = 0;
    float *z = ws->logits;
    for (int i = 0; i < rows && classes == 1; i++)
      total += (double)caviar_squared_error(z + i, ws->targets[i], grad ? (float)rows : 0.0f);
    for (int i = 0; i < rows && classes > 1; i++) {
      int hit;
      total +=
          (double)caviar_softmax_xent(z + i, (size_t)rows, classes, ws->labels[i], grad ? (float)rows : 0.0f, &hit);
      right += hit;
    }
    ws->loss = total / rows;
    ws->correct = right;
  }
  cpu_team_sync(team);
}

/* One loop per optimizer over a segment; `restrict` and the fixed function let GCC vectorise. */
static void update_segment(const caviar_member_hp *member, const caviar_step_scalars *step, float l2, size_t n,
                           float *restrict w, float *restrict g, float *restrict m, float *restrict v) {
  /* Local copies: the compiler can see no store through w touches them, so it keeps them in
   * registers instead of reloading them every element. */
  const caviar_member_hp h = *member, *hp = &h;
  const caviar_step_scalars sc = *step, *s = &sc;
  switch (hp->optimizer) {
    case CAVIAR_OPT_SGD:
      if (hp->momentum != 0.0f)
        for (size_t k = 0; k < n; k++) caviar_sgd_momentum_step(hp, s, l2, &w[k], g[k], &m[k], 0), g[k] = 0.0f;
      else
        for (size_t k = 0; k < n; k++) caviar_sgd_step(hp, s, l2, &w[k], g[k]), g[k] = 0.0f;
      break;
    case CAVIAR_OPT_MOMENTUM:
      for (size_t k = 0; k < n; k++) caviar_momentum_step(hp, s, l2, &w[k], g[k], &m[k]), g[k] = 0.0f;
      break;
    case CAVIAR_OPT_RMSPROP:
      for (size_t k = 0; k < n; k++) caviar_rmsprop_step(hp, s, l2, &w[k], g[k], &v[k]), g[k] = 0.0f;
      break;
    case CAVIAR_OPT_ADAM:
      for (size_t k = 0; k < n; k++) caviar_adam_step(hp, s, l2, &w[k], g[k], &m[k], &v[k]), g[k] = 0.0f;
      break;
    case CAVIAR_OPT_ADAMW:
      for (size_t k = 0; k < n; k++) caviar_adamw_step(hp, s, l2, &w[k], g[k], &m[k], &v[k]), g[k] = 0.0f;
      break;
    case CAVIAR_OPT_NADAM:
      for (size_t k = 0; k < n; k++) caviar_nadam_step(hp, s, l2, &w[k], g[k], &m[k], &v[k]), g[k] = 0.0f;
      break;
    case CAVIAR_OPT_NESTEROV:
      for (size_t k = 0; k < n; k++) caviar_sgd_momentum_step(hp, s, l2, &w[k], g[k], &m[k], 1), g[k] = 0.0f;
      break;
    default: /* any other kind through the one reference function (a switch an element: scalar) */
      for (size_t k = 0; k < n; k++) caviar_update_param(hp, s, l2, &w[k], g[k], &m[k], &v[k]), g[k] = 0.0f;
  }
}

void cpu_update_range(const cpu_member *m, const caviar_member_hp *hp, const caviar_step_scalars *s, int t, size_t k0,
                      size_t k1) {
  if (!caviar_role_trained(m->layout->role[t]) || k1 <= k0) return;
  update_segment(hp, s, caviar_role_decayed(m->layout->role[t]) ? hp->l2 : 0.0f, k1 - k0, m->w[t] + k0, m->g[t] + k0,
                 m->first[t] + k0, m->second[t] + k0);
}

/* Tensors [t0, t1): this thread's share of each (no barrier). */
static void update_tensors(const cpu_member *m, const caviar_member_hp *hp, const caviar_step_scalars *s, int t0, int t1,
                           const cpu_team *team) {
  for (int t = t0; t < t1; t++) {
    size_t k0, k1;
    cpu_team_share(team, m->layout->size[t], &k0, &k1);
    cpu_update_range(m, hp, s, t, k0, k1);
  }
}

void cpu_update(const cpu_member *m, const caviar_member_hp *hp, const caviar_step_scalars *s, const cpu_team *team) {
  update_tensors(m, hp, s, 0, m->layout->n_tensors, team);
  cpu_team_sync(team);
}
