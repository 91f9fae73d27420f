/*
 * dsmooth_mpi.h - libdsmooth_mpi: data-parallel training of libdsmooth models on MPI.
 *
 * A small separate library (CMake target dsmooth::dsmooth_mpi, pkg-config dsmooth_mpi)
 * built when Open MPI (or another MPI) is found. It supplies the collective behind
 * ds_trainer_set_distributed (dsmooth.h, "Data-parallel training") with MPI_Allgatherv
 * and MPI_Allreduce, and the checkpoint steps a multi-rank job needs. libdsmooth itself
 * never includes an MPI header.
 *
 * Typical use, every rank running the same program under `mpirun -np N`:
 *   MPI_Init(&argc, &argv);
 *   ds_mpi *mpi; ds_mpi_create(MPI_COMM_WORLD, ctx, &mpi);
 *   ... the same context seed, model, trainer configuration and data on every rank ...
 *   ds_mpi_attach(mpi, trainer, DS_REDUCE_DETERMINISTIC, 12);
 *   if (resuming) ds_mpi_resume(mpi, trainer, "run.ckpt");   every rank reads
 *   ds_trainer_train(trainer, x, NULL, n, steps, &loss);      every rank, same arguments
 *   ds_mpi_save(mpi, trainer, "run.ckpt");                     rank 0 writes
 *   ds_mpi_free(mpi); MPI_Finalize();
 *
 * Failures. A failed ds_trainer_train returns the same status on every rank (the trainer
 * exchanges status with every step); a failed MPI call makes the collective return its
 * MPI error code and ds_trainer_train DS_ERR_IO, after which the job should end with
 * MPI_Abort. A rank that dies (killed, crashed, exits without MPI_Finalize) is detected by
 * Open MPI's runtime, which terminates every other rank of the job and makes mpirun exit
 * non-zero with a message naming the rank ("mpirun noticed that process rank 1 ... exited
 * on signal 9"); no rank waits forever, and since checkpoints are written to a temporary
 * file and renamed, none is left half-written.
 *
 * Thread safety: a ds_mpi is used by one thread at a time, the one that calls
 * ds_trainer_train (MPI_THREAD_FUNNELED is enough). since 0.3
 */
#ifndef DSMOOTH_MPI_H
#define DSMOOTH_MPI_H

#include <mpi.h>
#include <stdint.h>

#include "dsmooth.h"

#if defined(__GNUC__) || defined(__clang__)
#define DS_MPI_API __attribute__((visibility("default")))
#else
#define DS_MPI_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ds_mpi ds_mpi;

/* Communication counted since ds_mpi_create or the last ds_mpi_reset_stats. */
typedef struct ds_mpi_stats {
  int64_t collectives;    /* calls of the collective */
  int64_t bytes_sent;     /* payload this rank contributed */
  int64_t bytes_received; /* payload it received from the other ranks (an allreduce of
                             b bytes counts b sent and b received, whatever MPI's algorithm) */
  double seconds;         /* wall time inside MPI calls (includes waiting for slower ranks) */
} ds_mpi_stats;

/* A handle on a duplicate of comm (so its messages never mix with the caller's), with
 * errors returned rather than fatal. MPI must be initialised. ctx (may be NULL) is the
 * context of the trainers used with it: ds_mpi_save/resume quote its error detail.
 * Errors: INVALID_ARGUMENT (out NULL, MPI not initialised), IO (an MPI call failed),
 * OUT_OF_MEMORY. */
DS_MPI_API ds_status ds_mpi_create(MPI_Comm comm, const ds_context *ctx, ds_mpi **out);
DS_MPI_API void ds_mpi_free(ds_mpi *mpi);
DS_MPI_API int32_t ds_mpi_rank(const ds_mpi *mpi);
DS_MPI_API int32_t ds_mpi_size(const ds_mpi *mpi);

/* ds_trainer_set_distributed(trainer, rank, size, reduction, grad_blocks, <MPI collective>,
 * mpi). The ds_mpi must outlive the trainer's distributed use. Errors: those of
 * ds_trainer_set_distributed (detail on the trainer's context). */
DS_MPI_API ds_status ds_mpi_attach(ds_mpi *mpi, ds_trainer *trainer, int32_t reduction,
                                   int64_t grad_blocks);

/* Collective over the ranks: rank 0 saves the trainer (ds_trainer_save: a temporary file
 * renamed into place) and broadcasts its status, so every rank returns the same status and
 * the file is complete on return. The ranks' states are identical after a successful
 * ds_trainer_train, so rank 0's is everyone's. Errors: rank 0's save errors, IO (MPI);
 * ds_mpi_last_error gives the detail on every rank. */
DS_MPI_API ds_status ds_mpi_save(ds_mpi *mpi, const ds_trainer *trainer, const char *path);

/* Collective: every rank resumes from path (the file must be readable by every rank, e.g.
 * on a shared file system), then the ranks check they all succeeded and are at the same
 * step. Any rank's failure is returned by every rank (ds_mpi_last_error names the rank);
 * ranks whose own resume succeeded keep the resumed state, so end the job on failure.
 * Resuming on another number of ranks (or threads) is fine: in deterministic mode with the
 * same grad_blocks training continues bitwise as if uninterrupted. */
DS_MPI_API ds_status ds_mpi_resume(ds_mpi *mpi, ds_trainer *trainer, const char *path);

/* Collective: the worst (largest) status over the ranks, for application code that wants
 * every rank to stop when one fails outside the trainer. */
DS_MPI_API ds_status ds_mpi_agree(ds_mpi *mpi, ds_status local);

/* Detail of the last failure of a ds_mpi_* call on this handle ("" if none). */
DS_MPI_API const char *ds_mpi_last_error(const ds_mpi *mpi);

DS_MPI_API void ds_mpi_get_stats(const ds_mpi *mpi, ds_mpi_stats *out);
DS_MPI_API void ds_mpi_reset_stats(ds_mpi *mpi);

#ifdef __cplusplus
}
#endif
#endif /* DSMOOTH_MPI_H */
