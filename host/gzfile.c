#include "caviar/gzfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

caviar_status caviar_read_all(const char *path, unsigned char **data, size_t *len, caviar_error *err) {
  gzFile f = gzopen(path, "rb");
  if (!f) return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
  gzbuffer(f, 1 << 20);
  size_t cap = 1 << 20, n = 0;
  unsigned char *buf = malloc(cap);
  caviar_status st = buf ? CAVIAR_OK : caviar_fail(err, CAVIAR_ERUNTIME, "%s: out of memory", path);
  while (st == CAVIAR_OK) {
    if (cap - n < 2) {
      unsigned char *grown = realloc(buf, cap * 2);
      if (!grown) {
        st = caviar_fail(err, CAVIAR_ERUNTIME, "%s: out of memory after %zu bytes", path, n);
        break;
      }
      buf = grown;
      cap *= 2;
    }
    size_t want = cap - n - 1 > (1u << 30) ? (1u << 30) : cap - n - 1;
    int got = gzread(f, buf + n, (unsigned)want);
    if (got < 0) {
      int code;
      const char *why = gzerror(f, &code);
      st = caviar_fail(err, CAVIAR_EINPUT, "%s: corrupt gzip data: %s", path, why);
    } else if (got == 0) {
      break;
    } else {
      n += (size_t)got;
    }
  }
  if (st == CAVIAR_OK) {
    /* zlib reports a gzip stream cut short only through gzerror after the last read. */
    int code;
    const char *why = gzerror(f, &code);
    if (code != Z_OK) st = caviar_fail(err, CAVIAR_EINPUT, "%s: truncated or corrupt gzip data: %s", path, why);
  }
  gzclose(f);
  if (st != CAVIAR_OK) {
    free(buf);
    return st;
  }
  buf[n] = '\0';
  *data = buf;
  *len = n;
  return CAVIAR_OK;
}

caviar_status caviar_gzip(const unsigned char *data, size_t len, unsigned char **out, size_t *out_len,
                          caviar_error *err) {
  z_stream z;
  memset(&z, 0, sizeof z);
  /* windowBits 15 + 16: a gzip header and trailer rather than a raw zlib stream. */
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return caviar_fail(err, CAVIAR_ERUNTIME, "cannot start gzip compression");
  size_t cap = deflateBound(&z, (uLong)len);
  unsigned char *buf = malloc(cap);
  if (!buf) {
    deflateEnd(&z);
    return caviar_fail(err, CAVIAR_ERUNTIME, "out of memory compressing %zu bytes", len);
  }
  z.next_in = (unsigned char *)data;
  z.avail_in = (uInt)len;
  z.next_out = buf;
  z.avail_out = (uInt)cap;
  int rc = deflate(&z, Z_FINISH);
  size_t produced = cap - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    free(buf);
    return caviar_fail(err, CAVIAR_ERUNTIME, "gzip compression failed (%d)", rc);
  }
  *out = buf;
  *out_len = produced;
  return CAVIAR_OK;
}
