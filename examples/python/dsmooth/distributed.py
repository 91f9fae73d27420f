"""Data-parallel training from Python with mpi4py (libdsmooth 0.3).

    from mpi4py import MPI
    import dsmooth, dsmooth.distributed as dist
    ... the same context seed, model, trainer and data on every rank ...
    dist.attach(trainer, MPI.COMM_WORLD)               # deterministic, 12 blocks
    dist.resume(trainer, MPI.COMM_WORLD, "run.ckpt")   # optional: every rank
    trainer.train(x, steps)                            # every rank, same arguments
    dist.save(trainer, MPI.COMM_WORLD, "run.ckpt")     # rank 0 writes

The collective behind ds_trainer_set_distributed (include/dsmooth.h, "Data-parallel
training") is made of mpi4py's Allgatherv and Allreduce on the buffers the library hands
over; nothing is copied on the Python side. The contract is the C one: in deterministic
mode the weights are bitwise the same for any number of ranks and threads, a rank's
failure raises DsmoothError on every rank with the same status, and libdsmooth_mpi's
C programs and these Python ones produce the same bits for the same run. If the
collective itself fails (an mpi4py exception), training raises DsmoothError with
DS_ERR_IO and the exception is kept in the MPICollective's `.error` (attach returns it).
"""
import ctypes

import numpy as np

from . import DsmoothError, Status, _call, _native

DETERMINISTIC = 0          # DS_REDUCE_DETERMINISTIC
FAST = 1                   # DS_REDUCE_FAST
DETERMINISTIC_SCATTER = 2  # DS_REDUCE_DETERMINISTIC_SCATTER: DETERMINISTIC's bits, less traffic
_ALLGATHER, _SUM_FLOAT, _SUM_DOUBLE, _ALLTOALL = 0, 1, 2, 3


class MPICollective:
    """A ds_collective_fn on a duplicate of an mpi4py communicator."""

    def __init__(self, comm):
        from mpi4py import MPI
        self._mpi = MPI
        self.comm = comm.Dup()
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.error = None  # the exception that made the last call fail
        self.fn = _native.COLLECTIVE_FN(self._collective)

    def _collective(self, user, op, send, recv, count, counts):
        # exceptions cannot cross the C frames: report, return non-zero (DS_ERR_IO)
        try:
            MPI = self._mpi
            if op == _ALLGATHER:
                sizes = np.ctypeslib.as_array(counts, shape=(count,)).astype(np.int64)
                displs = np.concatenate(([0], np.cumsum(sizes)[:-1]))
                mine = (ctypes.c_uint8 * int(sizes[self.rank])).from_address(send)
                out = (ctypes.c_uint8 * int(sizes.sum())).from_address(recv)
                self.comm.Allgatherv([mine, MPI.BYTE],
                                     [out, (sizes.tolist(), displs.tolist()), MPI.BYTE])
            elif op == _ALLTOALL:
                sizes = np.ctypeslib.as_array(counts, shape=(2 * count,)).astype(np.int64)
                out_n, in_n = sizes[:count], sizes[count:]
                out_d = np.concatenate(([0], np.cumsum(out_n)[:-1]))
                in_d = np.concatenate(([0], np.cumsum(in_n)[:-1]))
                mine = (ctypes.c_uint8 * max(int(out_n.sum()), 1)).from_address(send)
                out = (ctypes.c_uint8 * max(int(in_n.sum()), 1)).from_address(recv)
                self.comm.Alltoallv([mine, (out_n.tolist(), out_d.tolist()), MPI.BYTE],
                                    [out, (in_n.tolist(), in_d.tolist()), MPI.BYTE])
            elif op in (_SUM_FLOAT, _SUM_DOUBLE):
                # the MPI type is explicit: mpi4py cannot map a ctypes buffer's format ('<d')
                ctype, mtype = ((ctypes.c_float, MPI.FLOAT) if op == _SUM_FLOAT
                                else (ctypes.c_double, MPI.DOUBLE))
                buf = (ctype * int(count)).from_address(recv)
                self.comm.Allreduce(MPI.IN_PLACE, [buf, mtype], op=MPI.SUM)
            else:
                raise ValueError("unknown collective op %d" % op)
            return 0
        except BaseException as exc:  # noqa: B902 - kept for the caller
            self.error = exc
            return 1

    def close(self):
        if self.comm is not None:
            self.comm.Free()
            self.comm = None


def attach(trainer, comm, reduction=DETERMINISTIC, grad_blocks=12):
    """Make `trainer` one rank of a data-parallel run over `comm` (mpi4py). grad_blocks:
    the deterministic mode's fixed blocks of the global batch (keep it when resuming on
    another rank count; at most the batch). Returns the MPICollective (kept alive by the
    trainer too)."""
    coll = MPICollective(comm)
    blocks = 0 if reduction == FAST else grad_blocks
    _call("ds_trainer_set_distributed", trainer._ctx_ptr(), trainer._ptr, coll.rank, coll.size,
          int(reduction), int(blocks), coll.fn, None)
    trainer._collective = coll  # the C side holds the callback pointer
    return coll


def detach(trainer):
    """Single-process training again."""
    _call("ds_trainer_set_distributed", trainer._ctx_ptr(), trainer._ptr, 0, 0, 0, 0,
          _native.COLLECTIVE_FN(), None)
    coll = getattr(trainer, "_collective", None)
    if coll is not None:
        coll.close()
        trainer._collective = None


def _agree(comm, error, root_text):
    """Every rank raises if any rank failed (the lowest failing rank's text)."""
    from mpi4py import MPI
    failed = comm.allreduce(comm.Get_rank() if error else comm.Get_size(), op=MPI.MIN)
    if failed == comm.Get_size():
        return
    info = comm.bcast((int(error.status), str(error)) if comm.Get_rank() == failed else None,
                      root=failed)
    if error is not None and comm.Get_rank() == failed:
        raise error
    raise DsmoothError(info[0], "%s: rank %d: %s" % (root_text, failed, info[1]), root_text)


def save(trainer, comm, path):
    """Rank 0 saves (atomically); every rank returns once the file is complete, or raises
    rank 0's error."""
    error = None
    if comm.Get_rank() == 0:
        try:
            trainer.save(path)
        except DsmoothError as exc:
            error = exc
    # rank 0 sends once the file is in place, so no rank returns before it is complete
    failed = comm.bcast((int(error.status), str(error)) if error else None, root=0)
    if error is not None:
        raise error
    if failed is not None:
        raise DsmoothError(failed[0], "save: rank 0: %s" % failed[1], "save")


def resume(trainer, comm, path):
    """Every rank resumes from `path` (readable by all); raises on every rank if any
    failed or if the ranks ended up at different steps."""
    error = None
    try:
        trainer.resume(path)
    except DsmoothError as exc:
        error = exc
    _agree(comm, error, "resume")
    steps = comm.allgather(trainer.step)
    if len(set(steps)) != 1:
        raise DsmoothError(Status.ERR_BAD_STATE,
                           "resume: the ranks resumed at different steps %s" % steps, "resume")
