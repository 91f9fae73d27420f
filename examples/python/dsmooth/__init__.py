"""dsmooth: a thin ctypes wrapper over libdsmooth (include/dsmooth.h is the manual).

    import numpy as np, dsmooth
    with dsmooth.Context(threads=2, seed=1) as ctx:
        sm = dsmooth.Smoother(ctx, "gaussian", 0.5)
        x_tilde = sm.apply(np.zeros((4, 2), np.float32), stream=0)

Conventions
* Arrays go in and out as numpy arrays. float32 inputs that are C-contiguous are passed
  to the library without a copy; anything else is converted once. Outputs are new arrays,
  or the caller's `out=` array (float32/float64 as documented, C-contiguous, right shape),
  which is then written in place and returned.
* Every handle is a Python object that owns it: `close()` frees it (idempotent), `with`
  closes it on exit, and garbage collection closes what was forgotten. Freeing a handle
  first closes everything that depends on it (a context closes its smoothers and models, a
  model its trainers and denoisers), so nothing is ever freed twice or used after free.
  Methods on a closed handle raise ValueError.
* A failed call raises DsmoothError with .status (a Status), .name ("DS_ERR_NUMERIC") and
  .detail (the library's sentence from ds_context_last_error). A training run stopped by
  its progress callback raises Cancelled (a DsmoothError); the trainer stays usable.
* Library: $DSMOOTH_LIBRARY, else <repo>/build/lib, else the system loader.
"""
import enum
import os
import threading
import weakref
from ctypes import byref, c_double, c_int64, c_void_p, cast

import numpy as np

from . import _native
from ._native import lib, library_path

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


class Noise(enum.IntEnum):
    GAUSSIAN = 0
    LAPLACE = 1
    UNIFORM = 2


class Arch(enum.IntEnum):
    MADE = 0
    PIXELCNNPP = 1
    PIXELCNN = 2


class Head(enum.IntEnum):
    CONTINUOUS = 0
    DISCRETIZED = 1


class Activation(enum.IntEnum):
    RELU = 0
    TANH = 1
    ELU = 2


class ModelOption(enum.IntEnum):
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
    BIN_LO = 0
    BIN_HI = 1
    DROPOUT = 2
    COND_SHARE = 3


class CondLayout(enum.IntEnum):
    CHANNELS = 0
    STACKED = 1


class ScoreKind(enum.IntEnum):
    EXACT = 0
    LOCAL = 1


class SampleMethod(enum.IntEnum):
    BISECTION = 0
    GUMBEL = 1


SAMPLE_NAIVE = 0x100  # flag: the naive pixel-by-pixel sampler (same bits, for tests/benchmarks)


class LRSchedule(enum.IntEnum):
    CONSTANT = 0
    EXPONENTIAL = 1
    COSINE = 2


class TrainerOption(enum.IntEnum):
    BATCH = 0
    TOTAL_STEPS = 1
    SCHEDULE = 2
    SEED = 3
    DATA_INIT = 4


class TrainerFloatOption(enum.IntEnum):
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
    SAMPLE = 0
    MEAN = 1


class LogLevel(enum.IntEnum):
    ERROR = 0
    WARN = 1
    INFO = 2
    DEBUG = 3


def _enum(cls, value):
    """An enum member from a member, its int value or its case-insensitive name."""
    if isinstance(value, str):
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError("%s: unknown name %r (one of %s)"
                             % (cls.__name__, value, ", ".join(m.name.lower() for m in cls)))
    return int(value)  # ints pass through: the library reports values out of range


def version():
    """ds_version() of the loaded library: MAJOR*10000 + MINOR*100 + PATCH."""
    return int(lib.ds_version())


def version_string():
    return lib.ds_version_string().decode()


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------
class DsmoothError(Exception):
    """A libdsmooth call failed: .status, .name, .detail, .function."""

    def __init__(self, status, detail="", function=""):
        self.status = Status(status) if status in Status._value2member_map_ else int(status)
        self.name = lib.ds_status_str(int(status)).decode()
        self.detail = detail
        self.function = function
        super().__init__("%s: %s" % (self.name, detail) if detail else self.name)


class Cancelled(DsmoothError):
    """Training stopped because the progress callback returned True."""


def _detail(ctx_ptr):
    msg = lib.ds_context_last_error(ctx_ptr)
    return msg.decode("utf-8", "replace") if msg else ""


def _check(status, ctx_ptr, function):
    if status != 0:
        cls = Cancelled if status == Status.ERR_CANCELLED else DsmoothError
        raise cls(status, _detail(ctx_ptr), function)


def _call(name, ctx_ptr, *args):
    """Call ds_<name>(*args); raise with the detail of `ctx_ptr` (None: this thread's)."""
    _check(getattr(lib, name)(*args), ctx_ptr, name)


# ---------------------------------------------------------------------------------------
# Arrays
# ---------------------------------------------------------------------------------------
def _as(a, dtype, name):
    """`a` as a C-contiguous array of `dtype`: the same object when it already is one."""
    arr = np.asarray(a)
    if arr.dtype != dtype or not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr, dtype=dtype)
    return arr


def _matrix(a, cols, name, dtype=np.float32):
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


def _out(out, shape, dtype, name="out"):
    if out is None:
        return np.empty(shape, dtype=dtype)
    if (not isinstance(out, np.ndarray) or out.dtype != dtype or not out.flags.c_contiguous
            or not out.flags.writeable or out.shape != tuple(shape)):
        raise ValueError("%s must be a writeable C-contiguous %s array of shape %s"
                         % (name, np.dtype(dtype).name, tuple(shape)))
    return out


def _ptr(arr):
    return None if arr is None else c_void_p(arr.ctypes.data)


# ---------------------------------------------------------------------------------------
# Handles
# ---------------------------------------------------------------------------------------
_live = {}  # class name -> number of open handles (for leak checks)
_close_lock = threading.RLock()


def live_handles():
    """Open handles per class, e.g. {'Context': 1, 'Model': 2}; zeros are omitted."""
    return {k: v for k, v in _live.items() if v}


class _Handle:
    """Owns one library handle. Subclasses set _FREE (the ds_*_free function name).

    A parent counts its open children as well as holding them in a WeakSet: when the
    garbage collector finalizes a parent and its children together (a reference cycle),
    it clears the weak references first, so the parent cannot close the children it no
    longer sees. It then waits (pending) and is freed right after its last child."""
    _FREE = None
    _ptr_value = None
    _open_children = 0
    _pending = False

    def _own(self, ptr, context, parents=()):
        self._ptr_value = ptr
        self._context = context
        self._parents = tuple(parents)
        self._dependents = weakref.WeakSet()
        self._free = getattr(lib, self._FREE)
        for p in self._parents:
            p._dependents.add(self)
            p._open_children += 1
        name = type(self).__name__
        _live[name] = _live.get(name, 0) + 1

    @property
    def _ptr(self):
        ptr = self._ptr_value
        if not ptr:
            raise ValueError("%s is closed" % type(self).__name__)
        return ptr

    @property
    def closed(self):
        return not self._ptr_value

    def close(self):
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

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: modules may already be gone
            pass

    def _ctx_ptr(self):
        return self._context._ptr_value


class Context(_Handle):
    """A thread pool, a seed and the last error of every handle made from it.

    threads: 0 = all online cores. seed: default seed of smoothers and models.
    log: optional callable(level, message) receiving messages up to log_level.
    count_allocations: route the library's allocations through Python hooks that count
    live blocks (see .live_allocations); slower, for leak checks.
    """
    _FREE = "ds_context_free"

    def __init__(self, threads=0, seed=0, log=None, log_level=LogLevel.WARN,
                 count_allocations=False):
        opts = c_void_p()
        _call("ds_context_options_create", None, byref(opts))
        try:
            _call("ds_context_options_set_threads", None, opts, int(threads))
            _call("ds_context_options_set_seed", None, opts, int(seed) & (2**64 - 1))
            self._callbacks = []
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

    def _ctx_ptr(self):
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
    def live_allocations(self):
        """Blocks allocated and not yet freed (count_allocations=True only)."""
        if self._allocs is None:
            raise ValueError("create the context with count_allocations=True")
        return self._allocs["live"]

    @property
    def threads(self):
        return int(lib.ds_context_threads(self._ptr))

    @property
    def seed(self):
        return int(lib.ds_context_seed(self._ptr))

    @property
    def last_error(self):
        return _detail(self._ptr)

    def __repr__(self):
        if self.closed:
            return "<dsmooth.Context closed>"
        return "<dsmooth.Context threads=%d seed=%d>" % (self.threads, self.seed)


class Smoother(_Handle):
    """The noise kernel q(x~ | x): family 'gaussian' | 'laplace' | 'uniform', std sigma."""
    _FREE = "ds_smoother_free"

    def __init__(self, ctx, family="gaussian", sigma=0.5):
        ptr = c_void_p()
        _call("ds_smoother_create", ctx._ptr, ctx._ptr, _enum(Noise, family), float(sigma),
              byref(ptr))
        self._own(ptr.value, ctx, (ctx,))

    @property
    def family(self):
        return Noise(lib.ds_smoother_family(self._ptr))

    @property
    def sigma(self):
        return float(lib.ds_smoother_sigma(self._ptr))

    @property
    def seed(self):
        return int(lib.ds_smoother_seed(self._ptr))

    @property
    def entropy(self):
        """Differential entropy of the noise per dimension, nats."""
        return float(lib.ds_smoother_entropy(self._ptr))

    def apply(self, x, stream=0, out=None):
        """x + noise, shape (n, d) float32. out=x smooths in place."""
        x = _matrix(x, None, "x")
        out = _out(out, x.shape, np.float32)
        _call("ds_smoother_apply", self._ctx_ptr(), self._ptr, _ptr(x), x.shape[0],
              x.shape[1], int(stream), _ptr(out))
        return out

    def log_q(self, x_tilde, x):
        """log q(x~_i | x_i) per example (n,) float64."""
        x = _matrix(x, None, "x")
        xt = _matrix(x_tilde, x.shape[1], "x_tilde")
        if xt.shape != x.shape:
            raise ValueError("x_tilde %s and x %s differ in shape" % (xt.shape, x.shape))
        out = np.empty(x.shape[0], np.float64)
        _call("ds_smoother_log_q", self._ctx_ptr(), self._ptr, _ptr(xt), _ptr(x),
              x.shape[0], x.shape[1], _ptr(out))
        return out

    def score(self, x_tilde, x):
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
    def _grid(density):
        d = _as(density, np.float64, "density")
        if d.ndim == 1:
            return d, d.shape[0], 1
        if d.ndim == 2:
            return d, d.shape[1], d.shape[0]
        raise ValueError("density must be (nx,) or (ny, nx), got %s" % (d.shape,))

    def convolve_grid(self, density, x0, dx, y0=0.0, dy=1.0):
        """Smooth a tabulated density (nx,) or (ny, nx) [row j = y0 + j*dy] exactly."""
        d, nx, ny = self._grid(density)
        out = np.empty(d.shape, np.float64)
        _call("ds_smoother_convolve_grid", self._ctx_ptr(), self._ptr, _ptr(d), nx, ny,
              float(x0), float(dx), float(y0), float(dy), _ptr(out))
        return out

    def grid_posterior_mean(self, density, x0, dx, y0=0.0, dy=1.0):
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

    def __init__(self, arch="made", hidden=None, **options):
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

    def set(self, key, value):
        key = key.upper()
        if key in ModelOption.__members__:
            enum_of = {"HEAD": Head, "ACTIVATION": Activation, "COND_LAYOUT": CondLayout}.get(key)
            v = _enum(enum_of, value) if enum_of else int(value)
            self.set_int(ModelOption[key], v)
        elif key in ModelFloatOption.__members__:
            self.set_float(ModelFloatOption[key], value)
        else:
            raise ValueError("unknown model option %r" % key.lower())

    def set_int(self, option, value):
        _call("ds_model_config_set_int", None, self._ptr, int(option), int(value))

    def set_float(self, option, value):
        _call("ds_model_config_set_float", None, self._ptr, int(option), float(value))

    def set_hidden(self, widths):
        w = np.ascontiguousarray(list(widths), dtype=np.int64)
        _call("ds_model_config_set_hidden", None, self._ptr, _ptr(w), len(w))

    def _ctx_ptr(self):
        return None


class Model(_Handle):
    """An autoregressive density p(x) or p(x | c). Model(ctx, config) or
    Model(ctx, dim=2, components=4, hidden=(32, 32), ...) with ModelConfig's keywords."""
    _FREE = "ds_model_free"

    def __init__(self, ctx, config=None, **options):
        if config is None:
            with ModelConfig(**options) as cfg:
                ptr = self._create(ctx, cfg)
        else:
            if options:
                raise TypeError("give either a ModelConfig or keyword options")
            ptr = self._create(ctx, config)
        self._own(ptr, ctx, (ctx,))

    @staticmethod
    def _create(ctx, cfg):
        ptr = c_void_p()
        _call("ds_model_create", ctx._ptr, ctx._ptr, cfg._ptr, byref(ptr))
        return ptr.value

    @classmethod
    def load(cls, ctx, path):
        """A model from a checkpoint written by save()."""
        ptr = c_void_p()
        _call("ds_model_load", ctx._ptr, ctx._ptr, os.fsencode(path), byref(ptr))
        self = cls.__new__(cls)
        self._own(ptr.value, ctx, (ctx,))
        return self

    def save(self, path):
        _call("ds_model_save", self._ctx_ptr(), self._ptr, os.fsencode(path))

    def copy_weights_from(self, src):
        _call("ds_model_copy_weights", self._ctx_ptr(), self._ptr, src._ptr)

    @property
    def dim(self):
        return int(lib.ds_model_dim(self._ptr))

    @property
    def cond_dim(self):
        return int(lib.ds_model_cond_dim(self._ptr))

    @property
    def param_count(self):
        return int(lib.ds_model_param_count(self._ptr))

    def _inputs(self, x, cond):
        x = _matrix(x, self.dim, "x")
        c = self._cond(cond, x.shape[0])
        return x, c

    def _cond(self, cond, n):
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

    def log_prob(self, x, cond=None, out=None):
        """log p(x_i | c_i) per example, (n,) float64 nats."""
        x, c = self._inputs(x, cond)
        out = _out(out, (x.shape[0],), np.float64)
        _call("ds_model_log_prob", self._ctx_ptr(), self._ptr, _ptr(x), _ptr(c), x.shape[0],
              _ptr(out))
        return out

    def score(self, x, cond=None, kind="exact", with_log_prob=False):
        """grad_x log p(x | c), (n, D) float32 [, log p (n,) float64]."""
        x, c = self._inputs(x, cond)
        score = np.empty(x.shape, np.float32)
        lp = np.empty(x.shape[0], np.float64) if with_log_prob else None
        _call("ds_model_score", self._ctx_ptr(), self._ptr, _ptr(x), _ptr(c), x.shape[0],
              _enum(ScoreKind, kind), _ptr(score), _ptr(lp))
        return (score, lp) if with_log_prob else score

    def sample(self, n=None, cond=None, stream=0, method="bisection", out=None, naive=False):
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

    def __repr__(self):
        if self.closed:
            return "<dsmooth.Model closed>"
        return "<dsmooth.Model dim=%d cond_dim=%d params=%d>" % (
            self.dim, self.cond_dim, self.param_count)


class TrainerConfig(_Handle):
    """Trainer configuration; keywords are DS_TRAIN_* options in lower case."""
    _FREE = "ds_trainer_config_free"
    _ALIASES = {"SCHEDULE": LRSchedule}

    def __init__(self, **options):
        ptr = c_void_p()
        _call("ds_trainer_config_create", None, byref(ptr))
        self._own(ptr.value, None)
        try:
            for key, value in options.items():
                self.set(key, value)
        except BaseException:
            self.close()
            raise

    def set(self, key, value):
        key = key.upper()
        if key in TrainerOption.__members__:
            enum_of = self._ALIASES.get(key)
            v = _enum(enum_of, value) if enum_of else int(value)
            self.set_int(TrainerOption[key], v)
        elif key in TrainerFloatOption.__members__:
            self.set_float(TrainerFloatOption[key], value)
        else:
            raise ValueError("unknown trainer option %r" % key.lower())

    def set_int(self, option, value):
        _call("ds_trainer_config_set_int", None, self._ptr, int(option), int(value))

    def set_float(self, option, value):
        _call("ds_trainer_config_set_float", None, self._ptr, int(option), float(value))

    def _ctx_ptr(self):
        return None


class Trainer(_Handle):
    """Adam training of `model` (see ds_trainer_create for the four modes). With a
    smoother: stage 1 (unconditional model) or stage 2 (model with cond_dim = dim)."""
    _FREE = "ds_trainer_free"

    def __init__(self, model, config=None, smoother=None, **options):
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
    def _create(model, cfg, smoother, ptr):
        _call("ds_trainer_create", model._ctx_ptr(), model._ptr, cfg._ptr,
              smoother._ptr if smoother is not None else None, byref(ptr))

    @property
    def step(self):
        return int(lib.ds_trainer_step(self._ptr))

    def _inputs(self, x, cond):
        if self.smoother is not None and self.model.cond_dim > 0:
            # stage 2: the (x, x~) pairs are made from clean x by the trainer
            if cond is not None:
                raise ValueError("stage-2 training makes its own x~: cond must be None")
            return _matrix(x, self.model.dim, "x"), None
        return self.model._inputs(x, cond)

    def train(self, x, steps, cond=None, progress=None, every=1):
        """Run `steps` Adam steps on minibatches of x (n, D) [and cond]; returns the mean
        loss (nats/example). progress(step, total_steps, loss, examples_per_second) is
        called every `every` steps and after the last; returning True stops training
        (Cancelled is raised; the trainer stays consistent). An exception raised by the
        callback stops training and propagates."""
        x, c = self._inputs(x, cond)
        loss = c_double()
        raised = []
        if progress is not None:
            def _progress(user, step, total, loss_value, rate):
                try:
                    return 1 if progress(int(step), int(total), float(loss_value),
                                         float(rate)) else 0
                except BaseException as exc:  # noqa: B902 - re-raised after the call
                    raised.append(exc)
                    return 1
            cb = _native.PROGRESS_FN(_progress)
            _call("ds_trainer_set_progress", self._ctx_ptr(), self._ptr, cb, None,
                  int(every))
        try:
            status = lib.ds_trainer_train(self._ptr, _ptr(x), _ptr(c), x.shape[0],
                                          int(steps), byref(loss))
        finally:
            if progress is not None:
                lib.ds_trainer_set_progress(self._ptr, _native.PROGRESS_FN(), None, 0)
        if raised:
            raise raised[0]
        _check(status, self._ctx_ptr(), "ds_trainer_train")
        return loss.value

    def evaluate(self, x, cond=None, stream=0):
        """Mean NLL (nats/example) of held-out data under the trainer's objective."""
        x, c = self._inputs(x, cond)
        nll = c_double()
        _call("ds_trainer_evaluate", self._ctx_ptr(), self._ptr, _ptr(x), _ptr(c),
              x.shape[0], int(stream), byref(nll))
        return nll.value

    def save(self, path):
        _call("ds_trainer_save", self._ctx_ptr(), self._ptr, os.fsencode(path))

    def resume(self, path):
        _call("ds_trainer_resume", self._ctx_ptr(), self._ptr, os.fsencode(path))


class _Denoiser(_Handle):
    _FREE = "ds_denoiser_free"

    def apply(self, x_tilde, stream=0, out=None):
        """x (n, D) float32 from x_tilde (n, D)."""
        xt = _matrix(x_tilde, self.dim, "x_tilde")
        out = _out(out, xt.shape, np.float32)
        _call("ds_denoiser_apply", self._ctx_ptr(), self._ptr, _ptr(xt), xt.shape[0],
              int(stream), _ptr(out))
        return out


class GradientDenoiser(_Denoiser):
    """x^ = x~ + sigma^2 grad log p1(x~) from a stage-1 model and its smoother."""

    def __init__(self, stage1, smoother, kind="exact"):
        ptr = c_void_p()
        _call("ds_denoiser_create_gradient", stage1._ctx_ptr(), stage1._ptr, smoother._ptr,
              _enum(ScoreKind, kind), byref(ptr))
        self._own(ptr.value, stage1._context, (stage1, smoother))
        self.dim = stage1.dim


class ConditionalDenoiser(_Denoiser):
    """x ~ p2(x | x~) ('sample') or its greedy conditional mean ('mean')."""

    def __init__(self, stage2, output="sample"):
        ptr = c_void_p()
        _call("ds_denoiser_create_conditional", stage2._ctx_ptr(), stage2._ptr,
              _enum(ConditionalOutput, output), byref(ptr))
        self._own(ptr.value, stage2._context, (stage2,))
        self.dim = stage2.dim


# ---------------------------------------------------------------------------------------
# The two-stage model
# ---------------------------------------------------------------------------------------
def two_stage_log_prob_bound(stage1, stage2, smoother, x, k_samples=100, stream=0):
    """Importance-weighted lower bound on log p(x) with K samples, (n,) float64."""
    x = _matrix(x, stage1.dim, "x")
    out = np.empty(x.shape[0], np.float64)
    _call("ds_two_stage_log_prob_bound", stage1._ctx_ptr(), stage1._ptr, stage2._ptr,
          smoother._ptr, _ptr(x), x.shape[0], int(k_samples), int(stream), _ptr(out))
    return out


def two_stage_log_prob_grid(stage1, stage2, x, lo, hi, points):
    """log p(x) by quadrature over a grid of x~ (D <= 2), (n,) float64."""
    x = _matrix(x, stage1.dim, "x")
    out = np.empty(x.shape[0], np.float64)
    _call("ds_two_stage_log_prob_grid", stage1._ctx_ptr(), stage1._ptr, stage2._ptr,
          _ptr(x), x.shape[0], float(lo), float(hi), int(points), _ptr(out))
    return out


def two_stage_sample(stage1, denoiser, n, stream=0, out=None):
    """n two-stage samples (n, D) float32: x~ from stage 1, then the denoiser."""
    out = _out(out, (int(n), stage1.dim), np.float32)
    _call("ds_two_stage_sample", stage1._ctx_ptr(), stage1._ptr, denoiser._ptr, int(n),
          int(stream), _ptr(out))
    return out


# ---------------------------------------------------------------------------------------
# Sample quality
# ---------------------------------------------------------------------------------------
def precision_recall(ctx, real, fake, k=3):
    """Improved precision and recall (Kynkaanniemi et al. 2019) of `fake` against `real`,
    both (n, dim) in the same feature space, with k-th nearest neighbour balls: returns
    (precision, recall) as floats."""
    real = _matrix(real, None, "real")
    fake = _matrix(fake, real.shape[1], "fake")
    p, r = c_double(), c_double()
    _call("ds_precision_recall", ctx._ptr, ctx._ptr, _ptr(real), real.shape[0], _ptr(fake),
          fake.shape[0], real.shape[1], int(k), byref(p), byref(r))
    return p.value, r.value
