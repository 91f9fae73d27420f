# dsmooth.jl — Julia bindings to libdsmooth through `ccall` (include/dsmooth.h is the manual).
#
# UNTESTED HERE: no Julia runtime is available on the project's machines. Every call below
# uses only what the header promises for FFI — opaque pointers, int32/int64/uint64/double
# scalars, pointers to caller-owned arrays, plain C function pointers with `void *user` —
# the same calling conventions the Python ctypes bindings (examples/python, tested in CI
# bit for bit against C) and the Rust crate (examples/rust, `cargo test`) exercise.
#
# Layout: Julia arrays are column-major, so a Matrix{Float32} of size (D, n) — one example
# per column — has exactly the memory of the library's row-major (n, D) array and is
# passed without a copy. Results come back the same way.
#
# Handles are owned by Julia objects: `close(h)` frees (idempotent) and a finalizer frees
# what was forgotten. A handle keeps its parents alive (a model its context, a trainer its
# model and smoother); a parent closed while children are open is freed when its last
# child is, so the library never sees a parent freed before its children, whatever order
# the garbage collector finalizes them in.
#
# Library: ENV["DSMOOTH_LIB_DIR"] (a directory, as for Python and Rust), else the deprecated
# ENV["DSMOOTH_LIBRARY"] (a file), else <repo>/build/lib/libdsmooth.so, else the system
# loader's libdsmooth.so.0.
#
#   include("examples/julia/dsmooth.jl"); using .DSmooth
#   ctx = Context(threads = 2, seed = 1)
#   sm  = Smoother(ctx, DS_NOISE_GAUSSIAN, 0.5)
#   xt  = smooth(sm, zeros(Float32, 2, 4); stream = 0)   # 4 examples of dimension 2
module DSmooth

export Context, Smoother, Model, Trainer, GradientDenoiser, ConditionalDenoiser, DsmoothError,
       smooth, log_q, score, entropy, convolve_grid, grid_posterior_mean,
       log_prob, sample, save, load_model, train!, evaluate, save_trainer, resume!, trainer_step,
       denoise, two_stage_log_prob_bound, two_stage_log_prob_grid, two_stage_sample,
       precision_recall, version_string, version, threads, seed, family, sigma, param_count, copy_weights!,
       free_param_count, model_seed, get_weights, set_weights!, smoothing, trainer_seed,
       ema_to_model!, train_source!,
       DS_NOISE_GAUSSIAN, DS_NOISE_LAPLACE, DS_NOISE_UNIFORM,
       DS_SCORE_EXACT, DS_SCORE_LOCAL, DS_SAMPLE_BISECTION, DS_SAMPLE_GUMBEL, DS_SAMPLE_NAIVE,
       DS_CONDITIONAL_SAMPLE, DS_CONDITIONAL_MEAN,
       DS_LR_CONSTANT, DS_LR_EXPONENTIAL, DS_LR_COSINE,
       DS_ARCH_MADE, DS_ARCH_PIXELCNNPP, DS_MODEL_CHANNELS, DS_MODEL_HEIGHT, DS_MODEL_WIDTH,
       DS_MODEL_FILTERS, DS_MODEL_RESNETS, DS_MODEL_COND_LAYOUT, DS_MODEL_COND_CONVS,
       DS_MODEL_DROPOUT, DS_COND_CHANNELS, DS_COND_STACKED,
       DS_HEAD_CONTINUOUS, DS_HEAD_DISCRETIZED, DS_ACTIVATION_RELU, DS_ACTIVATION_TANH,
       DS_ACTIVATION_ELU, DS_REDUCE_DETERMINISTIC, DS_REDUCE_FAST,
       DS_REDUCE_DETERMINISTIC_SCATTER

const libdsmooth = let
    dir = get(ENV, "DSMOOTH_LIB_DIR", "")          # the convention shared with Python and Rust
    env = get(ENV, "DSMOOTH_LIBRARY", "")          # deprecated: a path to the file
    tree = normpath(joinpath(@__DIR__, "..", "..", "build", "lib", "libdsmooth.so"))
    !isempty(dir) ? joinpath(dir, "libdsmooth.so.0") : !isempty(env) ? env :
        isfile(tree) ? tree : "libdsmooth.so.0"
end

# ---- enums (values pinned by the header) ---------------------------------------------
# every enum of include/dsmooth.h; tests/ffi/check_enum_values.py compares the values
const DS_OK = Int32(0)
const DS_ERR_INVALID_ARGUMENT, DS_ERR_OUT_OF_MEMORY, DS_ERR_IO, DS_ERR_BAD_FORMAT,
      DS_ERR_UNSUPPORTED_VERSION, DS_ERR_SHAPE_MISMATCH, DS_ERR_NUMERIC, DS_ERR_BAD_STATE,
      DS_ERR_CANCELLED, DS_ERR_UNSUPPORTED, DS_ERR_THREAD, DS_ERR_INTERNAL = Int32.(1:12)
# DS_ERR_INTERNAL: a library bug (since 0.4; BAD_STATE before)
const DS_LOG_ERROR, DS_LOG_WARN, DS_LOG_INFO, DS_LOG_DEBUG = Int32.(0:3)
const DS_NOISE_GAUSSIAN, DS_NOISE_LAPLACE, DS_NOISE_UNIFORM = Int32(0), Int32(1), Int32(2)
const DS_ARCH_MADE, DS_ARCH_PIXELCNNPP, DS_ARCH_PIXELCNN = Int32.(0:2)
const DS_MODEL_DIM, DS_MODEL_COND_DIM, DS_MODEL_COMPONENTS, DS_MODEL_HEAD, DS_MODEL_BINS,
      DS_MODEL_ACTIVATION, DS_MODEL_RESIDUAL, DS_MODEL_CHANNELS, DS_MODEL_HEIGHT,
      DS_MODEL_WIDTH, DS_MODEL_FILTERS, DS_MODEL_RESNETS, DS_MODEL_LAYERS, DS_MODEL_GATED,
      DS_MODEL_COND_LAYOUT, DS_MODEL_COND_CONVS, DS_MODEL_SEED = Int32.(0:16)
const DS_MODEL_BIN_LO, DS_MODEL_BIN_HI, DS_MODEL_DROPOUT, DS_MODEL_COND_SHARE = Int32.(0:3)
const DS_HEAD_CONTINUOUS, DS_HEAD_DISCRETIZED = Int32(0), Int32(1)
const DS_ACTIVATION_RELU, DS_ACTIVATION_TANH, DS_ACTIVATION_ELU = Int32.(0:2)
const DS_COND_CHANNELS, DS_COND_STACKED = Int32(0), Int32(1)
const DS_SCORE_EXACT, DS_SCORE_LOCAL = Int32(0), Int32(1)
const DS_SAMPLE_BISECTION, DS_SAMPLE_GUMBEL = Int32(0), Int32(1)
const DS_SAMPLE_NAIVE = Int32(0x100)  # flag: OR into the method for the naive sampler
const DS_LR_CONSTANT, DS_LR_EXPONENTIAL, DS_LR_COSINE = Int32(0), Int32(1), Int32(2)
const DS_TRAIN_BATCH, DS_TRAIN_TOTAL_STEPS, DS_TRAIN_SCHEDULE, DS_TRAIN_SEED,
      DS_TRAIN_DATA_INIT = Int32.(0:4)
const DS_TRAIN_LR, DS_TRAIN_BETA1, DS_TRAIN_BETA2, DS_TRAIN_EPSILON, DS_TRAIN_WEIGHT_DECAY,
      DS_TRAIN_LR_DECAY, DS_TRAIN_LR_MIN, DS_TRAIN_CLIP_NORM, DS_TRAIN_EMA_DECAY = Int32.(0:8)
const DS_CONDITIONAL_SAMPLE, DS_CONDITIONAL_MEAN = Int32(0), Int32(1)
# data-parallel training (set_distributed!): the reduction, and the op a collective gets
const DS_REDUCE_DETERMINISTIC, DS_REDUCE_FAST, DS_REDUCE_DETERMINISTIC_SCATTER = Int32.(0:2)
const DS_COLLECTIVE_ALLGATHER, DS_COLLECTIVE_SUM_FLOAT, DS_COLLECTIVE_SUM_DOUBLE,
      DS_COLLECTIVE_ALLTOALL = Int32.(0:3)

version_string() = unsafe_string(ccall((:ds_version_string, libdsmooth), Cstring, ()))
version() = ccall((:ds_version, libdsmooth), UInt32, ())

# ---- errors ---------------------------------------------------------------------------
struct DsmoothError <: Exception
    status::Int32
    name::String
    detail::String
end
Base.showerror(io::IO, e::DsmoothError) = print(io, e.name, ": ", e.detail)

function check(status::Int32, ctx::Ptr{Cvoid})
    status == DS_OK && return nothing
    name = unsafe_string(ccall((:ds_status_str, libdsmooth), Cstring, (Int32,), status))
    detail = unsafe_string(ccall((:ds_context_last_error, libdsmooth), Cstring,
                                 (Ptr{Cvoid},), ctx))
    throw(DsmoothError(status, name, detail))
end

# ---- handles ----------------------------------------------------------------------------
abstract type Handle end
# Every concrete handle has: ptr, ctx (the context pointer for error details), parents,
# nchildren, pending. freefn(h) names its ds_*_free.

function adopt!(h::Handle)
    for p in h.parents
        p.nchildren += 1
    end
    finalizer(close, h)
    h
end

function Base.close(h::Handle)
    h.ptr == C_NULL && return nothing
    if h.nchildren > 0          # children still open: free when the last one goes
        h.pending = true
        return nothing
    end
    ptr, h.ptr = h.ptr, C_NULL
    freefn(h, ptr)
    for p in h.parents
        p.nchildren -= 1
        p.pending && p.nchildren == 0 && close(p)
    end
    nothing
end

ptrof(h::Handle) = h.ptr == C_NULL ? error("$(typeof(h)) is closed") : h.ptr

macro handle(name)
    esc(quote
        mutable struct $name <: Handle
            ptr::Ptr{Cvoid}
            ctx::Ptr{Cvoid}
            parents::Vector{Handle}
            nchildren::Int
            pending::Bool
            dim::Int64
            cond_dim::Int64
            keep::Any   # objects that must outlive the handle (callbacks)
        end
    end)
end
@handle Context
@handle Smoother
@handle Model
@handle Trainer
@handle Denoiser
const GradientDenoiser = Denoiser
const ConditionalDenoiser = Denoiser

newhandle(T, ptr, ctx, parents; dim = 0, cond_dim = 0) =
    adopt!(T(ptr, ctx, Handle[parents...], 0, false, dim, cond_dim, nothing))

freefn(::Context, p) = ccall((:ds_context_free, libdsmooth), Cvoid, (Ptr{Cvoid},), p)
freefn(::Smoother, p) = ccall((:ds_smoother_free, libdsmooth), Cvoid, (Ptr{Cvoid},), p)
freefn(::Model, p) = ccall((:ds_model_free, libdsmooth), Cvoid, (Ptr{Cvoid},), p)
freefn(::Trainer, p) = ccall((:ds_trainer_free, libdsmooth), Cvoid, (Ptr{Cvoid},), p)
freefn(::Denoiser, p) = ccall((:ds_denoiser_free, libdsmooth), Cvoid, (Ptr{Cvoid},), p)

# ---- context ----------------------------------------------------------------------------
function Context(; threads::Integer = 0, seed::Integer = 0, memory_limit::Integer = 0)
    opts = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ds_context_options_create, libdsmooth), Int32, (Ref{Ptr{Cvoid}},), opts),
          C_NULL)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    try
        check(ccall((:ds_context_options_set_threads, libdsmooth), Int32,
                    (Ptr{Cvoid}, Int32), opts[], threads), C_NULL)
        check(ccall((:ds_context_options_set_seed, libdsmooth), Int32,
                    (Ptr{Cvoid}, UInt64), opts[], seed), C_NULL)
        check(ccall((:ds_context_options_set_memory_limit, libdsmooth), Int32,
                    (Ptr{Cvoid}, UInt64), opts[], memory_limit), C_NULL)
        check(ccall((:ds_context_create, libdsmooth), Int32, (Ptr{Cvoid}, Ref{Ptr{Cvoid}}),
                    opts[], out), C_NULL)
    finally
        ccall((:ds_context_options_free, libdsmooth), Cvoid, (Ptr{Cvoid},), opts[])
    end
    newhandle(Context, out[], out[], ())
end

threads(ctx::Context) = ccall((:ds_context_threads, libdsmooth), Int32, (Ptr{Cvoid},),
                              ptrof(ctx))
seed(ctx::Context) = ccall((:ds_context_seed, libdsmooth), UInt64, (Ptr{Cvoid},), ptrof(ctx))
memory_in_use(ctx::Context) = ccall((:ds_context_memory_in_use, libdsmooth), UInt64,
                                    (Ptr{Cvoid},), ptrof(ctx))
memory_peak(ctx::Context) = ccall((:ds_context_memory_peak, libdsmooth), UInt64,
                                  (Ptr{Cvoid},), ptrof(ctx))
function last_error_copy(ctx::Context)
    n = ccall((:ds_context_last_error_r, libdsmooth), Int64, (Ptr{Cvoid}, Ptr{UInt8}, Int64),
              ptrof(ctx), C_NULL, 0)
    buf = Vector{UInt8}(undef, n + 1)
    ccall((:ds_context_last_error_r, libdsmooth), Int64, (Ptr{Cvoid}, Ptr{UInt8}, Int64),
          ptrof(ctx), buf, n + 1)
    String(buf[1:n])
end
# (ds_context_options_set_allocator / _set_log are not wrapped: Julia callbacks that may
# run while the library holds its locks are more trouble than they are worth here.)

# ---- smoother ---------------------------------------------------------------------------
function Smoother(ctx::Context, family::Integer, sigma::Real)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ds_smoother_create, libdsmooth), Int32,
                (Ptr{Cvoid}, Int32, Cdouble, Ref{Ptr{Cvoid}}), ptrof(ctx), family, sigma, out),
          ctx.ptr)
    newhandle(Smoother, out[], ctx.ptr, (ctx,))
end

family(sm::Smoother) = ccall((:ds_smoother_family, libdsmooth), Int32, (Ptr{Cvoid},), ptrof(sm))
sigma(sm::Smoother) = ccall((:ds_smoother_sigma, libdsmooth), Cdouble, (Ptr{Cvoid},), ptrof(sm))
seed(sm::Smoother) = ccall((:ds_smoother_seed, libdsmooth), UInt64, (Ptr{Cvoid},), ptrof(sm))
entropy(sm::Smoother) = ccall((:ds_smoother_entropy, libdsmooth), Cdouble, (Ptr{Cvoid},),
                              ptrof(sm))

"x̃ = x + noise; x is (d, n): one example per column."
function smooth(sm::Smoother, x::Matrix{Float32}; stream::Integer = 0)
    out = similar(x)
    check(ccall((:ds_smoother_apply, libdsmooth), Int32,
                (Ptr{Cvoid}, Ptr{Float32}, Int64, Int64, UInt64, Ptr{Float32}),
                ptrof(sm), x, size(x, 2), size(x, 1), stream, out), sm.ctx)
    out
end

function log_q(sm::Smoother, x_tilde::Matrix{Float32}, x::Matrix{Float32})
    size(x_tilde) == size(x) || throw(DimensionMismatch("x_tilde and x"))
    out = Vector{Float64}(undef, size(x, 2))
    check(ccall((:ds_smoother_log_q, libdsmooth), Int32,
                (Ptr{Cvoid}, Ptr{Float32}, Ptr{Float32}, Int64, Int64, Ptr{Float64}),
                ptrof(sm), x_tilde, x, size(x, 2), size(x, 1), out), sm.ctx)
    out
end

function score(sm::Smoother, x_tilde::Matrix{Float32}, x::Matrix{Float32})
    size(x_tilde) == size(x) || throw(DimensionMismatch("x_tilde and x"))
    out = similar(x)
    check(ccall((:ds_smoother_score, libdsmooth), Int32,
                (Ptr{Cvoid}, Ptr{Float32}, Ptr{Float32}, Int64, Int64, Ptr{Float32}),
                ptrof(sm), x_tilde, x, size(x, 2), size(x, 1), out), sm.ctx)
    out
end

"Smooth a density tabulated on a grid; density is (nx, ny) (column-major = the C [j*nx+i])."
function convolve_grid(sm::Smoother, density::AbstractVecOrMat{Float64}, x0, dx, y0 = 0.0,
                       dy = 1.0)
    d = Array{Float64}(density)
    out = similar(d)
    check(ccall((:ds_smoother_convolve_grid, libdsmooth), Int32,
                (Ptr{Cvoid}, Ptr{Float64}, Int64, Int64, Cdouble, Cdouble, Cdouble, Cdouble,
                 Ptr{Float64}), ptrof(sm), d, size(d, 1), size(d, 2), x0, dx, y0, dy, out),
          sm.ctx)
    out
end

"E[x | x̃] on the grid: (1, nx) for a 1-D grid, (2, nx, ny) for a 2-D grid."
function grid_posterior_mean(sm::Smoother, density::AbstractVecOrMat{Float64}, x0, dx,
                             y0 = 0.0, dy = 1.0)
    d = Array{Float64}(density)
    nx, ny = size(d, 1), size(d, 2)
    out = ny == 1 ? Array{Float64}(undef, 1, nx) : Array{Float64}(undef, 2, nx, ny)
    check(ccall((:ds_smoother_grid_posterior_mean, libdsmooth), Int32,
                (Ptr{Cvoid}, Ptr{Float64}, Int64, Int64, Cdouble, Cdouble, Cdouble, Cdouble,
                 Ptr{Float64}), ptrof(sm), d, nx, ny, x0, dx, y0, dy, out), sm.ctx)
    out
end

# ---- model ------------------------------------------------------------------------------
"""A model: Model(ctx; dim = 2, cond_dim = 0, components = 5, hidden = [64, 64], ...), a
MADE by default. Other options through `ints` / `floats` (option => value), e.g. a stacked
conditional PixelCNN++ of 28x28 images: Model(ctx; arch = DS_ARCH_PIXELCNNPP, dim = 784,
cond_dim = 784, ints = Dict(DS_MODEL_HEIGHT => 28, DS_MODEL_WIDTH => 28,
DS_MODEL_COND_LAYOUT => DS_COND_STACKED))."""
function Model(ctx::Context; dim::Integer, cond_dim::Integer = 0, components::Integer = 5,
               hidden::AbstractVector{<:Integer} = [64, 64], ints = Dict{Int32,Int64}(),
               floats = Dict{Int32,Float64}(), arch::Integer = DS_ARCH_MADE)
    cfg = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ds_model_config_create, libdsmooth), Int32, (Int32, Ref{Ptr{Cvoid}}),
                arch, cfg), C_NULL)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    try
        setint(o, v) = check(ccall((:ds_model_config_set_int, libdsmooth), Int32,
                                   (Ptr{Cvoid}, Int32, Int64), cfg[], o, v), C_NULL)
        setint(DS_MODEL_DIM, dim)
        setint(DS_MODEL_COND_DIM, cond_dim)
        setint(DS_MODEL_COMPONENTS, components)
        for (o, v) in ints
            setint(o, v)
        end
        for (o, v) in floats
            check(ccall((:ds_model_config_set_float, libdsmooth), Int32,
                        (Ptr{Cvoid}, Int32, Cdouble), cfg[], o, v), C_NULL)
        end
        widths = Vector{Int64}(hidden)
        check(ccall((:ds_model_config_set_hidden, libdsmooth), Int32,
                    (Ptr{Cvoid}, Ptr{Int64}, Int32), cfg[], widths, length(widths)), C_NULL)
        check(ccall((:ds_model_create, libdsmooth), Int32,
                    (Ptr{Cvoid}, Ptr{Cvoid}, Ref{Ptr{Cvoid}}), ptrof(ctx), cfg[], out), ctx.ptr)
    finally
        ccall((:ds_model_config_free, libdsmooth), Cvoid, (Ptr{Cvoid},), cfg[])
    end
    wrap_model(ctx, out[])
end

function wrap_model(ctx::Context, p::Ptr{Cvoid})
    dim = ccall((:ds_model_dim, libdsmooth), Int64, (Ptr{Cvoid},), p)
    cdim = ccall((:ds_model_cond_dim, libdsmooth), Int64, (Ptr{Cvoid},), p)
    newhandle(Model, p, ctx.ptr, (ctx,); dim = dim, cond_dim = cdim)
end

function load_model(ctx::Context, path::AbstractString)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ds_model_load, libdsmooth), Int32, (Ptr{Cvoid}, Cstring, Ref{Ptr{Cvoid}}),
                ptrof(ctx), path, out), ctx.ptr)
    wrap_model(ctx, out[])
end

export model_config, trainer_config

"""The configuration of a model, also a loaded one: (arch, ints, floats, hidden) with
`ints` / `floats` Dicts option => value of every option its architecture has (the keys of
Model's `ints` / `floats`) and `hidden` the layer widths."""
function model_config(m::Model)
    cfg = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ds_model_get_config, libdsmooth), Int32, (Ptr{Cvoid}, Ref{Ptr{Cvoid}}),
                ptrof(m), cfg), m.ctx)
    try
        arch, count = Ref{Int32}(0), Ref{Int32}(0)
        check(ccall((:ds_model_config_get_arch, libdsmooth), Int32, (Ptr{Cvoid}, Ref{Int32}),
                    cfg[], arch), C_NULL)
        ints, floats = Dict{Int32,Int64}(), Dict{Int32,Float64}()
        iv, fv = Ref{Int64}(0), Ref{Cdouble}(0)
        for o in DS_MODEL_DIM:DS_MODEL_SEED  # non-zero: not an option of this arch
            ccall((:ds_model_config_get_int, libdsmooth), Int32,
                  (Ptr{Cvoid}, Int32, Ref{Int64}), cfg[], o, iv) == DS_OK && (ints[o] = iv[])
        end
        for o in DS_MODEL_BIN_LO:DS_MODEL_COND_SHARE
            ccall((:ds_model_config_get_float, libdsmooth), Int32,
                  (Ptr{Cvoid}, Int32, Ref{Cdouble}), cfg[], o, fv) == DS_OK && (floats[o] = fv[])
        end
        check(ccall((:ds_model_config_get_hidden, libdsmooth), Int32,
                    (Ptr{Cvoid}, Ptr{Int64}, Int32, Ref{Int32}), cfg[], C_NULL, 0, count), C_NULL)
        widths = Vector{Int64}(undef, count[])
        check(ccall((:ds_model_config_get_hidden, libdsmooth), Int32,
                    (Ptr{Cvoid}, Ptr{Int64}, Int32, Ref{Int32}), cfg[], widths, count[], count),
              C_NULL)
        (arch = arch[], ints = ints, floats = floats, hidden = widths)
    finally
        ccall((:ds_model_config_free, libdsmooth), Cvoid, (Ptr{Cvoid},), cfg[])
    end
end

"The configuration of a trainer: (ints, floats), Dicts option => value of every option."
function trainer_config(t::Trainer)
    cfg = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ds_trainer_get_config, libdsmooth), Int32, (Ptr{Cvoid}, Ref{Ptr{Cvoid}}),
                ptrof(t), cfg), t.ctx)
    try
        iv, fv = Ref{Int64}(0), Ref{Cdouble}(0)
        ints = Dict{Int32,Int64}(o => (check(ccall((:ds_trainer_config_get_int, libdsmooth),
                                                   Int32, (Ptr{Cvoid}, Int32, Ref{Int64}),
                                                   cfg[], o, iv), C_NULL); iv[])
                                 for o in DS_TRAIN_BATCH:DS_TRAIN_DATA_INIT)
        floats = Dict{Int32,Float64}(o => (check(ccall((:ds_trainer_config_get_float, libdsmooth),
                                                       Int32, (Ptr{Cvoid}, Int32, Ref{Cdouble}),
                                                       cfg[], o, fv), C_NULL); fv[])
                                     for o in DS_TRAIN_LR:DS_TRAIN_EMA_DECAY)
        (ints = ints, floats = floats)
    finally
        ccall((:ds_trainer_config_free, libdsmooth), Cvoid, (Ptr{Cvoid},), cfg[])
    end
end

param_count(m::Model) = ccall((:ds_model_param_count, libdsmooth), Int64, (Ptr{Cvoid},),
                              ptrof(m))
copy_weights!(dst::Model, src::Model) =
    check(ccall((:ds_model_copy_weights, libdsmooth), Int32, (Ptr{Cvoid}, Ptr{Cvoid}),
                ptrof(dst), ptrof(src)), dst.ctx)
free_param_count(m::Model) = ccall((:ds_model_free_param_count, libdsmooth), Int64,
                                   (Ptr{Cvoid},), ptrof(m))
model_seed(m::Model) = ccall((:ds_model_seed, libdsmooth), UInt64, (Ptr{Cvoid},), ptrof(m))
"get_weights(m) -> Vector{Float32} of param_count(m) weights (the checkpoint's layout)"
function get_weights(m::Model)
    w = Vector{Float32}(undef, param_count(m))
    check(ccall((:ds_model_get_weights, libdsmooth), Int32, (Ptr{Cvoid}, Ptr{Float32}, Int64),
                ptrof(m), w, length(w)), m.ctx)
    w
end
set_weights!(m::Model, w::Vector{Float32}) =
    check(ccall((:ds_model_set_weights, libdsmooth), Int32, (Ptr{Cvoid}, Ptr{Float32}, Int64),
                ptrof(m), w, length(w)), m.ctx)
"smoothing(m) -> (family, sigma) the model was trained on (family -1: none recorded)"
function smoothing(m::Model)
    family, sigma = Ref{Int32}(0), Ref{Float64}(0.0)
    check(ccall((:ds_model_smoothing, libdsmooth), Int32,
                (Ptr{Cvoid}, Ref{Int32}, Ref{Float64}), ptrof(m), family, sigma), m.ctx)
    (family[], sigma[])
end

save(m::Model, path::AbstractString) =
    check(ccall((:ds_model_save, libdsmooth), Int32, (Ptr{Cvoid}, Cstring), ptrof(m), path),
          m.ctx)

condptr(m::Model, cond, n) =
    m.cond_dim == 0 ? (cond === nothing ? C_NULL : throw(ArgumentError("unconditional model"))) :
    (cond isa Matrix{Float32} && size(cond) == (m.cond_dim, n) ? pointer(cond) :
     throw(ArgumentError("cond must be a ($(m.cond_dim), $n) Matrix{Float32}")))

"log p(x | c) per example (column) of x::Matrix{Float32} of size (D, n)."
function log_prob(m::Model, x::Matrix{Float32}, cond = nothing)
    size(x, 1) == m.dim || throw(DimensionMismatch("x must have $(m.dim) rows"))
    out = Vector{Float64}(undef, size(x, 2))
    GC.@preserve cond begin
        check(ccall((:ds_model_log_prob, libdsmooth), Int32,
                    (Ptr{Cvoid}, Ptr{Float32}, Ptr{Cvoid}, Int64, Ptr{Float64}),
                    ptrof(m), x, condptr(m, cond, size(x, 2)), size(x, 2), out), m.ctx)
    end
    out
end

function score(m::Model, x::Matrix{Float32}, cond = nothing; kind::Integer = DS_SCORE_EXACT)
    size(x, 1) == m.dim || throw(DimensionMismatch("x must have $(m.dim) rows"))
    out = similar(x)
    GC.@preserve cond begin
        check(ccall((:ds_model_score, libdsmooth), Int32,
                    (Ptr{Cvoid}, Ptr{Float32}, Ptr{Cvoid}, Int64, Int32, Ptr{Float32},
                     Ptr{Float64}), ptrof(m), x, condptr(m, cond, size(x, 2)), size(x, 2),
                    kind, out, C_NULL), m.ctx)
    end
    out
end

"n samples as a (D, n) matrix."
function sample(m::Model, n::Integer; cond = nothing, stream::Integer = 0,
                method::Integer = DS_SAMPLE_BISECTION)
    out = Matrix{Float32}(undef, m.dim, n)
    GC.@preserve cond begin
        check(ccall((:ds_model_sample, libdsmooth), Int32,
                    (Ptr{Cvoid}, Ptr{Cvoid}, Int64, UInt64, Int32, Ptr{Float32}),
                    ptrof(m), condptr(m, cond, n), n, stream, method, out), m.ctx)
    end
    out
end

# ---- trainer ----------------------------------------------------------------------------
"""
    Trainer(model; smoother = nothing, batch = 128, total_steps = nothing,
            schedule = DS_LR_CONSTANT, lr = 1e-3)

total_steps = nothing leaves DS_TRAIN_TOTAL_STEPS unset: the cosine horizon then follows
each `train!` call, as in C.
"""
function Trainer(m::Model; smoother::Union{Smoother,Nothing} = nothing, batch::Integer = 128,
                 total_steps::Union{Integer,Nothing} = nothing, schedule::Integer = DS_LR_CONSTANT,
                 lr::Real = 1e-3, floats = Dict{Int32,Float64}())
    cfg = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ds_trainer_config_create, libdsmooth), Int32, (Ref{Ptr{Cvoid}},), cfg), C_NULL)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    try
        for (o, v) in ((DS_TRAIN_BATCH, batch), (DS_TRAIN_TOTAL_STEPS, total_steps),
                       (DS_TRAIN_SCHEDULE, schedule))
            v === nothing && continue
            check(ccall((:ds_trainer_config_set_int, libdsmooth), Int32,
                        (Ptr{Cvoid}, Int32, Int64), cfg[], o, v), C_NULL)
        end
        for (o, v) in merge(Dict(DS_TRAIN_LR => Float64(lr)), floats)
            check(ccall((:ds_trainer_config_set_float, libdsmooth), Int32,
                        (Ptr{Cvoid}, Int32, Cdouble), cfg[], o, v), C_NULL)
        end
        smp = smoother === nothing ? C_NULL : ptrof(smoother)
        check(ccall((:ds_trainer_create, libdsmooth), Int32,
                    (Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Ref{Ptr{Cvoid}}),
                    ptrof(m), cfg[], smp, out), m.ctx)
    finally
        ccall((:ds_trainer_config_free, libdsmooth), Cvoid, (Ptr{Cvoid},), cfg[])
    end
    parents = smoother === nothing ? (m,) : (m, smoother)
    stage2 = smoother !== nothing && m.cond_dim > 0
    newhandle(Trainer, out[], m.ctx, parents; dim = m.dim, cond_dim = stage2 ? 0 : m.cond_dim)
end

trainer_step(t::Trainer) = ccall((:ds_trainer_step, libdsmooth), Int64, (Ptr{Cvoid},), ptrof(t))
trainer_seed(t::Trainer) = ccall((:ds_trainer_seed, libdsmooth), UInt64, (Ptr{Cvoid},), ptrof(t))
"ema_to_model!(t, dst): the averaged weights (DS_TRAIN_EMA_DECAY) into dst"
ema_to_model!(t::Trainer, dst::Model) =
    check(ccall((:ds_trainer_ema_to_model, libdsmooth), Int32, (Ptr{Cvoid}, Ptr{Cvoid}),
                ptrof(t), ptrof(dst)), t.ctx)

# The batch trampoline: `user` points at a ProgressState whose f(step, x, cond) fills the
# (D, batch) matrices wrapped around the trainer's buffers.
function batch_tramp(user::Ptr{Cvoid}, step::Int64, batch::Int64, x::Ptr{Float32},
                     cond::Ptr{Float32})::Int32
    st = unsafe_pointer_to_objref(user)::ProgressState
    try
        xs = unsafe_wrap(Matrix{Float32}, x, (st.err[1], batch))
        cs = cond == C_NULL ? nothing : unsafe_wrap(Matrix{Float32}, cond, (st.err[2], batch))
        st.f(step, xs, cs)
        return Int32(0)
    catch e
        st.err = e
        return Int32(1)
    end
end

"""
    train_source!(t, fill, steps) -> mean loss

fill(step, x, cond) writes one batch into x (D, batch) [and cond (C, batch) for a
conditional model trained without smoother, else nothing]: fresh samples or streamed data.
"""
function train_source!(t::Trainer, fill, steps::Integer)
    state = ProgressState(fill, (t.dim, t.cond_dim))
    cb = @cfunction(batch_tramp, Int32, (Ptr{Cvoid}, Int64, Int64, Ptr{Float32}, Ptr{Float32}))
    loss = Ref{Float64}(0.0)
    status = GC.@preserve state ccall((:ds_trainer_train_source, libdsmooth), Int32,
                  (Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Int64, Ref{Float64}),
                  ptrof(t), cb, pointer_from_objref(state), steps, loss)
    state.err isa Exception && throw(state.err)
    check(status, t.ctx)
    loss[]
end

# The progress trampoline: `user` points at a ProgressState; an exception in the Julia
# callback stops training (returns 1) and is rethrown after ds_trainer_train returns.
mutable struct ProgressState
    f::Any
    err::Any
end

function progress_tramp(user::Ptr{Cvoid}, step::Int64, total::Int64, loss::Float64,
                        rate::Float64)::Int32
    st = unsafe_pointer_to_objref(user)::ProgressState
    try
        return st.f(step, total, loss, rate) === true ? Int32(1) : Int32(0)
    catch e
        st.err = e
        return Int32(1)
    end
end

"""
    train!(t, x, steps; cond = nothing, progress = nothing, every = 1) -> mean loss

x is (D, n). progress(step, total_steps, loss, examples_per_second) returning `true`
cancels (a DsmoothError with status DS_ERR_CANCELLED is thrown; the trainer stays usable).
"""
function train!(t::Trainer, x::Matrix{Float32}, steps::Integer; cond = nothing,
                progress = nothing, every::Integer = 1)
    size(x, 1) == t.dim || throw(DimensionMismatch("x must have $(t.dim) rows"))
    cptr = t.cond_dim == 0 ? C_NULL : pointer(cond::Matrix{Float32})
    loss = Ref{Float64}(0.0)
    state = ProgressState(progress, nothing)
    cb = @cfunction(progress_tramp, Int32, (Ptr{Cvoid}, Int64, Int64, Float64, Float64))
    status = GC.@preserve state cond begin
        if progress !== nothing
            check(ccall((:ds_trainer_set_progress, libdsmooth), Int32,
                        (Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Int64),
                        ptrof(t), cb, pointer_from_objref(state), every), t.ctx)
        end
        s = ccall((:ds_trainer_train, libdsmooth), Int32,
                  (Ptr{Cvoid}, Ptr{Float32}, Ptr{Cvoid}, Int64, Int64, Ref{Float64}),
                  ptrof(t), x, cptr, size(x, 2), steps, loss)
        if progress !== nothing
            ccall((:ds_trainer_set_progress, libdsmooth), Int32,
                  (Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Int64), ptrof(t), C_NULL, C_NULL, 0)
        end
        s
    end
    state.err === nothing || throw(state.err)
    check(status, t.ctx)
    loss[]
end

function evaluate(t::Trainer, x::Matrix{Float32}; cond = nothing, stream::Integer = 0)
    cptr = t.cond_dim == 0 ? C_NULL : pointer(cond::Matrix{Float32})
    nll = Ref{Float64}(0.0)
    GC.@preserve cond check(ccall((:ds_trainer_evaluate, libdsmooth), Int32,
                (Ptr{Cvoid}, Ptr{Float32}, Ptr{Cvoid}, Int64, UInt64, Ref{Float64}),
                ptrof(t), x, cptr, size(x, 2), stream, nll), t.ctx)
    nll[]
end

save_trainer(t::Trainer, path::AbstractString) =
    check(ccall((:ds_trainer_save, libdsmooth), Int32, (Ptr{Cvoid}, Cstring), ptrof(t), path),
          t.ctx)
resume!(t::Trainer, path::AbstractString) =
    check(ccall((:ds_trainer_resume, libdsmooth), Int32, (Ptr{Cvoid}, Cstring), ptrof(t), path),
          t.ctx)
# Data-parallel training (0.3): `fn` a @cfunction with ds_collective_fn's signature (e.g.
# wrapping MPI.jl's Allgatherv!/Allreduce!); world = 0 switches it off.
set_distributed!(t::Trainer, rank::Integer, world::Integer, reduction::Integer,
                 grad_blocks::Integer, fn::Ptr{Cvoid}, user::Ptr{Cvoid}) =
    check(ccall((:ds_trainer_set_distributed, libdsmooth), Int32,
                (Ptr{Cvoid}, Int32, Int32, Int32, Int64, Ptr{Cvoid}, Ptr{Cvoid}),
                ptrof(t), rank, world, reduction, grad_blocks, fn, user), t.ctx)

# ---- denoisers and the two-stage model --------------------------------------------------
function GradientDenoiser(stage1::Model, sm::Smoother; kind::Integer = DS_SCORE_EXACT)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ds_denoiser_create_gradient, libdsmooth), Int32,
                (Ptr{Cvoid}, Ptr{Cvoid}, Int32, Ref{Ptr{Cvoid}}), ptrof(stage1), ptrof(sm),
                kind, out), stage1.ctx)
    newhandle(Denoiser, out[], stage1.ctx, (stage1, sm); dim = stage1.dim)
end

function ConditionalDenoiser(stage2::Model; output::Integer = DS_CONDITIONAL_SAMPLE)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(ccall((:ds_denoiser_create_conditional, libdsmooth), Int32,
                (Ptr{Cvoid}, Int32, Ref{Ptr{Cvoid}}), ptrof(stage2), output, out), stage2.ctx)
    newhandle(Denoiser, out[], stage2.ctx, (stage2,); dim = stage2.dim)
end

function denoise(dn::Denoiser, x_tilde::Matrix{Float32}; stream::Integer = 0)
    out = similar(x_tilde)
    check(ccall((:ds_denoiser_apply, libdsmooth), Int32,
                (Ptr{Cvoid}, Ptr{Float32}, Int64, UInt64, Ptr{Float32}),
                ptrof(dn), x_tilde, size(x_tilde, 2), stream, out), dn.ctx)
    out
end

function two_stage_log_prob_bound(s1::Model, s2::Model, sm::Smoother, x::Matrix{Float32};
                                  k::Integer = 100, stream::Integer = 0)
    out = Vector{Float64}(undef, size(x, 2))
    check(ccall((:ds_two_stage_log_prob_bound, libdsmooth), Int32,
                (Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Float32}, Int64, Int32, UInt64,
                 Ptr{Float64}), ptrof(s1), ptrof(s2), ptrof(sm), x, size(x, 2), k, stream, out),
          s1.ctx)
    out
end

function two_stage_log_prob_grid(s1::Model, s2::Model, x::Matrix{Float32}; lo = -6.0, hi = 6.0,
                                 points::Integer = 81)
    out = Vector{Float64}(undef, size(x, 2))
    check(ccall((:ds_two_stage_log_prob_grid, libdsmooth), Int32,
                (Ptr{Cvoid}, Ptr{Cvoid}, Ptr{Float32}, Int64, Cdouble, Cdouble, Int32,
                 Ptr{Float64}), ptrof(s1), ptrof(s2), x, size(x, 2), lo, hi, points, out),
          s1.ctx)
    out
end

function two_stage_sample(s1::Model, dn::Denoiser, n::Integer; stream::Integer = 0)
    out = Matrix{Float32}(undef, s1.dim, n)
    check(ccall((:ds_two_stage_sample, libdsmooth), Int32,
                (Ptr{Cvoid}, Ptr{Cvoid}, Int64, UInt64, Ptr{Float32}),
                ptrof(s1), ptrof(dn), n, stream, out), s1.ctx)
    out
end

# ---- sample quality ------------------------------------------------------------------------
# Improved precision and recall (Kynkaanniemi et al. 2019) of `fake` against `real`: both
# (dim, n) matrices, one point per column, in the same feature space; k-th nearest
# neighbour balls. Returns (precision, recall).
function precision_recall(ctx::Context, real::Matrix{Float32}, fake::Matrix{Float32};
                          k::Integer = 3)
    size(real, 1) == size(fake, 1) || throw(ArgumentError("real and fake differ in dimension"))
    p, r = Ref{Cdouble}(0), Ref{Cdouble}(0)
    check(ccall((:ds_precision_recall, libdsmooth), Int32,
                (Ptr{Cvoid}, Ptr{Float32}, Int64, Ptr{Float32}, Int64, Int64, Int32,
                 Ref{Cdouble}, Ref{Cdouble}),
                ptrof(ctx), real, size(real, 2), fake, size(fake, 2), size(real, 1), k, p, r),
          ptrof(ctx))
    p[], r[]
end

end # module
