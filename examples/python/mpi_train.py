#!/usr/bin/env python3
"""Data-parallel training from Python: mpi4py + the ctypes bindings.

    mpirun -np 2 python3 examples/python/mpi_train.py --steps 60 --checkpoint run.ckpt
    mpirun -np 3 --oversubscribe python3 examples/python/mpi_train.py --steps 120 \\
        --checkpoint run.ckpt --resume

Every rank builds the same stage-1 MADE (2-D mixture, Gaussian smoothing) and data; the
deterministic reduction makes the weights bitwise the same for any number of ranks.
Rank 0 prints the loss and a digest of the checkpoint it writes.
"""
import argparse
import hashlib
import os
import sys

import numpy as np
from mpi4py import MPI

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dsmooth  # noqa: E402
import dsmooth.distributed as dist  # noqa: E402


def mixture(n, seed):
    """Four Gaussians at (+-1.5, +-1.5): the same array on every rank (seeded)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-1.5, -1.5], [1.5, -1.5], [-1.5, 1.5], [1.5, 1.5]])
    return (centres[rng.integers(0, 4, n)] + 0.3 * rng.standard_normal((n, 2))).astype(np.float32)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--total", type=int, default=0, help="schedule horizon (default: steps)")
    p.add_argument("--batch", type=int, default=96)
    p.add_argument("--blocks", type=int, default=12)
    p.add_argument("--reduction", choices=["det", "scatter", "fast"], default="det")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--checkpoint")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--fail-rank", type=int, default=-1,
                   help="this rank passes data with a NaN (failure drill)")
    a = p.parse_args()
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    x = mixture(2048, 7)
    with dsmooth.Context(threads=a.threads, seed=11) as ctx:
        sm = dsmooth.Smoother(ctx, "gaussian", 0.3)
        model = dsmooth.Model(ctx, dim=2, components=4, hidden=(32, 32))
        trainer = dsmooth.Trainer(model, smoother=sm, batch=a.batch,
                                  total_steps=a.total or a.steps, schedule="cosine", lr=3e-3)
        mode = {"det": dist.DETERMINISTIC, "scatter": dist.DETERMINISTIC_SCATTER,
                "fast": dist.FAST}[a.reduction]
        dist.attach(trainer, comm, mode, a.blocks)
        if a.resume:
            dist.resume(trainer, comm, a.checkpoint)
        data = x.copy()
        if rank == a.fail_rank:
            data[5, 0] = np.nan
        try:
            while trainer.step < a.steps:
                loss = trainer.train(data, min(10, a.steps - trainer.step))
                if rank == 0:
                    print("step %5d  loss %.6f" % (trainer.step, loss), flush=True)
        except dsmooth.DsmoothError as exc:
            print("rank %d: training stopped: %s" % (rank, exc), flush=True)
            return 4
        if a.checkpoint:
            dist.save(trainer, comm, a.checkpoint)
            if rank == 0:
                with open(a.checkpoint, "rb") as f:
                    print("checkpoint %s at step %d, sha256 %s" % (
                        a.checkpoint, trainer.step, hashlib.sha256(f.read()).hexdigest()[:16]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
