"""Sample-quality metrics: improved precision and recall."""
import numpy as np
import pytest

import dsmooth
from dsmooth import DsmoothError, Status


def _reference(real, fake, k):
    """The O(n^2) definition in float64 (no ties in random data)."""
    def radii(x):
        d = ((x[:, None, :].astype(np.float64) - x[None, :, :]) ** 2).sum(-1)
        np.fill_diagonal(d, np.inf)
        return np.sort(d, axis=1)[:, k - 1]

    def covered(q, r, rad):
        d = ((q[:, None, :].astype(np.float64) - r[None, :, :]) ** 2).sum(-1)
        return np.mean((d <= rad[None, :]).any(axis=1))

    return covered(fake, real, radii(real)), covered(real, fake, radii(fake))


def test_precision_recall(ctx):
    # the hand-computed 1-D case of tests/test_precision_recall.c
    real = np.array([0, 1, 2, 3, 10], np.float32)[:, None]
    fake = np.array([0.5, 2.5, 6, 20, 21], np.float32)[:, None]
    assert dsmooth.precision_recall(ctx, real, fake, k=1) == (0.6, 0.8)
    assert dsmooth.precision_recall(ctx, real, fake, k=2) == (0.6, 1.0)
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (300, 16)).astype(np.float32)
    b = rng.uniform(-0.8, 1.3, (250, 16)).astype(np.float32)
    assert dsmooth.precision_recall(ctx, a, a) == (1.0, 1.0)
    assert dsmooth.precision_recall(ctx, a, a + 100) == (0.0, 0.0)
    assert dsmooth.precision_recall(ctx, a, b, k=3) == pytest.approx(_reference(a, b, 3), abs=0)
    assert dsmooth.precision_recall(ctx, a, b.astype(np.float64), k=5) == \
        pytest.approx(_reference(a, b, 5), abs=0)


def test_precision_recall_errors(ctx):
    real = np.zeros((4, 3), np.float32)
    with pytest.raises(DsmoothError) as e:
        dsmooth.precision_recall(ctx, real, real, k=4)
    assert e.value.status == Status.ERR_INVALID_ARGUMENT and "k = 4" in e.value.detail
    bad = real.copy()
    bad[2, 1] = np.nan
    with pytest.raises(DsmoothError) as e:
        dsmooth.precision_recall(ctx, real, bad, k=1)
    assert e.value.status == Status.ERR_NUMERIC
    assert e.value.detail == "ds_precision_recall: fake[2][1] is NaN"
    with pytest.raises(ValueError, match="shape"):
        dsmooth.precision_recall(ctx, real, np.zeros((4, 2), np.float32))
