"""Loading libdsmooth and declaring its C functions for ctypes.

Every prototype below is written from include/dsmooth.h. Handles are passed as void
pointers, arrays as void pointers to their first element (the callers check dtype, layout
and size before a call), and every status as a 32-bit int.
"""
import ctypes
import ctypes.util
import os
from pathlib import Path

# The ABI major version these bindings are written for (the SONAME's number).
ABI_MAJOR = 0
# The oldest minor version that has every function declared here.
ABI_MIN_MINOR = 1

_REPO = Path(__file__).resolve().parents[3]


def _candidates():
    env = os.environ.get("DSMOOTH_LIBRARY")
    if env:
        # an explicit choice is the only candidate: failing loudly beats a silent fallback
        return [env]
    found = []
    build_lib = _REPO / "build" / "lib"
    for name in ("libdsmooth.so.%d" % ABI_MAJOR, "libdsmooth.so", "libdsmooth.dylib"):
        if (build_lib / name).exists():
            found.append(str(build_lib / name))
            break
    # the system loader: ld.so.cache, LD_LIBRARY_PATH, /usr/local/lib after ldconfig
    found.append("libdsmooth.so.%d" % ABI_MAJOR)
    name = ctypes.util.find_library("dsmooth")
    if name:
        found.append(name)
    return found


def _load():
    errors = []
    for cand in _candidates():
        try:
            return ctypes.CDLL(cand), cand
        except OSError as exc:
            errors.append("%s: %s" % (cand, exc))
    raise ImportError(
        "libdsmooth not found; set DSMOOTH_LIBRARY=/path/to/libdsmooth.so, build the "
        "repository (build/lib), or install it system-wide and run ldconfig. Tried:\n  "
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
st = c_int32  # ds_status

# Callback types (plain function pointers taking `void *user` first).
PROGRESS_FN = ctypes.CFUNCTYPE(c_int32, vp, c_int64, c_int64, c_double, c_double)
LOG_FN = ctypes.CFUNCTYPE(None, vp, c_int32, c_char_p)
MALLOC_FN = ctypes.CFUNCTYPE(vp, vp, c_size_t)
REALLOC_FN = ctypes.CFUNCTYPE(vp, vp, vp, c_size_t)
FREE_FN = ctypes.CFUNCTYPE(None, vp, vp)

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
    # trainer
    "ds_trainer_config_create": (st, [pvp]),
    "ds_trainer_config_free": (None, [vp]),
    "ds_trainer_config_set_int": (st, [vp, c_int32, c_int64]),
    "ds_trainer_config_set_float": (st, [vp, c_int32, c_double]),
    "ds_trainer_create": (st, [vp, vp, vp, pvp]),
    "ds_trainer_free": (None, [vp]),
    "ds_trainer_set_progress": (st, [vp, PROGRESS_FN, vp, c_int64]),
    "ds_trainer_train": (st, [vp, vp, vp, c_int64, c_int64, pdouble]),
    "ds_trainer_step": (c_int64, [vp]),
    "ds_trainer_evaluate": (st, [vp, vp, vp, c_int64, c_uint64, pdouble]),
    "ds_trainer_save": (st, [vp, c_char_p]),
    "ds_trainer_resume": (st, [vp, c_char_p]),
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
