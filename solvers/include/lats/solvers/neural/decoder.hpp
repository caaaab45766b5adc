#pragma once
/// \file decoder.hpp
/// A local neural-field decoder: values at any query coordinates from latent tokens.

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "lats/solvers/neural/attention.hpp"
#include "lats/solvers/neural/fourier_features.hpp"

namespace lats::solvers::neural {

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
/// features returns the field values. Queries are independent of each other, so any subset of
/// points (a rank's partition) can be decoded on its own.
class LocalFieldDecoderImpl : public torch::nn::Module {
 public:
  explicit LocalFieldDecoderImpl(LocalFieldDecoderOptions options);
  /// tokens (B, M, latentDim), coords (B, N, coordDim) -> values (B, N, outputDim).
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& coords);
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
