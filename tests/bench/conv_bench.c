/* conv_bench: times forward and backward of every convolution shape of one PixelCNN++
 * training step (shapes from conv_shapes.py on stdin) with the library's kernels.
 *
 *   python3 conv_shapes.py 32 | conv_bench THREADS BATCH
 *
 * Prints "RESULT ours THREADS name count gflop fwd_seconds bwd_seconds cpu_seconds" per shape
 * (medians of repeated runs; gflop = fwd + bwd flops of one call; cpu_seconds = process CPU
 * time of fwd + bwd, which other processes on a shared machine do not inflate). The FMA-loop
 * peak is measured by the driver separately. A benchmark prints figures; it never fails on speed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/context.h"
#include "dsmooth.h"
#include "kernels/conv2d.h"
#include "kernels/conv_transpose.h"

static double clock_s(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
static double cpu_now(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static float *buf(int64_t n) {
  float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  if (!p) exit(2);
  for (int64_t i = 0; i < n; i++) p[i] = (float)((i * 7919 % 1000) - 500) * 1e-3f;
  return p;
}

enum { REPS = 15 };

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: conv_shapes.py F | %s THREADS BATCH\n", argv[0]);
    return 1;
  }
  int32_t threads = atoi(argv[1]);
  int64_t batch = atoll(argv[2]);
  ds_context_options *o = NULL;
  ds_context *ctx = NULL;
  if (ds_context_options_create(&o) || ds_context_options_set_threads(o, threads) ||
      ds_context_create(o, &ctx))
    return 2;
  ds_context_options_free(o);

  char name[64], kind[16];
  long long v[13];
  while (scanf("%63s %15s %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld", name,
               kind, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9],
               &v[10], &v[11], &v[12]) == 15) {
    int64_t cin = v[0], cout = v[1], kh = v[2], kw = v[3], stride = v[4], h = v[9], w = v[10];
    int64_t count = v[11], need_dx = v[12];
    int deconv = !strcmp(kind, "deconv");
    ds__conv2d_shape cs = {batch, cin, h, w, cout, kh, kw, stride, v[5], v[6], v[7], v[8]};
    ds__deconv2d_shape dsh = ds__deconv2d_pixelcnn(batch, cin, h, w, cout, kh, kw, v[7] == 0);
    int64_t oh = deconv ? dsh.oh : ds__conv2d_out_h(&cs), ow = deconv ? dsh.ow : ds__conv2d_out_w(&cs);
    /* multiply-adds: conv: per output pixel cin*kh*kw; deconv: per input pixel cout*kh*kw
     * (cropped taps included, as PyTorch computes them) */
    double macs = deconv ? (double)batch * cin * h * w * cout * kh * kw
                         : (double)batch * cout * oh * ow * cin * kh * kw;
    double gflop = 2.0 * macs * (need_dx ? 3.0 : 2.0) * 1e-9;
    size_t wsn = deconv ? ds__deconv2d_workspace(&dsh, threads) : ds__conv2d_workspace(&cs, threads);
    float *x = buf(batch * cin * h * w), *wt = buf(cout * cin * kh * kw), *b = buf(cout);
    float *y = buf(batch * cout * oh * ow), *dy = buf(batch * cout * oh * ow);
    float *dx = buf(batch * cin * h * w), *dw = buf(cout * cin * kh * kw), *db = buf(cout);
    float *ws = buf((int64_t)wsn);
    double tf[REPS], tb[REPS], tc[REPS];
    for (int r = -2; r < REPS; r++) {
      double c0 = cpu_now(), t0 = now();
      if (deconv) ds__deconv2d_forward(ctx->pool, &dsh, x, wt, b, y, ws);
      else ds__conv2d_forward(ctx->pool, &cs, x, wt, b, y, 0, ws);
      double t1 = now();
      if (deconv)
        ds__deconv2d_backward(ctx->pool, &dsh, x, wt, dy, need_dx ? dx : NULL, dw, db, 0, ws);
      else
        ds__conv2d_backward(ctx->pool, &cs, x, wt, dy, need_dx ? dx : NULL, dw, db, 0, ws);
      double t2 = now(), c2 = cpu_now();
      if (r >= 0) tf[r] = t1 - t0, tb[r] = t2 - t1, tc[r] = c2 - c0;
    }
    qsort(tf, REPS, sizeof(double), cmp);
    qsort(tb, REPS, sizeof(double), cmp);
    qsort(tc, REPS, sizeof(double), cmp);
    printf("RESULT ours %d %s %lld %.6f %.6e %.6e %.6e\n", threads, name, (long long)count, gflop,
           tf[REPS / 2], tb[REPS / 2], tc[REPS / 2]);
    fflush(stdout);
    free(x), free(wt), free(b), free(y), free(dy), free(dx), free(dw), free(db), free(ws);
  }
  ds_context_free(ctx);
  return 0;
}
