/* Denoisers (undo the smoothing) and the two-stage model built from them. */
#ifndef DS_MODEL_DENOISER_H
#define DS_MODEL_DENOISER_H

#include <stdint.h>

#include "model/model.h"
#include "model/smoother.h"

enum { DS__DENOISE_GRADIENT = 0, DS__DENOISE_CONDITIONAL = 1 };

struct ds_denoiser {
  ds_context *ctx;
  int32_t kind;
  const ds_model *model;     /* stage 1 (gradient) or stage 2 (conditional) */
  const ds_smoother *smoother; /* gradient only */
  int32_t score_kind;        /* gradient: ds_score_kind */
  int32_t output;            /* conditional: ds_conditional_output */
};

/* x (n, D) from x_tilde (n, D); inputs already checked. */
ds_status ds__denoiser_apply(const ds_denoiser *dn, const char *fn, const float *x_tilde,
                             int64_t n, uint64_t stream, float *x);

ds_status ds__two_stage_bound(const ds_model *stage1, const ds_model *stage2,
                              const ds_smoother *sm, const float *x, int64_t n, int32_t k,
                              uint64_t stream, double *bound);
/* INVALID_ARGUMENT (detail on m->ctx, naming `fn` and the model's `role`) if m records
 * a smoothing (trained as stage 1 or 2) other than sm's family and sigma. */
ds_status ds__check_smoothing(const ds_model *m, const ds_smoother *sm, const char *fn,
                              const char *role);
/* Quadrature; INVALID_ARGUMENT when the box misses a point, stage 1's mass or the mass of
 * a point's integrand (see denoiser.c). */
ds_status ds__two_stage_grid(const ds_model *stage1, const ds_model *stage2, const float *x,
                             int64_t n, double lo, double hi, int32_t points, double *log_prob);

/* Two-stage sampling: x~ (n, D) from stage 1 (stream), then the denoiser (a stream derived
 * from it, so the two never share uniforms). x written only on success. Inputs checked
 * by the caller (stage 1 unconditional, of the denoiser's D). */
ds_status ds__two_stage_sample(const ds_model *stage1, const ds_denoiser *dn, const char *fn,
                               int64_t n, uint64_t stream, float *x);

#endif
