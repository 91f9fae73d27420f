#include "png.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static int write_chunk(FILE *f, const char *type, const uint8_t *data, uint32_t len) {
  uint8_t hdr[8], tail[4];
  put32(hdr, len);
  memcpy(hdr + 4, type, 4);
  uLong crc = crc32(0L, hdr + 4, 4);
  if (len) crc = crc32(crc, data, len);
  put32(tail, (uint32_t)crc);
  return fwrite(hdr, 1, 8, f) == 8 && (len == 0 || fwrite(data, 1, len, f) == len) &&
                 fwrite(tail, 1, 4, f) == 4 ? 0 : -1;
}

static int paeth(int a, int b, int c) {
  int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* One filtered row: the filter (None, Sub, Up, Average, Paeth) with the smallest sum of
 * absolute signed residuals, the heuristic the PNG specification recommends. */
static void filter_row(const uint8_t *cur, const uint8_t *prev, size_t n, uint8_t *out,
                       uint8_t *scratch) {
  long best = -1;
  for (int type = 0; type < 5; type++) {
    long cost = 0;
    for (size_t i = 0; i < n; i++) {
      int a = i >= 3 ? cur[i - 3] : 0, b = prev ? prev[i] : 0, c = prev && i >= 3 ? prev[i - 3] : 0;
      int pred = type == 0 ? 0 : type == 1 ? a : type == 2 ? b : type == 3 ? (a + b) / 2 : paeth(a, b, c);
      uint8_t r = (uint8_t)(cur[i] - pred);
      scratch[i] = r;
      cost += r < 128 ? r : 256 - r;
    }
    if (best < 0 || cost < best) {
      best = cost;
      out[0] = (uint8_t)type;
      memcpy(out + 1, scratch, n);
    }
  }
}

int png_write_rgb(const char *path, const uint8_t *rgb, int width, int height) {
  size_t stride = (size_t)width * 3, row = stride + 1;
  size_t raw_len = row * (size_t)height;
  uLongf z_len = compressBound((uLong)raw_len);
  uint8_t *raw = malloc(raw_len), *z = malloc(z_len), *scratch = malloc(stride);
  int rc = -1;
  if (raw && z && scratch) {
    for (int y = 0; y < height; y++)
      filter_row(rgb + (size_t)y * stride, y ? rgb + (size_t)(y - 1) * stride : NULL, stride,
                 raw + (size_t)y * row, scratch);
    if (compress2(z, &z_len, raw, (uLong)raw_len, 9) == Z_OK) {
      uint8_t ihdr[13];
      put32(ihdr, (uint32_t)width);
      put32(ihdr + 4, (uint32_t)height);
      ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
      static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
      FILE *f = fopen(path, "wb");
      if (f) {
        rc = fwrite(sig, 1, 8, f) == 8 && write_chunk(f, "IHDR", ihdr, 13) == 0 &&
                     write_chunk(f, "IDAT", z, (uint32_t)z_len) == 0 &&
                     write_chunk(f, "IEND", NULL, 0) == 0 ? 0 : -1;
        if (fclose(f) != 0) rc = -1;
      }
    }
  }
  free(raw);
  free(z);
  free(scratch);
  return rc;
}
