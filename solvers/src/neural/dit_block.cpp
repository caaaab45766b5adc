#include "lats/solvers/neural/dit_block.hpp"

#include <torch/torch.h>

#include <cmath>

#include "lats/core/error.hpp"

namespace lats::solvers::neural {

torch::Tensor sinusoidalEmbedding(const torch::Tensor& t, int64_t dim, double maxPeriod) {
  LATS_CHECK(dim >= 2 && dim % 2 == 0, ConfigurationError,
             "sinusoidalEmbedding: dim must be even and >= 2, got " << dim);
  const int64_t half = dim / 2;
  auto freqs = torch::exp(
      -std::log(maxPeriod) *
      torch::arange(half, t.options().dtype(t.is_floating_point() ? t.scalar_type() : torch::kFloat32)) / half);
  auto args = t.reshape({-1, 1}).to(freqs.dtype()) * freqs.unsqueeze(0);
  return torch::cat({torch::cos(args), torch::sin(args)}, -1);
}

DiTBlockImpl::DiTBlockImpl(DiTBlockOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  LATS_CHECK(o.dim() % o.numHeads() == 0, ConfigurationError,
             "DiTBlock: dim " << o.dim() << " must be a multiple of numHeads " << o.numHeads());
  const int64_t d = o.dim(), hidden = static_cast<int64_t>(o.mlpRatio() * d);
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).elementwise_affine(false)));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).elementwise_affine(false)));
  attention_ = register_module("attention", Attention(AttentionOptions(d, d, o.numHeads(), d / o.numHeads())));
  mlp_ = register_module(
      "mlp", torch::nn::Sequential(torch::nn::Linear(d, hidden), torch::nn::GELU(), torch::nn::Linear(hidden, d)));
  modulation_ = register_module("modulation", torch::nn::Linear(o.conditionDim(), 6 * d));
  torch::NoGradGuard noGrad;
  modulation_->weight.zero_();
  modulation_->bias.zero_();
}

torch::Tensor DiTBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& condition) {
  const auto& o = options_;
  LATS_CHECK(x.dim() == 3 && x.size(2) == o.dim(), DimensionMismatchError,
             "DiTBlock: input must be (batch, tokens, " << o.dim() << "), got " << x.sizes());
  LATS_CHECK(
      condition.dim() == 2 && condition.size(0) == x.size(0) && condition.size(1) == o.conditionDim(),
      DimensionMismatchError,
      "DiTBlock: condition must be (" << x.size(0) << ", " << o.conditionDim() << "), got " << condition.sizes());
  auto m = modulation_(torch::silu(condition)).unsqueeze(1).chunk(6, -1);
  auto h = norm1_(x) * (1 + m[1]) + m[0];
  auto y = x + m[2] * attention_(h, h, h);
  h = norm2_(y) * (1 + m[4]) + m[3];
  return y + m[5] * mlp_->forward(h);
}

}  // namespace lats::solvers::neural
