#pragma once
/// \file latent_transformer.hpp
/// The deterministic latent dynamics ("deterministic"): a transformer of DiT blocks that
/// maps the window of latent states (and PDE parameters) to a residual update.

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "lats/solvers/neural/latent_dynamics.hpp"

namespace lats::solvers::neural {

struct LatentTransformerOptions {
  explicit LatentTransformerOptions(int64_t latentDim) : latentDim_(latentDim) {}
  TORCH_ARG(int64_t, latentDim);
  TORCH_ARG(int64_t, dim) = 64;
  TORCH_ARG(int64_t, depth) = 4;
  TORCH_ARG(int64_t, numHeads) = 4;
  /// Number of PDE parameters the dynamics are conditioned on (0: none).
  TORCH_ARG(int64_t, numParameters) = 0;
  /// Number of input states (current plus history), stacked along the feature dimension.
  TORCH_ARG(int64_t, history) = 1;
  /// Number of latent tokens M; when positive, each token gets a learned position embedding.
  TORCH_ARG(int64_t, numTokens) = 0;
};

/// Deterministic step: z_next = z + f(z_history, parameters), f a stack of DiT blocks.
/// Training: mean squared error of `unroll` autoregressive steps.
class LatentTransformerImpl : public LatentDynamics {
 public:
  explicit LatentTransformerImpl(LatentTransformerOptions options);
  /// history (B, history, M, latentDim) oldest first, or (B, M, latentDim) when history is 1;
  /// parameters (B, numParameters) or undefined. Returns (B, M, latentDim).
  torch::Tensor forward(const torch::Tensor& history, const torch::Tensor& parameters = {});
  const LatentTransformerOptions& options() const { return options_; }

  std::string type() const override { return "deterministic"; }
  ComponentConfig config() const override;
  std::int64_t history() const override { return options_.history(); }
  bool stochastic() const override { return false; }
  torch::Tensor advance(const torch::Tensor& window, const torch::Tensor& parameters,
                        const std::vector<std::uint64_t>& streams, const Guidance* guidance = nullptr) override;
  torch::Tensor loss(const DynamicsBatch& batch) override;

 private:
  LatentTransformerOptions options_;
  torch::nn::Linear input_{nullptr}, output_{nullptr}, parameterEmbed_{nullptr};
  torch::Tensor tokenPosition_;
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(LatentTransformer);

/// Adds it to the dynamics registry (latentDynamics() does at first use).
void registerLatentTransformer(ComponentRegistry<LatentDynamics, const ModelShape&>& registry);

}  // namespace lats::solvers::neural
