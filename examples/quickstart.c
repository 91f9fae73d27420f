/* quickstart: the whole method in one page (the README shows this file). */
#include <dsmooth.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define N 8192
#define TRY(call) do { ds_status s_ = (call); if (s_) { \
  fprintf(stderr, "%s: %s\n", ds_status_str(s_), ds_context_last_error(ctx)); return 1; } } while (0)

static ds_model *made(ds_context *ctx, int64_t dim, int64_t cond_dim) {
  ds_model_config *cfg; ds_model *m = NULL;
  ds_model_config_create(DS_ARCH_MADE, &cfg);
  ds_model_config_set_int(cfg, DS_MODEL_DIM, dim);
  ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, cond_dim);    /* 0: p(x); D: p(x | x~) */
  ds_model_create(ctx, cfg, &m);
  ds_model_config_free(cfg);
  return m;
}

int main(void) {
  static float x[N * 2], samples[10 * 2];
  for (int i = 0; i < N; i++) {                                   /* a ring of radius 2 */
    double a = 2 * M_PI * i / N, r = 2 + 0.05 * sin(97.0 * i);
    x[2 * i] = (float)(r * cos(a)); x[2 * i + 1] = (float)(r * sin(a));
  }
  ds_context *ctx = NULL; ds_smoother *sm; ds_trainer_config *tc; ds_trainer *t1, *t2;
  ds_denoiser *dn; double loss, bound[4];
  TRY(ds_context_create(NULL, &ctx));                             /* all cores, seed 0 */
  TRY(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.3, &sm));
  ds_model *stage1 = made(ctx, 2, 0), *stage2 = made(ctx, 2, 2);
  TRY(ds_trainer_config_create(&tc));
  TRY(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, 256));
  TRY(ds_trainer_create(stage1, tc, sm, &t1));                    /* fits p(x + noise)  */
  TRY(ds_trainer_create(stage2, tc, sm, &t2));                    /* fits p(x | x~)     */
  TRY(ds_trainer_train(t1, x, NULL, N, 1000, &loss));
  TRY(ds_trainer_train(t2, x, NULL, N, 1000, &loss));
  TRY(ds_two_stage_log_prob_bound(stage1, stage2, sm, x, 4, 100, 0, bound));
  TRY(ds_denoiser_create_conditional(stage2, DS_CONDITIONAL_SAMPLE, &dn));
  TRY(ds_two_stage_sample(stage1, dn, 10, 0, samples));
  printf("log p(x_0) >= %.3f nats; a sample: (%.3f, %.3f), radius %.3f\n", bound[0],
         samples[0], samples[1], hypot(samples[0], samples[1]));
  ds_denoiser_free(dn); ds_trainer_free(t1); ds_trainer_free(t2); ds_trainer_config_free(tc);
  ds_model_free(stage1); ds_model_free(stage2); ds_smoother_free(sm); ds_context_free(ctx);
  return 0;
}
