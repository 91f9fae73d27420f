"""The package as users meet it: a docstring and type hints on every public item, py.typed,
the dtype/layout policy, Ctrl-C during training, and where the library comes from."""
import enum
import inspect
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

import dsmooth


def _public_items():
    """(qualified name, object) for every name in __all__ and every public method and
    property their classes define (enum members excepted: they are values)."""
    for name in dsmooth.__all__:
        obj = getattr(dsmooth, name)
        if isinstance(obj, (str, int)):
            continue
        yield name, obj
        if inspect.isclass(obj):
            for cls in obj.__mro__:
                if cls.__module__ != "dsmooth":
                    continue
                for attr, value in vars(cls).items():
                    if attr.startswith("_") or (isinstance(obj, enum.EnumMeta)
                                                and attr in obj.__members__):
                        continue
                    if isinstance(value, (staticmethod, classmethod)):
                        value = value.__func__
                    if callable(value) or isinstance(value, property):
                        yield "%s.%s" % (name, attr), value


def test_every_public_item_has_a_docstring():
    items = list(_public_items())
    assert len(items) > 60
    assert [n for n, obj in items if not (inspect.getdoc(obj) or "").strip()] == []


def test_every_public_function_is_annotated():
    missing = []
    for name, obj in _public_items():
        fn = obj.fget if isinstance(obj, property) else obj
        if inspect.isclass(fn) or not callable(fn):
            continue
        sig = inspect.signature(fn)
        if sig.return_annotation is inspect.Signature.empty:
            missing.append(name + " -> ?")
        missing += ["%s(%s)" % (name, p) for p in sig.parameters.values()
                    if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    assert missing == []


def test_package_is_marked_typed():
    assert os.path.exists(os.path.join(os.path.dirname(dsmooth.__file__), "py.typed"))


def test_dtype_policy(ctx):
    sm = dsmooth.Smoother(ctx, "gaussian", 0.5)
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    ref = sm.apply(x, stream=2)
    # float32 C-contiguous: the caller's buffer itself (in place proves no copy)
    assert sm.apply(x, stream=2, out=x) is x
    np.testing.assert_array_equal(x, ref)
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    # real dtypes and other layouts: one converted copy, same numbers, input untouched
    for other in (x.astype(np.float64), x.astype(np.int32), x.astype(np.uint8),
                  np.asfortranarray(x), x.astype(np.float16), x.tolist()):
        np.testing.assert_array_equal(sm.apply(other, stream=2), ref)
    assert sm.apply(x.astype(bool), stream=2).shape == (6, 2)
    # no silent loss of imaginary parts, no objects or strings
    for bad in (x.astype(np.complex64), x.astype(object), np.full((6, 2), "1.0")):
        with pytest.raises(TypeError, match="not a real number type"):
            sm.apply(bad, stream=2)
    with pytest.raises(TypeError):
        sm.convolve_grid(np.ones(8, np.complex128), 0.0, 1.0)
    # out= is never converted
    with pytest.raises(ValueError, match="out must be"):
        sm.apply(x, out=np.empty((6, 2), np.float32, order="F")[:, :1])


def _long_trainer(ctx):
    m = dsmooth.Model(ctx, dim=2, components=4, hidden=(64, 64))
    return dsmooth.Trainer(m, batch=256, total_steps=10**7)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals are delivered to the main thread")
def test_ctrl_c_cancels_training_and_raises_keyboard_interrupt(data):
    ctx = dsmooth.Context(threads=1, seed=1)
    t = _long_trainer(ctx)
    steps = 20000  # about 16 s at 0.8 ms a step; the interrupt comes after 0.5 s
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            t.train(data, steps)
    finally:
        timer.cancel()
    done = t.step
    assert 0 < done < steps
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    assert np.isfinite(t.train(data, 3))  # usable, and no handler left behind
    assert t.step == done + 3
    # with a progress callback too: it saw the steps, and the interrupt still wins
    seen = []
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            t.train(data, steps, progress=lambda *a: seen.append(a[0]), every=10)
    finally:
        timer.cancel()
    assert seen and all(s % 10 == 0 for s in seen)
    ctx.close()


def test_progress_window_means(ctx, data):
    """every=k forwards the mean of the per-step losses the library reported."""
    # one model seed and one trainer seed: both runs take the same steps
    m = dsmooth.Model(ctx, dim=2, components=2, hidden=(16,), seed=5)
    per_step, windows = [], []
    t1 = dsmooth.Trainer(m, batch=64, seed=9)
    t1.train(data, 9, progress=lambda s, T, loss, r: per_step.append(loss), every=1)
    m2 = dsmooth.Model(ctx, dim=2, components=2, hidden=(16,), seed=5)
    t2 = dsmooth.Trainer(m2, batch=64, seed=9)
    t2.train(data, 9, progress=lambda s, T, loss, r: windows.append((s, loss)), every=4)
    assert [s for s, _ in windows] == [4, 8, 9]
    np.testing.assert_allclose([w for _, w in windows],
                               [np.mean(per_step[0:4]), np.mean(per_step[4:8]), per_step[8]])


def _import_in_child(env_changes, *flags):
    env = dict(os.environ)
    env.pop("DSMOOTH_LIB_DIR", None)
    env.pop("DSMOOTH_LIBRARY", None)
    env.update(env_changes)
    code = "import dsmooth; print(dsmooth.library_path)"
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(dsmooth.__file__)))
    return subprocess.run([sys.executable, *flags, "-c", code], env=env, cwd=pkg_parent,
                          capture_output=True, text=True)


def test_library_environment_variables():
    lib_dir = os.path.dirname(os.path.realpath(dsmooth.library_path))
    soname = "libdsmooth.so.0"
    if not os.path.exists(os.path.join(lib_dir, soname)):
        pytest.skip("the loaded library is not in a directory holding %s" % soname)
    r = _import_in_child({"DSMOOTH_LIB_DIR": lib_dir}, "-W", "error::DeprecationWarning")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == os.path.join(lib_dir, soname)
    # the old variable still works, with a DeprecationWarning
    old = os.path.join(lib_dir, soname)
    r = _import_in_child({"DSMOOTH_LIBRARY": old}, "-W", "always::DeprecationWarning")
    assert r.returncode == 0 and r.stdout.strip() == old, r.stderr
    assert "DSMOOTH_LIBRARY is deprecated" in r.stderr
    # an explicit directory without the library fails loudly, naming the variable
    r = _import_in_child({"DSMOOTH_LIB_DIR": "/nonexistent-dsmooth"})
    assert r.returncode != 0
    assert "DSMOOTH_LIB_DIR" in r.stderr and "/nonexistent-dsmooth/libdsmooth.so.0" in r.stderr


def test_type_hints_hold_under_mypy(tmp_path):
    """mypy finds the package's hints (through py.typed when installed), reports a user's
    type error against them, and finds none in the package itself."""
    pytest.importorskip("mypy")
    pkg_dir = os.path.dirname(os.path.abspath(dsmooth.__file__))
    user = tmp_path / "user.py"
    user.write_text("import numpy as np\nimport dsmooth\n"
                    "ctx = dsmooth.Context(threads=1)\n"
                    "m = dsmooth.Model(ctx, dim=2, hidden=(8,))\n"
                    "lp: np.ndarray = m.log_prob(np.zeros((2, 2), np.float32))\n"
                    "wrong: str = m.dim\n")
    env = dict(os.environ)
    if os.environ.get("DSMOOTH_TEST_INSTALLED") != "1":  # source tree; else via py.typed
        env["MYPYPATH"] = os.path.dirname(pkg_dir)
    base = [sys.executable, "-m", "mypy", "--no-incremental", "--ignore-missing-imports",
            "--cache-dir", str(tmp_path / "cache")]
    r = subprocess.run(base + [str(user)], cwd=tmp_path, env=env, capture_output=True,
                       text=True)
    errors = [line for line in r.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and "user.py:6:" in errors[0] and '"int"' in errors[0], r.stdout
    r = subprocess.run(base + [pkg_dir], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
