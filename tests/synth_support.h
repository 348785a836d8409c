#ifndef CAVIAR_TEST_SYNTH_SUPPORT_H
#define CAVIAR_TEST_SYNTH_SUPPORT_H
/* Synthetic datasets for the trainer tests: in memory, or written as an IDX folder. */

#include <stdbool.h>
#include <stddef.h>

#include "caviar/backend.h"
#include "caviar/data.h"

/* n training and n / 4 test examples of d byte features in `classes` Gaussian clusters, split
 * 80/20 and unit-scaled, as caviar_data_load would leave them. */
void synth_data(caviar_data *data, size_t n, size_t d, int classes, double noise);

/* caviar synth --images data in memory: n side x side images (shift 1, noise 0.5), n / 4 test images,
 * split 80/20 and unit-scaled. */
void synth_image_data(caviar_data *data, size_t n, int side, int classes);

/* synth_data, then a CPU backend with it uploaded (the CPU backend's test fixtures). */
caviar_backend *synth_cpu_backend(caviar_data *data, size_t n, size_t d, int classes);

/* Such data as an IDX folder with Fashion-MNIST's file names (gzipped or not) under the scratch
 * folder; returns its path. */
const char *synth_idx_dir(const char *name, size_t n_train, size_t n_test, size_t d, int classes, double noise,
                          bool gz);

/* caviar synth --images data (side x side one-channel images, shift 1) as a gzipped IDX folder
 * under the scratch folder; returns its path. */
const char *synth_images_dir(const char *name, size_t n_train, size_t n_test, int side, int classes);

#endif
