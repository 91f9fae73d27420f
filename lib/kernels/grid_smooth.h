/* Separable smoothing of densities tabulated on regular grids (see
 * ds_smoother_convolve_grid). Pure math over a pool; the caller provides all buffers. */
#ifndef DS_KERNELS_GRID_SMOOTH_H
#define DS_KERNELS_GRID_SMOOTH_H

#include <stdint.h>

#include "core/pool.h"

/* w[m] = probability that the noise moves mass from a cell to the cell m steps away,
 * m = 0..n-1 (symmetric: offset -m has the same weight): the noise CDF difference
 * F((m + 1/2) h) - F((m - 1/2) h), computed from the upper tail for accuracy. */
void ds__grid_offset_weights(int32_t family, double sigma, double h, int64_t n, double *w);

/* out[j][i] = sum_i' w[|i - i'|] in[j][i'] for every row j: (ny, nx) -> (ny, nx). */
void ds__grid_convolve_along_x(ds__pool *pool, const double *in, int64_t nx, int64_t ny,
                               const double *w, double *out);
/* out[j][i] = sum_j' w[|j - j'|] in[j'][i]: (ny, nx) -> (ny, nx). in != out. */
void ds__grid_convolve_along_y(ds__pool *pool, const double *in, int64_t nx, int64_t ny,
                               const double *w, double *out);

#endif
