#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>
#include <cmath>
#include <cstdio>

#include "lats/core/error.hpp"
#include "lats/solvers/neural/diffusion_refiner.hpp"
#include "lats/solvers/neural/sampler.hpp"
#include "test_support.hpp"

namespace nn = lats::solvers::neural;
using lats::test::messageOf;

namespace {

/// The exact denoiser of Gaussian data x0 ~ N(m, s^2) per entry on a noise path:
/// E[x0 | x_l] = m + g_l (x_l - alpha_l m), g_l = alpha_l s^2 / (alpha_l^2 s^2 + sigma_l^2).
class GaussianDenoiser : public nn::Denoiser {
 public:
  enum class Path { MinimumNoise, Linear };
  GaussianDenoiser(Path path, std::vector<double> levels, double m, double s, int steps = 3, double sigmaMin = 0.05)
      : path_(path), levels_(std::move(levels)), m_(m), s_(s), steps_(steps), sigmaMin_(sigmaMin) {}
  std::vector<double> levels() const override { return levels_; }
  double sigma(double l) const override { return path_ == Path::Linear ? 1.0 - l : std::pow(sigmaMin_, l / steps_); }
  double alpha(double l) const override {
    return path_ == Path::Linear ? l : std::sqrt(std::max(0.0, 1.0 - sigma(l) * sigma(l)));
  }
  double gain(double l) const {
    const double a = alpha(l), sg = sigma(l);
    return a * s_ * s_ / (a * a * s_ * s_ + sg * sg);
  }
  torch::Tensor denoise(const torch::Tensor& x, double l) override {
    ++calls;
    return m_ + gain(l) * (x - alpha(l) * m_);
  }
  int calls = 0;

 private:
  Path path_;
  std::vector<double> levels_;
  double m_, s_;
  int steps_;
  double sigmaMin_;
};

std::vector<double> uniformLevels(int n) {
  std::vector<double> out;
  for (int i = 0; i <= n; ++i) out.push_back(static_cast<double>(i) / n);
  return out;
}

}  // namespace

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

TEST(Sampler, RefineStatisticsMatchTheAnalyticGaussianCase) {
  // With the exact denoiser the refine sampler's output is Gaussian with mean m and variance
  // V_K, where V_0 = 0 and V_k = g_k^2 (alpha_k^2 V_{k-1} + sigma_k^2).
  const double m = 1.5, s = 0.7;
  GaussianDenoiser d(GaussianDenoiser::Path::MinimumNoise, {0, 1, 2, 3}, m, s);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(123);
  const int64_t n = 200000;
  auto draw = [&] { return at::randn({n}, gen, torch::kFloat64); };
  const auto sampler = nn::samplers().create("refine");
  auto x = sampler->sample(d, draw);
  double var = 0.0;
  for (int k = 1; k <= 3; ++k) {
    const double g = d.gain(k);
    var = g * g * (d.alpha(k) * d.alpha(k) * var + d.sigma(k) * d.sigma(k));
  }
  const double mean = x.mean().item<double>(), empVar = x.var().item<double>();
  std::printf("[refine] mean %.5f (exact %.5f), variance %.5f (exact %.5f, data %.5f)\n", mean, m, empVar, var, s * s);
  EXPECT_NEAR(mean, m, 4 * std::sqrt(var / n));
  EXPECT_NEAR(empVar / var, 1.0, 0.02);
  EXPECT_EQ(d.calls, 4);  // one denoising per level
  // A few-step refinement, not a full reverse diffusion: its spread stays below the data's.
  EXPECT_LT(var, 0.5 * s * s);
}

TEST(Sampler, OdeSamplersConvergeAtTheirOrderToTheExactTransport) {
  // On the linear (flow-matching) path x_t = t x0 + (1 - t) eps, Gaussian data N(m, s^2) is
  // reached from noise z by the exact probability-flow map z -> m + s z. Euler is first
  // order, Heun and the midpoint rule (at least) second order in the number of steps.
  const double m = -0.4, s = 2.5;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  const auto z = at::randn({1000}, gen, torch::kFloat64);
  const auto exact = m + s * z;
  auto errorOf = [&](const std::string& name, int steps) {
    GaussianDenoiser d(GaussianDenoiser::Path::Linear, uniformLevels(steps), m, s);
    bool first = true;
    auto draw = [&] {
      EXPECT_TRUE(first) << name << " is deterministic: it draws the starting noise only";
      first = false;
      return z.clone();
    };
    return (nn::samplers().create(name)->sample(d, draw) - exact).abs().max().item<double>();
  };
  for (const auto& [name, order] :
       std::vector<std::pair<std::string, double>>{{"euler", 1}, {"heun", 2}, {"midpoint", 2}}) {
    const double e8 = errorOf(name, 8), e16 = errorOf(name, 16), e32 = errorOf(name, 32);
    const double rate = std::log2(e16 / e32);
    std::printf("[%s] max error 8/16/32 steps: %.3e %.3e %.3e, order %.2f\n", name.c_str(), e8, e16, e32, rate);
    EXPECT_LT(e16, e8);
    EXPECT_GT(rate, order - 0.25) << name;  // the midpoint rule does better (3) on this linear field
  }
  EXPECT_LT(errorOf("heun", 32), 1e-2);
  EXPECT_LT(errorOf("midpoint", 32), 1e-3);
}

TEST(Sampler, GuidancePullsTowardTheObservationsAndVanishesWithHugeNoise) {
  // Observing every entry as y with noise tau: guided samples move from the prior mean m
  // toward y; with an enormous tau the samples are the unguided ones.
  const double m = 0.0, s = 1.0, y = 2.0;
  auto run = [&](const std::string& name, double tau, bool guided) {
    GaussianDenoiser d(GaussianDenoiser::Path::Linear, uniformLevels(20), m, s);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
    auto draw = [&] { return at::randn({4000}, gen, torch::kFloat64); };
    const nn::Guidance guidance = [&](const torch::Tensor& x0, double scale) {
      return -0.5 * ((x0 - y).pow(2) / (tau * tau + scale)).sum();
    };
    return nn::samplers().create(name)->sample(d, draw, guided ? &guidance : nullptr);
  };
  for (const std::string name : {"refine", "euler", "heun"}) {
    const auto free = run(name, 0.3, false), pulled = run(name, 0.3, true), loose = run(name, 1e6, true);
    const double meanPulled = pulled.mean().item<double>();
    const double posterior = (m / (s * s) + y / 0.09) / (1 / (s * s) + 1 / 0.09);  // 1.83
    std::printf("[%s guided] mean %.3f (prior %.3f, exact posterior %.3f)\n", name.c_str(), meanPulled,
                free.mean().item<double>(), posterior);
    EXPECT_GT(meanPulled, 0.5 * (m + y)) << name;
    EXPECT_LT(meanPulled, y + 0.1) << name;
    EXPECT_LT((loose - free).abs().max().item<double>(), 1e-5) << name;
  }
}

TEST(Sampler, BadGuidanceAndPathsAreClearErrors) {
  GaussianDenoiser d(GaussianDenoiser::Path::Linear, uniformLevels(4), 0.0, 1.0);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  auto draw = [&] { return at::randn({3}, gen, torch::kFloat64); };
  const nn::Guidance notScalar = [](const torch::Tensor& x0, double) { return x0; };
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] {
              nn::samplers().create("euler")->sample(d, draw, &notScalar);
            }).find("the log-likelihood must be a scalar, got shape [3]"),
            std::string::npos);
  GaussianDenoiser one(GaussianDenoiser::Path::Linear, {0.0}, 0.0, 1.0);
  EXPECT_NE(messageOf<lats::ConfigurationError>([&] {
              nn::samplers().create("heun")->sample(one, draw);
            }).find("heun sampler: the model's noise path has 1 level(s); need at least 2"),
            std::string::npos);
}

TEST(Sampler, UnknownNamesGetASuggestion) {
  EXPECT_NE(messageOf<lats::ConfigurationError>([] {
              nn::samplers().create("huen");
            }).find("unknown sampler 'huen'. Did you mean 'heun'?"),
            std::string::npos);
  EXPECT_EQ(nn::samplers().names(), (std::vector<std::string>{"euler", "heun", "midpoint", "refine"}));
}
