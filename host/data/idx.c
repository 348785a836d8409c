/* IDX files (the MNIST / Fashion-MNIST format): a 4-byte magic number 0x0000TTNN (T: element
 * type, N: dimensions), N big-endian 32-bit sizes, then the elements. */
#include <stdlib.h>
#include <string.h>

#include "caviar/data.h"
#include "caviar/gzfile.h"

#define IDX_UNSIGNED_BYTE 0x08

typedef struct idx_file {
  unsigned char *bytes;
  size_t len;
  size_t count;    /* first dimension */
  size_t per_item; /* product of the others */
  size_t dims[4];  /* the sizes, dims[0] = count */
  int n_dims;
  const unsigned char *data;
} idx_file;

static uint32_t big_endian_u32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

#define IDX_MAX_ELEMENTS ((size_t)1 << 40)

/* Reads path's header, checks it against what the caller expects (min_dims..max_dims dimensions
 * of unsigned bytes, described for messages by expected), then reads exactly the data it promises:
 * never more (a gzip bomb stops there), and anything after it is an error. */
static caviar_status idx_open(const char *path, int min_dims, int max_dims, const char *expected, idx_file *out,
                              caviar_error *err) {
  memset(out, 0, sizeof *out);
  caviar_in in;
  caviar_status st = caviar_in_open(&in, path, err);
  if (st != CAVIAR_OK) return st;
  unsigned char b[4 + 4 * 255];
  size_t got = 0;
  st = caviar_in_read(&in, b, 4, &got, err);
  if (st == CAVIAR_OK && got < 4) {
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: truncated: %zu bytes, too short for an IDX header", path, got);
  } else if (st == CAVIAR_OK &&
             (b[0] != 0 || b[1] != 0 || b[2] != IDX_UNSIGNED_BYTE || b[3] < min_dims || b[3] > max_dims)) {
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: bad magic number 0x%02x%02x%02x%02x (expected %s)", path, b[0],
                     b[1], b[2], b[3], expected);
  }
  size_t dims = st == CAVIAR_OK ? b[3] : 0;
  size_t header = 4 + 4 * dims;
  if (st == CAVIAR_OK) st = caviar_in_read(&in, b + 4, header - 4, &got, err);
  if (st == CAVIAR_OK && got < header - 4)
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: truncated: the header needs %zu bytes, the file has %zu", path,
                     header, 4 + got);
  size_t total = 1;
  for (size_t i = 0; st == CAVIAR_OK && i < dims; i++) {
    uint32_t size = big_endian_u32(b + 4 + 4 * i);
    if (size == 0) {
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: dimension %zu is 0", path, i);
      break;
    }
    if (i == 0) out->count = size;
    out->dims[i] = size;
    out->n_dims = (int)dims;
    /* Checked before multiplying, so no product can wrap around. */
    if (total > IDX_MAX_ELEMENTS / size) {
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: header claims over 2^40 elements", path);
      break;
    }
    total *= size;
  }
  bool more = false;
  if (st == CAVIAR_OK) st = caviar_in_rest(&in, total, &out->bytes, &out->len, &more, err);
  if (st == CAVIAR_OK && out->len < total)
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: truncated: the header promises %zu bytes of data, the file has %zu",
                     path, total, out->len);
  if (st == CAVIAR_OK && more) {
    size_t extra = 0;
    st = caviar_in_count_rest(&in, 1 << 20, &extra, err);
    if (st == CAVIAR_OK)
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: %s%zu unexpected bytes after the %zu bytes of data", path,
                       extra > (1 << 20) ? "over " : "", 1 + (extra > (1 << 20) ? (size_t)1 << 20 : extra), total);
  }
  caviar_in_close(&in);
  if (st != CAVIAR_OK) {
    free(out->bytes);
    out->bytes = NULL;
    return st;
  }
  out->per_item = total / out->count;
  out->data = out->bytes;
  return CAVIAR_OK;
}

caviar_status caviar_idx_read(const char *images_path, const char *labels_path, caviar_dataset *out,
                              caviar_error *err) {
  memset(out, 0, sizeof *out);
  idx_file images, labels;
  caviar_status st = idx_open(images_path, 2, 4, "0x00000803: IDX images of unsigned bytes", &images, err);
  if (st != CAVIAR_OK) return st;
  st = idx_open(labels_path, 1, 1, "0x00000801: IDX labels of unsigned bytes", &labels, err);
  if (st != CAVIAR_OK) {
    free(images.bytes);
    return st;
  }
  if (labels.count != images.count) {
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: %zu labels, but %s has %zu images", labels_path, labels.count,
                     images_path, images.count);
  } else {
    out->n = images.count;
    out->d = images.per_item;
    /* n x d: features; n x H x W: one channel; n x C x H x W (PyTorch's order). */
    int n = images.n_dims;
    out->image[0] = n == 4 ? (int)images.dims[1] : n == 3 ? 1 : (int)images.per_item;
    out->image[1] = n >= 3 ? (int)images.dims[n - 2] : 1;
    out->image[2] = n >= 3 ? (int)images.dims[n - 1] : 1;
    out->labels = caviar_alloc(out->n, sizeof *out->labels, "labels", err);
    /* The pixels are used in place. */
    out->x_u8 = images.bytes;
    images.bytes = NULL;
    if (!out->labels) st = CAVIAR_ERUNTIME;
    for (size_t i = 0; st == CAVIAR_OK && i < out->n; i++) out->labels[i] = labels.data[i];
  }
  free(images.bytes);
  free(labels.bytes);
  if (st != CAVIAR_OK) caviar_dataset_free(out);
  return st;
}

void caviar_dataset_image(const caviar_dataset *ds, int out[3]) {
  bool image = ds->image[0] > 0;
  out[0] = image ? ds->image[0] : (int)ds->d;
  out[1] = image ? ds->image[1] : 1;
  out[2] = image ? ds->image[2] : 1;
}

void caviar_dataset_free(caviar_dataset *ds) {
  free(ds->x_u8);
  free(ds->x_f32);
  free(ds->labels);
  free(ds->targets);
  for (int k = 0; k < ds->n_names; k++) free(ds->names[k]);
  free(ds->names);
  memset(ds, 0, sizeof *ds);
}
