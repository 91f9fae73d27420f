/* Pointwise ops (elu, concat_elu, gate with residual, down/right shifts, channel concat,
 * relu, tanh gate with residual):
 * forward against float64 loops, backward against central finite differences, accumulate
 * mode, and bitwise identical results for 1, 2, 3 and 8 threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "conv_test_util.h"
#include "core/context.h"
#include "kernels/pointwise.h"
#include "test_util.h"

typedef struct pw_shape { int64_t b, c, h, w; } pw_shape;

static double elu64(double v) { return v > 0 ? v : expm1(v); }
static double sig64(double v) { return 1.0 / (1.0 + exp(-v)); }

/* float64 forwards: p[0] the input (p[1] the second input where there is one). */
static void elu_ref(const void *sp, double *const *p, double *y) {
  const pw_shape *s = sp;
  for (int64_t i = 0; i < s->b * s->c * s->h * s->w; i++) y[i] = elu64(p[0][i]);
}
static void celu_ref(const void *sp, double *const *p, double *y) {
  const pw_shape *s = sp;
  int64_t P = s->h * s->w;
  for (int64_t b = 0; b < s->b; b++)
    for (int64_t c = 0; c < s->c; c++)
      for (int64_t i = 0; i < P; i++) {
        double v = p[0][(b * s->c + c) * P + i];
        y[(b * 2 * s->c + c) * P + i] = elu64(v);
        y[(b * 2 * s->c + s->c + c) * P + i] = elu64(-v);
      }
}
static void gate_ref(const void *sp, double *const *p, double *y) { /* p[0] x, p[1] ab */
  const pw_shape *s = sp;
  int64_t P = s->h * s->w;
  for (int64_t b = 0; b < s->b; b++)
    for (int64_t c = 0; c < s->c; c++)
      for (int64_t i = 0; i < P; i++) {
        double a = p[1][(b * 2 * s->c + c) * P + i], g = p[1][(b * 2 * s->c + s->c + c) * P + i];
        y[(b * s->c + c) * P + i] = p[0][(b * s->c + c) * P + i] + a * sig64(g);
      }
}
static void relu_ref(const void *sp, double *const *p, double *y) {
  const pw_shape *s = sp;
  for (int64_t i = 0; i < s->b * s->c * s->h * s->w; i++) y[i] = p[0][i] > 0 ? p[0][i] : 0.0;
}
static void tgate_ref(const void *sp, double *const *p, double *y) { /* p[0] x, p[1] ab */
  const pw_shape *s = sp;
  int64_t P = s->h * s->w;
  for (int64_t b = 0; b < s->b; b++)
    for (int64_t c = 0; c < s->c; c++)
      for (int64_t i = 0; i < P; i++) {
        double a = p[1][(b * 2 * s->c + c) * P + i], g = p[1][(b * 2 * s->c + s->c + c) * P + i];
        y[(b * s->c + c) * P + i] = p[0][(b * s->c + c) * P + i] + tanh(a) * sig64(g);
      }
}
static void down_ref(const void *sp, double *const *p, double *y) {
  const pw_shape *s = sp;
  for (int64_t pl = 0; pl < s->b * s->c; pl++)
    for (int64_t i = 0; i < s->h; i++)
      for (int64_t j = 0; j < s->w; j++)
        y[(pl * s->h + i) * s->w + j] = i ? p[0][(pl * s->h + i - 1) * s->w + j] : 0.0;
}
static void right_ref(const void *sp, double *const *p, double *y) {
  const pw_shape *s = sp;
  for (int64_t pl = 0; pl < s->b * s->c; pl++)
    for (int64_t i = 0; i < s->h; i++)
      for (int64_t j = 0; j < s->w; j++)
        y[(pl * s->h + i) * s->w + j] = j ? p[0][(pl * s->h + i) * s->w + j - 1] : 0.0;
}
static void cat_ref(const void *sp, double *const *p, double *y) { /* a has c, b has c+1 */
  const pw_shape *s = sp;
  int64_t P = s->h * s->w, ca = s->c, cb = s->c + 1;
  for (int64_t b = 0; b < s->b; b++) {
    for (int64_t i = 0; i < ca * P; i++) y[b * (ca + cb) * P + i] = p[0][b * ca * P + i];
    for (int64_t i = 0; i < cb * P; i++) y[(b * (ca + cb) + ca) * P + i] = p[1][b * cb * P + i];
  }
}

typedef void (*fwd64)(const void *shape, double *const *params, double *y);

static void check_fd(fwd64 f, const void *shape, double *const *params, int which, int64_t n,
                     const double *r, int64_t ny, const float *grad, const char *what) {
  double *y = ct_doubles(ny), *want = ct_doubles(n);
  const double h = 1e-6;
  for (int64_t i = 0; i < n; i++) {
    double keep = params[which][i], lp = 0.0, lm = 0.0;
    params[which][i] = keep + h;
    f(shape, params, y);
    for (int64_t k = 0; k < ny; k++) lp += r[k] * y[k];
    params[which][i] = keep - h;
    f(shape, params, y);
    for (int64_t k = 0; k < ny; k++) lm += r[k] * y[k];
    params[which][i] = keep;
    want[i] = (lp - lm) / (2 * h);
  }
  ct_assert_close(grad, want, n, 1e-5, what);
  free(y), free(want);
}

enum { OP_ELU, OP_CELU, OP_GATE, OP_DOWN, OP_RIGHT, OP_CAT, OP_RELU, OP_TGATE, OP_COUNT };

/* Runs op forward and backward (accumulate given) on float inputs; returns y, g0, g1. */
static void run_op(ds__pool *pool, int op, const pw_shape *s, const float *in0,
                   const float *in1, const float *dy, float *y, float *g0, float *g1, int acc) {
  int64_t P = s->h * s->w, n = s->b * s->c * P;
  switch (op) {
  case OP_ELU:
    ds__elu_forward(pool, n, in0, y);
    ds__elu_backward(pool, n, y, dy, g0, acc);
    break;
  case OP_CELU:
    ds__concat_elu_forward(pool, s->b, s->c, P, in0, y);
    ds__concat_elu_backward(pool, s->b, s->c, P, in0, dy, g0, acc);
    break;
  case OP_GATE:
    ds__gate_forward(pool, s->b, s->c, P, in0, in1, y);
    ds__gate_backward(pool, s->b, s->c, P, in1, dy, g0, g1, acc);
    break;
  case OP_DOWN:
    ds__down_shift_forward(pool, s->b * s->c, s->h, s->w, in0, y);
    ds__down_shift_backward(pool, s->b * s->c, s->h, s->w, dy, g0, acc);
    break;
  case OP_RIGHT:
    ds__right_shift_forward(pool, s->b * s->c, s->h, s->w, in0, y);
    ds__right_shift_backward(pool, s->b * s->c, s->h, s->w, dy, g0, acc);
    break;
  case OP_RELU:
    ds__relu_forward(pool, n, in0, y);
    ds__relu_backward(pool, n, y, dy, g0, acc);
    break;
  case OP_TGATE:
    ds__tanh_gate_forward(pool, s->b, s->c, P, in0, in1, y);
    ds__tanh_gate_backward(pool, s->b, s->c, P, in1, dy, g0, g1, acc);
    break;
  default:
    ds__concat_channels_forward(pool, s->b, s->c, s->c + 1, P, in0, in1, y);
    ds__concat_channels_backward(pool, s->b, s->c, s->c + 1, P, dy, g0, g1, acc);
  }
}

static void sizes(int op, const pw_shape *s, int64_t *n0, int64_t *n1, int64_t *ny) {
  int64_t P = s->h * s->w, n = s->b * s->c * P;
  *n0 = n, *n1 = 0, *ny = n;
  if (op == OP_CELU) *ny = 2 * n;
  if (op == OP_GATE || op == OP_TGATE) *n1 = 2 * n;
  if (op == OP_CAT) *n1 = s->b * (s->c + 1) * P, *ny = n + *n1;
}

static void matches_reference_and_fd(void **state) {
  (void)state;
  ct_seed(11);
  ds_context *ctx = test_context(3, 0);
  const fwd64 refs[OP_COUNT] = {elu_ref, celu_ref, gate_ref, down_ref, right_ref, cat_ref,
                                relu_ref, tgate_ref};
  const pw_shape shapes[] = {{2, 3, 4, 5}, {1, 1, 1, 1}, {1, 5, 1, 7}, {3, 2, 6, 1}};
  for (int op = 0; op < OP_COUNT; op++)
    for (size_t k = 0; k < 4; k++) {
      const pw_shape *s = &shapes[k];
      int64_t n0, n1, ny;
      sizes(op, s, &n0, &n1, &ny);
      float *in0 = ct_random(n0), *in1 = ct_random(n1), *dy = ct_random(ny), *y = ct_floats(ny);
      float *g0 = ct_floats(n0), *g1 = ct_floats(n1);
      double *p[2] = {ct_widen(in0, n0), ct_widen(in1, n1)}, *yr = ct_doubles(ny);
      double *r = ct_widen(dy, ny);
      run_op(ctx->pool, op, s, in0, in1, dy, y, g0, g1, 0);
      refs[op](s, p, yr);
      ct_assert_close(y, yr, ny, 1e-6, "pointwise y");
      check_fd(refs[op], s, p, 0, n0, r, ny, g0, "pointwise grad 0");
      if (n1) check_fd(refs[op], s, p, 1, n1, r, ny, g1, "pointwise grad 1");
      /* accumulate adds the same gradient again to g0 (g1 of the gate is overwritten) */
      double *twice = ct_doubles(n0);
      for (int64_t i = 0; i < n0; i++) twice[i] = 2.0 * g0[i];
      run_op(ctx->pool, op, s, in0, in1, dy, y, g0, g1, 1);
      ct_assert_close(g0, twice, n0, 1e-6, "pointwise accumulate");
      free(twice), free(in0), free(in1), free(dy), free(y), free(g0), free(g1);
      free(p[0]), free(p[1]), free(yr), free(r);
    }
  ds_context_free(ctx);
}

static void bitwise_identical_across_threads(void **state) {
  (void)state;
  ct_seed(12);
  const pw_shape s = {3, 17, 13, 11};
  const int32_t counts[] = {1, 2, 3, 8};
  for (int op = 0; op < OP_COUNT; op++) {
    int64_t n0, n1, ny;
    sizes(op, &s, &n0, &n1, &ny);
    float *in0 = ct_random(n0), *in1 = ct_random(n1), *dy = ct_random(ny);
    float *y[4], *g0[4], *g1[4];
    for (int c = 0; c < 4; c++) {
      ds_context *ctx = test_context(counts[c], 0);
      y[c] = ct_floats(ny), g0[c] = ct_floats(n0), g1[c] = ct_floats(n1);
      run_op(ctx->pool, op, &s, in0, in1, dy, y[c], g0[c], g1[c], 0);
      ds_context_free(ctx);
      assert_memory_equal(y[0], y[c], sizeof(float) * (size_t)ny);
      assert_memory_equal(g0[0], g0[c], sizeof(float) * (size_t)n0);
      if (n1) assert_memory_equal(g1[0], g1[c], sizeof(float) * (size_t)n1);
    }
    for (int c = 0; c < 4; c++) free(y[c]), free(g0[c]), free(g1[c]);
    free(in0), free(in1), free(dy);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(matches_reference_and_fd),
      cmocka_unit_test(bitwise_identical_across_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
