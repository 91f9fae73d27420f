#include "figures.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "png.h"

static const uint8_t INK[3] = {30, 30, 30}, GREY[3] = {150, 150, 150}, PAPER = 255;
#define TITLE_H 26

int figure_image_grid(const char *path, const char *title, const float *images, int64_t n,
                      int height, int width, int channels, int per_row,
                      const char *const *row_labels) {
  if (n < 1 || per_row < 1) { errno = EINVAL; return -1; }
  if (per_row > n) per_row = (int)n;
  int rows = (int)((n + per_row - 1) / per_row);
  int scale = height <= 16 ? 4 : height <= 32 ? 3 : height <= 64 ? 2 : 1, gap = 2;
  int label_w = 0;
  for (int r = 0; row_labels && r < rows; r++)
    if (canvas_text_width(row_labels[r]) + 12 > label_w) label_w = canvas_text_width(row_labels[r]) + 12;
  int grid_w = per_row * (width * scale + gap) - gap, grid_h = rows * (height * scale + gap) - gap;
  char caption[128];
  snprintf(caption, sizeof caption, "%lld image%s, %dx%d%s, [-1, 1] shown black..white",
           (long long)n, n == 1 ? "" : "s", height, width, channels == 3 ? " RGB" : "");
  int body_w = label_w + grid_w;
  int w = 16 + (body_w > canvas_text_width(caption) ? body_w : canvas_text_width(caption));
  if (canvas_text_width(title) + 16 > w) w = canvas_text_width(title) + 16;
  int h = TITLE_H + grid_h + 8 + CANVAS_CHAR_H + 8;
  canvas c;
  if (canvas_init(&c, w, h, PAPER) != 0) return -1;
  canvas_text(&c, 8, 6, title, INK);
  uint8_t border[3] = {200, 200, 200};
  canvas_rect(&c, 8 + label_w - 1, TITLE_H - 1, grid_w + 2, grid_h + 2, border);
  canvas_image_grid(&c, 8 + label_w, TITLE_H, images, n, height, width, channels, per_row, scale, gap);
  for (int r = 0; row_labels && r < rows; r++)
    canvas_text(&c, 8, TITLE_H + r * (height * scale + gap) + (height * scale - CANVAS_CHAR_H) / 2,
                row_labels[r], INK);
  canvas_text(&c, 8, TITLE_H + grid_h + 6, caption, GREY);
  int rc = canvas_write(&c, path);
  canvas_free(&c);
  return rc;
}

/* "-4.5" for axis ends: short numbers. */
static void number(char *buf, size_t size, double v) { snprintf(buf, size, "%.3g", v); }

int figure_grid_panels(const char *path, const char *title, const double *const *grids,
                       const double *vmax, const char *const *panel_titles, int panels, int bins,
                       double box, int scale, const char *caption) {
  int side = bins * scale, margin_l = 40, gap = 22;
  int titled = 0; /* panel titles take a line */
  for (int p = 0; p < panels; p++) titled |= panel_titles[p][0] != '\0';
  int top = TITLE_H + (titled ? 22 : 4);
  int w = margin_l + panels * (side + gap) + 70, h = top + side + 44;
  if (margin_l + canvas_text_width(caption) + 8 > w) w = margin_l + canvas_text_width(caption) + 8;
  if (canvas_text_width(title) + 16 > w) w = canvas_text_width(title) + 16;
  canvas c;
  if (canvas_init(&c, w, h, PAPER) != 0) return -1;
  canvas_text(&c, 8, 6, title, INK);
  char lo[32], hi[32];
  number(lo, sizeof lo, -box);
  number(hi, sizeof hi, box);
  for (int p = 0; p < panels; p++) {
    int x0 = margin_l + p * (side + gap);
    canvas_text_centered(&c, x0 + side / 2, top - 20, panel_titles[p], INK);
    canvas_heatmap(&c, x0, top, grids[p], bins, bins, scale, vmax ? vmax[p] : 0);
    canvas_frame(&c, x0 - 1, top - 1, side + 2, side + 2, INK);
    /* axis range: x under every panel, y left of the first */
    canvas_text(&c, x0, top + side + 4, lo, INK);
    canvas_text(&c, x0 + side - canvas_text_width(hi), top + side + 4, hi, INK);
    canvas_text_centered(&c, x0 + side / 2, top + side + 4, "x", GREY);
    if (p == 0) {
      canvas_text(&c, x0 - 4 - canvas_text_width(hi), top, hi, INK);
      canvas_text(&c, x0 - 4 - canvas_text_width(lo), top + side - CANVAS_CHAR_H, lo, INK);
      canvas_text(&c, x0 - 4 - CANVAS_CHAR_W, top + side / 2 - CANVAS_CHAR_H / 2, "y", GREY);
    }
  }
  canvas_colorbar(&c, margin_l + panels * (side + gap) - gap + 14, top, side, 0, 1, "of max");
  canvas_text(&c, margin_l, top + side + 22, caption, GREY);
  int rc = canvas_write(&c, path);
  canvas_free(&c);
  return rc;
}

int figure_density_panels(const char *path, const char *title, const float *const *points,
                          const int64_t *count, const char *const *panel_titles, int panels,
                          double box, int bins, int scale) {
  double *hist = malloc(sizeof(double) * (size_t)bins * bins * (size_t)panels);
  const double **grids = malloc(sizeof(double *) * (size_t)panels);
  if (!hist || !grids) {
    free(hist);
    free(grids);
    return -1;
  }
  memset(hist, 0, sizeof(double) * (size_t)bins * bins * (size_t)panels);
  for (int p = 0; p < panels; p++) {
    double *h = hist + (size_t)p * bins * bins;
    grids[p] = h;
    for (int64_t i = 0; i < count[p]; i++) {
      double px = points[p][2 * i], py = points[p][2 * i + 1];
      int bx = (int)floor((px + box) / (2 * box) * bins), by = (int)floor((py + box) / (2 * box) * bins);
      if (bx < 0 || by < 0 || bx >= bins || by >= bins) continue;
      h[(bins - 1 - by) * bins + bx] += 1; /* y up */
    }
  }
  char caption[160];
  if (panels == 1)
    snprintf(caption, sizeof caption, "2-D histogram of %lld points, %dx%d bins, scaled to its maximum",
             (long long)count[0], bins, bins);
  else
    snprintf(caption, sizeof caption, "each panel: 2-D histogram, %dx%d bins, scaled to its own maximum",
             bins, bins);
  int rc = figure_grid_panels(path, title, grids, NULL, panel_titles, panels, bins, box, scale, caption);
  free(hist);
  free(grids);
  return rc;
}

/* Tick values: about `want` round numbers (1, 2, 5 x 10^k steps) covering [lo, hi]. */
static int nice_ticks(double lo, double hi, int want, double *ticks, int max) {
  double span = hi - lo;
  if (!(span > 0)) span = fabs(lo) > 0 ? fabs(lo) : 1;
  double raw = span / want, mag = pow(10, floor(log10(raw))), step = mag;
  if (raw / mag > 5) step = 10 * mag;
  else if (raw / mag > 2) step = 5 * mag;
  else if (raw / mag > 1) step = 2 * mag;
  int n = 0;
  for (double t = ceil(lo / step) * step; t <= hi + 1e-9 * span && n < max; t += step)
    ticks[n++] = fabs(t) < 1e-12 * span ? 0 : t;
  return n;
}

int figure_line_plot(const char *path, const char *title, const char *x_label,
                     const char *y_label, const double *x, const double *const *y,
                     const char *const *names, int series, int n, int log_x) {
  static const uint8_t colours[6][3] = {{31, 119, 180}, {214, 39, 40}, {44, 160, 44},
                                        {148, 103, 189}, {255, 127, 14}, {23, 190, 207}};
  const int W = 860, H = 400, left = 70, right = 250, top = TITLE_H + 26, bottom = 50;
  int pw = W - left - right, ph = H - top - bottom;
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (int i = 0; i < n; i++) {
    double xv = log_x ? log10(x[i]) : x[i];
    if (xv < xmin) xmin = xv;
    if (xv > xmax) xmax = xv;
    for (int s = 0; s < series; s++) {
      if (isnan(y[s][i])) continue;
      if (y[s][i] < ymin) ymin = y[s][i];
      if (y[s][i] > ymax) ymax = y[s][i];
    }
  }
  if (!(ymax > ymin)) { ymin -= 1; ymax += 1; }
  if (!(xmax > xmin)) { xmin -= 1; xmax += 1; }
  double pad = 0.06 * (ymax - ymin);
  ymin -= pad;
  ymax += pad;
  canvas c;
  if (canvas_init(&c, W, H, PAPER) != 0) return -1;
  canvas_text(&c, 8, 6, title, INK);
  uint8_t light[3] = {228, 228, 228};
  double ticks[32];
  char label[32];
  int nt = nice_ticks(ymin, ymax, 6, ticks, 32);
  for (int t = 0; t < nt; t++) {
    int py = top + (int)lround((ymax - ticks[t]) / (ymax - ymin) * ph);
    canvas_rect(&c, left, py, pw, 1, light);
    snprintf(label, sizeof label, "%g", ticks[t]);
    canvas_text(&c, left - 6 - canvas_text_width(label), py - CANVAS_CHAR_H / 2, label, INK);
  }
  if (log_x) { /* ticks at the data's x values */
    for (int i = 0; i < n; i++) {
      int px = left + (int)lround((log10(x[i]) - xmin) / (xmax - xmin) * pw);
      canvas_rect(&c, px, top, 1, ph, light);
      snprintf(label, sizeof label, "%g", x[i]);
      canvas_text_centered(&c, px, top + ph + 4, label, INK);
    }
  } else {
    nt = nice_ticks(xmin, xmax, 6, ticks, 32);
    for (int t = 0; t < nt; t++) {
      int px = left + (int)lround((ticks[t] - xmin) / (xmax - xmin) * pw);
      canvas_rect(&c, px, top, 1, ph, light);
      snprintf(label, sizeof label, "%g", ticks[t]);
      canvas_text_centered(&c, px, top + ph + 4, label, INK);
    }
  }
  canvas_frame(&c, left, top, pw + 1, ph + 1, INK);
  canvas_text_centered(&c, left + pw / 2, H - 22, x_label, INK);
  canvas_text(&c, 8, TITLE_H + 2, y_label, INK); /* the y axis's label, above it */
  for (int s = 0; s < series; s++) {
    const uint8_t *col = colours[s % 6];
    double px_prev = 0, py_prev = 0;
    int have_prev = 0;
    for (int i = 0; i < n; i++) {
      if (isnan(y[s][i])) { have_prev = 0; continue; }
      double xv = log_x ? log10(x[i]) : x[i];
      double px = left + (xv - xmin) / (xmax - xmin) * pw, py = top + (ymax - y[s][i]) / (ymax - ymin) * ph;
      if (have_prev) {
        canvas_line(&c, px_prev, py_prev, px, py, col);
        canvas_line(&c, px_prev, py_prev + 1, px, py + 1, col);
      }
      canvas_rect(&c, (int)lround(px) - 2, (int)lround(py) - 2, 5, 5, col);
      px_prev = px, py_prev = py, have_prev = 1;
    }
    /* legend, right of the plot */
    int lx = left + pw + 16, ly = top + 8 + s * (CANVAS_CHAR_H + 6);
    canvas_rect(&c, lx, ly + CANVAS_CHAR_H / 2 - 1, 18, 3, col);
    canvas_text(&c, lx + 24, ly, names[s], INK);
  }
  int rc = canvas_write(&c, path);
  canvas_free(&c);
  return rc;
}
