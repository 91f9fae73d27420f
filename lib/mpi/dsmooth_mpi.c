/* libdsmooth_mpi: the trainer's collective on MPI, and collective save/resume. Uses only
 * the public API of libdsmooth. */
#include "dsmooth_mpi.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ds_mpi {
  MPI_Comm comm; /* our duplicate, MPI_ERRORS_RETURN */
  const ds_context *ctx; /* whose error detail we quote (may be NULL) */
  int rank, size;
  int *counts, *displs; /* (size) scratch for MPI_Allgatherv; (2 size) for MPI_Alltoallv */
  ds_mpi_stats stats;
  char error[512];
};

static ds_status fail(ds_mpi *mpi, ds_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ds_status fail(ds_mpi *mpi, ds_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(mpi->error, sizeof mpi->error, fmt, ap);
  va_end(ap);
  return st;
}

static const char *mpi_text(int code, char *buf) {
  int len = 0;
  if (MPI_Error_string(code, buf, &len) != MPI_SUCCESS) snprintf(buf, 64, "MPI error %d", code);
  return buf;
}

ds_status ds_mpi_create(MPI_Comm comm, const ds_context *ctx, ds_mpi **out) {
  int inited = 0;
  if (!out) return DS_ERR_INVALID_ARGUMENT;
  MPI_Initialized(&inited);
  if (!inited) return DS_ERR_INVALID_ARGUMENT;
  ds_mpi *mpi = calloc(1, sizeof *mpi);
  if (!mpi) return DS_ERR_OUT_OF_MEMORY;
  mpi->ctx = ctx;
  if (MPI_Comm_dup(comm, &mpi->comm) != MPI_SUCCESS) {
    free(mpi);
    return DS_ERR_IO;
  }
  MPI_Comm_set_errhandler(mpi->comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(mpi->comm, &mpi->rank);
  MPI_Comm_size(mpi->comm, &mpi->size);
  mpi->counts = calloc(2 * (size_t)mpi->size, sizeof(int));
  mpi->displs = calloc(2 * (size_t)mpi->size, sizeof(int));
  if (!mpi->counts || !mpi->displs) {
    ds_mpi_free(mpi);
    return DS_ERR_OUT_OF_MEMORY;
  }
  *out = mpi;
  return DS_OK;
}

void ds_mpi_free(ds_mpi *mpi) {
  if (!mpi) return;
  MPI_Comm_free(&mpi->comm);
  free(mpi->counts);
  free(mpi->displs);
  free(mpi);
}

int32_t ds_mpi_rank(const ds_mpi *mpi) { return mpi ? mpi->rank : -1; }
int32_t ds_mpi_size(const ds_mpi *mpi) { return mpi ? mpi->size : 0; }
const char *ds_mpi_last_error(const ds_mpi *mpi) { return mpi ? mpi->error : ""; }
void ds_mpi_get_stats(const ds_mpi *mpi, ds_mpi_stats *out) {
  if (mpi && out) *out = mpi->stats;
}
void ds_mpi_reset_stats(ds_mpi *mpi) {
  if (mpi) memset(&mpi->stats, 0, sizeof mpi->stats);
}

/* In-place sum of count elements in slices MPI's int counts can hold. */
static int sum_in_place(ds_mpi *mpi, void *data, int64_t count, MPI_Datatype type, size_t size) {
  const int64_t slice = (int64_t)1 << 30;
  for (int64_t at = 0; at < count; at += slice) {
    int64_t k = count - at < slice ? count - at : slice;
    int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)data + (size_t)at * size, (int)k, type, MPI_SUM,
                           mpi->comm);
    if (rc != MPI_SUCCESS) return rc;
  }
  mpi->stats.bytes_sent += count * (int64_t)size;
  mpi->stats.bytes_received += count * (int64_t)size;
  return MPI_SUCCESS;
}

static int allgather(ds_mpi *mpi, const void *send, void *recv, int64_t world,
                     const int64_t *counts) {
  int64_t total = 0;
  if (world != mpi->size) return MPI_ERR_COMM;
  for (int r = 0; r < mpi->size; r++) {
    if (counts[r] > INT_MAX || total > INT_MAX) return MPI_ERR_COUNT; /* > 2 GiB records */
    mpi->counts[r] = (int)counts[r];
    mpi->displs[r] = (int)total;
    total += counts[r];
  }
  int rc = MPI_Allgatherv(send, mpi->counts[mpi->rank], MPI_BYTE, recv, mpi->counts,
                          mpi->displs, MPI_BYTE, mpi->comm);
  if (rc == MPI_SUCCESS) {
    mpi->stats.bytes_sent += counts[mpi->rank];
    mpi->stats.bytes_received += total - counts[mpi->rank];
  }
  return rc;
}

/* counts[0..2W): bytes to each rank, then from each rank (see DS_COLLECTIVE_ALLTOALL). */
static int alltoall(ds_mpi *mpi, const void *send, void *recv, int64_t world,
                    const int64_t *counts) {
  int W = mpi->size;
  if (world != W) return MPI_ERR_COMM;
  for (int side = 0; side < 2; side++) {
    int64_t total = 0;
    for (int r = 0; r < W; r++) {
      int64_t c = counts[side * W + r];
      if (c > INT_MAX || total > INT_MAX) return MPI_ERR_COUNT;
      mpi->counts[side * W + r] = (int)c;
      mpi->displs[side * W + r] = (int)total;
      total += c;
      if (r != mpi->rank) { /* what leaves this rank, and what arrives */
        if (side == 0) mpi->stats.bytes_sent += c;
        else mpi->stats.bytes_received += c;
      }
    }
  }
  return MPI_Alltoallv(send, mpi->counts, mpi->displs, MPI_BYTE, recv, mpi->counts + W,
                       mpi->displs + W, MPI_BYTE, mpi->comm);
}

/* The ds_collective_fn: 0 or the MPI error code. */
static int32_t mpi_collective(void *user, int32_t op, const void *send, void *recv,
                              int64_t count, const int64_t *counts) {
  ds_mpi *mpi = user;
  double t0 = MPI_Wtime();
  int rc;
  switch (op) {
    case DS_COLLECTIVE_ALLGATHER: rc = allgather(mpi, send, recv, count, counts); break;
    case DS_COLLECTIVE_SUM_FLOAT: rc = sum_in_place(mpi, recv, count, MPI_FLOAT, sizeof(float)); break;
    case DS_COLLECTIVE_SUM_DOUBLE: rc = sum_in_place(mpi, recv, count, MPI_DOUBLE, sizeof(double)); break;
    case DS_COLLECTIVE_ALLTOALL: rc = alltoall(mpi, send, recv, count, counts); break;
    default: rc = MPI_ERR_OP; break;
  }
  mpi->stats.collectives++;
  mpi->stats.seconds += MPI_Wtime() - t0;
  return rc == MPI_SUCCESS ? 0 : (int32_t)rc;
}

ds_status ds_mpi_attach(ds_mpi *mpi, ds_trainer *trainer, int32_t reduction, int64_t grad_blocks) {
  if (!mpi) return DS_ERR_INVALID_ARGUMENT;
  return ds_trainer_set_distributed(trainer, mpi->rank, mpi->size, reduction, grad_blocks,
                                    mpi_collective, mpi);
}

/* Broadcast root's (status, text) so every rank returns the same. */
static ds_status share_outcome(ds_mpi *mpi, int root, ds_status st, const char *what) {
  struct {
    int32_t status;
    char text[sizeof mpi->error];
  } msg;
  memset(&msg, 0, sizeof msg);
  msg.status = st;
  if (mpi->rank == root) snprintf(msg.text, sizeof msg.text, "%s", mpi->error);
  int rc = MPI_Bcast(&msg, (int)sizeof msg, MPI_BYTE, root, mpi->comm);
  if (rc != MPI_SUCCESS) {
    char buf[MPI_MAX_ERROR_STRING];
    return fail(mpi, DS_ERR_IO, "%s: MPI_Bcast failed: %s", what, mpi_text(rc, buf));
  }
  if (msg.status != DS_OK && mpi->rank != root)
    return fail(mpi, (ds_status)msg.status, "%s", msg.text);
  return (ds_status)msg.status;
}

ds_status ds_mpi_save(ds_mpi *mpi, const ds_trainer *trainer, const char *path) {
  if (!mpi) return DS_ERR_INVALID_ARGUMENT;
  mpi->error[0] = '\0';
  ds_status st = DS_OK;
  if (mpi->rank == 0) {
    st = ds_trainer_save(trainer, path);
    if (st != DS_OK)
      fail(mpi, st, "ds_mpi_save: rank 0 could not save '%s': %s", path ? path : "(null)",
           mpi->ctx ? ds_context_last_error(mpi->ctx) : ds_status_str(st));
  }
  return share_outcome(mpi, 0, st, "ds_mpi_save");
}

ds_status ds_mpi_resume(ds_mpi *mpi, ds_trainer *trainer, const char *path) {
  if (!mpi) return DS_ERR_INVALID_ARGUMENT;
  mpi->error[0] = '\0';
  ds_status st = ds_trainer_resume(trainer, path);
  /* (worst status, its lowest rank) and (min step, max step) over the ranks */
  int64_t step = st == DS_OK ? ds_trainer_step(trainer) : 0;
  int64_t mine[4] = {st, -(int64_t)mpi->rank, step, -step}, all[4];
  if (st == DS_OK) mine[1] = INT64_MIN;
  int rc = MPI_Allreduce(mine, all, 4, MPI_INT64_T, MPI_MAX, mpi->comm);
  if (rc != MPI_SUCCESS) {
    char buf[MPI_MAX_ERROR_STRING];
    return fail(mpi, DS_ERR_IO, "ds_mpi_resume: MPI_Allreduce failed: %s", mpi_text(rc, buf));
  }
  if (all[0] != DS_OK) {
    int failed = (int)-all[1];
    if (mpi->rank == failed)
      fail(mpi, st, "ds_mpi_resume: rank %d could not resume from '%s': %s; every rank stops",
           failed, path ? path : "(null)",
           mpi->ctx ? ds_context_last_error(mpi->ctx) : ds_status_str(st));
    return share_outcome(mpi, failed, (ds_status)all[0], "ds_mpi_resume");
  }
  if (all[2] != -all[3])
    return fail(mpi, DS_ERR_BAD_STATE,
                "ds_mpi_resume: the ranks resumed at different steps (%lld..%lld): is '%s' "
                "the same file on every node?", (long long)-all[3], (long long)all[2], path);
  return DS_OK;
}

ds_status ds_mpi_agree(ds_mpi *mpi, ds_status local) {
  if (!mpi) return DS_ERR_INVALID_ARGUMENT;
  int mine = (int)local, worst = 0;
  int rc = MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, mpi->comm);
  if (rc != MPI_SUCCESS) {
    char buf[MPI_MAX_ERROR_STRING];
    return fail(mpi, DS_ERR_IO, "ds_mpi_agree: MPI_Allreduce failed: %s", mpi_text(rc, buf));
  }
  return (ds_status)worst;
}
