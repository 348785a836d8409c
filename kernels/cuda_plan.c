#include "caviar/cuda_plan.h"

#include <limits.h>
#include <string.h>
#include <stdint.h>

size_t caviar_cuda_member_bytes(void) {
  return sizeof(caviar_member_hp) + sizeof(uint32_t) + 2 * sizeof(int) + sizeof(caviar_step_scalars) +
         sizeof(uint8_t) + sizeof(float) + sizeof(double) + sizeof(unsigned long long);
}

/* Floats of one member's unfolded input of the largest convolution, and of the first (shared)
 * one, whose patches the whole cohort shares. */
static size_t largest_patches(const caviar_arch *a, int batch, size_t *shared) {
  size_t most = 0;
  *shared = 0;
  for (int i = 0; i < a->n_layers; i++) {
    const caviar_layer *l = &a->layer[i];
    if (l->kind != CAVIAR_LAYER_CONV2D) continue;
    size_t p = (size_t)batch * caviar_dims_pixels(l->out) * (size_t)(l->in.c * l->kernel * l->kernel);
    if (l->rowwise) *shared = p;
    else if (p > most) most = p;
  }
  return most;
}

#define PATCH_BUDGET_FLOATS ((size_t)64 << 20)

int caviar_cuda_patch_members(const caviar_shape *shape, int capacity) {
  caviar_arch a;
  caviar_arch_of(shape, &a);
  size_t shared, per = largest_patches(&a, shape->batch, &shared);
  if (per == 0) return capacity > 0 ? capacity : 1;
  size_t k = PATCH_BUDGET_FLOATS / per;
  if (k < 1) k = 1;
  return k < (size_t)capacity ? (int)k : (capacity > 0 ? capacity : 1);
}

void caviar_cuda_buffers_of(const caviar_shape *shape, int capacity, bool dropout, bool keep_best,
                            caviar_cuda_buffers *out) {
  caviar_arch a;
  caviar_layout layout;
  caviar_act_plan plan;
  caviar_arch_of(shape, &a);
  caviar_layout_of(&a, capacity, &layout);
  caviar_act_plan_of(&a, &plan);
  size_t n = (size_t)capacity, b = (size_t)shape->batch;
  memset(out, 0, sizeof *out);
  out->arena = layout.arena;
  out->best = keep_best ? layout.arena : 0;
  out->xt = caviar_dims_size(a.input) * b;
  out->labels = b;
  for (int i = 0; i < a.n_layers; i++) {
    const caviar_layer *l = &a.layer[i];
    size_t floats = n * b * plan.out[i];
    if (i == a.n_layers - 1) out->logits = floats;
    else if (l->kind == CAVIAR_LAYER_DROPOUT) out->out += dropout ? floats : 0;
    else if (!plan.in_place[i]) out->act += floats;
    if (l->kind == CAVIAR_LAYER_BATCHNORM) out->stats += 2 * n * (size_t)l->out.c;
  }
  out->delta = n * b * plan.widest;
  size_t shared, per = largest_patches(&a, shape->batch, &shared);
  size_t chunk = per ? (size_t)caviar_cuda_patch_members(shape, capacity) * per : 0;
  out->patches = chunk > shared ? chunk : shared;
  out->members = n;
}

double caviar_cuda_cohort_bytes(const caviar_shape *shape, int capacity, bool dropout, bool keep_best) {
  caviar_cuda_buffers b;
  caviar_cuda_buffers_of(shape, capacity, dropout, keep_best, &b);
  double floats = (double)CAVIAR_ARENAS * (double)b.arena + (double)b.best + (double)b.xt + (double)b.act +
                  (double)b.out + 2.0 * (double)b.delta + (double)b.logits + (double)b.patches + (double)b.stats;
  return (double)sizeof(float) * floats + (double)sizeof(uint32_t) * (double)b.labels + (double)caviar_cuda_member_bytes() * (double)b.members;
}

static double population_bytes(const caviar_shape *shapes, const int *members, const bool *dropout, int n_cohorts,
                               bool keep_best, double scale) {
  double bytes = 0;
  for (int c = 0; c < n_cohorts; c++) {
    int m = (int)((double)members[c] * scale);
    if (m > 0) bytes += caviar_cuda_cohort_bytes(&shapes[c], m, dropout[c], keep_best);
  }
  return bytes;
}

bool caviar_cuda_population_fits(const caviar_shape *shapes, const int *members, const bool *dropout, int n_cohorts,
                                 bool keep_best, double data_bytes, double budget_bytes, double *need_bytes, int *fit) {
  int total = 0;
  for (int c = 0; c < n_cohorts; c++) total += members[c];
  *need_bytes = data_bytes + population_bytes(shapes, members, dropout, n_cohorts, keep_best, 1.0);
  if (*need_bytes <= budget_bytes) {
    *fit = total;
    return true;
  }
  /* Bisect on the fraction of every cohort kept: the bytes grow with it. */
  double lo = 0, hi = 1;
  for (int i = 0; i < 60; i++) {
    double mid = 0.5 * (lo + hi);
    if (data_bytes + population_bytes(shapes, members, dropout, n_cohorts, keep_best, mid) <= budget_bytes) lo = mid;
    else hi = mid;
  }
  *fit = 0;
  for (int c = 0; c < n_cohorts; c++) *fit += (int)((double)members[c] * lo);
  return false;
}

int caviar_cuda_stacked_chunk(int inputs, int batch, int hidden) {
  size_t widest = (size_t)(inputs > batch ? inputs : batch);
  size_t per_member = widest * (size_t)(hidden > 0 ? hidden : 1);
  size_t chunk = (size_t)INT_MAX / per_member;
  return chunk < 1 ? 1 : chunk > (size_t)INT_MAX ? INT_MAX : (int)chunk;
}

bool caviar_graph_key_matches(const caviar_graph_key *captured, const caviar_graph_key *now) {
  return captured->members == now->members && captured->arena == now->arena &&
         captured->data_generation == now->data_generation;
}
