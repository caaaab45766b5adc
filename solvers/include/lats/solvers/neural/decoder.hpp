#pragma once
/// \file decoder.hpp
/// Decoders: values at any query coordinates from latent tokens. The Decoder interface, its
/// registry, and the local neural-field decoder ("local_field").

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "lats/solvers/neural/attention.hpp"
#include "lats/solvers/neural/component.hpp"
#include "lats/solvers/neural/fourier_features.hpp"

namespace lats::solvers::neural {

/// Tokens -> values at any points. Queries are independent of each other, so a rank decodes
/// its own points.
class Decoder : public torch::nn::Module {
 public:
  ~Decoder() override;
  virtual std::string type() const = 0;
  /// Type and hyper-parameters, as written to model.json.
  virtual ComponentConfig config() const = 0;
  /// tokens (B, M, latentDim), coords (B, N, spatialDim) -> values (B, N, components).
  virtual torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& coords) = 0;
  /// Query points decoded per chunk (0: all at once): bounds memory, results do not depend on it.
  virtual void setChunkSize(std::int64_t points) = 0;
  /// Whether LaTS can train it (false: an imported module, trained elsewhere).
  virtual bool trainable() const { return true; }
};

/// Decoders by name: factories take the configuration and the model's shape (spatialDim,
/// latentDim, numComponents).
ComponentRegistry<Decoder, const ModelShape&>& decoders();

struct LocalFieldDecoderOptions {
  LocalFieldDecoderOptions(int64_t coordDim, int64_t latentDim, int64_t outputDim)
      : coordDim_(coordDim), latentDim_(latentDim), outputDim_(outputDim) {}
  TORCH_ARG(int64_t, coordDim);
  TORCH_ARG(int64_t, latentDim);
  TORCH_ARG(int64_t, outputDim);
  TORCH_ARG(int64_t, hiddenDim) = 64;
  TORCH_ARG(int64_t, numHeads) = 4;
  TORCH_ARG(int64_t, numFrequencies) = 8;
  /// Self-attention blocks over the embedded tokens before the queries attend to them
  /// (AROMA's latent processing: tokens exchange information; 0: none).
  TORCH_ARG(int64_t, depth) = 0;
  /// Query points decoded per chunk (0: all at once). Bounds memory; results do not depend on it.
  TORCH_ARG(int64_t, chunkSize) = 0;
};

/// The latent tokens are embedded (and, with depth > 0, pass through self-attention blocks);
/// each query point's Fourier features attend to them; an MLP of the result and the position
/// features returns the field values.
class LocalFieldDecoderImpl : public Decoder {
 public:
  explicit LocalFieldDecoderImpl(LocalFieldDecoderOptions options);
  std::string type() const override { return "local_field"; }
  ComponentConfig config() const override;
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& coords) override;
  void setChunkSize(std::int64_t points) override { options_.chunkSize(points); }
  const LocalFieldDecoderOptions& options() const { return options_; }

 private:
  LocalFieldDecoderOptions options_;
  FourierFeatures features_{nullptr};
  torch::nn::Linear tokenEmbed_{nullptr}, queryEmbed_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  Attention attention_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::Sequential head_{nullptr};
};
TORCH_MODULE(LocalFieldDecoder);

}  // namespace lats::solvers::neural
