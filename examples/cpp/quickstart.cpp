// C++17 quickstart through dsmooth.hpp: fit a stage-1 MADE to smoothed 2-D clusters,
// sample and denoise. Build (README, "Start here"), from the repository after cmake --build:
//   c++ -std=c++17 -Iinclude examples/cpp/quickstart.cpp -Lbuild/lib -ldsmooth
//       -Wl,-rpath,$PWD/build/lib -o quickstart_cpp && ./quickstart_cpp
// or against an installed prefix: c++ -std=c++17 quickstart.cpp $(pkg-config --cflags --libs dsmooth)
#include <dsmooth.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() try {
  dsmooth::Context ctx(2, 1);  // threads, seed
  std::vector<float> x;        // 1024 points around (+-1.5, +-1.5), row-major (n, 2)
  uint64_t s = 1;
  for (int i = 0; i < 2048; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x.push_back((s >> 63 ? 1.5f : -1.5f) + 0.6f * (static_cast<float>(s >> 40) / 16777216.0f - 0.5f));
  }
  dsmooth::Smoother sm(ctx, DS_NOISE_GAUSSIAN, 0.5);
  dsmooth::ModelConfig cfg(DS_ARCH_MADE);
  cfg.set(DS_MODEL_DIM, 2).set(DS_MODEL_COMPONENTS, 4).hidden({32, 32});
  dsmooth::Model stage1(ctx, cfg);
  dsmooth::TrainerConfig tc;
  tc.set(DS_TRAIN_BATCH, 128).set(DS_TRAIN_TOTAL_STEPS, 300).set(DS_TRAIN_LR, 3e-3);
  {
    dsmooth::Trainer t(stage1, tc, &sm);  // stage 1: fit p(x~)
    t.set_progress([](int64_t step, int64_t, double loss, double) {
      std::printf("step %lld loss %.3f\n", static_cast<long long>(step), loss);
      return false;  // true would cancel
    }, 100);
    t.train(x, 2, 300);
  }
  std::vector<float> x_tilde = stage1.sample(3, 7);
  std::vector<float> denoised = dsmooth::Denoiser::gradient(stage1, sm).apply(x_tilde, 0);
  for (int i = 0; i < 3; i++)
    std::printf("x~ (%6.3f, %6.3f) -> x (%6.3f, %6.3f)\n", x_tilde[2 * i], x_tilde[2 * i + 1],
                denoised[2 * i], denoised[2 * i + 1]);
  stage1.log_prob(std::vector<float>{NAN, 0.0f});
  return 0;
} catch (const dsmooth::Error &e) {
  std::printf("%s | %s\n", e.name(), e.detail().c_str());  // DS_ERR_NUMERIC | ...x[0][0] is NaN
  return e.status() == DS_ERR_NUMERIC ? 0 : 1;
}
