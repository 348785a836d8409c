/* caviar bench: epochs of a population, their speed, and the machine's ceiling in the same run. */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caviar/cpu_ceiling.h"
#include "caviar/trainer.h"
#include "cli.h"
#ifdef CAVIAR_HAVE_CUDA
#include "caviar/cuda_device.h"
#endif

static const char usage[] =
    "usage: caviar bench [--device cpu|cuda] [--tf32] [--eager] [--chunks K,...] [--models N,...] [--hidden H]\n"
    "                    [--layers L] [--batch B] [--json] [--data DIR] [--threads N]\n"
    "                    [--model mlp|cnn] [--conv-blocks K] [--channels C] [--growth G] [--kernel K]\n"
    "                    [--pool max|avg|none] [--batchnorm]\n"
    "\n"
    "Train N MLPs (inputs-H-...-10, Adam, learning rates log-spaced in [1e-4, 1e-2]) or CNNs\n"
    "(--model cnn: K blocks of convolution, [batch norm], ReLU, 2x2 pooling, then the dense head) on\n"
    "Fashion-MNIST's training split (synthetic data of the same shape if it is not installed), epoch\n"
    "after epoch until 2 s have been timed (at most 20 epochs), and print the fastest epoch's time\n"
    "and the slowest's (a short epoch on a shared machine is easily disturbed), model-samples/s,\n"
    "the achieved GFLOP/s, and the machine's ceilings measured in the same run, so every figure\n"
    "comes with its ratio to the limit: on the CPU, OpenBLAS SGEMM on every core; on the GPU,\n"
    "cuBLAS SGEMM and the copy bandwidth, with the epoch's memory floor (the\n"
    "optimizer's bytes per parameter per step over the measured bandwidth) and its compute floor\n"
    "(the step's FLOPs at the measured SGEMM rate). A step cannot beat the larger of the two, and\n"
    "without overlap between the GEMMs and the optimizer pass not their sum.\n"
    "FLOPs counted per sample: 2 per weight forward, 2 for the weight gradient, 2 for the input\n"
    "gradient except in the first layer.\n"
    "\n"
    "  --device D   cpu (default) or cuda       --models N   members (default 32); a list (16,64,256)\n"
    "                                                        times each in one run, one row each\n"
    "  --tf32       GPU GEMMs on TF32 tensor cores\n"
    "  --eager      GPU: launch every kernel directly, no captured step graphs\n"
    "  --chunks K   GPU: split each step's members into K chunks whose optimizer passes overlap the\n"
    "               next chunks' GEMMs (1: none; default: the backend's); a list times each\n"
    "  --hidden H   units per layer (128)       --layers L   hidden layers (1)\n"
    "  --batch B    minibatch size (128)        --json       one JSON object a row instead of text\n"
    "  --data DIR   the IDX folder to read (default /usr/share/datasets/fashion-mnist)\n"
    "  --threads N  CPU threads to train on (default: every core, or $OMP_NUM_THREADS)\n"
    "  --model M    mlp (default) or cnn        --conv-blocks K  convolution blocks (2)\n"
    "  --channels C the first block's channels (32)   --growth G  each block's channels over the last (2)\n"
    "  --kernel K   convolution kernel, odd (3) --pool P     max (default), avg or none\n"
    "  --batchnorm  batch normalisation after every convolution and hidden layer\n"
    "  -h, --help   this text\n";

enum { BENCH_MAX_LIST = 16 };

typedef struct bench_args {
  const char *device, *data_dir;
  int models[BENCH_MAX_LIST], n_models;
  int chunks[BENCH_MAX_LIST], n_chunks;
  caviar_hparams hp; /* the members' shape (hidden, layers, batch_size, model, conv_blocks, ...) */
  bool json, tf32, eager;
} bench_args;

/* A choice flag's value by the hyperparameter table's names. */
static int parse_choice(const char *flag, const char *name, const char *text, int *out) {
  const caviar_hp_info *info = caviar_hp_find(name);
  int index = caviar_hp_choice_index(info, text);
  if (index < 0) {
    char range[256];
    caviar_hp_range_text(info, range, sizeof range);
    return caviar_usage_error("bench", "%s expects %s, got '%s'", flag, range, text);
  }
  *out = index;
  return 0;
}

static int parse_int(const char *flag, const char *text, int lo, int hi, int *out) {
  uint64_t v;
  if (!caviar_parse_u64(text, (uint64_t)hi, &v) || (int)v < lo)
    return caviar_usage_error("bench", "%s expects a whole number from %d to %d, got '%s'", flag, lo, hi, text);
  *out = (int)v;
  return 0;
}

/* A comma-separated list of whole numbers in [lo, hi], at most BENCH_MAX_LIST of them. */
static int parse_list(const char *flag, const char *text, int lo, int hi, int *out, int *n) {
  char buf[256];
  if (strlen(text) >= sizeof buf)
    return caviar_usage_error("bench", "%s expects at most %d comma-separated numbers", flag, BENCH_MAX_LIST);
  strcpy(buf, text);
  *n = 0;
  char *save = NULL;
  for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    if (*n == BENCH_MAX_LIST)
      return caviar_usage_error("bench", "%s expects at most %d comma-separated numbers", flag, BENCH_MAX_LIST);
    int rc = parse_int(flag, item, lo, hi, &out[*n]);
    if (rc) return rc;
    (*n)++;
  }
  if (*n == 0 || text[strlen(text) - 1] == ',' || text[0] == ',' || strstr(text, ",,"))
    return caviar_usage_error("bench", "%s expects whole numbers separated by commas, got '%s'", flag, text);
  return 0;
}

static int parse_args(int argc, char **argv, bench_args *a) {
  static const struct option options[] = {
      {"device", required_argument, NULL, 'd'}, {"models", required_argument, NULL, 'm'},
      {"hidden", required_argument, NULL, 'H'}, {"layers", required_argument, NULL, 'l'},
      {"batch", required_argument, NULL, 'b'},  {"json", no_argument, NULL, 'j'},
      {"tf32", no_argument, NULL, 't'},         {"data", required_argument, NULL, 'D'},
      {"eager", no_argument, NULL, 'e'},       {"chunks", required_argument, NULL, 'k'},
      {"threads", required_argument, NULL, 'T'}, {"help", no_argument, NULL, 'h'},
      {"model", required_argument, NULL, 'M'}, {"conv-blocks", required_argument, NULL, 'B'},
      {"channels", required_argument, NULL, 'C'}, {"growth", required_argument, NULL, 'G'},
      {"kernel", required_argument, NULL, 'K'}, {"pool", required_argument, NULL, 'P'},
      {"batchnorm", no_argument, NULL, 'N'}, {NULL, 0, NULL, 0}};
  *a = (bench_args){.device = "cpu", .data_dir = CAVIAR_DEFAULT_DATA_DIR, .models = {32}, .n_models = 1,
                    .chunks = {0}, .n_chunks = 1};
  caviar_hparams_default(&a->hp);
  a->hp.hidden = 128;
  a->hp.layers = 1;
  a->hp.batch_size = 128;
  int c, rc = 0;
  opterr = 0;
  while (rc == 0 && (c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
    switch (c) {
      case 'd': a->device = optarg; break;
      case 'm': rc = parse_list("--models", optarg, 1, 1 << 20, a->models, &a->n_models); break;
      case 'H': rc = parse_int("--hidden", optarg, 1, 65536, &a->hp.hidden); break;
      case 'l': rc = parse_int("--layers", optarg, 1, CAVIAR_MAX_LAYERS, &a->hp.layers); break;
      case 'b': rc = parse_int("--batch", optarg, 1, 65536, &a->hp.batch_size); break;
      case 'M': rc = parse_choice("--model", "model", optarg, &a->hp.model); break;
      case 'B': rc = parse_int("--conv-blocks", optarg, 1, CAVIAR_MAX_CONV_BLOCKS, &a->hp.conv_blocks); break;
      case 'C': rc = parse_int("--channels", optarg, 1, 1024, &a->hp.channels); break;
      case 'G': {
        char *end;
        a->hp.channel_growth = strtod(optarg, &end);
        if (end == optarg || *end || !(a->hp.channel_growth >= 1 && a->hp.channel_growth <= 4))
          rc = caviar_usage_error("bench", "--growth expects a number from 1 to 4, got '%s'", optarg);
        break;
      }
      case 'K':
        rc = parse_int("--kernel", optarg, 1, 7, &a->hp.kernel_size);
        if (rc == 0 && a->hp.kernel_size % 2 == 0)
          rc = caviar_usage_error("bench", "--kernel expects an odd size from 1 to 7, got '%s'", optarg);
        break;
      case 'P': rc = parse_choice("--pool", "pool", optarg, &a->hp.pool); break;
      case 'N': a->hp.batchnorm = 1; break;
      case 'j': a->json = true; break;
      case 't': a->tf32 = true; break;
      case 'e': a->eager = true; break;
      case 'k': rc = parse_list("--chunks", optarg, 1, CAVIAR_CUDA_MAX_CHUNKS, a->chunks, &a->n_chunks); break;
      case 'D': a->data_dir = optarg; break;
      case 'T': rc = caviar_threads_option("bench", optarg); break;
      case 'h': fputs(usage, stdout); return -1;
      default: return caviar_option_error("bench", "h", optopt, argv[optind - 1]);
    }
  }
  if (rc == 0 && optind < argc) return caviar_usage_error("bench", "unexpected argument '%s'", argv[optind]);
  return rc;
}

/* The IDX folder's data (Fashion-MNIST by default) if it is there, else synthetic data of
 * Fashion-MNIST's shape; says which in *source. */
static caviar_status bench_data(const char *dir, caviar_data *data, const char **source, caviar_error *err) {
  caviar_data_spec spec = {.format = CAVIAR_DATA_IDX, .dir = (char *)dir, .validation = 0.1,
                           .scaling = CAVIAR_SCALING_UNIT};
  char probe[4200];
  snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte.gz", dir);
  /* Only the default folder may be missing (synthetic data then): a folder named on the command
   * line is read or fails with the reader's error. */
  if (access(probe, R_OK) == 0 || strcmp(dir, CAVIAR_DEFAULT_DATA_DIR) != 0) {
    *source = strcmp(dir, CAVIAR_DEFAULT_DATA_DIR) == 0 ? "Fashion-MNIST training split" : dir;
    return caviar_data_load(&spec, 1, data, err);
  }
  *source = "synthetic data shaped like Fashion-MNIST (not installed)";
  memset(data, 0, sizeof *data);
  caviar_status st = caviar_synth(60000, 784, 10, 1.0, 1, 0, true, &data->train, err);
  if (st == CAVIAR_OK) st = caviar_synth(100, 784, 10, 1.0, 1, 60000, true, &data->test, err);
  if (st == CAVIAR_OK) st = caviar_split_make(data->train.n, 0.1, 1, &data->split, err);
  if (st == CAVIAR_OK) st = caviar_scaling_fit(&data->train, data->split.train, data->split.n_train, CAVIAR_SCALING_UNIT,
                                               &data->scaling, err);
  data->classes = 10;
  return st;
}

static caviar_shape bench_shape(const bench_args *a, const caviar_data *data) {
  return caviar_shape_of(&a->hp, caviar_data_dims(data), data->classes);
}

/* The epochs timed for one row: a population trained epoch after epoch until BENCH_TIMED_SECONDS
 * have gone by (at most BENCH_MAX_EPOCHS): the fastest is the row's speed, the slowest says how
 * much the machine disturbed it. */
#define BENCH_TIMED_SECONDS 2.0
#define BENCH_MAX_EPOCHS 20
typedef struct epoch_times {
  double fastest, slowest;
  int epochs;
} epoch_times;

static caviar_status time_epochs(caviar_backend *be, const bench_args *a, int models, const caviar_data *data,
                                 epoch_times *times, caviar_error *err) {
  caviar_shape shape = bench_shape(a, data);
  caviar_cohort cohort;
  caviar_status st = caviar_cohort_init(&cohort, &shape, models, 1, err);
  if (st != CAVIAR_OK) return st;
  for (int m = 0; m < models; m++) {
    caviar_trial trial = {.id = (uint32_t)m, .hp = a->hp};
    trial.hp.learning_rate = pow(10.0, -4.0 + 2.0 * m / (models > 1 ? models - 1 : 1));
    caviar_cohort_add(&cohort, &trial);
  }
  float *loss = calloc((size_t)models, sizeof *loss);
  uint8_t *diverged = calloc((size_t)models, 1);
  caviar_epoch_stats stats = {loss, diverged, NULL};
  st = loss && diverged ? be->upload(be, data, err) : caviar_fail(err, CAVIAR_ERUNTIME, "out of memory");
  if (st == CAVIAR_OK) st = caviar_cohort_alloc(be, &cohort, err);
  if (st == CAVIAR_OK) {
    st = caviar_cohort_init_members(be, &cohort, 0, cohort.n, err);
    /* Eight warm-up steps first: the GPU captures its step graph and loads its kernels, OpenBLAS
     * sets up its buffers; none of that is training speed. */
    size_t batch = (size_t)a->hp.batch_size;
    size_t warm = batch * 8 < data->split.n_train ? batch * 8 : data->split.n_train;
    if (st == CAVIAR_OK) st = caviar_cohort_train(be, &cohort, data->split.train, warm, &stats, err);
    double timed = 0;
    *times = (epoch_times){0};
    while (st == CAVIAR_OK && timed < BENCH_TIMED_SECONDS && times->epochs < BENCH_MAX_EPOCHS) {
      double start = caviar_now();
      st = caviar_cohort_train(be, &cohort, data->split.train, data->split.n_train, &stats, err);
      double elapsed = caviar_now() - start;
      timed += elapsed;
      if (!times->epochs || elapsed < times->fastest) times->fastest = elapsed;
      if (!times->epochs || elapsed > times->slowest) times->slowest = elapsed;
      times->epochs++;
    }
    caviar_cohort_release(be, &cohort);
  }
  free(loss);
  free(diverged);
  caviar_cohort_free(&cohort);
  return st;
}

/* The machine's limits, measured now: SGEMM GFLOP/s, and on the GPU the copy bandwidth (GB/s). */
static caviar_status measure_ceilings(bool gpu, bool tf32, double *sgemm, double *copy, caviar_error *err) {
  *copy = 0;
#ifdef CAVIAR_HAVE_CUDA
  if (gpu) return caviar_cuda_ceilings(tf32, copy, sgemm, err);
#else
  (void)tf32;
  (void)err;
#endif
  (void)gpu;
  *sgemm = caviar_cpu_sgemm_gflops(5);
  return CAVIAR_OK;
}

/* Bytes the optimizer moves per parameter per step: Adam reads w, g, m, v and writes w, m, v. */
#define ADAM_BYTES_PER_PARAM 28.0

/* One row: a population size timed under one chunking, judged against the same run's ceilings. */
static void print_row(const bench_args *a, const char *device, bool gpu, const caviar_data *data, const char *source,
                      int models, int chunks, const epoch_times *times, double sgemm, double copy) {
  double elapsed = times->fastest;
  caviar_shape shape = bench_shape(a, data);
  caviar_layout layout;
  caviar_layout_make(&shape, 1, &layout);
  int batch = a->hp.batch_size;
  size_t steps = data->split.n_train / (size_t)batch;
  double samples = (double)models * (double)(steps * (size_t)batch);
  double rate = samples / elapsed, gflops = rate * caviar_shape_train_flops(&shape) / 1e9;
  double floor_s = copy > 0 ? ADAM_BYTES_PER_PARAM * (double)layout.per_member * models * steps / (copy * 1e9) : 0;
  /* The GEMMs' floor: the epoch's FLOPs at the SGEMM rate just measured. */
  double gemm_s = samples * caviar_shape_train_flops(&shape) / (sgemm * 1e9);
  double serial_s = floor_s + gemm_s, bound_s = floor_s > gemm_s ? floor_s : gemm_s;
  if (a->json) {
    printf("{\"device\": \"%s\", \"model\": \"%s\", \"conv_blocks\": %d, \"channels\": [%d, %d, %d, %d], \"kernel\": %d, "
           "\"pool\": \"%s\", \"batchnorm\": %s, \"models\": %d, \"inputs\": %d, \"hidden\": %d, \"layers\": %d, \"classes\": %d, "
           "\"batch\": %d, \"examples\": %zu, \"steps\": %zu, \"data\": \"%s\", \"threads\": %d, \"eager\": %s, \"chunks\": %d, "
           "\"epoch_seconds\": %.9g, \"epochs_timed\": %d, \"slowest_epoch_seconds\": %.9g, \"model_samples_per_second\": %.1f, \"gflops\": %.2f, "
           "\"ceiling_gflops\": %.2f, \"ratio\": %.4f, \"copy_gbs\": %.1f, \"memory_floor_seconds\": %.4f, "
           "\"floor_fraction\": %.4f, \"gemm_floor_seconds\": %.4f, \"serial_floor_seconds\": %.4f, "
           "\"serial_fraction\": %.4f, \"bound_seconds\": %.4f}\n",
           device, shape.type == CAVIAR_MODEL_CNN ? "cnn" : "mlp", shape.conv_blocks, shape.channels[0], shape.channels[1],
           shape.channels[2], shape.channels[3], shape.kernel, caviar_pool_choice_name(shape.pool),
           shape.batchnorm ? "true" : "false", models, shape.inputs, shape.hidden, shape.layers, shape.classes, batch,
           data->split.n_train, steps,
           source, gpu ? 0 : omp_get_max_threads(), a->eager ? "true" : "false", chunks, elapsed, times->epochs, times->slowest, rate, gflops, sgemm, gflops / sgemm, copy, floor_s,
           floor_s > 0 ? floor_s / elapsed : 0, gemm_s, serial_s, gpu ? serial_s / elapsed : 0, bound_s);
    return;
  }
  char what[256] = "";
  if (shape.type == CAVIAR_MODEL_CNN) {
    int used = snprintf(what, sizeof what, "CNN %dx%dx%d, %d blocks of ", shape.image.c, shape.image.h, shape.image.w,
                        shape.conv_blocks);
    for (int k = 0; k < shape.conv_blocks; k++)
      used += snprintf(what + used, sizeof what - (size_t)used, "%s%d", k ? "/" : "", shape.channels[k]);
    snprintf(what + used, sizeof what - (size_t)used, " channels, %dx%d kernels, %s pooling, head %d-%d%s-%d%s",
             shape.kernel, shape.kernel, caviar_pool_choice_name(shape.pool), shape.hidden, shape.hidden,
             shape.layers > 1 ? "-..." : "", shape.classes, shape.batchnorm ? ", batch norm" : "");
  } else {
    snprintf(what, sizeof what, "MLP %d-%d%s-%d%s", shape.inputs, shape.hidden, shape.layers > 1 ? "-..." : "",
             shape.classes, shape.batchnorm ? ", batch norm" : "");
  }
  printf("workload: %d members x %s, batch %d, Adam, epochs of %zu examples (%s)\n", models, what, batch,
         data->split.n_train, source);
  printf("device:   %s\n", device);
  printf("epoch:    %.3f s, %.1fk model-samples/s (the fastest of %d epochs; the slowest %.3f s)\n", elapsed, rate / 1e3,
         times->epochs, times->slowest);
  printf("achieved: %.1f GFLOP/s (%.0f FLOP per model-sample)\n", gflops, caviar_shape_train_flops(&shape));
  printf("ceiling:  %.1f GFLOP/s %s SGEMM (same run); ratio %.2f\n", sgemm,
         gpu ? (a->tf32 ? "cuBLAS TF32" : "cuBLAS FP32") : "OpenBLAS, every thread running its own 1024^3",
         gflops / sgemm);
  if (gpu) {
    printf("memory:   floor %.3f s = %.0f B/parameter/step x %zu parameters x %d members x %zu steps at %.0f GB/s "
           "copy bandwidth (same run); achieved %.2f of the floor\n",
           floor_s, ADAM_BYTES_PER_PARAM, layout.per_member, models, steps, copy, floor_s / elapsed);
    printf("compute:  floor %.3f s = the epoch's %.1f TFLOP at the SGEMM rate; with no overlap of GEMMs and the "
           "optimizer pass the epoch cannot beat %.3f s (achieved %.2f of that)\n",
           gemm_s, samples * caviar_shape_train_flops(&shape) / 1e12, serial_s, serial_s / elapsed);
  }
}

int caviar_cmd_bench(int argc, char **argv) {
  bench_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc < 0 ? 0 : rc;
  caviar_error err;
  const char *device = "", *source = "";
  /* Every chunking's backend is opened up front, so a bad option fails before any work. */
  caviar_backend *backends[BENCH_MAX_LIST] = {0};
  caviar_status st = CAVIAR_OK;
  for (int k = 0; st == CAVIAR_OK && k < a.n_chunks; k++) {
    caviar_backend_options options = {.tf32 = a.tf32, .eager = a.eager, .chunks = a.chunks[k]};
    st = caviar_open_backend_with(a.device, &options, &backends[k], &device, &err);
  }
  bool gpu = st == CAVIAR_OK && backends[0]->kind == CAVIAR_BACKEND_CUDA;
  caviar_data data = {0};
  if (st == CAVIAR_OK) st = bench_data(a.data_dir, &data, &source, &err);
  double sgemm = 0, copy = 0;
  epoch_times times[BENCH_MAX_LIST][BENCH_MAX_LIST] = {{{0}}};
  if (st == CAVIAR_OK) st = measure_ceilings(gpu, a.tf32, &sgemm, &copy, &err);
  for (int k = 0; st == CAVIAR_OK && k < a.n_chunks; k++)
    for (int i = 0; st == CAVIAR_OK && i < a.n_models; i++)
      st = time_epochs(backends[k], &a, a.models[i], &data, &times[k][i], &err);
  if (st == CAVIAR_OK) {
    /* The ceiling before and after the epochs, the better of the two: a shared machine's noise
     * should not flatter the ratio. */
    double sgemm_after, copy_after;
    st = measure_ceilings(gpu, a.tf32, &sgemm_after, &copy_after, &err);
    if (sgemm_after > sgemm) sgemm = sgemm_after;
    if (copy_after > copy) copy = copy_after;
  }
  for (int k = 0; st == CAVIAR_OK && k < a.n_chunks; k++)
    for (int i = 0; i < a.n_models; i++)
      print_row(&a, gpu ? backends[k]->name : device, gpu, &data, source, a.models[i], a.chunks[k],
                &times[k][i], sgemm, copy);
  caviar_data_free(&data);
  for (int k = 0; k < a.n_chunks; k++)
    if (backends[k]) backends[k]->destroy(backends[k]);
  return caviar_report(st, &err);
}
