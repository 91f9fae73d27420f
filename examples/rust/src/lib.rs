//! Safe Rust bindings to libdsmooth (autoregressive density models with distribution
//! smoothing). No dependencies besides [`dsmooth-sys`](ffi), whose hand-written
//! `extern "C"` block (re-exported as [`ffi`]) follows `include/dsmooth.h`, which stays the
//! manual for every call.
//!
//! # Linking and running
//! `dsmooth-sys`'s build script finds the library: `$DSMOOTH_LIB_DIR` (a directory, the
//! same variable the Python package reads), else `pkg-config dsmooth`, else the
//! repository's `build/lib`; without any it stops with a message saying how to provide one.
//! [`ffi::LIB_DIR`] and [`ffi::FOUND_BY`] say what it chose. [`Context::new`] checks that the
//! library loaded at run time has the major version these bindings are written for.
//!
//! A shared library outside the loader's default paths (a build tree, `/opt/dsmooth`)
//! must be found again at run time. Cargo passes a dependency's link arguments only to
//! that dependency's own tests, so a program using this crate gives its binaries the
//! RPATH itself: depend on `dsmooth-sys` too (same path or version) and add a `build.rs`
//!
//! ```no_run
//! // build.rs of the dependent program
//! fn main() {
//!     if let Ok(dir) = std::env::var("DEP_DSMOOTH_LIB_DIR") {
//!         println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
//!     }
//! }
//! ```
//!
//! (`tests/ffi/rust_consumer` in the repository is such a program, built and run by
//! `make test` against the build tree and against an installed prefix). Alternatives:
//! `LD_LIBRARY_PATH=<libdir>`, or installing to a system prefix and running `ldconfig`
//! (the `.deb` does). If only `libdsmooth.a` is in `DSMOOTH_LIB_DIR`, it is linked
//! statically and nothing is needed at run time.
//!
//! * Every handle is an owning value whose `Drop` frees it. Borrows encode the header's
//!   lifetime rules: a [`Smoother`] or [`Model`] borrows its [`Context`]; a [`Trainer`]
//!   borrows its model mutably (the model is updated in place and must not be used
//!   meanwhile) and its smoother; a [`Denoiser`] borrows its models and smoother.
//! * Every fallible call returns [`Result`]; [`Error`] carries the status and the
//!   library's detail sentence (`ds_context_last_error`).
//! * Arrays are flat row-major slices: `x` of length n * D. Outputs are new `Vec`s.
//!
//! ```no_run
//! use dsmooth::*;
//! let ctx = Context::new(2, 1)?;
//! let sm = Smoother::new(&ctx, Noise::Gaussian, 0.5)?;
//! let x_tilde = sm.apply(&[0.0, 1.0, 2.0, 3.0], 2, 0)?; // 2 examples of dimension 2
//! # Ok::<(), dsmooth::Error>(())
//! ```
#![deny(missing_docs)]
use std::ffi::{c_void, CStr, CString};
use std::fmt;
use std::marker::PhantomData;
use std::os::unix::ffi::OsStrExt;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::ptr::{self, NonNull};

/// The raw C interface: the `dsmooth-sys` crate, re-exported.
pub use dsmooth_sys as ffi;

// ------------------------------------------------------------------------------------
// Enumerations (values pinned by the header)
// ------------------------------------------------------------------------------------

/// A failed call's `ds_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// DS_ERR_INVALID_ARGUMENT: NULL, out of range or inconsistent arguments.
    InvalidArgument,
    /// DS_ERR_OUT_OF_MEMORY: an allocation failed.
    OutOfMemory,
    /// DS_ERR_IO: reading or writing a file failed.
    Io,
    /// DS_ERR_BAD_FORMAT: a file is not a valid checkpoint.
    BadFormat,
    /// DS_ERR_UNSUPPORTED_VERSION: a file or library version this build cannot read.
    UnsupportedVersion,
    /// DS_ERR_SHAPE_MISMATCH: sizes of arrays or models disagree.
    ShapeMismatch,
    /// DS_ERR_NUMERIC: NaN or infinite input or result.
    Numeric,
    /// DS_ERR_BAD_STATE: the handle is not in a state for this call (library bugs are
    /// `Internal` since 0.4).
    BadState,
    /// DS_ERR_CANCELLED: a progress callback asked to stop.
    Cancelled,
    /// DS_ERR_UNSUPPORTED: a valid request this build or configuration cannot serve.
    Unsupported,
    /// DS_ERR_THREAD: creating a thread or a lock failed.
    Thread,
    /// DS_ERR_INTERNAL: a library bug (an internal invariant does not hold); since 0.4.
    Internal,
    /// A status this binding does not know yet (statuses are append-only).
    Other(i32),
}

impl Status {
    /// The status of a nonzero `ds_status` code.
    pub fn from_code(code: i32) -> Status {
        match code {
            1 => Status::InvalidArgument,
            2 => Status::OutOfMemory,
            3 => Status::Io,
            4 => Status::BadFormat,
            5 => Status::UnsupportedVersion,
            6 => Status::ShapeMismatch,
            7 => Status::Numeric,
            8 => Status::BadState,
            9 => Status::Cancelled,
            10 => Status::Unsupported,
            11 => Status::Thread,
            12 => Status::Internal,
            c => Status::Other(c),
        }
    }
    /// The `ds_status` code.
    pub fn code(self) -> i32 {
        match self {
            Status::InvalidArgument => 1,
            Status::OutOfMemory => 2,
            Status::Io => 3,
            Status::BadFormat => 4,
            Status::UnsupportedVersion => 5,
            Status::ShapeMismatch => 6,
            Status::Numeric => 7,
            Status::BadState => 8,
            Status::Cancelled => 9,
            Status::Unsupported => 10,
            Status::Thread => 11,
            Status::Internal => 12,
            Status::Other(c) => c,
        }
    }
}

macro_rules! c_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $value:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(i32)]
        pub enum $name { $(
            #[doc = concat!("C value ", stringify!($value), " (see the enum in `include/dsmooth.h`).")]
            $variant = $value
        ),* }
    };
}
c_enum!(/// Noise family of a smoother.
    Noise { Gaussian = 0, Laplace = 1, Uniform = 2 });
c_enum!(/// Model architecture.
    Arch { Made = 0, PixelCnnPp = 1, PixelCnn = 2 });
c_enum!(/// Output head of each conditional.
    Head { Continuous = 0, Discretized = 1 });
c_enum!(/// Hidden-layer activation of a MADE.
    Activation { Relu = 0, Tanh = 1, Elu = 2 });
c_enum!(/// Integer options of a model configuration.
    ModelOption { Dim = 0, CondDim = 1, Components = 2, Head = 3, Bins = 4,
                  Activation = 5, Residual = 6, Channels = 7, Height = 8, Width = 9,
                  Filters = 10, Resnets = 11, Layers = 12, Gated = 13, CondLayout = 14,
                  CondConvs = 15, Seed = 16 });
c_enum!(/// Floating-point options of a model configuration.
    ModelFloatOption { BinLo = 0, BinHi = 1, Dropout = 2, CondShare = 3 });
c_enum!(/// How a conditional PixelCNN++ sees x~ (the value of ModelOption::CondLayout).
    CondLayout { Channels = 0, Stacked = 1 });
c_enum!(/// Exact score or the local (diagonal) approximation.
    ScoreKind { Exact = 0, Local = 1 });
c_enum!(/// How sampling inverts each conditional.
    SampleMethod { Bisection = 0, Gumbel = 1 });
c_enum!(/// Learning-rate schedule of a trainer.
    LrSchedule { Constant = 0, Exponential = 1, Cosine = 2 });
c_enum!(/// Integer options of a trainer configuration.
    TrainerOption { Batch = 0, TotalSteps = 1, Schedule = 2, Seed = 3, DataInit = 4 });
c_enum!(/// Floating-point options of a trainer configuration.
    TrainerFloatOption { Lr = 0, Beta1 = 1, Beta2 = 2, Epsilon = 3, WeightDecay = 4,
                             LrDecay = 5, LrMin = 6, ClipNorm = 7, EmaDecay = 8 });
c_enum!(/// What a conditional denoiser returns: a sample of p2(x | x~) or its mean.
    ConditionalOutput { Sample = 0, Mean = 1 });

// ------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------

/// A failed call: the status, its constant name and the library's detail sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The status of the failed call.
    pub status: Status,
    /// e.g. "DS_ERR_NUMERIC"
    pub name: String,
    /// e.g. `"ds_model_log_prob: x[1][1] is infinite"`
    pub detail: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.detail)
    }
}

impl std::error::Error for Error {}

/// The result of every fallible call.
pub type Result<T> = std::result::Result<T, Error>;

fn cstr(p: *const std::ffi::c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

impl Error {
    fn from_status(code: i32, ctx: *const ffi::ds_context) -> Error {
        Error {
            status: Status::from_code(code),
            name: cstr(unsafe { ffi::ds_status_str(code) }),
            detail: cstr(unsafe { ffi::ds_context_last_error(ctx) }),
        }
    }
    /// An argument refused on the Rust side, before calling the library.
    fn invalid(detail: String) -> Error {
        Error { status: Status::InvalidArgument, name: "DS_ERR_INVALID_ARGUMENT".into(), detail }
    }
}

/// Map a status to a Result, taking the detail from `ctx` (null: this thread's).
fn check(code: i32, ctx: *const ffi::ds_context) -> Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(Error::from_status(code, ctx))
    }
}

fn rows(len: usize, cols: i64, what: &str) -> Result<i64> {
    if cols < 1 || len == 0 || len as i64 % cols != 0 {
        return Err(Error::invalid(format!(
            "{what} has {len} values: not a positive multiple of its row length {cols}")));
    }
    Ok(len as i64 / cols)
}

fn path_cstring(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::invalid(format!("path {} contains a NUL byte", path.display())))
}

fn opt_ptr(s: Option<&[f32]>) -> *const f32 {
    s.map_or(ptr::null(), |v| v.as_ptr())
}

/// `ds_version()` of the loaded library: MAJOR*10000 + MINOR*100 + PATCH.
pub fn version() -> u32 {
    unsafe { ffi::ds_version() }
}

/// `ds_version_string()` of the loaded library, e.g. "0.1.0".
pub fn version_string() -> String {
    cstr(unsafe { ffi::ds_version_string() })
}

// ------------------------------------------------------------------------------------
// Context
// ------------------------------------------------------------------------------------

/// A thread pool and a seed; every other handle borrows one.
pub struct Context {
    ptr: NonNull<ffi::ds_context>,
}

// The header: calls from several threads into handles of one context are safe (they take
// turns on the pool). The last-error detail is per context, so with concurrent failures
// a detail may belong to another thread's call.
unsafe impl Send for Context {}
unsafe impl Sync for Context {}

impl Context {
    /// `threads` 0 = all online cores; `seed` is the default seed of smoothers and models.
    /// Checks first that the loaded library's major version is the one these bindings
    /// are written for (`Status::UnsupportedVersion` otherwise).
    pub fn new(threads: i32, seed: u64) -> Result<Context> {
        ffi::check_version().map_err(|detail| Error {
            status: Status::UnsupportedVersion,
            name: "DS_ERR_UNSUPPORTED_VERSION".into(),
            detail,
        })?;
        unsafe {
            let mut opts = ptr::null_mut();
            check(ffi::ds_context_options_create(&mut opts), ptr::null())?;
            let mut ctx = ptr::null_mut();
            let mut st = ffi::ds_context_options_set_threads(opts, threads);
            if st == 0 {
                st = ffi::ds_context_options_set_seed(opts, seed);
            }
            if st == 0 {
                st = ffi::ds_context_create(opts, &mut ctx);
            }
            let result = check(st, ptr::null());
            ffi::ds_context_options_free(opts);
            result?;
            Ok(Context { ptr: NonNull::new(ctx).expect("ds_context_create returned NULL") })
        }
    }
    /// Threads of the context's pool (the resolved count, never 0).
    pub fn threads(&self) -> i32 {
        unsafe { ffi::ds_context_threads(self.ptr.as_ptr()) }
    }
    /// The context's seed: the default seed of smoothers and models made from it.
    pub fn seed(&self) -> u64 {
        unsafe { ffi::ds_context_seed(self.ptr.as_ptr()) }
    }
    /// The detail sentence of the last failed call on this context ("" if none).
    pub fn last_error(&self) -> String {
        cstr(unsafe { ffi::ds_context_last_error(self.ptr.as_ptr()) })
    }
    /// The raw handle, for calls this crate does not wrap.
    pub fn as_ptr(&self) -> *mut ffi::ds_context {
        self.ptr.as_ptr()
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        unsafe { ffi::ds_context_free(self.ptr.as_ptr()) }
    }
}

// ------------------------------------------------------------------------------------
// Smoother
// ------------------------------------------------------------------------------------

/// The noise kernel q(x~ | x). Immutable: may be shared by threads.
pub struct Smoother<'c> {
    ptr: NonNull<ffi::ds_smoother>,
    ctx: &'c Context,
}
unsafe impl Send for Smoother<'_> {}
unsafe impl Sync for Smoother<'_> {}

impl<'c> Smoother<'c> {
    /// A smoother of the given family and standard deviation per dimension.
    pub fn new(ctx: &'c Context, family: Noise, sigma: f64) -> Result<Smoother<'c>> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::ds_smoother_create(ctx.as_ptr(), family as i32, sigma, &mut p) },
              ctx.as_ptr())?;
        Ok(Smoother { ptr: NonNull::new(p).unwrap(), ctx })
    }
    fn raw(&self) -> *const ffi::ds_smoother {
        self.ptr.as_ptr()
    }
    fn c(&self) -> *const ffi::ds_context {
        self.ctx.as_ptr()
    }
    /// The noise's standard deviation per dimension.
    pub fn sigma(&self) -> f64 {
        unsafe { ffi::ds_smoother_sigma(self.raw()) }
    }
    /// The seed of the smoother's noise streams.
    pub fn seed(&self) -> u64 {
        unsafe { ffi::ds_smoother_seed(self.raw()) }
    }
    /// Differential entropy of the noise per dimension, in nats.
    pub fn entropy(&self) -> f64 {
        unsafe { ffi::ds_smoother_entropy(self.raw()) }
    }
    /// x + noise for x of n rows of `d` values; `stream` addresses the noise.
    pub fn apply(&self, x: &[f32], d: i64, stream: u64) -> Result<Vec<f32>> {
        let mut out = x.to_vec();
        self.apply_in_place(&mut out, d, stream)?;
        Ok(out)
    }
    /// Smooth `x` in place (no copy).
    pub fn apply_in_place(&self, x: &mut [f32], d: i64, stream: u64) -> Result<()> {
        let n = rows(x.len(), d, "x")?;
        let p = x.as_mut_ptr();
        check(unsafe { ffi::ds_smoother_apply(self.raw(), p, n, d, stream, p) }, self.c())
    }
    /// log q(x~_i | x_i) per example.
    pub fn log_q(&self, x_tilde: &[f32], x: &[f32], d: i64) -> Result<Vec<f64>> {
        let n = rows(x.len(), d, "x")?;
        if x_tilde.len() != x.len() {
            return Err(Error::invalid("x_tilde and x differ in length".into()));
        }
        let mut out = vec![0.0; n as usize];
        check(unsafe { ffi::ds_smoother_log_q(self.raw(), x_tilde.as_ptr(), x.as_ptr(), n, d,
                                              out.as_mut_ptr()) }, self.c())?;
        Ok(out)
    }
    /// grad_{x~} log q(x~ | x).
    pub fn score(&self, x_tilde: &[f32], x: &[f32], d: i64) -> Result<Vec<f32>> {
        let n = rows(x.len(), d, "x")?;
        if x_tilde.len() != x.len() {
            return Err(Error::invalid("x_tilde and x differ in length".into()));
        }
        let mut out = vec![0.0; x.len()];
        check(unsafe { ffi::ds_smoother_score(self.raw(), x_tilde.as_ptr(), x.as_ptr(), n, d,
                                              out.as_mut_ptr()) }, self.c())?;
        Ok(out)
    }
    /// Exact smoothing of a density tabulated on an nx-by-ny grid ([j*nx + i]).
    pub fn convolve_grid(&self, density: &[f64], nx: i64, ny: i64, x0: f64, dx: f64,
                         y0: f64, dy: f64) -> Result<Vec<f64>> {
        if density.len() as i64 != nx * ny {
            return Err(Error::invalid(format!("density has {} values, grid {nx}x{ny}",
                                              density.len())));
        }
        let mut out = vec![0.0; density.len()];
        check(unsafe { ffi::ds_smoother_convolve_grid(self.raw(), density.as_ptr(), nx, ny, x0,
                                                      dx, y0, dy, out.as_mut_ptr()) },
              self.c())?;
        Ok(out)
    }
    /// E[x | x~] at every grid point: nx*ny*dims values (dims = 1 if ny = 1, else 2).
    pub fn grid_posterior_mean(&self, density: &[f64], nx: i64, ny: i64, x0: f64, dx: f64,
                               y0: f64, dy: f64) -> Result<Vec<f64>> {
        if density.len() as i64 != nx * ny {
            return Err(Error::invalid(format!("density has {} values, grid {nx}x{ny}",
                                              density.len())));
        }
        let dims = if ny == 1 { 1 } else { 2 };
        let mut out = vec![0.0; density.len() * dims];
        check(unsafe { ffi::ds_smoother_grid_posterior_mean(self.raw(), density.as_ptr(), nx,
                                                            ny, x0, dx, y0, dy,
                                                            out.as_mut_ptr()) }, self.c())?;
        Ok(out)
    }
}

impl Drop for Smoother<'_> {
    fn drop(&mut self) {
        unsafe { ffi::ds_smoother_free(self.ptr.as_ptr()) }
    }
}

// ------------------------------------------------------------------------------------
// Model
// ------------------------------------------------------------------------------------

/// A model configuration (an options object: new options never break the ABI).
pub struct ModelConfig {
    ptr: NonNull<ffi::ds_model_config>,
}

impl ModelConfig {
    /// The default configuration of an architecture.
    pub fn new(arch: Arch) -> Result<ModelConfig> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::ds_model_config_create(arch as i32, &mut p) }, ptr::null())?;
        Ok(ModelConfig { ptr: NonNull::new(p).unwrap() })
    }
    /// A MADE of dimension `dim` with the header's defaults.
    pub fn made(dim: i64) -> Result<ModelConfig> {
        let mut c = ModelConfig::new(Arch::Made)?;
        c.set(ModelOption::Dim, dim)?;
        Ok(c)
    }
    /// Set an integer option (`ds_model_config_set_int`); chainable.
    pub fn set(&mut self, option: ModelOption, value: i64) -> Result<&mut Self> {
        self.set_raw(option as i32, value)
    }
    /// Any option number, for options newer than this binding.
    pub fn set_raw(&mut self, option: i32, value: i64) -> Result<&mut Self> {
        check(unsafe { ffi::ds_model_config_set_int(self.ptr.as_ptr(), option, value) },
              ptr::null())?;
        Ok(self)
    }
    /// Set a floating-point option (`ds_model_config_set_float`); chainable.
    pub fn set_float(&mut self, option: ModelFloatOption, value: f64) -> Result<&mut Self> {
        check(unsafe { ffi::ds_model_config_set_float(self.ptr.as_ptr(), option as i32,
                                                      value) }, ptr::null())?;
        Ok(self)
    }
    /// The hidden layer widths of a MADE; chainable.
    pub fn hidden(&mut self, widths: &[i64]) -> Result<&mut Self> {
        check(unsafe { ffi::ds_model_config_set_hidden(self.ptr.as_ptr(), widths.as_ptr(),
                                                       widths.len() as i32) }, ptr::null())?;
        Ok(self)
    }
    /// The architecture this configuration describes.
    pub fn arch(&self) -> Result<Arch> {
        let mut a = -1;
        check(unsafe { ffi::ds_model_config_get_arch(self.ptr.as_ptr(), &mut a) }, ptr::null())?;
        match a {
            0 => Ok(Arch::Made),
            1 => Ok(Arch::PixelCnnPp),
            2 => Ok(Arch::PixelCnn),
            _ => Err(Error::invalid(format!("architecture {a} is newer than this binding"))),
        }
    }
    /// The value of an option (an error for options the architecture does not have).
    pub fn get(&self, option: ModelOption) -> Result<i64> {
        self.get_raw(option as i32)
    }
    /// Any option number, for options newer than this binding.
    pub fn get_raw(&self, option: i32) -> Result<i64> {
        let mut v = 0;
        check(unsafe { ffi::ds_model_config_get_int(self.ptr.as_ptr(), option, &mut v) },
              ptr::null())?;
        Ok(v)
    }
    /// The value of a float option (an error for options the architecture does not have).
    pub fn get_float(&self, option: ModelFloatOption) -> Result<f64> {
        let mut v = 0.0;
        check(unsafe { ffi::ds_model_config_get_float(self.ptr.as_ptr(), option as i32,
                                                      &mut v) }, ptr::null())?;
        Ok(v)
    }
    /// The hidden layer widths.
    pub fn hidden_widths(&self) -> Result<Vec<i64>> {
        let mut count = 0;
        check(unsafe { ffi::ds_model_config_get_hidden(self.ptr.as_ptr(), ptr::null_mut(), 0,
                                                       &mut count) }, ptr::null())?;
        let mut widths = vec![0; count as usize];
        check(unsafe { ffi::ds_model_config_get_hidden(self.ptr.as_ptr(), widths.as_mut_ptr(),
                                                       count, &mut count) }, ptr::null())?;
        Ok(widths)
    }
}

impl Drop for ModelConfig {
    fn drop(&mut self) {
        unsafe { ffi::ds_model_config_free(self.ptr.as_ptr()) }
    }
}

/// An autoregressive density p(x) or p(x | c). Read-only calls take `&self` and may run
/// from many threads at once; training borrows it mutably through a [`Trainer`].
pub struct Model<'c> {
    ptr: NonNull<ffi::ds_model>,
    ctx: &'c Context,
}
unsafe impl Send for Model<'_> {}
unsafe impl Sync for Model<'_> {}

impl<'c> Model<'c> {
    /// A freshly initialised model of the configuration.
    pub fn new(ctx: &'c Context, cfg: &ModelConfig) -> Result<Model<'c>> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::ds_model_create(ctx.as_ptr(), cfg.ptr.as_ptr(), &mut p) },
              ctx.as_ptr())?;
        Ok(Model { ptr: NonNull::new(p).unwrap(), ctx })
    }
    /// Load a checkpoint written by [`Model::save`].
    pub fn load(ctx: &'c Context, path: impl AsRef<Path>) -> Result<Model<'c>> {
        let path = path_cstring(path.as_ref())?;
        let mut p = ptr::null_mut();
        check(unsafe { ffi::ds_model_load(ctx.as_ptr(), path.as_ptr(), &mut p) },
              ctx.as_ptr())?;
        Ok(Model { ptr: NonNull::new(p).unwrap(), ctx })
    }
    /// Write the model (configuration and weights) to a checkpoint file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path_cstring(path.as_ref())?;
        check(unsafe { ffi::ds_model_save(self.raw(), path.as_ptr()) }, self.c())
    }
    /// Copy the weights of `src`, a model of the same configuration.
    pub fn copy_weights_from(&mut self, src: &Model) -> Result<()> {
        check(unsafe { ffi::ds_model_copy_weights(self.ptr.as_ptr(), src.raw()) }, self.c())
    }
    /// A new configuration equal to this model's (also for a loaded model).
    pub fn config(&self) -> Result<ModelConfig> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::ds_model_get_config(self.raw(), &mut p) }, self.c())?;
        Ok(ModelConfig { ptr: NonNull::new(p).unwrap() })
    }
    fn raw(&self) -> *const ffi::ds_model {
        self.ptr.as_ptr()
    }
    fn c(&self) -> *const ffi::ds_context {
        self.ctx.as_ptr()
    }
    /// D, the number of dimensions of x.
    pub fn dim(&self) -> i64 {
        unsafe { ffi::ds_model_dim(self.raw()) }
    }
    /// C, the number of conditioning dimensions (0: unconditional).
    pub fn cond_dim(&self) -> i64 {
        unsafe { ffi::ds_model_cond_dim(self.raw()) }
    }
    /// The number of trainable parameters.
    pub fn param_count(&self) -> i64 {
        unsafe { ffi::ds_model_param_count(self.raw()) }
    }
    /// (n, cond pointer) for x of n rows and the optional conditioning input.
    fn inputs(&self, x: &[f32], cond: Option<&[f32]>) -> Result<i64> {
        let n = rows(x.len(), self.dim(), "x")?;
        self.check_cond(cond, n)?;
        Ok(n)
    }
    fn check_cond(&self, cond: Option<&[f32]>, n: i64) -> Result<()> {
        let c = self.cond_dim();
        match cond {
            None if c == 0 => Ok(()),
            Some(v) if c > 0 && v.len() as i64 == n * c => Ok(()),
            _ => Err(Error::invalid(format!(
                "cond must be {} for this model (cond_dim {c}, {n} rows)",
                if c == 0 { "None".to_string() } else { format!("{} values", n * c) }))),
        }
    }
    /// log p(x_i | c_i) per example, in nats.
    pub fn log_prob(&self, x: &[f32], cond: Option<&[f32]>) -> Result<Vec<f64>> {
        let n = self.inputs(x, cond)?;
        let mut out = vec![0.0; n as usize];
        check(unsafe { ffi::ds_model_log_prob(self.raw(), x.as_ptr(), opt_ptr(cond), n,
                                              out.as_mut_ptr()) }, self.c())?;
        Ok(out)
    }
    /// grad_x log p(x | c), n*D values.
    pub fn score(&self, x: &[f32], cond: Option<&[f32]>, kind: ScoreKind) -> Result<Vec<f32>> {
        let n = self.inputs(x, cond)?;
        let mut out = vec![0.0; x.len()];
        check(unsafe { ffi::ds_model_score(self.raw(), x.as_ptr(), opt_ptr(cond), n,
                                           kind as i32, out.as_mut_ptr(), ptr::null_mut()) },
              self.c())?;
        Ok(out)
    }
    /// n samples (n*D values); the draw of example i depends only on (seed, stream, i).
    pub fn sample(&self, cond: Option<&[f32]>, n: i64, stream: u64, method: SampleMethod)
                  -> Result<Vec<f32>> {
        if n < 1 {
            return Err(Error::invalid(format!("n = {n} must be >= 1")));
        }
        self.check_cond(cond, n)?;
        let mut out = vec![0.0; (n * self.dim()) as usize];
        check(unsafe { ffi::ds_model_sample(self.raw(), opt_ptr(cond), n, stream,
                                            method as i32, out.as_mut_ptr()) }, self.c())?;
        Ok(out)
    }
}

impl Drop for Model<'_> {
    fn drop(&mut self) {
        unsafe { ffi::ds_model_free(self.ptr.as_ptr()) }
    }
}

// ------------------------------------------------------------------------------------
// Trainer
// ------------------------------------------------------------------------------------

/// A trainer configuration (batch, steps, schedule, Adam's settings).
pub struct TrainerConfig {
    ptr: NonNull<ffi::ds_trainer_config>,
}

impl TrainerConfig {
    /// The default configuration.
    pub fn new() -> Result<TrainerConfig> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::ds_trainer_config_create(&mut p) }, ptr::null())?;
        Ok(TrainerConfig { ptr: NonNull::new(p).unwrap() })
    }
    /// Set an integer option (`ds_trainer_config_set_int`); chainable.
    pub fn set(&mut self, option: TrainerOption, value: i64) -> Result<&mut Self> {
        check(unsafe { ffi::ds_trainer_config_set_int(self.ptr.as_ptr(), option as i32,
                                                      value) }, ptr::null())?;
        Ok(self)
    }
    /// Set a floating-point option (`ds_trainer_config_set_float`); chainable.
    pub fn set_float(&mut self, option: TrainerFloatOption, value: f64) -> Result<&mut Self> {
        check(unsafe { ffi::ds_trainer_config_set_float(self.ptr.as_ptr(), option as i32,
                                                        value) }, ptr::null())?;
        Ok(self)
    }
    /// The value of an integer trainer option.
    pub fn get(&self, option: TrainerOption) -> Result<i64> {
        let mut v = 0;
        check(unsafe { ffi::ds_trainer_config_get_int(self.ptr.as_ptr(), option as i32,
                                                      &mut v) }, ptr::null())?;
        Ok(v)
    }
    /// The value of a float trainer option.
    pub fn get_float(&self, option: TrainerFloatOption) -> Result<f64> {
        let mut v = 0.0;
        check(unsafe { ffi::ds_trainer_config_get_float(self.ptr.as_ptr(), option as i32,
                                                        &mut v) }, ptr::null())?;
        Ok(v)
    }
}

impl Drop for TrainerConfig {
    fn drop(&mut self) {
        unsafe { ffi::ds_trainer_config_free(self.ptr.as_ptr()) }
    }
}

/// One progress report during training.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Steps done (over all calls).
    pub step: i64,
    /// The configured total (the schedule's horizon).
    pub total_steps: i64,
    /// Mean loss (nats/example) since the previous report.
    pub loss: f64,
    /// Throughput since the previous report.
    pub examples_per_second: f64,
}

/// Adam training of a model (mode chosen by the model and the smoother, as in
/// `ds_trainer_create`). Holds the model mutably for its whole life.
pub struct Trainer<'a> {
    ptr: NonNull<ffi::ds_trainer>,
    ctx: *const ffi::ds_context,
    dim: i64,
    cond_dim: i64,
    stage2: bool,
    _borrows: PhantomData<&'a mut ()>,
}
unsafe impl Send for Trainer<'_> {}

struct ProgressState<F> {
    f: F,
    panic: Option<Box<dyn std::any::Any + Send>>,
}

unsafe extern "C" fn progress_trampoline<F: FnMut(Progress) -> bool>(
    user: *mut c_void, step: i64, total_steps: i64, loss: f64, rate: f64) -> i32 {
    let state = &mut *(user as *mut ProgressState<F>);
    if state.panic.is_some() {
        return 1;
    }
    let p = Progress { step, total_steps, loss, examples_per_second: rate };
    // a panic must not unwind through C: keep it, stop training, resume it afterwards
    match panic::catch_unwind(AssertUnwindSafe(|| (state.f)(p))) {
        Ok(stop) => stop as i32,
        Err(payload) => {
            state.panic = Some(payload);
            1
        }
    }
}

impl<'a> Trainer<'a> {
    /// A trainer for `model`: direct (no smoother), stage 1 (smoother, unconditional
    /// model) or stage 2 (smoother, model with cond_dim = dim).
    pub fn new<'c: 'a>(model: &'a mut Model<'c>, cfg: &TrainerConfig,
                       smoother: Option<&'a Smoother<'c>>) -> Result<Trainer<'a>> {
        let mut p = ptr::null_mut();
        let sm = smoother.map_or(ptr::null(), |s| s.raw());
        check(unsafe { ffi::ds_trainer_create(model.ptr.as_ptr(), cfg.ptr.as_ptr(), sm,
                                              &mut p) }, model.c())?;
        Ok(Trainer {
            ptr: NonNull::new(p).unwrap(),
            ctx: model.c(),
            dim: model.dim(),
            cond_dim: model.cond_dim(),
            stage2: smoother.is_some() && model.cond_dim() > 0,
            _borrows: PhantomData,
        })
    }
    /// Adam steps done so far.
    pub fn step(&self) -> i64 {
        unsafe { ffi::ds_trainer_step(self.ptr.as_ptr()) }
    }
    /// A new configuration equal to this trainer's.
    pub fn config(&self) -> Result<TrainerConfig> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::ds_trainer_get_config(self.ptr.as_ptr(), &mut p) }, self.ctx)?;
        Ok(TrainerConfig { ptr: NonNull::new(p).unwrap() })
    }
    fn inputs(&self, x: &[f32], cond: Option<&[f32]>) -> Result<i64> {
        let n = rows(x.len(), self.dim, "x")?;
        let want = if self.stage2 { 0 } else { self.cond_dim };
        let ok = match cond {
            None => want == 0,
            Some(c) => want > 0 && c.len() as i64 == n * want,
        };
        if !ok {
            return Err(Error::invalid(format!(
                "cond must be {} for this trainer",
                if want == 0 { "None".to_string() } else { format!("{} values", n * want) })));
        }
        Ok(n)
    }
    /// Run `steps` more steps; returns the mean loss (nats per example).
    pub fn train(&mut self, x: &[f32], cond: Option<&[f32]>, steps: i64) -> Result<f64> {
        let n = self.inputs(x, cond)?;
        let mut loss = 0.0;
        check(unsafe { ffi::ds_trainer_train(self.ptr.as_ptr(), x.as_ptr(), opt_ptr(cond), n,
                                             steps, &mut loss) }, self.ctx)?;
        Ok(loss)
    }
    /// As [`Trainer::train`], calling `progress` every `every` steps and after the last;
    /// returning true stops training with `Err` of status [`Status::Cancelled`] (the
    /// trainer stays usable). A panic in `progress` stops training and is resumed here.
    pub fn train_with_progress<F: FnMut(Progress) -> bool>(
        &mut self, x: &[f32], cond: Option<&[f32]>, steps: i64, every: i64, progress: F)
        -> Result<f64> {
        let n = self.inputs(x, cond)?;
        let mut state = ProgressState { f: progress, panic: None };
        let user = &mut state as *mut ProgressState<F> as *mut c_void;
        let mut loss = 0.0;
        let st = unsafe {
            check(ffi::ds_trainer_set_progress(self.ptr.as_ptr(),
                                               Some(progress_trampoline::<F>), user, every),
                  self.ctx)?;
            let st = ffi::ds_trainer_train(self.ptr.as_ptr(), x.as_ptr(), opt_ptr(cond), n,
                                           steps, &mut loss);
            ffi::ds_trainer_set_progress(self.ptr.as_ptr(), None, ptr::null_mut(), 0);
            st
        };
        if let Some(payload) = state.panic.take() {
            panic::resume_unwind(payload);
        }
        check(st, self.ctx)?;
        Ok(loss)
    }
    /// Mean NLL of held-out data under the trainer's objective.
    pub fn evaluate(&mut self, x: &[f32], cond: Option<&[f32]>, stream: u64) -> Result<f64> {
        let n = self.inputs(x, cond)?;
        let mut nll = 0.0;
        check(unsafe { ffi::ds_trainer_evaluate(self.ptr.as_ptr(), x.as_ptr(), opt_ptr(cond),
                                                n, stream, &mut nll) }, self.ctx)?;
        Ok(nll)
    }
    /// Write a training checkpoint (model, optimizer state, step) to `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path_cstring(path.as_ref())?;
        check(unsafe { ffi::ds_trainer_save(self.ptr.as_ptr(), path.as_ptr()) }, self.ctx)
    }
    /// Continue from a checkpoint written by [`Trainer::save`] for the same configuration.
    pub fn resume(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path_cstring(path.as_ref())?;
        check(unsafe { ffi::ds_trainer_resume(self.ptr.as_ptr(), path.as_ptr()) }, self.ctx)
    }
}

impl Drop for Trainer<'_> {
    fn drop(&mut self) {
        unsafe { ffi::ds_trainer_free(self.ptr.as_ptr()) }
    }
}

// ------------------------------------------------------------------------------------
// Denoisers and the two-stage model
// ------------------------------------------------------------------------------------

/// Undoes the smoothing: gradient (one Tweedie step) or conditional (a stage-2 model).
pub struct Denoiser<'a> {
    ptr: NonNull<ffi::ds_denoiser>,
    ctx: *const ffi::ds_context,
    dim: i64,
    _borrows: PhantomData<&'a ()>,
}
unsafe impl Send for Denoiser<'_> {}

impl<'a> Denoiser<'a> {
    /// x^ = x~ + sigma^2 grad log p1(x~).
    pub fn gradient<'c: 'a>(stage1: &'a Model<'c>, sm: &'a Smoother<'c>, kind: ScoreKind)
                            -> Result<Denoiser<'a>> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::ds_denoiser_create_gradient(stage1.raw(), sm.raw(), kind as i32,
                                                        &mut p) }, stage1.c())?;
        Ok(Denoiser { ptr: NonNull::new(p).unwrap(), ctx: stage1.c(), dim: stage1.dim(),
                      _borrows: PhantomData })
    }
    /// x ~ p2(x | x~) or its greedy conditional mean.
    pub fn conditional<'c: 'a>(stage2: &'a Model<'c>, output: ConditionalOutput)
                               -> Result<Denoiser<'a>> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::ds_denoiser_create_conditional(stage2.raw(), output as i32,
                                                           &mut p) }, stage2.c())?;
        Ok(Denoiser { ptr: NonNull::new(p).unwrap(), ctx: stage2.c(), dim: stage2.dim(),
                      _borrows: PhantomData })
    }
    /// Denoise n examples x~ (n * D values), drawing randomness from `stream`.
    pub fn apply(&self, x_tilde: &[f32], stream: u64) -> Result<Vec<f32>> {
        let n = rows(x_tilde.len(), self.dim, "x_tilde")?;
        let mut out = vec![0.0; x_tilde.len()];
        check(unsafe { ffi::ds_denoiser_apply(self.ptr.as_ptr(), x_tilde.as_ptr(), n, stream,
                                              out.as_mut_ptr()) }, self.ctx)?;
        Ok(out)
    }
}

impl Drop for Denoiser<'_> {
    fn drop(&mut self) {
        unsafe { ffi::ds_denoiser_free(self.ptr.as_ptr()) }
    }
}

/// Importance-weighted lower bound on log p(x) with `k` samples, per example.
pub fn two_stage_log_prob_bound(stage1: &Model, stage2: &Model, sm: &Smoother, x: &[f32],
                                k: i32, stream: u64) -> Result<Vec<f64>> {
    let n = rows(x.len(), stage1.dim(), "x")?;
    let mut out = vec![0.0; n as usize];
    check(unsafe { ffi::ds_two_stage_log_prob_bound(stage1.raw(), stage2.raw(), sm.raw(),
                                                    x.as_ptr(), n, k, stream,
                                                    out.as_mut_ptr()) }, stage1.c())?;
    Ok(out)
}

/// log p(x) by quadrature over a grid of x~ (D <= 2), per example.
pub fn two_stage_log_prob_grid(stage1: &Model, stage2: &Model, x: &[f32], lo: f64, hi: f64,
                               points: i32) -> Result<Vec<f64>> {
    let n = rows(x.len(), stage1.dim(), "x")?;
    let mut out = vec![0.0; n as usize];
    check(unsafe { ffi::ds_two_stage_log_prob_grid(stage1.raw(), stage2.raw(), x.as_ptr(), n,
                                                   lo, hi, points, out.as_mut_ptr()) },
          stage1.c())?;
    Ok(out)
}

/// n two-stage samples: x~ from stage 1, then the denoiser.
pub fn two_stage_sample(stage1: &Model, dn: &Denoiser, n: i64, stream: u64)
                        -> Result<Vec<f32>> {
    if n < 1 {
        return Err(Error::invalid(format!("n = {n} must be >= 1")));
    }
    let mut out = vec![0.0; (n * stage1.dim()) as usize];
    check(unsafe { ffi::ds_two_stage_sample(stage1.raw(), dn.ptr.as_ptr(), n, stream,
                                            out.as_mut_ptr()) }, stage1.c())?;
    Ok(out)
}

// ------------------------------------------------------------------------------------
// Sample quality
// ------------------------------------------------------------------------------------

/// Improved precision and recall (Kynkaanniemi et al. 2019) of `fake` against `real`,
/// both flat row-major with rows of `dim` features, with k-th nearest neighbour balls
/// (k = 3 in the paper; 1 <= k < both set sizes). Returns (precision, recall).
pub fn precision_recall(ctx: &Context, real: &[f32], fake: &[f32], dim: i64, k: i32)
                        -> Result<(f64, f64)> {
    let n_real = rows(real.len(), dim, "real")?;
    let n_fake = rows(fake.len(), dim, "fake")?;
    let (mut precision, mut recall) = (0.0, 0.0);
    check(unsafe { ffi::ds_precision_recall(ctx.as_ptr(), real.as_ptr(), n_real,
                                            fake.as_ptr(), n_fake, dim, k, &mut precision,
                                            &mut recall) }, ctx.as_ptr())?;
    Ok((precision, recall))
}
