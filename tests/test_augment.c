/* data.augment: the gathered training images against images mirrored and moved by hand (a forward
 * copy of every pixel to its new place, not the gather's backward lookup), the draws' statistics
 * (a fair coin for the mirror, every shift in [-s, s] as often as the others), a pure function of
 * (seed, epoch order, row); and through the command line: a CNN sweep with augmentation gives the
 * same numbers on 1 and 2 threads and other numbers than without it, and hostile augment fields get
 * one line naming the field, exit status 2, and nothing written. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caviar/augment.h"
#include "caviar/data.h"
#include "scratch.h"
#include "synth_support.h"

enum { C = 2, H = 5, W = 7, D = C * H * W, ROWS = 6 };

/* A dataset of ROWS C x H x W byte images with distinct pixels, and a scaling of its own per pixel. */
static void make_images(caviar_dataset *ds, caviar_scaling *s) {
  memset(ds, 0, sizeof *ds);
  ds->n = ROWS;
  ds->d = D;
  ds->x_u8 = malloc(ROWS * D);
  for (int i = 0; i < ROWS * D; i++) ds->x_u8[i] = (uint8_t)(1 + (i * 37) % 251);
  ds->image[0] = C;
  ds->image[1] = H;
  ds->image[2] = W;
  memset(s, 0, sizeof *s);
  s->d = D;
  s->shift = malloc(D * sizeof(float));
  s->scale = malloc(D * sizeof(float));
  for (int j = 0; j < D; j++) {
    s->shift[j] = 0.25f * (float)(j % 5);
    s->scale[j] = 1.0f / (float)(1 + j % 3);
  }
}

/* The reference: mirror each row of each channel, then copy every pixel forward to (y + dy, x + dx)
 * of a zero image, then scale. */
static void reference(const uint8_t *img, caviar_augment_draw d, const caviar_scaling *s, float *out) {
  float mirrored[D], moved[D];
  for (int c = 0; c < C; c++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        mirrored[(c * H + y) * W + x] = img[(c * H + y) * W + (d.flip ? W - 1 - x : x)];
  for (int j = 0; j < D; j++) moved[j] = 0;
  for (int c = 0; c < C; c++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        int ty = y + d.dy, tx = x + d.dx;
        if (ty >= 0 && ty < H && tx >= 0 && tx < W) moved[(c * H + ty) * W + tx] = mirrored[(c * H + y) * W + x];
      }
  for (int j = 0; j < D; j++) out[j] = (moved[j] - s->shift[j]) * s->scale[j];
}

Test(augment, gathered_images_are_the_originals_mirrored_and_moved_by_hand_then_scaled) {
  caviar_dataset ds;
  caviar_scaling s;
  make_images(&ds, &s);
  uint32_t rows[ROWS] = {3, 0, 5, 1, 4, 2};
  float got[ROWS * D], want[D];
  int flips = 0, moves = 0;
  for (uint32_t tick = 0; tick < 40; tick++) {
    caviar_augment a = {true, 2};
    caviar_gather_augmented(&ds, &s, a, 17, tick, rows, ROWS, got);
    for (int r = 0; r < ROWS; r++) {
      caviar_augment_draw d = caviar_augment_draw_of(a, 17, tick, rows[r]);
      cr_assert(d.flip == 0 || d.flip == 1);
      cr_assert(d.dy >= -2 && d.dy <= 2 && d.dx >= -2 && d.dx <= 2, "shift %d, %d", d.dy, d.dx);
      flips += d.flip;
      moves += d.dy != 0 || d.dx != 0;
      reference(ds.x_u8 + (size_t)rows[r] * D, d, &s, want);
      for (int j = 0; j < D; j++)
        cr_assert_eq(got[r * D + j], want[j], "tick %u row %u value %d (flip %d, dy %d, dx %d): %g, expected %g",
                     tick, rows[r], j, d.flip, d.dy, d.dx, got[r * D + j], want[j]);
    }
  }
  cr_expect(flips > 0 && flips < 40 * ROWS, "both mirrored and plain images: %d of %d", flips, 40 * ROWS);
  cr_expect_gt(moves, 0);
  /* Without augmentation's draws (no flip, no shift) the gather is the plain one. */
  float plain[ROWS * D];
  caviar_gather(&ds, &s, rows, ROWS, plain);
  caviar_augment none_drawn = {true, 0};
  caviar_gather_augmented(&ds, &s, none_drawn, 17, 0, rows, ROWS, got);
  for (int r = 0; r < ROWS; r++) {
    caviar_augment_draw d = caviar_augment_draw_of(none_drawn, 17, 0, rows[r]);
    cr_assert_eq(d.dy, 0);
    cr_assert_eq(d.dx, 0);
    if (!d.flip) cr_expect_eq(memcmp(got + r * D, plain + r * D, D * sizeof(float)), 0, "row %u", rows[r]);
  }
  caviar_dataset_free(&ds);
  caviar_scaling_free(&s);
}

Test(augment, the_mirror_is_a_fair_coin_and_every_shift_equally_likely) {
  caviar_augment a = {true, 3};
  enum { N = 20000, SPAN = 7 };
  int flips = 0, dy[SPAN] = {0}, dx[SPAN] = {0}, joint_same = 0;
  for (uint32_t row = 0; row < N; row++) {
    caviar_augment_draw d = caviar_augment_draw_of(a, 99, row % 13, row);
    flips += d.flip;
    dy[d.dy + 3]++;
    dx[d.dx + 3]++;
    joint_same += d.dy == d.dx;
  }
  /* Binomial(N, 1/2): 4.5 standard deviations. */
  cr_expect_lt(fabs(flips - N / 2.0), 4.5 * sqrt(N / 4.0), "mirrored %d of %d", flips, N);
  /* Chi-square with 6 degrees of freedom: 27.9 is its 0.9999 quantile. */
  double chi_y = 0, chi_x = 0, e = (double)N / SPAN;
  for (int k = 0; k < SPAN; k++) {
    chi_y += (dy[k] - e) * (dy[k] - e) / e;
    chi_x += (dx[k] - e) * (dx[k] - e) / e;
  }
  cr_expect_lt(chi_y, 27.9, "vertical shifts not uniform: chi-square %g", chi_y);
  cr_expect_lt(chi_x, 27.9, "horizontal shifts not uniform: chi-square %g", chi_x);
  /* Independent axes: dy == dx about 1/7 of the time. */
  cr_expect_lt(fabs(joint_same - N / 7.0), 4.5 * sqrt(N * (1 / 7.0) * (6 / 7.0)), "dy == dx %d times", joint_same);
}

Test(augment, the_draws_are_a_function_of_seed_epoch_order_and_row_only) {
  caviar_augment a = {true, 2};
  int differ_tick = 0, differ_seed = 0;
  for (uint32_t row = 0; row < 200; row++) {
    caviar_augment_draw d1 = caviar_augment_draw_of(a, 5, 3, row), d2 = caviar_augment_draw_of(a, 5, 3, row);
    cr_assert(d1.flip == d2.flip && d1.dy == d2.dy && d1.dx == d2.dx, "row %u drawn twice differs", row);
    caviar_augment_draw t = caviar_augment_draw_of(a, 5, 4, row), s = caviar_augment_draw_of(a, 6, 3, row);
    differ_tick += t.flip != d1.flip || t.dy != d1.dy || t.dx != d1.dx;
    differ_seed += s.flip != d1.flip || s.dy != d1.dy || s.dx != d1.dx;
  }
  /* Each pair agrees by chance with probability 1/2 x 1/25. */
  cr_expect_gt(differ_tick, 180, "the next epoch's draws are the same for %d of 200 rows", 200 - differ_tick);
  cr_expect_gt(differ_seed, 180, "another seed's draws are the same for %d of 200 rows", 200 - differ_seed);
}

/* ---- through the command line ---- */

static const char *spec_file(const char *name, const char *data) {
  char text[4096];
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"trials\": 3, \"seed\": 5, \"data\": %s, \"model\": {\"type\": \"cnn\", "
           "\"conv_blocks\": 1, \"channels\": 4, \"epochs\": 3, \"batch_size\": 16, \"hidden\": 8}, "
           "\"parameters\": {\"learning_rate\": {\"values\": [0.003, 0.01]}}}",
           data);
  scratch_write_text(name, text);
  return scratch_path(name);
}

/* Each trial's val_loss per epoch from curves.csv's text, as one string. */
static char *curves(const char *out) {
  char path[1200];
  snprintf(path, sizeof path, "%s/curves.csv", out);
  return scratch_read(path, NULL);
}

static char *sweep(const char *spec, const char *name, int threads) {
  char args[2048], out[1024];
  snprintf(out, sizeof out, "%s/%s", scratch_dir(), name);
  snprintf(args, sizeof args, "sweep %s -o %s -q --threads %d", spec, out, threads);
  cli_result r = run_caviar(args);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  return curves(out);
}

Test(augment, a_cnn_sweep_with_augmentation_is_the_same_on_1_and_2_threads_and_differs_from_one_without) {
  const char *dir = synth_images_dir("aug-images", 320, 80, 8, 3);
  char data[1200];
  snprintf(data, sizeof data, "{\"dir\": \"%s\", \"validation\": 0.2, \"augment\": {\"flip\": true, \"shift\": 1}}", dir);
  const char *with = spec_file("with.json", data);
  snprintf(data, sizeof data, "{\"dir\": \"%s\", \"validation\": 0.2}", dir);
  const char *without = spec_file("without.json", data);
  char *one = sweep(with, "one", 1), *two = sweep(with, "two", 2), *plain = sweep(without, "plain", 2);
  cr_expect_str_eq(one, two, "augmented training differs between 1 and 2 threads");
  cr_expect_str_neq(one, plain, "augmentation changed nothing");
  free(one);
  free(two);
  free(plain);
}

Test(augment, hostile_augment_fields_are_refused_with_one_line) {
  const char *dir = synth_images_dir("aug-bad", 100, 30, 8, 3);
  static const struct {
    const char *augment, *field, *what;
  } cases[] = {
      {"{\"flip\": \"yes\"}", "data.augment.flip", "flip as a string"},
      {"{\"shift\": -1}", "data.augment.shift", "a negative shift"},
      {"{}", "data.augment", "nothing to do"},
      {"{\"rotate\": 10}", "rotate", "an unknown key"},
      {"true", "data.augment", "not an object"},
      {"{\"shift\": 8}", "data.augment.shift", "a shift as wide as the 8 x 8 image"},
  };
  char data[1200], name[32];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(data, sizeof data, "{\"dir\": \"%s\", \"augment\": %s}", dir, cases[i].augment);
    snprintf(name, sizeof name, "bad%zu.json", i);
    expect_sweep_refused(spec_file(name, data), cases[i].field, cases[i].what);
  }
  const char *flat = synth_idx_dir("aug-flat", 100, 30, 12, 3, 1.0, true);
  snprintf(data, sizeof data, "{\"dir\": \"%s\", \"augment\": {\"flip\": true}}", flat);
  char text[4096];
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"trials\": 2, \"data\": %s, \"model\": {\"epochs\": 1, \"hidden\": 8}, "
           "\"parameters\": {\"learning_rate\": {\"values\": [0.003, 0.01]}}}",
           data);
  scratch_write_text("flat.json", text);
  expect_sweep_refused(scratch_path("flat.json"), "data.augment", "plain features");
}
