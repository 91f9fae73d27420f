/* PNG figures for the examples and the dsmooth tool: an 8-bit RGB writer (zlib deflate
 * with per-row PNG filters) and a canvas with what labelled panels need: text in a small
 * built-in font, lines, rectangles, heat maps with a colour scale, and image grids. */
#ifndef DS_EXAMPLE_PNG_H
#define DS_EXAMPLE_PNG_H

#include <stdint.h>

/* rgb is (height, width, 3). Returns 0 on success, -1 on I/O error (errno set). */
int png_write_rgb(const char *path, const uint8_t *rgb, int width, int height);

typedef struct canvas {
  int width, height;
  uint8_t *rgb; /* (height, width, 3) */
} canvas;

int canvas_init(canvas *c, int width, int height, uint8_t background);
void canvas_free(canvas *c);
/* Write the canvas as a PNG: 0, or -1 with errno set. */
int canvas_write(const canvas *c, const char *path);

/* Paint values (rows, cols), row 0 at the top, as a heat map into the rectangle at
 * (x, y) scaled to [0, vmax] (vmax <= 0: the maximum of the values). */
void canvas_heatmap(canvas *c, int x, int y, const double *values, int rows, int cols,
                    int scale, double vmax);
/* The colour of t in [0, 1] on the heat maps' ramp. */
void canvas_ramp(double t, uint8_t rgb[3]);

/* Text in the built-in font (FONT_W x FONT_H pixels a character), top-left at (x, y). */
#define CANVAS_CHAR_W 7
#define CANVAS_CHAR_H 15
void canvas_text(canvas *c, int x, int y, const char *text, const uint8_t rgb[3]);
/* The width of text in pixels. */
int canvas_text_width(const char *text);
/* Centred on x. */
void canvas_text_centered(canvas *c, int x, int y, const char *text, const uint8_t rgb[3]);
void canvas_rect(canvas *c, int x, int y, int w, int h, const uint8_t rgb[3]); /* filled */
void canvas_frame(canvas *c, int x, int y, int w, int h, const uint8_t rgb[3]); /* outline */
void canvas_line(canvas *c, double x0, double y0, double x1, double y1, const uint8_t rgb[3]);

/* A vertical colour bar for [vmin, vmax] at (x, y), h pixels tall, with the two end values
 * and the midpoint as labels to its right; returns the width used. */
int canvas_colorbar(canvas *c, int x, int y, int h, double vmin, double vmax, const char *unit);

/* n grayscale or RGB images (height, width, channels) in [-1, 1] (values outside are
 * clipped) at (x, y), `per_row` a row, each magnified `scale` times with a `gap`. */
void canvas_image_grid(canvas *c, int x, int y, const float *images, int64_t n, int height,
                       int width, int channels, int per_row, int scale, int gap);

#endif
