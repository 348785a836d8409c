#ifndef CAVIAR_SAFETENSORS_H
#define CAVIAR_SAFETENSORS_H
/* A small reader and writer of safetensors files of float32 tensors (0 to 4 dimensions; a 0-dim
 * int64 for counters such as batch normalisation's num_batches_tracked) with string metadata:
 * saved models and training checkpoints are both such files. */

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

#define CAVIAR_ST_MAX_TENSORS 256
#define CAVIAR_ST_MAX_DIMS 4

typedef struct caviar_st_writer {
  cJSON *header;
  const float *data[CAVIAR_ST_MAX_TENSORS];
  size_t count[CAVIAR_ST_MAX_TENSORS];
  bool i64[CAVIAR_ST_MAX_TENSORS]; /* written as int64 (the floats are whole numbers) */
  int n;
  size_t offset;
} caviar_st_writer;

void caviar_st_writer_init(caviar_st_writer *w);
void caviar_st_meta(caviar_st_writer *w, const char *key, const char *value);
/* Adds a rows x cols tensor (cols 0: a vector of rows); data must live until the write. */
void caviar_st_add(caviar_st_writer *w, const char *name, int rows, int cols, const float *data);
/* Adds a tensor of n_dims (0: a scalar) dimensions; as_i64: stored as int64 (PyTorch's long). */
void caviar_st_add_dims(caviar_st_writer *w, const char *name, int n_dims, const int *dims, bool as_i64, const float *data);
/* Writes atomically (temporary file and rename) and frees the writer. */
caviar_status caviar_st_write(caviar_st_writer *w, const char *path, caviar_error *err);

typedef struct caviar_st_file {
  const char *path;
  unsigned char *bytes;
  cJSON *header;
  const unsigned char *data;
  size_t data_len;
} caviar_st_file;

typedef struct caviar_st_tensor {
  const unsigned char *data; /* not necessarily aligned: copy it out (caviar_st_floats) */
  int dims[CAVIAR_ST_MAX_DIMS];
  int n_dims;
  size_t count;
  bool i64;                  /* int64 elements, else float32 */
} caviar_st_tensor;

/* The tensor's values as floats (int64 ones converted: exact up to 2^24). */
void caviar_st_floats(const caviar_st_tensor *t, float *out);

caviar_status caviar_st_open(const char *path, caviar_st_file *f, caviar_error *err);
/* A metadata string, or NULL. */
const char *caviar_st_meta_get(const caviar_st_file *f, const char *key);
bool caviar_st_has(const caviar_st_file *f, const char *name);
/* The tensor, checked: F32 (or I64), 0 to 4 dimensions, its bytes inside the file. */
caviar_status caviar_st_find(const caviar_st_file *f, const char *name, caviar_st_tensor *out, caviar_error *err);
void caviar_st_close(caviar_st_file *f);

CAVIAR_C_END

#endif
