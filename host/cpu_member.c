#include "cpu_member.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

caviar_status cpu_workspace_alloc(cpu_workspace *ws, const caviar_shape *shape, int rows, caviar_error *err) {
  memset(ws, 0, sizeof *ws);
  ws->rows = rows;
  size_t r = (size_t)rows, h = (size_t)shape->hidden;
  bool ok = (ws->xt = caviar_alloc(r * (size_t)shape->inputs, sizeof(float), "a minibatch", err)) &&
            (ws->labels = caviar_alloc(r, sizeof(int32_t), "minibatch labels", err)) &&
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
    m->m[t] = first ? caviar_block(first, layout, t, slot) : NULL;
    m->v[t] = second ? caviar_block(second, layout, t, slot) : NULL;
  }
}

/* z (rows x n_out) = input (rows x n_in) * W, with the input given either as xt (first layer) or
 * as a column-major activation block. */
static void linear(const cpu_member *m, int l, const float *input, int rows, float *z) {
  int n_in = caviar_layer_in(m->shape, l), n_out = caviar_layer_out(m->shape, l);
  if (l == 0)
    cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, rows, n_out, n_in, 1.0f, input, n_in, m->w[0], n_in, 0.0f, z,
                rows);
  else
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, rows, n_out, n_in, 1.0f, input, rows, m->w[2 * l], n_in,
                0.0f, z, rows);
  const float *bias = m->w[2 * l + 1];
  for (int j = 0; j < n_out; j++) {
    float *col = z + (size_t)j * rows;
    for (int i = 0; i < rows; i++) col[i] += bias[j];
  }
}

/* out[k] = in[k] / (1 - p) where unit k is kept, else 0: the forward mask on activations, and the
 * same mask on their gradients in backward. */
static void apply_dropout(const cpu_dropout *drop, int layer, const float *in, size_t n, float *out) {
  float scale = 1.0f / (1.0f - drop->p);
  for (size_t k = 0; k < n; k += 4) {
    caviar_rng_block block = caviar_dropout_block(drop->seed, drop->trial, drop->step, layer, (uint32_t)k);
    for (size_t j = k; j < k + 4 && j < n; j++)
      out[j] = caviar_dropout_kept(block, (uint32_t)j, drop->p) ? in[j] * scale : 0.0f;
  }
}

void cpu_forward(const cpu_member *m, int activation, const cpu_dropout *drop, int rows, cpu_workspace *ws) {
  const caviar_shape *s = m->shape;
  const float *input = ws->xt;
  for (int l = 0; l < s->layers; l++) {
    float *act = ws->act[l];
    linear(m, l, input, rows, act);
    size_t n = (size_t)rows * s->hidden;
    for (size_t k = 0; k < n; k++) act[k] = caviar_activate(activation, act[k]);
    if (drop && drop->p > 0) {
      apply_dropout(drop, l, act, n, ws->out[l]);
      input = ws->out[l];
    } else {
      input = act;
    }
  }
  linear(m, s->layers, input, rows, ws->logits);
}

double cpu_softmax_xent(cpu_workspace *ws, int rows, int classes, int grad, int *correct) {
  double total = 0;
  int right = 0;
  float *z = ws->logits;
  for (int i = 0; i < rows; i++) {
    int hit;
    total += (double)caviar_softmax_xent(z + i, (size_t)rows, classes, ws->labels[i], grad ? (float)rows : 0.0f, &hit);
    right += hit;
  }
  if (correct) *correct = right;
  return total / rows;
}

void cpu_backward(const cpu_member *m, int activation, const cpu_dropout *drop, int rows, cpu_workspace *ws) {
  const caviar_shape *s = m->shape;
  float *dz = ws->logits;
  for (int l = s->layers; l >= 0; l--) {
    int n_in = caviar_layer_in(s, l), n_out = caviar_layer_out(s, l);
    bool dropped = drop && drop->p > 0;
    /* beta = 1 into the zeroed gradient: OpenBLAS skips its separate pass scaling C by beta. */
    if (l == 0)
      cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n_in, n_out, rows, 1.0f, ws->xt, n_in, dz, rows, 1.0f,
                  m->g[0], n_in);
    else
      cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, n_in, n_out, rows, 1.0f,
                  dropped ? ws->out[l - 1] : ws->act[l - 1], rows, dz, rows, 1.0f, m->g[2 * l], n_in);
    float *db = m->g[2 * l + 1];
    for (int j = 0; j < n_out; j++) {
      const float *col = dz + (size_t)j * rows;
      float sum = 0;
      for (int i = 0; i < rows; i++) sum += col[i];
      db[j] = sum;
    }
    if (l == 0) break;
    /* The gradient with respect to the previous layer's output, then through dropout and the
     * activation to its pre-activation. */
    float *da = ws->delta[l % 2];
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, rows, n_in, n_out, 1.0f, dz, rows, m->w[2 * l], n_in, 0.0f,
                da, rows);
    const float *act = ws->act[l - 1];
    size_t n = (size_t)rows * n_in;
    if (dropped) apply_dropout(drop, l - 1, da, n, da);
    for (size_t k = 0; k < n; k++) da[k] *= caviar_activation_grad(activation, act[k]);
    dz = da;
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
      for (size_t k = 0; k < n; k++) caviar_sgd_step(hp, s, l2, &w[k], g[k]), g[k] = 0.0f;
      break;
    case CAVIAR_OPT_MOMENTUM:
      for (size_t k = 0; k < n; k++) caviar_momentum_step(hp, s, l2, &w[k], g[k], &m[k]), g[k] = 0.0f;
      break;
    case CAVIAR_OPT_RMSPROP:
      for (size_t k = 0; k < n; k++) caviar_rmsprop_step(hp, s, l2, &w[k], g[k], &v[k]), g[k] = 0.0f;
      break;
    default:
      for (size_t k = 0; k < n; k++) caviar_adam_step(hp, s, l2, &w[k], g[k], &m[k], &v[k]), g[k] = 0.0f;
  }
}

void cpu_update(const cpu_member *m, const caviar_member_hp *hp, const caviar_step_scalars *s) {
  for (int t = 0; t < m->layout->n_tensors; t++)
    update_segment(hp, s, t % 2 == 0 ? hp->l2 : 0.0f, m->layout->size[t], m->w[t], m->g[t], m->m[t], m->v[t]);
}
