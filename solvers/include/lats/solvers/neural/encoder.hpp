#pragma once
/// \file encoder.hpp
/// Encoders from irregular points (coordinates + values) to a fixed set of latent tokens:
/// the Encoder interface with its distributed-encoding protocol, the registry, and AROMA's
/// cross-attention encoder ("cross_attention").

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <vector>

#include "lats/solvers/neural/attention.hpp"
#include "lats/solvers/neural/component.hpp"
#include "lats/solvers/neural/fourier_features.hpp"

namespace lats::solvers::neural {

/// What an encoder has seen of a subset of the points, in a form that combines exactly over
/// disjoint subsets (MPI ranks, chunks): softmax statistics of attention over points (the
/// running maximum and the sums it scales) and plain sums (e.g. continuous convolutions).
struct EncoderPartial {
  std::vector<AttentionPartial> attention;
  std::vector<torch::Tensor> sums;
  /// The points themselves (e.g. coordinates (B, n, d) and values (B, n, c)), for encoders
  /// that need every point at once (an imported TorchScript module): concatenated along the
  /// point dimension (1) by merge() and gathered from every rank by allReduce(), in rank order.
  std::vector<torch::Tensor> points;
  /// The statistics of the union of two disjoint point sets with the same layout.
  static EncoderPartial merge(const EncoderPartial& a, const EncoderPartial& b);
};

/// Points -> tokens. Every encoder splits its work into partial() over any subset of the
/// points and finish() over the merged statistics, so that a mesh partitioned over ranks
/// encodes exactly like one rank holding every point (encodeDistributed in distributed.hpp).
class Encoder : public torch::nn::Module {
 public:
  ~Encoder() override;
  virtual std::string type() const = 0;
  /// Type and hyper-parameters, as written to model.json.
  virtual ComponentConfig config() const = 0;
  virtual std::int64_t numTokens() const = 0;
  /// Width of the tokens finish() returns.
  virtual std::int64_t tokenDim() const = 0;
  /// Whether the tokens pass through the model's variational bottleneck (false: finish()
  /// returns the latent state itself and tokenDim() is the latent dimension).
  virtual bool variational() const { return true; }
  /// Whether LaTS can train it (false: an imported module, trained elsewhere).
  virtual bool trainable() const { return true; }
  /// coords (B, N, spatialDim), values (B, N, components), mask (B, N) bool or undefined
  /// (false: ignored). Statistics of these points only.
  virtual EncoderPartial partial(const torch::Tensor& coords, const torch::Tensor& values,
                                 const torch::Tensor& mask = {}) = 0;
  /// The statistics of no points (a rank that owns none; the identity of merge) for batch B.
  virtual EncoderPartial emptyPartial(std::int64_t batch, const torch::TensorOptions& options) = 0;
  /// Tokens (B, numTokens, tokenDim) from the merged statistics of all points.
  virtual torch::Tensor finish(const EncoderPartial& merged) = 0;
  /// Points processed per chunk (0: all): bounds memory, the result does not depend on it.
  virtual void setChunkSize(std::int64_t points) = 0;
  /// finish(partial(...)): the tokens of these points.
  torch::Tensor forward(const torch::Tensor& coords, const torch::Tensor& values, const torch::Tensor& mask = {}) {
    return finish(partial(coords, values, mask));
  }
};

/// Encoders by name: factories take the configuration and the model's shape (spatialDim,
/// numComponents).
ComponentRegistry<Encoder, const ModelShape&>& encoders();

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
class CrossAttentionEncoderImpl : public Encoder {
 public:
  explicit CrossAttentionEncoderImpl(CrossAttentionEncoderOptions options);
  std::string type() const override { return "cross_attention"; }
  ComponentConfig config() const override;
  std::int64_t numTokens() const override { return options_.numTokens(); }
  std::int64_t tokenDim() const override { return options_.tokenDim(); }
  EncoderPartial partial(const torch::Tensor& coords, const torch::Tensor& values,
                         const torch::Tensor& mask = {}) override;
  EncoderPartial emptyPartial(std::int64_t batch, const torch::TensorOptions& options) override;
  torch::Tensor finish(const EncoderPartial& merged) override;
  void setChunkSize(std::int64_t points) override { options_.chunkSize(points); }
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
