/* The CPU backend: OpenBLAS GEMMs and OpenMP across members. Each member trains its whole epoch on
 * one thread with single-threaded BLAS (faster than threading these small GEMMs), so a member's
 * arithmetic is the same whatever else is in its cohort: bitwise, which the tests check. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caviar/backend.h"
#include "caviar/cpu_ceiling.h"
#include "cpu/layers.h"
#include "cpu/member.h"

/* Rows of an evaluation chunk: 256 (an MLP's), 64 for a model with convolutions, whose activations
 * are pixels times larger. */
static int eval_rows(const caviar_arch *arch) {
  for (int i = 0; i < arch->n_layers; i++)
    if (arch->layer[i].kind == CAVIAR_LAYER_CONV2D) return 64;
  return 256;
}

/* The backend's own state of a cohort (its arenas are the cohort's, in host memory). */
typedef struct cpu_cohort {
  int threads;
  cpu_workspace *train_ws; /* one per thread, batch rows */
  cpu_workspace *eval_ws;  /* one per thread, eval_rows rows */
} cpu_cohort;

typedef struct cpu_ctx {
  const caviar_data *data;
} cpu_ctx;

/* The arenas in host memory, against 80% of the machine's RAM. */
static caviar_status cpu_plan(caviar_backend *be, const caviar_data *data, const caviar_shape *shapes,
                              const int *members, const bool *dropout, int n_cohorts, bool keep_best,
                              caviar_error *err) {
  (void)be;
  (void)data;
  (void)dropout;
  double need = caviar_population_bytes(shapes, members, n_cohorts, keep_best);
  double have = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  if (have > 0 && need > 0.8 * have) {
    int total = 0;
    for (int c = 0; c < n_cohorts; c++) total += members[c];
    return caviar_fail(err, CAVIAR_EINPUT,
                       "the population needs %.1f GiB for parameters and optimizer state, more than 80%% of this "
                       "machine's %.1f GiB: about %d of its %d members fit; use fewer trials or smaller models",
                       need / (1 << 30), have / (1 << 30), (int)(total * 0.8 * have / need), total);
  }
  return CAVIAR_OK;
}

static caviar_status cpu_upload(caviar_backend *be, const caviar_data *data, caviar_error *err) {
  (void)err;
  ((cpu_ctx *)be->ctx)->data = data;
  return CAVIAR_OK;
}

static void cpu_cohort_free(caviar_backend *be, caviar_cohort *c) {
  (void)be;
  cpu_cohort *cc = c->impl;
  if (!cc) return;
  for (int t = 0; t < cc->threads; t++) {
    if (cc->train_ws) cpu_workspace_free(&cc->train_ws[t]);
    if (cc->eval_ws) cpu_workspace_free(&cc->eval_ws[t]);
  }
  free(cc->train_ws);
  free(cc->eval_ws);
  free(cc);
  c->impl = NULL;
}

/* ---- memory: host memory, 64-byte aligned ---- */

static float *cpu_buf_alloc(caviar_backend *be, size_t n, const char *what, caviar_error *err) {
  (void)be;
  size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
  float *p = aligned_alloc(64, bytes ? bytes : 64);
  if (!p) caviar_fail(err, CAVIAR_ERUNTIME, "out of memory allocating %s (%zu MiB)", what, bytes >> 20);
  else memset(p, 0, bytes);
  return p;
}

static void cpu_buf_release(caviar_backend *be, float *buffer) {
  (void)be;
  free(buffer);
}

static caviar_status cpu_buf_copy(caviar_backend *be, float *dst, const float *src, size_t n, caviar_error *err) {
  (void)be;
  (void)err;
  memcpy(dst, src, n * sizeof(float));
  return CAVIAR_OK;
}

/* Host memory both sides: to and from the host are copies too. */
static caviar_status cpu_buf_copy_to_host(caviar_backend *be, float *host, const float *src, size_t n,
                                          caviar_error *err) {
  return cpu_buf_copy(be, host, src, n, err);
}

static caviar_status cpu_buf_copy_from_host(caviar_backend *be, float *dst, const float *host, size_t n,
                                            caviar_error *err) {
  return cpu_buf_copy(be, dst, host, n, err);
}

static caviar_status cpu_buf_clear(caviar_backend *be, float *dst, size_t n, caviar_error *err) {
  (void)be;
  (void)err;
  memset(dst, 0, n * sizeof(float));
  return CAVIAR_OK;
}

static caviar_status cpu_buf_sync(caviar_backend *be, caviar_error *err) {
  (void)be;
  (void)err;
  return CAVIAR_OK;
}

static bool cpu_supports(const caviar_backend *be, const caviar_layer *layer) {
  (void)be;
  return cpu_layer_impl_of(layer->kind) != NULL;
}

static caviar_status cpu_cohort_alloc(caviar_backend *be, caviar_cohort *c, caviar_error *err) {
  cpu_cohort *cc = caviar_alloc(1, sizeof *cc, "a cohort", err);
  if (!cc) return CAVIAR_ERUNTIME;
  c->impl = cc;
  cc->threads = omp_get_max_threads();
  bool ok = (cc->train_ws = caviar_alloc((size_t)cc->threads, sizeof *cc->train_ws, "workspaces", err)) &&
            (cc->eval_ws = caviar_alloc((size_t)cc->threads, sizeof *cc->eval_ws, "workspaces", err));
  for (int t = 0; ok && t < cc->threads; t++)
    ok = cpu_workspace_alloc(&cc->train_ws[t], &c->arch, c->shape.batch, err) == CAVIAR_OK &&
         cpu_workspace_alloc(&cc->eval_ws[t], &c->arch, eval_rows(&c->arch), err) == CAVIAR_OK;
  if (!ok) {
    cpu_cohort_free(be, c);
    return CAVIAR_ERUNTIME;
  }
  return CAVIAR_OK;
}

static void bind(cpu_member *m, caviar_cohort *c, int slot) {
  cpu_member_bind(m, &c->arch, &c->layout, c->arena[CAVIAR_ARENA_PARAMS], c->arena[CAVIAR_ARENA_GRADS],
                  c->arena[CAVIAR_ARENA_FIRST], c->arena[CAVIAR_ARENA_SECOND], slot);
}

static caviar_status cpu_init_members(caviar_backend *be, caviar_cohort *c, int first, int count, caviar_error *err) {
  (void)be;
  (void)err;
  for (int slot = first; slot < first + count; slot++) {
    cpu_member m;
    bind(&m, c, slot);
    for (int t = 0; t < c->layout.n_tensors; t++) {
      size_t n = c->layout.size[t];
      for (size_t k = 0; k < n; k++) {
        m.w[t][k] = caviar_init_param(c->layout.role[t], c->seed, c->trial[slot], (uint32_t)t, k, c->layout.fan_in[t],
                                      c->hp[slot].activation);
        m.first[t][k] = m.second[t][k] = 0.0f;
      }
    }
  }
  return CAVIAR_OK;
}

/* The minibatch's rows into ws (this thread's share of them), then a team phase ends. A training
 * step (step_of: its cohort) gathers the images augmented as data.augment says; evaluation never. */
static void gather(const caviar_data *data, caviar_set set, const uint32_t *rows, int n, cpu_workspace *ws,
                   const caviar_cohort *step_of, const cpu_team *team) {
  const caviar_dataset *ds = set == CAVIAR_SET_TRAIN ? &data->train : &data->test;
  size_t i0, i1;
  cpu_team_share(team, (size_t)n, &i0, &i1);
  if (step_of && caviar_augment_on(data->augment))
    caviar_gather_augmented(ds, &data->scaling, data->augment, step_of->seed, step_of->tick, rows + i0, i1 - i0,
                            ws->xt + i0 * ds->d);
  else
    caviar_gather(ds, &data->scaling, rows + i0, i1 - i0, ws->xt + i0 * ds->d);
  for (size_t i = i0; i < i1; i++) ws->labels[i] = ds->labels[rows[i]];
  for (size_t i = i0; ds->targets && i < i1; i++) ws->targets[i] = ds->targets[rows[i]];
  cpu_team_sync(team);
}

/* One member's epoch, start to finish, by the calling thread's team (alone: cpu_solo). Every
 * thread of the team reads the same loss after each step's softmax, so all of them stop together
 * when the member diverges; the team's first thread keeps the books. */
static void train_member(const caviar_data *data, caviar_cohort *c, int slot, const uint32_t *rows, size_t steps,
                         cpu_workspace *ws, const cpu_team *team, float *mean_loss, uint8_t *diverged, int *steps_taken) {
  cpu_member m;
  bind(&m, c, slot);
  const caviar_member_hp *hp = &c->hp[slot];
  int batch = c->shape.batch, steps0 = c->steps[slot], taken = 0;
  double total = 0;
  bool dead = false;
  for (size_t s = 0; s < steps && !dead; s++) {
    gather(data, CAVIAR_SET_TRAIN, rows + s * batch, batch, ws, c, team);
    int t = steps0 + ++taken;
    cpu_dropout drop = {c->seed, c->trial[slot], (uint32_t)t, hp->dropout, false};
    cpu_forward(&m, hp, &drop, batch, ws, team);
    cpu_softmax_xent(ws, batch, c->shape.classes, 1, team);
    double loss = ws->loss;
    /* The next phase's first barrier keeps the first thread from overwriting ws->loss before
     * every thread has read it. */
    if (caviar_loss_diverged(loss, c->shape.classes)) {
      dead = true;
      total = loss;
      break;
    }
    total += loss;
    caviar_step_scalars sc = caviar_step_scalars_at(hp, c->epochs[slot], t);
    cpu_backward(&m, hp, &drop, batch, ws, &sc, team);
  }
  if (team->rank != 0) return;
  *steps_taken = taken;
  *diverged = dead;
  *mean_loss = (float)(dead ? total : total / (double)(steps ? steps : 1));
}

/* Runs fn for every slot of the cohort on every thread: members one per thread while at least as
 * many remain as there are threads, then the rest (fewer than the threads) each with a team of
 * the threads and a barrier of its own, so no core idles while a small cohort or the last few
 * members train. fn gets the workspace index of its team (its first thread's). */
typedef void (*member_fn)(void *arg, int slot, const cpu_team *team, int ws_index);

static void for_each_member(int n, member_fn fn, void *arg) {
  int threads = omp_get_max_threads();
  int alone = n >= threads ? n - n % threads : 0;
  openblas_set_num_threads(1);
#pragma omp parallel for schedule(dynamic, 1)
  for (int slot = 0; slot < alone; slot++) fn(arg, slot, &cpu_solo, omp_get_thread_num());
  int rest = n - alone;
  if (rest == 0) return;
  cpu_barrier *barriers = malloc((size_t)rest * sizeof *barriers);
  if (!barriers) { /* no teams then: members one per thread */
#pragma omp parallel for schedule(dynamic, 1)
    for (int k = 0; k < rest; k++) fn(arg, alone + k, &cpu_solo, omp_get_thread_num());
    return;
  }
#pragma omp parallel
  {
    int tid = omp_get_thread_num(), nt = omp_get_num_threads();
    if (nt < rest) {
      /* Fewer threads than asked for (OMP_DYNAMIC): members one per thread after all. */
#pragma omp for schedule(dynamic, 1)
      for (int k = 0; k < rest; k++) fn(arg, alone + k, &cpu_solo, tid);
    } else {
      /* Team k is threads [k * nt / rest, (k + 1) * nt / rest). */
      int k = 0;
      while ((k + 1) * nt / rest <= tid) k++;
      int first = k * nt / rest, next = (k + 1) * nt / rest;
      if (tid == first) cpu_barrier_init(&barriers[k], (unsigned)(next - first));
#pragma omp barrier
      cpu_team team = {tid - first, next - first, next - first > 1 ? &barriers[k] : NULL, NULL};
      fn(arg, alone + k, &team, first);
    }
  }
  free(barriers);
}

typedef struct train_args {
  const caviar_data *data;
  caviar_cohort *c;
  const uint32_t *rows;
  size_t steps;
  caviar_epoch_stats *stats;
} train_args;

/* A team's thread works in its own workspace's scratch (a convolution's patches); the team shares
 * its first thread's workspace for everything else. */
static cpu_team own_scratch(const cpu_team *team, cpu_workspace *mine) {
  cpu_team t = *team;
  if (t.size > 1) t.scratch = mine->patches;
  return t;
}

static void train_one(void *arg, int slot, const cpu_team *team, int ws_index) {
  train_args *a = arg;
  cpu_cohort *cc = a->c->impl;
  cpu_team t = own_scratch(team, &cc->train_ws[omp_get_thread_num()]);
  train_member(a->data, a->c, slot, a->rows, a->steps, &cc->train_ws[ws_index], &t, &a->stats->train_loss[slot],
               &a->stats->diverged[slot], &a->stats->steps[slot]);
}

static caviar_status cpu_train_epoch(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, size_t n_rows,
                                     caviar_epoch_stats *stats, caviar_error *err) {
  (void)err;
  train_args a = {((cpu_ctx *)be->ctx)->data, c, rows, n_rows / (size_t)c->shape.batch, stats};
  for_each_member(c->n, train_one, &a);
  return CAVIAR_OK;
}

typedef struct eval_args {
  const caviar_data *data;
  caviar_cohort *c;
  caviar_set set;
  const uint32_t *rows;
  size_t n_rows;
  float *loss, *accuracy;
} eval_args;

static void evaluate_one(void *arg, int slot, const cpu_team *shared, int ws_index) {
  eval_args *a = arg;
  caviar_cohort *c = a->c;
  cpu_workspace *ws = &((cpu_cohort *)c->impl)->eval_ws[ws_index];
  cpu_team own = own_scratch(shared, &((cpu_cohort *)c->impl)->eval_ws[omp_get_thread_num()]);
  const cpu_team *team = &own;
  cpu_member m;
  bind(&m, c, slot);
  double total = 0;
  long right = 0;
  size_t chunk = (size_t)eval_rows(&c->arch);
  for (size_t start = 0; start < a->n_rows; start += chunk) {
    int n = (int)(a->n_rows - start < chunk ? a->n_rows - start : chunk);
    gather(a->data, a->set, a->rows + start, n, ws, NULL, team);
    cpu_forward(&m, &c->hp[slot], NULL, n, ws, team);
    cpu_softmax_xent(ws, n, c->shape.classes, 0, team);
    total += ws->loss * n;
    right += ws->correct;
    /* The next chunk's gather overwrites what the first thread has just read. */
    cpu_team_sync(team);
  }
  if (team->rank != 0) return;
  a->loss[slot] = (float)(total / (double)a->n_rows);
  a->accuracy[slot] = (float)((double)right / (double)a->n_rows);
}

static caviar_status cpu_evaluate(caviar_backend *be, caviar_cohort *c, caviar_set set, const uint32_t *rows,
                                  size_t n_rows, float *loss, float *accuracy, caviar_error *err) {
  (void)err;
  eval_args a = {((cpu_ctx *)be->ctx)->data, c, set, rows, n_rows, loss, accuracy};
  for_each_member(c->n, evaluate_one, &a);
  return CAVIAR_OK;
}

static caviar_status cpu_loss_and_grads(caviar_backend *be, caviar_cohort *c, const uint32_t *rows, float *loss,
                                        float *grads, caviar_error *err) {
  (void)err;
  const caviar_data *data = ((cpu_ctx *)be->ctx)->data;
  cpu_cohort *cc = c->impl;
  openblas_set_num_threads(1);
#pragma omp parallel for schedule(dynamic, 1)
  for (int slot = 0; slot < c->n; slot++) {
    cpu_workspace *ws = &cc->train_ws[omp_get_thread_num()];
    cpu_member m;
    bind(&m, c, slot);
    const caviar_member_hp *hp = &c->hp[slot];
    cpu_dropout drop = {c->seed, c->trial[slot], (uint32_t)(c->steps[slot] + 1), hp->dropout, true};
    gather(data, CAVIAR_SET_TRAIN, rows, c->shape.batch, ws, c, &cpu_solo);
    cpu_forward(&m, hp, &drop, c->shape.batch, ws, &cpu_solo);
    cpu_softmax_xent(ws, c->shape.batch, c->shape.classes, 1, &cpu_solo);
    loss[slot] = (float)ws->loss;
    cpu_backward(&m, hp, &drop, c->shape.batch, ws, NULL, &cpu_solo);
    float *out = grads + (size_t)slot * c->layout.per_member;
    for (int t = 0; t < c->layout.n_tensors; t++) {
      memcpy(out, m.g[t], c->layout.size[t] * sizeof(float));
      memset(m.g[t], 0, c->layout.size[t] * sizeof(float)); /* backward accumulates into zeros */
      out += c->layout.size[t];
    }
  }
  return CAVIAR_OK;
}

static void cpu_destroy(caviar_backend *be) {
  free(be->ctx);
  free(be);
}

caviar_status caviar_backend_cpu(caviar_backend **out, caviar_error *err) {
  caviar_backend *be = caviar_alloc(1, sizeof *be, "the CPU backend", err);
  cpu_ctx *ctx = caviar_alloc(1, sizeof *ctx, "the CPU backend", err);
  if (!be || !ctx) {
    free(be);
    free(ctx);
    return CAVIAR_ERUNTIME;
  }
  *be = (caviar_backend){.name = "cpu",
                         .kind = CAVIAR_BACKEND_CPU,
                         .ctx = ctx,
                         .buf = {cpu_buf_alloc, cpu_buf_release, cpu_buf_copy, cpu_buf_copy_to_host, cpu_buf_copy_from_host,
                                 cpu_buf_clear, cpu_buf_sync},
                         .supports = cpu_supports,
                         .plan = cpu_plan,
                         .upload = cpu_upload,
                         .cohort_alloc = cpu_cohort_alloc,
                         .cohort_free = cpu_cohort_free,
                         .init_members = cpu_init_members,
                         .train_epoch = cpu_train_epoch,
                         .evaluate = cpu_evaluate,
                         .loss_and_grads = cpu_loss_and_grads,
                         .destroy = cpu_destroy};
  caviar_cpu_blas(&be->blas);
  *out = be;
  return CAVIAR_OK;
}
