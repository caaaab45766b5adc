#pragma once
/// \file dit_block.hpp
/// Transformer block with adaptive layer norm (adaLN-Zero), conditioned on a vector such as
/// the embedding of a time or a noise level; and the sinusoidal embedding of such scalars.

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "lats/solvers/neural/attention.hpp"

namespace lats::solvers::neural {

/// Sinusoidal embedding of scalars t (B) -> (B, dim), dim even.
torch::Tensor sinusoidalEmbedding(const torch::Tensor& t, int64_t dim, double maxPeriod = 10000.0);

struct DiTBlockOptions {
  DiTBlockOptions(int64_t dim, int64_t conditionDim) : dim_(dim), conditionDim_(conditionDim) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, conditionDim);
  TORCH_ARG(int64_t, numHeads) = 4;
  TORCH_ARG(double, mlpRatio) = 4.0;
};

/// x <- x + gate1 * Attn(LN(x) * (1 + scale1) + shift1)
/// x <- x + gate2 * MLP(LN(x) * (1 + scale2) + shift2)
/// with (shift, scale, gate) x 2 = Linear(SiLU(condition)). The modulation layer starts at
/// zero, so a fresh block is the identity map.
class DiTBlockImpl : public torch::nn::Module {
 public:
  explicit DiTBlockImpl(DiTBlockOptions options);
  /// x (B, N, dim), condition (B, conditionDim) -> (B, N, dim).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& condition);
  const DiTBlockOptions& options() const { return options_; }

 private:
  DiTBlockOptions options_;
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  Attention attention_{nullptr};
  torch::nn::Sequential mlp_{nullptr};
  torch::nn::Linear modulation_{nullptr};
};
TORCH_MODULE(DiTBlock);

}  // namespace lats::solvers::neural
