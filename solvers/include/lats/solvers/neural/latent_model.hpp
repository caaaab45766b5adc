#pragma once
/// \file latent_model.hpp
/// A latent model assembled from registered components: encoder -> variational bottleneck ->
/// latent dynamics -> decoder. Its ModelDescription (the sizes the data fixes, the model-level
/// hyper-parameters and one ComponentConfig per role) is what model.json holds, so a
/// checkpoint rebuilds any registered combination. AROMA is the default combination
/// (cross_attention, local_field, deterministic or diffusion).

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "lats/solvers/neural/bottleneck.hpp"
#include "lats/solvers/neural/component.hpp"
#include "lats/solvers/neural/decoder.hpp"
#include "lats/solvers/neural/encoder.hpp"
#include "lats/solvers/neural/latent_dynamics.hpp"
#include "lats/solvers/neural/model_description.hpp"

namespace lats::solvers::neural {

class LatentModelImpl : public torch::nn::Module {
 public:
  /// `directory`: where the model's files are (a checkpoint's directory), for components that
  /// name a file in their configuration (torchscript).
  explicit LatentModelImpl(ModelDescription description, std::string directory = {});
  /// The latent state of encoder tokens: the bottleneck's mean (inference).
  torch::Tensor latentOf(const torch::Tensor& tokens);
  /// Whether every component can be trained in LaTS (false when one runs an imported module).
  bool trainable() const;
  /// Latent means (B, numTokens, latentDim) of fields `values` (B, N, numComponents) at
  /// `coords` (B, N, spatialDim).
  torch::Tensor encode(const torch::Tensor& coords, const torch::Tensor& values, const torch::Tensor& mask = {});
  /// Full variational output (for training).
  BottleneckOutput encodeVariational(const torch::Tensor& coords, const torch::Tensor& values, bool sample,
                                     const torch::Tensor& mask = {});
  /// Values (B, N, numComponents) at any coordinates.
  torch::Tensor decode(const torch::Tensor& latent, const torch::Tensor& coords);
  /// Next latent states (B, M, L) from windows (B, history, M, L) (or (B, M, L) for history
  /// 1): the dynamics' advance(), entry i drawing from streams[i] (stochastic dynamics).
  torch::Tensor advance(const torch::Tensor& window, const torch::Tensor& parameters = {},
                        const std::vector<std::uint64_t>& streams = {});
  Encoder& encoder() { return *encoder_; }
  VariationalBottleneck& bottleneck() { return bottleneck_; }
  Decoder& decoder() { return *decoder_; }
  LatentDynamics& dynamics() { return *dynamics_; }
  /// The description, as the components report it (what a checkpoint writes).
  const ModelDescription& description() const { return description_; }
  std::int64_t numTokens() const { return encoder_->numTokens(); }

 private:
  ModelDescription description_;
  std::shared_ptr<Encoder> encoder_;
  VariationalBottleneck bottleneck_{nullptr};
  std::shared_ptr<Decoder> decoder_;
  std::shared_ptr<LatentDynamics> dynamics_;
};
TORCH_MODULE(LatentModel);

}  // namespace lats::solvers::neural
