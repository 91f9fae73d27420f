#include "kernels/pointwise.h"
#include "kernels/vec_math.h"

#include <math.h>
#include <string.h>

/* One job type for every op: a plane function run on planes [p0, p1) of `planes`. */
typedef struct pw_job pw_job;
typedef void (*plane_fn)(const pw_job *j, int64_t plane);
struct pw_job {
  plane_fn fn;
  int64_t planes, n, c, c2, h, w;
  const float *a, *b, *d;
  float *y, *y2;
  int accumulate;
};

static void pw_worker(void *p, int32_t t, int32_t threads) {
  const pw_job *j = p;
  int64_t p0, p1;
  ds__split_range(j->planes, t, threads, &p0, &p1);
  for (int64_t i = p0; i < p1; i++) j->fn(j, i);
}

static void run(ds__pool *pool, pw_job *j) {
  if (j->planes <= 0) return;
  if (pool && j->planes * j->n >= 4096) ds__pool_run(pool, pw_worker, j);
  else pw_worker(j, 0, 1);
}

/* d elu / dv from the output: 1 for v > 0, exp(v) = elu + 1 otherwise. */
static inline float elu_grad_from_out(float out) { return out > 0.0f ? 1.0f : out + 1.0f; }
static inline float sigmoidf(float v) { return 1.0f / (1.0f + expf(-v)); }
static inline void put(float *dst, float v, int accumulate) { *dst = accumulate ? *dst + v : v; }

/* ---- elu (planes of n elements; a flat array is cut into chunks) -------------------- */
enum { CHUNK = 4096 };

/* The exponential side of elu in vector blocks: e[i] = expm1(-|x[i]|), so that
 * elu(x) = x > 0 ? x : e and elu(-x) = x < 0 ? -x : e, elu'(v) = e + 1 where v <= 0. */
enum { EBLOCK = 512 };

static void elu_fwd(const pw_job *j, int64_t p) {
  int64_t i0 = p * CHUNK, i1 = i0 + CHUNK < j->n ? i0 + CHUNK : j->n;
  float e[EBLOCK];
  for (int64_t b = i0; b < i1; b += EBLOCK) {
    int64_t len = i1 - b < EBLOCK ? i1 - b : EBLOCK;
    ds__expm1_neg_abs(j->a + b, e, len);
    for (int64_t i = 0; i < len; i++) j->y[b + i] = j->a[b + i] > 0.0f ? j->a[b + i] : e[i];
  }
}

static void elu_bwd(const pw_job *j, int64_t p) {
  int64_t i0 = p * CHUNK, i1 = i0 + CHUNK < j->n ? i0 + CHUNK : j->n;
  for (int64_t i = i0; i < i1; i++) put(&j->y[i], j->d[i] * elu_grad_from_out(j->a[i]), j->accumulate);
}

void ds__elu_forward(ds__pool *pool, int64_t n, const float *x, float *y) {
  pw_job j = {elu_fwd, (n + CHUNK - 1) / CHUNK, n, 0, 0, 0, 0, x, NULL, NULL, y, NULL, 0};
  if (pool && n >= CHUNK) ds__pool_run(pool, pw_worker, &j);
  else if (n > 0) pw_worker(&j, 0, 1);
}

void ds__elu_backward(ds__pool *pool, int64_t n, const float *y, const float *dy, float *dx,
                      int accumulate) {
  pw_job j = {elu_bwd, (n + CHUNK - 1) / CHUNK, n, 0, 0, 0, 0, y, NULL, dy, dx, NULL, accumulate};
  if (pool && n >= CHUNK) ds__pool_run(pool, pw_worker, &j);
  else if (n > 0) pw_worker(&j, 0, 1);
}

/* ---- relu (flat, in chunks like elu) ------------------------------------------------- */
static void relu_fwd(const pw_job *j, int64_t p) {
  int64_t i0 = p * CHUNK, i1 = i0 + CHUNK < j->n ? i0 + CHUNK : j->n;
  for (int64_t i = i0; i < i1; i++) j->y[i] = j->a[i] > 0.0f ? j->a[i] : 0.0f;
}

static void relu_bwd(const pw_job *j, int64_t p) {
  int64_t i0 = p * CHUNK, i1 = i0 + CHUNK < j->n ? i0 + CHUNK : j->n;
  for (int64_t i = i0; i < i1; i++) put(&j->y[i], j->a[i] > 0.0f ? j->d[i] : 0.0f, j->accumulate);
}

void ds__relu_forward(ds__pool *pool, int64_t n, const float *x, float *y) {
  pw_job j = {relu_fwd, (n + CHUNK - 1) / CHUNK, n, 0, 0, 0, 0, x, NULL, NULL, y, NULL, 0};
  if (pool && n >= CHUNK) ds__pool_run(pool, pw_worker, &j);
  else if (n > 0) pw_worker(&j, 0, 1);
}

void ds__relu_backward(ds__pool *pool, int64_t n, const float *y, const float *dy, float *dx,
                       int accumulate) {
  pw_job j = {relu_bwd, (n + CHUNK - 1) / CHUNK, n, 0, 0, 0, 0, y, NULL, dy, dx, NULL, accumulate};
  if (pool && n >= CHUNK) ds__pool_run(pool, pw_worker, &j);
  else if (n > 0) pw_worker(&j, 0, 1);
}

/* ---- concat_elu: plane = (b, c) of the input ---------------------------------------- */
static void celu_fwd(const pw_job *j, int64_t p) {
  int64_t b = p / j->c, c = p % j->c;
  float *pos = j->y + (b * 2 * j->c + c) * j->n;
  ds__concat_elu_row(j->a + p * j->n, pos, pos + j->c * j->n, j->n);
}

static void celu_bwd(const pw_job *j, int64_t p) {
  int64_t b = p / j->c, c = p % j->c;
  const float *x = j->a + p * j->n;
  const float *dpos = j->d + (b * 2 * j->c + c) * j->n, *dneg = dpos + j->c * j->n;
  float *dx = j->y + p * j->n;
  /* the forward output, when given, already holds e = expm1(-|v|): the negative half where
     v > 0, the positive half otherwise */
  const float *ypos = j->b ? j->b + (b * 2 * j->c + c) * j->n : NULL, *yneg = ypos + j->c * j->n;
  float e[EBLOCK];
  for (int64_t o = 0; o < j->n; o += EBLOCK) {
    int64_t len = j->n - o < EBLOCK ? j->n - o : EBLOCK;
    if (ypos)
      for (int64_t i = 0; i < len; i++) e[i] = x[o + i] > 0.0f ? yneg[o + i] : ypos[o + i];
    else
      ds__expm1_neg_abs(x + o, e, len);
    for (int64_t i = 0; i < len; i++) {
      float v = x[o + i], ev = e[i] + 1.0f; /* exp(-|v|) */
      float gp = v > 0.0f ? 1.0f : ev, gn = v < 0.0f ? 1.0f : ev;
      put(&dx[o + i], dpos[o + i] * gp - dneg[o + i] * gn, j->accumulate);
    }
  }
}

void ds__concat_elu_forward(ds__pool *pool, int64_t batch, int64_t c, int64_t pixels,
                            const float *x, float *y) {
  pw_job j = {celu_fwd, batch * c, pixels, c, 0, 0, 0, x, NULL, NULL, y, NULL, 0};
  run(pool, &j);
}

void ds__concat_elu_backward(ds__pool *pool, int64_t batch, int64_t c, int64_t pixels,
                             const float *x, const float *dy, float *dx, int accumulate) {
  pw_job j = {celu_bwd, batch * c, pixels, c, 0, 0, 0, x, NULL, dy, dx, NULL, accumulate};
  run(pool, &j);
}

void ds__concat_elu_backward_from_y(ds__pool *pool, int64_t batch, int64_t c, int64_t pixels,
                                    const float *x, const float *y, const float *dy, float *dx,
                                    int accumulate) {
  pw_job j = {celu_bwd, batch * c, pixels, c, 0, 0, 0, x, y, dy, dx, NULL, accumulate};
  run(pool, &j);
}

/* ---- gate: plane = (b, f) of the output --------------------------------------------- */
static void gate_fwd(const pw_job *j, int64_t p) {
  int64_t b = p / j->c, f = p % j->c;
  const float *a = j->b + (b * 2 * j->c + f) * j->n, *g = a + j->c * j->n;
  const float *x = j->a ? j->a + p * j->n : NULL;
  float *y = j->y + p * j->n;
  float s[EBLOCK];
  for (int64_t o = 0; o < j->n; o += EBLOCK) {
    int64_t len = j->n - o < EBLOCK ? j->n - o : EBLOCK;
    ds__sigmoid(g + o, s, len);
    for (int64_t i = 0; i < len; i++) y[o + i] = (x ? x[o + i] : 0.0f) + a[o + i] * s[i];
  }
}

static void gate_bwd(const pw_job *j, int64_t p) {
  int64_t b = p / j->c, f = p % j->c;
  const float *a = j->b + (b * 2 * j->c + f) * j->n, *g = a + j->c * j->n;
  const float *dy = j->d + p * j->n;
  float *da = j->y2 + (b * 2 * j->c + f) * j->n, *dg = da + j->c * j->n;
  float *dx = j->y ? j->y + p * j->n : NULL;
  float sb[EBLOCK];
  for (int64_t o = 0; o < j->n; o += EBLOCK) {
    int64_t len = j->n - o < EBLOCK ? j->n - o : EBLOCK;
    ds__sigmoid(g + o, sb, len);
    for (int64_t k = 0; k < len; k++) {
      int64_t i = o + k;
      float s = sb[k];
      da[i] = dy[i] * s;
      dg[i] = dy[i] * a[i] * s * (1.0f - s);
      if (dx) put(&dx[i], dy[i], j->accumulate);
    }
  }
}

void ds__gate_forward(ds__pool *pool, int64_t batch, int64_t f, int64_t pixels, const float *x,
                      const float *ab, float *y) {
  pw_job j = {gate_fwd, batch * f, pixels, f, 0, 0, 0, x, ab, NULL, y, NULL, 0};
  run(pool, &j);
}

void ds__gate_backward(ds__pool *pool, int64_t batch, int64_t f, int64_t pixels,
                       const float *ab, const float *dy, float *dx, float *dab, int accumulate) {
  pw_job j = {gate_bwd, batch * f, pixels, f, 0, 0, 0, NULL, ab, dy, dx, dab, accumulate};
  run(pool, &j);
}

/* ---- tanh gate: plane = (b, f) of the output ---------------------------------------- */
static void tgate_fwd(const pw_job *j, int64_t p) {
  int64_t b = p / j->c, f = p % j->c;
  const float *a = j->b + (b * 2 * j->c + f) * j->n, *g = a + j->c * j->n;
  const float *x = j->a ? j->a + p * j->n : NULL;
  float *y = j->y + p * j->n;
  for (int64_t i = 0; i < j->n; i++) y[i] = (x ? x[i] : 0.0f) + tanhf(a[i]) * sigmoidf(g[i]);
}

static void tgate_bwd(const pw_job *j, int64_t p) {
  int64_t b = p / j->c, f = p % j->c;
  const float *a = j->b + (b * 2 * j->c + f) * j->n, *g = a + j->c * j->n;
  const float *dy = j->d + p * j->n;
  float *da = j->y2 + (b * 2 * j->c + f) * j->n, *dg = da + j->c * j->n;
  float *dx = j->y ? j->y + p * j->n : NULL;
  for (int64_t i = 0; i < j->n; i++) {
    float t = tanhf(a[i]), s = sigmoidf(g[i]);
    da[i] = dy[i] * (1.0f - t * t) * s;
    dg[i] = dy[i] * t * s * (1.0f - s);
    if (dx) put(&dx[i], dy[i], j->accumulate);
  }
}

void ds__tanh_gate_forward(ds__pool *pool, int64_t batch, int64_t f, int64_t pixels,
                           const float *x, const float *ab, float *y) {
  pw_job j = {tgate_fwd, batch * f, pixels, f, 0, 0, 0, x, ab, NULL, y, NULL, 0};
  run(pool, &j);
}

void ds__tanh_gate_backward(ds__pool *pool, int64_t batch, int64_t f, int64_t pixels,
                            const float *ab, const float *dy, float *dx, float *dab,
                            int accumulate) {
  pw_job j = {tgate_bwd, batch * f, pixels, f, 0, 0, 0, NULL, ab, dy, dx, dab, accumulate};
  run(pool, &j);
}

/* ---- shifts: plane = (b, c) ----------------------------------------------------------- */
static void down_fwd(const pw_job *j, int64_t p) {
  const float *x = j->a + p * j->n;
  float *y = j->y + p * j->n;
  memset(y, 0, sizeof(float) * (size_t)j->w);
  memcpy(y + j->w, x, sizeof(float) * (size_t)((j->h - 1) * j->w));
}

static void down_bwd(const pw_job *j, int64_t p) {
  const float *dy = j->d + p * j->n;
  float *dx = j->y + p * j->n;
  for (int64_t i = 0; i < (j->h - 1) * j->w; i++) put(&dx[i], dy[i + j->w], j->accumulate);
  if (!j->accumulate)
    for (int64_t i = (j->h - 1) * j->w; i < j->n; i++) dx[i] = 0.0f;
}

static void right_fwd(const pw_job *j, int64_t p) {
  for (int64_t r = 0; r < j->h; r++) {
    const float *x = j->a + p * j->n + r * j->w;
    float *y = j->y + p * j->n + r * j->w;
    y[0] = 0.0f;
    for (int64_t i = 1; i < j->w; i++) y[i] = x[i - 1];
  }
}

static void right_bwd(const pw_job *j, int64_t p) {
  for (int64_t r = 0; r < j->h; r++) {
    const float *dy = j->d + p * j->n + r * j->w;
    float *dx = j->y + p * j->n + r * j->w;
    for (int64_t i = 0; i + 1 < j->w; i++) put(&dx[i], dy[i + 1], j->accumulate);
    if (!j->accumulate) dx[j->w - 1] = 0.0f;
  }
}

static void shift(ds__pool *pool, plane_fn fn, int64_t planes, int64_t h, int64_t w,
                  const float *in, const float *d, float *out, int accumulate) {
  if (h <= 0 || w <= 0) return;
  pw_job j = {fn, planes, h * w, 0, 0, h, w, in, NULL, d, out, NULL, accumulate};
  run(pool, &j);
}

void ds__down_shift_forward(ds__pool *pool, int64_t planes, int64_t h, int64_t w,
                            const float *x, float *y) {
  shift(pool, down_fwd, planes, h, w, x, NULL, y, 0);
}
void ds__down_shift_backward(ds__pool *pool, int64_t planes, int64_t h, int64_t w,
                             const float *dy, float *dx, int accumulate) {
  shift(pool, down_bwd, planes, h, w, NULL, dy, dx, accumulate);
}
void ds__right_shift_forward(ds__pool *pool, int64_t planes, int64_t h, int64_t w,
                             const float *x, float *y) {
  shift(pool, right_fwd, planes, h, w, x, NULL, y, 0);
}
void ds__right_shift_backward(ds__pool *pool, int64_t planes, int64_t h, int64_t w,
                              const float *dy, float *dx, int accumulate) {
  shift(pool, right_bwd, planes, h, w, NULL, dy, dx, accumulate);
}

/* ---- channel concat: plane = (b, channel of y) ---------------------------------------- */
static void cat_fwd(const pw_job *j, int64_t p) {
  int64_t ct = j->c + j->c2, b = p / ct, c = p % ct;
  const float *src = c < j->c ? j->a + (b * j->c + c) * j->n : j->b + (b * j->c2 + c - j->c) * j->n;
  memcpy(j->y + p * j->n, src, sizeof(float) * (size_t)j->n);
}

static void cat_bwd(const pw_job *j, int64_t p) {
  int64_t ct = j->c + j->c2, b = p / ct, c = p % ct;
  float *dst = c < j->c ? j->y : j->y2;
  if (!dst) return;
  dst += c < j->c ? (b * j->c + c) * j->n : (b * j->c2 + c - j->c) * j->n;
  const float *dy = j->d + p * j->n;
  for (int64_t i = 0; i < j->n; i++) put(&dst[i], dy[i], j->accumulate);
}

void ds__concat_channels_forward(ds__pool *pool, int64_t batch, int64_t ca, int64_t cb,
                                 int64_t pixels, const float *a, const float *b, float *y) {
  pw_job j = {cat_fwd, batch * (ca + cb), pixels, ca, cb, 0, 0, a, b, NULL, y, NULL, 0};
  run(pool, &j);
}

void ds__concat_channels_backward(ds__pool *pool, int64_t batch, int64_t ca, int64_t cb,
                                  int64_t pixels, const float *dy, float *da, float *db,
                                  int accumulate) {
  pw_job j = {cat_bwd, batch * (ca + cb), pixels, ca, cb, 0, 0, NULL, NULL, dy, da, db, accumulate};
  run(pool, &j);
}
