"""Context, smoother, errors, array handling and handle ownership."""
import numpy as np
import pytest

import dsmooth
from dsmooth import DsmoothError, Status


def test_version_and_library():
    assert dsmooth.version() // 10000 == 0
    assert dsmooth.version_string().count(".") == 2
    assert "libdsmooth" in dsmooth.library_path


def test_context_properties():
    with dsmooth.Context(threads=3, seed=42) as ctx:
        assert ctx.threads == 3 and ctx.seed == 42
        assert ctx.last_error == ""
    assert ctx.closed
    with pytest.raises(ValueError, match="closed"):
        ctx.threads


def test_context_bad_threads_has_detail():
    with pytest.raises(DsmoothError) as e:
        dsmooth.Context(threads=100000)
    assert e.value.status == Status.ERR_INVALID_ARGUMENT
    assert e.value.name == "DS_ERR_INVALID_ARGUMENT"
    assert "threads" in e.value.detail


def test_smoother_round_trip(ctx):
    sm = dsmooth.Smoother(ctx, "gaussian", 0.5)
    assert sm.family == dsmooth.Noise.GAUSSIAN and sm.sigma == 0.5
    assert sm.entropy == pytest.approx(0.5 * np.log(2 * np.pi * np.e * 0.25))
    x = np.arange(200, dtype=np.float32).reshape(100, 2)
    xt = sm.apply(x, stream=4)
    assert xt.dtype == np.float32 and xt.shape == x.shape
    np.testing.assert_array_equal(xt, sm.apply(x, stream=4))  # addressed by the stream
    assert not np.array_equal(xt, sm.apply(x, stream=5))
    assert abs(np.std(xt - x) - 0.5) < 0.1
    # log q and score against the closed forms
    lq = sm.log_q(xt, x)
    r = (xt - x).astype(np.float64)
    expect = (-0.5 * r ** 2 / 0.25 - 0.5 * np.log(2 * np.pi * 0.25)).sum(axis=1)
    np.testing.assert_allclose(lq, expect, rtol=1e-5)
    np.testing.assert_allclose(sm.score(xt, x), -(xt - x) / 0.25, rtol=1e-5, atol=1e-6)


def test_smoother_in_place_and_no_copy(ctx):
    sm = dsmooth.Smoother(ctx, "laplace", 0.3)
    x = np.zeros((50, 3), np.float32)
    expected = sm.apply(x, stream=1)
    assert dsmooth._as(x, np.float32, "x") is x  # float32 C-contiguous: passed as is
    out = sm.apply(x, stream=1, out=x)  # in place
    assert out is x
    np.testing.assert_array_equal(x, expected)
    # other dtypes and layouts are converted, with the same result
    xd = np.zeros((3, 50), np.float64).T
    np.testing.assert_array_equal(sm.apply(xd, stream=1), expected)
    with pytest.raises(ValueError):
        sm.apply(np.zeros((50, 3), np.float32), out=np.zeros((50, 3), np.float64))


def test_grid_convolution_and_posterior_mean(ctx):
    sm = dsmooth.Smoother(ctx, "gaussian", 0.5)
    x0, dx = -8.0, 0.02
    g = x0 + dx * np.arange(801)
    p = np.exp(-0.5 * g ** 2 / 0.04) / np.sqrt(2 * np.pi * 0.04)
    q = sm.convolve_grid(p, x0, dx)
    assert q.shape == p.shape
    assert np.sum(q) * dx == pytest.approx(1.0, abs=1e-3)
    # N(0, 0.2^2) smoothed by N(0, 0.5^2): N(0, 0.29); posterior mean 0.04/0.29 * x~
    v = 0.04 + 0.25
    np.testing.assert_allclose(q[300:500], np.exp(-0.5 * g[300:500] ** 2 / v)
                               / np.sqrt(2 * np.pi * v), rtol=2e-3)
    pm = sm.grid_posterior_mean(p, x0, dx)
    np.testing.assert_allclose(pm[350:450], 0.04 / v * g[350:450], atol=2e-3)
    p2 = np.outer(p[::10], p[::10])  # 2-D grid, (ny, nx)
    pm2 = sm.posterior_mean(p2, x0, dx * 10, x0, dx * 10)
    assert pm2.shape == (81, 81, 2)


def test_errors_carry_status_and_detail(ctx):
    sm = dsmooth.Smoother(ctx, "gaussian", 0.5)
    x = np.zeros((4, 2), np.float32)
    x[1, 1] = np.inf
    with pytest.raises(DsmoothError) as e:
        sm.apply(x)
    assert e.value.status == Status.ERR_NUMERIC
    assert e.value.detail == "ds_smoother_apply: x[1][1] is infinite"
    assert ctx.last_error == e.value.detail
    assert "DS_ERR_NUMERIC" in str(e.value)
    with pytest.raises(DsmoothError, match="sigma") as e:
        dsmooth.Smoother(ctx, "gaussian", -1.0)
    assert e.value.status == Status.ERR_INVALID_ARGUMENT
    with pytest.raises(DsmoothError) as e:
        dsmooth.Smoother(ctx, 17, 1.0)  # an int the library refuses
    assert e.value.status == Status.ERR_INVALID_ARGUMENT
    with pytest.raises(ValueError, match="unknown name"):
        dsmooth.Smoother(ctx, "cauchy", 1.0)
    uni = dsmooth.Smoother(ctx, "uniform", 0.1)
    with pytest.raises(DsmoothError) as e:  # outside the support: no score
        uni.score(np.ones((1, 1), np.float32), np.zeros((1, 1), np.float32))
    assert e.value.status == Status.ERR_NUMERIC and e.value.detail


def test_close_is_idempotent_and_cascades():
    ctx = dsmooth.Context(threads=1)
    sm = dsmooth.Smoother(ctx, "gaussian", 1.0)
    m = dsmooth.Model(ctx, dim=2, hidden=(8,))
    t = dsmooth.Trainer(m, smoother=sm, batch=4)
    d = dsmooth.GradientDenoiser(m, sm)
    ctx.close()  # closes the dependents first, each exactly once
    assert sm.closed and m.closed and t.closed and d.closed
    ctx.close()
    m.close()
    del t, d, m, sm, ctx
    assert dsmooth.live_handles() == {}


def test_reference_cycle_frees_children_first():
    """The collector finalizes a cycle in any order and clears weak references first: a
    context must still outlive the trainer and models made from it (ds_trainer_free after
    ds_context_free was a use after free)."""
    import gc
    for _ in range(20):
        ctx = dsmooth.Context(threads=1)
        sm = dsmooth.Smoother(ctx, "gaussian", 1.0)
        m = dsmooth.Model(ctx, dim=2, hidden=(8,))
        t = dsmooth.Trainer(m, smoother=sm, batch=4)
        cycle = [ctx, sm, m, t]
        cycle.append(cycle)
        ctx.cycle = cycle
        del ctx, sm, m, t, cycle
        gc.collect()
    assert dsmooth.live_handles() == {}


def test_log_callback_receives_failures():
    seen = []
    with dsmooth.Context(threads=1, log=lambda lvl, msg: seen.append((lvl, msg)),
                         log_level=dsmooth.LogLevel.DEBUG) as ctx:
        with pytest.raises(DsmoothError):
            dsmooth.Smoother(ctx, "gaussian", 0.0)
    assert any("sigma" in msg for _, msg in seen)
