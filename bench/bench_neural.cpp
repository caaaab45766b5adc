// Neural benchmarks: encoder, latent step and decoder time against the number of points
// (1k to 1M; attention is chunked over points so memory stays bounded), the process's peak
// memory after each size, and the latent transformer's achieved GFLOP/s next to torch::mm's
// GFLOP/s measured in the same process.
//
//   build/release/bench/bench_neural [-lats_threads N] [-lats_bench_max_points 1000000]
//       [-lats_bench_model DIR] [-lats_bench_chunk 16384]
// With -lats_bench_model the encoder, decoder and dynamics are a trained checkpoint's (its
// architecture and weights), with its chunk sizes replaced by -lats_bench_chunk at run time.
//
//   build/release/bench/bench_neural -lats_bench_aroma [-lats_threads 2]
// times the stages of the configuration the official AROMA code was compared on (issue
// "Speed"): 32 tokens, width 128, latent 8, 4 heads, 12 frequencies, diffusion dynamics of
// width 128 and depth 4 with 3 refinement steps; encode and decode at 4096 and 65536 points,
// one latent step, an autoencoder training step (batch 16, 4096 points) and a dynamics
// training step (batch 16), fastest of 5 after a warm-up.
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
const lats::BoolOption kAroma{"bench_aroma", false,
                              "bench_neural: time the stages of the AROMA comparison configuration instead"};

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
/// The stages of the AROMA comparison configuration (see the file comment).
void aromaStages() {
  torch::manual_seed(0);
  auto d = nn::ModelDescription::defaults();
  d.spatialDim = 2;
  d.numComponents = 1;
  d.latentDim = 8;
  d.setType("dynamics", "diffusion");
  for (const char* role : {"encoder", "decoder", "dynamics"}) d.set(std::string(role) + ".num_heads", std::int64_t{4});
  for (const char* role : {"encoder", "decoder"}) d.set(std::string(role) + ".num_frequencies", std::int64_t{12});
  d.set("encoder.num_tokens", std::int64_t{32})
      .set("encoder.token_dim", std::int64_t{128})
      .set("decoder.hidden", std::int64_t{128})
      .set("dynamics.dim", std::int64_t{128})
      .set("dynamics.depth", std::int64_t{4})
      .set("dynamics.refinement_steps", std::int64_t{3});
  nn::LatentModel model(d);
  const auto& c = model->description();
  const std::int64_t M = model->numTokens(), L = c.latentDim;
  std::printf(
      "bench_neural -lats_bench_aroma: %d torch threads; 32 tokens, width 128, latent 8, 4 heads, "
      "12 frequencies, diffusion dynamics 128 x 4, 3 refinement steps\n\n",
      at::get_num_threads());
  std::printf("%-52s %12s\n", "stage", "time [ms]");
  {
    c10::InferenceMode inference;
    model->eval();
    for (const std::int64_t n : {std::int64_t{4096}, std::int64_t{65536}}) {
      auto x = torch::rand({1, n, 2}), u = torch::randn({1, n, 1});
      const auto z = model->encode(x, u);
      std::printf("%-52s %12.3f\n", ("encode " + std::to_string(n) + " points").c_str(),
                  1e3 * seconds([&] { model->encode(x, u); }, 5));
      std::printf("%-52s %12.3f\n", ("decode " + std::to_string(n) + " points").c_str(),
                  1e3 * seconds([&] { model->decode(z, x); }, 5));
    }
    auto window = torch::randn({1, c.history, M, L});
    const std::vector<std::uint64_t> streams{1};
    std::printf("%-52s %12.3f\n", "latent step (batch 1, every refinement evaluation)",
                1e3 * seconds([&] { model->advance(window, {}, streams); }, 5));
    // Achieved GFLOP/s of a batch-32 latent step (refinement_steps + 1 network evaluations,
    // counting the transformer blocks as in the main table) next to torch::mm's.
    const std::int64_t Bs = 32, dim = c.dynamics.integer("dim"), depth = c.dynamics.integer("depth");
    const double evaluations = static_cast<double>(c.dynamics.integer("refinement_steps") + 1);
    auto wb = torch::randn({Bs, c.history, M, L});
    const std::vector<std::uint64_t> bs(static_cast<std::size_t>(Bs), 1);
    const double tStep = seconds([&] { model->advance(wb, {}, bs); }, 5);
    const double flops = evaluations * Bs * (depth * (24.0 * M * dim * dim + 4.0 * M * M * dim) + 4.0 * M * dim * L);
    auto a = torch::randn({1024, 1024}), b = torch::randn({1024, 1024});
    const double tMm = seconds([&] { torch::mm(a, b); }, 5);
    const double mmFlops = 2.0 * 1024 * 1024 * 1024;
    std::printf(
        "\nlatent step, batch 32: %.2f GFLOP/s; torch::mm 1024x1024 in the same process: %.2f GFLOP/s "
        "(ratio %.2f)\n\n",
        flops / tStep * 1e-9, mmFlops / tMm * 1e-9, (flops / tStep) / (mmFlops / tMm));
  }
  model->train();
  const std::int64_t B = 16, N = 4096;
  {
    std::vector<torch::Tensor> params;
    for (auto* part : {static_cast<torch::nn::Module*>(&model->encoder()),
                       static_cast<torch::nn::Module*>(model->bottleneck().get()),
                       static_cast<torch::nn::Module*>(&model->decoder())})
      for (const auto& p : part->parameters()) params.push_back(p);
    torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-3));
    auto x = torch::rand({B, N, 2}), u = torch::randn({B, N, 1});
    const double t = seconds(
        [&] {
          opt.zero_grad();
          const auto out = model->bottleneck()(model->encoder().forward(x, u), true);
          const auto loss = torch::mse_loss(model->decode(out.latent, x), u) + 1e-5 * out.kl();
          loss.backward();
          opt.step();
        },
        5);
    std::printf("%-52s %12.3f\n", "autoencoder training step (batch 16, 4096 points)", 1e3 * t);
  }
  {
    torch::optim::AdamW opt(model->dynamics().parameters(), torch::optim::AdamWOptions(1e-3));
    nn::DynamicsBatch batch;
    batch.window = torch::randn({B, c.history, M, L});
    batch.targets = torch::randn({B, 1, M, L});
    batch.globalBatch = B;
    batch.begin = 0;
    const double t = seconds(
        [&] {
          batch.generator = at::detail::createCPUGenerator(7);
          opt.zero_grad();
          model->dynamics().loss(batch).backward();
          opt.step();
        },
        5);
    std::printf("%-52s %12.3f\n", "dynamics training step (batch 16)", 1e3 * t);
  }
}
}  // namespace

int main(int argc, char** argv) {
  lats::Runtime runtime(&argc, &argv);
  if (runtime.rank() != 0) return 0;
  if (kAroma.get()) {
    aromaStages();
    return 0;
  }
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
