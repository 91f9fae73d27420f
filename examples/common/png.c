#include "png.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t crc_table[256];

static void crc_init(void) {
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t c = n;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    crc_table[n] = c;
  }
}

static uint32_t crc_update(uint32_t crc, const uint8_t *buf, size_t len) {
  for (size_t i = 0; i < len; i++) crc = crc_table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static int write_chunk(FILE *f, const char *type, const uint8_t *data, uint32_t len) {
  uint8_t hdr[8];
  put32(hdr, len);
  memcpy(hdr + 4, type, 4);
  uint32_t crc = crc_update(0xffffffffu, hdr + 4, 4);
  crc = crc_update(crc, data, len) ^ 0xffffffffu;
  uint8_t tail[4];
  put32(tail, crc);
  return fwrite(hdr, 1, 8, f) == 8 && (len == 0 || fwrite(data, 1, len, f) == len) &&
                 fwrite(tail, 1, 4, f) == 4 ? 0 : -1;
}

int png_write_rgb(const char *path, const uint8_t *rgb, int width, int height) {
  crc_init();
  size_t row = (size_t)width * 3 + 1; /* filter byte + pixels */
  size_t raw_len = row * (size_t)height;
  size_t blocks = (raw_len + 65534) / 65535;
  size_t z_len = 2 + raw_len + blocks * 5 + 4;
  uint8_t *raw = malloc(raw_len), *z = malloc(z_len);
  if (!raw || !z) { free(raw); free(z); return -1; }
  for (int y = 0; y < height; y++) {
    raw[y * row] = 0;
    memcpy(raw + y * row + 1, rgb + (size_t)y * width * 3, (size_t)width * 3);
  }
  /* zlib stream of stored blocks */
  size_t o = 0;
  z[o++] = 0x78; z[o++] = 0x01;
  uint32_t a = 1, b = 0;
  for (size_t i = 0; i < raw_len; i++) { a = (a + raw[i]) % 65521; b = (b + a) % 65521; }
  for (size_t off = 0; off < raw_len; off += 65535) {
    size_t n = raw_len - off < 65535 ? raw_len - off : 65535;
    z[o++] = off + n == raw_len ? 1 : 0;
    z[o++] = (uint8_t)n; z[o++] = (uint8_t)(n >> 8);
    z[o++] = (uint8_t)~n; z[o++] = (uint8_t)(~n >> 8);
    memcpy(z + o, raw + off, n);
    o += n;
  }
  put32(z + o, (b << 16) | a);
  o += 4;
  uint8_t ihdr[13];
  put32(ihdr, (uint32_t)width);
  put32(ihdr + 4, (uint32_t)height);
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  FILE *f = fopen(path, "wb");
  int rc = -1;
  if (f) {
    rc = fwrite(sig, 1, 8, f) == 8 && write_chunk(f, "IHDR", ihdr, 13) == 0 &&
                 write_chunk(f, "IDAT", z, (uint32_t)o) == 0 && write_chunk(f, "IEND", NULL, 0) == 0
             ? 0 : -1;
    if (fclose(f) != 0) rc = -1;
  }
  free(raw);
  free(z);
  return rc;
}

int canvas_init(canvas *c, int width, int height, uint8_t background) {
  c->width = width;
  c->height = height;
  c->rgb = malloc((size_t)width * height * 3);
  if (!c->rgb) return -1;
  memset(c->rgb, background, (size_t)width * height * 3);
  return 0;
}

void canvas_free(canvas *c) { free(c->rgb); c->rgb = NULL; }

/* A perceptually ordered dark-to-bright ramp (black, purple, orange, pale yellow). */
static void ramp(double t, uint8_t *px) {
  static const double stops[5][3] = {{0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}};
  if (t < 0) t = 0;
  if (t > 1) t = 1;
  double s = t * 4;
  int i = (int)s;
  if (i >= 4) i = 3;
  double f = s - i;
  for (int k = 0; k < 3; k++) px[k] = (uint8_t)(stops[i][k] + f * (stops[i + 1][k] - stops[i][k]) + 0.5);
}

void canvas_heatmap(canvas *c, int x, int y, const double *values, int rows, int cols,
                    int scale, double vmax) {
  if (vmax <= 0)
    for (int k = 0; k < rows * cols; k++) if (values[k] > vmax) vmax = values[k];
  if (vmax <= 0) vmax = 1;
  for (int r = 0; r < rows; r++)
    for (int q = 0; q < cols; q++) {
      uint8_t px[3];
      ramp(values[r * cols + q] / vmax, px);
      for (int dy = 0; dy < scale; dy++)
        for (int dx = 0; dx < scale; dx++) {
          int yy = y + r * scale + dy, xx = x + q * scale + dx;
          if (yy < 0 || yy >= c->height || xx < 0 || xx >= c->width) continue;
          memcpy(c->rgb + ((size_t)yy * c->width + xx) * 3, px, 3);
        }
    }
}
