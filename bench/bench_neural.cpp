// Neural benchmarks: encoder, latent step and decoder time against the number of points
// (1k to 1M; attention is chunked over points so memory stays bounded), the process's peak
// memory after each size, and the latent transformer's achieved GFLOP/s next to torch::mm's
// GFLOP/s measured in the same process.
//
//   build/release/bench/bench_neural [-lats_threads N] [-lats_bench_max_points 1000000]
//       [-lats_bench_model DIR] [-lats_bench_chunk 16384]
// With -lats_bench_model the encoder, decoder and dynamics are a trained checkpoint's (its
// architecture and weights), with its chunk sizes replaced by -lats_bench_chunk at run time.
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
const lats::StringOption kModel{"bench_model", "",
                                "bench_neural: a trained checkpoint to measure (empty: random weights, 64 tokens)"};
const lats::IntOption kChunk{"bench_chunk", 16384, "bench_neural: points per encoder and decoder chunk"};

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
  const std::int64_t chunk = kChunk.get();
  nn::LatentModel model{nullptr};
  if (kModel.get().empty()) {
    auto d = nn::ModelDescription::defaults();
    d.spatialDim = 2;
    d.numComponents = 1;
    d.latentDim = 16;
    d.set("encoder.num_tokens", std::int64_t{64})
        .set("encoder.token_dim", std::int64_t{64})
        .set("decoder.hidden", std::int64_t{64})
        .set("dynamics.dim", std::int64_t{128})
        .set("dynamics.depth", std::int64_t{4});
    model = nn::LatentModel(d);
  } else {
    model = nn::loadCheckpoint(kModel.get()).model;
  }
  model->encoder().setChunkSize(chunk);
  model->decoder().setChunkSize(chunk);
  model->eval();
  const auto& c = model->description();
  const int64_t numTokens = model->numTokens(), dynamicsDim = c.dynamics.integer("dim");
  const int64_t dim = c.spatialDim, comps = c.numComponents;
  const std::vector<std::uint64_t> streams{1};

  std::printf("bench_neural: %s, %d torch threads, %lld tokens x %lld latent, chunks of %lld points\n\n",
              kModel.get().empty() ? "random weights" : kModel.get().c_str(), at::get_num_threads(),
              static_cast<long long>(numTokens), static_cast<long long>(c.latentDim), static_cast<long long>(chunk));
  std::printf("%10s %12s %12s %12s %14s\n", "points", "encode [s]", "decode [s]", "step [ms]", "peak RSS [MiB]");
  auto z = torch::randn({1, numTokens, c.latentDim});
  auto window = z.unsqueeze(1).expand({1, c.history, -1, -1}).contiguous();
  auto params = c.numParameters > 0 ? torch::zeros({1, c.numParameters}) : torch::Tensor();
  const double step = seconds([&] { model->advance(window, params, streams); }, 5);
  for (int64_t n = 1000; n <= kMaxPoints.get(); n *= 10) {
    auto x = torch::rand({1, n, dim}), u = torch::randn({1, n, comps});
    const int repeats = n >= 1000000 ? 1 : 3;
    const double enc = seconds([&] { model->encode(x, u); }, repeats);
    const double dec = seconds([&] { model->decode(z, x); }, repeats);
    std::printf("%10lld %12.4f %12.4f %12.3f %14.1f\n", static_cast<long long>(n), enc, dec, 1e3 * step, peakMiB());
  }

  // Achieved GFLOP/s of the latent transformer (batch of 32 states) versus a square matmul.
  const int64_t B = 32, M = numTokens, d = dynamicsDim;
  auto zb = torch::randn({B, c.history, M, c.latentDim});
  auto pb = c.numParameters > 0 ? torch::zeros({B, c.numParameters}) : torch::Tensor();
  const std::vector<std::uint64_t> batchStreams(static_cast<std::size_t>(B), 1);
  const double tStep = seconds([&] { model->advance(zb, pb, batchStreams); }, 5);
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
