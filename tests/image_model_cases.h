/* Public-API test cases shared by the image architectures (PixelCNN++ and the masked
 * PixelCNN), each parameterised by an image_spec: an architecture's test file picks its
 * tiny models and calls these bodies, which hold the assertions. A third image
 * architecture gets the same coverage by adding a branch to tiny_image_model and a test
 * file of specs. Include after test_util.h, pixelcnn_fixtures.h and
 * masked_pixelcnn_fixtures.h. */
#ifndef DS_TEST_IMAGE_MODEL_CASES_H
#define DS_TEST_IMAGE_MODEL_CASES_H

#include <math.h>

typedef struct image_spec {
  int32_t arch;               /* DS_ARCH_PIXELCNNPP or DS_ARCH_PIXELCNN */
  int64_t channels, h, w, filters;
  int64_t depth;              /* PIXELCNNPP: DS_MODEL_RESNETS; PIXELCNN: DS_MODEL_LAYERS */
  int64_t K;
  int32_t head;               /* ds_head */
  tiny_cond cond;             /* PIXELCNN: only .conditional (its one, channel, form) */
  double dropout;             /* PIXELCNNPP only */
  int gated;                  /* PIXELCNN only: DS_MODEL_GATED */
  int32_t activation;         /* PIXELCNN only: RELU or ELU */
} image_spec;

static inline ds_model *tiny_image_model(ds_context *ctx, const image_spec *s) {
  if (s->arch == DS_ARCH_PIXELCNNPP)
    return tiny_pixelcnn_cond(ctx, s->channels, s->h, s->w, s->filters, s->depth, s->K, s->head,
                              s->cond, s->dropout);
  assert_int_equal(s->arch, DS_ARCH_PIXELCNN);
  const masked_spec ms = {s->channels, s->h, s->w, s->filters, s->depth, s->K, s->head,
                          s->cond.conditional, s->gated, s->activation};
  return tiny_masked_pixelcnn(ctx, &ms);
}

static inline int64_t image_dim(const image_spec *s) { return s->channels * s->h * s->w; }

/* n stripe images (x) and, for a conditional spec, n more as x~ (else NULL); free both. */
static inline float *image_data(const image_spec *s, int64_t n, uint64_t seed) {
  float *x = malloc(sizeof(float) * (size_t)(n * image_dim(s)));
  assert_non_null(x);
  stripe_images(x, n, s->channels, s->h, s->w, seed);
  return x;
}
static inline float *image_cond_data(const image_spec *s, int64_t n, uint64_t seed) {
  return s->cond.conditional ? image_data(s, n, seed) : NULL;
}

static inline ds_trainer_config *image_trainer_config(int64_t batch) {
  ds_trainer_config *tc = NULL;
  assert_int_equal(ds_trainer_config_create(&tc), DS_OK);
  assert_int_equal(ds_trainer_config_set_int(tc, DS_TRAIN_BATCH, batch), DS_OK);
  return tc;
}

/* Further checks on a saved model file (its bytes), run before it is removed. */
typedef void (*image_file_checks)(ds_context *ctx, const ds_model *m, const char *path,
                                  const unsigned char *bytes, long size);

/* Save and load: same weights count, D and C, log p bit for bit; copy_weights accepts the
 * pair; every truncation of the file is refused and creates nothing. */
static inline void image_checkpoint_round_trip(const image_spec *s, uint64_t seed,
                                               image_file_checks more) {
  ds_context *ctx = test_context(1, seed);
  const int64_t D = image_dim(s);
  ds_model *m = tiny_image_model(ctx, s);
  char path[] = "/tmp/ds_image_ckpt_XXXXXX";
  test_temp_path(path);
  assert_int_equal(ds_model_save(m, path), DS_OK);
  ds_model *back = NULL;
  assert_int_equal(ds_model_load(ctx, path, &back), DS_OK);
  assert_int_equal(ds_model_param_count(back), ds_model_param_count(m));
  assert_int_equal(ds_model_dim(back), D);
  assert_int_equal(ds_model_cond_dim(back), s->cond.conditional ? D : 0);
  float *x = image_data(s, 2, 1), *c = image_cond_data(s, 2, 2);
  double a[2], b[2];
  assert_int_equal(ds_model_log_prob(m, x, c, 2, a), DS_OK);
  assert_int_equal(ds_model_log_prob(back, x, c, 2, b), DS_OK);
  assert_memory_equal(a, b, sizeof a);
  assert_int_equal(ds_model_copy_weights(back, m), DS_OK);
  long size;
  unsigned char *bytes = test_read_file(path, &size);
  for (long cut = 0; cut < size; cut += size / 23 + 1) {
    test_write_file(path, bytes, cut);
    ds_model *bad = NULL;
    assert_int_not_equal(ds_model_load(ctx, path, &bad), DS_OK);
    assert_null(bad);
  }
  if (more) more(ctx, m, path, bytes, size);
  unlink(path);
  free(bytes), free(x), free(c);
  ds_model_free(back);
  ds_model_free(m);
  ds_context_free(ctx);
}

/* Unconditional spec with a discretized head: an example's sample does not depend on the
 * batch it is drawn in; every value is a bin centre; examples and methods differ. */
static inline void image_sampling_is_reproducible(const image_spec *s, uint64_t seed) {
  ds_context *ctx = test_context(1, seed);
  const int64_t D = image_dim(s);
  ds_model *m = tiny_image_model(ctx, s);
  float *a = malloc(sizeof(float) * (size_t)(3 * D)), *b = malloc(sizeof(float) * (size_t)(3 * D));
  assert_int_equal(ds_model_sample(m, NULL, 3, 7, DS_SAMPLE_BISECTION, a), DS_OK);
  assert_int_equal(ds_model_sample(m, NULL, 1, 7, DS_SAMPLE_BISECTION, b), DS_OK);
  assert_memory_equal(a, b, sizeof(float) * (size_t)D); /* example 0 alone or in a batch */
  for (int64_t i = 0; i < 3 * D; i++) { /* every value a bin centre */
    double q = (a[i] + 1.0) * 127.5;
    assert_true(fabs(q - round(q)) < 1e-3 && q > -0.01 && q < 255.01);
  }
  assert_true(memcmp(a, a + D, sizeof(float) * (size_t)D) != 0);
  assert_int_equal(ds_model_sample(m, NULL, 3, 8, DS_SAMPLE_GUMBEL, b), DS_OK);
  assert_true(memcmp(a, b, sizeof(float) * (size_t)D) != 0);
  free(a), free(b);
  ds_model_free(m);
  ds_context_free(ctx);
}

/* 6 steps, save, 6 more == resume from the file in a new trainer, 6 more: same weights
 * (unconditional spec). */
static inline void image_trainer_resumes_bitwise(const image_spec *s) {
  ds_context *ctx = test_context(2, 3);
  const int64_t n = 16;
  ds_model *a = tiny_image_model(ctx, s), *b = tiny_image_model(ctx, s);
  float *x = image_data(s, n, 7);
  ds_trainer_config *tc = image_trainer_config(4);
  ds_trainer *ta = NULL, *tb = NULL;
  assert_int_equal(ds_trainer_create(a, tc, NULL, &ta), DS_OK);
  assert_int_equal(ds_trainer_create(b, tc, NULL, &tb), DS_OK);
  char path[] = "/tmp/ds_image_trainer_XXXXXX";
  test_temp_path(path);
  assert_int_equal(ds_trainer_train(ta, x, NULL, n, 6, NULL), DS_OK);
  assert_int_equal(ds_trainer_save(ta, path), DS_OK);
  assert_int_equal(ds_trainer_train(ta, x, NULL, n, 6, NULL), DS_OK);
  assert_int_equal(ds_trainer_resume(tb, path), DS_OK);
  assert_int_equal(ds_trainer_train(tb, x, NULL, n, 6, NULL), DS_OK);
  double la[2], lb[2];
  assert_int_equal(ds_model_log_prob(a, x, NULL, 2, la), DS_OK);
  assert_int_equal(ds_model_log_prob(b, x, NULL, 2, lb), DS_OK);
  assert_memory_equal(la, lb, sizeof la);
  unlink(path);
  ds_trainer_free(ta), ds_trainer_free(tb);
  ds_trainer_config_free(tc);
  free(x);
  ds_model_free(a), ds_model_free(b);
  ds_context_free(ctx);
}

/* 200 steps on 64 stripe images: the loss of the last 20 steps is well below the first
 * 20's, and the training-set NLL falls by 20%. sigma 0: the direct model (unconditional
 * spec); sigma > 0: stage 2 p(x | x~) (conditional spec) with Gaussian noise of that sigma,
 * evaluated on noise stream 99. */
static inline void image_training_lowers_the_loss(const image_spec *s, double sigma) {
  ds_context *ctx = test_context(1, 10);
  const int64_t n = 64;
  ds_model *m = tiny_image_model(ctx, s);
  ds_smoother *sm = NULL;
  if (sigma > 0) assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, sigma, &sm), DS_OK);
  const uint64_t stream = sigma > 0 ? 99 : 0;
  float *x = image_data(s, n, 3);
  ds_trainer_config *tc = image_trainer_config(8);
  assert_int_equal(ds_trainer_config_set_float(tc, DS_TRAIN_LR, 3e-3), DS_OK);
  ds_trainer *t = NULL;
  assert_int_equal(ds_trainer_create(m, tc, sm, &t), DS_OK);
  double before, first, last, after;
  assert_int_equal(ds_trainer_evaluate(t, x, NULL, n, stream, &before), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, n, 20, &first), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, n, 160, NULL), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, NULL, n, 20, &last), DS_OK);
  assert_int_equal(ds_trainer_evaluate(t, x, NULL, n, stream, &after), DS_OK);
  print_message("nats/image: start %.2f, first 20 steps %.2f, last 20 %.2f, end %.2f\n", before,
                first, last, after);
  assert_true(last < first - 0.15 * fabs(first));
  assert_true(after < 0.8 * before);
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  ds_smoother_free(sm);
  free(x);
  ds_model_free(m);
  ds_context_free(ctx);
}

/* Stage 1 s1 (unconditional, continuous) and stage 2 s2 (p(x | x~), discretized), each
 * trained 5 steps with the smoother, on `threads` threads: the bound is finite; both
 * gradient denoisers run; the conditional denoisers run, the greedy mean is a bin centre
 * and depends on x~; two-stage sampling with either gives values in [-1, 1]. */
static inline void image_two_stage_pipeline(const image_spec *s1, const image_spec *s2,
                                            int32_t threads) {
  assert_int_equal(image_dim(s1), image_dim(s2));
  assert_true(s2->cond.conditional && s2->head == DS_HEAD_DISCRETIZED);
  ds_context *ctx = test_context(threads, 12);
  const int64_t D = image_dim(s1), n = 16;
  ds_model *m1 = tiny_image_model(ctx, s1), *m2 = tiny_image_model(ctx, s2);
  ds_smoother *sm = NULL;
  assert_int_equal(ds_smoother_create(ctx, DS_NOISE_GAUSSIAN, 0.3, &sm), DS_OK);
  float *x = image_data(s1, n, 9), *y = malloc(sizeof(float) * (size_t)(n * D));
  float *z = malloc(sizeof(float) * (size_t)(n * D)), *z2 = malloc(sizeof(float) * (size_t)(n * D));
  ds_trainer_config *tc = image_trainer_config(4);
  ds_trainer *t1 = NULL, *t2 = NULL;
  assert_int_equal(ds_trainer_create(m1, tc, sm, &t1), DS_OK);
  assert_int_equal(ds_trainer_create(m2, tc, sm, &t2), DS_OK);
  assert_int_equal(ds_trainer_train(t1, x, NULL, n, 5, NULL), DS_OK);
  assert_int_equal(ds_trainer_train(t2, x, NULL, n, 5, NULL), DS_OK);
  double bound[2];
  assert_int_equal(ds_two_stage_log_prob_bound(m1, m2, sm, x, 2, 3, 4, bound), DS_OK);
  assert_true(isfinite(bound[0]) && isfinite(bound[1]));
  ds_denoiser *exact = NULL, *local = NULL, *draw = NULL, *mean = NULL;
  assert_int_equal(ds_denoiser_create_gradient(m1, sm, DS_SCORE_EXACT, &exact), DS_OK);
  assert_int_equal(ds_denoiser_create_gradient(m1, sm, DS_SCORE_LOCAL, &local), DS_OK);
  assert_int_equal(ds_denoiser_create_conditional(m2, DS_CONDITIONAL_SAMPLE, &draw), DS_OK);
  assert_int_equal(ds_denoiser_create_conditional(m2, DS_CONDITIONAL_MEAN, &mean), DS_OK);
  assert_int_equal(ds_smoother_apply(sm, x, n, D, 1, y), DS_OK);
  assert_int_equal(ds_denoiser_apply(exact, y, 2, 0, z), DS_OK);
  assert_int_equal(ds_denoiser_apply(local, y, 2, 0, z), DS_OK);
  assert_int_equal(ds_denoiser_apply(draw, y, 2, 0, z), DS_OK);
  assert_int_equal(ds_denoiser_apply(mean, y, 2, 0, z), DS_OK);
  for (int64_t i = 0; i < 2 * D; i++) { /* the greedy conditional mean is a bin centre */
    double q = (z[i] + 1.0) * 127.5;
    assert_true(fabs(q - round(q)) < 1e-3);
  }
  assert_int_equal(ds_denoiser_apply(mean, y + 2 * D, 2, 0, z2), DS_OK);
  assert_true(memcmp(z, z2, sizeof(float) * (size_t)(2 * D)) != 0); /* x given x~ */
  ds_denoiser *second_stage[2] = {draw, mean};
  for (int k = 0; k < 2; k++) {
    assert_int_equal(ds_two_stage_sample(m1, second_stage[k], 2, 3, z), DS_OK);
    for (int64_t i = 0; i < 2 * D; i++) assert_true(z[i] >= -1.0f && z[i] <= 1.0f);
  }
  ds_denoiser_free(exact), ds_denoiser_free(local), ds_denoiser_free(draw);
  ds_denoiser_free(mean);
  ds_trainer_free(t1), ds_trainer_free(t2);
  ds_trainer_config_free(tc);
  ds_smoother_free(sm);
  free(x), free(y), free(z), free(z2);
  ds_model_free(m1), ds_model_free(m2);
  ds_context_free(ctx);
}

/* Allocation failure at every allocation of model creation and of a log-prob call (a
 * 4 x 4 gray model, F = 2, depth 1, conditional or not): each fails cleanly with
 * OUT_OF_MEMORY, leaves the output as it was and leaks nothing (LSan in the sanitizer
 * build). */
static inline void image_allocation_failures_are_clean(int32_t arch, int conditional) {
  int created = 0, evaluated = 0;
  for (int64_t fail_at = 0; fail_at < 200 && !evaluated; fail_at++) {
    counting_alloc a = {0, -1, 0};
    ds_context *ctx = NULL;
    assert_int_equal(counting_context(&a, 2, &ctx), DS_OK);
    a.fail_at = a.calls + fail_at;
    ds_model_config *cfg = NULL;
    assert_int_equal(ds_model_config_create(arch, &cfg), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_HEIGHT, 4), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_WIDTH, 4), DS_OK);
    assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_FILTERS, 2), DS_OK);
    assert_int_equal(ds_model_config_set_int(
                         cfg, arch == DS_ARCH_PIXELCNNPP ? DS_MODEL_RESNETS : DS_MODEL_LAYERS, 1),
                     DS_OK);
    if (conditional)
      assert_int_equal(ds_model_config_set_int(cfg, DS_MODEL_COND_DIM, 16), DS_OK);
    ds_model *m = NULL;
    ds_status st = ds_model_create(ctx, cfg, &m);
    ds_model_config_free(cfg);
    if (st == DS_OK) {
      created = 1;
      float x[16] = {0}, c[16] = {0};
      double lp[1] = {-1};
      st = ds_model_log_prob(m, x, conditional ? c : NULL, 1, lp);
      if (st == DS_OK) evaluated = 1;
      else {
        assert_int_equal(st, DS_ERR_OUT_OF_MEMORY);
        assert_true(lp[0] == -1);
      }
    } else {
      assert_int_equal(st, DS_ERR_OUT_OF_MEMORY);
      assert_null(m);
    }
    ds_model_free(m);
    ds_context_free(ctx);
    assert_int_equal(a.live, 0);
  }
  assert_true(created && evaluated);
}

/* Everything one model does, hashed: 4 training steps (batch 3), log-probs, exact scores
 * (continuous head) and samples. Compare across thread counts. */
static inline uint64_t image_run_everything(int32_t threads, const image_spec *s) {
  ds_context *ctx = test_context(threads, 21);
  const int64_t D = image_dim(s), n = 6;
  ds_model *m = tiny_image_model(ctx, s);
  float *x = image_data(s, n, 4), *c = image_cond_data(s, n, 5);
  float *out = malloc(sizeof(float) * (size_t)(n * D));
  ds_trainer_config *tc = image_trainer_config(3);
  ds_trainer *t = NULL;
  double loss, lp[6];
  assert_int_equal(ds_trainer_create(m, tc, NULL, &t), DS_OK);
  assert_int_equal(ds_trainer_train(t, x, c, n, 4, &loss), DS_OK);
  uint64_t h = 1469598103934665603ull;
#define MIX(p, size)                                                    \
  for (size_t i_ = 0; i_ < (size); i_++) {                             \
    h ^= ((const unsigned char *)(p))[i_];                             \
    h *= 1099511628211ull;                                             \
  }
  MIX(&loss, sizeof loss);
  assert_int_equal(ds_model_log_prob(m, x, c, n, lp), DS_OK);
  MIX(lp, sizeof lp);
  if (s->head == DS_HEAD_CONTINUOUS) {
    assert_int_equal(ds_model_score(m, x, c, n, DS_SCORE_EXACT, out, NULL), DS_OK);
    MIX(out, sizeof(float) * (size_t)(n * D));
  }
  assert_int_equal(ds_model_sample(m, c, 2, 5, DS_SAMPLE_BISECTION, out), DS_OK);
  MIX(out, sizeof(float) * (size_t)(2 * D));
#undef MIX
  ds_trainer_free(t);
  ds_trainer_config_free(tc);
  free(x), free(c), free(out);
  ds_model_free(m);
  ds_context_free(ctx);
  return h;
}

#endif
