"""Loading libdsmooth and declaring its C functions for ctypes.

Every prototype below is written from include/dsmooth.h. Handles are passed as void
pointers, arrays as void pointers to their first element (the callers check dtype, layout
and size before a call), and every status as a 32-bit int.

Which library is loaded, first match wins (``library_path`` says which one was):
  1. ``$DSMOOTH_LIB_DIR``: a directory holding libdsmooth.so.0 (the convention shared with
     the Rust crates' build scripts). When set, nothing else is tried.
  2. ``$DSMOOTH_LIBRARY``: a path to the library file. Deprecated (DeprecationWarning);
     use DSMOOTH_LIB_DIR.
  3. ``dsmooth/_lib/libdsmooth.so.0`` bundled in the installed package (the wheel built by
     ``pip install`` / ``python3 -m build`` compiles the library with CMake into it).
  4. ``build/lib`` of the source tree, when the package is imported from a checkout.
  5. The system loader (LD_LIBRARY_PATH, ld.so.cache: an installed libdsmooth0).
"""
import ctypes
import ctypes.util
import os
import warnings
from pathlib import Path
from typing import List, Tuple

# The ABI major version these bindings are written for (the SONAME's number).
ABI_MAJOR = 0
# The oldest minor version that has every function declared here.
ABI_MIN_MINOR = 3

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parents[2]
SONAME = "libdsmooth.so.%d" % ABI_MAJOR


def _candidates() -> List[str]:
    lib_dir = os.environ.get("DSMOOTH_LIB_DIR")
    legacy = os.environ.get("DSMOOTH_LIBRARY")
    if lib_dir:
        # an explicit choice is the only candidate: failing loudly beats a silent fallback
        if legacy:
            warnings.warn("both DSMOOTH_LIB_DIR and DSMOOTH_LIBRARY are set; using "
                          "DSMOOTH_LIB_DIR (DSMOOTH_LIBRARY is deprecated)",
                          DeprecationWarning, stacklevel=3)
        return [str(Path(lib_dir) / SONAME)]
    if legacy:
        warnings.warn("DSMOOTH_LIBRARY is deprecated; set DSMOOTH_LIB_DIR to the directory "
                      "holding %s (the Rust crates use the same variable)" % SONAME,
                      DeprecationWarning, stacklevel=3)
        return [legacy]
    found = []
    bundled = _HERE / "_lib" / SONAME
    if bundled.exists():
        found.append(str(bundled))
    build_lib = _REPO / "build" / "lib"
    if (_REPO / "include" / "dsmooth.h").exists() and (build_lib / SONAME).exists():
        found.append(str(build_lib / SONAME))
    # the system loader: ld.so.cache, LD_LIBRARY_PATH, /usr/local/lib after ldconfig
    found.append(SONAME)
    name = ctypes.util.find_library("dsmooth")
    if name:
        found.append(name)
    return found


def _load() -> Tuple[ctypes.CDLL, str]:
    errors = []
    for cand in _candidates():
        try:
            return ctypes.CDLL(cand), cand
        except OSError as exc:
            errors.append("%s: %s" % (cand, exc))
    raise ImportError(
        "libdsmooth not found; install the wheel (pip install ./examples/python), set "
        "DSMOOTH_LIB_DIR to the directory holding %s, build the repository (build/lib), or "
        "install the library system-wide and run ldconfig. Tried:\n  " % SONAME
        + "\n  ".join(errors))


lib, library_path = _load()

c_int32 = ctypes.c_int32
c_int64 = ctypes.c_int64
c_uint32 = ctypes.c_uint32
c_uint64 = ctypes.c_uint64
c_double = ctypes.c_double
c_char_p = ctypes.c_char_p
c_size_t = ctypes.c_size_t
vp = ctypes.c_void_p
pvp = ctypes.POINTER(ctypes.c_void_p)
pdouble = ctypes.POINTER(ctypes.c_double)
pint32 = ctypes.POINTER(ctypes.c_int32)
pint64 = ctypes.POINTER(ctypes.c_int64)
st = c_int32  # ds_status

# Callback types (plain function pointers taking `void *user` first).
PROGRESS_FN = ctypes.CFUNCTYPE(c_int32, vp, c_int64, c_int64, c_double, c_double)
LOG_FN = ctypes.CFUNCTYPE(None, vp, c_int32, c_char_p)
MALLOC_FN = ctypes.CFUNCTYPE(vp, vp, c_size_t)
REALLOC_FN = ctypes.CFUNCTYPE(vp, vp, vp, c_size_t)
FREE_FN = ctypes.CFUNCTYPE(None, vp, vp)
# ds_collective_fn(user, op, send, recv, count, counts): data-parallel training (0.3)
COLLECTIVE_FN = ctypes.CFUNCTYPE(c_int32, vp, c_int32, vp, vp, c_int64,
                                 ctypes.POINTER(c_int64))
BATCH_FN = ctypes.CFUNCTYPE(c_int32, vp, c_int64, c_int64, vp, vp)

_PROTOTYPES = {
    # version and status
    "ds_version": (c_uint32, []),
    "ds_version_string": (c_char_p, []),
    "ds_status_str": (c_char_p, [c_int32]),
    # context
    "ds_context_options_create": (st, [pvp]),
    "ds_context_options_free": (None, [vp]),
    "ds_context_options_set_threads": (st, [vp, c_int32]),
    "ds_context_options_set_seed": (st, [vp, c_uint64]),
    "ds_context_options_set_allocator": (st, [vp, MALLOC_FN, REALLOC_FN, FREE_FN, vp]),
    "ds_context_options_set_log": (st, [vp, LOG_FN, vp, c_int32]),
    "ds_context_create": (st, [vp, pvp]),
    "ds_context_free": (None, [vp]),
    "ds_context_last_error": (c_char_p, [vp]),
    "ds_context_threads": (c_int32, [vp]),
    "ds_context_seed": (c_uint64, [vp]),
    # context, since 0.3: memory budget, copied error detail
    "ds_context_options_set_memory_limit": (st, [vp, c_uint64]),
    "ds_context_memory_in_use": (c_uint64, [vp]),
    "ds_context_memory_peak": (c_uint64, [vp]),
    "ds_context_last_error_r": (c_int64, [vp, c_char_p, c_int64]),
    # smoother
    "ds_smoother_create": (st, [vp, c_int32, c_double, pvp]),
    "ds_smoother_free": (None, [vp]),
    "ds_smoother_family": (c_int32, [vp]),
    "ds_smoother_sigma": (c_double, [vp]),
    "ds_smoother_seed": (c_uint64, [vp]),
    "ds_smoother_apply": (st, [vp, vp, c_int64, c_int64, c_uint64, vp]),
    "ds_smoother_log_q": (st, [vp, vp, vp, c_int64, c_int64, vp]),
    "ds_smoother_entropy": (c_double, [vp]),
    "ds_smoother_score": (st, [vp, vp, vp, c_int64, c_int64, vp]),
    "ds_smoother_convolve_grid": (st, [vp, vp, c_int64, c_int64, c_double, c_double,
                                       c_double, c_double, vp]),
    "ds_smoother_grid_posterior_mean": (st, [vp, vp, c_int64, c_int64, c_double, c_double,
                                             c_double, c_double, vp]),
    # model
    "ds_model_config_create": (st, [c_int32, pvp]),
    "ds_model_config_free": (None, [vp]),
    "ds_model_config_set_int": (st, [vp, c_int32, c_int64]),
    "ds_model_config_set_float": (st, [vp, c_int32, c_double]),
    "ds_model_config_set_hidden": (st, [vp, vp, c_int32]),
    "ds_model_get_config": (st, [vp, pvp]),
    "ds_model_config_get_arch": (st, [vp, pint32]),
    "ds_model_config_get_int": (st, [vp, c_int32, pint64]),
    "ds_model_config_get_float": (st, [vp, c_int32, pdouble]),
    "ds_model_config_get_hidden": (st, [vp, vp, c_int32, pint32]),
    "ds_model_create": (st, [vp, vp, pvp]),
    "ds_model_free": (None, [vp]),
    "ds_model_dim": (c_int64, [vp]),
    "ds_model_cond_dim": (c_int64, [vp]),
    "ds_model_param_count": (c_int64, [vp]),
    "ds_model_log_prob": (st, [vp, vp, vp, c_int64, vp]),
    "ds_model_score": (st, [vp, vp, vp, c_int64, c_int32, vp, vp]),
    "ds_model_sample": (st, [vp, vp, c_int64, c_uint64, c_int32, vp]),
    "ds_model_save": (st, [vp, c_char_p]),
    "ds_model_load": (st, [vp, c_char_p, pvp]),
    "ds_model_copy_weights": (st, [vp, vp]),
    "ds_model_free_param_count": (c_int64, [vp]),
    "ds_model_seed": (c_uint64, [vp]),
    "ds_model_get_weights": (st, [vp, vp, c_int64]),
    "ds_model_set_weights": (st, [vp, vp, c_int64]),
    "ds_model_smoothing": (st, [vp, vp, pdouble]),
    # trainer
    "ds_trainer_config_create": (st, [pvp]),
    "ds_trainer_config_free": (None, [vp]),
    "ds_trainer_config_set_int": (st, [vp, c_int32, c_int64]),
    "ds_trainer_config_set_float": (st, [vp, c_int32, c_double]),
    "ds_trainer_get_config": (st, [vp, pvp]),
    "ds_trainer_config_get_int": (st, [vp, c_int32, pint64]),
    "ds_trainer_config_get_float": (st, [vp, c_int32, pdouble]),
    "ds_trainer_create": (st, [vp, vp, vp, pvp]),
    "ds_trainer_free": (None, [vp]),
    "ds_trainer_set_progress": (st, [vp, PROGRESS_FN, vp, c_int64]),
    "ds_trainer_train": (st, [vp, vp, vp, c_int64, c_int64, pdouble]),
    "ds_trainer_step": (c_int64, [vp]),
    "ds_trainer_train_source": (st, [vp, BATCH_FN, vp, c_int64, pdouble]),
    "ds_trainer_seed": (c_uint64, [vp]),
    "ds_trainer_ema_to_model": (st, [vp, vp]),
    "ds_trainer_evaluate": (st, [vp, vp, vp, c_int64, c_uint64, pdouble]),
    "ds_trainer_save": (st, [vp, c_char_p]),
    "ds_trainer_resume": (st, [vp, c_char_p]),
    "ds_trainer_set_distributed": (st, [vp, c_int32, c_int32, c_int32, c_int64, COLLECTIVE_FN,
                                        vp]),
    # denoisers
    "ds_denoiser_create_gradient": (st, [vp, vp, c_int32, pvp]),
    "ds_denoiser_create_conditional": (st, [vp, c_int32, pvp]),
    "ds_denoiser_free": (None, [vp]),
    "ds_denoiser_apply": (st, [vp, vp, c_int64, c_uint64, vp]),
    # two-stage
    "ds_two_stage_log_prob_bound": (st, [vp, vp, vp, vp, c_int64, c_int32, c_uint64, vp]),
    "ds_two_stage_log_prob_grid": (st, [vp, vp, vp, c_int64, c_double, c_double, c_int32,
                                        vp]),
    "ds_two_stage_sample": (st, [vp, vp, c_int64, c_uint64, vp]),
    # sample quality
    "ds_precision_recall": (st, [vp, vp, c_int64, vp, c_int64, c_int64, c_int32, pdouble,
                                 pdouble]),
}

for _name, (_res, _args) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args

_version = lib.ds_version()
if _version // 10000 != ABI_MAJOR or (_version // 100) % 100 < ABI_MIN_MINOR:
    raise ImportError("%s is libdsmooth %s; these bindings need %d.%d or a later %d.x"
                      % (library_path, lib.ds_version_string().decode(), ABI_MAJOR,
                         ABI_MIN_MINOR, ABI_MAJOR))
