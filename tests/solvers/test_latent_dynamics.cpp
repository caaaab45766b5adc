#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>
#include <cmath>
#include <cstdio>

#include "lats/core/error.hpp"
#include "lats/solvers/neural/diffusion_refiner.hpp"
#include "lats/solvers/neural/latent_transformer.hpp"
#include "test_support.hpp"

namespace nn = lats::solvers::neural;
using lats::test::messageOf;

namespace {

/// Trains `model` on (window -> next) pairs drawn by `make` through its own loss().
template <class Make>
std::pair<double, double> train(nn::LatentDynamics& model, int iterations, Make make) {
  torch::optim::AdamW opt(model.parameters(), torch::optim::AdamWOptions(2e-3).weight_decay(0.0));
  double first = 0, last = 0;
  for (int it = 0; it < iterations; ++it) {
    nn::DynamicsBatch batch;
    std::tie(batch.window, batch.targets) = make();
    batch.generator = at::make_generator<at::CPUGeneratorImpl>(1000 + it);
    batch.globalBatch = batch.window.size(0);
    auto loss = model.loss(batch);
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (it == 0) first = loss.item<double>();
    last = 0.9 * last + 0.1 * loss.item<double>();
  }
  return {first, last};
}

std::vector<std::uint64_t> streams(std::int64_t n, std::uint64_t first) {
  std::vector<std::uint64_t> out;
  for (std::int64_t i = 0; i < n; ++i) out.push_back(first + static_cast<std::uint64_t>(i));
  return out;
}

}  // namespace

TEST(LatentDynamics, RegistryBuildsEachTypeFromItsDescription) {
  EXPECT_EQ(nn::latentDynamics().names(), (std::vector<std::string>{"deterministic", "diffusion", "torchscript"}));
  nn::ModelShape shape;
  shape.latentDim = 3;
  shape.numTokens = 4;
  shape.history = 2;
  for (const std::string name : {"deterministic", "diffusion"}) {
    auto config = nn::latentDynamics().defaults(name).set("dim", std::int64_t{16}).set("depth", std::int64_t{1});
    auto model = nn::latentDynamics().create(config, shape);
    EXPECT_EQ(model->type(), name);
    EXPECT_EQ(model->history(), 2);
    EXPECT_TRUE(model->config() == config) << name;  // what it writes is what built it
  }
  // An imported dynamics needs its module (test_torchscript runs one).
  EXPECT_NE(messageOf<lats::ConfigurationError>([&] {
              nn::latentDynamics().create(nn::latentDynamics().defaults("torchscript"), shape);
            }).find("the torchscript dynamics needs its module file"),
            std::string::npos);
  EXPECT_NE(messageOf<lats::ConfigurationError>([&] {
              nn::latentDynamics().create(nn::ComponentConfig("difusion"), shape);
            }).find("unknown latent dynamics 'difusion'. Did you mean 'diffusion'?"),
            std::string::npos);
  auto bad = nn::latentDynamics().defaults("diffusion").set("refinement_steps", std::int64_t{0});
  EXPECT_NE(messageOf<lats::ConfigurationError>([&] {
              nn::latentDynamics().create(bad, shape);
            }).find("'refinement_steps' is 0; it must be finite and in [1, 1000] (option -lats_model_refinement_steps"),
            std::string::npos);
}

TEST(DiffusionRefiner, SeededSamplingIsReproducibleAndPerEntry) {
  torch::manual_seed(1);
  nn::DiffusionRefiner model(nn::DiffusionRefinerOptions(4).dim(16).depth(1).numHeads(2).numTokens(5));
  const auto window = torch::randn({1, 1, 5, 4}).expand({3, 1, 5, 4}).contiguous();
  auto a = model->advance(window, {}, streams(3, 77));
  auto b = model->advance(window, {}, streams(3, 77));
  ASSERT_EQ(a.sizes(), (torch::IntArrayRef{3, 5, 4}));
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a[0], a[1]));  // entries differ by their streams
  // Entry i depends on its stream only, not on the batch it is computed in.
  EXPECT_TRUE(torch::equal(model->advance(window.slice(0, 1, 2), {}, {78})[0], a[1]));
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] {
              model->advance(torch::randn({2, 1, 6, 4}), {}, {1, 2});
            }).find("built for 5 latent tokens, got 6"),
            std::string::npos);
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] {
              model->advance(window, {}, {1});
            }).find("1 random streams for 3 batch entries"),
            std::string::npos);
}

TEST(DiffusionRefiner, IncrementTargetGeneratesOverTheLastState) {
  // Two refiners with the same weights, one generating states, one increments: the same
  // stream gives the same sample, which the increment refiner adds to the last state; its
  // loss on targets t is the state refiner's on t - last (same draws).
  auto make = [](const std::string& target) {
    torch::manual_seed(5);
    return nn::DiffusionRefiner(
        nn::DiffusionRefinerOptions(4).dim(16).depth(1).numHeads(2).numTokens(5).history(2).target(target));
  };
  auto state = make("state"), increment = make("increment");
  EXPECT_TRUE(increment->increment());
  EXPECT_EQ(increment->config().text("target"), "increment");
  torch::manual_seed(6);
  const auto window = torch::randn({3, 2, 5, 4});
  const auto last = window.select(1, 1);
  EXPECT_TRUE(
      torch::equal(increment->advance(window, {}, streams(3, 9)), last + state->advance(window, {}, streams(3, 9))));
  const auto targets = torch::randn({3, 1, 5, 4});
  auto batchOf = [&](const torch::Tensor& t) {
    nn::DynamicsBatch b;
    b.window = window;
    b.targets = t;
    b.generator = at::make_generator<at::CPUGeneratorImpl>(11);
    b.globalBatch = 3;
    return b;
  };
  EXPECT_EQ(increment->loss(batchOf(targets)).item<double>(),
            state->loss(batchOf(targets - last.unsqueeze(1))).item<double>());
  // Guidance judges the state the increment leads to: observing the last state itself pulls
  // the increment towards zero.
  const nn::Guidance towardsLast = [&](const torch::Tensor& x0, double varianceScale) {
    return -0.5 * (x0 - last.slice(0, 0, 1)).pow(2).sum() / (1e-2 + varianceScale);
  };
  const auto free = increment->advance(window.slice(0, 0, 1), {}, {4});
  const auto guided = increment->advance(window.slice(0, 0, 1), {}, {4}, &towardsLast);
  EXPECT_LT((guided - last.slice(0, 0, 1)).norm().item<double>(), (free - last.slice(0, 0, 1)).norm().item<double>());
  // An unknown target is named with the choices.
  EXPECT_NE(messageOf<lats::ConfigurationError>([&] {
              make("delta");
            }).find("target 'delta' is unknown; give state or increment (-lats_model_refiner_target)"),
            std::string::npos);
}

TEST(DiffusionRefiner, LearnsAConditionalMapAndEverySamplerSamplesIt) {
  // next = 0.5 * current + 0.2 exactly: the refiner must learn to sample (close to) it.
  torch::manual_seed(2);
  nn::DiffusionRefiner model(
      nn::DiffusionRefinerOptions(2).dim(32).depth(2).numHeads(2).refinementSteps(3).sigmaMin(0.05));
  const auto [first, last] = train(*model, 500, [] {
    auto current = torch::randn({32, 1, 4, 2});
    return std::make_pair(current, (0.5 * current + 0.2));
  });
  auto current = torch::randn({8, 1, 4, 2});
  auto samples = model->advance(current, {}, streams(8, 5));
  const auto truth = 0.5 * current.select(1, 0) + 0.2;
  const double ref = truth.pow(2).mean().item<double>();
  const double err = (samples - truth).pow(2).mean().item<double>();
  std::printf("[refiner] v-loss %.3e -> %.3e, sample relative mse %.3e\n", first, last, err / ref);
  EXPECT_LT(last, 0.2 * first);
  EXPECT_LT(err / ref, 0.05);
  // The same weights under an ODE sampler (a run-time choice of the model description).
  for (const std::string sampler : {"euler", "heun"}) {
    nn::DiffusionRefiner other(
        nn::DiffusionRefinerOptions(2).dim(32).depth(2).numHeads(2).refinementSteps(3).sigmaMin(0.05).sampler(sampler));
    torch::NoGradGuard g;
    auto dst = other->named_parameters();
    for (const auto& p : model->named_parameters()) dst[p.key()].copy_(p.value());
    const double e = (other->advance(current, {}, streams(8, 5)) - truth).pow(2).mean().item<double>();
    std::printf("[refiner, %s] sample relative mse %.3e\n", sampler.c_str(), e / ref);
    EXPECT_LT(e / ref, 0.1) << sampler;
  }
}

TEST(DiffusionRefiner, ConditionsOnTheWholeWindowByDefault) {
  // next = now - 0.5 (now - prev) needs both states: a refiner that sees the whole window
  // learns it, one that sees only the last state (format-1 checkpoints) cannot.
  auto make = [] {
    auto window = torch::randn({32, 2, 4, 2});
    auto now = window.select(1, 1), prev = window.select(1, 0);
    return std::make_pair(window, (now - 0.5 * (now - prev)).unsqueeze(1));
  };
  auto error = [&](std::int64_t conditioning) {
    torch::manual_seed(4);
    nn::DiffusionRefiner model(
        nn::DiffusionRefinerOptions(2).dim(32).depth(2).numHeads(2).sigmaMin(0.05).history(2).conditioning(
            conditioning));
    EXPECT_EQ(model->conditioningStates(), conditioning == 0 ? 2 : conditioning);
    train(*model, 400, make);
    torch::manual_seed(5);
    const auto [window, next] = make();
    const auto s = model->advance(window, {}, streams(32, 9));
    return (s - next.select(1, 0)).pow(2).mean().item<double>() / next.pow(2).mean().item<double>();
  };
  const double whole = error(0), last = error(1);
  std::printf("[refiner conditioning] relative mse: whole window %.3e, last state %.3e\n", whole, last);
  EXPECT_LT(whole, 0.05);
  EXPECT_LT(whole, 0.25 * last);
}

TEST(LatentTransformer, LearnsALinearLatentStepWithHistoryAndParameters) {
  // z_next = z_now - p * (z_now - z_prev): depends on the history and on the parameter p.
  torch::manual_seed(3);
  nn::LatentTransformer model(
      nn::LatentTransformerOptions(3).dim(32).depth(2).numHeads(2).history(2).numParameters(1).numTokens(4));
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(2e-3));
  auto target = [](const torch::Tensor& h, const torch::Tensor& p) {
    auto now = h.select(1, 1), prev = h.select(1, 0);
    return now - p.view({-1, 1, 1}) * (now - prev);
  };
  double first = 0, last = 0;
  for (int it = 0; it < 500; ++it) {
    auto h = torch::randn({32, 2, 4, 3}), p = torch::rand({32, 1});
    auto loss = torch::mse_loss(model(h, p), target(h, p));
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (it == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  std::printf("[latent transformer] mse %.3e -> %.3e\n", first, last);
  EXPECT_LT(last, 0.1 * first);
  // The interface's advance() is the forward pass; its loss() the unrolled MSE.
  auto h = torch::randn({2, 2, 4, 3}), p = torch::rand({2, 1});
  EXPECT_TRUE(torch::equal(model->advance(h, p, {}), model(h, p)));
  nn::DynamicsBatch batch;
  batch.window = h;
  batch.parameters = p;
  const auto one = model(h, p), two = model(torch::stack({h.select(1, 1), one}, 1), p);
  batch.targets = torch::stack({one, two}, 1).detach();
  EXPECT_LT(model->loss(batch).item<double>(), 1e-12);  // its own two-step rollout
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] {
              model(torch::randn({2, 2, 4, 3}));
            }).find("expected parameters of shape (2, 1)"),
            std::string::npos);
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] {
              model(torch::randn({2, 3, 4, 3}), torch::rand({2, 1}));
            }).find("expected (batch, 2, tokens, 3)"),
            std::string::npos);
  nn::Guidance none = [](const torch::Tensor& x0, double) { return x0.sum(); };
  EXPECT_NE(messageOf<lats::ModelMismatchError>([&] {
              model->advance(h, p, {}, &none);
            }).find("guided sampling needs a generative dynamics"),
            std::string::npos);
}
