/* The three matrix products every convolution is made of (conv2d, transposed conv, nin,
 * masked conv all call these). Geometry g relates an image (C, H, W) to a patch grid
 * (OH, OW); its column matrix im2col(img) is (Kc = C*kh*kw, P = OH*OW).
 *
 *   gather_gemm:  out_b (M, P)      (+)= op(A) (M, Kc) im2col(img_b) + bias
 *   gemm_scatter: img_b (C, H, W)   (+)= col2im(op(A) (Kc, M) src_b (M, P)) + bias
 *   weight_grad:  dW (M, Kc)        (+)= sum_b a_b (M, P) im2col(img_b)^T
 *
 * gather_gemm never stores im2col: the GEMM packs each panel from the image
 * (ds__im2col_panel) and adds the bias in its epilogue, one image at a time (its weights
 * packed once per call and thread, or given packed). weight_grad builds the transposed
 * panels from the images the same way where the vector path exists (stride 1, same-size
 * grid, AVX-512), else through an im2col matrix; it and gemm_scatter process small patch
 * grids several images at a time (G = 1024 / P images side by side as columns of one
 * product). Images are split over the pool's threads (with fewer images than threads the
 * work inside an image is split instead: GEMM column panels, col2im image channels);
 * weight_grad splits Kc. Every output element is summed in an order fixed by the shapes
 * alone: bitwise identical for any thread count. ws holds ds__conv_engine_ws(g, M, batch)
 * floats per thread.
 *
 * Workspace rules for every conv-family op (conv2d, deconv2d, nin, masked conv): ask the
 * op's *_workspace(shape, threads) with threads = ds__pool_threads(pool) of the pool that
 * will run it; a size computed for the largest batch also serves any smaller batch; the
 * contents are scratch, not kept between calls, so one buffer of the maximum size over all
 * ops can serve every op of a network run sequentially (never two calls at once). The
 * GEMM's packing buffers are per thread (about 368 KiB, thread-local). */
#ifndef DS_KERNELS_CONV_ENGINE_H
#define DS_KERNELS_CONV_ENGINE_H

#include <stdint.h>

#include "core/pool.h"
#include "kernels/im2col.h"

/* Workspace floats per thread. */
int64_t ds__conv_engine_ws(const ds__conv_geom *g, int64_t m, int64_t batch);

/* a_packed: op(A) already packed by ds__gemm_pack_a (then a, lda are not read), or NULL. */
void ds__conv_gather_gemm(ds__pool *pool, const ds__conv_geom *g, int64_t batch,
                          const float *img, int64_t img_stride, int trans_a, const float *a,
                          int64_t lda, const float *a_packed, int64_t m, const float *bias,
                          float *out, int64_t out_stride, int accumulate, float *ws);

void ds__conv_gemm_scatter(ds__pool *pool, const ds__conv_geom *g, int64_t batch,
                           const float *src, int64_t src_stride, int trans_a, const float *a,
                           int64_t lda, int64_t m, const float *bias, float *img,
                           int64_t img_stride, int accumulate, float *ws);

void ds__conv_weight_grad(ds__pool *pool, const ds__conv_geom *g, int64_t batch,
                          const float *a, int64_t a_stride, int64_t m, const float *img,
                          int64_t img_stride, float *dw, int accumulate, float *ws);

/* db[o] (+)= sum over b and pixels of dy (B, Cout, P); float64 sums in fixed order. */
void ds__conv_bias_grad(ds__pool *pool, int64_t batch, int64_t cout, int64_t pixels,
                        const float *dy, float *db, int accumulate);

#endif
