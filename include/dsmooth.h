/*
 * libdsmooth — autoregressive density models with distribution smoothing.
 *
 * Meng et al., "Improved Autoregressive Modeling with Distribution Smoothing", ICLR 2021.
 * Instead of fitting an autoregressive (AR) model to sharp data x, fit it to a smoothed
 * copy x~ = x + noise (stage 1), then undo the smoothing (stage 2) with one gradient step
 * x^ = x~ + sigma^2 * grad log p(x~) or with a conditional AR model p(x | x~).
 *
 * This header is the whole stable API and its manual.
 *
 * Conventions
 * -----------
 *  - Every public symbol starts with ds_, every macro and enum value with DS_.
 *  - Handles are opaque. Each X_create has an X_free; X_free(NULL) is a no-op.
 *  - Every fallible call returns a ds_status. On failure the call leaves its outputs and
 *    every handle exactly as they were, and ds_context_last_error() on the same thread
 *    gives a sentence of detail ("x[17] is NaN"). The library never prints, exits or
 *    aborts. One exception: DS_ERR_NUMERIC for a *result* that is not finite (as opposed
 *    to a non-finite input) is found after the output array has been computed, so that
 *    array then holds unspecified values; every other output and every handle is
 *    unchanged. No call returns DS_OK with a NaN or infinite value in an output, except
 *    the values documented as meaningful (the UNIFORM smoother's -INFINITY log density
 *    outside its support, the grid posterior mean's NaN where it is undefined).
 *  - Arrays are dense, row-major, owned by the caller, and never retained after a call
 *    returns. Sizes and counts are int64_t; a size that must be positive is checked.
 *  - No struct is passed by value, there are no varargs, no bitfields and no bool: every
 *    signature is callable as written from Python ctypes/cffi, Rust extern "C" and Julia
 *    ccall.
 *  - "Errors:" lists every status a call can return besides DS_OK, by name without DS_ERR_
 *    (INVALID_ARGUMENT always includes a NULL handle or pointer). INTERNAL is a library
 *    bug (a broken invariant, e.g. an inconsistent layer table), never the caller's doing:
 *    please report it with the detail. BAD_STATE is only the caller's state (the handle
 *    is not ready for this call, e.g. no averaged weights configured).
 *    Since 0.4: DS_ERR_INTERNAL is new; 0.3 and earlier returned DS_ERR_BAD_STATE for
 *    library bugs. A caller that treated BAD_STATE as "library bug" should test for both.
 *    Accessors that return a value instead of a status say what they return for NULL.
 *  - "Since X.Y": the first release with the function (or enumerator, where it is newer
 *    than its enum). A program built against X.Y runs with every later X.* (docs/abi.md).
 *  - Lifetimes: a create call copies its options and configuration objects (free them
 *    right after); handles that keep pointers to other handles say so, and those must
 *    outlive them. Every handle made from a context holds a counted reference to it, so
 *    ds_context_free may come before the handles are freed (ds_context_free).
 *
 * Threads
 * -------
 *  A ds_context owns one persistent pool of worker threads. Every handle created from a
 *  context runs its parallel work on that pool. Calls from several application threads into
 *  handles of the same context are safe: they take turns on the pool (each call runs with
 *  all of the pool's threads, one call at a time). For true concurrency give each
 *  application thread its own context. Results never depend on the number of threads:
 *  every output is bitwise identical for 1, 2, 3 or N threads. They may differ in the last
 *  bits between CPUs: matrix products use the widest micro-kernel the CPU has, chosen at
 *  run time (AVX-512 and AVX2+FMA give identical bits, the portable C kernel of a CPU
 *  without FMA does not); DS_GEMM_KERNEL=avx512|avx2|generic in the environment forces one.
 *  A model keeps its evaluation workspaces between calls (freed by ds_model_free), so
 *  repeated log_prob / score calls allocate nothing.
 *  A call that changes a handle (a setter, ds_model_copy_weights on dst, ds_trainer_train,
 *  ds_trainer_resume, X_free) must not overlap any other call on that handle; calls that
 *  only read (marked const) may overlap each other. Options and configuration objects are
 *  plain data with no context: one thread at a time, or read-only from many.
 */
#ifndef DSMOOTH_H
#define DSMOOTH_H

#include <stddef.h>
#include <stdint.h>

#include "dsmooth/version.h"

#if defined(_WIN32) && defined(DS_BUILDING_SHARED)
#define DS_API __declspec(dllexport)
#elif defined(_WIN32) && defined(DS_USING_SHARED)
#define DS_API __declspec(dllimport)
#elif defined(__GNUC__) || defined(__clang__)
#define DS_API __attribute__((visibility("default")))
#else
#define DS_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================================
 * Version
 * ====================================================================================== */

/* DS_VERSION_NUMBER of the library actually loaded (MAJOR*10000 + MINOR*100 + PATCH).
 * Since 0.1. */
DS_API uint32_t ds_version(void);
/* DS_VERSION_STRING of the library actually loaded, e.g. "0.1.0". Static storage.
 * Since 0.1. */
DS_API const char *ds_version_string(void);

/* ======================================================================================
 * Status codes. Values are pinned and only ever appended to.
 * ====================================================================================== */
typedef enum ds_status {
  DS_OK = 0,
  DS_ERR_INVALID_ARGUMENT = 1,   /* NULL pointer, size out of range, bad option value     */
  DS_ERR_OUT_OF_MEMORY = 2,      /* the allocator returned NULL                            */
  DS_ERR_IO = 3,                 /* open/read/write/rename failed (errno in the detail)    */
  DS_ERR_BAD_FORMAT = 4,         /* a file is truncated, corrupted or not ours             */
  DS_ERR_UNSUPPORTED_VERSION = 5,/* a file written by a newer format version               */
  DS_ERR_SHAPE_MISMATCH = 6,     /* array sizes disagree with the handle's configuration   */
  DS_ERR_NUMERIC = 7,            /* NaN/Inf in an input, or a result that is not finite     */
  DS_ERR_BAD_STATE = 8,          /* the handle cannot do this now (the caller's state;
                                    library bugs were reported as this before 0.4)          */
  DS_ERR_CANCELLED = 9,          /* a progress callback asked to stop                      */
  DS_ERR_UNSUPPORTED = 10,       /* valid request this build or configuration cannot serve */
  DS_ERR_THREAD = 11,            /* creating a thread or a lock failed                     */
  DS_ERR_INTERNAL = 12           /* a library bug: an internal invariant does not hold (an
                                    inconsistent network); please report it; since 0.4      */
} ds_status;

/* Short constant name of a status, e.g. "DS_ERR_NUMERIC"; "DS_ERR_UNKNOWN" otherwise.
 * Static storage, never NULL. Since 0.1. */
DS_API const char *ds_status_str(int32_t status);

/* ======================================================================================
 * Context: threads, seed, memory, logging, last error
 * ====================================================================================== */
typedef struct ds_context ds_context;
typedef struct ds_context_options ds_context_options;

/* Allocator hooks. Same contracts as malloc/realloc/free; `user` is passed through.
 * Every allocation the library makes for a context and the handles created from it goes
 * through these (the options object itself uses the C library's malloc). The hooks and
 * `user` must stay valid until the context is freed; when several threads use the
 * context's handles the hooks are called concurrently and must be thread-safe. */
typedef void *(*ds_malloc_fn)(void *user, size_t size);
typedef void *(*ds_realloc_fn)(void *user, void *ptr, size_t size);
typedef void (*ds_free_fn)(void *user, void *ptr);

typedef enum ds_log_level {
  DS_LOG_ERROR = 0,
  DS_LOG_WARN = 1,
  DS_LOG_INFO = 2,
  DS_LOG_DEBUG = 3  /* includes the detail of every failed call */
} ds_log_level;

/* Log callback: `message` is valid only during the call. May be called from any thread
 * that calls into the library (never from a pool worker). */
typedef void (*ds_log_fn)(void *user, int32_t level, const char *message);

/* Options start at: threads 0 (= number of online cores), seed 0, the C library's
 * allocator, no logging. Failures of the options calls are reported on the thread
 * (ds_context_last_error(NULL)).
 * Errors: INVALID_ARGUMENT, OUT_OF_MEMORY. Since 0.1. */
DS_API ds_status ds_context_options_create(ds_context_options **out);
/* Since 0.1. */
DS_API void ds_context_options_free(ds_context_options *opts);
/* 0 = all online cores; otherwise 1..DS_MAX_THREADS.
 * Errors: INVALID_ARGUMENT (NULL, out of range). Since 0.1. */
#define DS_MAX_THREADS 256
DS_API ds_status ds_context_options_set_threads(ds_context_options *opts, int32_t threads);
/* Default seed of the handles created from the context.
 * Errors: INVALID_ARGUMENT (NULL). Since 0.1. */
DS_API ds_status ds_context_options_set_seed(ds_context_options *opts, uint64_t seed);
/* All three functions or none (all NULL restores the C library's allocator). A context
 * created from the options keeps the hooks and `user`: they must stay valid until it is
 * destroyed (after ds_context_free and the last of its handles' X_free).
 * Errors: INVALID_ARGUMENT (NULL opts, one or two of the three given). Since 0.1. */
DS_API ds_status ds_context_options_set_allocator(ds_context_options *opts,
                                                  ds_malloc_fn malloc_fn,
                                                  ds_realloc_fn realloc_fn,
                                                  ds_free_fn free_fn, void *user);
/* Messages at `max_level` and below reach `fn`; fn NULL turns logging off. `fn` and `user`
 * must stay valid until the context is freed.
 * Errors: INVALID_ARGUMENT (NULL opts, max_level not a ds_log_level). Since 0.1. */
DS_API ds_status ds_context_options_set_log(ds_context_options *opts, ds_log_fn fn,
                                            void *user, int32_t max_level);

/* Create a context and start its thread pool. `opts` may be NULL for the defaults and may
 * be freed right after. On failure *out is left unchanged and the detail is available
 * from ds_context_last_error(NULL) on the calling thread.
 * Errors: INVALID_ARGUMENT (out NULL), OUT_OF_MEMORY, THREAD (a mutex or a worker thread
 * could not be created). Since 0.1. */
DS_API ds_status ds_context_create(const ds_context_options *opts, ds_context **out);
/* Give up the caller's reference. Every model, smoother and denoiser holds a reference
 * to its context (trainers through their model): the context, its pool and its memory
 * are destroyed when ds_context_free has been called and the last such handle is freed,
 * whatever the order (since 0.3; before, freeing the context first was forbidden). Call
 * it once per context; using `ctx` itself (ds_model_create, ...) after it is an error. No
 * other call on the context may be running. Since 0.1. */
DS_API void ds_context_free(ds_context *ctx);

/* Detail of the calling thread's most recent failed call that concerned `ctx` or had no
 * context at all (configuration and option setters, calls given a NULL handle,
 * ds_context_create) since ctx was created — so `if (st) puts(ds_context_last_error(ctx));`
 * is right after any failed call on the same thread, whichever thread it is. Empty string if none. Failures
 * on other threads never show here (each thread has its own detail per context; since
 * 0.3 — before, one buffer per context was shared, and racy). With ctx NULL: only the
 * failures without a context. The string belongs to the calling thread and stays valid
 * until that thread's next failing call into the library; copy it with
 * ds_context_last_error_r to keep it. Since 0.1. */
DS_API const char *ds_context_last_error(const ds_context *ctx);
/* Number of threads in the pool (the calling thread counts as one); 0 for NULL.
 * Since 0.1. */
DS_API int32_t ds_context_threads(const ds_context *ctx);
/* The seed given in the options; 0 for NULL. Since 0.1. */
DS_API uint64_t ds_context_seed(const ds_context *ctx);

/* ---- since 0.3: memory budget and copied error detail ------------------------------- */

/* Memory budget of the context in bytes, 0 = none (the default). Every allocation the
 * library makes for the context and its handles (weights, workspaces, checkpoint
 * buffers, per-call scratch) is counted while it is live; an allocation that would take
 * the total above the budget is refused, and the call fails with DS_ERR_OUT_OF_MEMORY
 * (detail names the budget), leaving handles and outputs unchanged. What is not counted:
 * the pool's thread stacks, the options and configuration objects, and the caller's
 * arrays. A service loading untrusted models sets a budget and so cannot be made to
 * allocate more than that, e.g. by a small file declaring a 4096 x 4096 image.
 * Sizes are counted as requested; the allocator hooks see 16 more bytes per block.
 * docs/threading-and-memory.md has the details. Errors: INVALID_ARGUMENT (opts NULL). */
DS_API ds_status ds_context_options_set_memory_limit(ds_context_options *opts, uint64_t bytes);
/* Bytes currently allocated for the context and its handles, and the most ever at once
 * (both as counted for the budget, whether or not one is set). 0 for NULL. */
DS_API uint64_t ds_context_memory_in_use(const ds_context *ctx);
DS_API uint64_t ds_context_memory_peak(const ds_context *ctx);
/* Copy the string ds_context_last_error(ctx) gives into buffer (capacity bytes, always
 * NUL-terminated when capacity >= 1, truncated if needed) and return its full length.
 * buffer may be NULL with capacity 0 to ask for the length. Never fails; thread-safe like
 * ds_context_last_error (it reads the calling thread's detail only). */
DS_API int64_t ds_context_last_error_r(const ds_context *ctx, char *buffer, int64_t capacity);

/* ======================================================================================
 * Smoother: the noise kernel q(x~ | x) = prod_i k(x~_i - x_i)
 * ====================================================================================== */
typedef struct ds_smoother ds_smoother;

/* Noise families, all symmetric and stationary, each parameterised by its standard
 * deviation sigma so that sigma means the same amount of smoothing for all three:
 *  GAUSSIAN  k(r) = N(r; 0, sigma^2)
 *  LAPLACE   k(r) = exp(-|r|/b) / (2b),          b = sigma / sqrt(2)
 *  UNIFORM   k(r) = 1/(2a) on [-a, a], else 0,   a = sigma * sqrt(3)
 * Only GAUSSIAN makes the one-step gradient denoiser exact (Tweedie's formula). */
typedef enum ds_noise {
  DS_NOISE_GAUSSIAN = 0,
  DS_NOISE_LAPLACE = 1,
  DS_NOISE_UNIFORM = 2
} ds_noise;

/* sigma must be in [1e-30, 1e30]. The smoother takes the context's seed; it is immutable
 * after creation and may be used by many threads at once. It holds a reference to ctx
 * (ds_context_free).
 * Errors: INVALID_ARGUMENT (NULL, family not a ds_noise, sigma out of range),
 * OUT_OF_MEMORY. Since 0.1. */
DS_API ds_status ds_smoother_create(ds_context *ctx, int32_t family, double sigma,
                                    ds_smoother **out);
/* Since 0.1. Trainers and denoisers using the smoother must be freed before. */
DS_API void ds_smoother_free(ds_smoother *sm);
/* The creation arguments and seed; for NULL: -1, NaN and 0. Since 0.1. */
DS_API int32_t ds_smoother_family(const ds_smoother *sm);
DS_API double ds_smoother_sigma(const ds_smoother *sm);
DS_API uint64_t ds_smoother_seed(const ds_smoother *sm);

/* x_tilde = x + noise, both (n, d). The noise of element (i, j) is a pure function of
 * (seed, stream, i*d + j) through the Philox4x32-10 counter-based generator: use a new
 * `stream` (e.g. the minibatch number) for fresh noise. x_tilde may equal x (in place).
 * Errors: INVALID_ARGUMENT (NULL, n < 1, d < 1, n * d too large), NUMERIC (x not finite).
 * Since 0.1. */
DS_API ds_status ds_smoother_apply(const ds_smoother *sm, const float *x, int64_t n,
                                   int64_t d, uint64_t stream, float *x_tilde);

/* log q(x~_i | x_i) in nats for each of the n examples, summed over the d dimensions.
 * For UNIFORM noise the value is -INFINITY outside the support (not an error).
 * Errors: INVALID_ARGUMENT (NULL, n < 1, d < 1, n * d too large), NUMERIC (an input not
 * finite). Since 0.1. */
DS_API ds_status ds_smoother_log_q(const ds_smoother *sm, const float *x_tilde,
                                   const float *x, int64_t n, int64_t d, double *log_q);

/* Differential entropy of the noise per dimension, in nats (Gaussian: 0.5*log(2*pi*e*s^2)).
 * NaN for NULL. Since 0.1. */
DS_API double ds_smoother_entropy(const ds_smoother *sm);

/* score = grad_{x~} log q(x~ | x), (n, d): Gaussian -(x~ - x)/sigma^2; Laplace
 * -sign(x~ - x)/b (0 at x~ = x); Uniform 0 inside the support.
 * Errors: INVALID_ARGUMENT (NULL, n < 1, d < 1, n * d too large), NUMERIC (an input not
 * finite, or (UNIFORM) some x~ outside the support, where the score does not exist).
 * Since 0.1. */
DS_API ds_status ds_smoother_score(const ds_smoother *sm, const float *x_tilde,
                                   const float *x, int64_t n, int64_t d, float *score);

/* Regular grid for tabulated densities: point (i, j) is (x0 + i*dx, y0 + j*dy), stored
 * row-major as [j*nx + i]. A 1-D grid has ny = 1 (y0 and dy are then ignored). */

/* Exact smoothing of a tabulated density: smoothed = density (*) k on the same grid.
 * The density is read as constant on each cell [x_i - dx/2, x_i + dx/2] (x [y_j +- dy/2])
 * and zero outside the grid; the result is the smoothed density of that piecewise
 * constant function at the grid points, so it integrates to the input's mass minus what
 * the noise carries past the grid edge (make the grid a few sigma wider than the data).
 * density must be finite and >= 0; nx, ny >= 1; dx, dy > 0. Parallel over rows/columns.
 * smoothed may equal density (in place).
 * Errors: INVALID_ARGUMENT (NULL, grid empty or above 2^24 per side or 2^30 points,
 * x0/dx/y0/dy not finite or dx/dy <= 0, a negative density), NUMERIC (a density value NaN
 * or infinite), OUT_OF_MEMORY. Since 0.1. */
DS_API ds_status ds_smoother_convolve_grid(const ds_smoother *sm, const double *density,
                                           int64_t nx, int64_t ny, double x0, double dx,
                                           double y0, double dy, double *smoothed);

/* Posterior mean E[x | x~] for x distributed as the tabulated density and x~ = x + noise,
 * at every grid point x~: mean is (ny, nx, dims) with dims = 1 for a 1-D grid and 2 for a
 * 2-D grid ([..., 0] = x, [..., 1] = y). For Gaussian noise this is the exact Tweedie
 * denoiser x~ + sigma^2 grad log q(x~). Where the smoothed density underflows to 0 the
 * mean is undefined and set to NaN.
 * Errors: as ds_smoother_convolve_grid. Since 0.1. */
DS_API ds_status ds_smoother_grid_posterior_mean(const ds_smoother *sm,
                                                 const double *density, int64_t nx,
                                                 int64_t ny, double x0, double dx,
                                                 double y0, double dy, double *mean);

/* ======================================================================================
 * Model: an autoregressive density p(x) or p(x | c) over vectors x of dimension D
 * ====================================================================================== */
typedef struct ds_model ds_model;
typedef struct ds_model_config ds_model_config;

typedef enum ds_arch {
  DS_ARCH_MADE = 0,       /* masked MLP over vectors (Germain et al. 2015) */
  DS_ARCH_PIXELCNNPP = 1, /* PixelCNN++ over images (Salimans et al. 2017), see below;
                             since 0.2 */
  DS_ARCH_PIXELCNN = 2    /* the original masked-convolution PixelCNN over images (van den
                             Oord et al. 2016), smaller and faster; see below; since 0.2 */
} ds_arch;

/* PixelCNN++ (DS_ARCH_PIXELCNNPP) models images of DS_MODEL_CHANNELS x DS_MODEL_HEIGHT x
 * DS_MODEL_WIDTH values in [-1, 1] (8-bit v maps to (v/255 - 0.5) * 2). An image is a row of
 * x with D = channels * height * width values in raster order of pixels, the channels of
 * a pixel together (R, G, B): x[(i * width + j) * channels + c]. DS_MODEL_DIM may be left
 * unset (it is derived) or must equal that D (DIM and COND_DIM go up to 3 * 4096 * 4096 for
 * this architecture).
 *  - network: input plus a channel of ones, u stream (down-shifted 2x3 convolutions) and ul
 *    stream (down-right-shifted), DS_MODEL_RESNETS gated resnets per level with concat_elu,
 *    3 resolution levels (stride-2 down, stride-2 transposed up, odd sizes cropped), skip
 *    connections from the up pass, head nin(elu(ul)). No weight normalisation.
 *  - heads: grayscale, one K-component mixture per pixel (3K parameters); RGB, the joint
 *    PixelCNN++ mixture per pixel (10K parameters, channel coupling mu_G += c0 x_R, ...).
 *    DS_HEAD_CONTINUOUS for smoothed images (stage 1), DS_HEAD_DISCRETIZED with the default
 *    256 bins over [-1, 1] for 8-bit images (the direct model, stage 2).
 *  - conditional model p(x | x~) (DS_MODEL_COND_DIM = D; cond laid out like x), in one of
 *    two layouts (DS_MODEL_COND_LAYOUT, a ds_cond_layout):
 *    DS_COND_CHANNELS (default): x~, average pooled to each level's resolution, enters every
 *      gated resnet through an unmasked 1x1 convolution. With DS_MODEL_COND_CONVS = n >= 1,
 *      x~ first passes n unmasked 3x3 convolutions (F filters, padding 1, concat_elu between
 *      them; shared by all resnets, trained with the rest) and their output is what is
 *      pooled and enters the resnets: each layer then sees a (2n+1)x(2n+1) neighbourhood of
 *      x~ instead of the noisy pixel at its own position. Cost: each conv about half a
 *      gated resnet at full resolution (forward and backward), computed once per pass;
 *      9F(C + 2F(n-1)) + nF more weights, and every resnet's 1x1 reads F channels, not C.
 *    DS_COND_STACKED: the official code's model: x~ is stacked above x into one 2H x W image
 *      and an unmodified (unconditional) PixelCNN++ models it; log p(x | x~) is the sum of
 *      the bottom half's conditionals only. x~ reaches x only through the network's causal
 *      receptive field, which must span H rows for a pixel of x to see its own x~ (the
 *      official sizes do; a small network sees only the nearest rows of x~). Cost: every
 *      pass runs on the 2H x W image, twice the compute and activation memory of the
 *      channel layout; the weights are exactly those of an unconditional model.
 *    Either way the API is unchanged: cond (n, D) is x~, scores are gradients with respect
 *    to x, sampling draws x given x~.
 *  - sampling is pixel by pixel with a cached incremental sampler (see ds_model_sample).
 * The MADE options (hidden widths, activation, residual) are accepted and ignored.
 *
 * PixelCNN (DS_ARCH_PIXELCNN) models the same images, laid out and scaled the same way, with
 * the same heads and PixelCNN++'s channel form of conditioning, through a single-resolution
 * stack of masked convolutions ("Pixel Recurrent Neural Networks" and "Conditional Image Generation with
 * PixelCNN Decoders", van den Oord et al. 2016). With F = DS_MODEL_FILTERS, L =
 * DS_MODEL_LAYERS, act = DS_MODEL_ACTIVATION (RELU or ELU):
 *  - network: in = [x, 1] (the image plus a channel of ones);
 *      h = conv7x7_A(in)                                          (F channels)
 *      L blocks, each with pre-activation p = conv3x3_B(h) [+ conv1x1(x~)]:
 *        DS_MODEL_GATED = 1:  p has 2F channels [a, b];  h = h + tanh(a) * sigmoid(b)
 *        DS_MODEL_GATED = 0:  p has F channels;          h = h + act(p)
 *      head = conv1x1(act(conv1x1(act(h))))                       (F, then 3K or 10K)
 *    Convolutions are zero-padded to keep the image size. Mask A zeroes the kernel taps at
 *    and after the centre in raster order (a pixel never sees itself), mask B those after
 *    the centre. The masks act on whole pixels: there are no R/G/B channel-group masks. For
 *    RGB the network sees only previous pixels and the joint RGB head (the PixelCNN++
 *    mixture with channel coupling mu_G += c0 x_R, ...) models R -> G -> B within a pixel.
 *    The stack of 3x3 mask-B convolutions has the original PixelCNN's blind spot (some
 *    pixels up and to the right are out of reach); a deep enough stack still sees a wide
 *    context.
 *  - heads and DS_MODEL_HEAD as for PixelCNN++.
 *  - conditional model p(x | x~) (DS_MODEL_COND_DIM = D): x~ enters every block through an
 *    unmasked, bias-free 1x1 convolution added to the pre-activation p.
 *  - the structurally zero (masked) weights stay zero through training and checkpoints.
 *  - sampling is pixel by pixel with the cached incremental sampler, as PixelCNN++.
 * DS_MODEL_RESNETS, DS_MODEL_DROPOUT, DS_MODEL_COND_LAYOUT and DS_MODEL_COND_CONVS are
 * PixelCNN++ only (INVALID_ARGUMENT); the MADE options other than the activation are
 * accepted and ignored. */

/* Output head of every dimension's conditional: a K-component logistic mixture. */
typedef enum ds_head {
  DS_HEAD_CONTINUOUS = 0,  /* density on the real line (smoothed data)                    */
  DS_HEAD_DISCRETIZED = 1  /* probability of B bins over [lo, hi], edge bins open (quantised data) */
} ds_head;

/* How a conditional PixelCNN++ sees its conditioning input (DS_MODEL_COND_LAYOUT).
 * Since 0.2. */
typedef enum ds_cond_layout {
  DS_COND_CHANNELS = 0, /* x~ through unmasked convolutions into every gated resnet        */
  DS_COND_STACKED = 1   /* x~ stacked above x, one 2H x W image, loss on the bottom half  */
} ds_cond_layout;

typedef enum ds_activation {
  DS_ACTIVATION_RELU = 0,
  DS_ACTIVATION_TANH = 1,
  DS_ACTIVATION_ELU = 2
} ds_activation;

/* Integer options of a model configuration (ds_model_config_set_int). */
typedef enum ds_model_option {
  DS_MODEL_DIM = 0,          /* D >= 1, required                                  (none) */
  DS_MODEL_COND_DIM = 1,     /* C >= 0: dimension of the conditioning input c        (0) */
  DS_MODEL_COMPONENTS = 2,   /* K in 1..256 mixture components                       (5) */
  DS_MODEL_HEAD = 3,         /* ds_head                                (CONTINUOUS) */
  DS_MODEL_BINS = 4,         /* B in 2..65536 for the discretized head              (256) */
  DS_MODEL_ACTIVATION = 5,   /* ds_activation (MADE; DS_ARCH_PIXELCNN: RELU or ELU)  (RELU) */
  DS_MODEL_RESIDUAL = 6,     /* 1: hidden layers of equal width become residual blocks (0) */
  /* image architectures, DS_ARCH_PIXELCNNPP and DS_ARCH_PIXELCNN (INVALID_ARGUMENT for
     MADE); options 7..15 since 0.2: */
  DS_MODEL_CHANNELS = 7,     /* image channels: 1 (grayscale) or 3 (RGB)                 (1) */
  DS_MODEL_HEIGHT = 8,       /* image height, 4..4096, required                       (none) */
  DS_MODEL_WIDTH = 9,        /* image width, 4..4096, required                        (none) */
  DS_MODEL_FILTERS = 10,     /* F, channels of every hidden layer, 1..1024              (32) */
  /* DS_ARCH_PIXELCNNPP only: */
  DS_MODEL_RESNETS = 11,     /* gated resnets per level, 1..64 (the down pass has one
                                more at the two upper levels, as PixelCNN++)            (2) */
  /* DS_ARCH_PIXELCNN only (INVALID_ARGUMENT for the others): */
  DS_MODEL_LAYERS = 12,      /* L, masked 3x3 blocks after the 7x7 mask-A layer, 1..64   (5) */
  DS_MODEL_GATED = 13,       /* 1: gated blocks h + tanh(a) sigmoid(b); 0: residual blocks
                                h + act(p) with DS_MODEL_ACTIVATION RELU or ELU (TANH is
                                INVALID_ARGUMENT for this architecture)                 (1) */
  /* conditional PixelCNN++ only (COND_DIM = D; see above): */
  DS_MODEL_COND_LAYOUT = 14, /* ds_cond_layout                                  (CHANNELS) */
  DS_MODEL_COND_CONVS = 15,  /* unmasked 3x3 convs over x~, 0..16; DS_COND_CHANNELS only (0) */
  /* since 0.3, every architecture: */
  DS_MODEL_SEED = 16         /* the model's own seed (its 64 bits; any value): initial
                                weights and sampling draw from it (dropout masks, since
                                0.4, from the trainer's DS_TRAIN_SEED). Unset, each
                                model gets a seed derived from the context seed and the
                                number of models and trainers created before it in that
                                context, so two models of one context differ while a
                                program that creates its objects in the same order gets
                                the same seeds. Not saved: a loaded model gets a derived
                                seed (only its sampling uses it).           (derived) */
} ds_model_option;

/* Float options (ds_model_config_set_float). */
typedef enum ds_model_float_option {
  DS_MODEL_BIN_LO = 0,       /* centre of the first bin                            (-1) */
  DS_MODEL_BIN_HI = 1,       /* centre of the last bin                             (+1) */
  DS_MODEL_DROPOUT = 2,      /* PixelCNN++ only: dropout rate in [0, 1) inside every gated
                                resnet, active during training steps only (the official
                                models use 0.5); since 0.2                             (0) */
  /* since 0.3: */
  DS_MODEL_COND_SHARE = 3    /* conditional MADE (C >= 1, D >= 2) only: share in [0, 1) of
                                each hidden layer's units that see only the conditioning
                                input c (MADE degree 0); the rest cycle through degrees
                                1..D-1. These units are the whole network of x_1's
                                conditional p(x_1 | c) and also feed every later one. 0
                                keeps the 0.2 layout, where degrees cycle 0..D-1 (a share
                                of 1/D: for D = 2, 32 of 64 units). Saved in checkpoints
                                (format version 3). INVALID_ARGUMENT for other
                                architectures, and at ds_model_create for an
                                unconditional MADE or D = 1.                           (0) */
} ds_model_float_option;

/* Sizing stage 2 (a conditional MADE p(x | x~), C = D). One masked network carries all D
 * conditionals p(x_d | x_<d, x~), and x_1's runs on the degree-0 units only; a reference
 * with one separate network per dimension has D times the hidden units. Measured on the
 * 2-D rings set (K = 8, sigma 0.5, 6000 steps of 512 fresh samples, 3 seeds; see
 * docs/results.md): hidden 2 x 64 (5 712 free weights) reached -log p(x | x~) of about
 * 0.66 nats, 2 x 96 about 0.67 (before the conditional data init), 2 x 128 (17 520)
 * about 0.54, against 0.528 quoted for issue 11's PyTorch reference with two separate
 * 2 x 64 networks (11 888 weights; examples/reference/reference_2d.py, our rendition of
 * it, reached 0.72 with seed 1);
 * DS_MODEL_COND_SHARE 0.75 at 2 x 64 was worse (0.84 against 0.80 at the default share,
 * both before the conditional data init; x_2 loses the units x_1 gains).
 * So give stage 2 about D times the width of a per-dimension network, keep the default
 * share unless x_1 is the hard conditional, and compare free weights with
 * ds_model_free_param_count. */

/* A configuration starts with the defaults in brackets above and two hidden layers of
 * width 64. Setters report out-of-range values, and options the configuration's
 * architecture does not have, as DS_ERR_INVALID_ARGUMENT (the configuration unchanged).
 * Float values must be finite. Failures are reported on the thread
 * (ds_context_last_error(NULL)): a configuration has no context.
 * Errors: INVALID_ARGUMENT (NULL, arch not a ds_arch, option not of the enum, value out of
 * range, option not of this architecture); OUT_OF_MEMORY (create). Since 0.1. */
DS_API ds_status ds_model_config_create(int32_t arch, ds_model_config **out);
DS_API void ds_model_config_free(ds_model_config *cfg);
DS_API ds_status ds_model_config_set_int(ds_model_config *cfg, int32_t option, int64_t value);
DS_API ds_status ds_model_config_set_float(ds_model_config *cfg, int32_t option, double value);
/* Hidden layer widths (count 1..64 layers, each width 1..65536).
 * Errors: INVALID_ARGUMENT (NULL, count or a width out of range). Since 0.1. */
DS_API ds_status ds_model_config_set_hidden(ds_model_config *cfg, const int64_t *widths,
                                            int32_t count);

/* ---- Reading a configuration back (since 0.3) ----
 * ds_model_get_config: a new configuration equal to the model's, whether created or loaded
 * from a checkpoint, with DS_MODEL_DIM derived; free it with ds_model_config_free. A model
 * created from it has the same configuration (ds_model_copy_weights accepts the pair).
 * The getters take the setters' option values; an option the configuration never set reads
 * its default, and a required one (DIM, HEIGHT, WIDTH) 0 until set. Floats read back as the
 * float the configuration stores. ds_model_config_get_hidden writes the layer count to
 * *count and, unless widths is NULL, the widths (capacity >= count).
 * Errors: INVALID_ARGUMENT (NULL; option not a ds_model_option / ds_model_float_option; an
 * option the architecture does not have, exactly those the setters refuse; capacity below
 * the layer count); OUT_OF_MEMORY (ds_model_get_config). Outputs unchanged on failure. */
DS_API ds_status ds_model_get_config(const ds_model *model, ds_model_config **out);
DS_API ds_status ds_model_config_get_arch(const ds_model_config *cfg, int32_t *arch);
DS_API ds_status ds_model_config_get_int(const ds_model_config *cfg, int32_t option,
                                         int64_t *value);
DS_API ds_status ds_model_config_get_float(const ds_model_config *cfg, int32_t option,
                                           double *value);
DS_API ds_status ds_model_config_get_hidden(const ds_model_config *cfg, int64_t *widths,
                                            int32_t capacity, int32_t *count);

/* Create a model with freshly initialised weights drawn from the model's seed
 * (DS_MODEL_SEED, else derived per model: two models of one context start different).
 * A trainer's first step may then initialise its output heads from the data
 * (DS_TRAIN_DATA_INIT); a loaded model, or one given weights by ds_model_set_weights or
 * ds_model_copy_weights, is never re-initialised. The model copies cfg (free it when
 * convenient) and holds a reference to ctx (ds_context_free).
 * Errors: INVALID_ARGUMENT (NULL, DIM/HEIGHT/WIDTH unset, inconsistent options, more than
 * 2^31 weights), OUT_OF_MEMORY, INTERNAL. Since 0.1. */
DS_API ds_status ds_model_create(ds_context *ctx, const ds_model_config *cfg, ds_model **out);
/* Trainers and denoisers using the model must be freed before. Since 0.1. */
DS_API void ds_model_free(ds_model *model);
/* D and C; 0 for NULL. Since 0.1. */
DS_API int64_t ds_model_dim(const ds_model *model);
DS_API int64_t ds_model_cond_dim(const ds_model *model);
/* Length of the weight array (ds_model_get_weights): every weight, the structurally zero
 * (masked) ones included (ds_model_free_param_count excludes them); 0 for NULL. Since 0.1. */
DS_API int64_t ds_model_param_count(const ds_model *model);

/* ---- since 0.3: weights, seed, smoothing, capacity ---------------------------------- */

/* Weights that training can change: ds_model_param_count minus the masked ones (MADE's
 * autoregressive masks, the masked convolutions' zero taps). This is the figure to compare
 * with another implementation's parameter count. 0 for NULL. */
DS_API int64_t ds_model_free_param_count(const ds_model *model);
/* The model's seed (DS_MODEL_SEED or the derived one); 0 for NULL. */
DS_API uint64_t ds_model_seed(const ds_model *model);
/* Copy all count = ds_model_param_count weights out of / into the model, in the layout of
 * the checkpoint's weight array (MADE: per layer W (out, in) row-major then b (out);
 * PixelCNN++ / PixelCNN: see the layer table in lib/model/pixelcnn.h; PyTorch's Conv2d /
 * ConvTranspose2d layouts). Setting replaces every weight at once; masked weights must be
 * 0. A model given weights is not data-initialised by a trainer.
 * Errors: INVALID_ARGUMENT (NULL, a masked weight not 0), SHAPE_MISMATCH (count),
 * NUMERIC (a weight not finite); the model is unchanged on failure. */
DS_API ds_status ds_model_get_weights(const ds_model *model, float *weights, int64_t count);
DS_API ds_status ds_model_set_weights(ds_model *model, const float *weights, int64_t count);
/* The smoothing the model was trained on: a trainer with a smoother records its family and
 * sigma in the model at its first step (stage 1 and stage 2), checkpoints keep it (format
 * version 3; older files and models never trained with a smoother give family -1 and
 * sigma 0). ds_denoiser_create_gradient and ds_two_stage_log_prob_bound refuse a smoother
 * other than the recorded one (INVALID_ARGUMENT naming both). ds_model_copy_weights and
 * ds_trainer_ema_to_model copy the record. Errors: INVALID_ARGUMENT (NULL). */
DS_API ds_status ds_model_smoothing(const ds_model *model, int32_t *family, double *sigma);

/* Thread-safety: every ds_model_* call below reads the model only (except
 * ds_model_copy_weights, which writes dst); a model that is not being trained may be used
 * by many threads at once. `cond` is (n, C) and must be NULL exactly when C = 0. x is
 * (n, D). n >= 1 and n * (D + C) must be addressable (INVALID_ARGUMENT otherwise). */

/* log p(x_i | c_i) in nats for each example. For the discretized head this is the log
 * probability of the bins the values fall in (values are snapped to the nearest bin).
 * Errors: INVALID_ARGUMENT (NULL, n, cond given / missing), NUMERIC (an input or a result
 * not finite), OUT_OF_MEMORY. Since 0.1. */
DS_API ds_status ds_model_log_prob(const ds_model *model, const float *x, const float *cond,
                                   int64_t n, double *log_prob);

typedef enum ds_score_kind {
  DS_SCORE_EXACT = 0, /* grad_x log p(x): backpropagation through the network to x     */
  DS_SCORE_LOCAL = 1  /* the official code's variant: the network's outputs held fixed,
                         only each dimension's own conditional differentiated          */
} ds_score_kind;

/* score (n, D) = grad_x log p(x | c); log_prob (n) may be NULL. Continuous head only.
 * Errors: INVALID_ARGUMENT (as ds_model_log_prob, kind not a ds_score_kind), UNSUPPORTED
 * (discretized head), NUMERIC, OUT_OF_MEMORY. Since 0.1. */
DS_API ds_status ds_model_score(const ds_model *model, const float *x, const float *cond,
                                int64_t n, int32_t kind, float *score, double *log_prob);

typedef enum ds_sample_method {
  DS_SAMPLE_BISECTION = 0, /* invert each conditional's mixture CDF (one uniform)        */
  DS_SAMPLE_GUMBEL = 1     /* Gumbel-max component choice, then a logistic draw          */
  /* flags OR-ed into a method: DS_SAMPLE_NAIVE (0x100), a testing knob without stability
     promise, see "Experimental and testing knobs" at the end of this header */
} ds_sample_method;

/* Ancestral sampling, dimension by dimension: x (n, D). The draw for example i is a pure
 * function of (model seed, stream, i), whatever the thread count or n.
 * PixelCNN++ and PixelCNN sample with a cached incremental sampler (the idea of Fast
 * PixelCNN++): every activation is computed once, at the pixel from which on it no longer
 * changes, instead of once per pixel; the samples are bitwise those of the naive
 * pixel-by-pixel loop (DS_SAMPLE_NAIVE). It holds the activations of up to 256 images per
 * thread at a time (about floats_per_image x 4 bytes each, as a forward pass).
 * Non-finite values (since 0.4): no sample is drawn from a head whose parameters are not
 * all finite, and a masked PixelCNN (DS_ARCH_PIXELCNN) image whose masked convolutions
 * see a non-finite input (weights that overflow float) has no result: where a full pass
 * would multiply it by a structurally zero weight (0 * inf = NaN), the cached sampler
 * reads only the live taps, so the two could otherwise return different samples. Both
 * samplers fail with NUMERIC then, so DS_OK from both means the same bits. (The naive
 * loop checks every one of its passes, including the positions not yet sampled, so it
 * may refuse a model the cached sampler accepts, never the reverse.) ds_model_log_prob
 * and ds_model_score refuse such an image the same way.
 * Errors: INVALID_ARGUMENT (NULL x, n < 1, cond given / missing, method not a
 * ds_sample_method), NUMERIC (cond or a sample not finite, a head not finite, a masked
 * convolution's input not finite: the message names the op), OUT_OF_MEMORY, INTERNAL.
 * Since 0.1. */
DS_API ds_status ds_model_sample(const ds_model *model, const float *cond, int64_t n,
                                 uint64_t stream, int32_t method, float *x);

/* Checkpoints: little-endian, versioned, checksummed, with the full configuration; written
 * to a temporary file in the same directory and renamed, so `path` is either the old file
 * or the complete new one. Loading a truncated, corrupted, foreign or newer file returns
 * BAD_FORMAT / UNSUPPORTED_VERSION with the detail and creates nothing.
 * Since 0.3 (docs/checkpoints.md has the details): saving through a symbolic link replaces
 * the link's target; a replaced file keeps its permission bits, a new one gets 0666
 * minus the umask; temporaries left by a killed save to the same path are removed by the
 * next save once a minute old. Loading reads regular files only (a FIFO, device or
 * directory is DS_ERR_IO at once) and allocates no more than the file's real size before
 * validating it; under a context memory budget, what the model needs counts too.
 * A loaded model reports its configuration through ds_model_get_config and, like a
 * created one, holds a reference to ctx (ds_context_free). Saving reads the model only.
 * Errors (save): INVALID_ARGUMENT (NULL), IO, OUT_OF_MEMORY.
 * Errors (load): INVALID_ARGUMENT (NULL), IO, BAD_FORMAT, UNSUPPORTED_VERSION,
 * OUT_OF_MEMORY, INTERNAL. Since 0.1. */
DS_API ds_status ds_model_save(const ds_model *model, const char *path);
DS_API ds_status ds_model_load(ds_context *ctx, const char *path, ds_model **out);
/* Copy all weights of `src` into `dst` (same configuration; the models may belong to
 * different contexts), and (since 0.3) its smoothing record (ds_model_smoothing). Writes
 * dst: no other call on dst may overlap, and no trainer of dst may be training.
 * Errors: INVALID_ARGUMENT (NULL), SHAPE_MISMATCH (configurations differ). Since 0.1. */
DS_API ds_status ds_model_copy_weights(ds_model *dst, const ds_model *src);

/* ======================================================================================
 * Trainer: maximum likelihood with Adam
 * ====================================================================================== */
typedef struct ds_trainer ds_trainer;
typedef struct ds_trainer_config ds_trainer_config;

/* Step s (0-based, counted over the trainer's life) runs at: */
typedef enum ds_lr_schedule {
  DS_LR_CONSTANT = 0,
  DS_LR_EXPONENTIAL = 1, /* lr * decay^s                                            */
  DS_LR_COSINE = 2       /* lr_min + (lr - lr_min)(1 + cos(pi min(s, T) / T)) / 2,
                            T the horizon: DS_TRAIN_TOTAL_STEPS if set, else (since 0.3)
                            the end of the running call, ds_trainer_step() + steps, so
                            one call of N steps anneals over exactly those N steps. Steps
                            at or past an explicit T run at lr_min; with lr_min = 0 such a
                            step could not change the model, so a call that would run one
                            is refused (INVALID_ARGUMENT, nothing run). When training in
                            several calls, set DS_TRAIN_TOTAL_STEPS to the total: an
                            unset horizon restarts the curve from each call's step.   */
} ds_lr_schedule;

typedef enum ds_trainer_option {
  DS_TRAIN_BATCH = 0,          /* examples per step, 1..2^20                    (128) */
  DS_TRAIN_TOTAL_STEPS = 1,    /* the cosine schedule's horizon T, >= 1 (unset: each
                                  call's end, see DS_LR_COSINE; 0.2 used 1000)  (unset) */
  DS_TRAIN_SCHEDULE = 2,       /* ds_lr_schedule                        (CONSTANT) */
  /* since 0.3: */
  DS_TRAIN_SEED = 3,           /* the trainer's own seed (its 64 bits): shuffling, training
                                  noise and dropout masks. Unset, derived from the context
                                  seed and the creation counter as DS_MODEL_SEED, so two
                                  trainers of one context (stage 1 and stage 2) never share
                                  noise or shuffles. Saved by ds_trainer_save and restored
                                  by ds_trainer_resume.                       (derived) */
  DS_TRAIN_DATA_INIT = 4       /* 1: before the first step of a freshly created model
                                  (ds_model_create, step 0), set its output heads from the
                                  first batch of targets (the x of that batch; for stage 1
                                  the smoothed x~): each dimension's K mixture means at the
                                  batch's quantiles (k + 1/2)/K, equal mixture weights, each
                                  component's variance the geometric mean of the batch's
                                  variance and what the spread of the means leaves of it
                                  (at least (std / K)^2; conditional models p(x | c): the
                                  latter), MADE's output-layer weights scaled by 0.1
                                  so every conditional starts near that marginal (image
                                  models: the head's biases only, per channel, pooled over
                                  pixels). MADE's other weights keep their initialisation;
                                  the choices are measured in docs/results.md. Image
                                  networks (DS_ARCH_PIXELCNNPP and DS_ARCH_PIXELCNN, on by
                                  default alike; since 0.3) first get PixelCNN++'s
                                  data-dependent initialisation: on the batch's first
                                  (at most) 16 images (and their conditions), every conv
                                  and transposed conv in forward order, each seeing the
                                  rescaled layers before it, has its output channels set
                                  to mean 0 and standard deviation g over the images and
                                  positions (weights times g / std, bias g (bias - mean) /
                                  std; a layer adding into a sum is normalised on its own
                                  term; a bias-free one is only scaled; an almost constant
                                  channel is only centred); g = 0.1 for the convolution
                                  feeding a gated resnet's gate and for the output head,
                                  1 otherwise; masked (structurally zero) weights stay 0.
                                  Then the head biases as above. Measured on Fashion-MNIST
                                  in docs/results-images.md. Deterministic (no new
                                  randomness, any thread count). Never applied to a loaded
                                  model, a resumed trainer, a model given weights, or one a
                                  trainer has already stepped. 0: 0.2's behaviour.     (1) */
} ds_trainer_option;

typedef enum ds_trainer_float_option {
  DS_TRAIN_LR = 0,             /* (0, 1e6]                                     (1e-3) */
  DS_TRAIN_BETA1 = 1,          /* [0, 1) once rounded to float                  (0.9) */
  DS_TRAIN_BETA2 = 2,          /* [0, 1) once rounded to float                (0.999) */
  DS_TRAIN_EPSILON = 3,        /* [1e-30, 1]                                   (1e-8) */
  DS_TRAIN_WEIGHT_DECAY = 4,   /* [0, 1e6], decoupled (AdamW)                     (0) */
  DS_TRAIN_LR_DECAY = 5,       /* (0, 1], per step, EXPONENTIAL only         (0.9995) */
  DS_TRAIN_LR_MIN = 6,         /* >= 0, COSINE floor                              (0) */
  DS_TRAIN_CLIP_NORM = 7,      /* > 0 clips the global gradient norm, 0 = off     (0) */
  /* since 0.3: */
  DS_TRAIN_EMA_DECAY = 8       /* d in [0, 1) as a float: > 0 keeps an exponential moving
                                  average of the weights (Polyak averaging), after every
                                  step ema = d ema + (1 - d) w, starting from the weights
                                  after the first step; read it with
                                  ds_trainer_ema_to_model. Saved by ds_trainer_save; a
                                  trainer resuming a file without one starts its average at
                                  the next step. PixelCNN++'s published results use
                                  d = 0.9995. 0 = off                                  (0) */
} ds_trainer_float_option;

/* A trainer configuration starts with the defaults in brackets above; setters report
 * values out of range (the configuration unchanged) on the thread, as model configurations.
 * Errors: INVALID_ARGUMENT (NULL, option not of the enum, value out of range or not
 * finite); OUT_OF_MEMORY (create). Since 0.1. */
DS_API ds_status ds_trainer_config_create(ds_trainer_config **out);
DS_API void ds_trainer_config_free(ds_trainer_config *cfg);
DS_API ds_status ds_trainer_config_set_int(ds_trainer_config *cfg, int32_t option, int64_t value);
DS_API ds_status ds_trainer_config_set_float(ds_trainer_config *cfg, int32_t option, double value);

/* ---- Reading a trainer configuration back (since 0.3) ----
 * ds_trainer_get_config: a new configuration equal to the trainer's (free it with
 * ds_trainer_config_free). The getters take the setters' options; floats read back exactly
 * as set. Errors: INVALID_ARGUMENT (NULL, option not a ds_trainer_option /
 * ds_trainer_float_option), OUT_OF_MEMORY (ds_trainer_get_config). */
DS_API ds_status ds_trainer_get_config(const ds_trainer *trainer, ds_trainer_config **out);
DS_API ds_status ds_trainer_config_get_int(const ds_trainer_config *cfg, int32_t option,
                                           int64_t *value);
DS_API ds_status ds_trainer_config_get_float(const ds_trainer_config *cfg, int32_t option,
                                             double *value);

/* Progress: called every `every` steps and after the last; return non-zero to stop
 * (ds_trainer_train then returns DS_ERR_CANCELLED after finishing the current step; the
 * trainer stays consistent and can continue). `step` is ds_trainer_step() after the step
 * just taken; `total_steps` the cosine horizon in force (since 0.3: the call's end when
 * DS_TRAIN_TOTAL_STEPS is unset); `loss` the mean over the steps since the previous report
 * of this call of each step's training loss, i.e. the minibatch mean NLL in nats per
 * example before that step's update (noisy: for held-out figures use
 * ds_trainer_evaluate); `examples_per_second` over the same steps.. Called on the thread that runs
 * ds_trainer_train, never from a pool worker; it must not call into the trainer. */
typedef int32_t (*ds_progress_fn)(void *user, int64_t step, int64_t total_steps, double loss,
                                  double examples_per_second);

/* A trainer updates `model` in place; while it exists, do not use the model from other
 * threads. Modes, chosen by what is given:
 *   smoother NULL,   model unconditional: fit p(x) to the data (the direct model)
 *   smoother given,  model unconditional: stage 1, fit p(x~) to x~ = x + noise with fresh
 *                                         noise for every minibatch
 *   smoother given,  model conditional (C = D): stage 2, fit p(x | x~) on pairs made on the
 *                                         fly from clean data
 *   smoother NULL,   model conditional: fit p(x | c) to the caller's (x, c) pairs
 * The trainer keeps pointers to model and smoother: they must outlive it. It copies cfg.
 * Errors: INVALID_ARGUMENT (NULL model/cfg/out, smoother of another context),
 * SHAPE_MISMATCH (stage 2 with C != D), OUT_OF_MEMORY. Since 0.1. */
DS_API ds_status ds_trainer_create(ds_model *model, const ds_trainer_config *cfg,
                                   const ds_smoother *smoother, ds_trainer **out);
/* Since 0.1. */
DS_API void ds_trainer_free(ds_trainer *trainer);
/* fn NULL removes the callback; `fn` and `user` are kept until replaced or the trainer is
 * freed, and must stay valid that long.
 * Errors: INVALID_ARGUMENT (NULL trainer, fn given with every < 1). Since 0.1. */
DS_API ds_status ds_trainer_set_progress(ds_trainer *trainer, ds_progress_fn fn, void *user,
                                         int64_t every);

/* Run `steps` more Adam steps on minibatches drawn from x (n, D) [and cond (n, C)] with a
 * seeded shuffle: step s belongs to epoch e = s / (n / batch), each epoch is a permutation
 * of the n rows from (trainer seed, e), and step s takes its slot of that permutation; the
 * last n mod batch rows of an epoch's order are skipped. The arrays must be the same for
 * every call of one training run. The loss is the mean negative log-likelihood in nats
 * per example of the batch. loss_out (may be NULL) receives the mean loss over the steps
 * run. Stage 1 and 2 add fresh noise to every batch from (trainer seed, step).
 * A trainer does at most 2^56 - 1 steps in all: `steps` beyond that is INVALID_ARGUMENT.
 * A step whose loss or gradient is not finite fails with DS_ERR_NUMERIC before it changes
 * anything; like a cancellation, such a failure keeps the steps this call completed before
 * it (ds_trainer_step says how many steps are done) — the one exception to "a failed call
 * changes nothing", since a long run should not be thrown away. cond is required exactly
 * in the conditional mode (smoother NULL, C > 0).
 * Errors: INVALID_ARGUMENT (NULL, n < batch, steps < 0, cond given / missing), NUMERIC (an
 * input not finite; a step's loss or gradient not finite), CANCELLED, OUT_OF_MEMORY.
 * Since 0.1. */
DS_API ds_status ds_trainer_train(ds_trainer *trainer, const float *x, const float *cond,
                                  int64_t n, int64_t steps, double *loss_out);
/* Returns the count of steps done so far (Adam updates, resumed steps included); 0 for
 * NULL. It takes no step (ds_trainer_train does): despite the verb-like name, kept for the
 * ABI, it is a read-only count. Since 0.1. */
DS_API int64_t ds_trainer_step(const ds_trainer *trainer);

/* ---- since 0.3: data callback, seed, averaged weights --------------------------------- */

/* Fills one batch on demand: x (batch, D) and, for a conditional model trained without a
 * smoother, cond (batch, C) (cond is NULL in the other modes). `step` is the step the
 * batch is for (ds_trainer_step() before it). Return 0 on success, anything else to stop
 * the training call (it then fails with DS_ERR_CANCELLED naming the value). Called on the
 * thread that called ds_trainer_train_source, once per step, in step order. */
typedef int32_t (*ds_batch_fn)(void *user, int64_t step, int64_t batch, float *x, float *cond);

/* Like ds_trainer_train with every batch from `fn` instead of arrays: fresh samples from a
 * generator every step, or data larger than memory read from files. There is no
 * shuffling and no epoch: the trainer uses the batches as given, so order, epochs and
 * reshuffling are the callback's (to be reproducible and resumable, make the batch a
 * function of `step`). Stage 1 and 2 add their noise to x as with arrays. Can be mixed
 * with ds_trainer_train calls on the same trainer.
 * Errors: INVALID_ARGUMENT (NULL trainer or fn, steps < 0, a cosine horizon passed at
 * lr_min 0), NUMERIC (the callback returned a non-finite value: the step is not taken;
 * or a non-finite loss), CANCELLED (the callback or the progress callback asked to stop);
 * on failure the steps taken before stay (as ds_trainer_train). */
DS_API ds_status ds_trainer_train_source(ds_trainer *trainer, ds_batch_fn fn, void *user,
                                         int64_t steps, double *loss_out);
/* The trainer's seed (DS_TRAIN_SEED or the derived one); 0 for NULL. */
DS_API uint64_t ds_trainer_seed(const ds_trainer *trainer);
/* Copy the averaged weights (DS_TRAIN_EMA_DECAY) into `dst`, a model of the trained
 * model's configuration (e.g. a second ds_model_create, or the trained model itself to
 * replace its weights), for evaluation, sampling or ds_model_save.
 * Errors: INVALID_ARGUMENT (NULL), BAD_STATE (no EMA configured, or no step taken since it
 * began), SHAPE_MISMATCH (dst's configuration differs). */
DS_API ds_status ds_trainer_ema_to_model(const ds_trainer *trainer, ds_model *dst);
/* Mean NLL (nats/example) of held-out data under the trainer's objective: the direct or
 * conditional NLL, or for stage 1/2 with `stream`-addressed noise. Uses the trainer's
 * buffers: do not overlap with other calls on the trainer.
 * Errors: INVALID_ARGUMENT (NULL, n < 1, cond given / missing), NUMERIC (an input or the
 * NLL not finite). Since 0.1. */
DS_API ds_status ds_trainer_evaluate(ds_trainer *trainer, const float *x, const float *cond,
                                     int64_t n, uint64_t stream, double *mean_nll);
/* Save / resume everything needed to continue bitwise as if uninterrupted: weights, Adam
 * moments, step, configuration, seed and (since 0.3) the averaged weights. Resume requires
 * a trainer made with the same configurations; the DS_TRAIN_SEED, DATA_INIT and EMA_DECAY
 * options and whether TOTAL_STEPS was set are not compared (the seed comes from the
 * file). Version 1 and 2 trainer files still resume. Every value of the file is validated
 * (steps done at most 2^56 - 1, Adam moments finite, second moments >= 0, the model as by
 * ds_model_load) and a refused file leaves the trainer and its model unchanged.
 * Errors (save): INVALID_ARGUMENT (NULL), IO, OUT_OF_MEMORY.
 * Errors (resume): INVALID_ARGUMENT (NULL), IO, BAD_FORMAT, UNSUPPORTED_VERSION,
 * SHAPE_MISMATCH (another model or trainer configuration or mode), OUT_OF_MEMORY,
 * INTERNAL. Since 0.1. */
DS_API ds_status ds_trainer_save(const ds_trainer *trainer, const char *path);
DS_API ds_status ds_trainer_resume(ds_trainer *trainer, const char *path);

/* ======================================================================================
 * Data-parallel training (since 0.3)
 *
 * Several processes ("ranks", e.g. MPI ranks) train one model together: every rank holds
 * the same model, trainer configuration and data, every step each rank computes the
 * gradient of its share of the global batch, and a collective operation supplied by the
 * caller's communication engine combines the shares. The library never talks to a
 * network itself; libdsmooth_mpi (dsmooth_mpi.h) supplies the collective for Open MPI,
 * and any other engine (mpi4py, a test double) can supply its own.
 *
 * DS_REDUCE_DETERMINISTIC: the global batch of B rows is cut into `grad_blocks` fixed
 *   blocks of consecutive rows (sizes B/K rounded, the first B mod K blocks one row
 *   larger), chosen independently of the number of ranks. Rank r owns a contiguous run of blocks, computes
 *   the gradient and log-likelihood sum of each of its blocks in a pass of its own, and an
 *   ALLGATHER gives every rank every block's result; each rank then adds the blocks up in
 *   block order (in double, rounded once to float). The weights after any number of steps
 *   are bitwise identical for every rank count 1..K and every thread count per rank —
 *   also a single process with world = 1. They differ (in the last bits) from training
 *   without ds_trainer_set_distributed, whose gradient is one pass over the whole batch.
 *   Exchanged per step: K * (4 * param_count + 8) + 256 * world bytes gathered by every rank.
 * DS_REDUCE_FAST: rank r takes the rows [r*B/W, (r+1)*B/W) in one pass; the gradients are
 *   summed by SUM_FLOAT (e.g. MPI_Allreduce), whose summation order belongs to the engine:
 *   results may differ in the last bits between rank counts (and between engines).
 *   Exchanged per step: 4 * param_count bytes reduced, plus (1 + 4 * world) doubles.
 * DS_REDUCE_DETERMINISTIC_SCATTER: the blocks and sums of DS_REDUCE_DETERMINISTIC, hence
 *   bitwise the same weights, with traffic that does not grow with the number of ranks:
 *   an ALLGATHER of 256-byte headers and each block's log-likelihood sum, an ALLTOALL that
 *   sends rank q slice q (about param_count / world weights) of every block, each rank
 *   adding its slice over the blocks in block order, and an ALLGATHER of the summed slices.
 *   Received per rank and step: about 4 * param_count * (K / world + 1) bytes.
 * Either way shuffling, noise and dropout are addressed by the step and the row's position
 * in the global batch, never by rank, and each rank assembles only the rows it computes.
 * The loss reported (loss_out, the progress callback) is that of the global batch.
 *
 * Agreement and failure. Every step's first collective also carries each rank's status,
 * its step, the data size and any stop request of its progress callback, so the ranks
 * stop together: a rank whose ds_trainer_train fails locally (bad data, a stop request)
 * still takes part in that exchange, and every rank then returns the same status with a
 * detail naming the rank, its step and (deterministic mode) its own error message. A
 * progress callback's stop request takes effect at the next step's exchange on every rank
 * (DS_ERR_CANCELLED everywhere; if it came after the last step of a call, the next call
 * stops before its first step). A collective that returns non-zero fails the call with
 * DS_ERR_IO; the engine is then in an unknown state (with MPI, call MPI_Abort).
 * ====================================================================================== */
typedef enum ds_reduction {
  DS_REDUCE_DETERMINISTIC = 0, /* fixed blocks, fixed order: bitwise equal for any ranks */
  DS_REDUCE_FAST = 1,          /* one pass per rank, engine's sum: fewer bytes, last bits vary */
  DS_REDUCE_DETERMINISTIC_SCATTER = 2 /* the same bits as DETERMINISTIC, other traffic */
} ds_reduction;

/* What a ds_collective_fn is asked to do. Every rank makes the same calls in the same
 * order with the same op and count. */
typedef enum ds_collective_op {
  /* recv (sum of counts[0..count-1] bytes) = the bytes of rank 0, then rank 1, ...; this
   * rank contributes send (counts[rank] bytes). count = world. (MPI_Allgatherv.) */
  DS_COLLECTIVE_ALLGATHER = 0,
  /* recv (count floats), in place: elementwise sum over the ranks. send, counts NULL.
   * (MPI_Allreduce with MPI_IN_PLACE, MPI_FLOAT, MPI_SUM.) */
  DS_COLLECTIVE_SUM_FLOAT = 1,
  /* the same for count doubles; used for small control vectors. */
  DS_COLLECTIVE_SUM_DOUBLE = 2,
  /* count = world; counts has 2 * world entries. send holds, in rank order, counts[q]
   * bytes for each rank q; recv receives, in rank order, counts[world + q] bytes from each
   * rank q. (MPI_Alltoallv.) Only DS_REDUCE_DETERMINISTIC_SCATTER uses it. */
  DS_COLLECTIVE_ALLTOALL = 3
} ds_collective_op;

/* The caller's collective. Returns 0 on success, anything else on failure (the trainer
 * then fails with DS_ERR_IO quoting the value). Called from the thread that called
 * ds_trainer_train. */
typedef int32_t (*ds_collective_fn)(void *user, int32_t op, const void *send, void *recv,
                                    int64_t count, const int64_t *counts);

/* Make `trainer` one of `world` ranks (this one is `rank`) of a data-parallel run; every
 * later ds_trainer_train call must be made on every rank with the same data (n rows),
 * steps and configuration. grad_blocks (both DETERMINISTIC modes: 1..batch; the weights
 * depend on it, not on world, so keep it when resuming on another rank count; ranks
 * beyond grad_blocks idle — choose a multiple of the rank counts you will use, e.g. 12;
 * DS_REDUCE_FAST: ignored, pass 0). fn may be NULL only with world = 1 (the single-process
 * reference of the deterministic mode). world = 0 switches distribution off again.
 * Checkpoints (ds_trainer_save/resume) do not record the distribution: one rank saves,
 * every rank resumes, on any rank count.
 * Memory: DETERMINISTIC keeps K * param_count floats of block gradients per rank,
 * DETERMINISTIC_SCATTER about (K / world + own blocks + 1) * param_count.
 * Errors: INVALID_ARGUMENT (NULL trainer, world < 0, rank outside 0..world-1, reduction
 * not a ds_reduction, grad_blocks outside 1..batch or above 65536, fn NULL with world > 1),
 * OUT_OF_MEMORY; on failure the trainer's previous setting is kept. The trainer keeps fn
 * and user until distribution is switched off (world = 0) or it is freed: they must stay
 * valid that long.
 * since 0.3 */
DS_API ds_status ds_trainer_set_distributed(ds_trainer *trainer, int32_t rank, int32_t world,
                                            int32_t reduction, int64_t grad_blocks,
                                            ds_collective_fn fn, void *user);

/* ======================================================================================
 * Denoiser: undo the smoothing
 * ====================================================================================== */
typedef struct ds_denoiser ds_denoiser;

/* Single-step gradient denoiser x^ = x~ + sigma^2 grad log p(x~) from a stage-1 model and
 * the smoother it was trained with (kind: ds_score_kind). The denoiser keeps pointers to
 * stage1 and sm: they must outlive it.
 * Errors: INVALID_ARGUMENT (NULL, kind, stage1 conditional or discretized), OUT_OF_MEMORY.
 * Since 0.1.
 * Since 0.3 also INVALID_ARGUMENT if the model records another smoothing
 * (ds_model_smoothing); a model without a record (older files, or trained elsewhere) is
 * taken on trust. */
DS_API ds_status ds_denoiser_create_gradient(const ds_model *stage1, const ds_smoother *sm,
                                             int32_t kind, ds_denoiser **out);
typedef enum ds_conditional_output {
  DS_CONDITIONAL_SAMPLE = 0, /* x ~ p(x | x~)                                           */
  DS_CONDITIONAL_MEAN = 1    /* greedy: each dimension its conditional mean given the
                                previous ones                                            */
} ds_conditional_output;
/* Conditional denoiser from a stage-2 model p(x | x~) (C = D). It keeps a pointer to
 * stage2, which must outlive it.
 * Errors: INVALID_ARGUMENT (NULL, output not a ds_conditional_output), SHAPE_MISMATCH
 * (C != D), OUT_OF_MEMORY. Since 0.1. */
DS_API ds_status ds_denoiser_create_conditional(const ds_model *stage2, int32_t output,
                                                ds_denoiser **out);
/* Since 0.1. */
DS_API void ds_denoiser_free(ds_denoiser *dn);
/* x (n, D) from x_tilde (n, D); `stream` addresses the randomness of a sampling denoiser.
 * Reads the denoiser and its model only: may run from many threads at once.
 * Errors: INVALID_ARGUMENT (NULL, n < 1, n * D too large), NUMERIC (x_tilde or a result not
 * finite), OUT_OF_MEMORY, INTERNAL. Since 0.1. */
DS_API ds_status ds_denoiser_apply(const ds_denoiser *dn, const float *x_tilde, int64_t n,
                                   uint64_t stream, float *x);

/* ======================================================================================
 * The two-stage model p(x) = integral p1(x~) p2(x | x~) dx~
 * ====================================================================================== */

/* The three two-stage calls read their models, smoother and denoiser only: they may run
 * from many threads at once (taking turns on the context's pool), and keep no pointer. */

/* Importance-weighted lower bound on log p(x) with K samples x~_k ~ q(. | x):
 * log (1/K) sum_k p1(x~_k) p2(x | x~_k) / q(x~_k | x). K = 1 is the ELBO; the bound does
 * not decrease with K. bound (n) in nats.
 * Errors: INVALID_ARGUMENT (NULL, n < 1, k_samples outside 1..10^6, stage 1 conditional or
 * discretized), SHAPE_MISMATCH (stage 2 not p(x | x~) of stage 1's D), NUMERIC (x or a
 * bound not finite), OUT_OF_MEMORY. Since 0.1.
 * Since 0.3 also INVALID_ARGUMENT if either model records a smoothing other than sm's
 * (ds_model_smoothing). */
DS_API ds_status ds_two_stage_log_prob_bound(const ds_model *stage1, const ds_model *stage2,
                                             const ds_smoother *sm, const float *x, int64_t n,
                                             int32_t k_samples, uint64_t stream,
                                             double *bound);
/* log p(x) by quadrature over a regular grid of x~ (D <= 2): `points` per dimension over
 * [lo, hi] (points 2..4096), a Riemann sum of p1(x~) p2(x | x~). Since 0.3 the box is
 * checked instead of trusted; INVALID_ARGUMENT, naming the example and the figure, when
 *  - the grid holds less than 0.99 of stage 1's mass (Riemann sum of p1 over the box),
 *  - a point lies outside [lo, hi] in some dimension, or
 *  - a point's integrand p1(x~) p2(x | x~) on the outermost ring of grid points still
 *    exceeds 1e-2 of its maximum (the box cuts off the mass around that point).
 * A box a few sigma wider than the data on every side passes.
 * Errors: INVALID_ARGUMENT (NULL, n < 1, lo/hi not finite or lo >= hi, points, stage 1
 * conditional or discretized, the box checks above), SHAPE_MISMATCH (as above),
 * UNSUPPORTED (D > 2), NUMERIC (x or a result not finite), OUT_OF_MEMORY. Since 0.1. */
DS_API ds_status ds_two_stage_log_prob_grid(const ds_model *stage1, const ds_model *stage2,
                                            const float *x, int64_t n, double lo, double hi,
                                            int32_t points, double *log_prob);
/* Two-stage sampling: x~ from stage 1, then the denoiser. x (n, D).
 * Errors: INVALID_ARGUMENT (NULL, n < 1), SHAPE_MISMATCH (stage 1 conditional or of another
 * D than the denoiser), NUMERIC (a sample not finite), OUT_OF_MEMORY, INTERNAL.
 * Since 0.1. */
DS_API ds_status ds_two_stage_sample(const ds_model *stage1, const ds_denoiser *dn, int64_t n,
                                     uint64_t stream, float *x);

/* ======================================================================================
 * Sample quality
 * ====================================================================================== */

/* Improved precision and recall (Kynkaanniemi et al., NeurIPS 2019) of a generated set
 * against a real one, in whatever feature space the rows live in (raw pixels, pooled
 * pixels, embeddings: the caller chooses). real is (n_real, dim), fake is (n_fake, dim).
 * Each point gets a ball whose radius is the distance to its k-th nearest neighbour within
 * its own set (itself excluded; duplicates count, at distance 0); the paper uses k = 3.
 *   precision = fraction of fake points inside the ball of at least one real point
 *   recall    = fraction of real points inside the ball of at least one fake point
 * ("inside" includes the boundary: ||g - r|| <= radius(r)). Identical sets give 1 and 1;
 * fakes that all collapse near a few real points give high precision and low recall.
 * Distances are Euclidean over the float values; every comparison is decided on the
 * squared distance summed in double, exactly as a plain O(n^2) loop would, so ties are
 * robust and the results are bitwise identical for any thread count. The work is
 * O((n_real + n_fake)^2 dim) with a blocked matrix product on the context's pool; memory
 * is 24 bytes per point plus a fixed workspace per thread (about 0.5 MiB for a small k).
 * Either output may be NULL to skip its half of the work (not both).
 * Errors: INVALID_ARGUMENT (NULL, n_real, n_fake or dim < 1, k outside
 * 1..min(n_real, n_fake) - 1), NUMERIC (a NaN or infinite value, with its row and column),
 * OUT_OF_MEMORY; on failure *precision and *recall are left unchanged. Since 0.2. */
DS_API ds_status ds_precision_recall(ds_context *ctx, const float *real, int64_t n_real,
                                     const float *fake, int64_t n_fake, int64_t dim, int32_t k,
                                     double *precision, double *recall);

/* ======================================================================================
 * Experimental and testing knobs (no stability promise)
 *
 * What follows exists for the library's own tests and benchmarks. It may change meaning
 * or disappear in any minor release (values already used are never given to something
 * else): programs should not depend on it.
 * ====================================================================================== */

/* Flag OR-ed into a ds_sample_method (ds_model_sample's `method`): rerun the whole network
 * for every pixel instead of the cached incremental sampler (PixelCNN++, PixelCNN; no
 * effect for MADE). The same samples, bit for bit, H*W network passes slower: the
 * reference the cached sampler is tested against. A plain int constant, so that
 * `DS_SAMPLE_BISECTION | DS_SAMPLE_NAIVE` mixes no two enum types (C++20 deprecates that).
 * Since 0.2 (then an enumerator of ds_sample_method; same name and value). */
#define DS_SAMPLE_NAIVE 0x100

#ifdef __cplusplus
}
#endif
#endif /* DSMOOTH_H */
