/* Data-parallel gradient of one step (see dsmooth.h, "Data-parallel training").
 *
 * Deterministic mode. Every rank sends one record to an ALLGATHER:
 *   header (256 bytes: status, stop, step, n, error text)
 *   then for each of its blocks k in [b0, b1): nll_k (double), grad_k (param_count floats)
 * Ranks own contiguous block runs in rank order, so the gathered blocks are in block order.
 * Every rank then adds the blocks in that order, so the sum does not depend on which rank
 * computed what.
 *
 * Scattered deterministic mode. The same blocks and the same sums, other traffic: an
 * ALLGATHER of the headers and the blocks' nll only; an ALLTOALL sends rank q slice q of
 * the weights (ds__split_range(P, q, W)) of every block; rank q adds its slice over all
 * blocks in block order (the very sums of the deterministic mode, so the same bits); an
 * ALLGATHER of the slices gives everyone the gradient.
 *
 * Fast mode. One SUM_DOUBLE of a control vector (1 + 4 world):
 *   [nll sum, status of rank r at 1 + r, stop at 1 + W + r, step at 1 + 2W + r,
 *    n at 1 + 3W + r]
 * (each rank writes only its own slots, so the sum is exact and identical everywhere),
 * then, if every rank is fine, one SUM_FLOAT of the gradient. */
#include "model/trainer_dist.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/pool.h"

#define HEADER_BYTES 256

typedef struct dist_header {
  int32_t status, stop;
  int64_t step, n;
  char message[HEADER_BYTES - 24];
} dist_header;

_Static_assert(sizeof(dist_header) == HEADER_BYTES, "the header is a fixed 256 bytes");

typedef struct rank_state {
  int32_t status, stop;
  int64_t step, n;
  const char *message; /* the rank's own error detail, or NULL if not known here */
} rank_state;

struct ds__dist {
  int32_t rank, world, reduction;
  int32_t stop_requested;
  ds_collective_fn fn;
  void *user;
  int64_t blocks;       /* K: deterministic gradient blocks of the global batch */
  int64_t b0, b1;       /* this rank's blocks (deterministic) */
  size_t block_bytes;   /* 8 + 4 * param_count */
  int64_t *counts;      /* (world) bytes each rank sends (deterministic) */
  uint8_t *send, *recv; /* this rank's record; every rank's records in rank order */
  size_t send_bytes, recv_bytes;
  double *control;      /* (1 + 4 world) fast mode */
  rank_state *states;   /* (world) what the last exchange said about each rank */
  /* scattered mode: (3 world) ALLTOALL send bytes per rank, receive bytes per rank, then
   * the slices' bytes; buffers (blocks x P), (K x slice), (P), (slice) floats */
  int64_t *scatter_counts;
  float *scatter_send, *scatter_recv, *block_grad, *slice;
  char own_message[sizeof(((dist_header *)0)->message)]; /* this rank's failure (fast) */
};

static size_t record_bytes(const ds__dist *d, int32_t rank) {
  int64_t b0, b1;
  ds__split_range(d->blocks, rank, d->world, &b0, &b1);
  return HEADER_BYTES + (size_t)(b1 - b0) * d->block_bytes;
}

static int64_t slice_len(int64_t P, int32_t q, int32_t W) {
  int64_t p0, p1;
  ds__split_range(P, q, W, &p0, &p1);
  return p1 - p0;
}

/* The scattered mode's counts and buffers; 0 if out of memory. */
static int scatter_buffers(ds_context *ctx, ds__dist *d, int64_t P) {
  int32_t W = d->world;
  int64_t nb = d->b1 - d->b0, mine = slice_len(P, d->rank, W);
  d->scatter_counts = ds__calloc(ctx, 3 * (size_t)W, sizeof(int64_t));
  if (!d->scatter_counts) return 0;
  for (int32_t q = 0; q < W; q++) {
    int64_t b0, b1;
    ds__split_range(d->blocks, q, W, &b0, &b1);
    d->scatter_counts[q] = 4 * nb * slice_len(P, q, W);   /* to q: q's slice of my blocks */
    d->scatter_counts[W + q] = 4 * (b1 - b0) * mine;      /* from q: my slice of q's */
    d->scatter_counts[2 * W + q] = 4 * slice_len(P, q, W); /* q's summed slice */
  }
  /* at least one float each: a rank without blocks or weights still passes pointers */
  d->scatter_send = ds__calloc(ctx, (size_t)(nb * P) + 1, sizeof(float));
  d->scatter_recv = ds__calloc(ctx, (size_t)(d->blocks * mine) + 1, sizeof(float));
  d->block_grad = ds__calloc(ctx, (size_t)P + 1, sizeof(float));
  d->slice = ds__calloc(ctx, (size_t)mine + 1, sizeof(float));
  return d->scatter_send && d->scatter_recv && d->block_grad && d->slice;
}

ds_status ds__dist_create(ds_trainer *t, int32_t rank, int32_t world, int32_t reduction,
                          int64_t grad_blocks, ds_collective_fn fn, void *user, ds__dist **out) {
  ds_context *ctx = t->model->ctx;
  int64_t P = t->model->param_count;
  ds__dist *d = ds__calloc(ctx, 1, sizeof *d);
  if (!d) return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY, "ds_trainer_set_distributed: out of memory");
  d->rank = rank;
  d->world = world;
  d->reduction = reduction;
  d->fn = fn;
  d->user = user;
  d->states = ds__calloc(ctx, (size_t)world, sizeof *d->states);
  int ok = d->states != NULL;
  if (ok && reduction != DS_REDUCE_FAST) {
    int scattered = reduction == DS_REDUCE_DETERMINISTIC_SCATTER;
    d->blocks = grad_blocks;
    /* records: the blocks' nll and gradient, or (scattered) their nll only */
    d->block_bytes = scattered ? 8 : 8 + 4 * (size_t)P;
    ds__split_range(d->blocks, rank, world, &d->b0, &d->b1);
    d->counts = ds__calloc(ctx, (size_t)world, sizeof *d->counts);
    ok = d->counts != NULL;
    for (int32_t r = 0; ok && r < world; r++) {
      d->counts[r] = (int64_t)record_bytes(d, r);
      d->recv_bytes += (size_t)d->counts[r];
    }
    d->send_bytes = record_bytes(d, rank);
    /* doubles in records sit at 8-byte multiples only if P is even: read them by memcpy */
    if (ok) d->send = ds__calloc(ctx, d->send_bytes, 1);
    if (ok) d->recv = ds__calloc(ctx, d->recv_bytes, 1);
    ok = ok && d->send && d->recv;
    if (ok && scattered) ok = scatter_buffers(ctx, d, P);
  } else if (ok) {
    d->control = ds__calloc(ctx, 1 + 4 * (size_t)world, sizeof(double));
    ok = d->control != NULL;
  }
  if (!ok) {
    ds__dist_free(ctx, d);
    return ds__fail(ctx, DS_ERR_OUT_OF_MEMORY,
                    "ds_trainer_set_distributed: out of memory for the exchange buffers of "
                    "%lld gradient blocks of %lld weights", (long long)grad_blocks, (long long)P);
  }
  *out = d;
  return DS_OK;
}

void ds__dist_free(ds_context *ctx, ds__dist *d) {
  if (!d) return;
  ds__free(ctx, d->counts);
  ds__free(ctx, d->send);
  ds__free(ctx, d->recv);
  ds__free(ctx, d->control);
  ds__free(ctx, d->states);
  ds__free(ctx, d->scatter_counts);
  ds__free(ctx, d->scatter_send);
  ds__free(ctx, d->scatter_recv);
  ds__free(ctx, d->block_grad);
  ds__free(ctx, d->slice);
  ds__free(ctx, d);
}

void ds__dist_request_stop(ds__dist *d) { d->stop_requested = 1; }

/* Rows [r0, r1) of the global batch: forward and backward in a pass of their own, the
 * parameter gradient (scaled by 1/batch, as for the whole batch) into grad; returns the
 * sum of their -log p in row order. */
static double rows_gradient(ds_trainer *t, int64_t r0, int64_t r1, float *grad) {
  ds_model *m = t->model;
  int64_t B = t->cfg.batch, D = m->cfg.dim, C = m->cfg.cond_dim;
  const float *c = t->batch_c ? t->batch_c + r0 * (t->mode == DS__TRAIN_PAIRS ? D : C) : NULL;
  ds__eval_request req = {t->batch_x + r0 * D, c, r1 - r0, t->batch_log_prob + r0,
                          1.0f / (float)B, NULL, 0};
  ds__model_eval_train_part(m, &t->ws, &req, t->seed, ds__trainer_dropout_stream(t), r0);
  ds__model_param_grads(m, &t->ws, r1 - r0, grad);
  double nll = 0.0;
  for (int64_t r = r0; r < r1; r++) nll -= t->batch_log_prob[r];
  return nll;
}

static const char *op_name(int32_t op) {
  return op == DS_COLLECTIVE_ALLGATHER ? "ALLGATHER"
         : op == DS_COLLECTIVE_SUM_FLOAT ? "SUM_FLOAT"
         : op == DS_COLLECTIVE_ALLTOALL ? "ALLTOALL" : "SUM_DOUBLE";
}

static ds_status collective(ds_trainer *t, int32_t op, const void *send, void *recv,
                            int64_t count, const int64_t *counts) {
  ds__dist *d = t->dist;
  int32_t rc = 0;
  if (d->fn) rc = d->fn(d->user, op, send, recv, count, counts);
  else if (op == DS_COLLECTIVE_ALLGATHER || op == DS_COLLECTIVE_ALLTOALL)
    memcpy(recv, send, (size_t)counts[0]); /* world 1: its own bytes */
  if (rc == 0) return DS_OK;
  return ds__fail(t->model->ctx, DS_ERR_IO,
                  "ds_trainer_train: the collective %s of step %lld returned %d on rank %d; "
                  "the ranks may now disagree: end the job (e.g. MPI_Abort)", op_name(op),
                  (long long)t->step, (int)rc, (int)d->rank);
}

/* ---- agreement: every rank judges the same gathered values the same way ---------------- */

static ds_status judge(ds_trainer *t, const rank_state *all);

/* DS_OK if every rank is fine and in step; otherwise the status every rank returns (a
 * pending stop request is then moot). */
static ds_status agree(ds_trainer *t, const rank_state *all) {
  ds_status st = judge(t, all);
  if (st != DS_OK) t->dist->stop_requested = 0;
  return st;
}

static ds_status judge(ds_trainer *t, const rank_state *all) {
  ds_context *ctx = t->model->ctx;
  ds__dist *d = t->dist;
  for (int32_t r = 0; r < d->world; r++)
    if (all[r].status != DS_OK) {
      if (all[r].message)
        return ds__fail(ctx, (ds_status)all[r].status,
                        "ds_trainer_train: rank %d of %d stopped the job at step %lld with %s: %s",
                        (int)r, (int)d->world, (long long)all[r].step,
                        ds_status_str(all[r].status), all[r].message);
      return ds__fail(ctx, (ds_status)all[r].status,
                      "ds_trainer_train: rank %d of %d stopped the job at step %lld with %s "
                      "(its detail is in that rank's error message)",
                      (int)r, (int)d->world, (long long)all[r].step, ds_status_str(all[r].status));
    }
  for (int32_t r = 0; r < d->world; r++)
    if (all[r].step != all[0].step || all[r].n != all[0].n)
      return ds__fail(ctx, DS_ERR_BAD_STATE,
                      "ds_trainer_train: the ranks disagree: rank 0 is at step %lld with n = %lld, "
                      "rank %d at step %lld with n = %lld (resume every rank from the same "
                      "checkpoint and pass the same data)", (long long)all[0].step,
                      (long long)all[0].n, (int)r, (long long)all[r].step, (long long)all[r].n);
  for (int32_t r = 0; r < d->world; r++)
    if (all[r].stop)
      return ds__fail(ctx, DS_ERR_CANCELLED,
                      "ds_trainer_train: cancelled by the progress callback of rank %d of %d; "
                      "every rank stopped after step %lld", (int)r, (int)d->world,
                      (long long)all[0].step);
  return DS_OK;
}

/* ---- deterministic mode ----------------------------------------------------------------- */

typedef struct combine_job {
  const ds__dist *d;
  int64_t P;
  float *grad;
} combine_job;

/* grad[i] = sum over blocks k = 0..K-1 in order of grad_k[i], in double. */
static void combine_part(void *p, int32_t th, int32_t threads) {
  const combine_job *job = p;
  const ds__dist *d = job->d;
  int64_t i0, i1;
  ds__split_range(job->P, th, threads, &i0, &i1);
  for (int64_t i = i0; i < i1; i++) {
    double acc = 0.0;
    const uint8_t *rec = d->recv;
    for (int32_t r = 0; r < d->world; r++) {
      int64_t nb = (d->counts[r] - HEADER_BYTES) / (int64_t)d->block_bytes;
      const uint8_t *blk = rec + HEADER_BYTES;
      for (int64_t k = 0; k < nb; k++, blk += d->block_bytes) {
        float g;
        memcpy(&g, blk + 8 + 4 * (size_t)i, sizeof g);
        acc += (double)g;
      }
      rec += d->counts[r];
    }
    job->grad[i] = (float)acc;
  }
}

static void fill_header(ds_trainer *t, int64_t n, ds_status st) {
  ds__dist *d = t->dist;
  dist_header h;
  memset(&h, 0, sizeof h);
  h.status = st;
  h.stop = d->stop_requested;
  h.step = t->step;
  h.n = n;
  if (st != DS_OK)
    snprintf(h.message, sizeof h.message, "%s", ds_context_last_error(t->model->ctx));
  memcpy(d->send, &h, sizeof h);
}

/* The records' ALLGATHER, and the ranks' agreement on their headers. */
static ds_status gather_records(ds_trainer *t) {
  ds__dist *d = t->dist;
  ds_status st = collective(t, DS_COLLECTIVE_ALLGATHER, d->send, d->recv, d->world, d->counts);
  if (st != DS_OK) return st;
  size_t at = 0;
  for (int32_t r = 0; r < d->world; r++) {
    dist_header h;
    memcpy(&h, d->recv + at, sizeof h);
    /* the text stays in recv (terminated there), which outlives the states */
    char *text = (char *)d->recv + at + offsetof(dist_header, message);
    text[sizeof h.message - 1] = '\0';
    d->states[r] = (rank_state){h.status, h.stop, h.step, h.n, text};
    at += (size_t)d->counts[r];
  }
  return agree(t, d->states);
}

/* The global batch's mean nll: the blocks' sums (first 8 bytes of a block) in order. */
static double gathered_loss(const ds_trainer *t) {
  const ds__dist *d = t->dist;
  double nll = 0.0;
  size_t at = 0;
  for (int32_t r = 0; r < d->world; r++) {
    int64_t nb = (d->counts[r] - HEADER_BYTES) / (int64_t)d->block_bytes;
    for (int64_t k = 0; k < nb; k++) {
      double v;
      memcpy(&v, d->recv + at + HEADER_BYTES + (size_t)k * d->block_bytes, sizeof v);
      nll += v;
    }
    at += (size_t)d->counts[r];
  }
  return nll / (double)t->cfg.batch;
}

static ds_status exchange_deterministic(ds_trainer *t, double *loss) {
  ds_status st = gather_records(t);
  if (st != DS_OK || !loss) return st;
  combine_job job = {t->dist, t->model->param_count, t->grad};
  ds__pool_run(t->model->ctx->pool, combine_part, &job);
  *loss = gathered_loss(t);
  return DS_OK;
}

/* Only this rank's rows of the batch: those of its blocks. */
static void assemble_own_blocks(ds_trainer *t, const float *x, const float *cond) {
  ds__dist *d = t->dist;
  int64_t B = t->cfg.batch, first, last, unused;
  if (d->b1 > d->b0) {
    ds__split_range(B, (int32_t)d->b0, (int32_t)d->blocks, &first, &unused);
    ds__split_range(B, (int32_t)(d->b1 - 1), (int32_t)d->blocks, &unused, &last);
    ds__trainer_assemble_rows(t, x, cond, t->step, first, last);
  }
}

static ds_status gradient_deterministic(ds_trainer *t, const float *x, const float *cond,
                                        int64_t n, double *loss) {
  ds__dist *d = t->dist;
  int64_t B = t->cfg.batch;
  assemble_own_blocks(t, x, cond);
  uint8_t *blk = d->send + HEADER_BYTES;
  for (int64_t k = d->b0; k < d->b1; k++, blk += d->block_bytes) {
    int64_t r0, r1;
    ds__split_range(B, (int32_t)k, (int32_t)d->blocks, &r0, &r1);
    double nll = rows_gradient(t, r0, r1, (float *)(void *)(blk + 8));
    memcpy(blk, &nll, sizeof nll);
  }
  fill_header(t, n, DS_OK);
  return exchange_deterministic(t, loss);
}

/* ---- scattered deterministic mode ------------------------------------------------------ */

typedef struct slice_job {
  const ds__dist *d;
  int64_t len;
} slice_job;

/* slice[i] = sum over blocks k = 0..K-1 in order of block k's value, in double: the
 * deterministic mode's sum of these weights. scatter_recv is (K, len), block order. */
static void slice_part(void *p, int32_t th, int32_t threads) {
  const slice_job *job = p;
  int64_t i0, i1;
  ds__split_range(job->len, th, threads, &i0, &i1);
  for (int64_t i = i0; i < i1; i++) {
    double acc = 0.0;
    for (int64_t k = 0; k < job->d->blocks; k++) acc += (double)job->d->scatter_recv[k * job->len + i];
    job->d->slice[i] = (float)acc;
  }
}

static ds_status gradient_scattered(ds_trainer *t, const float *x, const float *cond,
                                    int64_t n, double *loss) {
  ds__dist *d = t->dist;
  int64_t B = t->cfg.batch, P = t->model->param_count, nb = d->b1 - d->b0;
  int32_t W = d->world;
  assemble_own_blocks(t, x, cond);
  for (int64_t k = d->b0; k < d->b1; k++) {
    int64_t r0, r1;
    ds__split_range(B, (int32_t)k, (int32_t)d->blocks, &r0, &r1);
    double nll = rows_gradient(t, r0, r1, d->block_grad);
    memcpy(d->send + HEADER_BYTES + (size_t)(k - d->b0) * 8, &nll, sizeof nll);
    /* to rank q goes slice q of every block of mine: (blocks, slice q) at nb * p0_q */
    for (int32_t q = 0; q < W; q++) {
      int64_t p0, p1;
      ds__split_range(P, q, W, &p0, &p1);
      memcpy(d->scatter_send + nb * p0 + (k - d->b0) * (p1 - p0), d->block_grad + p0,
             sizeof(float) * (size_t)(p1 - p0));
    }
  }
  fill_header(t, n, DS_OK);
  ds_status st = gather_records(t);
  if (st != DS_OK) return st;
  st = collective(t, DS_COLLECTIVE_ALLTOALL, d->scatter_send, d->scatter_recv, W,
                  d->scatter_counts);
  if (st != DS_OK) return st;
  slice_job job = {d, slice_len(P, d->rank, W)};
  ds__pool_run(t->model->ctx->pool, slice_part, &job);
  st = collective(t, DS_COLLECTIVE_ALLGATHER, d->slice, t->grad, W, d->scatter_counts + 2 * W);
  if (st != DS_OK) return st;
  *loss = gathered_loss(t);
  return DS_OK;
}

/* ---- fast mode ---------------------------------------------------------------------------- */

static ds_status exchange_control(ds_trainer *t, int64_t n, ds_status status, double nll) {
  ds__dist *d = t->dist;
  int32_t W = d->world, r = d->rank;
  memset(d->control, 0, sizeof(double) * (size_t)(1 + 4 * W));
  d->control[0] = nll;
  d->control[1 + r] = (double)status;
  d->control[1 + W + r] = (double)d->stop_requested;
  d->control[1 + 2 * W + r] = (double)t->step;
  d->control[1 + 3 * W + r] = (double)n;
  ds_status st = collective(t, DS_COLLECTIVE_SUM_DOUBLE, NULL, d->control, 1 + 4 * W, NULL);
  if (st != DS_OK) return st;
  for (int32_t q = 0; q < W; q++)
    d->states[q] = (rank_state){(int32_t)d->control[1 + q], d->control[1 + W + q] != 0.0,
                                (int64_t)d->control[1 + 2 * W + q],
                                (int64_t)d->control[1 + 3 * W + q],
                                q == r && status != DS_OK ? d->own_message : NULL};
  return agree(t, d->states);
}

static ds_status gradient_fast(ds_trainer *t, const float *x, const float *cond, int64_t n,
                               double *loss) {
  ds__dist *d = t->dist;
  int64_t B = t->cfg.batch, P = t->model->param_count, r0, r1;
  ds__split_range(B, d->rank, d->world, &r0, &r1);
  double nll = 0.0;
  if (r1 > r0) {
    ds__trainer_assemble_rows(t, x, cond, t->step, r0, r1);
    nll = rows_gradient(t, r0, r1, t->grad);
  } else {
    memset(t->grad, 0, sizeof(float) * (size_t)P);
  }
  ds_status st = exchange_control(t, n, DS_OK, nll);
  if (st != DS_OK) return st;
  st = collective(t, DS_COLLECTIVE_SUM_FLOAT, NULL, t->grad, P, NULL);
  if (st != DS_OK) return st;
  *loss = t->dist->control[0] / (double)B;
  return DS_OK;
}

ds_status ds__dist_gradient(ds_trainer *t, const float *x, const float *cond, int64_t n,
                            double *loss) {
  if (t->dist->reduction == DS_REDUCE_FAST) return gradient_fast(t, x, cond, n, loss);
  if (t->dist->reduction == DS_REDUCE_DETERMINISTIC_SCATTER)
    return gradient_scattered(t, x, cond, n, loss);
  return gradient_deterministic(t, x, cond, n, loss);
}

ds_status ds__dist_fail(ds_trainer *t, ds_status st, int64_t n) {
  ds__dist *d = t->dist;
  ds_status agreed;
  if (d->reduction == DS_REDUCE_FAST) {
    snprintf(d->own_message, sizeof d->own_message, "%s", ds_context_last_error(t->model->ctx));
    agreed = exchange_control(t, n, st, 0.0);
  } else {
    memset(d->send, 0, d->send_bytes); /* full size: the other ranks expect these counts */
    fill_header(t, n, st);
    agreed = exchange_deterministic(t, NULL);
  }
  return agreed != DS_OK ? agreed : st; /* agree() sees our own failure: never DS_OK */
}
