/* host/model/: what a model is. The layer lists built from shapes, every tensor's role, saved name
 * and dimensions, the arena layout, the activation plan and the FLOPs, each against a count written
 * out here by hand; shapes the data cannot feed; which hyperparameters apply; and a backend that
 * lacks a layer kind refusing a sweep in one line before anything trains. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "caviar/backend.h"
#include "caviar/sampler.h"
#include "caviar/trial_json.h"
#include "caviar/trainer.h"
#include "spec_support.h"
#include "synth_support.h"

static caviar_shape cnn(int blocks, int channels, double growth, int kernel, int pool, int batchnorm, caviar_dims image) {
  caviar_hparams hp;
  caviar_hparams_default(&hp);
  hp.model = CAVIAR_MODEL_CNN;
  hp.conv_blocks = blocks;
  hp.channels = channels;
  hp.channel_growth = growth;
  hp.kernel_size = kernel;
  hp.pool = pool;
  hp.batchnorm = batchnorm;
  hp.layers = 1;
  hp.hidden = 128;
  return caviar_shape_of(&hp, image, 10);
}

Test(model, an_mlp_is_dense_activation_dropout_per_hidden_layer_then_a_dense_output) {
  caviar_hparams hp;
  caviar_hparams_default(&hp);
  hp.layers = 2;
  hp.hidden = 64;
  caviar_shape s = caviar_shape_of(&hp, (caviar_dims){784, 1, 1}, 10);
  caviar_arch a;
  caviar_arch_of(&s, &a);
  const caviar_layer_kind want[] = {CAVIAR_LAYER_DENSE, CAVIAR_LAYER_ACTIVATION, CAVIAR_LAYER_DROPOUT, CAVIAR_LAYER_DENSE,
                                    CAVIAR_LAYER_ACTIVATION, CAVIAR_LAYER_DROPOUT, CAVIAR_LAYER_DENSE};
  cr_assert_eq(a.n_layers, 7);
  for (int i = 0; i < 7; i++) cr_expect_eq(a.layer[i].kind, want[i], "layer %d", i);
  cr_expect(a.layer[0].rowwise, "the first layer reads the minibatch row by row");
  cr_expect_not(a.layer[3].rowwise);
  cr_expect_eq(a.layer[2].mask, 0);
  cr_expect_eq(a.layer[5].mask, 1);
  cr_assert_eq(a.n_tensors, 6);
  const char *names[] = {"layers.0.weight", "layers.0.bias", "layers.1.weight",
                         "layers.1.bias",   "layers.2.weight", "layers.2.bias"};
  for (int t = 0; t < 6; t++) {
    caviar_tensor_info info;
    caviar_tensor_info_of(&a, t, &info);
    cr_expect_str_eq(info.name, names[t]);
    cr_expect_eq(info.role, t % 2 ? CAVIAR_ROLE_BIAS : CAVIAR_ROLE_WEIGHT);
  }
  caviar_layout lay;
  caviar_layout_of(&a, 3, &lay);
  cr_expect_eq(lay.per_member, (size_t)(784 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10));
  for (int t = 0; t < lay.n_tensors; t++) {
    cr_expect_eq(lay.stride[t] % CAVIAR_BLOCK_ALIGN, 0u);
    cr_expect_geq(lay.stride[t], lay.size[t]);
    if (t > 0) cr_expect_eq(lay.offset[t], lay.offset[t - 1] + 3 * lay.stride[t - 1]);
  }
  cr_expect_eq(lay.fan_in[0], 784);
  cr_expect_eq(lay.fan_in[2], 64);
  /* 2 FLOPs per weight forward; training 6 per weight less the first layer's input gradient. */
  double weights = 784.0 * 64 + 64.0 * 64 + 64.0 * 10;
  cr_expect_eq(caviar_arch_forward_flops(&a), 2 * weights);
  cr_expect_eq(caviar_arch_train_flops(&a), 6 * weights - 2 * 784.0 * 64);
  cr_expect_eq(caviar_arch_weights(&a), (size_t)weights);
}

Test(model, a_cnn_is_blocks_of_conv_norm_activation_pool_then_flatten_and_the_head) {
  caviar_shape s = cnn(2, 32, 2, 3, CAVIAR_POOL_CHOICE_MAX, 1, (caviar_dims){1, 28, 28});
  cr_expect_eq(s.channels[0], 32);
  cr_expect_eq(s.channels[1], 64);
  caviar_arch a;
  caviar_arch_of(&s, &a);
  const caviar_layer_kind want[] = {CAVIAR_LAYER_CONV2D,     CAVIAR_LAYER_BATCHNORM, CAVIAR_LAYER_ACTIVATION,
                                    CAVIAR_LAYER_POOL,       CAVIAR_LAYER_CONV2D,    CAVIAR_LAYER_BATCHNORM,
                                    CAVIAR_LAYER_ACTIVATION, CAVIAR_LAYER_POOL,      CAVIAR_LAYER_FLATTEN,
                                    CAVIAR_LAYER_DENSE,      CAVIAR_LAYER_BATCHNORM, CAVIAR_LAYER_ACTIVATION,
                                    CAVIAR_LAYER_DROPOUT,    CAVIAR_LAYER_DENSE};
  cr_assert_eq(a.n_layers, 14);
  for (int i = 0; i < 14; i++) cr_expect_eq(a.layer[i].kind, want[i], "layer %d: %s", i, caviar_layer_kind_name(a.layer[i].kind));
  cr_expect_eq(a.layer[3].out.h, 14);
  cr_expect_eq(a.layer[7].out.h, 7);
  cr_expect_eq(a.layer[8].out.c, 64 * 7 * 7);
  cr_expect(a.layer[9].rowwise, "the head reads the flatten's rows");
  cr_expect_not(a.layer[0].bias, "no convolution bias before batch normalisation");
  /* Tensors: conv.0 w; conv_bn.0 x5; conv.1 w; conv_bn.1 x5; layers.0 w; layers_bn.0 x5; layers.1 w, b. */
  cr_assert_eq(a.n_tensors, 1 + 5 + 1 + 5 + 1 + 5 + 2);
  caviar_tensor_info info;
  caviar_tensor_info_of(&a, 0, &info);
  cr_expect_str_eq(info.name, "conv.0.weight");
  cr_expect_eq(info.n_dims, 4);
  cr_expect(info.dims[0] == 32 && info.dims[1] == 1 && info.dims[2] == 3 && info.dims[3] == 3);
  caviar_tensor_info_of(&a, 6, &info);
  cr_expect_str_eq(info.name, "conv.1.weight");
  cr_expect(info.dims[0] == 64 && info.dims[1] == 32);
  const char *bn[] = {"conv_bn.0.weight", "conv_bn.0.bias", "conv_bn.0.running_mean", "conv_bn.0.running_var",
                      "conv_bn.0.num_batches_tracked"};
  const caviar_tensor_role roles[] = {CAVIAR_ROLE_SCALE, CAVIAR_ROLE_SHIFT, CAVIAR_ROLE_RUNNING_MEAN,
                                      CAVIAR_ROLE_RUNNING_VAR, CAVIAR_ROLE_COUNT};
  for (int k = 0; k < 5; k++) {
    caviar_tensor_info_of(&a, 1 + k, &info);
    cr_expect_str_eq(info.name, bn[k]);
    cr_expect_eq(info.role, roles[k]);
  }
  cr_expect_eq(info.n_dims, 0, "num_batches_tracked is a scalar");
  caviar_tensor_info_of(&a, 16, &info);
  cr_expect_str_eq(info.name, "layers_bn.0.running_var");
  caviar_layout lay;
  caviar_layout_of(&a, 1, &lay);
  cr_expect_eq(lay.fan_in[0], 9);
  cr_expect_eq(lay.fan_in[6], 32 * 9);
  cr_expect_eq(lay.rows[6], 32 * 9);
  cr_expect_eq(lay.cols[6], 64);
  cr_expect_not(caviar_role_trained(lay.role[3]), "running statistics are not stepped");
  cr_expect(caviar_role_trained(lay.role[1]));
  cr_expect_not(caviar_role_decayed(lay.role[1]), "no L2 on batch norm's scale");
  /* Multiply-adds: conv 28*28*32*9, conv 14*14*64*32*9, dense 3136*128, dense 128*10. */
  double macs = 28.0 * 28 * 32 * 9 + 14.0 * 14 * 64 * 32 * 9 + 3136.0 * 128 + 128.0 * 10;
  cr_expect_eq(caviar_arch_forward_flops(&a), 2 * macs);
  cr_expect_eq(caviar_arch_train_flops(&a), 6 * macs - 2 * (28.0 * 28 * 32 * 9));
  cr_expect_eq(caviar_arch_weights(&a), (size_t)(9 * 32 + 32 * 9 * 64 + 3136 * 128 + 128 * 10));
  caviar_act_plan plan;
  caviar_act_plan_of(&a, &plan);
  cr_expect_eq(plan.out[0], (size_t)32 * 28 * 28);
  cr_expect(plan.in_place[2], "the activation works in place");
  cr_expect_eq(plan.scratch, (size_t)32 * 9 * 14 * 14, "the second convolution unfolds the most");
}

Test(model, shapes_group_by_every_structural_value_and_nothing_else) {
  caviar_shape a = cnn(2, 32, 2, 3, CAVIAR_POOL_CHOICE_MAX, 0, (caviar_dims){1, 28, 28});
  caviar_shape b = cnn(2, 32, 2, 3, CAVIAR_POOL_CHOICE_MAX, 0, (caviar_dims){1, 28, 28});
  cr_expect(caviar_shape_equal(&a, &b));
  cr_expect_eq(caviar_shape_hash(&a), caviar_shape_hash(&b));
  caviar_shape c = cnn(2, 32, 1.5, 3, CAVIAR_POOL_CHOICE_MAX, 0, (caviar_dims){1, 28, 28});
  cr_expect_not(caviar_shape_equal(&a, &c), "other widths of the second block");
  caviar_shape d = cnn(2, 32, 2, 5, CAVIAR_POOL_CHOICE_MAX, 0, (caviar_dims){1, 28, 28});
  cr_expect_not(caviar_shape_equal(&a, &d));
  caviar_shape e = cnn(2, 32, 2, 3, CAVIAR_POOL_CHOICE_AVG, 0, (caviar_dims){1, 28, 28});
  cr_expect_not(caviar_shape_equal(&a, &e));
  /* An MLP ignores the CNN's values and the image's arrangement. */
  caviar_hparams hp;
  caviar_hparams_default(&hp);
  caviar_shape m1 = caviar_shape_of(&hp, (caviar_dims){1, 28, 28}, 10);
  hp.conv_blocks = 4;
  hp.kernel_size = 7;
  caviar_shape m2 = caviar_shape_of(&hp, (caviar_dims){784, 1, 1}, 10);
  cr_expect(caviar_shape_equal(&m1, &m2));
  hp.learning_rate = 0.5;
  hp.bn_momentum = 0.5;
  caviar_shape m3 = caviar_shape_of(&hp, (caviar_dims){784, 1, 1}, 10);
  cr_expect(caviar_shape_equal(&m1, &m3), "learning rates and momenta are per member");
}

Test(model, a_cnn_the_data_cannot_feed_is_refused_naming_why) {
  char why[512];
  caviar_shape flat = cnn(2, 8, 2, 3, CAVIAR_POOL_CHOICE_MAX, 0, (caviar_dims){64, 1, 1});
  cr_expect_not(caviar_shape_valid(&flat, why, sizeof why));
  cr_expect(strstr(why, "data.shape") != NULL, "%s", why);
  caviar_shape deep = cnn(4, 8, 1, 3, CAVIAR_POOL_CHOICE_MAX, 0, (caviar_dims){1, 12, 12});
  cr_expect_not(caviar_shape_valid(&deep, why, sizeof why));
  cr_expect(strstr(why, "conv_blocks 4") && strstr(why, "below 1 x 1") && strstr(why, "block 4"), "%s", why);
  caviar_shape unpooled = cnn(4, 8, 1, 3, CAVIAR_POOL_CHOICE_NONE, 0, (caviar_dims){1, 12, 12});
  cr_expect(caviar_shape_valid(&unpooled, why, sizeof why), "%s", why);
  caviar_shape fits = cnn(3, 8, 1, 3, CAVIAR_POOL_CHOICE_MAX, 0, (caviar_dims){1, 12, 12});
  cr_expect(caviar_shape_valid(&fits, why, sizeof why), "12 -> 6 -> 3 -> 1: %s", why);
}

Test(model, only_what_applies_to_the_model_is_part_of_a_config) {
  caviar_hparams hp;
  caviar_hparams_default(&hp);
  const char *cnn_only[] = {"conv_blocks", "channels", "channel_growth", "kernel_size", "pool", "bn_momentum"};
  for (size_t i = 0; i < sizeof cnn_only / sizeof cnn_only[0]; i++)
    cr_expect_not(caviar_hp_active(&hp, caviar_hp_find(cnn_only[i])), "%s in a default (MLP) config", cnn_only[i]);
  /* model and batchnorm mean something in every config; a plain MLP only prints without them. */
  const char *plain_hides[] = {"model", "batchnorm"};
  for (size_t i = 0; i < 2; i++) {
    const caviar_hp_info *info = caviar_hp_find(plain_hides[i]);
    cr_expect(caviar_hp_active(&hp, info), "%s in a default (MLP) config", plain_hides[i]);
    cr_expect_not(caviar_hp_shown(&hp, info), "%s printed for a plain MLP", plain_hides[i]);
  }
  hp.batchnorm = 1;
  caviar_hparams_settle(&hp, 0);
  cr_expect(caviar_hp_shown(&hp, caviar_hp_find("model")), "an MLP with batch norm prints its model");
  hp.batchnorm = 0;
  hp.model = CAVIAR_MODEL_CNN;
  hp.conv_blocks = 1;
  caviar_hparams_settle(&hp, 0);
  cr_expect(caviar_hp_active(&hp, caviar_hp_find("conv_blocks")));
  cr_expect(caviar_hp_active(&hp, caviar_hp_find("model")));
  cr_expect_not(caviar_hp_active(&hp, caviar_hp_find("channel_growth")), "one block has no growth");
  cr_expect_not(caviar_hp_active(&hp, caviar_hp_find("bn_momentum")));
  hp.conv_blocks = 2;
  hp.batchnorm = 1;
  caviar_hparams_settle(&hp, 0);
  cr_expect(caviar_hp_active(&hp, caviar_hp_find("channel_growth")));
  cr_expect(caviar_hp_active(&hp, caviar_hp_find("bn_momentum")));
  /* A condition's verdict stands. */
  unsigned off = 1u << (caviar_hp_find("pool") - caviar_hp_table);
  caviar_hparams_settle(&hp, off);
  cr_expect_not(caviar_hp_active(&hp, caviar_hp_find("pool")));
}

/* A config printed (sample lines, summary.json, saved models) names model and batchnorm of a plain
 * MLP where the spec sweeps them, and only there; a CNN row only where the model is a CNN. */
Test(model, a_plain_mlp_prints_its_model_and_batch_norm_where_the_spec_sweeps_them) {
  const char *specs[] = {
      "{\"method\": \"random\", \"parameters\": {\"model\": {\"values\": [\"mlp\", \"cnn\"]}, "
      "\"batchnorm\": {\"values\": [\"off\", \"on\"]}, \"channels\": {\"values\": [4, 8]}}}",
      "{\"method\": \"random\", \"parameters\": {\"hidden\": {\"values\": [4, 8]}}}"};
  for (int k = 0; k < 2; k++) {
    caviar_spec spec;
    spec_ok(specs[k], &spec);
    int plain = 0;
    for (uint32_t id = 0; id < 40; id++) {
      caviar_hparams hp;
      caviar_sample_random(&spec.space, &spec.fixed, 1, id, &hp);
      char text[2048];
      caviar_hparams_json(&hp, text, sizeof text);
      bool is_plain = hp.model == CAVIAR_MODEL_MLP && hp.batchnorm == 0, cnn = hp.model == CAVIAR_MODEL_CNN;
      plain += is_plain;
      cr_expect_eq(strstr(text, "\"model\": ") != NULL, k == 0 || !is_plain, "spec %d, trial %u: %s", k, id, text);
      cr_expect_eq(strstr(text, "\"batchnorm\": ") != NULL, k == 0 || !is_plain, "spec %d, trial %u: %s", k, id, text);
      cr_expect_eq(strstr(text, "\"channels\": ") != NULL, cnn, "spec %d, trial %u: %s", k, id, text);
    }
    cr_expect_gt(plain, 0, "spec %d draws plain MLPs", k);
    caviar_spec_free(&spec);
  }
}

/* The CPU backend, said to lack pooling: a CNN sweep is refused before anything is trained. */
static bool no_pooling(const caviar_backend *be, const caviar_layer *layer) {
  (void)be;
  return layer->kind != CAVIAR_LAYER_POOL;
}

Test(model, a_backend_without_a_layer_kind_refuses_the_sweep_in_one_line) {
  const char *dir = synth_images_dir("model-refused", 200, 50, 8, 3);
  char text[2048];
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"trials\": 2, \"data\": {\"dir\": \"%s\"}, \"model\": {\"type\": \"cnn\", "
           "\"conv_blocks\": 1, \"channels\": 2, \"hidden\": 4, \"batch_size\": 16, \"epochs\": 1}, \"parameters\": {}}",
           dir);
  caviar_spec spec;
  spec_ok(text, &spec);
  caviar_data data;
  caviar_error err;
  cr_assert_eq(caviar_data_load(&spec.data, spec.seed, &data, &err), CAVIAR_OK, "%s", err.msg);
  caviar_backend *be;
  cr_assert_eq(caviar_backend_cpu(&be, &err), CAVIAR_OK);
  be->supports = no_pooling;
  caviar_sweep sweep = {.spec = &spec, .seed = spec.seed, .trials = -1, .backend = be, .data = &data};
  caviar_sweep_result r;
  cr_expect_eq(caviar_sweep_run(&sweep, &r, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "cannot run pool layers") != NULL, "%s", err.msg);
  cr_expect(strchr(err.msg, '\n') == NULL);
  be->destroy(be);
  caviar_data_free(&data);
  caviar_spec_free(&spec);
}

/* batchnorm is an off/on switch: JSON's true and false say the same, in the model section and in a
 * sweep's values; anything else is refused naming the field. */
Test(model, batchnorm_takes_true_and_false_as_on_and_off) {
  const char *dir = synth_images_dir("model-switch", 200, 50, 8, 3);
  char text[2048];
  const char *forms[][2] = {{"true", "\"on\""}, {"false", "\"off\""}};
  for (int f = 0; f < 2; f++) {
    int got[2];
    for (int k = 0; k < 2; k++) {
      snprintf(text, sizeof text,
               "{\"method\": \"random\", \"trials\": 2, \"data\": {\"dir\": \"%s\"}, \"model\": {\"type\": \"cnn\", "
               "\"conv_blocks\": 1, \"channels\": 2, \"hidden\": 4, \"batchnorm\": %s}, \"parameters\": {}}",
               dir, forms[f][k]);
      caviar_spec spec;
      spec_ok(text, &spec);
      got[k] = spec.fixed.batchnorm;
      caviar_spec_free(&spec);
    }
    cr_expect_eq(got[0], got[1], "batchnorm %s read as %d, %s as %d", forms[f][0], got[0], forms[f][1], got[1]);
    cr_expect_eq(got[0], f == 0 ? 1 : 0);
  }
  snprintf(text, sizeof text,
           "{\"method\": \"grid\", \"data\": {\"dir\": \"%s\"}, \"model\": {\"type\": \"cnn\", \"conv_blocks\": 1, "
           "\"channels\": 2, \"hidden\": 4}, \"parameters\": {\"batchnorm\": {\"values\": [true, false]}}}",
           dir);
  caviar_spec spec;
  spec_ok(text, &spec);
  cr_assert_eq(spec.space.params[0].n_values, 2);
  cr_expect(spec.space.params[0].values[0] == 1 && spec.space.params[0].values[1] == 0, "values %g, %g",
            spec.space.params[0].values[0], spec.space.params[0].values[1]);
  caviar_spec_free(&spec);
  snprintf(text, sizeof text,
           "{\"method\": \"random\", \"data\": {\"dir\": \"%s\"}, \"model\": {\"type\": \"cnn\", \"batchnorm\": 1}}", dir);
  caviar_error err;
  cr_expect_eq(spec_fails(text, &err), CAVIAR_EINPUT);
  cr_expect(strstr(err.msg, "model.batchnorm") && strstr(err.msg, "true or false"), "%s", err.msg);
}
