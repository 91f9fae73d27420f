"""pytest setup. By default the dsmooth package is imported from examples/python without
installing it; with DSMOOTH_TEST_INSTALLED=1 (tests/ffi/run_python_package_test.sh) the
installed package is imported instead, and it must not come from this source tree."""
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_PACKAGE = os.path.join(os.path.dirname(HERE), "dsmooth")
INSTALLED = os.environ.get("DSMOOTH_TEST_INSTALLED") == "1"
if not INSTALLED:
    sys.path.insert(0, os.path.dirname(HERE))

import dsmooth  # noqa: E402

if INSTALLED and os.path.dirname(os.path.abspath(dsmooth.__file__)) == SOURCE_PACKAGE:
    raise RuntimeError("DSMOOTH_TEST_INSTALLED=1 but dsmooth was imported from the source "
                       "tree (%s)" % dsmooth.__file__)


def cluster_data(n, seed):
    """The data of tests/ffi/two_stage_numbers.c (make_data), bit for bit."""
    mask = (1 << 64) - 1
    s = (seed * 0x9E3779B97F4A7C15 + 1) & mask

    def xorshift():
        nonlocal s
        s ^= (s << 13) & mask
        s ^= s >> 7
        s ^= (s << 17) & mask
        return s

    out = np.empty((n, 2), np.float32)
    for i in range(n):
        comp = xorshift() >> 62
        for d in range(2):
            u = float(xorshift() >> 40) / 16777216.0
            v = float(xorshift() >> 40) / 16777216.0
            centre = 1.5 if (comp >> d) & 1 else -1.5
            out[i, d] = np.float32(centre + 0.5 * (u + v - 1.0))
    return out


@pytest.fixture(scope="session")
def data():
    return cluster_data(1024, 7)


@pytest.fixture
def ctx():
    with dsmooth.Context(threads=2, seed=3) as c:
        yield c


@pytest.fixture(scope="session")
def trained():
    """A small stage-1 / stage-2 pair trained once for the session."""
    ctx = dsmooth.Context(threads=2, seed=5)
    x = cluster_data(1024, 1)
    sm = dsmooth.Smoother(ctx, "gaussian", 0.5)
    s1 = dsmooth.Model(ctx, dim=2, components=4, hidden=(32, 32))
    s2 = dsmooth.Model(ctx, dim=2, cond_dim=2, components=4, hidden=(32, 32))
    for m in (s1, s2):
        with dsmooth.Trainer(m, smoother=sm, batch=128, total_steps=150,
                             schedule="cosine", lr=3e-3) as t:
            t.train(x, 150)
    yield ctx, sm, s1, s2, x
    ctx.close()
