#include "reference/masked_conv.h"

ds__conv2d_shape ds__masked_conv2d_shape(int64_t batch, int64_t cin, int64_t h, int64_t w,
                                         int64_t cout, int64_t kh, int64_t kw) {
  ds__conv2d_shape s = {batch, cin, h, w, cout, kh, kw, 1, kh / 2, kh / 2, kw / 2, kw / 2};
  return s;
}

static int64_t weight_count(const ds__conv2d_shape *s) {
  return s->cout * s->cin * s->kh * s->kw;
}

size_t ds__masked_conv2d_workspace(const ds__conv2d_shape *s, int32_t threads) {
  return (size_t)weight_count(s) + ds__conv2d_workspace(s, threads);
}

/* w (Cout, Cin, kh, kw) times the mask, in place when w == out. */
static void apply_mask(const ds__conv2d_shape *s, int mask_type, const float *w, float *out) {
  const int64_t kk = s->kh * s->kw;
  for (int64_t i = 0; i < weight_count(s); i++) {
    int64_t k = i % kk;
    out[i] = ds__mask_allows(mask_type, s->kh, s->kw, k / s->kw, k % s->kw) ? w[i] : 0.0f;
  }
}

void ds__masked_conv2d_forward(ds__pool *pool, const ds__conv2d_shape *s, int mask_type,
                               const float *x, const float *w, const float *bias, float *y,
                               float *ws) {
  apply_mask(s, mask_type, w, ws);
  ds__conv2d_forward(pool, s, x, ws, bias, y, 0, ws + weight_count(s));
}

void ds__masked_conv2d_backward(ds__pool *pool, const ds__conv2d_shape *s, int mask_type,
                                const float *x, const float *w, const float *dy, float *dx,
                                float *dw, float *db, int accumulate, float *ws) {
  apply_mask(s, mask_type, w, ws);
  /* Masked taps get no gradient: their entries of dw are set to zero. */
  ds__conv2d_backward(pool, s, x, ws, dy, dx, dw, db, accumulate, ws + weight_count(s));
  if (dw) apply_mask(s, mask_type, dw, dw);
}
