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
 *
 * Threads
 * -------
 *  A ds_context owns one persistent pool of worker threads. Every handle created from a
 *  context runs its parallel work on that pool. Calls from several application threads into
 *  handles of the same context are safe: they take turns on the pool (each call runs with
 *  all of the pool's threads, one call at a time). For true concurrency give each
 *  application thread its own context. Results never depend on the number of threads:
 *  every output is bitwise identical for 1, 2, 3 or N threads.
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

/* DS_VERSION_NUMBER of the library actually loaded (MAJOR*10000 + MINOR*100 + PATCH). */
DS_API uint32_t ds_version(void);
/* DS_VERSION_STRING of the library actually loaded, e.g. "0.1.0". Static storage. */
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
  DS_ERR_BAD_STATE = 8,          /* the handle cannot do this now (e.g. not configured)    */
  DS_ERR_CANCELLED = 9,          /* a progress callback asked to stop                      */
  DS_ERR_UNSUPPORTED = 10,       /* valid request this build or configuration cannot serve */
  DS_ERR_THREAD = 11             /* creating a thread or a lock failed                     */
} ds_status;

/* Short constant name of a status, e.g. "DS_ERR_NUMERIC"; "DS_ERR_UNKNOWN" otherwise. */
DS_API const char *ds_status_str(int32_t status);

/* ======================================================================================
 * Context: threads, seed, memory, logging, last error
 * ====================================================================================== */
typedef struct ds_context ds_context;
typedef struct ds_context_options ds_context_options;

/* Allocator hooks. Same contracts as malloc/realloc/free; `user` is passed through.
 * Every allocation the library makes for a context and the handles created from it goes
 * through these (the options object itself uses the C library's malloc). */
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
 * allocator, no logging. */
DS_API ds_status ds_context_options_create(ds_context_options **out);
DS_API void ds_context_options_free(ds_context_options *opts);
/* 0 = all online cores; otherwise 1..DS_MAX_THREADS. */
#define DS_MAX_THREADS 256
DS_API ds_status ds_context_options_set_threads(ds_context_options *opts, int32_t threads);
/* Default seed of the handles created from the context. */
DS_API ds_status ds_context_options_set_seed(ds_context_options *opts, uint64_t seed);
/* All three functions or none (all NULL restores the C library's allocator). */
DS_API ds_status ds_context_options_set_allocator(ds_context_options *opts,
                                                  ds_malloc_fn malloc_fn,
                                                  ds_realloc_fn realloc_fn,
                                                  ds_free_fn free_fn, void *user);
/* Messages at `max_level` and below reach `fn`; fn NULL turns logging off. */
DS_API ds_status ds_context_options_set_log(ds_context_options *opts, ds_log_fn fn,
                                            void *user, int32_t max_level);

/* Create a context and start its thread pool. `opts` may be NULL for the defaults and may
 * be freed right after. On failure *out is left unchanged and the detail is available
 * from ds_context_last_error(NULL) on the calling thread. */
DS_API ds_status ds_context_create(const ds_context_options *opts, ds_context **out);
/* Give up the caller's reference. Every model, smoother and denoiser holds a reference
 * to its context (trainers through their model): the context, its pool and its memory
 * are destroyed when ds_context_free has been called and the last such handle is freed,
 * whatever the order (since 0.3; before, freeing the context first was forbidden). Call
 * it once per context; using `ctx` itself (ds_model_create, ...) after it is an error. */
DS_API void ds_context_free(ds_context *ctx);

/* Detail of the calling thread's most recent failed call that concerned `ctx` or had no
 * context at all (configuration and option setters, calls given a NULL handle,
 * ds_context_create) since ctx was created — so `if (st) puts(ds_context_last_error(ctx));` is right after any
 * failed call on the same thread, whichever thread it is. Empty string if none. Failures
 * on other threads never show here (each thread has its own detail per context; since
 * 0.3 — before, one buffer per context was shared, and racy). With ctx NULL: only the
 * failures without a context. The string belongs to the calling thread and stays valid
 * until that thread's next failing call into the library; copy it with
 * ds_context_last_error_r to keep it. */
DS_API const char *ds_context_last_error(const ds_context *ctx);
/* Number of threads in the pool (the calling thread counts as one). */
DS_API int32_t ds_context_threads(const ds_context *ctx);
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
 * after creation and may be used by many threads at once. */
DS_API ds_status ds_smoother_create(ds_context *ctx, int32_t family, double sigma,
                                    ds_smoother **out);
DS_API void ds_smoother_free(ds_smoother *sm);
DS_API int32_t ds_smoother_family(const ds_smoother *sm);
DS_API double ds_smoother_sigma(const ds_smoother *sm);
DS_API uint64_t ds_smoother_seed(const ds_smoother *sm);

/* x_tilde = x + noise, both (n, d). The noise of element (i, j) is a pure function of
 * (seed, stream, i*d + j) through the Philox4x32-10 counter-based generator: use a new
 * `stream` (e.g. the minibatch number) for fresh noise. x_tilde may equal x (in place).
 * Errors: INVALID_ARGUMENT (NULL, n < 1, d < 1), NUMERIC (x not finite). */
DS_API ds_status ds_smoother_apply(const ds_smoother *sm, const float *x, int64_t n,
                                   int64_t d, uint64_t stream, float *x_tilde);

/* log q(x~_i | x_i) in nats for each of the n examples, summed over the d dimensions.
 * For UNIFORM noise the value is -INFINITY outside the support (not an error). */
DS_API ds_status ds_smoother_log_q(const ds_smoother *sm, const float *x_tilde,
                                   const float *x, int64_t n, int64_t d, double *log_q);

/* Differential entropy of the noise per dimension, in nats (Gaussian: 0.5*log(2*pi*e*s^2)). */
DS_API double ds_smoother_entropy(const ds_smoother *sm);

/* score = grad_{x~} log q(x~ | x), (n, d): Gaussian -(x~ - x)/sigma^2; Laplace
 * -sign(x~ - x)/b (0 at x~ = x); Uniform 0 inside the support. Errors: NUMERIC if an input
 * is not finite or (UNIFORM) some x~ lies outside the support, where the score does not
 * exist. */
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
 * Errors: INVALID_ARGUMENT, NUMERIC, OUT_OF_MEMORY. */
DS_API ds_status ds_smoother_convolve_grid(const ds_smoother *sm, const double *density,
                                           int64_t nx, int64_t ny, double x0, double dx,
                                           double y0, double dy, double *smoothed);

/* Posterior mean E[x | x~] for x distributed as the tabulated density and x~ = x + noise,
 * at every grid point x~: mean is (ny, nx, dims) with dims = 1 for a 1-D grid and 2 for a
 * 2-D grid ([..., 0] = x, [..., 1] = y). For Gaussian noise this is the exact Tweedie
 * denoiser x~ + sigma^2 grad log q(x~). Where the smoothed density underflows to 0 the
 * mean is undefined and set to NaN. */
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
  DS_ARCH_PIXELCNNPP = 1, /* PixelCNN++ over images (Salimans et al. 2017), see below */
  DS_ARCH_PIXELCNN = 2    /* the original masked-convolution PixelCNN over images (van den
                             Oord et al. 2016), smaller and faster; see below */
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

/* How a conditional PixelCNN++ sees its conditioning input (DS_MODEL_COND_LAYOUT). */
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
     MADE): */
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
  DS_MODEL_COND_CONVS = 15   /* unmasked 3x3 convs over x~, 0..16; DS_COND_CHANNELS only (0) */
} ds_model_option;

/* Float options (ds_model_config_set_float). */
typedef enum ds_model_float_option {
  DS_MODEL_BIN_LO = 0,       /* centre of the first bin                            (-1) */
  DS_MODEL_BIN_HI = 1,       /* centre of the last bin                             (+1) */
  DS_MODEL_DROPOUT = 2       /* PixelCNN++ only: dropout rate in [0, 1) inside every gated
                                resnet, active during training steps only (the official
                                models use 0.5)                                        (0) */
} ds_model_float_option;

/* A configuration starts with the defaults in brackets above and two hidden layers of
 * width 64. Setters report out-of-range values, and options the configuration's
 * architecture does not have, as DS_ERR_INVALID_ARGUMENT (the configuration unchanged). */
DS_API ds_status ds_model_config_create(int32_t arch, ds_model_config **out);
DS_API void ds_model_config_free(ds_model_config *cfg);
DS_API ds_status ds_model_config_set_int(ds_model_config *cfg, int32_t option, int64_t value);
DS_API ds_status ds_model_config_set_float(ds_model_config *cfg, int32_t option, double value);
/* Hidden layer widths (count 1..64 layers, each width 1..65536). */
DS_API ds_status ds_model_config_set_hidden(ds_model_config *cfg, const int64_t *widths,
                                            int32_t count);

/* Create a model with freshly initialised weights drawn from the context's seed.
 * Errors: INVALID_ARGUMENT (DIM unset, inconsistent options), OUT_OF_MEMORY. */
DS_API ds_status ds_model_create(ds_context *ctx, const ds_model_config *cfg, ds_model **out);
DS_API void ds_model_free(ds_model *model);
DS_API int64_t ds_model_dim(const ds_model *model);
DS_API int64_t ds_model_cond_dim(const ds_model *model);
DS_API int64_t ds_model_param_count(const ds_model *model);

/* Thread-safety: every ds_model_* call below reads the model only; a model that is not
 * being trained may be used by many threads at once. `cond` is (n, C) and must be NULL
 * exactly when C = 0. x is (n, D). */

/* log p(x_i | c_i) in nats for each example. For the discretized head this is the log
 * probability of the bins the values fall in (values are snapped to the nearest bin).
 * Errors: INVALID_ARGUMENT, NUMERIC (non-finite input), OUT_OF_MEMORY. */
DS_API ds_status ds_model_log_prob(const ds_model *model, const float *x, const float *cond,
                                   int64_t n, double *log_prob);

typedef enum ds_score_kind {
  DS_SCORE_EXACT = 0, /* grad_x log p(x): backpropagation through the network to x     */
  DS_SCORE_LOCAL = 1  /* the official code's variant: the network's outputs held fixed,
                         only each dimension's own conditional differentiated          */
} ds_score_kind;

/* score (n, D) = grad_x log p(x | c); log_prob (n) may be NULL. Continuous head only
 * (UNSUPPORTED for the discretized head). */
DS_API ds_status ds_model_score(const ds_model *model, const float *x, const float *cond,
                                int64_t n, int32_t kind, float *score, double *log_prob);

typedef enum ds_sample_method {
  DS_SAMPLE_BISECTION = 0, /* invert each conditional's mixture CDF (one uniform)        */
  DS_SAMPLE_GUMBEL = 1,    /* Gumbel-max component choice, then a logistic draw          */
  DS_SAMPLE_NAIVE = 0x100  /* flag, OR it into the method: rerun the whole network for
                              every pixel instead of the cached sampler (PixelCNN++,
                              PixelCNN). The same samples, bit for bit, H*W network
                              passes slower: for tests and benchmarks */
} ds_sample_method;

/* Ancestral sampling, dimension by dimension: x (n, D). The draw for example i is a pure
 * function of (model seed, stream, i), whatever the thread count or n.
 * PixelCNN++ and PixelCNN sample with a cached incremental sampler (the idea of Fast
 * PixelCNN++): every activation is computed once, at the pixel from which on it no longer
 * changes, instead of once per pixel; the samples are bitwise those of the naive
 * pixel-by-pixel loop (DS_SAMPLE_NAIVE). It holds the activations of up to 256 images per
 * thread at a time (about floats_per_image x 4 bytes each, as a forward pass). */
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
 * validating it; under a context memory budget, what the model needs counts too. */
DS_API ds_status ds_model_save(const ds_model *model, const char *path);
DS_API ds_status ds_model_load(ds_context *ctx, const char *path, ds_model **out);
/* Copy all weights of `src` into `dst` (same configuration). */
DS_API ds_status ds_model_copy_weights(ds_model *dst, const ds_model *src);

/* ======================================================================================
 * Trainer: maximum likelihood with Adam
 * ====================================================================================== */
typedef struct ds_trainer ds_trainer;
typedef struct ds_trainer_config ds_trainer_config;

typedef enum ds_lr_schedule {
  DS_LR_CONSTANT = 0,
  DS_LR_EXPONENTIAL = 1, /* lr * decay^step                                       */
  DS_LR_COSINE = 2       /* lr_min + (lr - lr_min)(1 + cos(pi step / total)) / 2  */
} ds_lr_schedule;

typedef enum ds_trainer_option {
  DS_TRAIN_BATCH = 0,          /* examples per step, 1..2^20                    (128) */
  DS_TRAIN_TOTAL_STEPS = 1,    /* the schedule's horizon, >= 1                (1000) */
  DS_TRAIN_SCHEDULE = 2        /* ds_lr_schedule                        (CONSTANT) */
} ds_trainer_option;

typedef enum ds_trainer_float_option {
  DS_TRAIN_LR = 0,             /* (0, 1e6]                                     (1e-3) */
  DS_TRAIN_BETA1 = 1,          /* [0, 1) once rounded to float                  (0.9) */
  DS_TRAIN_BETA2 = 2,          /* [0, 1) once rounded to float                (0.999) */
  DS_TRAIN_EPSILON = 3,        /* [1e-30, 1]                                   (1e-8) */
  DS_TRAIN_WEIGHT_DECAY = 4,   /* [0, 1e6], decoupled (AdamW)                     (0) */
  DS_TRAIN_LR_DECAY = 5,       /* (0, 1], per step, EXPONENTIAL only         (0.9995) */
  DS_TRAIN_LR_MIN = 6,         /* >= 0, COSINE floor                              (0) */
  DS_TRAIN_CLIP_NORM = 7       /* > 0 clips the global gradient norm, 0 = off     (0) */
} ds_trainer_float_option;

DS_API ds_status ds_trainer_config_create(ds_trainer_config **out);
DS_API void ds_trainer_config_free(ds_trainer_config *cfg);
DS_API ds_status ds_trainer_config_set_int(ds_trainer_config *cfg, int32_t option, int64_t value);
DS_API ds_status ds_trainer_config_set_float(ds_trainer_config *cfg, int32_t option, double value);

/* Progress: called every `every` steps and after the last; return non-zero to stop
 * (ds_trainer_train then returns DS_ERR_CANCELLED after finishing the current step; the
 * trainer stays consistent and can continue). */
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
 * The trainer keeps pointers to model and smoother: they must outlive it. */
DS_API ds_status ds_trainer_create(ds_model *model, const ds_trainer_config *cfg,
                                   const ds_smoother *smoother, ds_trainer **out);
DS_API void ds_trainer_free(ds_trainer *trainer);
DS_API ds_status ds_trainer_set_progress(ds_trainer *trainer, ds_progress_fn fn, void *user,
                                         int64_t every);

/* Run `steps` more Adam steps on minibatches drawn from x (n, D) [and cond (n, C)] with a
 * seeded shuffle (each epoch is a permutation; the last incomplete batch of an epoch is
 * skipped). The arrays must be the same for every call of one training run. The loss is
 * the mean negative log-likelihood in nats per example of the batch. loss_out (may be
 * NULL) receives the mean loss over the steps run. A trainer does at most 2^56 - 1 steps
 * in all: `steps` beyond that is INVALID_ARGUMENT.
 * A step whose loss or gradient is not finite fails with DS_ERR_NUMERIC before it changes
 * anything; like a cancellation, such a failure keeps the steps this call completed before
 * it (ds_trainer_step says how many steps are done) — the one exception to "a failed call
 * changes nothing", since a long run should not be thrown away. */
DS_API ds_status ds_trainer_train(ds_trainer *trainer, const float *x, const float *cond,
                                  int64_t n, int64_t steps, double *loss_out);
DS_API int64_t ds_trainer_step(const ds_trainer *trainer);
/* Mean NLL (nats/example) of held-out data under the trainer's objective: the direct or
 * conditional NLL, or for stage 1/2 with `stream`-addressed noise. */
DS_API ds_status ds_trainer_evaluate(ds_trainer *trainer, const float *x, const float *cond,
                                     int64_t n, uint64_t stream, double *mean_nll);
/* Save / resume everything needed to continue bitwise as if uninterrupted: weights, Adam
 * moments, step, configuration. Resume requires a trainer made with the same
 * configurations; every value of the file is validated (steps done at most 2^56 - 1, Adam
 * moments finite, second moments >= 0, the model as by ds_model_load) and a refused file
 * (BAD_FORMAT, SHAPE_MISMATCH, ...) leaves the trainer and its model unchanged. */
DS_API ds_status ds_trainer_save(const ds_trainer *trainer, const char *path);
DS_API ds_status ds_trainer_resume(ds_trainer *trainer, const char *path);

/* ======================================================================================
 * Denoiser: undo the smoothing
 * ====================================================================================== */
typedef struct ds_denoiser ds_denoiser;

/* Single-step gradient denoiser x^ = x~ + sigma^2 grad log p(x~) from a stage-1 model and
 * the smoother it was trained with (kind: ds_score_kind). */
DS_API ds_status ds_denoiser_create_gradient(const ds_model *stage1, const ds_smoother *sm,
                                             int32_t kind, ds_denoiser **out);
typedef enum ds_conditional_output {
  DS_CONDITIONAL_SAMPLE = 0, /* x ~ p(x | x~)                                           */
  DS_CONDITIONAL_MEAN = 1    /* greedy: each dimension its conditional mean given the
                                previous ones                                            */
} ds_conditional_output;
/* Conditional denoiser from a stage-2 model p(x | x~) (C = D). */
DS_API ds_status ds_denoiser_create_conditional(const ds_model *stage2, int32_t output,
                                                ds_denoiser **out);
DS_API void ds_denoiser_free(ds_denoiser *dn);
/* x (n, D) from x_tilde (n, D); `stream` addresses the randomness of a sampling denoiser. */
DS_API ds_status ds_denoiser_apply(const ds_denoiser *dn, const float *x_tilde, int64_t n,
                                   uint64_t stream, float *x);

/* ======================================================================================
 * The two-stage model p(x) = integral p1(x~) p2(x | x~) dx~
 * ====================================================================================== */

/* Importance-weighted lower bound on log p(x) with K samples x~_k ~ q(. | x):
 * log (1/K) sum_k p1(x~_k) p2(x | x~_k) / q(x~_k | x). K = 1 is the ELBO; the bound does
 * not decrease with K. bound (n) in nats. */
DS_API ds_status ds_two_stage_log_prob_bound(const ds_model *stage1, const ds_model *stage2,
                                             const ds_smoother *sm, const float *x, int64_t n,
                                             int32_t k_samples, uint64_t stream,
                                             double *bound);
/* log p(x) by quadrature over a regular grid of x~ (D <= 2): `points` per dimension over
 * [lo, hi] (points >= 2; choose the box to cover the stage-1 mass). */
DS_API ds_status ds_two_stage_log_prob_grid(const ds_model *stage1, const ds_model *stage2,
                                            const float *x, int64_t n, double lo, double hi,
                                            int32_t points, double *log_prob);
/* Two-stage sampling: x~ from stage 1, then the denoiser. x (n, D). */
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
 O((n_real + n_fake)^2 dim) with a blocked matrix product on the context's pool; memory
 * is 24 bytes per point plus a fixed workspace per thread (about 0.5 MiB for a small k).
 * Either output may be NULL to skip its half of the work (not both).
 * Errors: INVALID_ARGUMENT (NULL, n_real, n_fake or dim < 1, k outside
 * 1..min(n_real, n_fake) - 1), NUMERIC (a NaN or infinite value, with its row and column),
 * OUT_OF_MEMORY; on failure *precision and *recall are left unchanged. */
DS_API ds_status ds_precision_recall(ds_context *ctx, const float *real, int64_t n_real,
                                     const float *fake, int64_t n_fake, int64_t dim, int32_t k,
                                     double *precision, double *recall);

#ifdef __cplusplus
}
#endif
#endif /* DSMOOTH_H */
