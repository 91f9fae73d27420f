// C++17 through the RAII header dsmooth.hpp, built against an installed libdsmooth: train a
// stage-1 and a stage-2 MADE on four clusters, sample, denoise, bound log p, and check that
// errors arrive as dsmooth::Error with status and detail, that a progress callback can
// cancel or throw, and that a model survives a save/load round trip.
#include <dsmooth.hpp>

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                             \
    }                                                                       \
  } while (0)

static std::vector<float> clusters(int n) {
  std::vector<float> x;
  uint64_t s = 88172645463325252ull;
  for (int i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    for (int d = 0; d < 2; d++) {
      float centre = ((s >> (62 - d)) & 1) ? 1.5f : -1.5f;
      float u = static_cast<float>((s >> (20 + 20 * d)) & 0xfffff) / 1048576.0f;
      x.push_back(centre + 0.5f * (u - 0.5f));
    }
  }
  return x;
}

int main(int argc, char **argv) {
  std::string dir = argc > 1 ? argv[1] : ".";
  dsmooth::Context ctx(2, 11);
  CHECK(ctx.threads() == 2 && ctx.seed() == 11);
  dsmooth::Smoother sm(ctx, DS_NOISE_GAUSSIAN, 0.5);
  CHECK(sm.family() == DS_NOISE_GAUSSIAN && sm.sigma() == 0.5);

  // errors: status, name and the library's detail
  try {
    dsmooth::Smoother bad(ctx, DS_NOISE_GAUSSIAN, -1.0);
    CHECK(false);
  } catch (const dsmooth::Error &e) {
    CHECK(e.status() == DS_ERR_INVALID_ARGUMENT);
    CHECK(std::string(e.name()) == "DS_ERR_INVALID_ARGUMENT");
    CHECK(e.detail().find("sigma") != std::string::npos);
    CHECK(std::string(e.what()).rfind("DS_ERR_INVALID_ARGUMENT: ", 0) == 0);
  }
  std::vector<float> inf = {0.0f, INFINITY};
  try {
    sm.apply(inf, 2, 0);
    CHECK(false);
  } catch (const dsmooth::Error &e) {
    CHECK(e.status() == DS_ERR_NUMERIC && e.detail() == "ds_smoother_apply: x[0][1] is infinite");
  }

  std::vector<float> x = clusters(1024);
  dsmooth::ModelConfig c1(DS_ARCH_MADE);
  c1.set(DS_MODEL_DIM, 2).set(DS_MODEL_COMPONENTS, 4).hidden({32, 32});
  dsmooth::ModelConfig c2(DS_ARCH_MADE);
  c2.set(DS_MODEL_DIM, 2).set(DS_MODEL_COND_DIM, 2).set(DS_MODEL_COMPONENTS, 4).hidden({32, 32});
  dsmooth::Model stage1(ctx, c1), stage2(ctx, c2);
  CHECK(stage1.dim() == 2 && stage2.cond_dim() == 2 && stage1.param_count() > 0);
  dsmooth::TrainerConfig tc;
  tc.set(DS_TRAIN_BATCH, 128).set(DS_TRAIN_TOTAL_STEPS, 150).set(DS_TRAIN_LR, 3e-3);
  double before = 0.0, after = 0.0;
  {
    dsmooth::Trainer t1(stage1, tc, &sm);
    int reports = 0;
    t1.set_progress([&](int64_t, int64_t, double, double) { return ++reports == 3; }, 10);
    try {
      t1.train(x, 2, 150);
      CHECK(false);
    } catch (const dsmooth::Error &e) {
      CHECK(e.status() == DS_ERR_CANCELLED && t1.step() == 30);
    }
    t1.set_progress([](int64_t step, int64_t, double, double) -> bool {
      if (step == 35) throw std::runtime_error("from the callback");
      return false;
    });
    try {
      t1.train(x, 2, 150);
      CHECK(false);
    } catch (const std::runtime_error &e) {  // rethrown unchanged, not a dsmooth::Error
      CHECK(std::string(e.what()) == "from the callback" && t1.step() == 35);
    }
    t1.set_progress(nullptr);
    before = t1.evaluate(x, 2, 0);
    t1.train(x, 2, 115);
    after = t1.evaluate(x, 2, 0);
    CHECK(t1.step() == 150 && after < before);
    dsmooth::Trainer t2(stage2, tc, &sm);
    t2.train(x, 2, 150);
  }
  std::vector<double> lp = stage1.log_prob(x);
  CHECK(lp.size() == 1024 && std::isfinite(lp[0]));

  // save/load: the same log-probabilities bit for bit
  std::string path = dir + "/hpp_stage1.dsm";
  stage1.save(path);
  dsmooth::Model loaded = dsmooth::Model::load(ctx, path);
  CHECK(loaded.log_prob(x) == lp);
  std::remove(path.c_str());

  dsmooth::Denoiser dn = dsmooth::Denoiser::conditional(stage2, DS_CONDITIONAL_SAMPLE);
  std::vector<float> samples = dsmooth::two_stage_sample(stage1, dn, 200, 3);
  CHECK(samples.size() == 400);
  int near = 0;
  for (std::size_t i = 0; i < samples.size(); i += 2)
    near += std::fabs(std::fabs(samples[i]) - 1.5f) < 0.5f;
  CHECK(near > 150);  // most samples land on a cluster
  std::vector<double> bound = dsmooth::two_stage_log_prob_bound(stage1, stage2, sm,
                                                                 {x.begin(), x.begin() + 64}, 16, 0);
  CHECK(bound.size() == 32 && std::isfinite(bound[0]));
  dsmooth::Denoiser grad = dsmooth::Denoiser::gradient(stage1, sm);
  CHECK(grad.apply(sm.apply(x, 2, 5), 0).size() == x.size());
  try {
    stage1.log_prob({1.0f, 2.0f, 3.0f});  // not a multiple of D: refused before the call
    CHECK(false);
  } catch (const dsmooth::Error &e) {
    CHECK(e.status() == DS_ERR_INVALID_ARGUMENT);
  }
  std::printf("c++17 dsmooth.hpp consumer: libdsmooth %s, stage-1 NLL %.3f -> %.3f nats, "
              "%d/200 two-stage samples near a cluster\n",
              dsmooth::version_string().c_str(), before, after, near);
  return 0;
}
