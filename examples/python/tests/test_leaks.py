"""No leaks over many create/free cycles: the library's own allocation count through a
counting allocator hook, the bindings' handle count, and the process RSS."""
import gc
import os

import numpy as np

import dsmooth


def _rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _cycle(ctx, x, tmp):
    sm = dsmooth.Smoother(ctx, "gaussian", 0.5)
    m = dsmooth.Model(ctx, dim=2, components=2, hidden=(16, 16))
    c = dsmooth.Model(ctx, dim=2, cond_dim=2, components=2, hidden=(16,))
    t = dsmooth.Trainer(m, smoother=sm, batch=32, total_steps=4)
    t.train(x, 2, progress=lambda *a: False)
    m.log_prob(x)
    m.sample(8)
    g = dsmooth.GradientDenoiser(m, sm)
    k = dsmooth.ConditionalDenoiser(c, "sample")
    g.apply(x)
    dsmooth.two_stage_sample(m, k, 8)
    dsmooth.two_stage_log_prob_bound(m, c, sm, x[:8], k_samples=2)
    m.save(tmp)
    dsmooth.Model.load(ctx, tmp).close()
    try:
        dsmooth.Smoother(ctx, "gaussian", -1)
    except dsmooth.DsmoothError:
        pass
    if len(x) % 2:  # half the cycles rely on the garbage collector instead of close()
        return
    for h in (k, g, t, c, m, sm):
        h.close()


def test_counting_allocator_returns_to_baseline(tmp_path):
    x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    with dsmooth.Context(threads=2, count_allocations=True) as ctx:
        base = ctx.live_allocations
        for i in range(20):
            _cycle(ctx, x if i % 2 == 0 else x[:63], str(tmp_path / "m.ckpt"))
            gc.collect()
            assert ctx.live_allocations == base, "cycle %d leaked %d blocks" % (
                i, ctx.live_allocations - base)
        assert ctx._allocs["calls"] > 20 * 10
    assert dsmooth.live_handles() == {}


def test_rss_stable_over_many_cycles(tmp_path):
    x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    path = str(tmp_path / "m.ckpt")

    def run(k):
        for i in range(k):
            with dsmooth.Context(threads=2, seed=i) as ctx:
                _cycle(ctx, x, path)
        gc.collect()

    run(30)  # warm up: allocator arenas, thread stacks
    before = _rss_kib()
    run(150)
    grown = _rss_kib() - before
    # a leak of one model (a few KiB) or one pool (thread stacks) per cycle would be
    # hundreds of KiB to many MiB here
    assert grown < 2048, "RSS grew by %d KiB over 150 cycles" % grown
    assert dsmooth.live_handles() == {}
