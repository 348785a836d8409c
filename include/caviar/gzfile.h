#ifndef CAVIAR_GZFILE_H
#define CAVIAR_GZFILE_H
/* Whole-file reads through zlib, which takes gzip and plain files alike. */

#include <stddef.h>

#include "caviar/status.h"

/* The whole (decompressed) file, followed by a NUL byte not counted in len; a truncated or corrupt
 * gzip stream is an error, not a short read. */
caviar_status caviar_read_all(const char *path, unsigned char **data, size_t *len, caviar_error *err);

/* gzip-compresses len bytes into a malloc'd buffer (for writing .gz files atomically). */
caviar_status caviar_gzip(const unsigned char *data, size_t len, unsigned char **out, size_t *out_len,
                          caviar_error *err);

#endif
