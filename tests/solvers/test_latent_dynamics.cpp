#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>
#include <cmath>
#include <cstdio>

#include "lats/core/error.hpp"
#include "lats/solvers/neural/latent_dynamics.hpp"
#include "test_support.hpp"

namespace nn = lats::solvers::neural;
using lats::test::messageOf;

TEST(NoiseSchedule, MinimumNoiseLevels) {
  const auto s = nn::NoiseSchedule::minimumNoise(4, 1e-3);
  ASSERT_EQ(s.steps(), 4);
  EXPECT_DOUBLE_EQ(s.sigma[0], 1.0);
  EXPECT_DOUBLE_EQ(s.alpha[0], 0.0);
  EXPECT_NEAR(s.sigma[4], 1e-3, 1e-15);
  EXPECT_NEAR(s.sigma[2], std::sqrt(1e-3), 1e-15);
  for (int k = 0; k <= 4; ++k) EXPECT_NEAR(s.alpha[k] * s.alpha[k] + s.sigma[k] * s.sigma[k], 1.0, 1e-14);
  EXPECT_NE(
      messageOf<lats::ConfigurationError>([] { nn::NoiseSchedule::minimumNoise(3, 1.5); }).find("0 < sigmaMin < 1"),
      std::string::npos);
}

TEST(Refine, SampleStatisticsMatchTheAnalyticGaussianCase) {
  // Data x0 ~ N(m, s^2) per entry. The exact denoiser is E[x0 | x_k] = m + g_k (x_k - alpha_k m),
  // g_k = alpha_k s^2 / (alpha_k^2 s^2 + sigma_k^2), and v = (alpha_k x_k - E[x0|x_k]) / sigma_k.
  // With it the refiner's output is Gaussian with mean m and variance V_K, where
  // V_0 = 0 and V_k = g_k^2 (alpha_k^2 V_{k-1} + sigma_k^2).
  const double m = 1.5, s = 0.7;
  const auto sched = nn::NoiseSchedule::minimumNoise(3, 0.05);
  auto gain = [&](int k) {
    const double a = sched.alpha[k], sg = sched.sigma[k];
    return a * s * s / (a * a * s * s + sg * sg);
  };
  auto v = [&](const torch::Tensor& x, int k) {
    const double a = sched.alpha[k], sg = sched.sigma[k];
    auto x0 = m + gain(k) * (x - a * m);
    return (a * x - x0) / sg;
  };
  auto gen = at::make_generator<at::CPUGeneratorImpl>(123);
  const int64_t n = 200000;
  auto noise = [&](int) { return at::randn({n}, gen, torch::kFloat64); };
  auto x = nn::refine(sched, v, noise);
  double var = 0.0;
  for (int k = 1; k <= sched.steps(); ++k) {
    const double g = gain(k);
    var = g * g * (sched.alpha[k] * sched.alpha[k] * var + sched.sigma[k] * sched.sigma[k]);
  }
  const double mean = x.mean().item<double>(), empVar = x.var().item<double>();
  std::printf("[refine] mean %.5f (exact %.5f), variance %.5f (exact %.5f, data %.5f)\n", mean, m, empVar, var, s * s);
  EXPECT_NEAR(mean, m, 4 * std::sqrt(var / n));
  EXPECT_NEAR(empVar / var, 1.0, 0.02);
  // The refiner is a few-step refinement, not a full reverse diffusion: its spread stays
  // below the data's (here about 0.21 of it), which is why it refines a forecast rather than
  // sampling the whole distribution.
  EXPECT_LT(var, 0.5 * s * s);
}

TEST(DiffusionRefiner, SeededEnsembleSamplingIsReproducible) {
  torch::manual_seed(1);
  nn::DiffusionRefiner model(nn::DiffusionRefinerOptions(4).dim(16).depth(1).numHeads(2).numTokens(5));
  auto current = torch::randn({2, 5, 4});
  auto a = model->sample(current, 3, 77);
  auto b = model->sample(current, 3, 77);
  ASSERT_EQ(a.sizes(), (torch::IntArrayRef{3, 2, 5, 4}));
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a[0], a[1]));                             // members differ
  EXPECT_TRUE(torch::equal(model->sample(current, 1, 78)[0], a[1]));  // member i uses seed + i
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] {
              model->sample(torch::randn({2, 6, 4}), 1, 0);
            }).find("built for 5 latent tokens, got 6"),
            std::string::npos);
}

TEST(DiffusionRefiner, LearnsAConditionalMapAndSamplesIt) {
  // next = 0.5 * current + 0.2 exactly: the refiner must learn to sample (close to) it.
  torch::manual_seed(2);
  nn::DiffusionRefiner model(
      nn::DiffusionRefinerOptions(2).dim(32).depth(2).numHeads(2).refinementSteps(3).sigmaMin(0.05));
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(2e-3).weight_decay(0.0));
  double first = 0, last = 0;
  for (int it = 0; it < 500; ++it) {
    auto current = torch::randn({32, 4, 2});
    auto loss = model->loss(0.5 * current + 0.2, current);
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (it == 0) first = loss.item<double>();
    last = 0.9 * last + 0.1 * loss.item<double>();
  }
  auto current = torch::randn({8, 4, 2});
  auto samples = model->sample(current, 4, 5);
  const double err = (samples - (0.5 * current + 0.2)).pow(2).mean().item<double>();
  const double ref = (0.5 * current + 0.2).pow(2).mean().item<double>();
  std::printf("[refiner] v-loss %.3e -> %.3e, sample relative mse %.3e\n", first, last, err / ref);
  EXPECT_LT(last, 0.2 * first);
  EXPECT_LT(err / ref, 0.05);
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
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] {
              model(torch::randn({2, 2, 4, 3}));
            }).find("expected parameters of shape (2, 1)"),
            std::string::npos);
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] {
              model(torch::randn({2, 3, 4, 3}), torch::rand({2, 1}));
            }).find("expected (batch, 2, tokens, 3)"),
            std::string::npos);
}
