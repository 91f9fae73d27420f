"""A 2-D two-stage run from Python gives exactly the numbers of the same run in C
(tests/ffi/two_stage_numbers.c, printed with %a) for the same seed."""
import os
import subprocess
from collections import defaultdict

import numpy as np
import pytest

import dsmooth
from conftest import cluster_data

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PROGRAM = os.environ.get("DSMOOTH_TWO_STAGE_NUMBERS",
                         os.path.join(REPO, "build", "tests", "two_stage_numbers"))


def c_numbers(threads):
    if not os.path.exists(PROGRAM):
        pytest.skip("%s not built (cmake --build build)" % PROGRAM)
    out = subprocess.run([PROGRAM, str(threads)], check=True, capture_output=True,
                         text=True).stdout
    numbers = defaultdict(list)
    for line in out.splitlines():
        name, index, value = line.split()
        assert int(index) == len(numbers[name])
        numbers[name].append(float.fromhex(value))
    return {k: np.array(v) for k, v in numbers.items()}


def python_numbers(threads):
    n, steps = 1024, 120
    res = {}
    with dsmooth.Context(threads=threads, seed=7) as ctx:
        x = cluster_data(n, 7)
        res["data"] = x[:4].ravel()
        sm = dsmooth.Smoother(ctx, "gaussian", 0.5)
        s1 = dsmooth.Model(ctx, dim=2, components=4, hidden=(32, 32))
        s2 = dsmooth.Model(ctx, dim=2, cond_dim=2, components=4, hidden=(32, 32))
        loss = []
        for m in (s1, s2):
            with dsmooth.Trainer(m, smoother=sm, batch=128, total_steps=steps,
                                 schedule="cosine", lr=3e-3) as t:
                loss.append(t.train(x, steps))
        res["loss"] = np.array(loss)
        res["stage1_log_prob"] = s1.log_prob(x[:8])
        res["bound"] = dsmooth.two_stage_log_prob_bound(s1, s2, sm, x[:16], k_samples=8,
                                                        stream=3)
        res["grid"] = dsmooth.two_stage_log_prob_grid(s1, s2, x[:4], -5, 5, 33)
        xt = sm.apply(x[:8], stream=5)
        res["x_tilde"] = xt.ravel()
        res["gradient_denoised"] = dsmooth.GradientDenoiser(s1, sm, "exact").apply(xt).ravel()
        cd = dsmooth.ConditionalDenoiser(s2, "sample")
        res["two_stage_sample"] = dsmooth.two_stage_sample(s1, cd, 8, stream=9).ravel()
        res["stage1_sample"] = s1.sample(8, stream=11, method="bisection").ravel()
    return res


def _bits(a):
    return np.asarray(a, np.float64).view(np.uint64)


@pytest.mark.parametrize("py_threads", [2, 1])
def test_python_matches_c_bit_for_bit(py_threads):
    c = c_numbers(2)
    py = python_numbers(py_threads)
    assert set(py) <= set(c)
    for name, values in py.items():
        expect = c[name][: len(values)]
        assert len(expect) == len(values), name
        mismatch = np.nonzero(_bits(values) != _bits(expect))[0]
        assert mismatch.size == 0, "%s differs at %s: python %r, C %r" % (
            name, mismatch[:4], values[mismatch[:4]], expect[mismatch[:4]])
    assert len(c["bound"]) == 16 and np.all(np.isfinite(c["bound"]))
