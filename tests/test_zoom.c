/* Coarse to fine: boxes shrink on each parameter's own scale around the best trials, never
 * beyond the original range; categorical parameters keep the values the best trials used; a sweep
 * samples each round inside its box. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "caviar/counter_rng.h"
#include "caviar/trainer.h"
#include "caviar/zoom.h"
#include "spec_support.h"
#include "synth_support.h"

static const char *space_spec =
    "{\"method\": \"coarse-to-fine\", \"parameters\": {"
    "\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-5, \"max\": 1},"
    "\"beta2\": {\"distribution\": \"one_minus_log_uniform_values\", \"min\": 0.9, \"max\": 0.9999},"
    "\"hidden\": {\"distribution\": \"int_uniform\", \"min\": 8, \"max\": 64},"
    "\"optimizer\": {\"values\": [\"sgd\", \"momentum\", \"adam\"], \"probabilities\": [0.2, 0.3, 0.5]},"
    "\"l2\": {\"distribution\": \"log_normal\", \"mu\": -9, \"sigma\": 1}}}";

Test(zoom, a_value_of_probability_0_among_the_best_stays_out_of_the_box) {
  /* Only a result told from outside (caviar study) can hold one; the box must not make it possible,
   * nor divide by the kept values' mass of 0 when it is the only one. */
  caviar_spec spec;
  spec_ok("{\"method\": \"coarse-to-fine\", \"parameters\": {\"optimizer\": {\"values\": [\"sgd\", \"momentum\", "
          "\"adam\"], \"probabilities\": [0.5, 0.0, 0.5]}}}",
          &spec);
  caviar_error err;
  caviar_hparams best[2];
  for (int only_zero = 0; only_zero < 2; only_zero++) {
    caviar_space box;
    cr_assert_eq(caviar_space_copy(&spec.space, &box, &err), CAVIAR_OK);
    for (int k = 0; k < 2; k++) {
      caviar_sample_random(&box, &spec.fixed, 5, (uint32_t)k, &best[k]);
      best[k].optimizer = k == 0 || only_zero ? CAVIAR_OPT_MOMENTUM : CAVIAR_OPT_ADAM;
    }
    cr_assert_eq(caviar_zoom(&box, &spec.space, best, 2, 0.5, &err), CAVIAR_OK);
    const caviar_param *opt = caviar_space_find(&box, "optimizer");
    for (int v = 0; v < opt->n_values; v++) {
      double share = opt->cumulative[v] - (v ? opt->cumulative[v - 1] : 0);
      cr_expect(opt->values[v] != CAVIAR_OPT_MOMENTUM || !(share > 0), "momentum got a share %g", share);
      cr_expect(isfinite(opt->cumulative[v]), "cumulative[%d] = %g", v, opt->cumulative[v]);
    }
    for (int k = 0; k < 50; k++) {
      caviar_hparams hp;
      caviar_sample_random(&box, &spec.fixed, 7, (uint32_t)k, &hp);
      cr_expect_neq(hp.optimizer, CAVIAR_OPT_MOMENTUM, "the zoomed box drew momentum");
    }
    caviar_space_free(&box);
  }
  caviar_spec_free(&spec);
}

Test(zoom, boxes_shrink_on_their_own_scale_and_stay_inside) {
  caviar_spec spec;
  spec_ok(space_spec, &spec);
  caviar_space box;
  caviar_error err;
  cr_assert_eq(caviar_space_copy(&spec.space, &box, &err), CAVIAR_OK);
  const caviar_param *orig_lr = caviar_space_find(&spec.space, "learning_rate");
  for (int round = 0; round < 6; round++) {
    /* Three "best" trials drawn inside the current box, clustered near its lower edge. */
    caviar_hparams best[3];
    for (int k = 0; k < 3; k++) {
      caviar_sample_random(&box, &spec.fixed, 99, (uint32_t)(round * 3 + k), &best[k]);
      best[k].learning_rate = caviar_space_find(&box, "learning_rate")->min * (1.0 + 0.01 * k);
      best[k].optimizer = CAVIAR_OPT_ADAM;
    }
    const caviar_param *lr = caviar_space_find(&box, "learning_rate");
    double width = lr->t_hi - lr->t_lo;
    cr_assert_eq(caviar_zoom(&box, &spec.space, best, 3, 0.5, &err), CAVIAR_OK);
    lr = caviar_space_find(&box, "learning_rate");
    double new_width = lr->t_hi - lr->t_lo, spread = log(1.02);
    cr_expect_float_eq(new_width, fmax(0.5 * width, spread), 1e-9, "round %d: ln-width %g from %g", round, new_width, width);
    cr_expect_geq(lr->t_lo, orig_lr->t_lo - 1e-12, "round %d slid below the original range", round);
    cr_expect_leq(lr->t_hi, orig_lr->t_hi + 1e-12);
    for (int k = 0; k < 3; k++)
      cr_expect(best[k].learning_rate >= lr->min * (1 - 1e-12) && best[k].learning_rate <= lr->max * (1 + 1e-12),
                "round %d: best trial %d left the box", round, k);
    const caviar_param *hidden = caviar_space_find(&box, "hidden");
    cr_expect(hidden->t_lo >= 8 && hidden->t_hi <= 64 && hidden->t_lo == floor(hidden->t_lo));
    const caviar_param *beta2 = caviar_space_find(&box, "beta2");
    cr_expect(beta2->min >= 0.9 - 1e-12 && beta2->max <= 0.9999 + 1e-12, "beta2 box [%g, %g]", beta2->min, beta2->max);
  }
  const caviar_param *opt = caviar_space_find(&box, "optimizer");
  cr_expect_eq(opt->n_values, 1, "only adam was among the best");
  cr_expect_eq(opt->values[0], CAVIAR_OPT_ADAM);
  cr_expect_float_eq(opt->cumulative[0], 1.0, 1e-12, "probabilities renormalised");
  const caviar_param *l2 = caviar_space_find(&box, "l2");
  cr_expect_float_eq(l2->sigma, pow(0.5, 6), 1e-12, "a normal distribution's sigma shrinks by zoom each round");
  caviar_space_free(&box);
  caviar_spec_free(&spec);
}

Test(zoom, the_box_covers_a_wide_spread_of_best_trials) {
  caviar_spec spec;
  spec_ok(space_spec, &spec);
  caviar_space box;
  caviar_error err;
  cr_assert_eq(caviar_space_copy(&spec.space, &box, &err), CAVIAR_OK);
  caviar_hparams best[2];
  caviar_sample_random(&box, &spec.fixed, 1, 0, &best[0]);
  best[1] = best[0];
  best[0].learning_rate = 1e-5;
  best[1].learning_rate = 1.0;
  cr_assert_eq(caviar_zoom(&box, &spec.space, best, 2, 0.25, &err), CAVIAR_OK);
  const caviar_param *lr = caviar_space_find(&box, "learning_rate");
  cr_expect_float_eq(lr->t_lo, log(1e-5), 1e-12, "the spread is the whole range, so the box stays whole");
  cr_expect_float_eq(lr->t_hi, 0.0, 1e-12);
  caviar_space_free(&box);
  caviar_spec_free(&spec);
}

Test(zoom, a_sweep_samples_each_round_inside_its_box) {
  char text[2048];
  snprintf(text, sizeof text,
           "{\"method\": \"coarse-to-fine\", \"trials\": 6, \"seed\": 2, \"data\": {\"dir\": \"%s\"},"
           " \"coarse_to_fine\": {\"rounds\": 3, \"zoom\": 0.3, \"top_k\": 2},"
           " \"model\": {\"batch_size\": 32, \"hidden\": 8},"
           " \"parameters\": {\"learning_rate\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-5, \"max\": 1},"
           "  \"activation\": {\"values\": [\"relu\", \"tanh\"]}},"
           " \"early_terminate\": {\"type\": \"successive_halving\", \"min_epochs\": 1, \"max_epochs\": 3, \"eta\": 3}}",
           synth_idx_dir("c2f", 800, 200, 16, 4, 1.5, true));
  caviar_spec spec;
  spec_ok(text, &spec);
  caviar_data data;
  caviar_error err;
  cr_assert_eq(caviar_data_load(&spec.data, spec.seed, &data, &err), CAVIAR_OK);
  caviar_backend *be;
  cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
  caviar_sweep sweep = {.spec = &spec, .seed = spec.seed, .trials = -1, .backend = be, .data = &data};
  caviar_sweep_result r;
  cr_assert_eq(caviar_sweep_run(&sweep, &r, &err), CAVIAR_OK, "%s", err.msg);
  cr_assert_eq(r.n_rounds, 3);
  cr_assert_eq(r.n_trials, 18);
  double width = INFINITY;
  for (int round = 0; round < 3; round++) {
    const caviar_param *lr = caviar_space_find(&r.boxes[round], "learning_rate");
    cr_expect_leq(lr->t_hi - lr->t_lo, width + 1e-12, "round %d's box is wider than the last", round);
    width = lr->t_hi - lr->t_lo;
    for (int i = round * 6; i < round * 6 + 6; i++) {
      cr_expect_eq(r.trials[i].trial.round, round);
      double x = r.trials[i].trial.hp.learning_rate;
      cr_expect(x >= lr->min * (1 - 1e-9) && x <= lr->max * (1 + 1e-9), "trial %d (lr %g) outside round %d's box", i, x,
                round);
    }
  }
  caviar_sweep_result_free(&r);
  be->destroy(be);
  caviar_data_free(&data);
  caviar_spec_free(&spec);
}
