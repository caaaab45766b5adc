#pragma once
/// \file latent_model.hpp
/// The AROMA-style latent operator assembled from components: encoder -> variational
/// bottleneck -> latent dynamics (deterministic transformer, optional diffusion refiner)
/// -> local neural-field decoder. Its configuration is plain data so checkpoints can
/// rebuild it.

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <string>

#include "lats/solvers/neural/bottleneck.hpp"
#include "lats/solvers/neural/decoder.hpp"
#include "lats/solvers/neural/encoder.hpp"
#include "lats/solvers/neural/latent_dynamics.hpp"

namespace lats::solvers::neural {

/// Architecture of a LatentModel. Every member is stored in the checkpoint.
struct LatentModelConfig {
  std::string architecture = "aroma";
  int64_t spatialDim = 2;
  int64_t numComponents = 1;  ///< total components over all fields
  int64_t numTokens = 16;
  int64_t tokenDim = 64;
  int64_t latentDim = 16;
  int64_t numHeads = 4;
  int64_t numFrequencies = 8;
  int64_t decoderHidden = 64;
  int64_t decoderDepth = 0;  ///< self-attention blocks over the tokens in the decoder
  int64_t dynamicsDim = 64;
  int64_t dynamicsDepth = 4;
  int64_t numParameters = 0;
  int64_t history = 1;
  /// "deterministic" or "diffusion" (deterministic step refined by the diffusion refiner).
  std::string dynamics = "deterministic";
  int64_t refinementSteps = 3;
  double sigmaMin = 1e-2;
  int64_t encoderChunk = 0;
  bool operator==(const LatentModelConfig& o) const;
  /// Whether the encoder, bottleneck and decoder have the same shapes (the dynamics may differ).
  bool sameAutoencoder(const LatentModelConfig& o) const;
};

class LatentModelImpl : public torch::nn::Module {
 public:
  explicit LatentModelImpl(LatentModelConfig config);
  /// Latent means (B, numTokens, latentDim) of fields `values` (B, N, numComponents) at
  /// `coords` (B, N, spatialDim).
  torch::Tensor encode(const torch::Tensor& coords, const torch::Tensor& values, const torch::Tensor& mask = {});
  /// Full variational output (for training).
  BottleneckOutput encodeVariational(const torch::Tensor& coords, const torch::Tensor& values, bool sample,
                                     const torch::Tensor& mask = {});
  /// Values (B, N, numComponents) at any coordinates.
  torch::Tensor decode(const torch::Tensor& latent, const torch::Tensor& coords);
  /// Deterministic next latent from (B, history, M, L) or (B, M, L).
  torch::Tensor step(const torch::Tensor& history, const torch::Tensor& parameters = {});
  CrossAttentionEncoder& encoder() { return encoder_; }
  VariationalBottleneck& bottleneck() { return bottleneck_; }
  LocalFieldDecoder& decoder() { return decoder_; }
  LatentTransformer& dynamics() { return dynamics_; }
  /// The diffusion refiner (null unless config.dynamics == "diffusion").
  DiffusionRefiner& refiner() { return refiner_; }
  const LatentModelConfig& config() const { return config_; }

 private:
  LatentModelConfig config_;
  CrossAttentionEncoder encoder_{nullptr};
  VariationalBottleneck bottleneck_{nullptr};
  LocalFieldDecoder decoder_{nullptr};
  LatentTransformer dynamics_{nullptr};
  DiffusionRefiner refiner_{nullptr};
};
TORCH_MODULE(LatentModel);

}  // namespace lats::solvers::neural
