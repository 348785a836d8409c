#include "cpu/member.h"

#include <cblas.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

caviar_status cpu_workspace_alloc(cpu_workspace *ws, const caviar_shape *shape, int rows, caviar_error *err) {
  memset(ws, 0, sizeof *ws);
  ws->rows = rows;
  size_t r = (size_t)rows, h = (size_t)shape->hidden;
  bool ok = (ws->xt = caviar_alloc(r * (size_t)shape->inputs, sizeof(float), "a minibatch", err)) &&
            (ws->labels = caviar_alloc(r, sizeof(int32_t), "minibatch labels", err)) &&
            (ws->targets = caviar_alloc(r, sizeof(float), "minibatch targets", err)) &&
            (ws->logits = caviar_alloc(r * (size_t)shape->classes, sizeof(float), "logits", err)) &&
            (ws->delta[0] = caviar_alloc(r * h, sizeof(float), "gradients", err)) &&
            (ws->delta[1] = caviar_alloc(r * h, sizeof(float), "gradients", err));
  for (int l = 0; ok && l < shape->layers; l++)
    ok = (ws->act[l] = caviar_alloc(r * h, sizeof(float), "activations", err)) &&
         (ws->out[l] = caviar_alloc(r * h, sizeof(float), "activations", err));
  if (!ok) {
    cpu_workspace_free(ws);
    return CAVIAR_ERUNTIME;
  }
  return CAVIAR_OK;
}

void cpu_workspace_free(cpu_workspace *ws) {
  free(ws->xt);
  free(ws->labels);
  free(ws->targets);
  free(ws->logits);
  free(ws->delta[0]);
  free(ws->delta[1]);
  for (int l = 0; l < CAVIAR_MAX_LAYERS; l++) {
    free(ws->act[l]);
    free(ws->out[l]);
  }
  memset(ws, 0, sizeof *ws);
}

void cpu_member_bind(cpu_member *m, const caviar_shape *shape, const caviar_layout *layout, float *params,
                     float *grads, float *first, float *second, int slot) {
  m->shape = shape;
  m->layout = layout;
  for (int t = 0; t < layout->n_tensors; t++) {
    m->w[t] = caviar_block(params, layout, t, slot);
    m->g[t] = grads ? caviar_block(grads, layout, t, slot) : NULL;
    m->first[t] = first ? caviar_block(first, layout, t, slot) : NULL;
    m->second[t] = second ? caviar_block(second, layout, t, slot) : NULL;
  }
}

const cpu_team cpu_solo = {0, 1, NULL};

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

/* This thread's tiles of a GEMM with n output columns: columns [*j0, *j1) in CPU_TILE steps. */
static void my_columns(const cpu_team *team, int n, int *j0, int *j1) {
  size_t tiles = ((size_t)n + CPU_TILE - 1) / CPU_TILE, t0, t1;
  cpu_team_share(team, tiles, &t0, &t1);
  *j0 = (int)t0 * CPU_TILE;
  *j1 = (int)t1 * CPU_TILE < n ? (int)t1 * CPU_TILE : n;
  if (*j0 > *j1) *j0 = *j1;
}

/* Columns [j0, j1) of z (rows x n_out) = input (rows x n_in) * W + bias, with the input given
 * either as xt (first layer) or as a column-major activation block. */
static void linear_tile(const cpu_member *m, int l, const float *input, int rows, float *z, int j0, int j1) {
  int n_in = caviar_layer_in(m->shape, l), n = j1 - j0;
  const float *w = m->w[caviar_weight_tensor(l)] + (size_t)j0 * n_in;
  if (l == 0)
    cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, rows, n, n_in, 1.0f, input, n_in, w, n_in, 0.0f,
                z + (size_t)j0 * rows, rows);
  else
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, rows, n, n_in, 1.0f, input, rows, w, n_in, 0.0f,
                z + (size_t)j0 * rows, rows);
  const float *bias = m->w[caviar_bias_tensor(l)];
  for (int j = j0; j < j1; j++) {
    float *col = z + (size_t)j * rows;
    for (int i = 0; i < rows; i++) col[i] += bias[j];
  }
}

/* out[k] = in[k] / (1 - p) where unit k is kept, else 0, for k in [k0, k1): the forward mask on
 * activations, and the same mask on their gradients in backward. One Philox block decides each
 * aligned group of four units, whichever thread asks. */
static void apply_dropout(const cpu_dropout *drop, int layer, const float *in, size_t k0, size_t k1, float *out) {
  caviar_rng_block block = {{0}};
  for (size_t k = k0; k < k1; k++) {
    if (k == k0 || (k & 3) == 0) block = caviar_dropout_block(drop->seed, drop->trial, drop->step, layer, (uint32_t)k);
    out[k] = caviar_dropout_apply(block, (uint32_t)k, drop->p, in[k]);
  }
}

void cpu_forward(const cpu_member *m, int activation, const cpu_dropout *drop, int rows, cpu_workspace *ws,
                 const cpu_team *team) {
  const caviar_shape *s = m->shape;
  const float *input = ws->xt;
  bool dropped = drop && drop->p > 0, keeps_input = caviar_activation_keeps_input(activation);
  for (int l = 0; l <= s->layers; l++) {
    bool hidden = l < s->layers;
    float *z = hidden ? ws->act[l] : ws->logits;
    int j0, j1;
    my_columns(team, caviar_layer_out(s, l), &j0, &j1);
    for (int t = j0; t < j1; t += CPU_TILE) {
      int t1 = t + CPU_TILE < j1 ? t + CPU_TILE : j1;
      linear_tile(m, l, input, rows, z, t, t1);
      if (!hidden) continue;
      size_t k0 = (size_t)t * rows, k1 = (size_t)t1 * rows;
      if (keeps_input) { /* z stays in act for the derivative; the output goes to out */
        float *a = ws->out[l];
        for (size_t k = k0; k < k1; k++) a[k] = caviar_activate(activation, z[k]);
        if (dropped) apply_dropout(drop, l, a, k0, k1, a);
        continue;
      }
      for (size_t k = k0; k < k1; k++) z[k] = caviar_activate(activation, z[k]);
      if (dropped) apply_dropout(drop, l, z, k0, k1, ws->out[l]);
    }
    cpu_team_sync(team);
    if (hidden) input = dropped || keeps_input ? ws->out[l] : ws->act[l];
  }
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

void cpu_backward(const cpu_member *m, int activation, const cpu_dropout *drop, int rows, cpu_workspace *ws,
                  const cpu_team *team) {
  const caviar_shape *s = m->shape;
  bool dropped = drop && drop->p > 0, keeps_input = caviar_activation_keeps_input(activation);
  float *dz = ws->logits;
  for (int l = s->layers; l >= 0; l--) {
    int n_in = caviar_layer_in(s, l), n_out = caviar_layer_out(s, l), j0, j1;
    const float *input = l == 0 ? ws->xt : dropped || keeps_input ? ws->out[l - 1] : ws->act[l - 1];
    /* This thread's tiles of the weight gradient (and the bias gradient's columns). beta = 1 into
     * the zeroed gradient: OpenBLAS skips its separate pass scaling C by beta. */
    my_columns(team, n_out, &j0, &j1);
    for (int t = j0; t < j1; t += CPU_TILE) {
      int n = (t + CPU_TILE < j1 ? t + CPU_TILE : j1) - t;
      float *dw = m->g[caviar_weight_tensor(l)] + (size_t)t * n_in;
      if (l == 0)
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n_in, n, rows, 1.0f, input, n_in,
                    dz + (size_t)t * rows, rows, 1.0f, dw, n_in);
      else
        cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, n_in, n, rows, 1.0f, input, rows, dz + (size_t)t * rows,
                    rows, 1.0f, dw, n_in);
      float *db = m->g[caviar_bias_tensor(l)];
      for (int j = t; j < t + n; j++) {
        const float *col = dz + (size_t)j * rows;
        float sum = 0;
        for (int i = 0; i < rows; i++) sum += col[i];
        db[j] = sum;
      }
    }
    if (l > 0) {
      /* This thread's tiles of the gradient with respect to the previous layer's output (columns
       * of da are units of layer l - 1), then through dropout and the activation. */
      float *da = ws->delta[l % 2];
      const float *act = ws->act[l - 1];
      my_columns(team, n_in, &j0, &j1);
      for (int t = j0; t < j1; t += CPU_TILE) {
        int n = (t + CPU_TILE < j1 ? t + CPU_TILE : j1) - t;
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, rows, n, n_out, 1.0f, dz, rows, m->w[caviar_weight_tensor(l)] + t, n_in,
                    0.0f, da + (size_t)t * rows, rows);
        size_t k0 = (size_t)t * rows, k1 = (size_t)(t + n) * rows;
        if (dropped) apply_dropout(drop, l - 1, da, k0, k1, da);
        for (size_t k = k0; k < k1; k++) da[k] *= caviar_activation_grad(activation, act[k]);
      }
      dz = da;
    }
    cpu_team_sync(team);
  }
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
    default: /* the newer kinds through the one reference function */
      for (size_t k = 0; k < n; k++) caviar_update_param(hp, s, l2, &w[k], g[k], &m[k], &v[k]), g[k] = 0.0f;
  }
}

void cpu_update(const cpu_member *m, const caviar_member_hp *hp, const caviar_step_scalars *s, const cpu_team *team) {
  for (int t = 0; t < m->layout->n_tensors; t++) {
    size_t k0, k1, n = m->layout->size[t];
    cpu_team_share(team, n, &k0, &k1);
    update_segment(hp, s, caviar_tensor_is_weight(t) ? hp->l2 : 0.0f, k1 - k0, m->w[t] + k0, m->g[t] + k0, m->first[t] + k0,
                   m->second[t] + k0);
  }
  cpu_team_sync(team);
}
