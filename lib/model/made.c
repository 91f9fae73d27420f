#include "model/made.h"

#include <math.h>
#include <string.h>

#include "core/philox.h"
#include "core/pool.h"
#include "kernels/activation.h"
#include "kernels/gemm.h"

void ds__made_layout(ds__made *m, const ds_model_config *cfg, int64_t group_params) {
  memset(m, 0, sizeof *m);
  m->dim = cfg->dim;
  m->cond_dim = cfg->cond_dim;
  m->in_dim = cfg->dim + cfg->cond_dim;
  m->out_dim = group_params * cfg->dim;
  m->activation = cfg->activation;
  m->cond_share = cfg->cond_dim > 0 && cfg->dim >= 2 ? cfg->cond_share : 0.0f;
  m->layer_count = cfg->hidden_count + 1;
  int64_t in = m->in_dim, offset = 0, per_row = m->in_dim, widest = m->in_dim;
  for (int32_t l = 0; l < m->layer_count; l++) {
    int last = l == m->layer_count - 1;
    int64_t out = last ? m->out_dim : cfg->hidden[l];
    ds__made_layer *L = &m->layer[l];
    L->in = in;
    L->out = out;
    L->w_offset = offset;
    L->b_offset = offset + out * in;
    L->residual = !last && l > 0 && cfg->residual && out == in;
    offset += out * (in + 1);
    per_row += out * (last ? 2 : 3); /* z, dz (+ h for hidden layers) */
    if (out > widest) widest = out;
    in = out;
  }
  m->param_count = offset;
  m->widest = widest;
  m->floats_per_row = per_row + 2 * widest;
}

/* Degree of unit k in a hidden layer of `width` units (see made.h). */
static int64_t hidden_degree(const ds__made *m, int64_t width, int64_t k) {
  if (m->cond_share > 0.0f) { /* the first n0 units see only c, the rest cycle 1..D-1 */
    int64_t n0 = (int64_t)llround((double)m->cond_share * (double)width);
    if (n0 > width - 1) n0 = width - 1;
    if (n0 < 1) n0 = 1;
    return k < n0 ? 0 : 1 + (k - n0) % (m->dim - 1);
  }
  int64_t lo = (m->cond_dim > 0 || m->dim == 1) ? 0 : 1;
  int64_t span = m->dim - lo; /* degrees lo..D-1 */
  return span <= 0 ? 0 : lo + k % span;
}

void ds__made_masks(const ds__made *m, float *mask) {
  for (int32_t l = 0; l < m->layer_count; l++) {
    const ds__made_layer *L = &m->layer[l];
    int last = l == m->layer_count - 1;
    int64_t per_dim = last ? m->out_dim / m->dim : 0;
    for (int64_t o = 0; o < L->out; o++) {
      for (int64_t i = 0; i < L->in; i++) {
        /* degree of the input unit: x_d has d + 1, c has 0, hidden units their own */
        int64_t din = l == 0 ? (i < m->dim ? i + 1 : 0) : hidden_degree(m, L->in, i);
        int allowed;
        if (last) allowed = din < o / per_dim + 1; /* output of dimension d (degree d+1) */
        else allowed = hidden_degree(m, L->out, o) >= din;
        mask[L->w_offset + o * L->in + i] = allowed ? 1.0f : 0.0f;
      }
      mask[L->b_offset + o] = 1.0f;
    }
  }
}

void ds__made_init(const ds__made *m, uint64_t seed, const float *mask, float *params) {
  for (int32_t l = 0; l < m->layer_count; l++) {
    const ds__made_layer *L = &m->layer[l];
    double bound = 1.0 / sqrt((double)L->in);
    for (int64_t k = L->w_offset; k < L->b_offset + L->out; k++) {
      double u = ds__uniform_at(seed, DS__STREAM_INIT, (uint64_t)k);
      params[k] = (float)((2.0 * u - 1.0) * bound) * mask[k];
    }
  }
}

void ds__made_buffers_bind(const ds__made *m, int64_t capacity, float *storage,
                           ds__made_buffers *buf) {
  memset(buf, 0, sizeof *buf);
  buf->capacity = capacity;
  float *p = storage;
  buf->input = p;
  p += capacity * m->in_dim;
  for (int32_t l = 0; l < m->layer_count; l++) {
    int64_t out = m->layer[l].out;
    buf->z[l] = p;
    p += capacity * out;
    buf->dz[l] = p;
    p += capacity * out;
    if (l < m->layer_count - 1) {
      buf->h[l] = p;
      p += capacity * out;
    }
  }
  buf->dh = p;
  p += capacity * m->widest;
  buf->dh2 = p;
}

void ds__made_forward_rows(const ds__made *m, const float *params, const float *x,
                           const float *c, int64_t r0, int64_t r1, ds__made_buffers *buf) {
  int64_t rows = r1 - r0;
  if (rows <= 0) return;
  float *input = buf->input + r0 * m->in_dim;
  for (int64_t r = 0; r < rows; r++) {
    memcpy(input + r * m->in_dim, x + r * m->dim, sizeof(float) * (size_t)m->dim);
    if (m->cond_dim)
      memcpy(input + r * m->in_dim + m->dim, c + r * m->cond_dim,
             sizeof(float) * (size_t)m->cond_dim);
  }
  const float *prev = input;
  for (int32_t l = 0; l < m->layer_count; l++) {
    const ds__made_layer *L = &m->layer[l];
    float *z = buf->z[l] + r0 * L->out;
    const float *W = params + L->w_offset, *b = params + L->b_offset;
    for (int64_t r = 0; r < rows; r++) memcpy(z + r * L->out, b, sizeof(float) * (size_t)L->out);
    /* z (rows, out) += prev (rows, in) W^T; nested in a pool job this runs inline */
    ds__gemm(NULL, 0, 1, rows, L->out, L->in, 1.0f, prev, L->in, W, L->in, 1.0f, z, L->out);
    if (l == m->layer_count - 1) break;
    float *h = buf->h[l] + r0 * L->out;
    ds__act_forward(m->activation, z, L->residual ? prev : NULL, h, rows * L->out);
    prev = h;
  }
}

void ds__made_backward_rows(const ds__made *m, const float *params, int64_t r0, int64_t r1,
                            ds__made_buffers *buf, float *d_x) {
  int64_t rows = r1 - r0;
  if (rows <= 0) return;
  int32_t last = m->layer_count - 1;
  /* g: gradient wrt the input of the layer above, (rows, width); g2 the next one */
  float *g = buf->dh + r0 * m->widest, *g2 = buf->dh2 + r0 * m->widest;
  const ds__made_layer *O = &m->layer[last];
  ds__gemm(NULL, 0, 0, rows, O->in, O->out, 1.0f, buf->dz[last] + r0 * O->out, O->out,
           params + O->w_offset, O->in, 0.0f, g, O->in);
  for (int32_t l = last - 1; l >= 0; l--) {
    const ds__made_layer *L = &m->layer[l];
    const float *z = buf->z[l] + r0 * L->out;
    float *dz = buf->dz[l] + r0 * L->out;
    ds__act_backward(m->activation, z, g, dz, rows * L->out);
    if (l == 0 && !d_x) return;
    /* gradient wrt h_{l-1} (rows, in) = dz W_l (+ g through the residual skip) */
    ds__gemm(NULL, 0, 0, rows, L->in, L->out, 1.0f, dz, L->out, params + L->w_offset, L->in,
             0.0f, g2, L->in);
    if (L->residual)
      for (int64_t k = 0; k < rows * L->in; k++) g2[k] += g[k];
    float *swap = g;
    g = g2;
    g2 = swap;
  }
  if (!d_x) return;
  for (int64_t r = 0; r < rows; r++)
    memcpy(d_x + r * m->dim, g + r * m->in_dim, sizeof(float) * (size_t)m->dim);
}

void ds__made_weight_grads(const ds__made *m, const float *mask, int64_t rows,
                           const ds__made_buffers *buf, float *grad, int32_t t, int32_t T) {
  int64_t total = 0;
  for (int32_t l = 0; l < m->layer_count; l++) total += m->layer[l].out;
  int64_t g0, g1, base = 0;
  ds__split_range(total, t, T, &g0, &g1);
  for (int32_t l = 0; l < m->layer_count; l++) {
    const ds__made_layer *L = &m->layer[l];
    int64_t o0 = g0 - base, o1 = g1 - base;
    base += L->out;
    if (o0 < 0) o0 = 0;
    if (o1 > L->out) o1 = L->out;
    if (o0 >= o1) continue;
    const float *in = l == 0 ? buf->input : buf->h[l - 1];
    const float *dz = buf->dz[l];
    float *gW = grad + L->w_offset + o0 * L->in;
    /* dW rows [o0, o1) (out, in) = dz[:, o0:o1]^T (rows) x in (rows, in) */
    ds__gemm(NULL, 1, 0, o1 - o0, L->in, rows, 1.0f, dz + o0, L->out, in, L->in, 0.0f, gW, L->in);
    const float *mk = mask + L->w_offset + o0 * L->in;
    for (int64_t k = 0; k < (o1 - o0) * L->in; k++) gW[k] *= mk[k];
    /* db = column sums of dz in row order, read row by row (contiguous) in blocks of 256
       columns; each sum is over r = 0..rows-1 in order, as before, for any split */
    for (int64_t ob = o0; ob < o1; ob += 256) {
      int64_t oe = ob + 256 < o1 ? ob + 256 : o1;
      double acc[256] = {0};
      for (int64_t r = 0; r < rows; r++) {
        const float *row = dz + r * L->out;
        for (int64_t o = ob; o < oe; o++) acc[o - ob] += row[o];
      }
      for (int64_t o = ob; o < oe; o++) grad[L->b_offset + o] = (float)acc[o - ob];
    }
  }
}
