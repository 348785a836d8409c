/* caviar synth DIR: a small synthetic dataset as IDX files, to try caviar (or check a GPU under
 * compute-sanitizer) without Fashion-MNIST. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "caviar/data.h"
#include "cli.h"

static const char usage[] =
    "usage: caviar synth DIR [--train N] [--test N] [--features D] [--classes C] [--noise X] [--seed S]\n"
    "                        [--csv] [--names] [--regression] [--images [--side S] [--shift K]]\n"
    "\n"
    "Write a synthetic classification problem (Gaussian clusters around per-class centres, features\n"
    "as bytes) into DIR as gzipped IDX files with Fashion-MNIST's names, for a spec's data.dir.\n"
    "Defaults: 5000 training and 1000 test examples, 64 features, 10 classes, noise 1.5, seed 1.\n"
    "\n"
    "      --csv         write DIR/train.csv and DIR/test.csv instead (a header, the label first)\n"
    "      --names       CSV labels as names (class-z, class-y, ...: sorted, they reverse the classes)\n"
    "      --images      an image problem as IDX (n x S x S images): each class a pattern of blobs,\n"
    "                    each example it shifted by up to K pixels each way, plus noise (default\n"
    "                    side 12, shift 2, noise 0.5): the tests' small CNN problem\n"
    "      --regression  a regression problem as CSV (column y): float features x ~ N(0, 1) and\n"
    "                    y = w.x + sin(2 x0) + x1^2 / 2 + noise N(0, 1) (default noise 0.3)\n"
    "  -h, --help        this text\n";

static int parse_count(const char *flag, const char *text, uint64_t lo, uint64_t hi, uint64_t *out) {
  if (!caviar_parse_u64(text, hi, out) || *out < lo)
    return caviar_usage_error("synth", "%s expects a whole number from %llu to %llu, got '%s'", flag,
                              (unsigned long long)lo, (unsigned long long)hi, text);
  return 0;
}

/* class-z, class-y, ...: names whose sorted order is the reverse of the class indices. */
static caviar_status name_classes(caviar_dataset *ds, int classes, caviar_error *err) {
  ds->names = caviar_alloc((size_t)classes, sizeof *ds->names, "class names", err);
  if (!ds->names) return CAVIAR_ERUNTIME;
  for (int k = 0; k < classes; k++, ds->n_names++) {
    char name[32];
    snprintf(name, sizeof name, "class-%c%d", 'z' - k / 10, 9 - k % 10);
    if (!(ds->names[k] = caviar_strdup(name, err))) return CAVIAR_ERUNTIME;
  }
  return CAVIAR_OK;
}

static caviar_status write_csv(const char *dir, uint64_t train, uint64_t test, uint64_t features, uint64_t classes,
                               double noise, uint64_t seed, bool names, bool regression, caviar_error *err) {
  caviar_status st = CAVIAR_OK;
  const char *files[2] = {"train.csv", "test.csv"};
  for (int s = 0; s < 2 && st == CAVIAR_OK; s++) {
    size_t n = s ? test : train, first = s ? train : 0;
    caviar_dataset ds;
    st = regression ? caviar_synth_regression(n, features, noise, seed, first, &ds, err)
                    : caviar_synth(n, features, (int)classes, noise, seed, first, false, &ds, err);
    if (st == CAVIAR_OK && names) st = name_classes(&ds, (int)classes, err);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, files[s]);
    if (st == CAVIAR_OK) st = caviar_csv_write(&ds, path, err);
    caviar_dataset_free(&ds);
  }
  if (st == CAVIAR_OK)
    fprintf(stderr, "caviar: wrote %llu training and %llu test examples (%llu features, %s) to %s/train.csv and test.csv\n",
            (unsigned long long)train, (unsigned long long)test, (unsigned long long)features,
            regression ? "a regression target" : "classes", dir);
  return st;
}

int caviar_cmd_synth(int argc, char **argv) {
  static const struct option options[] = {
      {"train", required_argument, NULL, 'r'}, {"test", required_argument, NULL, 't'},
      {"features", required_argument, NULL, 'd'}, {"classes", required_argument, NULL, 'c'},
      {"noise", required_argument, NULL, 'x'}, {"seed", required_argument, NULL, 's'},
      {"csv", no_argument, NULL, 'C'}, {"names", no_argument, NULL, 'N'},
      {"regression", no_argument, NULL, 'R'}, {"help", no_argument, NULL, 'h'},
      {"images", no_argument, NULL, 'I'}, {"side", required_argument, NULL, 'S'},
      {"shift", required_argument, NULL, 'K'}, {NULL, 0, NULL, 0}};
  uint64_t side = 12, shift = 2;
  bool images = false;
  uint64_t train = 5000, test = 1000, features = 64, classes = 10, seed = 1;
  double noise = -1;
  bool csv = false, named = false, regression = false;
  int c, rc = 0;
  opterr = 0;
  while (rc == 0 && (c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
    char *end;
    switch (c) {
      case 'r': rc = parse_count("--train", optarg, 2, 1u << 24, &train); break;
      case 't': rc = parse_count("--test", optarg, 1, 1u << 24, &test); break;
      case 'd': rc = parse_count("--features", optarg, 1, 1u << 16, &features); break;
      case 'c': rc = parse_count("--classes", optarg, 2, 255, &classes); break;
      case 's': rc = parse_count("--seed", optarg, 0, (uint64_t)CAVIAR_MAX_SEED, &seed); break;
      case 'x':
        noise = strtod(optarg, &end);
        if (*end || !(noise >= 0 && noise <= 100))
          rc = caviar_usage_error("synth", "--noise expects a number from 0 to 100, got '%s'", optarg);
        break;
      case 'C': csv = true; break;
      case 'N': named = csv = true; break;
      case 'R': regression = csv = true; break;
      case 'I': images = true; break;
      case 'S': rc = parse_count("--side", optarg, 2, 1024, &side); break;
      case 'K': rc = parse_count("--shift", optarg, 0, 511, &shift); break;
      case 'h': fputs(usage, stdout); return 0;
      default: return caviar_option_error("synth", "h", optopt, argv[optind - 1]);
    }
  }
  if (rc) return rc;
  if (argc - optind != 1) return caviar_usage_error("synth", "expected one DIR, got %d", argc - optind);
  const char *dir = argv[optind];
  caviar_error err;
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    return caviar_report(caviar_fail(&err, CAVIAR_EINPUT, "%s: cannot create: %s", dir, strerror(errno)), &err);
  if (images && csv) return caviar_usage_error("synth", "--images writes IDX files; it does not go with --csv");
  if (noise < 0) noise = regression ? 0.3 : images ? 0.5 : 1.5;
  if (csv) return caviar_report(write_csv(dir, train, test, features, classes, noise, seed, named, regression, &err), &err);
  caviar_dataset sets[2];
  const char *names[2][2] = {{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"},
                             {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}};
  caviar_status st = CAVIAR_OK;
  for (int s = 0; s < 2 && st == CAVIAR_OK; s++) {
    size_t n = s ? test : train, first = s ? train : 0;
    st = images ? caviar_synth_images(n, (int)side, (int)shift, (int)classes, noise, seed, first, &sets[s], &err)
                : caviar_synth(n, features, (int)classes, noise, seed, first, true, &sets[s], &err);
    if (st != CAVIAR_OK) break;
    char images[4096], labels[4096];
    snprintf(images, sizeof images, "%s/%s", dir, names[s][0]);
    snprintf(labels, sizeof labels, "%s/%s", dir, names[s][1]);
    st = caviar_idx_write(&sets[s], images, labels, true, &err);
    caviar_dataset_free(&sets[s]);
  }
  if (st == CAVIAR_OK && images)
    fprintf(stderr, "caviar: wrote %llu training and %llu test images (1 x %llu x %llu, %llu classes) to %s\n",
            (unsigned long long)train, (unsigned long long)test, (unsigned long long)side, (unsigned long long)side,
            (unsigned long long)classes, dir);
  else if (st == CAVIAR_OK)
    fprintf(stderr, "caviar: wrote %llu training and %llu test examples (%llu features, %llu classes) to %s\n",
            (unsigned long long)train, (unsigned long long)test, (unsigned long long)features,
            (unsigned long long)classes, dir);
  return caviar_report(st, &err);
}
