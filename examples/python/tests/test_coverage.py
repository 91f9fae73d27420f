"""Every function of include/dsmooth.h is declared by each binding, and every enumerator
of the model configuration (architectures, options) is named by each, so none drifts
behind the header as the API grows. The values of EVERY public enum in every binding are
compared by tests/ffi/check_enum_values.py (also run below)."""
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
    rs = _read("examples", "rust", "dsmooth-sys", "src", "lib.rs")
    assert [f for f in header_functions() if not re.search(r"fn %s\(" % f, rs)] == []


def test_julia_calls_every_function():
    jl = _read("examples", "julia", "dsmooth.jl")
    missing = [f for f in header_functions() if ":%s," % f not in jl and f not in JULIA_SKIPS]
    assert missing == []


# The enums a model configuration is made of: every enumerator of the header (name and
# value) in each binding, so a new architecture or option is reachable by name everywhere.
CONFIG_ENUMS = [("ds_arch", "DS_ARCH_", "Arch"),
                ("ds_model_option", "DS_MODEL_", "ModelOption"),
                ("ds_model_float_option", "DS_MODEL_", "ModelFloatOption")]


def header_enum(name):
    """[(DS_NAME, value)] of `typedef enum name { ... } name;` in the header."""
    body = re.search(r"typedef enum %s \{(.*?)\} %s;" % (name, name),
                     _read("include", "dsmooth.h"), re.S).group(1)
    items = [(n, int(v)) for n, v in re.findall(r"\b(DS_[A-Z0-9_]+)\s*=\s*(-?\d+)", body)]
    assert items
    return items


def test_python_has_every_config_enumerator():
    import dsmooth
    for enum_name, prefix, cls in CONFIG_ENUMS:
        members = getattr(dsmooth, cls).__members__
        missing = [(n, v) for n, v in header_enum(enum_name)
                   if n[len(prefix):] not in members or members[n[len(prefix):]] != v]
        assert missing == [], cls


def test_rust_has_every_config_enumerator():
    rs = _read("examples", "rust", "src", "lib.rs")
    for enum_name, prefix, cls in CONFIG_ENUMS:
        body = re.search(r"\b%s \{([^}]*)\}" % cls, rs).group(1)
        variants = {n.lower(): int(v) for n, v in re.findall(r"(\w+)\s*=\s*(\d+)", body)}
        missing = [(n, v) for n, v in header_enum(enum_name)
                   if variants.get(n[len(prefix):].replace("_", "").lower()) != v]
        assert missing == [], cls


def test_julia_has_every_config_enumerator():
    jl = _read("examples", "julia", "dsmooth.jl")
    for enum_name, _, _ in CONFIG_ENUMS:
        assert [n for n, _ in header_enum(enum_name) if not re.search(r"\b%s\b" % n, jl)] == []


def test_every_enum_value_in_every_binding():
    import importlib.util
    path = os.path.join(REPO, "tests", "ffi", "check_enum_values.py")
    spec = importlib.util.spec_from_file_location("check_enum_values", path)
    checker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checker)
    assert checker.check(checker.read_files(REPO)) == []
