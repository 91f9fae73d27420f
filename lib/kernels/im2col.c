#include "kernels/im2col.h"

#include "kernels/short_copy.h"

int ds__im2col_is_identity(const ds__conv_geom *g) {
  return g->kh == 1 && g->kw == 1 && g->stride == 1 && g->pad_t == 0 && g->pad_l == 0 &&
         g->oh == g->h && g->ow == g->w;
}

/* Output columns q with 0 <= q*s + off < w: [*q0, *q1). */
static void valid_range(int64_t off, int64_t s, int64_t w, int64_t ow, int64_t *q0,
                        int64_t *q1) {
  int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
  int64_t b = w - off <= 0 ? 0 : (w - off + s - 1) / s;
  if (b > ow) b = ow;
  if (a > b) a = b;
  *q0 = a, *q1 = b;
}

void ds__im2col(const ds__conv_geom *g, const float *img, int64_t k0, int64_t k1, float *col,
                int64_t ldcol) {
  const int64_t kk = g->kh * g->kw, s = g->stride;
  for (int64_t k = k0; k < k1; k++) {
    int64_t c = k / kk, ky = k % kk / g->kw, kx = k % g->kw;
    const float *src = img + c * g->h * g->w;
    float *dst = col + (k - k0) * ldcol;
    int64_t q0, q1;
    valid_range(kx - g->pad_l, s, g->w, g->ow, &q0, &q1);
    for (int64_t p = 0; p < g->oh; p++) {
      float *d = dst + p * g->ow;
      int64_t iy = p * s + ky - g->pad_t;
      if (iy < 0 || iy >= g->h) {
        ds__zero_short(d, g->ow);
        continue;
      }
      const float *row = src + iy * g->w;
      const int64_t off = kx - g->pad_l;
      for (int64_t q = 0; q < q0; q++) d[q] = 0.0f;
      if (s == 1 && q1 > q0)
        ds__copy_short(d + q0, row + q0 + off, q1 - q0);
      else
        for (int64_t q = q0; q < q1; q++) d[q] = row[q * s + off];
      for (int64_t q = q1; q < g->ow; q++) d[q] = 0.0f;
    }
  }
}

void ds__col2im(const ds__conv_geom *g, const float *col, int64_t ldcol, float *img) {
  const int64_t kk = g->kh * g->kw, s = g->stride;
  /* Rows of one channel are added in k order, so each pixel's sum order is fixed. */
  for (int64_t k = 0; k < g->c * kk; k++) {
    int64_t c = k / kk, ky = k % kk / g->kw, kx = k % g->kw;
    float *dst = img + c * g->h * g->w;
    const float *src = col + k * ldcol;
    int64_t q0, q1;
    valid_range(kx - g->pad_l, s, g->w, g->ow, &q0, &q1);
    for (int64_t p = 0; p < g->oh; p++) {
      int64_t iy = p * s + ky - g->pad_t;
      if (iy < 0 || iy >= g->h) continue;
      float *row = dst + iy * g->w;
      const int64_t off = kx - g->pad_l;
      const float *d = src + p * g->ow;
      if (s == 1) {
        float *restrict r = row + off + q0;
        const float *restrict e = d + q0;
        for (int64_t q = 0; q < q1 - q0; q++) r[q] += e[q];
      } else {
        for (int64_t q = q0; q < q1; q++) row[q * s + off] += d[q];
      }
    }
  }
}
