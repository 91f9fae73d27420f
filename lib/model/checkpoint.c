#include "model/checkpoint.h"

#include "model/file_replace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t MAGIC[8] = {'D', 'S', 'M', 'O', 'O', 'T', 'H', 0x1a};
#define HEADER_SIZE 24u
/* Refuse to read absurd files rather than trying to allocate them. */
#define MAX_FILE_SIZE ((uint64_t)1 << 36)

static void reserve(ds__writer *w, size_t extra) {
  if (w->failed || w->len + extra <= w->cap) return;
  size_t cap = w->cap ? w->cap : 256;
  while (cap < w->len + extra) cap *= 2;
  uint8_t *p = ds__realloc(w->ctx, w->data, cap);
  if (!p) { w->failed = 1; return; }
  w->data = p;
  w->cap = cap;
}

static void put_le(ds__writer *w, uint64_t v, int bytes) {
  reserve(w, (size_t)bytes);
  if (w->failed) return;
  for (int i = 0; i < bytes; i++) w->data[w->len++] = (uint8_t)(v >> (8 * i));
}

void ds__writer_u32(ds__writer *w, uint32_t v) { put_le(w, v, 4); }
void ds__writer_u64(ds__writer *w, uint64_t v) { put_le(w, v, 8); }
void ds__writer_f32(ds__writer *w, float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  put_le(w, u, 4);
}
void ds__writer_f64(ds__writer *w, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  put_le(w, u, 8);
}
void ds__writer_floats(ds__writer *w, const float *v, int64_t count) {
  reserve(w, (size_t)count * 4);
  for (int64_t i = 0; i < count && !w->failed; i++) ds__writer_f32(w, v[i]);
}
void ds__writer_free(ds__writer *w) {
  ds__free(w->ctx, w->data);
  w->data = NULL;
  w->len = w->cap = 0;
}

static uint64_t get_le(ds__reader *r, int bytes) {
  if (r->failed || r->len - r->pos < (size_t)bytes) {
    r->failed = 1;
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v |= (uint64_t)r->data[r->pos++] << (8 * i);
  return v;
}

uint32_t ds__reader_u32(ds__reader *r) { return (uint32_t)get_le(r, 4); }
uint64_t ds__reader_u64(ds__reader *r) { return get_le(r, 8); }
float ds__reader_f32(ds__reader *r) {
  uint32_t u = (uint32_t)get_le(r, 4);
  float v;
  memcpy(&v, &u, 4);
  return v;
}
double ds__reader_f64(ds__reader *r) {
  uint64_t u = get_le(r, 8);
  double v;
  memcpy(&v, &u, 8);
  return v;
}
void ds__reader_floats(ds__reader *r, float *v, int64_t count) {
  if (r->failed || (uint64_t)(r->len - r->pos) / 4 < (uint64_t)count) {
    r->failed = 1;
    return;
  }
  for (int64_t i = 0; i < count; i++) v[i] = ds__reader_f32(r);
}

uint32_t ds__crc32(const uint8_t *data, size_t len) {
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < len; i++) {
    crc ^= data[i];
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xffffffffu;
}

ds_status ds__checkpoint_write(ds_context *ctx, const char *fn, const char *path, uint32_t kind,
                               const ds__writer *payload) {
  if (payload->failed)
    return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory while serialising", fn);
  ds__writer w = {ctx, NULL, 0, 0, 0};
  reserve(&w, HEADER_SIZE + payload->len + 4);
  for (int i = 0; i < 8 && !w.failed; i++) w.data[w.len++] = MAGIC[i];
  ds__writer_u32(&w, DS__CHECKPOINT_VERSION);
  ds__writer_u32(&w, kind);
  ds__writer_u64(&w, payload->len);
  reserve(&w, payload->len);
  if (!w.failed) {
    memcpy(w.data + w.len, payload->data, payload->len);
    w.len += payload->len;
  }
  if (!w.failed) ds__writer_u32(&w, ds__crc32(w.data, w.len));
  if (w.failed) {
    ds__writer_free(&w);
    return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory while serialising", fn);
  }
  ds_status st = ds__file_replace(ctx, fn, path, w.data, w.len);
  ds__writer_free(&w);
  return st;
}

/* ---- reading ----------------------------------------------------------------------- */

/* Read up to len bytes; returns the count read (short only at end of file) or -1. */
static ssize_t read_full(int fd, uint8_t *data, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t k = read(fd, data + done, len - done);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return -1;
    if (k == 0) break;
    done += (size_t)k;
  }
  return (ssize_t)done;
}

static const char *file_type(mode_t mode) {
  return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO" :
         S_ISCHR(mode) ? "a character device" : S_ISBLK(mode) ? "a block device" :
         S_ISSOCK(mode) ? "a socket" : "not a regular file";
}

/* Everything a file's first bytes can claim is checked here, against the file's real size,
 * before anything is allocated. */
static ds_status check_header(ds_context *ctx, const char *fn, const char *path,
                              const uint8_t *header, uint64_t file_size, uint32_t kind,
                              uint32_t *version_out, uint64_t *length_out) {
  if (memcmp(header, MAGIC, 8) != 0)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: '%s' is not a libdsmooth checkpoint (bad magic)",
                    fn, path);
  ds__reader hr = {header, HEADER_SIZE, 8, 0, 0};
  uint32_t version = ds__reader_u32(&hr), file_kind = ds__reader_u32(&hr);
  uint64_t length = ds__reader_u64(&hr);
  if (version > DS__CHECKPOINT_VERSION || version == 0)
    return ds__fail(ctx, version ? DS_ERR_UNSUPPORTED_VERSION : DS_ERR_BAD_FORMAT,
                    "%s: '%s' has format version %u; this library reads up to %u", fn, path,
                    version, DS__CHECKPOINT_VERSION);
  if (file_kind != kind)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: '%s' holds a %s, not a %s", fn, path,
                    file_kind == DS__CHECKPOINT_MODEL ? "model" :
                    file_kind == DS__CHECKPOINT_TRAINER ? "trainer" : "unknown record",
                    kind == DS__CHECKPOINT_MODEL ? "model" : "trainer");
  if (length > MAX_FILE_SIZE)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: '%s' declares an implausible payload of %llu bytes",
                    fn, path, (unsigned long long)length);
  uint64_t total = HEADER_SIZE + length + 4;
  if (file_size < total)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: '%s' is truncated: %llu bytes, its header declares %llu",
                    fn, path, (unsigned long long)file_size, (unsigned long long)total);
  if (file_size > total)
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: '%s' has trailing bytes after its checksum", fn,
                    path);
  *version_out = version;
  *length_out = length;
  return DS_OK;
}

ds_status ds__checkpoint_read(ds_context *ctx, const char *fn, const char *path,
                              uint32_t kind, uint8_t **file, ds__reader *reader) {
  /* O_NONBLOCK: opening a FIFO must not wait for a writer; only regular files are read */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return ds__fail(ctx, DS_ERR_IO, "%s: cannot open '%s': %s", fn, path, strerror(errno));
  struct stat info;
  if (fstat(fd, &info) != 0) {
    int err = errno;
    close(fd);
    return ds__fail(ctx, DS_ERR_IO, "%s: cannot read '%s': %s", fn, path, strerror(err));
  }
  if (!S_ISREG(info.st_mode)) {
    close(fd);
    return ds__fail(ctx, DS_ERR_IO, "%s: '%s' is %s; checkpoints are read from regular files only",
                    fn, path, file_type(info.st_mode));
  }
  uint8_t header[HEADER_SIZE];
  ssize_t got = read_full(fd, header, HEADER_SIZE);
  if (got < 0) {
    int err = errno;
    close(fd);
    return ds__fail(ctx, DS_ERR_IO, "%s: cannot read '%s': %s", fn, path, strerror(err));
  }
  if ((size_t)got < HEADER_SIZE) {
    close(fd);
    if (got >= 8 && memcmp(header, MAGIC, 8) != 0)
      return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: '%s' is not a libdsmooth checkpoint", fn, path);
    return ds__fail(ctx, DS_ERR_BAD_FORMAT,
                    "%s: '%s' is truncated: %zd bytes, the header alone has %u", fn, path, got,
                    HEADER_SIZE);
  }
  uint32_t version = 0;
  uint64_t length = 0;
  ds_status st = check_header(ctx, fn, path, header, (uint64_t)info.st_size, kind, &version,
                              &length);
  if (st != DS_OK) {
    close(fd);
    return st;
  }
  /* total <= the file's size as fstat saw it: nothing is allocated that the disk does not
     hold; a file that changes meanwhile is caught by the counts below */
  size_t total = HEADER_SIZE + (size_t)length + 4;
  uint8_t *data = ds__malloc(ctx, total + 1);
  if (!data) {
    close(fd);
    return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu bytes", fn, total);
  }
  memcpy(data, header, HEADER_SIZE);
  got = read_full(fd, data + HEADER_SIZE, total + 1 - HEADER_SIZE); /* one more: trailing? */
  int err = errno;
  close(fd);
  if (got < 0) {
    ds__free(ctx, data);
    return ds__fail(ctx, DS_ERR_IO, "%s: cannot read '%s': %s", fn, path, strerror(err));
  }
  if (HEADER_SIZE + (size_t)got != total) {
    ds__free(ctx, data);
    if (HEADER_SIZE + (size_t)got > total)
      return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: '%s' has trailing bytes after its checksum",
                      fn, path);
    return ds__fail(ctx, DS_ERR_BAD_FORMAT, "%s: '%s' is truncated at byte %zu of %zu", fn, path,
                    HEADER_SIZE + (size_t)got, total);
  }
  ds__reader tr = {data + total - 4, 4, 0, 0, 0};
  uint32_t stored = ds__reader_u32(&tr), actual = ds__crc32(data, total - 4);
  if (stored != actual) {
    ds__free(ctx, data);
    return ds__fail(ctx, DS_ERR_BAD_FORMAT,
                    "%s: '%s' is corrupted: checksum 0x%08x, contents give 0x%08x", fn, path,
                    stored, actual);
  }
  *file = data;
  reader->data = data + HEADER_SIZE;
  reader->len = (size_t)length;
  reader->pos = 0;
  reader->failed = 0;
  reader->version = version;
  return DS_OK;
}
