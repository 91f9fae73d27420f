//! Raw FFI declarations of libdsmooth (`include/dsmooth.h`, which stays the manual for every
//! call) and its linking. No dependencies: the declarations are written by hand, and the
//! build script asks the `pkg-config` program itself.
//!
//! The build script looks for the library in this order (first match wins):
//! 1. `$DSMOOTH_LIB_DIR`: a directory holding `libdsmooth.so` (or only `libdsmooth.a`,
//!    which is then linked statically). The same variable the Python package reads.
//! 2. `pkg-config dsmooth` (an installed prefix: `/usr`, `/usr/local`, or any prefix on
//!    `$PKG_CONFIG_PATH`); its version must be 0.x like these declarations.
//! 3. `build/lib` of the repository this crate sits in (`cmake -B build`).
//!
//! If none has it, the build stops with a message saying how to provide one. The
//! directory found is put in the RPATH of this crate's own tests, and exported to build
//! scripts of direct dependents as `DEP_DSMOOTH_LIB_DIR` (see the `dsmooth` crate's docs
//! for giving a dependent program the same RPATH).
//!
//! Link-time agreement is checked by the build script; [`check_version`] checks the
//! library actually loaded at run time (the safe crate calls it before creating a context).
#![deny(missing_docs)]
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_void};
use std::marker::{PhantomData, PhantomPinned};

/// The ABI major version these declarations are written for (the SONAME's number).
pub const ABI_MAJOR: u32 = 0;
/// The oldest minor version that has every function declared here.
pub const ABI_MIN_MINOR: u32 = 3;

/// The directory the build script linked libdsmooth from.
pub const LIB_DIR: &str = env!("DSMOOTH_SYS_LIB_DIR");
/// How the build script found it: "DSMOOTH_LIB_DIR", "pkg-config (dsmooth X.Y.Z)" or "the
/// repository's build tree".
pub const FOUND_BY: &str = env!("DSMOOTH_SYS_FOUND_BY");

/// `Ok(version)` if the loaded library's `ds_version()` has major [`ABI_MAJOR`] and minor at
/// least [`ABI_MIN_MINOR`]; otherwise `Err` with a sentence naming both versions.
pub fn check_version() -> Result<u32, String> {
    let v = unsafe { ds_version() };
    let (major, minor) = (v / 10000, (v / 100) % 100);
    if major != ABI_MAJOR || minor < ABI_MIN_MINOR {
        let s = unsafe { std::ffi::CStr::from_ptr(ds_version_string()) };
        return Err(format!(
            "the loaded libdsmooth is {} but these bindings need {}.{} or a later {}.x; \
             point DSMOOTH_LIB_DIR (at build time) at a matching library",
            s.to_string_lossy(), ABI_MAJOR, ABI_MIN_MINOR, ABI_MAJOR));
    }
    Ok(v)
}

macro_rules! opaque {
    ($($name:ident),*) => {$(
        #[doc = concat!("`", stringify!($name), "`: an opaque C handle, only used behind pointers.")]
        #[repr(C)]
        pub struct $name {
            _data: [u8; 0],
            _marker: PhantomData<(*mut u8, PhantomPinned)>,
        }
    )*};
}
opaque!(ds_context, ds_context_options, ds_smoother, ds_model, ds_model_config,
        ds_trainer, ds_trainer_config, ds_denoiser);

/// `ds_status`: 0 = DS_OK, else an error code (see `include/dsmooth.h`).
pub type ds_status = i32;
/// `ds_malloc_fn`: allocation hook of `ds_context_options_set_allocator`.
pub type ds_malloc_fn = Option<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>;
/// `ds_realloc_fn`: reallocation hook of `ds_context_options_set_allocator`.
pub type ds_realloc_fn =
    Option<unsafe extern "C" fn(*mut c_void, *mut c_void, usize) -> *mut c_void>;
/// `ds_free_fn`: release hook of `ds_context_options_set_allocator`.
pub type ds_free_fn = Option<unsafe extern "C" fn(*mut c_void, *mut c_void)>;
/// `ds_log_fn`: message sink of `ds_context_options_set_log`.
pub type ds_log_fn = Option<unsafe extern "C" fn(*mut c_void, i32, *const c_char)>;
/// `ds_progress_fn(user, step, total_steps, loss, examples_per_second)`: nonzero stops
/// training (`ds_trainer_set_progress`).
pub type ds_progress_fn =
    Option<unsafe extern "C" fn(*mut c_void, i64, i64, f64, f64) -> i32>;
/// `ds_batch_fn`: fills one training batch on demand (`user, step, batch, x, cond`);
/// see `ds_trainer_train_source` in `include/dsmooth.h`.
pub type ds_batch_fn =
    Option<unsafe extern "C" fn(*mut c_void, i64, i64, *mut f32, *mut f32) -> i32>;
/// `ds_collective_fn`: the collective a distributed trainer asks its engine for
/// (`user, op, send, recv, count, counts`); see `include/dsmooth.h`.
pub type ds_collective_fn = Option<
    unsafe extern "C" fn(*mut c_void, i32, *const c_void, *mut c_void, i64, *const i64) -> i32,
>;

// Every enum of include/dsmooth.h as `i32` constants with the C names (the safe crate's
// enums are checked against these and the header by tests/ffi/check_enum_values.py).
macro_rules! c_consts {
    ($enum:literal: $($name:ident = $value:expr),* $(,)?) => {$(
        #[doc = concat!("`", stringify!($name), "` = ", stringify!($value), " of `", $enum,
                        "` (see `include/dsmooth.h`).")]
        pub const $name: i32 = $value;
    )*};
}
c_consts!("ds_status": DS_OK = 0, DS_ERR_INVALID_ARGUMENT = 1, DS_ERR_OUT_OF_MEMORY = 2,
    DS_ERR_IO = 3, DS_ERR_BAD_FORMAT = 4, DS_ERR_UNSUPPORTED_VERSION = 5,
    DS_ERR_SHAPE_MISMATCH = 6, DS_ERR_NUMERIC = 7, DS_ERR_BAD_STATE = 8, DS_ERR_CANCELLED = 9,
    DS_ERR_UNSUPPORTED = 10, DS_ERR_THREAD = 11, DS_ERR_INTERNAL = 12);
c_consts!("ds_log_level": DS_LOG_ERROR = 0, DS_LOG_WARN = 1, DS_LOG_INFO = 2, DS_LOG_DEBUG = 3);
c_consts!("ds_noise": DS_NOISE_GAUSSIAN = 0, DS_NOISE_LAPLACE = 1, DS_NOISE_UNIFORM = 2);
c_consts!("ds_arch": DS_ARCH_MADE = 0, DS_ARCH_PIXELCNNPP = 1, DS_ARCH_PIXELCNN = 2);
c_consts!("ds_head": DS_HEAD_CONTINUOUS = 0, DS_HEAD_DISCRETIZED = 1);
c_consts!("ds_cond_layout": DS_COND_CHANNELS = 0, DS_COND_STACKED = 1);
c_consts!("ds_activation": DS_ACTIVATION_RELU = 0, DS_ACTIVATION_TANH = 1,
    DS_ACTIVATION_ELU = 2);
c_consts!("ds_model_option": DS_MODEL_DIM = 0, DS_MODEL_COND_DIM = 1, DS_MODEL_COMPONENTS = 2,
    DS_MODEL_HEAD = 3, DS_MODEL_BINS = 4, DS_MODEL_ACTIVATION = 5, DS_MODEL_RESIDUAL = 6,
    DS_MODEL_CHANNELS = 7, DS_MODEL_HEIGHT = 8, DS_MODEL_WIDTH = 9, DS_MODEL_FILTERS = 10,
    DS_MODEL_RESNETS = 11, DS_MODEL_LAYERS = 12, DS_MODEL_GATED = 13, DS_MODEL_COND_LAYOUT = 14,
    DS_MODEL_COND_CONVS = 15, DS_MODEL_SEED = 16);
c_consts!("ds_model_float_option": DS_MODEL_BIN_LO = 0, DS_MODEL_BIN_HI = 1,
    DS_MODEL_DROPOUT = 2, DS_MODEL_COND_SHARE = 3);
c_consts!("ds_score_kind": DS_SCORE_EXACT = 0, DS_SCORE_LOCAL = 1);
c_consts!("ds_sample_method": DS_SAMPLE_BISECTION = 0, DS_SAMPLE_GUMBEL = 1,
    DS_SAMPLE_NAIVE = 0x100);
c_consts!("ds_lr_schedule": DS_LR_CONSTANT = 0, DS_LR_EXPONENTIAL = 1, DS_LR_COSINE = 2);
c_consts!("ds_trainer_option": DS_TRAIN_BATCH = 0, DS_TRAIN_TOTAL_STEPS = 1,
    DS_TRAIN_SCHEDULE = 2, DS_TRAIN_SEED = 3, DS_TRAIN_DATA_INIT = 4);
c_consts!("ds_trainer_float_option": DS_TRAIN_LR = 0, DS_TRAIN_BETA1 = 1, DS_TRAIN_BETA2 = 2,
    DS_TRAIN_EPSILON = 3, DS_TRAIN_WEIGHT_DECAY = 4, DS_TRAIN_LR_DECAY = 5, DS_TRAIN_LR_MIN = 6,
    DS_TRAIN_CLIP_NORM = 7, DS_TRAIN_EMA_DECAY = 8);
c_consts!("ds_reduction": DS_REDUCE_DETERMINISTIC = 0, DS_REDUCE_FAST = 1,
    DS_REDUCE_DETERMINISTIC_SCATTER = 2);
c_consts!("ds_collective_op": DS_COLLECTIVE_ALLGATHER = 0, DS_COLLECTIVE_SUM_FLOAT = 1,
    DS_COLLECTIVE_SUM_DOUBLE = 2, DS_COLLECTIVE_ALLTOALL = 3);
c_consts!("ds_conditional_output": DS_CONDITIONAL_SAMPLE = 0, DS_CONDITIONAL_MEAN = 1);

extern "C" {
    /// `__declspec(dllexport) #elif defined(_WIN32) && defined(DS_USING_SHARED) #define DS_API __declspec(dllimport) #elif defined(__GNUC__) || defined(__clang__) #define DS_API __attribute__((visibility("default"))) #else #define DS_API #endif #ifdef __cplusplus extern "C" { #endif /* ====================================================================================== * Version * ====================================================================================== */ /* DS_VERSION_NUMBER of the library actually loaded (MAJOR*10000 + MINOR*100 + PATCH). */ DS_API uint32_t ds_version(void)`: see its comment in `include/dsmooth.h`.
    pub fn ds_version() -> u32;
    /// `const char * ds_version_string(void)`: see its comment in `include/dsmooth.h`.
    pub fn ds_version_string() -> *const c_char;
    /// `const char * ds_status_str(int32_t status)`: see its comment in `include/dsmooth.h`.
    pub fn ds_status_str(status: i32) -> *const c_char;

    /// `ds_status ds_context_options_create(ds_context_options **out)`: see its comment in `include/dsmooth.h`.
    pub fn ds_context_options_create(out: *mut *mut ds_context_options) -> ds_status;
    /// `void ds_context_options_free(ds_context_options *opts)`: see its comment in `include/dsmooth.h`.
    pub fn ds_context_options_free(opts: *mut ds_context_options);
    /// `ds_status ds_context_options_set_threads(ds_context_options *opts, int32_t threads)`: see its comment in `include/dsmooth.h`.
    pub fn ds_context_options_set_threads(opts: *mut ds_context_options, threads: i32)
        -> ds_status;
    /// `ds_status ds_context_options_set_seed(ds_context_options *opts, uint64_t seed)`: see its comment in `include/dsmooth.h`.
    pub fn ds_context_options_set_seed(opts: *mut ds_context_options, seed: u64)
        -> ds_status;
    /// `ds_status ds_context_options_set_allocator(ds_context_options *opts, ds_malloc_fn malloc_fn, ds_realloc_fn realloc_fn, ds_free_fn free_fn, void *user)`: see its comment in `include/dsmooth.h`.
    pub fn ds_context_options_set_allocator(opts: *mut ds_context_options,
        malloc_fn: ds_malloc_fn, realloc_fn: ds_realloc_fn, free_fn: ds_free_fn,
        user: *mut c_void) -> ds_status;
    /// `ds_status ds_context_options_set_log(ds_context_options *opts, ds_log_fn fn, void *user, int32_t max_level)`: see its comment in `include/dsmooth.h`.
    pub fn ds_context_options_set_log(opts: *mut ds_context_options, f: ds_log_fn,
        user: *mut c_void, max_level: i32) -> ds_status;
    /// `ds_status ds_context_create(const ds_context_options *opts, ds_context **out)`: see its comment in `include/dsmooth.h`.
    pub fn ds_context_create(opts: *const ds_context_options, out: *mut *mut ds_context)
        -> ds_status;
    /// `void ds_context_free(ds_context *ctx)`: see its comment in `include/dsmooth.h`.
    pub fn ds_context_free(ctx: *mut ds_context);
    /// `const char * ds_context_last_error(const ds_context *ctx)`: see its comment in `include/dsmooth.h`.
    pub fn ds_context_last_error(ctx: *const ds_context) -> *const c_char;
    /// `int32_t ds_context_threads(const ds_context *ctx)`: see its comment in `include/dsmooth.h`.
    pub fn ds_context_threads(ctx: *const ds_context) -> i32;
    /// `uint64_t ds_context_seed(const ds_context *ctx)`: see its comment in `include/dsmooth.h`.
    pub fn ds_context_seed(ctx: *const ds_context) -> u64;

    /// `ds_status ds_smoother_create(ds_context *ctx, int32_t family, double sigma, ds_smoother **out)`: see its comment in `include/dsmooth.h`.
    pub fn ds_smoother_create(ctx: *mut ds_context, family: i32, sigma: f64,
        out: *mut *mut ds_smoother) -> ds_status;
    /// `void ds_smoother_free(ds_smoother *sm)`: see its comment in `include/dsmooth.h`.
    pub fn ds_smoother_free(sm: *mut ds_smoother);
    /// `int32_t ds_smoother_family(const ds_smoother *sm)`: see its comment in `include/dsmooth.h`.
    pub fn ds_smoother_family(sm: *const ds_smoother) -> i32;
    /// `double ds_smoother_sigma(const ds_smoother *sm)`: see its comment in `include/dsmooth.h`.
    pub fn ds_smoother_sigma(sm: *const ds_smoother) -> f64;
    /// `uint64_t ds_smoother_seed(const ds_smoother *sm)`: see its comment in `include/dsmooth.h`.
    pub fn ds_smoother_seed(sm: *const ds_smoother) -> u64;
    /// `ds_status ds_smoother_apply(const ds_smoother *sm, const float *x, int64_t n, int64_t d, uint64_t stream, float *x_tilde)`: see its comment in `include/dsmooth.h`.
    pub fn ds_smoother_apply(sm: *const ds_smoother, x: *const f32, n: i64, d: i64,
        stream: u64, x_tilde: *mut f32) -> ds_status;
    /// `ds_status ds_smoother_log_q(const ds_smoother *sm, const float *x_tilde, const float *x, int64_t n, int64_t d, double *log_q)`: see its comment in `include/dsmooth.h`.
    pub fn ds_smoother_log_q(sm: *const ds_smoother, x_tilde: *const f32, x: *const f32,
        n: i64, d: i64, log_q: *mut f64) -> ds_status;
    /// `double ds_smoother_entropy(const ds_smoother *sm)`: see its comment in `include/dsmooth.h`.
    pub fn ds_smoother_entropy(sm: *const ds_smoother) -> f64;
    /// `ds_status ds_smoother_score(const ds_smoother *sm, const float *x_tilde, const float *x, int64_t n, int64_t d, float *score)`: see its comment in `include/dsmooth.h`.
    pub fn ds_smoother_score(sm: *const ds_smoother, x_tilde: *const f32, x: *const f32,
        n: i64, d: i64, score: *mut f32) -> ds_status;
    /// `ds_status ds_smoother_convolve_grid(const ds_smoother *sm, const double *density, int64_t nx, int64_t ny, double x0, double dx, double y0, double dy, double *smoothed)`: see its comment in `include/dsmooth.h`.
    pub fn ds_smoother_convolve_grid(sm: *const ds_smoother, density: *const f64,
        nx: i64, ny: i64, x0: f64, dx: f64, y0: f64, dy: f64, smoothed: *mut f64)
        -> ds_status;
    /// `ds_status ds_smoother_grid_posterior_mean(const ds_smoother *sm, const double *density, int64_t nx, int64_t ny, double x0, double dx, double y0, double dy, double *mean)`: see its comment in `include/dsmooth.h`.
    pub fn ds_smoother_grid_posterior_mean(sm: *const ds_smoother, density: *const f64,
        nx: i64, ny: i64, x0: f64, dx: f64, y0: f64, dy: f64, mean: *mut f64)
        -> ds_status;

    /// `ds_status ds_model_config_create(int32_t arch, ds_model_config **out)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_config_create(arch: i32, out: *mut *mut ds_model_config) -> ds_status;
    /// `void ds_model_config_free(ds_model_config *cfg)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_config_free(cfg: *mut ds_model_config);
    /// `ds_status ds_model_config_set_int(ds_model_config *cfg, int32_t option, int64_t value)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_config_set_int(cfg: *mut ds_model_config, option: i32, value: i64)
        -> ds_status;
    /// `ds_status ds_model_config_set_float(ds_model_config *cfg, int32_t option, double value)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_config_set_float(cfg: *mut ds_model_config, option: i32, value: f64)
        -> ds_status;
    /// `ds_status ds_model_config_set_hidden(ds_model_config *cfg, const int64_t *widths, int32_t count)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_config_set_hidden(cfg: *mut ds_model_config, widths: *const i64,
        count: i32) -> ds_status;
    /// `ds_status ds_model_create(ds_context *ctx, const ds_model_config *cfg, ds_model **out)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_create(ctx: *mut ds_context, cfg: *const ds_model_config,
        out: *mut *mut ds_model) -> ds_status;
    /// `void ds_model_free(ds_model *model)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_free(model: *mut ds_model);
    /// `int64_t ds_model_dim(const ds_model *model)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_dim(model: *const ds_model) -> i64;
    /// `int64_t ds_model_cond_dim(const ds_model *model)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_cond_dim(model: *const ds_model) -> i64;
    /// `int64_t ds_model_param_count(const ds_model *model)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_param_count(model: *const ds_model) -> i64;
    /// `ds_status ds_model_log_prob(const ds_model *model, const float *x, const float *cond, int64_t n, double *log_prob)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_log_prob(model: *const ds_model, x: *const f32, cond: *const f32,
        n: i64, log_prob: *mut f64) -> ds_status;
    /// `ds_status ds_model_score(const ds_model *model, const float *x, const float *cond, int64_t n, int32_t kind, float *score, double *log_prob)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_score(model: *const ds_model, x: *const f32, cond: *const f32, n: i64,
        kind: i32, score: *mut f32, log_prob: *mut f64) -> ds_status;
    /// `ds_status ds_model_sample(const ds_model *model, const float *cond, int64_t n, uint64_t stream, int32_t method, float *x)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_sample(model: *const ds_model, cond: *const f32, n: i64, stream: u64,
        method: i32, x: *mut f32) -> ds_status;
    /// `ds_status ds_model_save(const ds_model *model, const char *path)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_save(model: *const ds_model, path: *const c_char) -> ds_status;
    /// `ds_status ds_model_load(ds_context *ctx, const char *path, ds_model **out)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_load(ctx: *mut ds_context, path: *const c_char,
        out: *mut *mut ds_model) -> ds_status;
    /// `ds_status ds_model_copy_weights(ds_model *dst, const ds_model *src)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_copy_weights(dst: *mut ds_model, src: *const ds_model) -> ds_status;

    /// `ds_status ds_trainer_config_create(ds_trainer_config **out)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_config_create(out: *mut *mut ds_trainer_config) -> ds_status;
    /// `void ds_trainer_config_free(ds_trainer_config *cfg)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_config_free(cfg: *mut ds_trainer_config);
    /// `ds_status ds_trainer_config_set_int(ds_trainer_config *cfg, int32_t option, int64_t value)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_config_set_int(cfg: *mut ds_trainer_config, option: i32,
        value: i64) -> ds_status;
    /// `ds_status ds_trainer_config_set_float(ds_trainer_config *cfg, int32_t option, double value)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_config_set_float(cfg: *mut ds_trainer_config, option: i32,
        value: f64) -> ds_status;
    /// `ds_status ds_context_options_set_memory_limit(ds_context_options *opts, uint64_t bytes)`: see its comment in `include/dsmooth.h`.
    pub fn ds_context_options_set_memory_limit(opts: *mut ds_context_options, bytes: u64)
        -> ds_status;
    /// `uint64_t ds_context_memory_in_use(const ds_context *ctx)`: see its comment in `include/dsmooth.h`.
    pub fn ds_context_memory_in_use(ctx: *const ds_context) -> u64;
    /// `uint64_t ds_context_memory_peak(const ds_context *ctx)`: see its comment in `include/dsmooth.h`.
    pub fn ds_context_memory_peak(ctx: *const ds_context) -> u64;
    /// `int64_t ds_context_last_error_r(const ds_context *ctx, char *buffer, int64_t capacity)`: see its comment in `include/dsmooth.h`.
    pub fn ds_context_last_error_r(ctx: *const ds_context, buffer: *mut c_char,
        capacity: i64) -> i64;
    /// `int64_t ds_model_free_param_count(const ds_model *model)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_free_param_count(model: *const ds_model) -> i64;
    /// `uint64_t ds_model_seed(const ds_model *model)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_seed(model: *const ds_model) -> u64;
    /// `ds_status ds_model_get_weights(const ds_model *model, float *weights, int64_t count)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_get_weights(model: *const ds_model, weights: *mut f32,
        count: i64) -> ds_status;
    /// `ds_status ds_model_set_weights(ds_model *model, const float *weights, int64_t count)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_set_weights(model: *mut ds_model, weights: *const f32,
        count: i64) -> ds_status;
    /// `ds_status ds_model_smoothing(const ds_model *model, int32_t *family, double *sigma)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_smoothing(model: *const ds_model, family: *mut i32,
        sigma: *mut f64) -> ds_status;
    /// `ds_status ds_trainer_train_source(ds_trainer *trainer, ds_batch_fn fn, void *user, int64_t steps, double *loss_out)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_train_source(trainer: *mut ds_trainer, f: ds_batch_fn,
        user: *mut c_void, steps: i64, loss_out: *mut f64) -> ds_status;
    /// `uint64_t ds_trainer_seed(const ds_trainer *trainer)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_seed(trainer: *const ds_trainer) -> u64;
    /// `ds_status ds_trainer_ema_to_model(const ds_trainer *trainer, ds_model *dst)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_ema_to_model(trainer: *const ds_trainer,
        dst: *mut ds_model) -> ds_status;
    /// `ds_status ds_trainer_set_distributed(ds_trainer *trainer, int32_t rank, int32_t world, int32_t reduction, int64_t grad_blocks, ds_collective_fn fn, void *user)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_set_distributed(trainer: *mut ds_trainer, rank: i32, world: i32,
        reduction: i32, grad_blocks: i64, f: ds_collective_fn, user: *mut c_void)
        -> ds_status;
    /// `ds_status ds_model_get_config(const ds_model *model, ds_model_config **out)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_get_config(model: *const ds_model, out: *mut *mut ds_model_config)
        -> ds_status;
    /// `ds_status ds_model_config_get_arch(const ds_model_config *cfg, int32_t *arch)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_config_get_arch(cfg: *const ds_model_config, arch: *mut i32) -> ds_status;
    /// `ds_status ds_model_config_get_int(const ds_model_config *cfg, int32_t option, int64_t *value)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_config_get_int(cfg: *const ds_model_config, option: i32,
        value: *mut i64) -> ds_status;
    /// `ds_status ds_model_config_get_float(const ds_model_config *cfg, int32_t option, double *value)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_config_get_float(cfg: *const ds_model_config, option: i32,
        value: *mut f64) -> ds_status;
    /// `ds_status ds_model_config_get_hidden(const ds_model_config *cfg, int64_t *widths, int32_t capacity, int32_t *count)`: see its comment in `include/dsmooth.h`.
    pub fn ds_model_config_get_hidden(cfg: *const ds_model_config, widths: *mut i64,
        capacity: i32, count: *mut i32) -> ds_status;
    /// `ds_status ds_trainer_get_config(const ds_trainer *trainer, ds_trainer_config **out)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_get_config(trainer: *const ds_trainer,
        out: *mut *mut ds_trainer_config) -> ds_status;
    /// `ds_status ds_trainer_config_get_int(const ds_trainer_config *cfg, int32_t option, int64_t *value)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_config_get_int(cfg: *const ds_trainer_config, option: i32,
        value: *mut i64) -> ds_status;
    /// `ds_status ds_trainer_config_get_float(const ds_trainer_config *cfg, int32_t option, double *value)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_config_get_float(cfg: *const ds_trainer_config, option: i32,
        value: *mut f64) -> ds_status;
    /// `ds_status ds_trainer_create(ds_model *model, const ds_trainer_config *cfg, const ds_smoother *smoother, ds_trainer **out)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_create(model: *mut ds_model, cfg: *const ds_trainer_config,
        smoother: *const ds_smoother, out: *mut *mut ds_trainer) -> ds_status;
    /// `void ds_trainer_free(ds_trainer *trainer)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_free(trainer: *mut ds_trainer);
    /// `ds_status ds_trainer_set_progress(ds_trainer *trainer, ds_progress_fn fn, void *user, int64_t every)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_set_progress(trainer: *mut ds_trainer, f: ds_progress_fn,
        user: *mut c_void, every: i64) -> ds_status;
    /// `ds_status ds_trainer_train(ds_trainer *trainer, const float *x, const float *cond, int64_t n, int64_t steps, double *loss_out)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_train(trainer: *mut ds_trainer, x: *const f32, cond: *const f32,
        n: i64, steps: i64, loss_out: *mut f64) -> ds_status;
    /// `int64_t ds_trainer_step(const ds_trainer *trainer)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_step(trainer: *const ds_trainer) -> i64;
    /// `ds_status ds_trainer_evaluate(ds_trainer *trainer, const float *x, const float *cond, int64_t n, uint64_t stream, double *mean_nll)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_evaluate(trainer: *mut ds_trainer, x: *const f32, cond: *const f32,
        n: i64, stream: u64, mean_nll: *mut f64) -> ds_status;
    /// `ds_status ds_trainer_save(const ds_trainer *trainer, const char *path)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_save(trainer: *const ds_trainer, path: *const c_char) -> ds_status;
    /// `ds_status ds_trainer_resume(ds_trainer *trainer, const char *path)`: see its comment in `include/dsmooth.h`.
    pub fn ds_trainer_resume(trainer: *mut ds_trainer, path: *const c_char) -> ds_status;

    /// `ds_status ds_denoiser_create_gradient(const ds_model *stage1, const ds_smoother *sm, int32_t kind, ds_denoiser **out)`: see its comment in `include/dsmooth.h`.
    pub fn ds_denoiser_create_gradient(stage1: *const ds_model, sm: *const ds_smoother,
        kind: i32, out: *mut *mut ds_denoiser) -> ds_status;
    /// `ds_status ds_denoiser_create_conditional(const ds_model *stage2, int32_t output, ds_denoiser **out)`: see its comment in `include/dsmooth.h`.
    pub fn ds_denoiser_create_conditional(stage2: *const ds_model, output: i32,
        out: *mut *mut ds_denoiser) -> ds_status;
    /// `void ds_denoiser_free(ds_denoiser *dn)`: see its comment in `include/dsmooth.h`.
    pub fn ds_denoiser_free(dn: *mut ds_denoiser);
    /// `ds_status ds_denoiser_apply(const ds_denoiser *dn, const float *x_tilde, int64_t n, uint64_t stream, float *x)`: see its comment in `include/dsmooth.h`.
    pub fn ds_denoiser_apply(dn: *const ds_denoiser, x_tilde: *const f32, n: i64,
        stream: u64, x: *mut f32) -> ds_status;

    /// `ds_status ds_two_stage_log_prob_bound(const ds_model *stage1, const ds_model *stage2, const ds_smoother *sm, const float *x, int64_t n, int32_t k_samples, uint64_t stream, double *bound)`: see its comment in `include/dsmooth.h`.
    pub fn ds_two_stage_log_prob_bound(stage1: *const ds_model, stage2: *const ds_model,
        sm: *const ds_smoother, x: *const f32, n: i64, k_samples: i32, stream: u64,
        bound: *mut f64) -> ds_status;
    /// `ds_status ds_two_stage_log_prob_grid(const ds_model *stage1, const ds_model *stage2, const float *x, int64_t n, double lo, double hi, int32_t points, double *log_prob)`: see its comment in `include/dsmooth.h`.
    pub fn ds_two_stage_log_prob_grid(stage1: *const ds_model, stage2: *const ds_model,
        x: *const f32, n: i64, lo: f64, hi: f64, points: i32, log_prob: *mut f64)
        -> ds_status;
    /// `ds_status ds_two_stage_sample(const ds_model *stage1, const ds_denoiser *dn, int64_t n, uint64_t stream, float *x)`: see its comment in `include/dsmooth.h`.
    pub fn ds_two_stage_sample(stage1: *const ds_model, dn: *const ds_denoiser, n: i64,
        stream: u64, x: *mut f32) -> ds_status;

    /// `ds_status ds_precision_recall(ds_context *ctx, const float *real, int64_t n_real, const float *fake, int64_t n_fake, int64_t dim, int32_t k, double *precision, double *recall)`: see its comment in `include/dsmooth.h`.
    pub fn ds_precision_recall(ctx: *mut ds_context, real: *const f32, n_real: i64,
        fake: *const f32, n_fake: i64, dim: i64, k: i32, precision: *mut f64,
        recall: *mut f64) -> ds_status;
}
