/* dsmooth.hpp: header-only C++17 wrapper over dsmooth.h (since 0.3).
 *
 * RAII handles that free themselves exactly once (move-only, like std::unique_ptr),
 * exceptions instead of status codes, std::vector in and out. dsmooth.h stays the manual:
 * every method names the C function it calls, and that function's comment says what it
 * computes, its shapes and its errors.
 *
 *   #include <dsmooth.hpp>
 *   dsmooth::Context ctx(2, 1);                       // threads, seed
 *   dsmooth::Smoother sm(ctx, DS_NOISE_GAUSSIAN, 0.5);
 *   std::vector<float> xt = sm.apply(x, n, d, 0);     // x: n*d floats, row-major
 *
 * Errors: every failed call throws dsmooth::Error, which carries the ds_status, its name
 * and the library's detail sentence (ds_context_last_error). Arguments refused before the
 * call (a vector whose size is not a multiple of the row length) throw Error with
 * DS_ERR_INVALID_ARGUMENT as well.
 *
 * Lifetimes: the rules of dsmooth.h apply unchanged. A Smoother or Model must not outlive
 * its Context; a Trainer or Denoiser not its Model(s) and Smoother. The wrappers hold
 * plain pointers to their parents and do not extend their lives.
 *
 * Threads: as in dsmooth.h. A progress callback runs on the thread that called train();
 * an exception it throws stops training and is rethrown from train() (it never crosses
 * the C library). */
#ifndef DSMOOTH_HPP
#define DSMOOTH_HPP

#include <dsmooth.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dsmooth {

/* A failed libdsmooth call: status(), name() ("DS_ERR_NUMERIC"), detail() (the library's
 * sentence); what() is "NAME: detail". */
class Error : public std::runtime_error {
 public:
  Error(ds_status status, std::string detail)
      : std::runtime_error(std::string(ds_status_str(status)) +
                           (detail.empty() ? "" : ": " + detail)),
        status_(status),
        detail_(std::move(detail)) {}
  ds_status status() const noexcept { return status_; }
  const char *name() const noexcept { return ds_status_str(status_); }
  const std::string &detail() const noexcept { return detail_; }

 private:
  ds_status status_;
  std::string detail_;
};

namespace detail {
/* Throw Error for a failed status, with the detail of `ctx` (NULL: the calling thread's). */
inline void check(ds_status status, const ds_context *ctx) {
  if (status != DS_OK) {
    const char *msg = ds_context_last_error(ctx);
    throw Error(status, msg ? msg : "");
  }
}
inline int64_t rows(std::size_t size, int64_t cols, const char *what) {
  if (cols < 1 || size == 0 || static_cast<int64_t>(size) % cols != 0)
    throw Error(DS_ERR_INVALID_ARGUMENT,
                std::string(what) + " has " + std::to_string(size) +
                    " values: not a positive multiple of its row length " +
                    std::to_string(cols));
  return static_cast<int64_t>(size) / cols;
}
template <class T, void (*Free)(T *)>
struct Deleter {
  void operator()(T *p) const noexcept { Free(p); }
};
template <class T, void (*Free)(T *)>
using Owned = std::unique_ptr<T, Deleter<T, Free>>;
}  // namespace detail

/* ds_version() of the loaded library: MAJOR*10000 + MINOR*100 + PATCH. */
inline uint32_t version() { return ds_version(); }
/* ds_version_string(), e.g. "0.3.0". */
inline std::string version_string() { return ds_version_string(); }

/* A thread pool, a seed and the last error: ds_context. threads 0 = all online cores. */
class Context {
 public:
  explicit Context(int32_t threads = 0, uint64_t seed = 0) {
    ds_context_options *raw_opts = nullptr;
    detail::check(ds_context_options_create(&raw_opts), nullptr);
    detail::Owned<ds_context_options, ds_context_options_free> opts(raw_opts);
    detail::check(ds_context_options_set_threads(opts.get(), threads), nullptr);
    detail::check(ds_context_options_set_seed(opts.get(), seed), nullptr);
    ds_context *ctx = nullptr;
    detail::check(ds_context_create(opts.get(), &ctx), nullptr);
    ptr_.reset(ctx);
  }
  int32_t threads() const { return ds_context_threads(ptr_.get()); }
  uint64_t seed() const { return ds_context_seed(ptr_.get()); }
  std::string last_error() const { return ds_context_last_error(ptr_.get()); }
  ds_context *get() const noexcept { return ptr_.get(); }

 private:
  detail::Owned<ds_context, ds_context_free> ptr_;
};

/* The noise kernel q(x~ | x): ds_smoother. Immutable once made: share it freely. */
class Smoother {
 public:
  Smoother(Context &ctx, ds_noise family, double sigma) : ctx_(ctx.get()) {
    ds_smoother *p = nullptr;
    detail::check(ds_smoother_create(ctx.get(), family, sigma, &p), ctx_);
    ptr_.reset(p);
  }
  ds_noise family() const { return static_cast<ds_noise>(ds_smoother_family(ptr_.get())); }
  double sigma() const { return ds_smoother_sigma(ptr_.get()); }
  double entropy() const { return ds_smoother_entropy(ptr_.get()); }
  /* ds_smoother_apply: x (n, d) -> x + noise from `stream`. */
  std::vector<float> apply(const std::vector<float> &x, int64_t d, uint64_t stream) const {
    int64_t n = detail::rows(x.size(), d, "x");
    std::vector<float> out(x.size());
    detail::check(ds_smoother_apply(ptr_.get(), x.data(), n, d, stream, out.data()), ctx_);
    return out;
  }
  /* ds_smoother_log_q: log q(x~_i | x_i) per example. */
  std::vector<double> log_q(const std::vector<float> &x_tilde, const std::vector<float> &x,
                            int64_t d) const {
    int64_t n = same_rows(x_tilde, x, d);
    std::vector<double> out(static_cast<std::size_t>(n));
    detail::check(ds_smoother_log_q(ptr_.get(), x_tilde.data(), x.data(), n, d, out.data()),
                  ctx_);
    return out;
  }
  /* ds_smoother_score: grad_{x~} log q(x~ | x), (n, d). */
  std::vector<float> score(const std::vector<float> &x_tilde, const std::vector<float> &x,
                           int64_t d) const {
    int64_t n = same_rows(x_tilde, x, d);
    std::vector<float> out(x.size());
    detail::check(ds_smoother_score(ptr_.get(), x_tilde.data(), x.data(), n, d, out.data()),
                  ctx_);
    return out;
  }
  const ds_smoother *get() const noexcept { return ptr_.get(); }

 private:
  static int64_t same_rows(const std::vector<float> &a, const std::vector<float> &b,
                           int64_t d) {
    if (a.size() != b.size())
      throw Error(DS_ERR_SHAPE_MISMATCH, "x_tilde and x differ in size");
    return detail::rows(a.size(), d, "x");
  }
  ds_context *ctx_;
  detail::Owned<ds_smoother, ds_smoother_free> ptr_;
};

/* A model configuration: ds_model_config. Setters return *this for chaining. */
class ModelConfig {
 public:
  explicit ModelConfig(ds_arch arch) {
    ds_model_config *p = nullptr;
    detail::check(ds_model_config_create(arch, &p), nullptr);
    ptr_.reset(p);
  }
  ModelConfig &set(ds_model_option option, int64_t value) {
    detail::check(ds_model_config_set_int(ptr_.get(), option, value), nullptr);
    return *this;
  }
  ModelConfig &set(ds_model_float_option option, double value) {
    detail::check(ds_model_config_set_float(ptr_.get(), option, value), nullptr);
    return *this;
  }
  ModelConfig &hidden(const std::vector<int64_t> &widths) {
    detail::check(ds_model_config_set_hidden(ptr_.get(), widths.data(),
                                             static_cast<int32_t>(widths.size())),
                  nullptr);
    return *this;
  }
  const ds_model_config *get() const noexcept { return ptr_.get(); }

 private:
  detail::Owned<ds_model_config, ds_model_config_free> ptr_;
};

/* An autoregressive density p(x) or p(x | c): ds_model. x is (n, dim()), cond (n,
 * cond_dim()) or empty for an unconditional model. */
class Model {
 public:
  Model(Context &ctx, const ModelConfig &cfg) : ctx_(ctx.get()) {
    ds_model *p = nullptr;
    detail::check(ds_model_create(ctx.get(), cfg.get(), &p), ctx_);
    ptr_.reset(p);
  }
  /* ds_model_load: a model from a checkpoint written by save(). */
  static Model load(Context &ctx, const std::string &path) {
    ds_model *p = nullptr;
    detail::check(ds_model_load(ctx.get(), path.c_str(), &p), ctx.get());
    return Model(ctx.get(), p);
  }
  void save(const std::string &path) const {
    detail::check(ds_model_save(ptr_.get(), path.c_str()), ctx_);
  }
  void copy_weights_from(const Model &src) {
    detail::check(ds_model_copy_weights(ptr_.get(), src.get()), ctx_);
  }
  int64_t dim() const { return ds_model_dim(ptr_.get()); }
  int64_t cond_dim() const { return ds_model_cond_dim(ptr_.get()); }
  int64_t param_count() const { return ds_model_param_count(ptr_.get()); }
  /* ds_model_log_prob: log p(x_i | c_i) per example, nats. */
  std::vector<double> log_prob(const std::vector<float> &x,
                               const std::vector<float> &cond = {}) const {
    int64_t n = detail::rows(x.size(), dim(), "x");
    std::vector<double> out(static_cast<std::size_t>(n));
    detail::check(ds_model_log_prob(ptr_.get(), x.data(), cond_ptr(cond, n), n, out.data()),
                  ctx_);
    return out;
  }
  /* ds_model_score: grad_x log p(x | c), (n, dim()). */
  std::vector<float> score(const std::vector<float> &x, const std::vector<float> &cond = {},
                           ds_score_kind kind = DS_SCORE_EXACT) const {
    int64_t n = detail::rows(x.size(), dim(), "x");
    std::vector<float> out(x.size());
    detail::check(ds_model_score(ptr_.get(), x.data(), cond_ptr(cond, n), n, kind,
                                 out.data(), nullptr),
                  ctx_);
    return out;
  }
  /* ds_model_sample: n samples (n, dim()) from `stream`. */
  std::vector<float> sample(int64_t n, uint64_t stream, const std::vector<float> &cond = {},
                            int32_t method = DS_SAMPLE_BISECTION) const {
    if (n < 1) throw Error(DS_ERR_INVALID_ARGUMENT, "n must be positive");
    std::vector<float> out(static_cast<std::size_t>(n * dim()));
    detail::check(ds_model_sample(ptr_.get(), cond_ptr(cond, n), n, stream, method,
                                  out.data()),
                  ctx_);
    return out;
  }
  ds_model *get() const noexcept { return ptr_.get(); }
  ds_context *context() const noexcept { return ctx_; }

 private:
  Model(ds_context *ctx, ds_model *p) : ctx_(ctx), ptr_(p) {}
  const float *cond_ptr(const std::vector<float> &cond, int64_t n) const {
    if (cond.empty()) return nullptr;  // the library reports a missing cond itself
    if (static_cast<int64_t>(cond.size()) != n * cond_dim())
      throw Error(DS_ERR_SHAPE_MISMATCH, "cond has " + std::to_string(cond.size()) +
                                             " values, expected " +
                                             std::to_string(n * cond_dim()));
    return cond.data();
  }
  ds_context *ctx_;
  detail::Owned<ds_model, ds_model_free> ptr_;
};

/* A trainer configuration: ds_trainer_config. Setters return *this for chaining. */
class TrainerConfig {
 public:
  TrainerConfig() {
    ds_trainer_config *p = nullptr;
    detail::check(ds_trainer_config_create(&p), nullptr);
    ptr_.reset(p);
  }
  TrainerConfig &set(ds_trainer_option option, int64_t value) {
    detail::check(ds_trainer_config_set_int(ptr_.get(), option, value), nullptr);
    return *this;
  }
  TrainerConfig &set(ds_trainer_float_option option, double value) {
    detail::check(ds_trainer_config_set_float(ptr_.get(), option, value), nullptr);
    return *this;
  }
  const ds_trainer_config *get() const noexcept { return ptr_.get(); }

 private:
  detail::Owned<ds_trainer_config, ds_trainer_config_free> ptr_;
};

/* Adam training of a model: ds_trainer (direct without a smoother; stage 1 or 2 with one,
 * as in ds_trainer_create). Do not use the model elsewhere while the trainer exists. */
class Trainer {
 public:
  /* progress(step, total_steps, loss, examples_per_second) -> true to stop. */
  using Progress = std::function<bool(int64_t, int64_t, double, double)>;

  Trainer(Model &model, const TrainerConfig &cfg, const Smoother *smoother = nullptr)
      : ctx_(model.context()), state_(new State) {
    ds_trainer *p = nullptr;
    detail::check(ds_trainer_create(model.get(), cfg.get(),
                                    smoother ? smoother->get() : nullptr, &p),
                  ctx_);
    ptr_.reset(p);
  }
  /* ds_trainer_set_progress: call `fn` every `every` steps and after the last; an empty
   * function removes it. */
  void set_progress(Progress fn, int64_t every = 1) {
    state_->progress = std::move(fn);
    detail::check(ds_trainer_set_progress(ptr_.get(), state_->progress ? &State::trampoline
                                                                        : nullptr,
                                          state_.get(), state_->progress ? every : 0),
                  ctx_);
  }
  /* ds_trainer_train: `steps` more steps on x (n, D) [and cond]; the mean loss. Throws
   * Error with DS_ERR_CANCELLED when the progress callback returned true, or rethrows
   * what the callback threw; the steps done before are kept either way. */
  double train(const std::vector<float> &x, int64_t dim, int64_t steps,
               const std::vector<float> &cond = {}) {
    int64_t n = detail::rows(x.size(), dim, "x");
    double loss = 0.0;
    state_->thrown = nullptr;
    ds_status st = ds_trainer_train(ptr_.get(), x.data(), cond.empty() ? nullptr : cond.data(),
                                    n, steps, &loss);
    if (state_->thrown) std::rethrow_exception(std::exchange(state_->thrown, nullptr));
    detail::check(st, ctx_);
    return loss;
  }
  /* ds_trainer_evaluate: mean NLL (nats/example) of held-out data. */
  double evaluate(const std::vector<float> &x, int64_t dim, uint64_t stream,
                  const std::vector<float> &cond = {}) {
    int64_t n = detail::rows(x.size(), dim, "x");
    double nll = 0.0;
    detail::check(ds_trainer_evaluate(ptr_.get(), x.data(),
                                      cond.empty() ? nullptr : cond.data(), n, stream, &nll),
                  ctx_);
    return nll;
  }
  int64_t step() const { return ds_trainer_step(ptr_.get()); }
  void save(const std::string &path) const {
    detail::check(ds_trainer_save(ptr_.get(), path.c_str()), ctx_);
  }
  void resume(const std::string &path) {
    detail::check(ds_trainer_resume(ptr_.get(), path.c_str()), ctx_);
  }
  ds_trainer *get() const noexcept { return ptr_.get(); }

 private:
  struct State {  // heap-allocated: its address is the callback's user pointer
    Progress progress;
    std::exception_ptr thrown;
    static int32_t trampoline(void *user, int64_t step, int64_t total, double loss,
                              double rate) {
      auto *s = static_cast<State *>(user);
      try {
        return s->progress(step, total, loss, rate) ? 1 : 0;
      } catch (...) {  // never unwind through the C library
        s->thrown = std::current_exception();
        return 1;
      }
    }
  };
  ds_context *ctx_;
  std::unique_ptr<State> state_;
  detail::Owned<ds_trainer, ds_trainer_free> ptr_;  // freed before state_
};

/* Stage-1 noise -> data: ds_denoiser (gradient from a stage-1 model and its smoother, or
 * conditional from a stage-2 model). */
class Denoiser {
 public:
  static Denoiser gradient(const Model &stage1, const Smoother &sm,
                           ds_score_kind kind = DS_SCORE_EXACT) {
    ds_denoiser *p = nullptr;
    detail::check(ds_denoiser_create_gradient(stage1.get(), sm.get(), kind, &p),
                  stage1.context());
    return Denoiser(stage1, p);
  }
  static Denoiser conditional(const Model &stage2,
                              ds_conditional_output output = DS_CONDITIONAL_SAMPLE) {
    ds_denoiser *p = nullptr;
    detail::check(ds_denoiser_create_conditional(stage2.get(), output, &p), stage2.context());
    return Denoiser(stage2, p);
  }
  /* ds_denoiser_apply: x from x~ (n, D), randomness from `stream`. */
  std::vector<float> apply(const std::vector<float> &x_tilde, uint64_t stream) const {
    int64_t n = detail::rows(x_tilde.size(), dim_, "x_tilde");
    std::vector<float> out(x_tilde.size());
    detail::check(ds_denoiser_apply(ptr_.get(), x_tilde.data(), n, stream, out.data()), ctx_);
    return out;
  }
  const ds_denoiser *get() const noexcept { return ptr_.get(); }

 private:
  Denoiser(const Model &m, ds_denoiser *p) : ctx_(m.context()), dim_(m.dim()), ptr_(p) {}
  ds_context *ctx_;
  int64_t dim_;
  detail::Owned<ds_denoiser, ds_denoiser_free> ptr_;
};

/* ds_two_stage_log_prob_bound: importance-weighted lower bound on log p(x), per example. */
inline std::vector<double> two_stage_log_prob_bound(const Model &stage1, const Model &stage2,
                                                    const Smoother &sm,
                                                    const std::vector<float> &x,
                                                    int32_t k_samples, uint64_t stream) {
  int64_t n = detail::rows(x.size(), stage1.dim(), "x");
  std::vector<double> out(static_cast<std::size_t>(n));
  detail::check(ds_two_stage_log_prob_bound(stage1.get(), stage2.get(), sm.get(), x.data(), n,
                                            k_samples, stream, out.data()),
                stage1.context());
  return out;
}

/* ds_two_stage_sample: n samples (n, D): x~ from stage 1, then the denoiser. */
inline std::vector<float> two_stage_sample(const Model &stage1, const Denoiser &dn, int64_t n,
                                           uint64_t stream) {
  if (n < 1) throw Error(DS_ERR_INVALID_ARGUMENT, "n must be positive");
  std::vector<float> out(static_cast<std::size_t>(n * stage1.dim()));
  detail::check(ds_two_stage_sample(stage1.get(), dn.get(), n, stream, out.data()),
                stage1.context());
  return out;
}

}  // namespace dsmooth

#endif /* DSMOOTH_HPP */
