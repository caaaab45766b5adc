#pragma once
/// \file attention.hpp
/// Multi-head attention with an optional additive bias on the logits, computed in chunks of
/// keys with an online (streaming) softmax so that memory stays bounded for any number of
/// points. The partial results (running max, sum of exponentials, weighted values) are
/// exposed so that attention over points distributed across MPI ranks can be reduced exactly.

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace lats::solvers::neural {

struct AttentionOptions {
  AttentionOptions(int64_t queryDim, int64_t keyDim, int64_t numHeads, int64_t headDim)
      : queryDim_(queryDim), keyDim_(keyDim), numHeads_(numHeads), headDim_(headDim) {}
  TORCH_ARG(int64_t, queryDim);
  TORCH_ARG(int64_t, keyDim);
  /// Dimension of the value inputs; 0 means keyDim.
  TORCH_ARG(int64_t, valueDim) = 0;
  TORCH_ARG(int64_t, numHeads);
  TORCH_ARG(int64_t, headDim);
  /// Output dimension; 0 means queryDim.
  TORCH_ARG(int64_t, outputDim) = 0;
  /// Keys processed per chunk (0: all at once). Results do not depend on it.
  TORCH_ARG(int64_t, chunkSize) = 0;
};

/// Softmax statistics of attention over a subset of keys, per (batch, head, query).
/// Two partials over disjoint key sets merge exactly (merge()); finish() normalises.
struct AttentionPartial {
  torch::Tensor max;       ///< (B, H, Nq, 1) running max of the logits
  torch::Tensor sumExp;    ///< (B, H, Nq, 1) sum of exp(logit - max)
  torch::Tensor weighted;  ///< (B, H, Nq, headDim) sum of exp(logit - max) * value
  static AttentionPartial merge(const AttentionPartial& a, const AttentionPartial& b);
  /// (B, H, Nq, headDim) attention output.
  torch::Tensor finish() const;
};

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(AttentionOptions options);
  /// q (B, Nq, queryDim), k (B, Nk, keyDim), v (B, Nk, valueDim); bias broadcastable to
  /// (B, H, Nq, Nk), added to the scaled logits (-inf masks a key). Returns (B, Nq, outputDim).
  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& bias = {});
  /// The softmax statistics over these keys only (for reductions across key sets or ranks).
  AttentionPartial partial(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                           const torch::Tensor& bias = {});
  /// Output projection of a finished (B, H, Nq, headDim) result: (B, Nq, outputDim).
  torch::Tensor project(const torch::Tensor& heads);
  const AttentionOptions& options() const { return options_; }

 private:
  AttentionOptions options_;
  torch::nn::Linear toQ_{nullptr}, toK_{nullptr}, toV_{nullptr}, toOut_{nullptr};
};
TORCH_MODULE(Attention);

struct SelfAttentionBlockOptions {
  explicit SelfAttentionBlockOptions(int64_t dim) : dim_(dim) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, numHeads) = 4;
  TORCH_ARG(double, mlpRatio) = 4.0;
};

/// Pre-norm transformer block over a set of tokens:
/// x <- x + Attn(LN(x)), x <- x + MLP(LN(x)).
class SelfAttentionBlockImpl : public torch::nn::Module {
 public:
  explicit SelfAttentionBlockImpl(SelfAttentionBlockOptions options);
  /// x (B, N, dim) -> (B, N, dim).
  torch::Tensor forward(const torch::Tensor& x);
  const SelfAttentionBlockOptions& options() const { return options_; }

 private:
  SelfAttentionBlockOptions options_;
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  Attention attention_{nullptr};
  torch::nn::Sequential mlp_{nullptr};
};
TORCH_MODULE(SelfAttentionBlock);

}  // namespace lats::solvers::neural
