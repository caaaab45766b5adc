#include "lats/solvers/neural/latent_dynamics.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "lats/core/error.hpp"

namespace lats::solvers::neural {
namespace {

torch::nn::ModuleList makeBlocks(int64_t depth, int64_t dim, int64_t numHeads) {
  torch::nn::ModuleList blocks;
  for (int64_t i = 0; i < depth; ++i) blocks->push_back(DiTBlock(DiTBlockOptions(dim, dim).numHeads(numHeads)));
  return blocks;
}

torch::Tensor runBlocks(torch::nn::ModuleList& blocks, torch::Tensor x, const torch::Tensor& condition) {
  for (auto& b : *blocks) x = b->as<DiTBlock>()->forward(x, condition);
  return x;
}

// Adds the learned token positions (if any) after checking the token count.
torch::Tensor addPositions(const torch::Tensor& x, const torch::Tensor& positions, const char* who) {
  if (!positions.defined()) return x;
  LATS_CHECK(x.size(1) == positions.size(0), DimensionMismatchError,
             who << ": the model was built for " << positions.size(0) << " latent tokens, got " << x.size(1));
  return x + positions.to(x.dtype());
}

void checkParameters(const torch::Tensor& p, int64_t expected, int64_t batch, const char* who) {
  if (expected == 0) {
    LATS_CHECK(!p.defined() || p.numel() == 0, DimensionMismatchError,
               who << ": the model has no parameter conditioning but parameters " << p.sizes() << " were given");
    return;
  }
  LATS_CHECK(p.defined() && p.dim() == 2 && p.size(0) == batch && p.size(1) == expected, DimensionMismatchError,
             who << ": expected parameters of shape (" << batch << ", " << expected << "), got "
                 << (p.defined() ? p.sizes() : torch::IntArrayRef{}));
}

}  // namespace

LatentTransformerImpl::LatentTransformerImpl(LatentTransformerOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  LATS_CHECK(o.history() >= 1 && o.depth() >= 1 && o.dim() % o.numHeads() == 0, ConfigurationError,
             "LatentTransformer: need history >= 1, depth >= 1 and dim a multiple of numHeads; got history "
                 << o.history() << ", depth " << o.depth() << ", dim " << o.dim() << ", heads " << o.numHeads());
  input_ = register_module("input", torch::nn::Linear(o.latentDim() * o.history(), o.dim()));
  if (o.numTokens() > 0)
    tokenPosition_ = register_parameter("token_position", torch::randn({o.numTokens(), o.dim()}) * 0.02);
  if (o.numParameters() > 0)
    parameterEmbed_ = register_module("parameter_embed", torch::nn::Linear(o.numParameters(), o.dim()));
  blocks_ = register_module("blocks", makeBlocks(o.depth(), o.dim(), o.numHeads()));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim()})));
  output_ = register_module("output", torch::nn::Linear(o.dim(), o.latentDim()));
  torch::NoGradGuard g;
  output_->weight.mul_(0.1);
  output_->bias.zero_();
}

torch::Tensor LatentTransformerImpl::forward(const torch::Tensor& history, const torch::Tensor& parameters) {
  const auto& o = options_;
  torch::Tensor h = history.dim() == 3 ? history.unsqueeze(1) : history;
  LATS_CHECK(h.dim() == 4 && h.size(1) == o.history() && h.size(3) == o.latentDim(), DimensionMismatchError,
             "LatentTransformer: expected (batch, " << o.history() << ", tokens, " << o.latentDim() << "), got "
                                                    << history.sizes());
  checkParameters(parameters, o.numParameters(), h.size(0), "LatentTransformer");
  const auto current = h.select(1, o.history() - 1);
  auto x = addPositions(input_(h.permute({0, 2, 1, 3}).reshape({h.size(0), h.size(2), -1})), tokenPosition_,
                        "LatentTransformer");
  auto condition = torch::zeros({h.size(0), o.dim()}, x.options());
  if (o.numParameters() > 0) condition = condition + parameterEmbed_(parameters);
  x = runBlocks(blocks_, x, condition);
  return current + output_(norm_(x));
}

NoiseSchedule NoiseSchedule::minimumNoise(int steps, double sigmaMin) {
  LATS_CHECK(steps >= 1 && sigmaMin > 0.0 && sigmaMin < 1.0, ConfigurationError,
             "noise schedule: need steps >= 1 and 0 < sigmaMin < 1, got " << steps << " and " << sigmaMin);
  NoiseSchedule s;
  for (int k = 0; k <= steps; ++k) {
    const double sigma = std::pow(sigmaMin, static_cast<double>(k) / steps);
    s.sigma.push_back(sigma);
    s.alpha.push_back(std::sqrt(std::max(0.0, 1.0 - sigma * sigma)));
  }
  return s;
}

torch::Tensor refine(const NoiseSchedule& schedule, const std::function<torch::Tensor(const torch::Tensor&, int)>& v,
                     const std::function<torch::Tensor(int)>& noise) {
  // k = 0: sigma = 1, alpha = 0, so x_0 is pure noise and x0 = alpha x - sigma v = -v.
  auto x = noise(0);
  auto x0 = schedule.alpha[0] * x - schedule.sigma[0] * v(x, 0);
  for (int k = 1; k <= schedule.steps(); ++k) {
    x = schedule.alpha[k] * x0 + schedule.sigma[k] * noise(k);
    x0 = schedule.alpha[k] * x - schedule.sigma[k] * v(x, k);
  }
  return x0;
}

DiffusionRefinerImpl::DiffusionRefinerImpl(DiffusionRefinerOptions options)
    : options_(std::move(options)),
      schedule_(NoiseSchedule::minimumNoise(static_cast<int>(options_.refinementSteps()), options_.sigmaMin())) {
  const auto& o = options_;
  LATS_CHECK(o.depth() >= 1 && o.dim() % o.numHeads() == 0 && o.dim() % 2 == 0, ConfigurationError,
             "DiffusionRefiner: need depth >= 1 and an even dim that is a multiple of numHeads; got depth "
                 << o.depth() << ", dim " << o.dim() << ", heads " << o.numHeads());
  input_ = register_module("input", torch::nn::Linear(2 * o.latentDim(), o.dim()));
  if (o.numTokens() > 0)
    tokenPosition_ = register_parameter("token_position", torch::randn({o.numTokens(), o.dim()}) * 0.02);
  levelEmbed_ = register_module("level_embed", torch::nn::Linear(o.dim(), o.dim()));
  if (o.numParameters() > 0)
    parameterEmbed_ = register_module("parameter_embed", torch::nn::Linear(o.numParameters(), o.dim()));
  blocks_ = register_module("blocks", makeBlocks(o.depth(), o.dim(), o.numHeads()));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim()})));
  output_ = register_module("output", torch::nn::Linear(o.dim(), o.latentDim()));
}

torch::Tensor DiffusionRefinerImpl::predictV(const torch::Tensor& xk, const torch::Tensor& k,
                                             const torch::Tensor& current, const torch::Tensor& parameters) {
  const auto& o = options_;
  LATS_CHECK(xk.dim() == 3 && xk.size(2) == o.latentDim() && current.sizes() == xk.sizes(), DimensionMismatchError,
             "DiffusionRefiner: noisy and current states must both be (batch, tokens, "
                 << o.latentDim() << "), got " << xk.sizes() << " and " << current.sizes());
  LATS_CHECK(k.dim() == 1 && k.size(0) == xk.size(0), DimensionMismatchError,
             "DiffusionRefiner: expected one noise level per batch entry, got " << k.sizes());
  checkParameters(parameters, o.numParameters(), xk.size(0), "DiffusionRefiner");
  auto x = addPositions(input_(torch::cat({xk, current}, -1)), tokenPosition_, "DiffusionRefiner");
  // Levels are embedded on a 0..1000 scale like DDPM time steps.
  auto level = k.to(x.dtype()) * (1000.0 / std::max<int64_t>(1, o.refinementSteps()));
  auto condition = levelEmbed_(sinusoidalEmbedding(level, o.dim()).to(x.dtype()));
  if (o.numParameters() > 0) condition = condition + parameterEmbed_(parameters);
  x = runBlocks(blocks_, x, torch::silu(condition));
  return output_(norm_(x));
}

torch::Tensor DiffusionRefinerImpl::loss(const torch::Tensor& next, const torch::Tensor& current,
                                         const torch::Tensor& parameters, const torch::Tensor& levels,
                                         const torch::Tensor& noise) {
  const int64_t B = next.size(0);
  auto k = levels.defined()
               ? levels.to(torch::kInt64)
               : torch::randint(0, schedule_.steps() + 1, {B}, torch::TensorOptions().dtype(torch::kInt64));
  auto alpha = torch::tensor(schedule_.alpha, next.options()).index_select(0, k).view({B, 1, 1});
  auto sigma = torch::tensor(schedule_.sigma, next.options()).index_select(0, k).view({B, 1, 1});
  auto eps = noise.defined() ? noise.to(next.dtype()) : torch::randn_like(next);
  auto xk = alpha * next + sigma * eps;
  auto target = alpha * eps - sigma * next;
  return torch::mse_loss(predictV(xk, k, current, parameters), target);
}

torch::Tensor DiffusionRefinerImpl::sample(const torch::Tensor& current, int64_t numSamples, uint64_t seed,
                                           const torch::Tensor& parameters) {
  LATS_CHECK(numSamples >= 1, InvalidValueError,
             "DiffusionRefiner::sample: numSamples must be >= 1, got " << numSamples);
  c10::InferenceMode guard;
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < numSamples; ++i) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed + static_cast<uint64_t>(i));
    auto noise = [&](int) { return at::randn(current.sizes(), gen, current.options()); };
    auto v = [&](const torch::Tensor& x, int k) {
      return predictV(x, torch::full({current.size(0)}, k, torch::kInt64), current, parameters);
    };
    out.push_back(refine(schedule_, v, noise));
  }
  return torch::stack(out);
}

}  // namespace lats::solvers::neural
