/* Labelled figures written as PNG: every panel has a title, axes show their range, colour
 * maps have a scale. */
#ifndef DS_EXAMPLE_FIGURES_H
#define DS_EXAMPLE_FIGURES_H

#include <stdint.h>

/* n images (height, width, channels), values in [-1, 1] (clipped; black..white), in rows
 * of per_row under `title`. row_labels (NULL, or one per row) are written left of each
 * row. Returns 0, or -1 with errno set. */
int figure_image_grid(const char *path, const char *title, const float *images, int64_t n,
                      int height, int width, int channels, int per_row,
                      const char *const *row_labels);

/* Side-by-side 2-D histograms of points: panel p shows the count[p] points
 * points[p] (count[p], 2) binned into bins x bins cells over [-box, box]^2, y up, each
 * panel scaled to its own maximum (a colour bar gives the fraction of it). */
int figure_density_panels(const char *path, const char *title, const float *const *points,
                          const int64_t *count, const char *const *panel_titles, int panels,
                          double box, int bins, int scale);

/* Side-by-side heat maps of tabulated values over [-box, box]^2: grids[p] is (bins, bins),
 * row 0 at the top (largest y); panel p is scaled to vmax[p] (vmax NULL or vmax[p] <= 0:
 * its own maximum); `caption` says how (written under the panels). */
int figure_grid_panels(const char *path, const char *title, const double *const *grids,
                       const double *vmax, const char *const *panel_titles, int panels, int bins,
                       double box, int scale, const char *caption);

/* Lines y[s][i] over x[i] (i < n) for `series` series with their names in a legend;
 * log_x: logarithmic x axis (x > 0). NaN values leave a gap. */
int figure_line_plot(const char *path, const char *title, const char *x_label,
                     const char *y_label, const double *x, const double *const *y,
                     const char *const *names, int series, int n, int log_x);

#endif
