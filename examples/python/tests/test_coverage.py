"""Every function of include/dsmooth.h is declared by each binding, so none drifts
behind the header as the API grows (the image models will add functions)."""
import os
import re

from dsmooth import _native

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
# deliberately not wrapped, with the reason in the binding
JULIA_SKIPS = {"ds_context_options_set_allocator", "ds_context_options_set_log"}


def _read(*parts):
    with open(os.path.join(REPO, *parts)) as f:
        return f.read()


def header_functions():
    fns = re.findall(r"DS_API[^;(]*?\b(ds_\w+)\s*\(", _read("include", "dsmooth.h"))
    assert len(fns) >= 60
    return fns


def test_python_declares_every_function():
    assert [f for f in header_functions() if f not in _native._PROTOTYPES] == []


def test_rust_declares_every_function():
    rs = _read("examples", "rust", "src", "lib.rs")
    assert [f for f in header_functions() if not re.search(r"fn %s\(" % f, rs)] == []


def test_julia_calls_every_function():
    jl = _read("examples", "julia", "dsmooth.jl")
    missing = [f for f in header_functions() if ":%s," % f not in jl and f not in JULIA_SKIPS]
    assert missing == []
