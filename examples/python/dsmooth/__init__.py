"""dsmooth: Python bindings to libdsmooth (include/dsmooth.h is the manual).

    import numpy as np, dsmooth
    with dsmooth.Context(threads=2, seed=1) as ctx:
        sm = dsmooth.Smoother(ctx, "gaussian", 0.5)
        x_tilde = sm.apply(np.zeros((4, 2), np.float32), stream=0)

Conventions
* Arrays (the dtype and layout policy). Inputs are numpy arrays or anything
  ``numpy.asarray`` accepts. The library computes in float32 (grids in float64):
  - an input that already has the call's dtype and is C-contiguous is passed to the library
    as is, without a copy;
  - any other *real* input (floating, signed or unsigned integer, bool; or a strided or
    Fortran-ordered view) is converted once, with a copy, to a C-contiguous array of the
    call's dtype (float64 -> float32 rounds to nearest);
  - complex, object, string, datetime and structured inputs raise TypeError (no silent
    dropping of imaginary parts).
  Outputs are new arrays, or the caller's ``out=`` array, which must already have the exact
  dtype, shape and C order (it is never converted: ValueError otherwise) and is written in
  place and returned.
* Every handle is a Python object that owns it: ``close()`` frees it (idempotent), ``with``
  closes it on exit, and garbage collection closes what was forgotten. Freeing a handle
  first closes everything that depends on it (a context closes its smoothers and models, a
  model its trainers and denoisers), so nothing is ever freed twice or used after free.
  Methods on a closed handle raise ValueError.
* A failed call raises DsmoothError with .status (a Status), .name ("DS_ERR_NUMERIC") and
  .detail (the library's sentence from ds_context_last_error). A training run stopped by
  its progress callback raises Cancelled (a DsmoothError); the trainer stays usable.
* Ctrl-C (SIGINT) during ``Trainer.train`` stops training after the step that is running
  (the library's progress hook is polled every step) and raises KeyboardInterrupt; the
  trainer keeps the completed steps and stays usable. Other calls have no cancellation
  point in the C library: Ctrl-C during them raises KeyboardInterrupt when they return.
* Library: see ``dsmooth._native`` -- ``$DSMOOTH_LIB_DIR`` (a directory, shared with the
  Rust crates), else the copy bundled in the wheel, else ``build/lib`` of the source tree,
  else the system loader. ``$DSMOOTH_LIBRARY`` (a file) still works but is deprecated.
"""
from __future__ import annotations

import enum
import os
import signal
import threading
import weakref
from ctypes import byref, c_double, c_int32, c_int64, c_void_p
from typing import (Any, Callable, Dict, Iterable, Optional, Sequence, Tuple, Type,
                    TypeVar, Union)

import numpy as np
import numpy.typing as npt

from . import _native
from ._native import lib, library_path

__version__ = "0.4.0"

__all__ = [
    "Status", "Noise", "Arch", "Head", "Activation", "ScoreKind", "SampleMethod", "SAMPLE_NAIVE",
    "LRSchedule", "ConditionalOutput", "LogLevel", "ModelOption", "ModelFloatOption",
    "CondLayout",
    "TrainerOption", "TrainerFloatOption",
    "DsmoothError", "Cancelled", "Context", "Smoother", "ModelConfig", "Model",
    "TrainerConfig", "Trainer", "GradientDenoiser", "ConditionalDenoiser",
    "two_stage_log_prob_bound", "two_stage_log_prob_grid", "two_stage_sample",
    "precision_recall", "version", "version_string", "library_path", "live_handles",
]


# ---------------------------------------------------------------------------------------
# Enumerations (values pinned by the C header)
# ---------------------------------------------------------------------------------------
class Status(enum.IntEnum):
    """Status codes of every call (ds_status); DsmoothError.status is one of these."""

    OK = 0
    ERR_INVALID_ARGUMENT = 1
    ERR_OUT_OF_MEMORY = 2
    ERR_IO = 3
    ERR_BAD_FORMAT = 4
    ERR_UNSUPPORTED_VERSION = 5
    ERR_SHAPE_MISMATCH = 6
    ERR_NUMERIC = 7
    ERR_BAD_STATE = 8
    ERR_CANCELLED = 9
    ERR_UNSUPPORTED = 10
    ERR_THREAD = 11
    ERR_INTERNAL = 12


class Noise(enum.IntEnum):
    """Noise families of a Smoother (ds_noise)."""

    GAUSSIAN = 0
    LAPLACE = 1
    UNIFORM = 2


class Arch(enum.IntEnum):
    """Model architectures (ds_arch)."""

    MADE = 0
    PIXELCNNPP = 1
    PIXELCNN = 2


class Head(enum.IntEnum):
    """Output head of a model: continuous mixture or discretized (ds_head)."""

    CONTINUOUS = 0
    DISCRETIZED = 1


class Activation(enum.IntEnum):
    """Hidden activation of a MADE (ds_activation)."""

    RELU = 0
    TANH = 1
    ELU = 2


class ModelOption(enum.IntEnum):
    """Integer model options (ds_model_option), for ModelConfig.set_int."""

    DIM = 0
    COND_DIM = 1
    COMPONENTS = 2
    HEAD = 3
    BINS = 4
    ACTIVATION = 5
    RESIDUAL = 6
    CHANNELS = 7
    HEIGHT = 8
    WIDTH = 9
    FILTERS = 10
    RESNETS = 11
    LAYERS = 12
    GATED = 13
    COND_LAYOUT = 14
    COND_CONVS = 15
    SEED = 16


class ModelFloatOption(enum.IntEnum):
    """Floating-point model options (ds_model_float_option), for ModelConfig.set_float."""

    BIN_LO = 0
    BIN_HI = 1
    DROPOUT = 2
    COND_SHARE = 3


class CondLayout(enum.IntEnum):
    """How a PixelCNN++ receives its conditioning image (ds_cond_layout)."""

    CHANNELS = 0
    STACKED = 1


class ScoreKind(enum.IntEnum):
    """Exact or local score of a model (ds_score_kind)."""

    EXACT = 0
    LOCAL = 1


class SampleMethod(enum.IntEnum):
    """How a model inverts each conditional when sampling (ds_sample_method)."""

    BISECTION = 0
    GUMBEL = 1


SAMPLE_NAIVE = 0x100  # flag: the naive pixel-by-pixel sampler (same bits, for tests/benchmarks)


class LRSchedule(enum.IntEnum):
    """Learning-rate schedules of a trainer (ds_lr_schedule)."""

    CONSTANT = 0
    EXPONENTIAL = 1
    COSINE = 2


class TrainerOption(enum.IntEnum):
    """Integer trainer options (ds_trainer_option), for TrainerConfig.set_int."""

    BATCH = 0
    TOTAL_STEPS = 1
    SCHEDULE = 2
    SEED = 3
    DATA_INIT = 4


class TrainerFloatOption(enum.IntEnum):
    """Floating-point trainer options (ds_trainer_float_option), for TrainerConfig.set_float."""

    LR = 0
    BETA1 = 1
    BETA2 = 2
    EPSILON = 3
    WEIGHT_DECAY = 4
    LR_DECAY = 5
    LR_MIN = 6
    CLIP_NORM = 7
    EMA_DECAY = 8


class ConditionalOutput(enum.IntEnum):
    """What a ConditionalDenoiser returns: a sample or the conditional mean."""

    SAMPLE = 0
    MEAN = 1


class LogLevel(enum.IntEnum):
    """Severity of a log message (ds_log_level)."""

    ERROR = 0
    WARN = 1
    INFO = 2
    DEBUG = 3


EnumLike = Union[int, str, enum.IntEnum]
"""An enumeration argument: a member, its int value or its case-insensitive name."""
PathLike = Union[str, bytes, "os.PathLike[str]"]
ProgressFn = Callable[[int, int, float, float], Any]
"""progress(step, total_steps, loss, examples_per_second) -> truthy to stop."""
_H = TypeVar("_H", bound="_Handle")


def _enum(cls: Optional[Type[enum.IntEnum]], value: EnumLike) -> int:
    """An enum member from a member, its int value or its case-insensitive name."""
    if isinstance(value, str) and cls is not None:
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError("%s: unknown name %r (one of %s)"
                             % (cls.__name__, value, ", ".join(m.name.lower() for m in cls)))
    return int(value)  # ints pass through: the library reports values out of range


def version() -> int:
    """ds_version() of the loaded library: MAJOR*10000 + MINOR*100 + PATCH."""
    return int(lib.ds_version())


def version_string() -> str:
    """ds_version_string() of the loaded library, e.g. "0.4.0"."""
    return lib.ds_version_string().decode()


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------
class DsmoothError(Exception):
    """A libdsmooth call failed: .status, .name, .detail, .function."""

    status: Union[Status, int]
    """The Status (or the raw int for a code newer than these bindings)."""
    name: str
    """The constant's name, e.g. "DS_ERR_NUMERIC"."""
    detail: str
    """The library's sentence saying what was wrong (ds_context_last_error)."""
    function: str
    """The C function that failed."""

    def __init__(self, status: int, detail: str = "", function: str = "") -> None:
        self.status = Status(status) if status in Status._value2member_map_ else int(status)
        self.name = lib.ds_status_str(int(status)).decode()
        self.detail = detail
        self.function = function
        super().__init__("%s: %s" % (self.name, detail) if detail else self.name)


class Cancelled(DsmoothError):
    """Training stopped because the progress callback returned True."""


def _detail(ctx_ptr: Optional[int]) -> str:
    msg = lib.ds_context_last_error(ctx_ptr)
    return msg.decode("utf-8", "replace") if msg else ""


def _check(status: int, ctx_ptr: Optional[int], function: str) -> None:
    if status != 0:
        cls = Cancelled if status == Status.ERR_CANCELLED else DsmoothError
        raise cls(status, _detail(ctx_ptr), function)


def _call(name: str, ctx_ptr: Optional[int], *args: Any) -> None:
    """Call ds_<name>(*args); raise with the detail of `ctx_ptr` (None: this thread's)."""
    _check(getattr(lib, name)(*args), ctx_ptr, name)


# ---------------------------------------------------------------------------------------
# Arrays
# ---------------------------------------------------------------------------------------
# dtype kinds converted with a copy: bool, signed/unsigned integer, floating
_REAL_KINDS = "biuf"


def _as(a: npt.ArrayLike, dtype: npt.DTypeLike, name: str) -> np.ndarray:
    """`a` as a C-contiguous array of `dtype`: the same object when it already is one,
    else one converted copy; TypeError for complex, object, string and other non-real
    dtypes (the policy in the module docstring)."""
    arr = np.asarray(a)
    if arr.dtype.kind not in _REAL_KINDS:
        raise TypeError("%s: dtype %s is not a real number type; dsmooth converts only "
                        "bool, integer and floating arrays (to %s)"
                        % (name, arr.dtype, np.dtype(dtype).name))
    if arr.dtype != dtype or not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr, dtype=dtype)
    return arr


def _matrix(a: npt.ArrayLike, cols: Optional[int], name: str,
            dtype: npt.DTypeLike = np.float32) -> np.ndarray:
    """(n, cols) float32 C-contiguous; a 1-D array is accepted as (n, 1) when cols is 1."""
    arr = _as(a, dtype, name)
    if arr.ndim == 1 and cols == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or (cols is not None and arr.shape[1] != cols):
        raise ValueError("%s must have shape (n, %s), got %s"
                         % (name, cols if cols is not None else "d", arr.shape))
    if arr.shape[0] < 1:
        raise ValueError("%s is empty" % name)
    return arr


def _out(out: Optional[np.ndarray], shape: Sequence[int], dtype: npt.DTypeLike,
         name: str = "out") -> np.ndarray:
    if out is None:
        return np.empty(shape, dtype=dtype)
    if (not isinstance(out, np.ndarray) or out.dtype != dtype or not out.flags.c_contiguous
            or not out.flags.writeable or out.shape != tuple(shape)):
        raise ValueError("%s must be a writeable C-contiguous %s array of shape %s"
                         % (name, np.dtype(dtype).name, tuple(shape)))
    return out


def _ptr(arr: Optional[np.ndarray]) -> Optional[c_void_p]:
    return None if arr is None else c_void_p(arr.ctypes.data)


# ---------------------------------------------------------------------------------------
# Handles
# ---------------------------------------------------------------------------------------
_live: Dict[str, int] = {}  # class name -> number of open handles (for leak checks)
_close_lock = threading.RLock()


def live_handles() -> Dict[str, int]:
    """Open handles per class, e.g. {'Context': 1, 'Model': 2}; zeros are omitted."""
    return {k: v for k, v in _live.items() if v}


class _Handle:
    """Owns one library handle. Subclasses set _FREE (the ds_*_free function name).

    A parent counts its open children as well as holding them in a WeakSet: when the
    garbage collector finalizes a parent and its children together (a reference cycle),
    it clears the weak references first, so the parent cannot close the children it no
    longer sees. It then waits (pending) and is freed right after its last child."""
    _FREE: Optional[str] = None
    _ptr_value: Optional[int] = None
    _open_children = 0
    _pending = False

    def _own(self, ptr: Optional[int], context: Optional["Context"],
             parents: Tuple["_Handle", ...] = ()) -> None:
        self._ptr_value = ptr
        self._context = context
        self._parents = tuple(parents)
        self._dependents: "weakref.WeakSet[_Handle]" = weakref.WeakSet()
        assert self._FREE is not None, "subclasses name their ds_*_free function"
        self._free = getattr(lib, self._FREE)
        for p in self._parents:
            p._dependents.add(self)
            p._open_children += 1
        name = type(self).__name__
        _live[name] = _live.get(name, 0) + 1

    @property
    def _ptr(self) -> int:
        ptr = self._ptr_value
        if not ptr:
            raise ValueError("%s is closed" % type(self).__name__)
        return ptr

    @property
    def closed(self) -> bool:
        """True once close() has freed the handle."""
        return not self._ptr_value

    def close(self) -> None:
        """Free the handle (and first everything that depends on it). Idempotent."""
        with _close_lock:
            ptr = self._ptr_value
            if not ptr:
                return
            for dep in list(self._dependents):
                dep.close()
            if self._open_children > 0:  # children the collector has yet to finalize
                self._pending = True
                return
            self._ptr_value = None
            self._free(ptr)
            name = type(self).__name__
            _live[name] -= 1
            for p in self._parents:
                p._dependents.discard(self)
                p._open_children -= 1
                if p._pending and p._open_children == 0:
                    p.close()

    def __enter__(self: _H) -> _H:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: modules may already be gone
            pass

    def _ctx_ptr(self) -> Optional[int]:
        return self._context._ptr_value if self._context is not None else None


class Context(_Handle):
    """A thread pool, a seed and the last error of every handle made from it.

    threads: 0 = all online cores. seed: default seed of smoothers and models.
    log: optional callable(level, message) receiving messages up to log_level.
    count_allocations: route the library's allocations through Python hooks that count
    live blocks (see .live_allocations); slower, for leak checks.
    """
    _FREE = "ds_context_free"

    def __init__(self, threads: int = 0, seed: int = 0,
                 log: Optional[Callable[[LogLevel, str], None]] = None,
                 log_level: EnumLike = LogLevel.WARN, count_allocations: bool = False) -> None:
        opts = c_void_p()
        _call("ds_context_options_create", None, byref(opts))
        try:
            _call("ds_context_options_set_threads", None, opts, int(threads))
            _call("ds_context_options_set_seed", None, opts, int(seed) & (2**64 - 1))
            self._callbacks: list = []
            if log is not None:
                def _log(user, level, message, _fn=log):
                    try:
                        _fn(LogLevel(level), message.decode("utf-8", "replace"))
                    except Exception:
                        pass
                cb = _native.LOG_FN(_log)
                self._callbacks.append(cb)
                _call("ds_context_options_set_log", None, opts, cb, None, int(log_level))
            self._allocs = None
            if count_allocations:
                self._install_counting_allocator(opts)
            ptr = c_void_p()
            _call("ds_context_create", None, opts, byref(ptr))
        finally:
            lib.ds_context_options_free(opts)
        self._own(ptr.value, None)  # no self-reference: that would be a cycle

    def _ctx_ptr(self) -> Optional[int]:
        return self._ptr_value

    def _install_counting_allocator(self, opts):
        import ctypes
        libc = ctypes.CDLL(None)
        c_malloc, c_realloc, c_free = libc.malloc, libc.realloc, libc.free
        c_malloc.restype = c_realloc.restype = c_void_p
        c_malloc.argtypes = [ctypes.c_size_t]
        c_realloc.argtypes = [c_void_p, ctypes.c_size_t]
        c_free.argtypes = [c_void_p]
        counts = self._allocs = {"live": 0, "calls": 0}
        lock = threading.Lock()

        def _malloc(user, size):
            p = c_malloc(size)
            with lock:
                counts["calls"] += 1
                counts["live"] += 1 if p else 0
            return p

        def _realloc(user, ptr, size):
            p = c_realloc(ptr, size)
            with lock:
                counts["calls"] += 1
                counts["live"] += 1 if (p and not ptr) else 0
            return p

        def _free(user, ptr):
            if ptr:
                with lock:
                    counts["live"] -= 1
            c_free(ptr)

        cbs = (_native.MALLOC_FN(_malloc), _native.REALLOC_FN(_realloc),
               _native.FREE_FN(_free))
        self._callbacks.extend(cbs)  # must outlive the context
        _call("ds_context_options_set_allocator", None, opts, *cbs, None)

    @property
    def live_allocations(self) -> int:
        """Blocks allocated and not yet freed (count_allocations=True only)."""
        if self._allocs is None:
            raise ValueError("create the context with count_allocations=True")
        return self._allocs["live"]

    @property
    def threads(self) -> int:
        """Number of threads of the context's pool (the resolved count, never 0)."""
        return int(lib.ds_context_threads(self._ptr))

    @property
    def seed(self) -> int:
        """The context's seed: the default seed of smoothers and models made from it."""
        return int(lib.ds_context_seed(self._ptr))

    @property
    def last_error(self) -> str:
        """The detail sentence of the last failed call on this context ("" if none)."""
        return _detail(self._ptr)

    def __repr__(self) -> str:
        if self.closed:
            return "<dsmooth.Context closed>"
        return "<dsmooth.Context threads=%d seed=%d>" % (self.threads, self.seed)


class Smoother(_Handle):
    """The noise kernel q(x~ | x): family 'gaussian' | 'laplace' | 'uniform', std sigma."""
    _FREE = "ds_smoother_free"

    def __init__(self, ctx: Context, family: EnumLike = "gaussian", sigma: float = 0.5) -> None:
        ptr = c_void_p()
        _call("ds_smoother_create", ctx._ptr, ctx._ptr, _enum(Noise, family), float(sigma),
              byref(ptr))
        self._own(ptr.value, ctx, (ctx,))

    @property
    def family(self) -> Noise:
        """The noise family."""
        return Noise(lib.ds_smoother_family(self._ptr))

    @property
    def sigma(self) -> float:
        """The noise's standard deviation per dimension."""
        return float(lib.ds_smoother_sigma(self._ptr))

    @property
    def seed(self) -> int:
        """The seed of the smoother's noise streams (the context's seed at creation)."""
        return int(lib.ds_smoother_seed(self._ptr))

    @property
    def entropy(self) -> float:
        """Differential entropy of the noise per dimension, nats."""
        return float(lib.ds_smoother_entropy(self._ptr))

    def apply(self, x: npt.ArrayLike, stream: int = 0,
              out: Optional[np.ndarray] = None) -> np.ndarray:
        """x + noise, shape (n, d) float32. out=x smooths in place."""
        x = _matrix(x, None, "x")
        out = _out(out, x.shape, np.float32)
        _call("ds_smoother_apply", self._ctx_ptr(), self._ptr, _ptr(x), x.shape[0],
              x.shape[1], int(stream), _ptr(out))
        return out

    def log_q(self, x_tilde: npt.ArrayLike, x: npt.ArrayLike) -> np.ndarray:
        """log q(x~_i | x_i) per example (n,) float64."""
        x = _matrix(x, None, "x")
        xt = _matrix(x_tilde, x.shape[1], "x_tilde")
        if xt.shape != x.shape:
            raise ValueError("x_tilde %s and x %s differ in shape" % (xt.shape, x.shape))
        out = np.empty(x.shape[0], np.float64)
        _call("ds_smoother_log_q", self._ctx_ptr(), self._ptr, _ptr(xt), _ptr(x),
              x.shape[0], x.shape[1], _ptr(out))
        return out

    def score(self, x_tilde: npt.ArrayLike, x: npt.ArrayLike) -> np.ndarray:
        """grad_{x~} log q(x~ | x), (n, d) float32."""
        x = _matrix(x, None, "x")
        xt = _matrix(x_tilde, x.shape[1], "x_tilde")
        if xt.shape != x.shape:
            raise ValueError("x_tilde %s and x %s differ in shape" % (xt.shape, x.shape))
        out = np.empty(x.shape, np.float32)
        _call("ds_smoother_score", self._ctx_ptr(), self._ptr, _ptr(xt), _ptr(x),
              x.shape[0], x.shape[1], _ptr(out))
        return out

    @staticmethod
    def _grid(density: npt.ArrayLike) -> Tuple[np.ndarray, int, int]:
        d = _as(density, np.float64, "density")
        if d.ndim == 1:
            return d, d.shape[0], 1
        if d.ndim == 2:
            return d, d.shape[1], d.shape[0]
        raise ValueError("density must be (nx,) or (ny, nx), got %s" % (d.shape,))

    def convolve_grid(self, density: npt.ArrayLike, x0: float, dx: float, y0: float = 0.0,
                      dy: float = 1.0) -> np.ndarray:
        """Smooth a tabulated density (nx,) or (ny, nx) [row j = y0 + j*dy] exactly."""
        d, nx, ny = self._grid(density)
        out = np.empty(d.shape, np.float64)
        _call("ds_smoother_convolve_grid", self._ctx_ptr(), self._ptr, _ptr(d), nx, ny,
              float(x0), float(dx), float(y0), float(dy), _ptr(out))
        return out

    def grid_posterior_mean(self, density: npt.ArrayLike, x0: float, dx: float,
                            y0: float = 0.0, dy: float = 1.0) -> np.ndarray:
        """E[x | x~] at every grid point: (nx,) for a 1-D grid, (ny, nx, 2) for 2-D."""
        d, nx, ny = self._grid(density)
        shape = (nx,) if d.ndim == 1 else (ny, nx, 2)
        out = np.empty(shape, np.float64)
        _call("ds_smoother_grid_posterior_mean", self._ctx_ptr(), self._ptr, _ptr(d), nx,
              ny, float(x0), float(dx), float(y0), float(dy), _ptr(out))
        return out

    posterior_mean = grid_posterior_mean


class ModelConfig(_Handle):
    """A model configuration. Keyword names are the DS_MODEL_* options in lower case;
    `hidden` is a sequence of layer widths. set_int/set_float take any option number, so
    options added to the library later are reachable before these bindings know them."""
    _FREE = "ds_model_config_free"

    def __init__(self, arch: EnumLike = "made", hidden: Optional[Iterable[int]] = None,
                 **options: Any) -> None:
        ptr = c_void_p()
        _call("ds_model_config_create", None, _enum(Arch, arch), byref(ptr))
        self._own(ptr.value, None)
        try:
            if hidden is not None:
                self.set_hidden(hidden)
            for key, value in options.items():
                self.set(key, value)
        except BaseException:
            self.close()
            raise

    def set(self, key: str, value: Any) -> None:
        """Set an option by its lower-case name (e.g. "components", "dropout"); enum-valued
        options ("head", "activation", "cond_layout") also take member names."""
        key = key.upper()
        if key in ModelOption.__members__:
            enum_of = {"HEAD": Head, "ACTIVATION": Activation, "COND_LAYOUT": CondLayout}.get(key)
            v = _enum(enum_of, value) if enum_of else int(value)
            self.set_int(ModelOption[key], v)
        elif key in ModelFloatOption.__members__:
            self.set_float(ModelFloatOption[key], value)
        else:
            raise ValueError("unknown model option %r" % key.lower())

    def set_int(self, option: EnumLike, value: int) -> None:
        """ds_model_config_set_int: any integer option by number (or ModelOption)."""
        _call("ds_model_config_set_int", None, self._ptr, int(option), int(value))

    def set_float(self, option: EnumLike, value: float) -> None:
        """ds_model_config_set_float: any float option by number (or ModelFloatOption)."""
        _call("ds_model_config_set_float", None, self._ptr, int(option), float(value))

    def set_hidden(self, widths: Iterable[int]) -> None:
        """The hidden layer widths of a MADE, e.g. (64, 64)."""
        w = np.ascontiguousarray(list(widths), dtype=np.int64)
        _call("ds_model_config_set_hidden", None, self._ptr, _ptr(w), len(w))

    @classmethod
    def _adopt(cls, ptr: Optional[int]) -> "ModelConfig":
        """Wrap a configuration handle the library returned (ds_model_get_config)."""
        self = cls.__new__(cls)
        self._own(ptr, None)
        return self

    def get(self, key: str) -> Any:
        """The value of option `key` (a keyword of the constructor); enum-valued options
        come back as their enum (Head, Activation, CondLayout)."""
        key = key.upper()
        if key in ModelOption.__members__:
            v = self.get_int(ModelOption[key])
            enum_of = {"HEAD": Head, "ACTIVATION": Activation, "COND_LAYOUT": CondLayout}.get(key)
            return enum_of(v) if enum_of else v
        if key in ModelFloatOption.__members__:
            return self.get_float(ModelFloatOption[key])
        raise ValueError("unknown model option %r" % key.lower())

    def get_int(self, option: EnumLike) -> int:
        """ds_model_config_get_int: any integer option by number (or ModelOption)."""
        v = c_int64()
        _call("ds_model_config_get_int", None, self._ptr, int(option), byref(v))
        return v.value

    def get_float(self, option: EnumLike) -> float:
        """ds_model_config_get_float: any float option by number (or ModelFloatOption)."""
        v = c_double()
        _call("ds_model_config_get_float", None, self._ptr, int(option), byref(v))
        return v.value

    @property
    def arch(self) -> "Arch":
        """The architecture (ds_model_config_get_arch)."""
        v = c_int32()
        _call("ds_model_config_get_arch", None, self._ptr, byref(v))
        return Arch(v.value)

    @property
    def hidden(self) -> Tuple[int, ...]:
        """The hidden layer widths of a MADE, a tuple (empty for the image architectures)."""
        count = c_int32()
        _call("ds_model_config_get_hidden", None, self._ptr, None, 0, byref(count))
        w = np.zeros(count.value, np.int64)
        _call("ds_model_config_get_hidden", None, self._ptr, _ptr(w), count.value, byref(count))
        return tuple(int(v) for v in w)

    def _ctx_ptr(self) -> Optional[int]:
        return None


class Model(_Handle):
    """An autoregressive density p(x) or p(x | c). Model(ctx, config) or
    Model(ctx, dim=2, components=4, hidden=(32, 32), ...) with ModelConfig's keywords."""
    _FREE = "ds_model_free"

    def __init__(self, ctx: Context, config: Optional[ModelConfig] = None,
                 **options: Any) -> None:
        if config is None:
            with ModelConfig(**options) as cfg:
                ptr = self._create(ctx, cfg)
        else:
            if options:
                raise TypeError("give either a ModelConfig or keyword options")
            ptr = self._create(ctx, config)
        self._own(ptr, ctx, (ctx,))

    @staticmethod
    def _create(ctx: Context, cfg: ModelConfig) -> Optional[int]:
        ptr = c_void_p()
        _call("ds_model_create", ctx._ptr, ctx._ptr, cfg._ptr, byref(ptr))
        return ptr.value

    @classmethod
    def load(cls, ctx: Context, path: PathLike) -> "Model":
        """A model from a checkpoint written by save()."""
        ptr = c_void_p()
        _call("ds_model_load", ctx._ptr, ctx._ptr, os.fsencode(path), byref(ptr))
        self = cls.__new__(cls)
        self._own(ptr.value, ctx, (ctx,))
        return self

    def save(self, path: PathLike) -> None:
        """Write the model (configuration and weights) to a checkpoint file."""
        _call("ds_model_save", self._ctx_ptr(), self._ptr, os.fsencode(path))

    def copy_weights_from(self, src: "Model") -> None:
        """Copy the weights of `src`, a model with the same configuration."""
        _call("ds_model_copy_weights", self._ctx_ptr(), self._ptr, src._ptr)

    def config(self) -> "ModelConfig":
        """A new ModelConfig equal to this model's (also for a loaded model)."""
        ptr = c_void_p()
        _call("ds_model_get_config", self._ctx_ptr(), self._ptr, byref(ptr))
        return ModelConfig._adopt(ptr.value)

    @property
    def dim(self) -> int:
        """D, the number of dimensions of x."""
        return int(lib.ds_model_dim(self._ptr))

    @property
    def cond_dim(self) -> int:
        """C, the number of conditioning dimensions (0: unconditional)."""
        return int(lib.ds_model_cond_dim(self._ptr))

    @property
    def param_count(self) -> int:
        """The number of trainable parameters."""
        return int(lib.ds_model_param_count(self._ptr))

    def _inputs(self, x: npt.ArrayLike,
                cond: Optional[npt.ArrayLike]) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        x = _matrix(x, self.dim, "x")
        c = self._cond(cond, x.shape[0])
        return x, c

    def _cond(self, cond: Optional[npt.ArrayLike], n: int) -> Optional[np.ndarray]:
        C = self.cond_dim
        if C == 0:
            if cond is not None:
                raise ValueError("this model is unconditional: cond must be None")
            return None
        if cond is None:
            raise ValueError("this model needs cond of shape (n, %d)" % C)
        c = _matrix(cond, C, "cond")
        if c.shape[0] != n:
            raise ValueError("cond has %d rows, expected %d" % (c.shape[0], n))
        return c

    def log_prob(self, x: npt.ArrayLike, cond: Optional[npt.ArrayLike] = None,
                 out: Optional[np.ndarray] = None) -> np.ndarray:
        """log p(x_i | c_i) per example, (n,) float64 nats."""
        x, c = self._inputs(x, cond)
        out = _out(out, (x.shape[0],), np.float64)
        _call("ds_model_log_prob", self._ctx_ptr(), self._ptr, _ptr(x), _ptr(c), x.shape[0],
              _ptr(out))
        return out

    def score(self, x: npt.ArrayLike, cond: Optional[npt.ArrayLike] = None,
              kind: EnumLike = "exact", with_log_prob: bool = False) -> Any:
        """grad_x log p(x | c), (n, D) float32 [, log p (n,) float64]."""
        x, c = self._inputs(x, cond)
        score = np.empty(x.shape, np.float32)
        lp = np.empty(x.shape[0], np.float64) if with_log_prob else None
        _call("ds_model_score", self._ctx_ptr(), self._ptr, _ptr(x), _ptr(c), x.shape[0],
              _enum(ScoreKind, kind), _ptr(score), _ptr(lp))
        return (score, lp) if with_log_prob else score

    def sample(self, n: Optional[int] = None, cond: Optional[npt.ArrayLike] = None,
               stream: int = 0, method: EnumLike = "bisection",
               out: Optional[np.ndarray] = None, naive: bool = False) -> np.ndarray:
        """n samples (n, D) float32; for a conditional model n defaults to len(cond).
        naive=True reruns the whole network per dimension (PixelCNN++: the same bits as the
        default cached sampler, much slower; for tests and benchmarks)."""
        if n is None:
            if cond is None:
                raise ValueError("give n (or cond for a conditional model)")
            n = np.shape(cond)[0]
        n = int(n)
        c = self._cond(cond, n)
        out = _out(out, (n, self.dim), np.float32)
        _call("ds_model_sample", self._ctx_ptr(), self._ptr, _ptr(c), n, int(stream),
              _enum(SampleMethod, method) | (SAMPLE_NAIVE if naive else 0), _ptr(out))
        return out

    def __repr__(self) -> str:
        if self.closed:
            return "<dsmooth.Model closed>"
        return "<dsmooth.Model dim=%d cond_dim=%d params=%d>" % (
            self.dim, self.cond_dim, self.param_count)


class TrainerConfig(_Handle):
    """Trainer configuration; keywords are DS_TRAIN_* options in lower case."""
    _FREE = "ds_trainer_config_free"
    _ALIASES = {"SCHEDULE": LRSchedule}

    def __init__(self, **options: Any) -> None:
        ptr = c_void_p()
        _call("ds_trainer_config_create", None, byref(ptr))
        self._own(ptr.value, None)
        try:
            for key, value in options.items():
                self.set(key, value)
        except BaseException:
            self.close()
            raise

    def set(self, key: str, value: Any) -> None:
        """Set an option by its lower-case name (e.g. "batch", "lr", "schedule")."""
        key = key.upper()
        if key in TrainerOption.__members__:
            enum_of = self._ALIASES.get(key)
            v = _enum(enum_of, value) if enum_of else int(value)
            self.set_int(TrainerOption[key], v)
        elif key in TrainerFloatOption.__members__:
            self.set_float(TrainerFloatOption[key], value)
        else:
            raise ValueError("unknown trainer option %r" % key.lower())

    def set_int(self, option: EnumLike, value: int) -> None:
        """ds_trainer_config_set_int: any integer option by number (or TrainerOption)."""
        _call("ds_trainer_config_set_int", None, self._ptr, int(option), int(value))

    def set_float(self, option: EnumLike, value: float) -> None:
        """ds_trainer_config_set_float: any float option by number (or TrainerFloatOption)."""
        _call("ds_trainer_config_set_float", None, self._ptr, int(option), float(value))

    def get(self, key: str) -> Any:
        """The value of option `key` (a keyword of the constructor)."""
        key = key.upper()
        if key in TrainerOption.__members__:
            v = self.get_int(TrainerOption[key])
            enum_of = self._ALIASES.get(key)
            return enum_of(v) if enum_of else v
        if key in TrainerFloatOption.__members__:
            return self.get_float(TrainerFloatOption[key])
        raise ValueError("unknown trainer option %r" % key.lower())

    def get_int(self, option: EnumLike) -> int:
        """ds_trainer_config_get_int: any integer option by number (or TrainerOption)."""
        v = c_int64()
        _call("ds_trainer_config_get_int", None, self._ptr, int(option), byref(v))
        return v.value

    def get_float(self, option: EnumLike) -> float:
        """ds_trainer_config_get_float: any float option by number (or TrainerFloatOption)."""
        v = c_double()
        _call("ds_trainer_config_get_float", None, self._ptr, int(option), byref(v))
        return v.value

    def _ctx_ptr(self) -> Optional[int]:
        return None


class _InterruptWatch:
    """While active in the main thread with Python's default SIGINT handler, a Ctrl-C sets
    .interrupted instead of raising, so that the progress hook can ask the library to stop
    at a step boundary; the caller then raises KeyboardInterrupt. Elsewhere (another
    thread, a custom handler) signals are left alone."""

    def __init__(self) -> None:
        self.interrupted = False
        self._previous: Any = None

    def _handler(self, signum: int, frame: Any) -> None:
        self.interrupted = True

    def __enter__(self) -> "_InterruptWatch":
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


class _ProgressWindow:
    """Forwards per-step reports to the user's callback every `every` steps and at step
    `last`, with the mean loss and the rate over the steps in between (what the library
    reports itself when asked for every `every` steps)."""

    def __init__(self, fn: Optional[ProgressFn], every: int, last: int) -> None:
        self.fn, self.every, self.last = fn, every, last
        self.loss_sum, self.seconds, self.count = 0.0, 0.0, 0

    def __call__(self, step: int, total: int, loss: float, rate: float) -> Any:
        if self.fn is None:
            return False
        self.loss_sum += loss
        self.count += 1
        self.seconds += 1.0 / rate if rate > 0 else 0.0  # per example; rate = batch/time
        if step % self.every and step != self.last:
            return False
        mean_rate = self.count / self.seconds if self.seconds > 0 else 0.0
        mean_loss = self.loss_sum / self.count
        self.loss_sum, self.seconds, self.count = 0.0, 0.0, 0
        return self.fn(step, total, mean_loss, mean_rate)


class Trainer(_Handle):
    """Adam training of `model` (see ds_trainer_create for the four modes). With a
    smoother: stage 1 (unconditional model) or stage 2 (model with cond_dim = dim)."""
    _FREE = "ds_trainer_free"

    def __init__(self, model: Model, config: Optional[TrainerConfig] = None,
                 smoother: Optional[Smoother] = None, **options: Any) -> None:
        ptr = c_void_p()
        if config is None:
            with TrainerConfig(**options) as cfg:
                self._create(model, cfg, smoother, ptr)
        else:
            if options:
                raise TypeError("give either a TrainerConfig or keyword options")
            self._create(model, config, smoother, ptr)
        parents = (model,) if smoother is None else (model, smoother)
        self._own(ptr.value, model._context, parents)
        self.model = model
        self.smoother = smoother
        self._data = None

    @staticmethod
    def _create(model: Model, cfg: TrainerConfig, smoother: Optional[Smoother],
                ptr: c_void_p) -> None:
        _call("ds_trainer_create", model._ctx_ptr(), model._ptr, cfg._ptr,
              smoother._ptr if smoother is not None else None, byref(ptr))

    def config(self) -> "TrainerConfig":
        """A new TrainerConfig equal to this trainer's."""
        ptr = c_void_p()
        _call("ds_trainer_get_config", self._ctx_ptr(), self._ptr, byref(ptr))
        cfg = TrainerConfig.__new__(TrainerConfig)
        cfg._own(ptr.value, None)
        return cfg

    @property
    def step(self) -> int:
        """Adam steps done so far (over all train() calls and a resumed checkpoint)."""
        return int(lib.ds_trainer_step(self._ptr))

    def _inputs(self, x: npt.ArrayLike,
                cond: Optional[npt.ArrayLike]) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        if self.smoother is not None and self.model.cond_dim > 0:
            # stage 2: the (x, x~) pairs are made from clean x by the trainer
            if cond is not None:
                raise ValueError("stage-2 training makes its own x~: cond must be None")
            return _matrix(x, self.model.dim, "x"), None
        return self.model._inputs(x, cond)

    def train(self, x: npt.ArrayLike, steps: int, cond: Optional[npt.ArrayLike] = None,
              progress: Optional[ProgressFn] = None, every: int = 1) -> float:
        """Run `steps` Adam steps on minibatches of x (n, D) [and cond]; returns the mean
        loss (nats/example). progress(step, total_steps, loss, examples_per_second) is
        called every `every` steps and after the last, with the mean loss and rate over
        the steps since its previous call; returning True stops training (Cancelled is
        raised; the trainer stays consistent). An exception raised by the callback stops
        training and propagates. Ctrl-C stops training after the running step and raises
        KeyboardInterrupt; the completed steps are kept."""
        x, c = self._inputs(x, cond)
        every = int(every)
        if every < 1:
            raise ValueError("every must be >= 1, got %d" % every)
        loss = c_double()
        watch = _InterruptWatch()
        report = _ProgressWindow(progress, every, self.step + int(steps))
        raised = []

        def _progress(user, step, total, loss_value, rate):
            # polled after every step: the only cancellation point the library has
            try:
                if watch.interrupted:
                    return 1
                return 1 if report(int(step), int(total), float(loss_value),
                                   float(rate)) else 0
            except BaseException as exc:  # noqa: B902 - re-raised after the call
                raised.append(exc)
                return 1
        cb = _native.PROGRESS_FN(_progress)
        _call("ds_trainer_set_progress", self._ctx_ptr(), self._ptr, cb, None, 1)
        try:
            with watch:
                status = lib.ds_trainer_train(self._ptr, _ptr(x), _ptr(c), x.shape[0],
                                              int(steps), byref(loss))
        finally:
            lib.ds_trainer_set_progress(self._ptr, _native.PROGRESS_FN(), None,  # type: ignore[call-overload]  # NULL
                                        0)
        if watch.interrupted:
            raise KeyboardInterrupt
        if raised:
            raise raised[0]
        _check(status, self._ctx_ptr(), "ds_trainer_train")
        return loss.value

    def evaluate(self, x: npt.ArrayLike, cond: Optional[npt.ArrayLike] = None,
                 stream: int = 0) -> float:
        """Mean NLL (nats/example) of held-out data under the trainer's objective."""
        x, c = self._inputs(x, cond)
        nll = c_double()
        _call("ds_trainer_evaluate", self._ctx_ptr(), self._ptr, _ptr(x), _ptr(c),
              x.shape[0], int(stream), byref(nll))
        return nll.value

    def save(self, path: PathLike) -> None:
        """Write a training checkpoint (model, optimizer state, step) to `path`."""
        _call("ds_trainer_save", self._ctx_ptr(), self._ptr, os.fsencode(path))

    def resume(self, path: PathLike) -> None:
        """Continue from a checkpoint written by save() for the same configuration."""
        _call("ds_trainer_resume", self._ctx_ptr(), self._ptr, os.fsencode(path))


class _Denoiser(_Handle):
    _FREE = "ds_denoiser_free"
    dim: int
    """D, the dimension of the data it denoises."""

    def apply(self, x_tilde: npt.ArrayLike, stream: int = 0,
              out: Optional[np.ndarray] = None) -> np.ndarray:
        """x (n, D) float32 from x_tilde (n, D)."""
        xt = _matrix(x_tilde, self.dim, "x_tilde")
        out = _out(out, xt.shape, np.float32)
        _call("ds_denoiser_apply", self._ctx_ptr(), self._ptr, _ptr(xt), xt.shape[0],
              int(stream), _ptr(out))
        return out


class GradientDenoiser(_Denoiser):
    """x^ = x~ + sigma^2 grad log p1(x~) from a stage-1 model and its smoother."""

    def __init__(self, stage1: Model, smoother: Smoother, kind: EnumLike = "exact") -> None:
        ptr = c_void_p()
        _call("ds_denoiser_create_gradient", stage1._ctx_ptr(), stage1._ptr, smoother._ptr,
              _enum(ScoreKind, kind), byref(ptr))
        self._own(ptr.value, stage1._context, (stage1, smoother))
        self.dim = stage1.dim


class ConditionalDenoiser(_Denoiser):
    """x ~ p2(x | x~) ('sample') or its greedy conditional mean ('mean')."""

    def __init__(self, stage2: Model, output: EnumLike = "sample") -> None:
        ptr = c_void_p()
        _call("ds_denoiser_create_conditional", stage2._ctx_ptr(), stage2._ptr,
              _enum(ConditionalOutput, output), byref(ptr))
        self._own(ptr.value, stage2._context, (stage2,))
        self.dim = stage2.dim


# ---------------------------------------------------------------------------------------
# The two-stage model
# ---------------------------------------------------------------------------------------
def two_stage_log_prob_bound(stage1: Model, stage2: Model, smoother: Smoother,
                             x: npt.ArrayLike, k_samples: int = 100,
                             stream: int = 0) -> np.ndarray:
    """Importance-weighted lower bound on log p(x) with K samples, (n,) float64."""
    x = _matrix(x, stage1.dim, "x")
    out = np.empty(x.shape[0], np.float64)
    _call("ds_two_stage_log_prob_bound", stage1._ctx_ptr(), stage1._ptr, stage2._ptr,
          smoother._ptr, _ptr(x), x.shape[0], int(k_samples), int(stream), _ptr(out))
    return out


def two_stage_log_prob_grid(stage1: Model, stage2: Model, x: npt.ArrayLike, lo: float,
                            hi: float, points: int) -> np.ndarray:
    """log p(x) by quadrature over a grid of x~ (D <= 2), (n,) float64."""
    x = _matrix(x, stage1.dim, "x")
    out = np.empty(x.shape[0], np.float64)
    _call("ds_two_stage_log_prob_grid", stage1._ctx_ptr(), stage1._ptr, stage2._ptr,
          _ptr(x), x.shape[0], float(lo), float(hi), int(points), _ptr(out))
    return out


def two_stage_sample(stage1: Model, denoiser: _Denoiser, n: int, stream: int = 0,
                     out: Optional[np.ndarray] = None) -> np.ndarray:
    """n two-stage samples (n, D) float32: x~ from stage 1, then the denoiser."""
    out = _out(out, (int(n), stage1.dim), np.float32)
    _call("ds_two_stage_sample", stage1._ctx_ptr(), stage1._ptr, denoiser._ptr, int(n),
          int(stream), _ptr(out))
    return out


# ---------------------------------------------------------------------------------------
# Sample quality
# ---------------------------------------------------------------------------------------
def precision_recall(ctx: Context, real: npt.ArrayLike, fake: npt.ArrayLike,
                     k: int = 3) -> Tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of `fake` against `real`,
    both (n, dim) in the same feature space, with k-th nearest neighbour balls: returns
    (precision, recall) as floats."""
    real = _matrix(real, None, "real")
    fake = _matrix(fake, real.shape[1], "fake")
    p, r = c_double(), c_double()
    _call("ds_precision_recall", ctx._ptr, ctx._ptr, _ptr(real), real.shape[0], _ptr(fake),
          fake.shape[0], real.shape[1], int(k), byref(p), byref(r))
    return p.value, r.value
