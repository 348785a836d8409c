#ifndef CAVIAR_GZFILE_H
#define CAVIAR_GZFILE_H
/* Reading files that may be gzipped (the first two bytes say): streamed through zlib's inflate so
 * a reader can look at a header first and never inflate more than the header promises (a gzip
 * bomb costs nothing). Concatenated gzip members are one stream; anything else after the last
 * member, a truncated or corrupt stream, a folder or an unreadable file is a one-line error that
 * names the file once. */

#include <stdbool.h>
#include <stddef.h>

#include "caviar/status.h"

CAVIAR_C_BEGIN

typedef struct caviar_in {
  const char *path; /* for messages; must outlive the reader */
  int fd;
  bool gzip, between_members, eof;
  void *z;          /* z_stream while gzip */
  unsigned char *raw;
  size_t raw_pos, raw_len;
  bool raw_eof;
  unsigned long long size; /* the file's size when opened */
  unsigned long crc;       /* CRC-32 of every byte read from the file so far (as stored: compressed) */
} caviar_in;

caviar_status caviar_in_open(caviar_in *in, const char *path, caviar_error *err);
/* Up to n decompressed bytes into buf; *got < n only at the end of the data. */
caviar_status caviar_in_read(caviar_in *in, void *buf, size_t n, size_t *got, caviar_error *err);
/* The rest of the data, at most limit bytes, into a malloc'd buffer followed by a NUL byte not
 * counted in *len; *more says whether data goes on beyond limit (it is not read). */
caviar_status caviar_in_rest(caviar_in *in, size_t limit, unsigned char **data, size_t *len, bool *more,
                             caviar_error *err);
/* How many bytes are left, counting up to cap (cap + 1 means "more than cap"). */
caviar_status caviar_in_count_rest(caviar_in *in, size_t cap, size_t *count, caviar_error *err);
void caviar_in_close(caviar_in *in);

/* The whole (decompressed) file of at most limit bytes, followed by a NUL byte not counted in len;
 * a larger file is an input error naming what (e.g. "a sweep spec") it was read as. */
caviar_status caviar_read_all(const char *path, size_t limit, const char *what, unsigned char **data, size_t *len,
                              caviar_error *err);

/* gzip-compresses len bytes into a malloc'd buffer (for writing .gz files atomically). */
caviar_status caviar_gzip(const unsigned char *data, size_t len, unsigned char **out, size_t *out_len,
                          caviar_error *err);

CAVIAR_C_END

#endif
