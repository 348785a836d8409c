/* The CUDA backend's memory planning and graph bookkeeping, which need no GPU. */
#include <criterion/criterion.h>

#include "caviar/cuda_plan.h"

#define fmnist (*fmnist_shape())
static const caviar_shape *fmnist_shape(void) {
  static caviar_shape s;
  s = caviar_mlp_shape(784, 10, 1, 128, 128);
  return &s;
}

Test(cuda_plan, cohort_bytes_match_a_count_by_hand_of_every_buffer) {
  /* 1024 members of 784-128-10, batch 128, counted by hand. Member blocks are padded to 16 floats:
   * 784*128 = 100,352 (no padding), bias 128, 128*10 = 1,280, bias 10 -> 16: 101,776 floats. */
  double arena = 1024.0 * (100352 + 128 + 1280 + 16);
  double floats = 4 * arena            /* parameters, gradients, two optimizer slots */
                  + 784.0 * 128        /* the minibatch */
                  + 1024.0 * 128 * 128 /* activations of the hidden layer */
                  + 2 * 1024.0 * 128 * 128 /* two gradient buffers, batch x max(hidden, classes) */
                  + 1024.0 * 128 * 10; /* logits */
  /* Per member: 7 float and 2 int hyperparameters (36 bytes), trial id, steps, epochs (12), lr and
   * two corrections (12), a flag (1), a float loss sum (4), a double and a 64-bit count (16). */
  double bytes = 4 * floats + 4.0 * 128 /* labels */ + 1024.0 * (36 + 12 + 12 + 1 + 4 + 16);
  cr_expect_eq(caviar_cuda_member_bytes(), 81u);
  cr_expect_float_eq(caviar_cuda_cohort_bytes(&fmnist, 1024, false, false), bytes, 0.5);
  /* Dropout adds one more activation-sized buffer per hidden layer. */
  const caviar_shape deeper = caviar_mlp_shape(784, 10, 3, 128, 128);
  cr_expect_float_eq(caviar_cuda_cohort_bytes(&deeper, 64, true, false) - caviar_cuda_cohort_bytes(&deeper, 64, false, false),
                     3 * 4.0 * 64 * 128 * 128, 0.5);
  caviar_cuda_buffers b;
  caviar_cuda_buffers_of(&fmnist, 1024, false, false, &b);
  cr_expect_eq(b.out, 0u, "no dropout, no separate dropout buffers");
  cr_expect_eq(b.best, 0u, "model.keep last: no best-epoch arena");
}

Test(cuda_plan, keep_best_adds_exactly_one_arena_of_the_cohort_layout) {
  /* The fifth arena (each member's best-epoch parameters) is one more arena: 101,776 floats per
   * member of 784-128-10, as counted by hand above. */
  double arena = 1024.0 * (100352 + 128 + 1280 + 16);
  cr_expect_float_eq(caviar_cuda_cohort_bytes(&fmnist, 1024, false, true) - caviar_cuda_cohort_bytes(&fmnist, 1024, false, false),
                     4 * arena, 0.5);
  caviar_cuda_buffers b;
  caviar_cuda_buffers_of(&fmnist, 1024, true, true, &b);
  cr_expect_eq(b.best, b.arena);
  /* The host's count (the dry run's arena bytes, the CPU plan) agrees: 5 arenas instead of 4. */
  int members = 1024;
  cr_expect_float_eq(caviar_population_bytes(&fmnist, &members, 1, true), 5 * 4 * arena, 0.5);
  cr_expect_float_eq(caviar_population_bytes(&fmnist, &members, 1, false), 4 * 4 * arena, 0.5);
  /* A population that fits with keep last may not with keep best. */
  bool dropout = false;
  double need_last, need_best;
  int fit;
  double budget = 60e6 + caviar_cuda_cohort_bytes(&fmnist, 1024, false, false);
  cr_expect(caviar_cuda_population_fits(&fmnist, &members, &dropout, 1, false, 60e6, budget, &need_last, &fit));
  cr_expect_not(caviar_cuda_population_fits(&fmnist, &members, &dropout, 1, true, 60e6, budget, &need_best, &fit));
  cr_expect_float_eq(need_best - need_last, 4 * arena, 0.5);
  cr_expect_lt(fit, 1024);
}

Test(cuda_plan, a_population_that_fits_says_so) {
  int members = 1024;
  bool dropout = false;
  double need;
  int fit;
  cr_expect(caviar_cuda_population_fits(&fmnist, &members, &dropout, 1, false, 60e6, 80e9, &need, &fit));
  cr_expect_eq(fit, 1024);
  cr_expect_gt(need, 1.6e9);
}

Test(cuda_plan, too_big_a_population_reports_how_many_fit) {
  const caviar_shape shapes[2] = {fmnist, caviar_mlp_shape(784, 10, 2, 1024, 256)};
  int members[2] = {4096, 2048};
  bool dropout[2] = {false, true};
  double need, budget = 20e9;
  int fit;
  cr_assert_not(caviar_cuda_population_fits(shapes, members, dropout, 2, false, 60e6, budget, &need, &fit));
  cr_expect_gt(need, budget);
  cr_expect_gt(fit, 0);
  cr_expect_lt(fit, 4096 + 2048);
  /* The reported count fits, and a few percent more would not. */
  double frac = (double)fit / (4096 + 2048);
  int scaled[2] = {(int)(members[0] * frac), (int)(members[1] * frac)};
  double need_fit, need_more;
  int ignored;
  cr_expect(caviar_cuda_population_fits(shapes, scaled, dropout, 2, false, 60e6, budget, &need_fit, &ignored));
  int more[2] = {(int)(members[0] * frac * 1.05), (int)(members[1] * frac * 1.05)};
  cr_expect_not(caviar_cuda_population_fits(shapes, more, dropout, 2, false, 60e6, budget, &need_more, &ignored));
}

/* The key alone: that a changed cohort really is recaptured (and trains right) is the GPU agreement
 * tests' compaction and late-dropout cases. */
Test(cuda_plan, graph_keys_differ_in_member_count_arena_or_data_upload) {
  float arena_a, arena_b;
  caviar_graph_key captured = {16, &arena_a, 1};
  caviar_graph_key same = {16, &arena_a, 1}, compacted = {5, &arena_a, 1}, moved = {16, &arena_b, 1},
                   new_data = {16, &arena_a, 2};
  cr_expect(caviar_graph_key_matches(&captured, &same));
  cr_expect_not(caviar_graph_key_matches(&captured, &compacted), "compaction changes the member count");
  cr_expect_not(caviar_graph_key_matches(&captured, &moved), "new buffers change the baked-in addresses");
  cr_expect_not(caviar_graph_key_matches(&captured, &new_data), "a new upload moves the dataset");
}

Test(cuda_plan, stacked_first_layer_gemms_keep_every_operand_below_two_to_the_31) {
  /* Fashion-MNIST at N = 1024 is one GEMM: 784 x 131,072 weights, 103 M elements. */
  cr_expect_geq(caviar_cuda_stacked_chunk(784, 128, 128), 1024);
  /* 784 x 128 per member: 21,399 members reach 2^31 elements (784 * 128 * 21,400 > 2^31). */
  int chunk = caviar_cuda_stacked_chunk(784, 128, 128);
  cr_expect_leq((double)chunk * 784 * 128, 2147483647.0);
  cr_expect_gt((double)(chunk + 1) * 784 * 128, 2147483647.0, "the chunk is as large as the limit allows");
  /* A batch wider than the inputs bounds the output operand instead: batch x members*hidden. */
  int by_batch = caviar_cuda_stacked_chunk(10, 4096, 512);
  cr_expect_leq((double)by_batch * 4096 * 512, 2147483647.0);
  cr_expect_gt((double)(by_batch + 1) * 4096 * 512, 2147483647.0);
  /* Even one member too wide for the API gets a chunk of one (cuBLAS then says what is wrong). */
  cr_expect_eq(caviar_cuda_stacked_chunk(65536, 65536, 65536), 1);
}
