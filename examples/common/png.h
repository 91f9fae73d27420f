/* Minimal PNG writer for the examples: 8-bit RGB, uncompressed (stored) deflate blocks,
 * so it needs no zlib. Plus a tiny canvas for side-by-side panels. */
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
/* Paint values (rows, cols), row 0 at the top, as a heat map into the rectangle at
 * (x, y) scaled to [0, vmax] (vmax <= 0: the maximum of the values). */
void canvas_heatmap(canvas *c, int x, int y, const double *values, int rows, int cols,
                    int scale, double vmax);

#endif
