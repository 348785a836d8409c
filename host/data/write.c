/* Writers for IDX and CSV datasets, used by the tests' round trips and `caviar synth`. */
#include <stdlib.h>
#include <string.h>

#include "caviar/atomic_file.h"
#include "caviar/data.h"
#include "caviar/gzfile.h"

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static caviar_status write_bytes(const char *path, const unsigned char *bytes, size_t len, bool gzip,
                                 caviar_error *err) {
  unsigned char *packed = NULL;
  if (gzip) {
    caviar_status st = caviar_gzip(bytes, len, &packed, &len, err);
    if (st != CAVIAR_OK) return st;
    bytes = packed;
  }
  caviar_atomic_file af;
  caviar_status st = caviar_atomic_open(&af, path, err);
  if (st == CAVIAR_OK) {
    fwrite(bytes, 1, len, af.f);
    st = caviar_atomic_commit(&af, err);
  }
  free(packed);
  return st;
}

caviar_status caviar_idx_write(const caviar_dataset *ds, const char *images_path, const char *labels_path,
                               bool gzip, caviar_error *err) {
  if (!ds->x_u8) return caviar_fail(err, CAVIAR_EINPUT, "%s: IDX holds unsigned bytes; this dataset has floats", images_path);
  if (ds->n > UINT32_MAX || ds->d > UINT32_MAX)
    return caviar_fail(err, CAVIAR_EINPUT, "%s: too many examples or features for IDX", images_path);
  /* Images keep their shape: n x H x W (one channel) or n x C x H x W; features are n x d. */
  int shape[3];
  caviar_dataset_image(ds, shape);
  int dims = shape[1] * shape[2] == 1 ? 2 : shape[0] == 1 ? 3 : 4;
  size_t header = 4 + 4 * (size_t)dims;
  size_t image_bytes = header + ds->n * ds->d, label_bytes = 8 + ds->n;
  unsigned char *images = caviar_alloc(image_bytes, 1, "an IDX image file", err);
  unsigned char *labels = caviar_alloc(label_bytes, 1, "an IDX label file", err);
  caviar_status st = images && labels ? CAVIAR_OK : CAVIAR_ERUNTIME;
  for (size_t i = 0; st == CAVIAR_OK && i < ds->n; i++) {
    if (ds->labels[i] < 0 || ds->labels[i] > 255)
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: label %d of example %zu does not fit a byte", labels_path,
                       ds->labels[i], i);
    else
      labels[8 + i] = (unsigned char)ds->labels[i];
  }
  if (st == CAVIAR_OK) {
    put_u32(images, 0x00000800u | (uint32_t)dims);
    put_u32(images + 4, (uint32_t)ds->n);
    if (dims == 2) put_u32(images + 8, (uint32_t)ds->d);
    for (int k = 0; dims > 2 && k < dims - 1; k++) put_u32(images + 8 + 4 * k, (uint32_t)shape[k + 4 - dims]);
    memcpy(images + header, ds->x_u8, ds->n * ds->d);
    put_u32(labels, 0x00000801);
    put_u32(labels + 4, (uint32_t)ds->n);
    st = write_bytes(images_path, images, image_bytes, gzip, err);
  }
  if (st == CAVIAR_OK) st = write_bytes(labels_path, labels, label_bytes, gzip, err);
  free(images);
  free(labels);
  return st;
}

caviar_status caviar_csv_write(const caviar_dataset *ds, const char *path, caviar_error *err) {
  caviar_atomic_file af;
  caviar_status st = caviar_atomic_open(&af, path, err);
  if (st != CAVIAR_OK) return st;
  fputs(ds->targets ? "y" : "label", af.f);
  for (size_t j = 0; j < ds->d; j++) fprintf(af.f, ",x%zu", j);
  fputc('\n', af.f);
  for (size_t i = 0; i < ds->n; i++) {
    if (ds->targets) fprintf(af.f, "%.9g", (double)ds->targets[i]);
    else if (ds->names) fputs(ds->names[ds->labels[i]], af.f);
    else fprintf(af.f, "%d", ds->labels[i]);
    for (size_t j = 0; j < ds->d; j++) {
      if (ds->x_u8)
        fprintf(af.f, ",%u", (unsigned)ds->x_u8[i * ds->d + j]);
      else
        fprintf(af.f, ",%.9g", (double)ds->x_f32[i * ds->d + j]);
    }
    fputc('\n', af.f);
  }
  return caviar_atomic_commit(&af, err);
}
