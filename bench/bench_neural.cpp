// Neural benchmarks: encoder, latent step and decoder time against the number of points
// (1k to 1M; attention is chunked over points so memory stays bounded), the process's peak
// memory after each size, and the latent transformer's achieved GFLOP/s next to torch::mm's
// GFLOP/s measured in the same process.
//
//   build/release/bench/bench_neural [-lats_threads N] [-lats_bench_max_points 1000000]
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "lats/lats.hpp"
#include "lats/solvers/neural/neural.hpp"

namespace nn = lats::solvers::neural;

namespace {
const lats::IntOption kMaxPoints{"bench_max_points", 1000000, "largest point count of bench_neural"};

double peakMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;  // kilobytes on Linux
}

template <class F>
double seconds(F&& f, int repeats) {
  f();  // warm-up
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}
}  // namespace

int main(int argc, char** argv) {
  lats::Runtime runtime(&argc, &argv);
  if (runtime.rank() != 0) return 0;
  c10::InferenceMode inference;
  torch::manual_seed(0);
  auto c = nn::ModelDescription::defaults();
  c.spatialDim = 2;
  c.numComponents = 1;
  c.latentDim = 16;
  c.set("encoder.num_tokens", std::int64_t{64})
      .set("encoder.token_dim", std::int64_t{64})
      .set("encoder.chunk", std::int64_t{16384})
      .set("decoder.hidden", std::int64_t{64})
      .set("dynamics.dim", std::int64_t{128})
      .set("dynamics.depth", std::int64_t{4});
  nn::LatentModel model(c);
  const int64_t numTokens = model->numTokens(), dynamicsDim = c.dynamics.integer("dim");
  model->eval();
  nn::LocalFieldDecoder decoder(nn::LocalFieldDecoderOptions(2, c.latentDim, 1).hiddenDim(64).chunkSize(16384));

  std::printf("bench_neural: %d torch threads, %lld tokens x %lld latent, chunks of 16384 points\n\n",
              at::get_num_threads(), static_cast<long long>(numTokens), static_cast<long long>(c.latentDim));
  std::printf("%10s %12s %12s %12s %14s\n", "points", "encode [s]", "decode [s]", "step [ms]", "peak RSS [MiB]");
  auto z = torch::randn({1, numTokens, c.latentDim});
  const double step = seconds([&] { model->advance(z); }, 5);
  for (int64_t n = 1000; n <= kMaxPoints.get(); n *= 10) {
    auto x = torch::rand({1, n, 2}), u = torch::randn({1, n, 1});
    const int repeats = n >= 1000000 ? 1 : 3;
    const double enc = seconds([&] { model->encode(x, u); }, repeats);
    const double dec = seconds([&] { decoder(z, x); }, repeats);
    std::printf("%10lld %12.4f %12.4f %12.3f %14.1f\n", static_cast<long long>(n), enc, dec, 1e3 * step, peakMiB());
  }

  // Achieved GFLOP/s of the latent transformer (batch of 32 states) versus a square matmul.
  const int64_t B = 32, M = numTokens, d = dynamicsDim;
  auto zb = torch::randn({B, M, c.latentDim});
  const double tStep = seconds([&] { model->advance(zb); }, 5);
  // Per block: QKV and output projections 8 M d^2, attention 4 M^2 d, MLP (ratio 4) 16 M d^2;
  // plus input/output projections 4 M d latentDim. Multiply-adds count 2 flops.
  const double flops =
      B * (c.dynamics.integer("depth") * (24.0 * M * d * d + 4.0 * M * M * d) + 4.0 * M * d * c.latentDim);
  auto a = torch::randn({1024, 1024}), b = torch::randn({1024, 1024});
  const double tMm = seconds([&] { torch::mm(a, b); }, 5);
  const double mmFlops = 2.0 * 1024 * 1024 * 1024;
  std::printf("\nlatent transformer (batch %lld, %lld tokens, dim %lld, depth %lld): %.2f GFLOP/s\n",
              static_cast<long long>(B), static_cast<long long>(M), static_cast<long long>(d),
              static_cast<long long>(c.dynamics.integer("depth")), flops / tStep * 1e-9);
  std::printf("torch::mm 1024x1024 in the same process: %.2f GFLOP/s (ratio %.2f)\n", mmFlops / tMm * 1e-9,
              (flops / tStep) / (mmFlops / tMm));
  return 0;
}
