#include "reference/nin.h"

#include "kernels/conv2d.h"

static ds__conv2d_shape one_by_one(int64_t batch, int64_t pixels, int64_t cin, int64_t cout) {
  ds__conv2d_shape s = {batch, cin, 1, pixels, cout, 1, 1, 1, 0, 0, 0, 0};
  return s;
}

size_t ds__nin_workspace(int64_t batch, int64_t pixels, int64_t cin, int64_t cout,
                         int64_t ccond, int32_t threads) {
  ds__conv2d_shape s = one_by_one(batch, pixels, cin, cout);
  ds__conv2d_shape sc = one_by_one(batch, pixels, ccond, cout);
  size_t a = ds__conv2d_workspace(&s, threads), b = ds__conv2d_workspace(&sc, threads);
  return a > b ? a : b;
}

void ds__nin_forward(ds__pool *pool, int64_t batch, int64_t pixels, int64_t cin, int64_t cout,
                     const float *x, const float *w, const float *bias, int64_t ccond,
                     const float *cond, const float *wc, float *y, float *ws) {
  ds__conv2d_shape s = one_by_one(batch, pixels, cin, cout);
  ds__conv2d_forward(pool, &s, x, w, bias, y, 0, ws);
  if (cond) {
    ds__conv2d_shape sc = one_by_one(batch, pixels, ccond, cout);
    ds__conv2d_forward(pool, &sc, cond, wc, NULL, y, 1, ws);
  }
}

void ds__nin_backward(ds__pool *pool, int64_t batch, int64_t pixels, int64_t cin,
                      int64_t cout, const float *x, const float *w, int64_t ccond,
                      const float *cond, const float *wc, const float *dy, float *dx, float *dw,
                      float *db, float *dcond, float *dwc, int accumulate,
                      float *ws) {
  ds__conv2d_shape s = one_by_one(batch, pixels, cin, cout);
  ds__conv2d_backward(pool, &s, x, w, dy, dx, dw, db, accumulate, ws);
  if (cond) {
    ds__conv2d_shape sc = one_by_one(batch, pixels, ccond, cout);
    ds__conv2d_backward(pool, &sc, cond, wc, dy, dcond, dwc, NULL, accumulate, ws);
  }
}
