/* Drawing on an RGB canvas: text, lines, heat maps, colour bars, image grids. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "font.h"
#include "png.h"

int canvas_init(canvas *c, int width, int height, uint8_t background) {
  c->width = width;
  c->height = height;
  c->rgb = malloc((size_t)width * height * 3);
  if (!c->rgb) return -1;
  memset(c->rgb, background, (size_t)width * height * 3);
  return 0;
}

void canvas_free(canvas *c) { free(c->rgb); c->rgb = NULL; }

int canvas_write(const canvas *c, const char *path) {
  return png_write_rgb(path, c->rgb, c->width, c->height);
}

static void blend(canvas *c, int x, int y, const uint8_t rgb[3], int alpha) {
  if (x < 0 || y < 0 || x >= c->width || y >= c->height || alpha <= 0) return;
  uint8_t *p = c->rgb + ((size_t)y * c->width + x) * 3;
  for (int k = 0; k < 3; k++) p[k] = (uint8_t)((p[k] * (255 - alpha) + rgb[k] * alpha + 127) / 255);
}

/* A perceptually ordered dark-to-bright ramp (black, purple, orange, pale yellow). */
void canvas_ramp(double t, uint8_t px[3]) {
  static const double stops[5][3] = {{0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}};
  if (!(t > 0)) t = 0;
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
      canvas_ramp(values[r * cols + q] / vmax, px);
      canvas_rect(c, x + q * scale, y + r * scale, scale, scale, px);
    }
}

void canvas_text(canvas *c, int x, int y, const char *text, const uint8_t rgb[3]) {
  for (const char *s = text; *s; s++, x += FONT_W) {
    unsigned ch = (unsigned char)*s;
    if (ch < 32 || ch > 126) ch = '?';
    const unsigned char *g = font_glyphs[ch - 32];
    for (int r = 0; r < FONT_H; r++)
      for (int q = 0; q < FONT_W; q++) blend(c, x + q, y + r, rgb, g[r * FONT_W + q]);
  }
}

int canvas_text_width(const char *text) { return (int)strlen(text) * FONT_W; }

void canvas_text_centered(canvas *c, int x, int y, const char *text, const uint8_t rgb[3]) {
  canvas_text(c, x - canvas_text_width(text) / 2, y, text, rgb);
}

void canvas_rect(canvas *c, int x, int y, int w, int h, const uint8_t rgb[3]) {
  for (int r = y < 0 ? 0 : y; r < y + h && r < c->height; r++)
    for (int q = x < 0 ? 0 : x; q < x + w && q < c->width; q++)
      memcpy(c->rgb + ((size_t)r * c->width + q) * 3, rgb, 3);
}

void canvas_frame(canvas *c, int x, int y, int w, int h, const uint8_t rgb[3]) {
  canvas_rect(c, x, y, w, 1, rgb);
  canvas_rect(c, x, y + h - 1, w, 1, rgb);
  canvas_rect(c, x, y, 1, h, rgb);
  canvas_rect(c, x + w - 1, y, 1, h, rgb);
}

/* Anti-aliased line (Xiaolin Wu's idea, simplified: coverage split between two pixels). */
void canvas_line(canvas *c, double x0, double y0, double x1, double y1, const uint8_t rgb[3]) {
  double dx = x1 - x0, dy = y1 - y0;
  int steep = fabs(dy) > fabs(dx);
  double len = steep ? fabs(dy) : fabs(dx);
  int steps = (int)ceil(len) + 1;
  for (int i = 0; i <= steps; i++) {
    double t = steps ? (double)i / steps : 0;
    double x = x0 + t * dx, y = y0 + t * dy;
    if (steep) {
      int xi = (int)floor(x);
      double f = x - xi;
      blend(c, xi, (int)lround(y), rgb, (int)(255 * (1 - f)));
      blend(c, xi + 1, (int)lround(y), rgb, (int)(255 * f));
    } else {
      int yi = (int)floor(y);
      double f = y - yi;
      blend(c, (int)lround(x), yi, rgb, (int)(255 * (1 - f)));
      blend(c, (int)lround(x), yi + 1, rgb, (int)(255 * f));
    }
  }
}

int canvas_colorbar(canvas *c, int x, int y, int h, double vmin, double vmax, const char *unit) {
  static const uint8_t ink[3] = {40, 40, 40};
  const int w = 12;
  for (int r = 0; r < h; r++) {
    uint8_t px[3];
    canvas_ramp(1.0 - (double)r / (h - 1), px);
    canvas_rect(c, x, y + r, w, 1, px);
  }
  canvas_frame(c, x - 1, y - 1, w + 2, h + 2, ink);
  char label[48];
  int widest = 0;
  for (int i = 0; i < 3; i++) {
    double v = vmax - (vmax - vmin) * i / 2.0;
    snprintf(label, sizeof label, "%.3g", v);
    int ly = y + (h - 1) * i / 2 - FONT_H / 2;
    canvas_rect(c, x + w, y + (h - 1) * i / 2, 3, 1, ink);
    canvas_text(c, x + w + 5, ly, label, ink);
    if (canvas_text_width(label) > widest) widest = canvas_text_width(label);
  }
  if (unit && *unit) {
    canvas_text(c, x + w + 5, y + h + 4, unit, ink);
    if (canvas_text_width(unit) > widest) widest = canvas_text_width(unit);
  }
  return w + 5 + widest;
}

void canvas_image_grid(canvas *c, int x, int y, const float *images, int64_t n, int height,
                       int width, int channels, int per_row, int scale, int gap) {
  int cell_w = width * scale + gap, cell_h = height * scale + gap;
  for (int64_t i = 0; i < n; i++) {
    const float *img = images + i * (int64_t)height * width * channels;
    int ox = x + (int)(i % per_row) * cell_w, oy = y + (int)(i / per_row) * cell_h;
    for (int r = 0; r < height; r++)
      for (int q = 0; q < width; q++) {
        uint8_t px[3];
        for (int k = 0; k < 3; k++) {
          double v = img[((int64_t)r * width + q) * channels + (channels == 3 ? k : 0)];
          v = v < -1 ? -1 : v > 1 ? 1 : v;
          if (v != v) v = -1;
          px[k] = (uint8_t)lround((v + 1) * 127.5);
        }
        canvas_rect(c, ox + q * scale, oy + r * scale, scale, scale, px);
      }
  }
}
