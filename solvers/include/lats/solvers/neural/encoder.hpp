#pragma once
/// \file encoder.hpp
/// Encoders from irregular points (coordinates + values) to a fixed set of latent tokens.

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "lats/solvers/neural/attention.hpp"
#include "lats/solvers/neural/fourier_features.hpp"

namespace lats::solvers::neural {

struct CrossAttentionEncoderOptions {
  CrossAttentionEncoderOptions(int64_t coordDim, int64_t valueDim) : coordDim_(coordDim), valueDim_(valueDim) {}
  TORCH_ARG(int64_t, coordDim);
  TORCH_ARG(int64_t, valueDim);
  TORCH_ARG(int64_t, numTokens) = 16;
  TORCH_ARG(int64_t, tokenDim) = 64;
  TORCH_ARG(int64_t, numHeads) = 4;
  TORCH_ARG(int64_t, numFrequencies) = 8;
  /// Points processed per attention chunk (0: all). Bounds memory for large meshes.
  TORCH_ARG(int64_t, chunkSize) = 0;
};

/// AROMA-style encoder: M learned query tokens cross-attend to the input points. Keys are
/// the points' Fourier position features, values embed position features and field values.
/// Accepts any number of points in any order: the result is invariant to a permutation of
/// the points, and points marked false in `mask` are ignored.
class CrossAttentionEncoderImpl : public torch::nn::Module {
 public:
  explicit CrossAttentionEncoderImpl(CrossAttentionEncoderOptions options);
  /// coords (B, N, coordDim), values (B, N, valueDim), mask (B, N) bool or undefined.
  /// Returns tokens (B, numTokens, tokenDim).
  torch::Tensor forward(const torch::Tensor& coords, const torch::Tensor& values, const torch::Tensor& mask = {});
  /// The attention statistics over these points only; reduce partials over disjoint point
  /// sets (e.g. MPI ranks) with AttentionPartial::merge, then call finishTokens().
  AttentionPartial partial(const torch::Tensor& coords, const torch::Tensor& values, const torch::Tensor& mask = {});
  /// Tokens from the merged statistics of all points (batch size B).
  torch::Tensor finishTokens(const AttentionPartial& merged);
  const CrossAttentionEncoderOptions& options() const { return options_; }

 private:
  CrossAttentionEncoderOptions options_;
  FourierFeatures features_{nullptr};
  torch::Tensor queries_;
  torch::nn::Linear keyEmbed_{nullptr};
  torch::nn::Sequential valueEmbed_{nullptr}, mlp_{nullptr};
  Attention attention_{nullptr};
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
};
TORCH_MODULE(CrossAttentionEncoder);

}  // namespace lats::solvers::neural
