/* Every size limit of a model or trainer, in one place. The option tables
 * (model/model_options.c, model/trainer_options.c) take their ranges from here, and the
 * code that sizes arrays by a limit (the K-sized stack arrays of the heads) names it too.
 * include/dsmooth.h documents the same numbers to the user; the static assertions below
 * say why the numbers hold together. */
#ifndef DS_MODEL_LIMITS_H
#define DS_MODEL_LIMITS_H

#include <stdint.h>

#include "core/philox.h"
#include "kernels/logistic_mixture.h"

/* ---- heads ---- */
#define DS__MAX_COMPONENTS 256 /* K: mixture components; heads keep K doubles on the stack */
#define DS__MIN_BINS 2
#define DS__MAX_BINS 65536     /* B of the discretized head */
#define DS__MAX_FLOAT_OPTION 1e30 /* |bin centres| and other unbounded float options */

/* ---- MADE ---- */
#define DS__MAX_VECTOR_DIM 65536 /* D and C of a vector model */
#define DS__MAX_HIDDEN_LAYERS 64
#define DS__MAX_HIDDEN_WIDTH 65536

/* ---- image architectures ---- */
#define DS__MIN_IMAGE_SIDE 4    /* the PixelCNN++ down/up path halves twice */
#define DS__MAX_IMAGE_SIDE 4096
#define DS__MAX_CHANNELS 3      /* 1 (grayscale) or 3 (RGB) */
#define DS__MAX_IMAGE_DIM ((int64_t)DS__MAX_CHANNELS * DS__MAX_IMAGE_SIDE * DS__MAX_IMAGE_SIDE)
#define DS__MAX_FILTERS 1024
#define DS__MAX_BLOCKS 64       /* PixelCNN++ resnets per level, masked PixelCNN layers */
#define DS__MAX_COND_CONVS 16   /* unmasked 3x3 convs over x~ (DS_COND_CHANNELS) */

/* ---- any model ---- */
#define DS__MAX_PARAMS ((int64_t)1 << 31) /* weights of one model (8 GiB of floats) */

/* ---- trainer ---- */
#define DS__MAX_BATCH ((int64_t)1 << 20)
#define DS__MAX_TOTAL_STEPS (INT64_MAX / 2) /* the cosine horizon T */
#define DS__MAX_RATE 1e6     /* learning rate and weight decay (the update runs in float) */
#define DS__MIN_EPSILON 1e-30 /* Adam's epsilon, which divides the update */
/* Steps done never exceed this: the step number addresses noise and shuffle streams in
 * the low 56 bits of a stream (core/philox.h); a resumed file and ds_trainer_train are
 * both held to it. */
#define DS__TRAINER_MAX_STEPS (((int64_t)1 << 56) - 1)

/* ---- why the numbers hold together ---- */
/* the mixture kernels size their K-wide stack arrays by their own constant */
_Static_assert(DS__MAX_COMPONENTS <= DS__MIX_MAX_COMPONENTS,
               "the mixture kernels' stack arrays must hold K max components");
/* the widest head group (PixelCNN++'s RGB mixture, 10K params) fits the int32 group width */
_Static_assert(DS__MIX_RGB_PARAMS((int64_t)DS__MAX_COMPONENTS) <= INT32_MAX,
               "K max must keep a head group's width in int32");
/* a batch of the largest images: rows * pixels * head params stays an int64 element count */
_Static_assert(DS__MAX_BATCH <= INT64_MAX / (DS__MAX_IMAGE_SIDE * DS__MAX_IMAGE_SIDE) /
                                    DS__MIX_RGB_PARAMS((int64_t)DS__MAX_COMPONENTS),
               "batch * head row of the largest image overflows int64");
/* ... and so do its activations (batch * filters * pixels) and its (batch, D) inputs */
_Static_assert(DS__MAX_BATCH <= INT64_MAX / DS__MAX_FILTERS / DS__MAX_IMAGE_DIM,
               "batch * activations of the largest image overflow int64");
/* MADE: out = D * 3K; the parameter count check multiplies a width by (fan-in + 1) with
 * both at most max(out, D + C, hidden width) before comparing with DS__MAX_PARAMS */
#define DS__MAX_MADE_OUT ((int64_t)DS__MAX_VECTOR_DIM * 3 * DS__MAX_COMPONENTS)
_Static_assert(DS__MAX_MADE_OUT >= 2 * DS__MAX_VECTOR_DIM &&
                   DS__MAX_MADE_OUT >= DS__MAX_HIDDEN_WIDTH,
               "the MADE output layer is the widest");
_Static_assert(DS__MAX_MADE_OUT <= INT64_MAX / (DS__MAX_MADE_OUT + 1) / 2,
               "one MADE layer's parameter count overflows int64 before the limit check");
/* every image size is a vector size no larger than the image limit */
_Static_assert(DS__MAX_VECTOR_DIM <= DS__MAX_IMAGE_DIM, "D limits disagree");
/* the parameter limit counts floats addressed with int64 and stored as u64 in checkpoints */
_Static_assert(DS__MAX_PARAMS <= INT64_MAX / 4, "weights of the largest model overflow bytes");
/* step numbers never reach the stream tag byte of core/philox.h */
_Static_assert((DS__TRAINER_MAX_STEPS & (int64_t)DS__STREAM_SAMPLE) == 0 &&
                   ((uint64_t)DS__TRAINER_MAX_STEPS >> 56) == 0,
               "steps overflow into the stream tag");
_Static_assert(DS__MAX_BINS <= INT32_MAX && DS__MAX_FILTERS <= INT32_MAX &&
                   DS__MAX_BLOCKS <= INT32_MAX && DS__MAX_COND_CONVS <= INT32_MAX,
               "int32 fields of ds_model_config");

#endif
