#include "caviar/cuda_plan.h"

#include <limits.h>
#include <stdint.h>

size_t caviar_cuda_member_bytes(void) {
  return sizeof(caviar_member_hp) + sizeof(uint32_t) + 2 * sizeof(int) + sizeof(caviar_step_scalars) +
         sizeof(uint8_t) + sizeof(float) + sizeof(double) + sizeof(unsigned long long);
}

void caviar_cuda_buffers_of(const caviar_shape *shape, int capacity, bool dropout, bool keep_best,
                            caviar_cuda_buffers *out) {
  caviar_layout layout;
  caviar_layout_make(shape, capacity, &layout);
  size_t n = (size_t)capacity, b = (size_t)shape->batch, h = (size_t)shape->hidden, c = (size_t)shape->classes;
  size_t wide = h > c ? h : c;
  out->arena = layout.arena;
  out->best = keep_best ? layout.arena : 0;
  out->xt = (size_t)shape->inputs * b;
  out->labels = b;
  out->act = n * b * h;
  out->out = dropout ? n * b * h : 0;
  out->delta = n * b * wide;
  out->logits = n * b * c;
  out->members = n;
}

double caviar_cuda_cohort_bytes(const caviar_shape *shape, int capacity, bool dropout, bool keep_best) {
  caviar_cuda_buffers b;
  caviar_cuda_buffers_of(shape, capacity, dropout, keep_best, &b);
  double floats = (double)CAVIAR_ARENAS * (double)b.arena + (double)b.best + (double)b.xt + (double)shape->layers * (double)(b.act + b.out) +
                  2.0 * (double)b.delta + (double)b.logits;
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
