#include "caviar/gzfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define RAW_CHUNK ((size_t)1 << 16)

/* Refills the raw buffer, keeping its unread tail in front (so a member's two-byte magic number
 * can be looked at whole). */
static caviar_status fill_raw(caviar_in *in, caviar_error *err) {
  if (in->raw_eof) return CAVIAR_OK;
  size_t left = in->raw_len - in->raw_pos;
  memmove(in->raw, in->raw + in->raw_pos, left);
  in->raw_pos = 0;
  in->raw_len = left;
  while (in->raw_len < RAW_CHUNK) {
    ssize_t n = read(in->fd, in->raw + in->raw_len, RAW_CHUNK - in->raw_len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot read: %s", in->path, strerror(errno));
    if (n == 0) {
      in->raw_eof = true;
      break;
    }
    in->crc = crc32(in->crc, in->raw + in->raw_len, (uInt)n);
    in->raw_len += (size_t)n;
    if (in->raw_len >= 2) break;
  }
  return CAVIAR_OK;
}

caviar_status caviar_in_open(caviar_in *in, const char *path, caviar_error *err) {
  memset(in, 0, sizeof *in);
  in->path = path;
  in->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (in->fd < 0) return caviar_fail(err, CAVIAR_EINPUT, "%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  caviar_status st = CAVIAR_OK;
  if (fstat(in->fd, &sb) != 0)
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: cannot open: %s", path, strerror(errno));
  else if (S_ISDIR(sb.st_mode))
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: is a folder, expected a file", path);
  in->size = st == CAVIAR_OK ? (unsigned long long)sb.st_size : 0;
  in->crc = crc32(0L, Z_NULL, 0);
  in->raw = st == CAVIAR_OK ? malloc(RAW_CHUNK) : NULL;
  if (st == CAVIAR_OK && !in->raw) st = caviar_fail(err, CAVIAR_ERUNTIME, "%s: out of memory", path);
  if (st == CAVIAR_OK) st = fill_raw(in, err);
  if (st == CAVIAR_OK && in->raw_len >= 2 && in->raw[0] == 0x1f && in->raw[1] == 0x8b) {
    z_stream *z = calloc(1, sizeof *z);
    /* windowBits 15 + 16: gzip only, so a plain zlib stream is not mistaken for one. */
    if (!z || inflateInit2(z, 15 + 16) != Z_OK) {
      free(z);
      st = caviar_fail(err, CAVIAR_ERUNTIME, "%s: cannot start gzip decompression", path);
    } else {
      in->z = z;
      in->gzip = true;
    }
  }
  if (st != CAVIAR_OK) caviar_in_close(in);
  return st;
}

/* After a member's end: another member follows (its magic number), or nothing, or garbage. */
static caviar_status next_member(caviar_in *in, caviar_error *err) {
  if (in->raw_len - in->raw_pos < 2) {
    caviar_status st = fill_raw(in, err);
    if (st != CAVIAR_OK) return st;
  }
  size_t left = in->raw_len - in->raw_pos;
  if (left == 0) {
    in->eof = true;
    return CAVIAR_OK;
  }
  if (left >= 2 && in->raw[in->raw_pos] == 0x1f && in->raw[in->raw_pos + 1] == 0x8b) {
    inflateReset(in->z);
    in->between_members = false;
    return CAVIAR_OK;
  }
  return caviar_fail(err, CAVIAR_EINPUT, "%s: unexpected bytes after the end of the gzip data", in->path);
}

static caviar_status read_gzip(caviar_in *in, unsigned char *buf, size_t n, size_t *got, caviar_error *err) {
  z_stream *z = in->z;
  while (*got < n && !in->eof) {
    caviar_status st = CAVIAR_OK;
    if (in->between_members) {
      st = next_member(in, err);
      if (st != CAVIAR_OK) return st;
      continue;
    }
    if (in->raw_pos == in->raw_len) {
      st = fill_raw(in, err);
      if (st != CAVIAR_OK) return st;
      if (in->raw_pos == in->raw_len)
        return caviar_fail(err, CAVIAR_EINPUT, "%s: truncated or corrupt gzip data (the stream ends early)", in->path);
    }
    size_t room = n - *got;
    z->next_in = in->raw + in->raw_pos;
    z->avail_in = (uInt)(in->raw_len - in->raw_pos);
    z->next_out = buf + *got;
    z->avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
    uInt out_before = z->avail_out, in_before = z->avail_in;
    int rc = inflate(z, Z_NO_FLUSH);
    in->raw_pos = in->raw_len - z->avail_in;
    *got += out_before - z->avail_out;
    bool stuck = rc == Z_BUF_ERROR && z->avail_in == in_before && z->avail_out == out_before;
    if (stuck) {
      return caviar_fail(err, CAVIAR_EINPUT, "%s: corrupt gzip data (no progress)", in->path);
    } else if (rc == Z_STREAM_END) {
      in->between_members = true;
    } else if (rc == Z_MEM_ERROR) {
      return caviar_fail(err, CAVIAR_ERUNTIME, "%s: out of memory decompressing", in->path);
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return caviar_fail(err, CAVIAR_EINPUT, "%s: corrupt gzip data (%s)", in->path, z->msg ? z->msg : "bad stream");
    }
  }
  return CAVIAR_OK;
}

caviar_status caviar_in_read(caviar_in *in, void *buf, size_t n, size_t *got, caviar_error *err) {
  *got = 0;
  if (in->gzip) return read_gzip(in, buf, n, got, err);
  unsigned char *out = buf;
  while (*got < n && !in->eof) {
    if (in->raw_pos == in->raw_len) {
      caviar_status st = fill_raw(in, err);
      if (st != CAVIAR_OK) return st;
      if (in->raw_pos == in->raw_len) {
        in->eof = true;
        break;
      }
    }
    size_t take = in->raw_len - in->raw_pos < n - *got ? in->raw_len - in->raw_pos : n - *got;
    memcpy(out + *got, in->raw + in->raw_pos, take);
    in->raw_pos += take;
    *got += take;
  }
  return CAVIAR_OK;
}

caviar_status caviar_in_rest(caviar_in *in, size_t limit, unsigned char **data, size_t *len, bool *more,
                             caviar_error *err) {
  size_t cap = (limit < ((size_t)1 << 20) ? limit : ((size_t)1 << 20)) + 1, n = 0;
  unsigned char *buf = malloc(cap);
  if (!buf) return caviar_fail(err, CAVIAR_ERUNTIME, "%s: out of memory", in->path);
  caviar_status st = CAVIAR_OK;
  *more = false;
  for (;;) {
    size_t got;
    if (n == limit) {
      /* One byte more says whether the data goes on; nothing past it is read. */
      unsigned char extra;
      st = caviar_in_read(in, &extra, 1, &got, err);
      *more = got == 1;
      break;
    }
    if (n == cap - 1) {
      size_t grown_cap = cap - 1 > (limit - 1) / 2 ? limit + 1 : 2 * cap;
      unsigned char *grown = realloc(buf, grown_cap);
      if (!grown) {
        st = caviar_fail(err, CAVIAR_ERUNTIME, "%s: out of memory after %zu bytes", in->path, n);
        break;
      }
      buf = grown;
      cap = grown_cap;
    }
    st = caviar_in_read(in, buf + n, (cap - 1 - n < limit - n ? cap - 1 - n : limit - n), &got, err);
    if (st != CAVIAR_OK || got == 0) break;
    n += got;
  }
  if (st != CAVIAR_OK) {
    free(buf);
    return st;
  }
  buf[n] = '\0';
  *data = buf;
  *len = n;
  return CAVIAR_OK;
}

caviar_status caviar_in_count_rest(caviar_in *in, size_t cap, size_t *count, caviar_error *err) {
  unsigned char scratch[4096];
  *count = 0;
  while (*count <= cap) {
    size_t got;
    caviar_status st = caviar_in_read(in, scratch, sizeof scratch, &got, err);
    if (st != CAVIAR_OK) return st;
    if (got == 0) break;
    *count += got;
  }
  if (*count > cap) *count = cap + 1;
  return CAVIAR_OK;
}

void caviar_in_close(caviar_in *in) {
  if (in->z) {
    inflateEnd(in->z);
    free(in->z);
  }
  if (in->fd >= 0) close(in->fd);
  free(in->raw);
  memset(in, 0, sizeof *in);
  in->fd = -1;
}

caviar_status caviar_read_all(const char *path, size_t limit, const char *what, unsigned char **data, size_t *len,
                              caviar_error *err) {
  caviar_in in;
  caviar_status st = caviar_in_open(&in, path, err);
  if (st != CAVIAR_OK) return st;
  bool more = false;
  st = caviar_in_rest(&in, limit, data, len, &more, err);
  caviar_in_close(&in);
  if (st == CAVIAR_OK && more) {
    free(*data);
    *data = NULL;
    st = caviar_fail(err, CAVIAR_EINPUT, "%s: too large for %s (over %zu bytes)", path, what, limit);
  }
  return st;
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
