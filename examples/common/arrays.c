#include "arrays.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static int fail(char *err, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, size, fmt, ap);
  va_end(ap);
  return -1;
}

const char *data_format_name(data_format f) {
  return f == DATA_NPY ? "npy" : f == DATA_IDX ? "idx" : "csv";
}

void data_free(data_array *a) {
  free(a->x);
  a->x = NULL;
}

/* The whole file, decompressed if gzip'd. */
static uint8_t *slurp(const char *path, size_t *len, char *err, size_t err_size) {
  gzFile f = gzopen(path, "rb");
  if (!f) {
    fail(err, err_size, "cannot open %s: %s", path, strerror(errno ? errno : ENOENT));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  for (;;) {
    if (!buf) break;
    if (n == cap) {
      uint8_t *grown = cap < ((size_t)1 << 40) ? realloc(buf, cap * 2) : NULL;
      if (!grown) { free(buf); buf = NULL; break; }
      buf = grown;
      cap *= 2;
    }
    size_t want = cap - n > (1u << 30) ? (1u << 30) : cap - n;
    int got = gzread(f, buf + n, (unsigned)want);
    if (got < 0) {
      int zerr;
      fail(err, err_size, "%s: read error: %s", path, gzerror(f, &zerr));
      free(buf);
      gzclose(f);
      return NULL;
    }
    if (got == 0) break;
    n += (size_t)got;
  }
  gzclose(f);
  if (!buf) {
    fail(err, err_size, "%s: out of memory", path);
    return NULL;
  }
  *len = n;
  return buf;
}

/* The row shape from the trailing dimensions: vectors stay flat; (H, W) and (H, W, C)
 * with C in {1, 3} are images. */
static int set_row_shape(data_array *a, int ndim, const int64_t *dims, const char *path,
                         char *err, size_t err_size) {
  if (ndim < 1 || ndim > 4)
    return fail(err, err_size, "%s: %d dimensions (expected 1 to 4: rows, then a vector or an image)",
                path, ndim);
  a->dim = 1;
  for (int i = 1; i < ndim; i++) {
    if (dims[i] < 1) return fail(err, err_size, "%s: dimension %d is %lld", path, i, (long long)dims[i]);
    if (a->dim > INT64_MAX / dims[i]) return fail(err, err_size, "%s: rows too large", path);
    a->dim *= dims[i];
  }
  if (ndim == 4 && dims[3] != 1 && dims[3] != 3)
    return fail(err, err_size, "%s: images of %lld channels (1 or 3 expected)", path,
                (long long)dims[3]);
  a->ndim = ndim <= 2 ? 1 : ndim - 1;
  if (ndim <= 2) a->shape[0] = a->dim;
  else for (int i = 1; i < ndim; i++) a->shape[i - 1] = dims[i];
  return 0;
}

typedef enum elem_type { ELEM_U8, ELEM_F32, ELEM_F64 } elem_type;

/* Convert rows of raw elements into floats; big_endian for IDX. */
static int convert(data_array *a, const uint8_t *raw, size_t raw_len, elem_type t, int big_endian,
                   int64_t rows_in_file, int64_t limit, const char *path, char *err, size_t err_size) {
  size_t esize = t == ELEM_U8 ? 1 : t == ELEM_F32 ? 4 : 8;
  a->n = limit > 0 && limit < rows_in_file ? limit : rows_in_file;
  if (a->n < 1) return fail(err, err_size, "%s: no rows", path);
  size_t count = (size_t)a->n * (size_t)a->dim;
  if ((size_t)rows_in_file > SIZE_MAX / esize / (size_t)a->dim)
    return fail(err, err_size, "%s: %lld rows of %lld values do not fit in memory", path,
                (long long)rows_in_file, (long long)a->dim);
  if ((size_t)rows_in_file * (size_t)a->dim * esize > raw_len)
    return fail(err, err_size, "%s is truncated: %lld rows of %lld values need %zu bytes, %zu present",
                path, (long long)rows_in_file, (long long)a->dim,
                (size_t)rows_in_file * (size_t)a->dim * esize, raw_len);
  a->x = malloc(sizeof(float) * count);
  if (!a->x) return fail(err, err_size, "%s: out of memory for %zu values", path, count);
  a->from_bytes = t == ELEM_U8;
  for (size_t i = 0; i < count; i++) {
    const uint8_t *e = raw + i * esize;
    uint8_t b[8];
    for (size_t k = 0; k < esize; k++) b[k] = big_endian ? e[esize - 1 - k] : e[k];
    double v;
    if (t == ELEM_U8) v = b[0] / 127.5 - 1.0;
    else if (t == ELEM_F32) { float f; memcpy(&f, b, 4); v = f; }
    else memcpy(&v, b, 8);
    if (!isfinite(v)) {
      free(a->x);
      a->x = NULL;
      return fail(err, err_size, "%s: value %zu (row %lld, column %lld) is not finite", path, i,
                  (long long)(i / (size_t)a->dim), (long long)(i % (size_t)a->dim));
    }
    a->x[i] = (float)v;
  }
  return 0;
}

/* NumPy format 1.0-3.0: magic, version, header length, a Python dict literal. */
static int load_npy(const uint8_t *buf, size_t len, int64_t limit, data_array *a, const char *path,
                    char *err, size_t err_size) {
  if (len < 10) return fail(err, err_size, "%s: truncated NumPy header", path);
  size_t hlen, hstart;
  if (buf[6] == 1) hlen = buf[8] | (size_t)buf[9] << 8, hstart = 10;
  else if (len >= 12 && (buf[6] == 2 || buf[6] == 3))
    hlen = buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24, hstart = 12;
  else return fail(err, err_size, "%s: NumPy format version %d is not supported", path, buf[6]);
  if (hstart + hlen > len) return fail(err, err_size, "%s: truncated NumPy header", path);
  char header[4096];
  if (hlen >= sizeof header) return fail(err, err_size, "%s: NumPy header too long", path);
  memcpy(header, buf + hstart, hlen);
  header[hlen] = '\0';
  const char *d = strstr(header, "'descr'"), *fo = strstr(header, "'fortran_order'"),
             *sh = strstr(header, "'shape'");
  if (!d || !fo || !sh) return fail(err, err_size, "%s: NumPy header without descr/fortran_order/shape", path);
  char descr[16] = "";
  const char *q = strchr(d + 7, '\'');
  if (q) sscanf(q + 1, "%15[^']", descr);
  elem_type t;
  if (!strcmp(descr, "<f4")) t = ELEM_F32;
  else if (!strcmp(descr, "<f8")) t = ELEM_F64;
  else if (!strcmp(descr, "|u1") || !strcmp(descr, "<u1")) t = ELEM_U8;
  else return fail(err, err_size, "%s: dtype '%s' is not supported (float32 '<f4', float64 '<f8' or uint8 '|u1')",
                   path, descr);
  const char *fv = fo + strlen("'fortran_order'");
  while (*fv == ':' || *fv == ' ') fv++;
  if (strncmp(fv, "True", 4) == 0)
    return fail(err, err_size, "%s: Fortran-order arrays are not supported (save a C-contiguous array)", path);
  const char *p = strchr(sh, '(');
  if (!p) return fail(err, err_size, "%s: NumPy header: no shape tuple", path);
  int64_t dims[8];
  int ndim = 0;
  p++;
  for (;;) {
    while (*p == ' ' || *p == ',') p++;
    if (*p == ')') break;
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p || ndim == 8) return fail(err, err_size, "%s: NumPy header: bad shape", path);
    dims[ndim++] = v;
    p = end;
    if (*p == 'L') p++;
  }
  if (ndim == 0) return fail(err, err_size, "%s: a 0-dimensional array has no rows", path);
  if (set_row_shape(a, ndim, dims, path, err, err_size) != 0) return -1;
  a->format = DATA_NPY;
  return convert(a, buf + hstart + hlen, len - hstart - hlen, t, 0, dims[0], limit, path, err,
                 err_size);
}

/* IDX (LeCun's MNIST format): 0, 0, type, ndim, then ndim big-endian u32 sizes. */
static int load_idx(const uint8_t *buf, size_t len, int64_t limit, data_array *a, const char *path,
                    char *err, size_t err_size) {
  int type = buf[2], ndim = buf[3];
  elem_type t;
  if (type == 0x08) t = ELEM_U8;
  else if (type == 0x0D) t = ELEM_F32;
  else if (type == 0x0E) t = ELEM_F64;
  else return fail(err, err_size, "%s: IDX element type 0x%02X is not supported (0x08 ubyte, 0x0D float, 0x0E double)",
                   path, type);
  if (ndim < 1 || ndim > 4 || len < 4 + 4 * (size_t)ndim)
    return fail(err, err_size, "%s: IDX header with %d dimensions", path, ndim);
  int64_t dims[4];
  for (int i = 0; i < ndim; i++) {
    const uint8_t *d = buf + 4 + 4 * i;
    dims[i] = (int64_t)d[0] << 24 | (int64_t)d[1] << 16 | (int64_t)d[2] << 8 | d[3];
  }
  if (set_row_shape(a, ndim, dims, path, err, err_size) != 0) return -1;
  a->format = DATA_IDX;
  size_t off = 4 + 4 * (size_t)ndim;
  return convert(a, buf + off, len - off, t, 1, dims[0], limit, path, err, err_size);
}

/* CSV: one row per line, comma-separated numbers; blank lines and lines starting with '#'
 * are skipped; a first line that is not all numbers is a header. */
static int load_csv(uint8_t *buf, size_t len, int64_t limit, data_array *a, const char *path,
                    char *err, size_t err_size) {
  size_t cap = 1024, count = 0;
  float *x = malloc(sizeof(float) * cap);
  int64_t cols = -1, rows = 0, line_no = 0;
  char *s = (char *)buf, *end_all = (char *)buf + len;
  int header_allowed = 1;
  while (s < end_all && x && (limit <= 0 || rows < limit)) {
    char *nl = memchr(s, '\n', (size_t)(end_all - s));
    char *line_end = nl ? nl : end_all;
    line_no++;
    if (line_end > s && line_end[-1] == '\r') line_end[-1] = '\0';
    *line_end = '\0';
    char *next = nl ? nl + 1 : end_all;
    char *p = s;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '\0' || *p == '#') { s = next; continue; }
    int64_t c = 0;
    size_t row_start = count;
    int bad = 0;
    for (;;) {
      char *e;
      errno = 0;
      double v = strtod(p, &e);
      char *after = e;
      while (*after == ' ' || *after == '\t') after++;
      if (e == p || (*after != ',' && *after != '\0')) { bad = 1; break; }
      if (!isfinite(v) || errno == ERANGE) {
        free(x);
        return fail(err, err_size, "%s:%lld: column %lld is not a finite number", path,
                    (long long)line_no, (long long)c + 1);
      }
      if (count == cap) {
        float *g = realloc(x, sizeof(float) * cap * 2);
        if (!g) { free(x); return fail(err, err_size, "%s: out of memory", path); }
        x = g;
        cap *= 2;
      }
      x[count++] = (float)v;
      c++;
      if (*after == '\0') break;
      p = after + 1;
    }
    if (bad) {
      if (header_allowed) { count = row_start; header_allowed = 0; s = next; continue; }
      free(x);
      return fail(err, err_size, "%s:%lld: column %lld is not a number", path, (long long)line_no,
                  (long long)c + 1);
    }
    header_allowed = 0;
    if (cols < 0) cols = c;
    else if (c != cols) {
      free(x);
      return fail(err, err_size, "%s:%lld: %lld columns, the first row has %lld", path,
                  (long long)line_no, (long long)c, (long long)cols);
    }
    rows++;
    s = next;
  }
  if (!x) return fail(err, err_size, "%s: out of memory", path);
  if (rows == 0) { free(x); return fail(err, err_size, "%s: no rows of numbers", path); }
  a->x = x;
  a->n = rows;
  a->dim = cols;
  a->ndim = 1;
  a->shape[0] = cols;
  a->from_bytes = 0;
  a->format = DATA_CSV;
  return 0;
}

int data_load(const char *path, int64_t limit, data_array *out, char *err, size_t err_size) {
  size_t len = 0;
  uint8_t *buf = slurp(path, &len, err, err_size);
  if (!buf) return -1;
  data_array a;
  memset(&a, 0, sizeof a);
  int rc;
  if (len >= 6 && memcmp(buf, "\x93NUMPY", 6) == 0) rc = load_npy(buf, len, limit, &a, path, err, err_size);
  else if (len >= 4 && buf[0] == 0 && buf[1] == 0) rc = load_idx(buf, len, limit, &a, path, err, err_size);
  else if (memchr(buf, 0, len < 4096 ? len : 4096)) {
    free(buf);
    return fail(err, err_size, "%s is not a .npy, IDX or CSV file (binary content)", path);
  } else {
    /* CSV needs a terminating byte for the last line */
    uint8_t *grown = realloc(buf, len + 1);
    if (!grown) { free(buf); return fail(err, err_size, "%s: out of memory", path); }
    buf = grown;
    buf[len] = '\0';
    rc = load_csv(buf, len, limit, &a, path, err, err_size);
  }
  free(buf);
  if (rc != 0) return -1;
  *out = a;
  return 0;
}

/* Header of a C-order .npy file: magic, version 1.0, the dict padded to 64 bytes. */
static int npy_header(FILE *f, const char *descr, int ndim, const int64_t *shape) {
  char dict[256], shape_text[128] = "";
  size_t o = 0;
  for (int i = 0; i < ndim; i++)
    o += (size_t)snprintf(shape_text + o, sizeof shape_text - o, "%lld,%s", (long long)shape[i],
                          i + 1 < ndim ? " " : "");
  if (ndim > 1) shape_text[strlen(shape_text) - 1] = '\0'; /* "(n, d)" not "(n, d,)" */
  int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                   descr, shape_text);
  size_t total = 10 + (size_t)n + 1, pad = (64 - total % 64) % 64;
  uint16_t hlen = (uint16_t)(n + pad + 1);
  uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)hlen, (uint8_t)(hlen >> 8)};
  int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)n, f) == (size_t)n;
  for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', f) != EOF;
  return ok && fputc('\n', f) != EOF;
}

int npy_write_f64(const char *path, const double *v, int64_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  int ok = npy_header(f, "<f8", 1, &n) && fwrite(v, sizeof(double), (size_t)n, f) == (size_t)n;
  if (fclose(f) != 0) ok = 0;
  return ok ? 0 : -1;
}

int npy_write_f32(const char *path, const float *x, int ndim, const int64_t *shape) {
  int64_t count = 1;
  for (int i = 0; i < ndim; i++) count *= shape[i];
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  int ok = npy_header(f, "<f4", ndim, shape) &&
           fwrite(x, sizeof(float), (size_t)count, f) == (size_t)count; /* little-endian host */
  if (fclose(f) != 0) ok = 0;
  return ok ? 0 : -1;
}
