#include "kernels/im2col.h"

#include <stdint.h>

#include "kernels/short_copy.h"

int ds__im2col_is_identity(const ds__conv_geom *g) {
  return g->kh == 1 && g->kw == 1 && g->stride == 1 && g->pad_t == 0 && g->pad_l == 0 &&
         g->oh == g->h && g->ow == g->w;
}

/* Output columns q with 0 <= q*s + off < w: [*q0, *q1). */
static void valid_range(int64_t off, int64_t s, int64_t w, int64_t ow, int64_t *q0,
                        int64_t *q1) {
  int64_t a, b;
  if (s == 1) { /* no division on the common path */
    a = off >= 0 ? 0 : -off;
    b = w - off <= 0 ? 0 : w - off;
  } else {
    a = off >= 0 ? 0 : (-off + s - 1) / s;
    b = w - off <= 0 ? 0 : (w - off + s - 1) / s;
  }
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

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DS_HAVE_AVX512_COL2IM 1
/* Stride 1, pixel by pixel: 16 pixels of an image row stay in a register while every tap
 * of their channel adds its column-matrix value in k order (a lane a tap does not reach is
 * left alone, as in the plain loop): the same additions in the same order per pixel, with
 * one load and store of the image instead of one per tap. */
static __mmask16 lanes16(int64_t a, int64_t b) { /* lanes [a, b) of 16 */
  a = a < 0 ? 0 : a, b = b > 16 ? 16 : b;
  return a >= b ? 0 : (__mmask16)(((1u << b) - 1u) & ~((1u << a) - 1u));
}

/* init 0: start from img; 1: from bias[ch] (or 0); 2: from img + bias[ch] */
__attribute__((target("avx512f"))) static void col2im_s1_avx512(const ds__conv_geom *g,
                                                                 const float *col,
                                                                 int64_t ldcol, float *img,
                                                                 int init, const float *bias) {
  const int64_t kk = g->kh * g->kw;
  for (int64_t ch = 0; ch < g->c; ch++)
    for (int64_t y = 0; y < g->h; y++) {
      float *row = img + (ch * g->h + y) * g->w;
      const __m512 bv = _mm512_set1_ps(bias ? bias[ch] : 0.0f);
      for (int64_t x0 = 0; x0 < g->w; x0 += 32) { /* two independent 16-pixel chains */
        const int64_t x1 = x0 + 16;
        const __mmask16 all0 = lanes16(0, g->w - x0), all1 = lanes16(0, g->w - x1);
        __m512 acc0 = init == 1 ? bv : _mm512_maskz_loadu_ps(all0, row + x0);
        __m512 acc1 = init == 1 ? bv : _mm512_maskz_loadu_ps(all1, row + x1);
        if (init == 2) acc0 = _mm512_add_ps(acc0, bv), acc1 = _mm512_add_ps(acc1, bv);
        for (int64_t ky = 0; ky < g->kh; ky++) {
          int64_t py = y - ky + g->pad_t; /* patch row reading this pixel through tap ky */
          if (py < 0 || py >= g->oh) continue;
          for (int64_t kx = 0; kx < g->kw; kx++) {
            int64_t shift = kx - g->pad_l; /* lane i reads patch column x0 + i - shift */
            const float *src = col + (ch * kk + ky * g->kw + kx) * ldcol + py * g->ow;
            __mmask16 m0 = all0 & lanes16(shift - x0, g->ow + shift - x0);
            __mmask16 m1 = all1 & lanes16(shift - x1, g->ow + shift - x1);
            acc0 = _mm512_mask_add_ps(acc0, m0, acc0, _mm512_maskz_loadu_ps(m0, src + x0 - shift));
            acc1 = _mm512_mask_add_ps(acc1, m1, acc1, _mm512_maskz_loadu_ps(m1, src + x1 - shift));
          }
        }
        _mm512_mask_storeu_ps(row + x0, all0, acc0);
        _mm512_mask_storeu_ps(row + x1, all1, acc1);
      }
    }
}
#endif

void ds__col2im(const ds__conv_geom *g, const float *col, int64_t ldcol, float *img) {
  const int64_t kk = g->kh * g->kw, s = g->stride;
#ifdef DS_HAVE_AVX512_COL2IM
  if (s == 1 && __builtin_cpu_supports("avx512f")) {
    col2im_s1_avx512(g, col, ldcol, img, 0, NULL);
    return;
  }
#endif
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

void ds__col2im_init(const ds__conv_geom *g, const float *col, int64_t ldcol,
                     const float *bias, int accumulate, float *img) {
  const int64_t hw = g->h * g->w;
#ifdef DS_HAVE_AVX512_COL2IM
  if (g->stride == 1 && (bias || !accumulate) && __builtin_cpu_supports("avx512f")) {
    col2im_s1_avx512(g, col, ldcol, img, accumulate ? 2 : 1, bias);
    return;
  }
#endif
  for (int64_t ch = 0; ch < g->c; ch++) {
    float bv = bias ? bias[ch] : 0.0f;
    if (!accumulate)
      for (int64_t q = 0; q < hw; q++) img[ch * hw + q] = bv;
    else if (bias)
      for (int64_t q = 0; q < hw; q++) img[ch * hw + q] += bv;
  }
  ds__col2im(g, col, ldcol, img);
}

/* ---- one GEMM panel of the column matrix, straight from the image ------------------------
 * Lane c of the panel is column j0 + c = output pixel (p_c, q_c); its source pixel for tap
 * (ky, kx) is base_c + off_t with base_c = p_c*s*w + q_c*s, off_t = (ky - pad_t)*w + kx - pad_l,
 * read iff row p_c*s + ky - pad_t and column q_c*s + kx - pad_l are inside the image (a row
 * mask per ky ANDed with a column mask per kx). With stride 1 and ow == w, base_c = j0 + c:
 * each panel row is one masked contiguous load. */
enum { PANEL_MAX = 32, TAPS_MAX = 64 };

/* bits [a, b) of a lane mask (0 <= a, b <= 32) */
static uint32_t lane_range(int64_t a, int64_t b) {
  if (a >= b) return 0;
  uint32_t hi = b >= 32 ? 0xFFFFFFFFu : (1u << b) - 1u;
  return hi & ~((1u << a) - 1u);
}

typedef struct panel_plan {
  int64_t off[TAPS_MAX];
  uint32_t mask[TAPS_MAX];
  int32_t base[PANEL_MAX];
  int contiguous;
} panel_plan;

#ifdef DS_HAVE_AVX512_COL2IM
#define DS_HAVE_AVX512_PANEL 1
/* rows k0..k0+kc-1 for nr = 16 or 32 lanes; masked-off lanes are not read */
__attribute__((target("avx512f"))) static void panel_rows_avx512(
    const panel_plan *pl, const float *img, int64_t hw, int64_t kk, int64_t k0, int64_t kc,
    int64_t nr, float *dst) {
  const float *plane = img + k0 / kk * hw;
  int64_t t = k0 % kk;
  const __m512i b0 = pl->contiguous ? _mm512_setzero_si512() : _mm512_loadu_si512(pl->base);
  const __m512i b1 = pl->contiguous ? _mm512_setzero_si512() : _mm512_loadu_si512(pl->base + 16);
  for (int64_t k = 0; k < kc; k++, dst += nr) {
    const __mmask16 m0 = (__mmask16)pl->mask[t], m1 = (__mmask16)(pl->mask[t] >> 16);
    const float *s = plane + pl->off[t];
    if (pl->contiguous) {
      s += pl->base[0];
      _mm_prefetch((const char *)(s + 2 * nr), _MM_HINT_T0);
      _mm512_storeu_ps(dst, _mm512_maskz_loadu_ps(m0, s));
      if (nr == 32) _mm512_storeu_ps(dst + 16, _mm512_maskz_loadu_ps(m1, s + 16));
    } else {
      _mm512_storeu_ps(dst, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m0, b0, s, 4));
      if (nr == 32)
        _mm512_storeu_ps(dst + 16, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m1, b1, s, 4));
    }
    if (++t == kk) t = 0, plane += hw;
  }
}
#endif

/* The plan of lanes [0, n) (n <= 32) = columns j0.. of the column matrix. */
static void make_plan(const ds__conv_geom *g, int64_t j0, int64_t n, panel_plan *pl) {
  const int64_t kk = g->kh * g->kw, s = g->stride;
  pl->contiguous = s == 1 && g->ow == g->w;
  /* lanes [0, n) cover output rows p_first.. in segments: lane L starts pixel (p, qs) */
  const int64_t p_first = j0 / g->ow, q_first = j0 % g->ow;
  uint32_t rowm[TAPS_MAX], colm[TAPS_MAX];
  for (int64_t ky = 0; ky < g->kh; ky++) { /* rows p with 0 <= p*s + ky - pad_t < h */
    int64_t pa, pb;
    valid_range(ky - g->pad_t, s, g->h, g->oh, &pa, &pb);
    int64_t la = pa * g->ow - j0, lb = pb * g->ow - j0; /* as lanes */
    rowm[ky] = lane_range(la < 0 ? 0 : la, lb > n ? n : lb);
  }
  for (int64_t kx = 0; kx < g->kw; kx++) { /* columns q with 0 <= q*s + kx - pad_l < w */
    int64_t qa, qb;
    valid_range(kx - g->pad_l, s, g->w, g->ow, &qa, &qb);
    uint32_t m = 0;
    for (int64_t lane = 0, qs = q_first; lane < n; lane += g->ow - qs, qs = 0) {
      int64_t lo = qa > qs ? qa : qs, hi = qb < qs + n - lane ? qb : qs + n - lane;
      if (lo < hi) m |= lane_range(lane + lo - qs, lane + hi - qs);
    }
    colm[kx] = m;
  }
  for (int64_t t = 0; t < kk; t++) {
    int64_t ky = t / g->kw, kx = t % g->kw;
    pl->off[t] = (ky - g->pad_t) * g->w + kx - g->pad_l;
    pl->mask[t] = rowm[ky] & colm[kx];
  }
  if (pl->contiguous) {
    pl->base[0] = (int32_t)j0; /* the other lanes are not read */
  } else {
    for (int64_t c = 0, pp = p_first, qq = q_first; c < PANEL_MAX; c++) {
      pl->base[c] = c < n ? (int32_t)(pp * s * g->w + qq * s) : 0;
      if (++qq == g->ow) qq = 0, pp++;
    }
  }
}

void ds__im2col_panel(const ds__conv_geom *g, const float *img, int64_t k0, int64_t kc,
                      int64_t j0, int64_t n, int64_t nr, float *dst) {
  const int64_t kk = g->kh * g->kw, s = g->stride, hw = g->h * g->w;
  if (nr > PANEL_MAX || kk > TAPS_MAX || hw > INT32_MAX) {
    for (int64_t k = k0; k < k0 + kc; k++) /* any size: the plain definition */
      for (int64_t c = 0; c < nr; c++) {
        int64_t ch = k / kk, ky = k % kk / g->kw, kx = k % g->kw, j = j0 + c;
        int64_t iy = c < n ? j / g->ow * s + ky - g->pad_t : -1, ix = j % g->ow * s + kx - g->pad_l;
        int inside = iy >= 0 && iy < g->h && ix >= 0 && ix < g->w;
        dst[(k - k0) * nr + c] = inside ? img[ch * hw + iy * g->w + ix] : 0.0f;
      }
    return;
  }
  panel_plan pl;
  make_plan(g, j0, n, &pl);
#ifdef DS_HAVE_AVX512_PANEL
  if ((nr == 16 || nr == 32) && __builtin_cpu_supports("avx512f")) {
    panel_rows_avx512(&pl, img, hw, kk, k0, kc, nr, dst);
    return;
  }
#endif
  const float *plane = img + k0 / kk * hw;
  for (int64_t k = 0, t = k0 % kk; k < kc; k++, dst += nr) {
    const float *src = plane + pl.off[t];
    for (int64_t c = 0; c < nr; c++)
      dst[c] = pl.mask[t] >> c & 1u ? src[pl.contiguous ? pl.base[0] + c : pl.base[c]] : 0.0f;
    if (++t == kk) t = 0, plane += hw;
  }
}

/* ---- a panel of the column matrix's transpose (weight gradients) ------------------------ */

/* col[k][j] of image img by the definition (0 outside the image) */
static float col_at(const ds__conv_geom *g, const float *img, int64_t k, int64_t j) {
  const int64_t kk = g->kh * g->kw;
  int64_t ch = k / kk, ky = k % kk / g->kw, kx = k % g->kw;
  int64_t iy = j / g->ow * g->stride + ky - g->pad_t, ix = j % g->ow * g->stride + kx - g->pad_l;
  return iy >= 0 && iy < g->h && ix >= 0 && ix < g->w ? img[(ch * g->h + iy) * g->w + ix] : 0.0f;
}

#ifdef DS_HAVE_AVX512_PANEL
/* r[i] (16 rows of 16) transposed in place */
__attribute__((target("avx512f"))) static void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    u[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  /* u[4q + c] holds column c of rows 4q..4q+3 in each 128-bit lane */
  for (int c = 0; c < 4; c++) {
    __m512 a = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);      /* lanes 0,2 of each */
    __m512 b = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);      /* lanes 1,3 */
    __m512 d = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
    __m512 e = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
    r[c] = _mm512_shuffle_f32x4(a, d, 0x88);
    r[8 + c] = _mm512_shuffle_f32x4(a, d, 0xDD);
    r[4 + c] = _mm512_shuffle_f32x4(b, e, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(b, e, 0xDD);
  }
}

/* 16 pixels (lanes) from k16 on, all ntaps taps, transposed into dst rows */
__attribute__((target("avx512f"))) static void panel_t_avx512(
    const ds__conv_geom *g, const float *img, int64_t img_stride, int64_t pix0, int64_t kc,
    int64_t tap0, int64_t ntaps, int64_t nr, float *dst) {
  const int64_t kk = g->kh * g->kw, hw = g->h * g->w, P = g->oh * g->ow;
  for (int64_t k16 = 0; k16 < kc; k16 += 16) {
    const int64_t lanes = kc - k16 < 16 ? kc - k16 : 16;
    /* the lanes' parts, one per image they fall in */
    enum { PARTS_MAX = 16 };
    panel_plan plans[PARTS_MAX];
    const float *base[PARTS_MAX];
    int64_t first[PARTS_MAX], parts = 0;
    for (int64_t l = 0; l < lanes && parts < PARTS_MAX;) {
      int64_t pix = pix0 + k16 + l, i = pix / P, j = pix % P;
      int64_t len = P - j < lanes - l ? P - j : lanes - l;
      make_plan(g, j, len, &plans[parts]);
      base[parts] = img + i * img_stride;
      first[parts] = l;
      parts++;
      l += len;
    }
    for (int64_t c0 = 0; c0 < nr; c0 += 16) {
      __m512 r[16];
      for (int64_t c = 0; c < 16; c++) {
        int64_t tap = tap0 + c0 + c;
        r[c] = _mm512_setzero_ps();
        if (c0 + c >= ntaps) continue;
        int64_t ch = tap / kk, t = tap % kk;
        for (int64_t q = 0; q < parts; q++) {
          /* lane first[q] + x reads pixel j + x of its image, x < len */
          const float *src = base[q] + ch * hw + plans[q].off[t] + plans[q].base[0] - first[q];
          __mmask16 m = (__mmask16)(plans[q].mask[t] << first[q]);
          r[c] = _mm512_mask_loadu_ps(r[c], m, src);
          _mm_prefetch((const char *)(src + 64), _MM_HINT_T0);
        }
      }
      transpose16(r);
      for (int64_t x = 0; x < lanes; x++) _mm512_storeu_ps(dst + (k16 + x) * nr + c0, r[x]);
    }
  }
}
#endif

void ds__im2col_panel_t(const ds__conv_geom *g, const float *img, int64_t img_stride,
                        int64_t pix0, int64_t kc, int64_t tap0, int64_t ntaps, int64_t nr,
                        float *dst) {
  const int64_t P = g->oh * g->ow;
#ifdef DS_HAVE_AVX512_PANEL
  if ((nr == 16 || nr == 32) && g->stride == 1 && g->ow == g->w && g->kh * g->kw <= TAPS_MAX &&
      __builtin_cpu_supports("avx512f")) {
    panel_t_avx512(g, img, img_stride, pix0, kc, tap0, ntaps, nr, dst);
    return;
  }
#endif
  for (int64_t k = 0; k < kc; k++) {
    int64_t pix = pix0 + k, i = pix / P, j = pix % P;
    for (int64_t c = 0; c < nr; c++)
      dst[k * nr + c] = c < ntaps ? col_at(g, img + i * img_stride, tap0 + c, j) : 0.0f;
  }
}
