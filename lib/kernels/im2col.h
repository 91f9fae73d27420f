/* Patch gather / scatter shared by every convolution.
 *
 * Geometry: an image (C, H, W) and a grid of patches (OH, OW). Patch (p, q), kernel tap
 * (ky, kx) touches image pixel (p*stride + ky - pad_t, q*stride + kx - pad_l); taps outside
 * the image read zero (im2col) or are dropped (col2im). A column matrix has one row per
 * (c, ky, kx), row index (c*kh + ky)*kw + kx, and OH*OW columns.
 * For a convolution the image is its input; for a transposed convolution its output (the
 * pads are then the output crop). */
#ifndef DS_KERNELS_IM2COL_H
#define DS_KERNELS_IM2COL_H

#include <stdint.h>

typedef struct ds__conv_geom {
  int64_t c, h, w;        /* image (C, H, W) */
  int64_t kh, kw, stride;
  int64_t pad_t, pad_l;
  int64_t oh, ow;         /* patch grid */
} ds__conv_geom;

/* col (k1 - k0, OH*OW; row stride ldcol) = rows [k0, k1) of the column matrix of img. */
void ds__im2col(const ds__conv_geom *g, const float *img, int64_t k0, int64_t k1, float *col,
                int64_t ldcol);

/* One micro-kernel panel of the column matrix, read from the image: dst[k * nr + c] =
 * col[k0 + k][j0 + c] for k < kc, c < n; 0 for n <= c < nr. The GEMM packs B this way
 * (kernels/gemm.h, ds__gemm_implicit_b), so the column matrix is never stored. */
void ds__im2col_panel(const ds__conv_geom *g, const float *img, int64_t k0, int64_t kc,
                      int64_t j0, int64_t n, int64_t nr, float *dst);

/* img (C, H, W) += scatter of col (C*kh*kw, OH*OW; row stride ldcol). */
void ds__col2im(const ds__conv_geom *g, const float *col, int64_t ldcol, float *img);

/* One micro-kernel panel of the column matrix's transpose (weight gradients): the column
 * matrices of images img + i * img_stride side by side (image i's columns at i*OH*OW..),
 * dst[k * nr + c] = col[tap0 + c][pix0 + k] for k < kc, c < ntaps; 0 for ntaps <= c < nr. */
void ds__im2col_panel_t(const ds__conv_geom *g, const float *img, int64_t img_stride,
                        int64_t pix0, int64_t kc, int64_t tap0, int64_t ntaps, int64_t nr,
                        float *dst);

/* img = [img +] bias[c] (0 without bias) + scatter of col, the same additions in the same
 * order as filling img first and then ds__col2im (one pass over img on AVX-512). */
void ds__col2im_init(const ds__conv_geom *g, const float *col, int64_t ldcol,
                     const float *bias, int accumulate, float *img);

/* 1 when the column matrix is the image itself (1x1, stride 1, no pad, same grid). */
int ds__im2col_is_identity(const ds__conv_geom *g);

#endif
