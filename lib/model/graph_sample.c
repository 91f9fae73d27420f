/* Cached incremental sampling for the layer graphs of model/graph.h (the idea of Fast
 * PixelCNN++, Ramachandran et al. 2017, recast for a layer graph). Which positions an op
 * reads follows from its kind's role; POINTWISE kinds run their table entry's kernel.
 *
 * The naive sampler runs the whole network once per pixel: H*W passes. Here every
 * activation position is computed exactly once, at the first step at which it is final.
 * Its "ready step" T is one more than the largest raster index of an input pixel it
 * depends on, propagated through the table once per call: a conv output takes the max over
 * its in-image taps (and over its earlier value when it accumulates), a shift the position
 * it copies, a transposed-conv output the max over the input positions that scatter into
 * it, a 2x2 average pooling the max over its block, a pointwise layer the max over its
 * inputs; the conditioning input (cond_in, or the stacked layout's top half of the input:
 * x~) is ready at step 0, so everything computed from it alone is computed at step 0.
 * Step s computes, layer by layer in table order, the positions with T == s, then samples
 * pixel s from the head (ready by causality: T(head at s) <= s is checked once) and writes
 * it into the input.
 *
 * Bitwise equal to the naive sampler. A position depends only on positions that are final
 * when it is computed, so it sees the values any later full pass would see, and it is
 * computed with the same arithmetic:
 *   conv            ds__gemm on the im2col columns of just those positions, from the same
 *                   initial value (bias, or earlier output + bias; beta 0 without either):
 *                   every element of a product is summed over K in an order fixed by K
 *                   alone (kernels/gemm.h), whatever N or the element's column;
 *   transposed conv bias plus the col2im contributions in col2im's order (kernel taps in
 *                   order), each contribution a column of ds__gemm over the input
 *                   position, computed when that position is ready and cached;
 *   pointwise       the same kernels (kernels/pointwise.h) on gathered values: each output
 *                   element is a function of its own inputs only.
 * tests/test_pixelcnn_sampler.c checks the equality for every configuration it builds.
 *
 * Images are independent: each pool thread samples its own rows with its own buffers, so
 * no step synchronises threads and the split cannot change a bit. */
#include <stdatomic.h>
#include <string.h>

#include "core/pool.h"
#include "kernels/gemm.h"
#include "model/model.h"
#include "model/graph.h"

enum { COLUMNS = 512 }; /* columns (rows x positions) per product */

/* Positions of one list, sorted by ready step; entries with step >= H*W are never needed
 * and left out. */
typedef struct step_list {
  int32_t *pos, *step;
  int64_t count;
} step_list;

typedef struct plan {
  int64_t steps;      /* H * W: pixels, one per step */
  step_list *out;     /* (op_count) output positions of each layer */
  step_list *in;      /* (op_count) transposed conv only: input positions (cached columns) */
  int64_t *cache_off; /* (op_count) transposed conv: offset of its column cache in a row's */
  int64_t cache_per_row, scratch_rows;
  int32_t *arena;
  float *packed;       /* every conv's w^T, every transposed conv's w, packed for the GEMM */
  int64_t *packed_off; /* (op_count) */
} plan;

static int64_t plane_of(const ds__graph *p, int32_t t) {
  int32_t l = p->tensors[t].level;
  return p->h[l] * p->w[l];
}

/* ---- ready steps -------------------------------------------------------------------- */

static int32_t max_i32(int32_t a, int32_t b) { return a > b ? a : b; }

/* 1 when some weight of conv tap (ky, kx) is free: a tap whose weights are all structural
 * zeros (a masked conv's) reads nothing the output depends on. Its products in the GEMM are
 * 0 * v = +-0 for whatever finite v the buffer holds, and adding +-0 leaves a fused
 * multiply-add chain that starts from +0 unchanged, so it cannot change a bit either. */
static int tap_live(const ds_model *m, const ds__graph_op *o, int64_t ky, int64_t kx) {
  for (int64_t oc = 0; oc < o->cout; oc++)
    for (int64_t c = 0; c < o->cin; c++)
      if (m->mask[o->w_offset + ((oc * o->cin + c) * o->kh + ky) * o->kw + kx] != 0.0f)
        return 1;
  return 0;
}

/* The input position (in a (hi, wi) plane) that tap (ky, kx) of output (y, x) reads, or -1
 * outside the image: conv, with its stride and pads. */
static int64_t conv_source(const ds__graph_op *o, int64_t hi, int64_t wi, int64_t y, int64_t x,
                           int64_t ky, int64_t kx) {
  int64_t iy = y * o->stride + ky - o->pad_t, ix = x * o->stride + kx - o->pad_l;
  return iy >= 0 && iy < hi && ix >= 0 && ix < wi ? iy * wi + ix : -1;
}

/* Transposed conv: output (y, x) = (2 iy + ky, 2 ix + kx - crop_l); the input position that
 * reaches it through tap (ky, kx), or -1. */
static int64_t deconv_source(const ds__graph_op *o, int64_t hi, int64_t wi, int64_t y,
                             int64_t x, int64_t ky, int64_t kx) {
  int64_t dy = y - ky, dx = x + o->pad_l - kx;
  if (dy < 0 || dx < 0 || dy % 2 || dx % 2 || dy / 2 >= hi || dx / 2 >= wi) return -1;
  return dy / 2 * wi + dx / 2;
}

/* T of every output position of op o into `out` from the tensors' current steps. */
static void op_ready(const ds_model *m, const ds__graph_op *o, int32_t *const *tr,
                     int32_t *out) {
  const ds__graph *p = ds__pcnn_of(m);
  int live[64 * 64]; /* conv taps; plan_build checks kh * kw <= 64 * 64 */
  const ds__op_kind *kind = ds__op_kind_of(o);
  if (kind->role == DS__ROLE_CONV)
    for (int64_t k = 0; k < o->kh * o->kw; k++) live[k] = tap_live(m, o, k / o->kw, k % o->kw);
  int32_t li = p->tensors[o->in].level, lo = p->tensors[o->out].level;
  int64_t hi = p->h[li], wi = p->w[li], ho = p->h[lo], wo = p->w[lo];
  const int32_t *a = tr[o->in], *b = o->in2 >= 0 ? tr[o->in2] : NULL;
  for (int64_t y = 0; y < ho; y++)
    for (int64_t x = 0; x < wo; x++) {
      int32_t t = 0;
      switch (kind->role) {
        case DS__ROLE_CONV:
          for (int64_t ky = 0; ky < o->kh; ky++)
            for (int64_t kx = 0; kx < o->kw; kx++) {
              int64_t q = conv_source(o, hi, wi, y, x, ky, kx);
              if (live[ky * o->kw + kx] && q >= 0) t = max_i32(t, a[q]);
            }
          if (o->accumulate) t = max_i32(t, tr[o->out][y * wo + x]);
          break;
        case DS__ROLE_DECONV:
          for (int64_t ky = 0; ky < o->kh; ky++)
            for (int64_t kx = 0; kx < o->kw; kx++) {
              int64_t q = deconv_source(o, hi, wi, y, x, ky, kx);
              if (q >= 0) t = max_i32(t, a[q]);
            }
          break;
        case DS__ROLE_SHIFT:
          t = y >= kind->shift_y && x >= kind->shift_x
                  ? a[(y - kind->shift_y) * wi + x - kind->shift_x]
                  : 0;
          break;
        case DS__ROLE_POOL: /* the 2x2 block of the level below */
          for (int64_t iy = 2 * y; iy < 2 * y + 2 && iy < hi; iy++)
            for (int64_t ix = 2 * x; ix < 2 * x + 2 && ix < wi; ix++) t = max_i32(t, a[iy * wi + ix]);
          break;
        default: /* POINTWISE, DROPOUT (in place: its own step) */
          t = b ? max_i32(a[y * wi + x], b[y * wi + x]) : a[y * wi + x]; break;
      }
      out[y * wo + x] = t;
    }
}

/* list = the positions of `ready` (n) with step < steps, sorted by step (counting sort,
 * positions ascending within a step). */
static void fill_list(const int32_t *ready, int64_t n, int64_t steps, int32_t *pos,
                      int32_t *step, int64_t *count_by_step, step_list *list) {
  memset(count_by_step, 0, sizeof(int64_t) * (size_t)(steps + 1));
  for (int64_t i = 0; i < n; i++)
    if (ready[i] < steps) count_by_step[ready[i] + 1]++;
  for (int64_t s = 0; s < steps; s++) count_by_step[s + 1] += count_by_step[s];
  list->pos = pos;
  list->step = step;
  list->count = count_by_step[steps];
  for (int64_t i = 0; i < n; i++)
    if (ready[i] < steps) {
      int64_t k = count_by_step[ready[i]]++;
      pos[k] = (int32_t)i;
      step[k] = ready[i];
    }
}

static void plan_free(const ds_model *m, plan *pl) {
  ds__free(m->ctx, pl->out);
  ds__free(m->ctx, pl->in);
  ds__free(m->ctx, pl->cache_off);
  ds__free(m->ctx, pl->arena);
  ds__free(m->ctx, pl->packed);
  ds__free(m->ctx, pl->packed_off);
}

/* The weights of every product, packed once per call (kernels/gemm.h). */
static ds_status pack_weights(const ds_model *m, plan *pl) {
  const ds__graph *p = ds__pcnn_of(m);
  int64_t total = 0;
  pl->packed_off = ds__calloc(m->ctx, (size_t)p->op_count, sizeof *pl->packed_off);
  if (!pl->packed_off) return DS_ERR_OUT_OF_MEMORY;
  for (int32_t i = 0; i < p->op_count; i++) {
    const ds__graph_op *o = &p->ops[i];
    pl->packed_off[i] = total;
    int32_t role = ds__op_kind_of(o)->role;
    if (role == DS__ROLE_CONV)
      total += ds__gemm_packed_b_floats(o->cin * o->kh * o->kw, o->cout);
    else if (role == DS__ROLE_DECONV)
      total += ds__gemm_packed_b_floats(o->cin, o->cout * o->kh * o->kw);
  }
  pl->packed = ds__calloc(m->ctx, (size_t)(total + 1), sizeof(float));
  if (!pl->packed) return DS_ERR_OUT_OF_MEMORY;
  for (int32_t i = 0; i < p->op_count; i++) {
    const ds__graph_op *o = &p->ops[i];
    float *dst = pl->packed + pl->packed_off[i];
    int64_t kc = o->cin * o->kh * o->kw, kd = o->cout * o->kh * o->kw;
    int32_t role = ds__op_kind_of(o)->role;
    if (role == DS__ROLE_CONV) /* op(B) = w^T (Kc, Cout), w stored (Cout, Kc) */
      ds__gemm_pack_b(1, kc, o->cout, m->params + o->w_offset, kc, dst);
    else if (role == DS__ROLE_DECONV) /* op(B) = w (Cin, Cout*kh*kw) */
      ds__gemm_pack_b(0, o->cin, kd, m->params + o->w_offset, kd, dst);
  }
  return DS_OK;
}

static ds_status plan_build(const ds_model *m, plan *pl) {
  const ds__graph *p = ds__pcnn_of(m);
  memset(pl, 0, sizeof *pl);
  /* one step per pixel of x; the level-0 plane has HW0 positions (2 steps stacked), x's
     pixels from X0 (model/pixelcnn.h) */
  int64_t steps = m->groups, HW0 = p->h[0] * p->w[0], X0 = p->x_row0 * p->w[0];
  int64_t lists = 0, maps = 0;
  pl->steps = steps;
  for (int32_t t = 0; t < p->tensor_count; t++) maps += plane_of(p, t);
  for (int32_t i = 0; i < p->op_count; i++) {
    const ds__graph_op *o = &p->ops[i];
    lists += plane_of(p, o->out) +
             (ds__op_kind_of(o)->role == DS__ROLE_DECONV ? plane_of(p, o->in) : 0);
  }
  /* arena: tensor steps (maps), op steps (HW0), lists (pos and step) */
  int64_t ints = maps + HW0 + 2 * lists;
  pl->arena = ds__calloc(m->ctx, (size_t)ints, sizeof(int32_t));
  pl->out = ds__calloc(m->ctx, (size_t)p->op_count, sizeof *pl->out);
  pl->in = ds__calloc(m->ctx, (size_t)p->op_count, sizeof *pl->in);
  pl->cache_off = ds__calloc(m->ctx, (size_t)p->op_count, sizeof *pl->cache_off);
  int32_t **tr = ds__calloc(m->ctx, (size_t)p->tensor_count, sizeof *tr);
  int64_t *counts = ds__calloc(m->ctx, (size_t)(steps + 1), sizeof *counts);
  ds_status st = DS_OK;
  if (!pl->arena || !pl->out || !pl->in || !pl->cache_off || !tr || !counts ||
      pack_weights(m, pl) != DS_OK) {
    st = ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY, "ds_model_sample: out of memory for the "
                  "sampling plan");
    goto done;
  }
  for (int32_t i = 0; i < p->op_count; i++) { /* op_ready's and deconv_at's tap arrays */
    const ds__graph_op *o = &p->ops[i];
    int32_t role = ds__op_kind_of(o)->role;
    int64_t limit = role == DS__ROLE_DECONV ? 64 : 64 * 64;
    if ((role == DS__ROLE_CONV || role == DS__ROLE_DECONV) && o->kh * o->kw > limit) {
      st = ds__fail(m->ctx, DS_ERR_INTERNAL, "ds_model_sample: a kernel of %lld taps (at "
                    "most %lld)", (long long)(o->kh * o->kw), (long long)limit);
      goto done;
    }
  }
  int32_t *next = pl->arena;
  for (int32_t t = 0; t < p->tensor_count; t++) {
    tr[t] = next; /* zero: the conditioning tensors, and anything before its first writer */
    next += plane_of(p, t);
  }
  /* x's pixel k at step k + 1; the stacked input's top half (x~) is known from the start */
  for (int64_t k = X0; k < HW0; k++) tr[p->input][k] = (int32_t)(k - X0 + 1);
  int32_t *op_steps = next;
  next += HW0;
  int64_t cache = 0, widest = 1;
  for (int32_t i = 0; i < p->op_count; i++) {
    const ds__graph_op *o = &p->ops[i];
    int64_t n_out = plane_of(p, o->out);
    int32_t role = ds__op_kind_of(o)->role;
    if (role == DS__ROLE_DECONV) {
      int64_t n_in = plane_of(p, o->in);
      fill_list(tr[o->in], n_in, steps, next, next + n_in, counts, &pl->in[i]);
      next += 2 * n_in;
      pl->cache_off[i] = cache;
      cache += o->cout * o->kh * o->kw * n_in;
    }
    /* op_steps is large enough: no plane exceeds level 0's */
    op_ready(m, o, tr, op_steps);
    memcpy(tr[o->out], op_steps, sizeof(int32_t) * (size_t)n_out);
    fill_list(op_steps, n_out, steps, next, next + n_out, counts, &pl->out[i]);
    next += 2 * n_out;
    int64_t need = o->cin * o->kh * o->kw;
    if (role == DS__ROLE_DECONV) need = o->cout * o->kh * o->kw;
    int64_t c = p->tensors[o->out].c, c_in = p->tensors[o->in].c;
    need = need > c ? need : c;
    need = need > 2 * c_in ? need : 2 * c_in;
    widest = need > widest ? need : widest;
  }
  pl->cache_per_row = cache;
  pl->scratch_rows = widest;
  /* causality: the head of pixel s is final once pixels < s are known */
  const int32_t *head = tr[p->head] + X0;
  for (int64_t s = 0; s < steps && st == DS_OK; s++)
    if (head[s] > s)
      st = ds__fail(m->ctx, DS_ERR_INTERNAL,
                    "ds_model_sample: the network is not causal (pixel %lld depends on "
                    "pixel %lld)", (long long)s, (long long)head[s] - 1);
done:
  ds__free(m->ctx, tr);
  ds__free(m->ctx, counts);
  if (st != DS_OK) plan_free(m, pl);
  return st;
}

/* ---- one thread's rows -------------------------------------------------------------- */

/* The sampler keeps its activations channels-last, (rows, H_l*W_l, c) per tensor at the
 * tensor's offset, so one position's channels are contiguous: computing a few positions
 * reads a few short runs instead of one float from each of c planes. */
typedef struct arena {
  int64_t capacity;
  float *vals;   /* (capacity * floats_per_row) activations, channels-last */
  float *planar; /* (capacity * inputs_end) the inputs as pixelcnn.c lays them out */
  float *cache;  /* (capacity, cache_per_row) transposed-conv columns, (P_in, Cout*kh*kw) */
  float *s0, *s1, *s2, *s3; /* (scratch_rows * columns) gather / product / scratch */
  int64_t columns;
} arena;

typedef struct sampler {
  const ds_model *m;
  const plan *pl;
  arena *a;
  int64_t rows; /* of this block */
} sampler;

static float *tensor_at(const sampler *sp, int32_t t) {
  return sp->a->vals + sp->a->capacity * ds__pcnn_of(sp->m)->tensors[t].offset;
}

/* g (N, c), row j = r * n + i: channels of tensor t at position pos[i] of row r */
static void gather(const sampler *sp, int32_t t, const int32_t *pos, int64_t n, float *g) {
  const ds__graph *p = ds__pcnn_of(sp->m);
  int64_t c = p->tensors[t].c, P = plane_of(p, t);
  const float *v = tensor_at(sp, t);
  for (int64_t r = 0; r < sp->rows; r++)
    for (int64_t i = 0; i < n; i++)
      memcpy(g + (r * n + i) * c, v + (r * P + pos[i]) * c, sizeof(float) * (size_t)c);
}

static void scatter(const sampler *sp, int32_t t, const int32_t *pos, int64_t n,
                    const float *g) {
  const ds__graph *p = ds__pcnn_of(sp->m);
  int64_t c = p->tensors[t].c, P = plane_of(p, t);
  float *v = tensor_at(sp, t);
  for (int64_t r = 0; r < sp->rows; r++)
    for (int64_t i = 0; i < n; i++)
      memcpy(v + (r * P + pos[i]) * c, g + (r * n + i) * c, sizeof(float) * (size_t)c);
}

/* conv outputs at pos: conv_engine's gather_gemm restricted to these columns, as the
 * product out^T (N, Cout) = col^T (N, Kc) w^T (an element's sum is the same fused
 * multiply-add chain over k as in w col: a * b is exact, whichever side it comes from) */
static void conv_at(const sampler *sp, const ds__graph_op *o, const int32_t *pos, int64_t n) {
  const ds__graph *p = ds__pcnn_of(sp->m);
  int32_t li = p->tensors[o->in].level, lo = p->tensors[o->out].level;
  int64_t hi = p->h[li], wi = p->w[li], wo = p->w[lo], Pi = hi * wi, Po = p->h[lo] * wo;
  int64_t kc = o->cin * o->kh * o->kw, kk = o->kh * o->kw, N = sp->rows * n;
  const float *in = tensor_at(sp, o->in);
  float *out = tensor_at(sp, o->out), *col = sp->a->s0, *acc = sp->a->s1;
  for (int64_t r = 0; r < sp->rows; r++)
    for (int64_t i = 0; i < n; i++) {
      int64_t y = pos[i] / wo, x = pos[i] % wo;
      float *dst = col + (r * n + i) * kc; /* row k = (c * kh + ky) * kw + kx */
      for (int64_t ky = 0; ky < o->kh; ky++)
        for (int64_t kx = 0; kx < o->kw; kx++) {
          int64_t q = conv_source(o, hi, wi, y, x, ky, kx), tap = ky * o->kw + kx;
          if (q < 0) {
            for (int64_t c = 0; c < o->cin; c++) dst[c * kk + tap] = 0.0f;
            continue;
          }
          const float *src = in + (r * Pi + q) * o->cin;
          for (int64_t c = 0; c < o->cin; c++) dst[c * kk + tap] = src[c];
        }
    }
  const float *bias = o->b_offset >= 0 ? sp->m->params + o->b_offset : NULL;
  int init = bias || o->accumulate;
  for (int64_t r = 0; r < sp->rows && init; r++)
    for (int64_t i = 0; i < n; i++) {
      const float *e = out + (r * Po + pos[i]) * o->cout;
      float *d = acc + (r * n + i) * o->cout;
      for (int64_t oc = 0; oc < o->cout; oc++) {
        float bv = bias ? bias[oc] : 0.0f;
        d[oc] = o->accumulate ? e[oc] + bv : bv;
      }
    }
  ds__gemm_packed_b(0, N, o->cout, kc, 1.0f, col, kc, sp->pl->packed + sp->pl->packed_off[o - p->ops],
                    init ? 1.0f : 0.0f, acc, o->cout);
  scatter(sp, o->out, pos, n, acc);
}

/* transposed conv, input side: the columns of input positions pos, (N, Cout*kh*kw) =
 * x^T (N, Cin) w (Cin, Cout*kh*kw), into the cache */
static void deconv_columns(const sampler *sp, int32_t op_index, const int32_t *pos, int64_t n) {
  const ds__graph *p = ds__pcnn_of(sp->m);
  const ds__graph_op *o = &p->ops[op_index];
  int64_t kc = o->cout * o->kh * o->kw, N = sp->rows * n;
  gather(sp, o->in, pos, n, sp->a->s0);
  ds__gemm_packed_b(0, N, kc, o->cin, 1.0f, sp->a->s0, o->cin,
                    sp->pl->packed + sp->pl->packed_off[op_index], 0.0f, sp->a->s1, kc);
  for (int64_t r = 0; r < sp->rows; r++) {
    float *cache = sp->a->cache + r * sp->pl->cache_per_row + sp->pl->cache_off[op_index];
    for (int64_t i = 0; i < n; i++)
      memcpy(cache + pos[i] * kc, sp->a->s1 + (r * n + i) * kc, sizeof(float) * (size_t)kc);
  }
}

/* transposed conv, output side: bias + contributions in col2im's order (tap k ascending) */
static void deconv_at(const sampler *sp, int32_t op_index, const int32_t *pos, int64_t n) {
  const ds__graph *p = ds__pcnn_of(sp->m);
  const ds__graph_op *o = &p->ops[op_index];
  int32_t li = p->tensors[o->in].level, lo = p->tensors[o->out].level;
  int64_t hi = p->h[li], wi = p->w[li], wo = p->w[lo], Po = p->h[lo] * wo;
  int64_t kk = o->kh * o->kw, kc = o->cout * kk;
  const float *bias = sp->m->params + o->b_offset;
  float *out = tensor_at(sp, o->out);
  for (int64_t i = 0; i < n; i++) {
    /* the taps that reach this position, in order: (offset in the cache) */
    int64_t y = pos[i] / wo, x = pos[i] % wo, taps[64], nt = 0;
    for (int64_t ky = 0; ky < o->kh; ky++)
      for (int64_t kx = 0; kx < o->kw; kx++) {
        int64_t q = deconv_source(o, hi, wi, y, x, ky, kx);
        if (q >= 0) taps[nt++] = q * kc + ky * o->kw + kx;
      }
    for (int64_t r = 0; r < sp->rows; r++) {
      const float *cache = sp->a->cache + r * sp->pl->cache_per_row + sp->pl->cache_off[op_index];
      float *dst = out + (r * Po + pos[i]) * o->cout;
      for (int64_t c = 0; c < o->cout; c++) {
        float v = bias[c];
        for (int64_t t = 0; t < nt; t++) v += cache[taps[t] + c * kk];
        dst[c] = v;
      }
    }
  }
}

/* out (i, j) = in (i - shift_y, j - shift_x), 0 outside */
static void shift_at(const sampler *sp, const ds__graph_op *o, const int32_t *pos, int64_t n) {
  const ds__graph *p = ds__pcnn_of(sp->m);
  const ds__op_kind *k = ds__op_kind_of(o);
  int32_t l = p->tensors[o->in].level;
  int64_t w = p->w[l], P = p->h[l] * w, c = p->tensors[o->in].c;
  int64_t back = k->shift_y * w + k->shift_x;
  const float *in = tensor_at(sp, o->in);
  float *out = tensor_at(sp, o->out);
  for (int64_t r = 0; r < sp->rows; r++)
    for (int64_t i = 0; i < n; i++) {
      int64_t y = pos[i] / w, x = pos[i] % w;
      float *dst = out + (r * P + pos[i]) * c;
      if (y < k->shift_y || x < k->shift_x)
        for (int64_t ch = 0; ch < c; ch++) dst[ch] = 0.0f;
      else
        memcpy(dst, in + (r * P + pos[i] - back) * c, sizeof(float) * (size_t)c);
    }
}

/* POINTWISE ops on gathered (N, c) values: the kind's kernels in their (batch N, c, 1
 * pixel) layout, bitwise what a full pass computes per element. */
static void pointwise_at(const sampler *sp, const ds__graph_op *o, const int32_t *pos,
                         int64_t n) {
  const ds__graph *p = ds__pcnn_of(sp->m);
  const ds__op_kind *k = ds__op_kind_of(o);
  ds__pool *pool = sp->m->ctx->pool; /* runs inline: we are inside a pool job */
  int64_t c = p->tensors[o->in].c, c2 = o->in2 >= 0 ? p->tensors[o->in2].c : 0;
  int64_t N = sp->rows * n;
  float *a = sp->a->s0, *b = o->in2 >= 0 ? sp->a->s1 : NULL, *y = sp->a->s2;
  gather(sp, o->in, pos, n, a);
  if (b) gather(sp, o->in2, pos, n, b);
  if (k->forward_rows)
    k->forward_rows(N, c, c2, a, b, y, sp->a->s3);
  else
    k->forward(pool, N, c, c2, 1, a, b, y);
  scatter(sp, o->out, pos, n, y);
}

/* 2x2 average pooling at pos (ds__graph_avg2x2, as the executor) */
static void avgpool_at(const sampler *sp, const ds__graph_op *o, const int32_t *pos,
                       int64_t n) {
  const ds__graph *p = ds__pcnn_of(sp->m);
  int32_t li = p->tensors[o->in].level, lo = p->tensors[o->out].level;
  int64_t hi = p->h[li], wi = p->w[li], wo = p->w[lo], Pi = hi * wi, Po = p->h[lo] * wo;
  int64_t c = p->tensors[o->in].c;
  const float *in = tensor_at(sp, o->in);
  float *out = tensor_at(sp, o->out);
  for (int64_t r = 0; r < sp->rows; r++)
    for (int64_t i = 0; i < n; i++) {
      int64_t y = pos[i] / wo, x = pos[i] % wo;
      float *dst = out + (r * Po + pos[i]) * c;
      for (int64_t k = 0; k < c; k++)
        dst[k] = ds__graph_avg2x2(in + r * Pi * c + k, hi, wi, c, y, x);
    }
}

static void run_op(const sampler *sp, int32_t i, const int32_t *pos, int64_t n) {
  const ds__graph_op *o = &ds__pcnn_of(sp->m)->ops[i];
  switch (ds__op_kind_of(o)->role) {
    case DS__ROLE_CONV: conv_at(sp, o, pos, n); break;
    case DS__ROLE_POOL: avgpool_at(sp, o, pos, n); break;
    case DS__ROLE_DECONV: deconv_at(sp, i, pos, n); break;
    case DS__ROLE_SHIFT: shift_at(sp, o, pos, n); break;
    case DS__ROLE_DROPOUT: break; /* inactive when sampling */
    default: pointwise_at(sp, o, pos, n); break;
  }
}

/* Run `fn` on the positions of `list` ready at step s, from *cursor, in chunks. */
static void run_ready(const sampler *sp, int32_t i, const step_list *list, int64_t *cursor,
                      int64_t s, void (*fn)(const sampler *, int32_t, const int32_t *, int64_t)) {
  int64_t end = *cursor;
  while (end < list->count && list->step[end] == s) end++;
  int64_t chunk = sp->a->columns / sp->rows;
  chunk = chunk > 0 ? chunk : 1;
  for (int64_t k = *cursor; k < end; k += chunk)
    fn(sp, i, list->pos + k, end - k < chunk ? end - k : chunk);
  *cursor = end;
}

typedef struct sample_job {
  const ds_model *m;
  const plan *pl;
  arena *arenas;
  const float *c;
  float *x;
  int64_t n, first;
  uint64_t stream;
  int32_t method, greedy_mean;
  int64_t *cursors; /* (threads, 2 * op_count) */
  int64_t *bad_row;  /* (threads) first example with a dead-tap overflow, or -1 */
  int32_t *bad_op;   /* (threads) its op */
} sample_job;

/* The inputs of rows [0, rows) channels-last: x = 0 with the ones channel, and x~ (the
 * stacked input's top half, or cond_in; the pooled conditioning is computed by ops). */
static void fill_inputs(const sample_job *j, const sampler *sp, const float *x, int64_t r0) {
  const ds_model *m = j->m;
  const ds__graph *p = ds__pcnn_of(m);
  arena *a = sp->a;
  ds__pcnn_fill_inputs(m, a->planar, a->capacity, x,
                       m->cfg.cond_dim > 0 ? j->c + r0 * m->cfg.cond_dim : NULL, sp->rows);
  int32_t ids[2] = {p->input, p->cond_in};
  for (int k = 0; k < 2; k++) {
    if (ids[k] < 0) continue;
    int64_t c = p->tensors[ids[k]].c, P = plane_of(p, ids[k]);
    const float *src = a->planar + a->capacity * p->tensors[ids[k]].offset;
    float *dst = tensor_at(sp, ids[k]);
    for (int64_t r = 0; r < sp->rows; r++)
      for (int64_t ch = 0; ch < c; ch++)
        for (int64_t q = 0; q < P; q++) dst[(r * P + q) * c + ch] = src[(r * c + ch) * P + q];
  }
}

/* Rows [r0, r0 + rows) of the job in the thread's arena. */
static void sample_block(const sample_job *j, arena *a, int64_t *cursors, int64_t r0,
                         int64_t rows, int64_t *bad_row, int32_t *bad_op) {
  const ds_model *m = j->m;
  const ds__graph *p = ds__pcnn_of(m);
  int64_t D = m->cfg.dim, C = p->channels, HW = j->pl->steps, P = p->head_channels;
  int64_t HW0 = p->h[0] * p->w[0], X0 = p->x_row0 * p->w[0]; /* x's pixels from X0 */
  sampler sp = {m, j->pl, a, rows};
  float *x = j->x + r0 * D;
  memset(x, 0, sizeof(float) * (size_t)(rows * D));
  fill_inputs(j, &sp, x, r0);
  memset(cursors, 0, sizeof(int64_t) * (size_t)(2 * p->op_count));
  float *in = tensor_at(&sp, p->input);
  const float *head = tensor_at(&sp, p->head);
  for (int64_t s = 0; s < HW; s++) {
    for (int32_t i = 0; i < p->op_count; i++) {
      if (ds__op_kind_of(&p->ops[i])->role == DS__ROLE_DECONV)
        run_ready(&sp, i, &j->pl->in[i], &cursors[p->op_count + i], s, deconv_columns);
      run_ready(&sp, i, &j->pl->out[i], &cursors[i], s, run_op);
    }
    /* head of pixel s: row r at head + (r * HW0 + X0 + s) * P */
    ds__model_sample_group(m, head + (X0 + s) * P, HW0 * P, rows, j->first + r0, s,
                           j->stream, j->method, j->greedy_mean, x);
    for (int64_t r = 0; r < rows; r++)
      for (int64_t k = 0; k < C; k++)
        in[(r * HW0 + X0 + s) * (C + 1) + k] = x[r * D + s * C + k];
  }
  /* graph.h, "Non-finite activations": every position is final now (the positions that
     depend on the last pixel are never computed and stay 0) */
  for (int64_t r = 0; r < rows; r++) {
    int32_t op = ds__graph_dead_tap_overflow(p, a->vals, a->capacity, r);
    if (op >= 0 && *bad_row < 0) {
      *bad_row = j->first + r0 + r;
      *bad_op = op;
    }
  }
}

static void sample_part(void *arg, int32_t t, int32_t threads) {
  const sample_job *j = arg;
  int64_t r0, r1;
  ds__split_range(j->n, t, threads, &r0, &r1);
  arena *a = &j->arenas[t];
  for (int64_t r = r0; r < r1; r += a->capacity)
    sample_block(j, a, j->cursors + (int64_t)t * 2 * ds__pcnn_of(j->m)->op_count, r,
                 r1 - r < a->capacity ? r1 - r : a->capacity, &j->bad_row[t], &j->bad_op[t]);
}

static void arena_free(const ds_model *m, arena *a) {
  ds__free(m->ctx, a->vals);
  ds__free(m->ctx, a->planar);
  ds__free(m->ctx, a->cache);
  ds__free(m->ctx, a->s0);
  ds__free(m->ctx, a->s1);
  ds__free(m->ctx, a->s2);
  ds__free(m->ctx, a->s3);
}

/* One call's arenas, one per thread. Kept by the model after a call (ds__graph.kept_arenas)
 * so the next call with the same thread count and block size reuses them: no allocation
 * and no page faults in steady state (the two threads' first-touch faults contend on the
 * process's page tables). A reused arena is in the state a thread's second block of rows
 * finds its arena in: every position a block computes is written before it is read, and
 * the positions no block computes (graph.h, "Non-finite activations") are still 0. */
typedef struct ds__sampler_arenas {
  int32_t threads;
  int64_t cap;
  arena *arenas; /* (threads) */
} ds__sampler_arenas;

static void arenas_free(const ds_model *m, ds__sampler_arenas *set) {
  if (!set) return;
  for (int32_t t = 0; set->arenas && t < set->threads; t++) arena_free(m, &set->arenas[t]);
  ds__free(m->ctx, set->arenas);
  ds__free(m->ctx, set);
}

void ds__pcnn_sampler_free_kept(ds_model *m) {
  arenas_free(m, atomic_exchange(&ds__pcnn_of(m)->kept_arenas, NULL));
}

/* The kept arenas if they fit (threads, cap), else new ones; NULL without memory. */
static ds__sampler_arenas *arenas_take(const ds_model *m, const plan *pl, int32_t threads,
                                       int64_t cap, int64_t inputs_end) {
  const ds__graph *p = ds__pcnn_of(m);
  ds__sampler_arenas *set = atomic_exchange(&ds__pcnn_of(m)->kept_arenas, NULL);
  if (set && set->threads == threads && set->cap == cap) return set;
  arenas_free(m, set);
  set = ds__calloc(m->ctx, 1, sizeof *set);
  if (!set) return NULL;
  set->threads = threads;
  set->cap = cap;
  set->arenas = ds__calloc(m->ctx, (size_t)threads, sizeof *set->arenas);
  int ok = set->arenas != NULL;
  for (int32_t t = 0; ok && t < threads; t++) {
    arena *a = &set->arenas[t];
    a->capacity = cap;
    a->columns = COLUMNS > cap ? COLUMNS : cap;
    a->vals = ds__calloc(m->ctx, (size_t)(cap * p->floats_per_row), sizeof(float));
    a->planar = ds__calloc(m->ctx, (size_t)(cap * inputs_end), sizeof(float));
    a->cache = ds__calloc(m->ctx, (size_t)(cap * pl->cache_per_row + 1), sizeof(float));
    a->s0 = ds__calloc(m->ctx, (size_t)(pl->scratch_rows * a->columns), sizeof(float));
    a->s1 = ds__calloc(m->ctx, (size_t)(pl->scratch_rows * a->columns), sizeof(float));
    a->s2 = ds__calloc(m->ctx, (size_t)(pl->scratch_rows * a->columns), sizeof(float));
    /* forward_rows scratch: written before it is read */
    a->s3 = ds__malloc(m->ctx, sizeof(float) * (size_t)(pl->scratch_rows * a->columns));
    ok = a->vals && a->planar && a->cache && a->s0 && a->s1 && a->s2 && a->s3;
  }
  if (!ok) {
    arenas_free(m, set);
    return NULL;
  }
  return set;
}

/* Put the arenas back for the next call (freed if another call put back its own). */
static void arenas_keep(const ds_model *m, ds__sampler_arenas *set) {
  ds__sampler_arenas *none = NULL;
  if (set && !atomic_compare_exchange_strong(&ds__pcnn_of(m)->kept_arenas, &none, set))
    arenas_free(m, set);
}

ds_status ds__pcnn_sample(const ds_model *m, const float *c, int64_t n, int64_t first,
                          uint64_t stream, int32_t method, int32_t greedy_mean, float *x) {
  const ds__graph *p = ds__pcnn_of(m);
  if (n <= 0) return DS_OK;
  plan pl;
  ds_status st = plan_build(m, &pl);
  if (st != DS_OK) return st;
  int32_t threads = ds__pool_threads(m->ctx->pool);
  /* the end of the input and conditioning tensors in a row's layout */
  int64_t inputs_end = 0;
  int32_t ids[2] = {p->input, p->cond_in};
  for (int k = 0; k < 2; k++)
    if (ids[k] >= 0) {
      int64_t end = p->tensors[ids[k]].offset + p->tensors[ids[k]].c * plane_of(p, ids[k]);
      inputs_end = end > inputs_end ? end : inputs_end;
    }
  /* rows per thread and block: activations and caches of about 256 MB in all */
  int64_t per_row = p->floats_per_row + pl.cache_per_row + inputs_end;
  int64_t cap = ((int64_t)1 << 26) / (per_row * threads + 1);
  int64_t share = (n + threads - 1) / threads;
  cap = cap < 1 ? 1 : cap > 256 ? 256 : cap;
  cap = cap < share ? cap : share;
  ds__sampler_arenas *set = arenas_take(m, &pl, threads, cap, inputs_end);
  arena *arenas = set ? set->arenas : NULL;
  int64_t *cursors = ds__calloc(m->ctx, (size_t)(2 * threads * p->op_count), sizeof *cursors);
  int64_t *bad_row = ds__calloc(m->ctx, (size_t)threads, sizeof *bad_row);
  int32_t *bad_op = ds__calloc(m->ctx, (size_t)threads, sizeof *bad_op);
  int ok = arenas && cursors && bad_row && bad_op;
  for (int32_t t = 0; ok && t < threads; t++) bad_row[t] = -1;
  if (ok) {
    sample_job j = {m,           &pl,    arenas,  c, x, n, first, stream, method,
                    greedy_mean, cursors, bad_row, bad_op};
    ds__pool_run(m->ctx->pool, sample_part, &j);
  }
  int32_t worst = -1; /* the thread with the first failing example: any thread count */
  for (int32_t t = 0; ok && t < threads; t++)
    if (bad_row[t] >= 0 && (worst < 0 || bad_row[t] < bad_row[worst])) worst = t;
  if (worst >= 0) {
    const ds__graph_op *o = &p->ops[bad_op[worst]];
    st = ds__fail(m->ctx, DS_ERR_NUMERIC,
                  "ds_model_sample: example %lld: the input of masked convolution op %d "
                  "(%lldx%lld) is not finite, so its structurally zero taps would give NaN: "
                  "the model's weights overflow float on this image",
                  (long long)(bad_row[worst] - first), (int)bad_op[worst], (long long)o->kh,
                  (long long)o->kw);
  }
  if (ok) arenas_keep(m, set);
  else arenas_free(m, set); /* a failed call keeps no memory */
  ds__free(m->ctx, cursors);
  ds__free(m->ctx, bad_row);
  ds__free(m->ctx, bad_op);
  plan_free(m, &pl);
  if (!ok)
    return ds__fail(m->ctx, DS_ERR_OUT_OF_MEMORY,
                    "ds_model_sample: out of memory for the sampler's activations of %lld "
                    "images", (long long)cap);
  return st;
}
