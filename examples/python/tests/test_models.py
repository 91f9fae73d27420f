"""Model, trainer, denoisers and the two-stage model through the bindings."""
import os

import numpy as np
import pytest

import dsmooth
from dsmooth import DsmoothError, Status


def test_model_config_and_create(ctx):
    m = dsmooth.Model(ctx, dim=3, components=2, hidden=(16, 16), activation="tanh")
    assert (m.dim, m.cond_dim) == (3, 0) and m.param_count > 0
    with pytest.raises(DsmoothError) as e:
        dsmooth.ModelConfig(components=0)
    assert e.value.status == Status.ERR_INVALID_ARGUMENT and "COMPONENTS" in e.value.detail.upper()
    with pytest.raises(DsmoothError) as e:
        dsmooth.Model(ctx, components=3)  # DIM unset
    assert e.value.status == Status.ERR_INVALID_ARGUMENT and e.value.detail
    with pytest.raises(ValueError):
        dsmooth.ModelConfig(colour=3)
    with dsmooth.ModelConfig(dim=2, head="discretized", bins=16, bin_lo=-2, bin_hi=2) as cfg:
        d = dsmooth.Model(ctx, cfg)
        lp = d.log_prob(np.zeros((2, 2), np.float32))
        assert np.all(lp < 0)
        with pytest.raises(DsmoothError) as e:
            d.score(np.zeros((2, 2), np.float32))
        assert e.value.status == Status.ERR_UNSUPPORTED


def test_log_prob_score_sample(ctx):
    # tanh: smooth, so finite differences do not straddle a ReLU kink
    m = dsmooth.Model(ctx, dim=2, components=3, hidden=(16, 16), activation="tanh")
    x = np.random.default_rng(1).normal(size=(64, 2)).astype(np.float32)
    lp = m.log_prob(x)
    assert lp.shape == (64,) and lp.dtype == np.float64 and np.all(np.isfinite(lp))
    score, lp2 = m.score(x, with_log_prob=True)
    np.testing.assert_array_equal(lp, lp2)
    # the exact score is the gradient of log p: central differences agree
    h = 1e-3
    e0 = np.zeros_like(x)
    e0[:, 0] = h
    fd = (m.log_prob(x + e0) - m.log_prob(x - e0)) / (2 * h)
    np.testing.assert_allclose(score[:, 0], fd, rtol=2e-2, atol=2e-3)
    s1 = m.sample(10, stream=3)
    np.testing.assert_array_equal(s1, m.sample(10, stream=3))
    np.testing.assert_array_equal(s1[:4], m.sample(4, stream=3))  # per-example draws
    assert m.sample(5, stream=1, method="gumbel").shape == (5, 2)
    with pytest.raises(ValueError):
        m.log_prob(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError):
        m.log_prob(x, cond=x)


def test_conditional_model_needs_cond(ctx):
    m = dsmooth.Model(ctx, dim=2, cond_dim=3, hidden=(8,))
    c = np.ones((4, 3), np.float32)
    assert m.log_prob(np.zeros((4, 2)), cond=c).shape == (4,)
    assert m.sample(cond=c, stream=0).shape == (4, 2)
    with pytest.raises(ValueError):
        m.log_prob(np.zeros((4, 2)))


def test_save_load_round_trip(ctx, tmp_path):
    m = dsmooth.Model(ctx, dim=2, cond_dim=1, components=2, hidden=(8, 8))
    x = np.random.default_rng(2).normal(size=(16, 2)).astype(np.float32)
    c = np.ones((16, 1), np.float32)
    path = tmp_path / "m.ckpt"
    m.save(path)
    with dsmooth.Model.load(ctx, str(path)) as back:
        assert (back.dim, back.cond_dim, back.param_count) == (2, 1, m.param_count)
        np.testing.assert_array_equal(back.log_prob(x, c), m.log_prob(x, c))
    # a truncated file is refused with a detail, and nothing is created
    raw = path.read_bytes()
    (tmp_path / "cut.ckpt").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DsmoothError) as e:
        dsmooth.Model.load(ctx, tmp_path / "cut.ckpt")
    assert e.value.status == Status.ERR_BAD_FORMAT and "truncated" in e.value.detail
    with pytest.raises(DsmoothError) as e:
        dsmooth.Model.load(ctx, tmp_path / "missing.ckpt")
    assert e.value.status == Status.ERR_IO and "missing.ckpt" in e.value.detail


def test_copy_weights(ctx):
    a = dsmooth.Model(ctx, dim=2, hidden=(8,))
    b = dsmooth.Model(ctx, dim=2, hidden=(8,))
    x = np.ones((3, 2), np.float32)
    b.copy_weights_from(a)
    np.testing.assert_array_equal(a.log_prob(x), b.log_prob(x))


def _train(threads, data, steps, split=None, path=None):
    with dsmooth.Context(threads=threads, seed=77) as ctx:
        sm = dsmooth.Smoother(ctx, "gaussian", 0.3)
        m = dsmooth.Model(ctx, dim=2, components=3, hidden=(32, 32))
        kw = dict(batch=128, total_steps=steps, schedule="cosine", lr=3e-3)
        t = dsmooth.Trainer(m, smoother=sm, **kw)
        if split:
            t.train(data, split)
            t.save(path)
            t.close()
            m.close()
            m = dsmooth.Model(ctx, dim=2, components=3, hidden=(32, 32))
            t = dsmooth.Trainer(m, smoother=sm, **kw)
            t.resume(path)
            assert t.step == split
            t.train(data, steps - split)
        else:
            t.train(data, steps)
        assert t.step == steps
        return m.log_prob(data[:8]), t.evaluate(data[:256], stream=1)


def test_training_is_thread_independent_and_resumes_bitwise(data, tmp_path):
    a = _train(1, data, 40)
    b = _train(2, data, 40)
    c = _train(2, data, 40, split=17, path=str(tmp_path / "t.ckpt"))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[0], c[0])
    assert a[1] == b[1] == c[1]


def test_progress_callback_reports_and_cancels(ctx, data):
    m = dsmooth.Model(ctx, dim=2, components=2, hidden=(16,))
    t = dsmooth.Trainer(m, batch=64, total_steps=100)
    calls = []
    loss = t.train(data, 20, progress=lambda *a: calls.append(a), every=5)
    assert [c[0] for c in calls] == [5, 10, 15, 20]
    assert all(c[1] == 100 and np.isfinite(c[2]) and c[3] > 0 for c in calls)
    assert np.isfinite(loss)
    with pytest.raises(dsmooth.Cancelled) as e:
        t.train(data, 50, progress=lambda step, *rest: step >= 25)
    assert e.value.status == Status.ERR_CANCELLED and t.step == 25
    # an exception in the callback stops training and propagates unchanged
    with pytest.raises(ZeroDivisionError):
        t.train(data, 50, progress=lambda *a: 1 / 0)
    assert t.step == 26
    t.train(data, 2)  # still usable, no callback left behind
    assert t.step == 28
    with pytest.raises(DsmoothError) as e:
        t.train(data[:10], 1)
    assert "fewer than one batch" in e.value.detail


def test_denoisers_and_two_stage(trained):
    ctx, sm, s1, s2, x = trained
    xt = sm.apply(x[:500], stream=123)
    noisy = np.mean((xt - x[:500]) ** 2)
    grad = dsmooth.GradientDenoiser(s1, sm, kind="exact")
    mse_grad = np.mean((grad.apply(xt) - x[:500]) ** 2)
    score = s1.score(xt)
    np.testing.assert_allclose(grad.apply(xt), xt + 0.25 * score, atol=1e-5)
    mean = dsmooth.ConditionalDenoiser(s2, "mean")
    mse_mean = np.mean((mean.apply(xt, stream=1) - x[:500]) ** 2)
    assert mse_grad < noisy and mse_mean < noisy
    sample = dsmooth.ConditionalDenoiser(s2, "sample")
    a = dsmooth.two_stage_sample(s1, sample, 200, stream=9)
    np.testing.assert_array_equal(a, dsmooth.two_stage_sample(s1, sample, 200, stream=9))
    assert np.mean(np.abs(np.abs(a) - 1.5) < 0.9) > 0.7
    b1 = dsmooth.two_stage_log_prob_bound(s1, s2, sm, x[:100], k_samples=1, stream=3)
    b50 = dsmooth.two_stage_log_prob_bound(s1, s2, sm, x[:100], k_samples=50, stream=3)
    quad = dsmooth.two_stage_log_prob_grid(s1, s2, x[:100], -6, 6, 61)
    assert b1.mean() < b50.mean() < quad.mean() + 0.05
    with pytest.raises(DsmoothError) as e:
        dsmooth.ConditionalDenoiser(s1)
    assert e.value.status == Status.ERR_SHAPE_MISMATCH and e.value.detail
    with pytest.raises(DsmoothError) as e:
        dsmooth.two_stage_log_prob_bound(s1, s2, sm, x[:4], k_samples=0)
    assert e.value.status == Status.ERR_INVALID_ARGUMENT
    grad.close()
    mean.close()
    sample.close()


def test_masked_pixelcnn(ctx, tmp_path):
    m = dsmooth.Model(ctx, arch="pixelcnn", height=6, width=5, channels=3, filters=4, layers=2,
                      gated=0, activation="elu", components=2, head="discretized")
    assert m.dim == 90 and m.param_count > 0
    x = np.round(np.random.default_rng(3).uniform(0, 255, size=(3, 90))) / 127.5 - 1
    lp = m.log_prob(x.astype(np.float32))
    assert lp.shape == (3,) and np.all(np.isfinite(lp)) and np.all(lp < 0)
    m.save(tmp_path / "p.ckpt")
    with dsmooth.Model.load(ctx, str(tmp_path / "p.ckpt")) as back:
        np.testing.assert_array_equal(back.log_prob(x.astype(np.float32)), lp)
    with pytest.raises(DsmoothError) as e:
        dsmooth.ModelConfig(arch="pixelcnn", resnets=2)
    assert e.value.status == Status.ERR_INVALID_ARGUMENT and "LAYERS" in e.value.detail


def test_conditional_pixelcnn_options(ctx):
    """Both ways x~ enters a conditional PixelCNN++: the same calls, D-dimensional cond."""
    x = np.random.default_rng(2).uniform(-0.9, 0.9, size=(3, 36)).astype(np.float32)
    c = x + np.float32(0.1)
    sizes = dict(arch="pixelcnnpp", height=6, width=6, filters=4, resnets=1, components=2,
                 cond_dim=36)
    stacked = dsmooth.Model(ctx, cond_layout="stacked", **sizes)
    plain = dsmooth.Model(ctx, arch="pixelcnnpp", height=6, width=6, filters=4, resnets=1,
                          components=2)
    assert stacked.param_count == plain.param_count  # an unmodified PixelCNN++ on (12, 6)
    convs = dsmooth.Model(ctx, cond_layout=dsmooth.CondLayout.CHANNELS, cond_convs=2, **sizes)
    for m in (stacked, convs):
        assert (m.dim, m.cond_dim) == (36, 36)
        assert np.all(np.isfinite(m.log_prob(x, cond=c)))
        assert m.score(x, cond=c).shape == (3, 36)
        assert m.sample(cond=c, stream=0).shape == (3, 36)
    with pytest.raises(DsmoothError) as e:
        dsmooth.Model(ctx, cond_layout="stacked", cond_convs=1, **sizes)
    assert e.value.status == Status.ERR_INVALID_ARGUMENT and "COND_CONVS" in e.value.detail
    with pytest.raises(ValueError):
        dsmooth.ModelConfig(arch="pixelcnnpp", cond_layout="sideways")


def test_loaded_model_reports_its_configuration(ctx, tmp_path):
    m = dsmooth.Model(ctx, arch="pixelcnn", height=6, width=5, channels=3, filters=4, layers=2,
                      gated=0, activation="elu", components=2, head="discretized")
    m.save(tmp_path / "p.ckpt")
    with dsmooth.Model.load(ctx, str(tmp_path / "p.ckpt")) as back, back.config() as cfg:
        assert cfg.arch == dsmooth.Arch.PIXELCNN
        assert (cfg.get("height"), cfg.get("width"), cfg.get("channels")) == (6, 5, 3)
        assert (cfg.get("dim"), cfg.get("layers"), cfg.get("gated")) == (90, 2, 0)
        assert cfg.get("head") == dsmooth.Head.DISCRETIZED
        assert cfg.get("activation") == dsmooth.Activation.ELU
        assert cfg.get("bin_lo") == -1.0 and cfg.hidden == (64, 64)
        with pytest.raises(DsmoothError) as e:
            cfg.get("resnets")
        assert "does not apply to DS_ARCH_PIXELCNN" in e.value.detail
    with dsmooth.ModelConfig(dim=3, hidden=(7, 5)) as cfg:
        assert cfg.arch == dsmooth.Arch.MADE and cfg.hidden == (7, 5) and cfg.get("dim") == 3


def test_trainer_reports_its_configuration(ctx):
    m = dsmooth.Model(ctx, dim=2, hidden=(8,))
    with dsmooth.Trainer(m, batch=16, lr=0.01, schedule="cosine") as t, t.config() as cfg:
        assert cfg.get("batch") == 16 and cfg.get("lr") == 0.01
        assert cfg.get("schedule") == dsmooth.LRSchedule.COSINE
