#include "lats/solvers/neural/encoder.hpp"

#include <torch/torch.h>

#include <limits>

#include "lats/core/error.hpp"

namespace lats::solvers::neural {

CrossAttentionEncoderImpl::CrossAttentionEncoderImpl(CrossAttentionEncoderOptions options)
    : options_(std::move(options)) {
  const auto& o = options_;
  LATS_CHECK(o.tokenDim() % o.numHeads() == 0, ConfigurationError,
             "CrossAttentionEncoder: tokenDim " << o.tokenDim() << " must be a multiple of numHeads " << o.numHeads());
  features_ = register_module("features", FourierFeatures(FourierFeaturesOptions(o.coordDim(), o.numFrequencies())));
  const int64_t f = features_->outputDim(), d = o.tokenDim();
  queries_ = register_parameter("queries", torch::randn({o.numTokens(), d}) * 0.02);
  keyEmbed_ = register_module("key_embed", torch::nn::Linear(f, d));
  valueEmbed_ = register_module("value_embed", torch::nn::Sequential(torch::nn::Linear(f + o.valueDim(), d),
                                                                     torch::nn::GELU(), torch::nn::Linear(d, d)));
  attention_ = register_module("attention", Attention(AttentionOptions(d, d, o.numHeads(), d / o.numHeads())));
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  mlp_ = register_module(
      "mlp", torch::nn::Sequential(torch::nn::Linear(d, 2 * d), torch::nn::GELU(), torch::nn::Linear(2 * d, d)));
}

AttentionPartial CrossAttentionEncoderImpl::partial(const torch::Tensor& coords, const torch::Tensor& values,
                                                    const torch::Tensor& mask) {
  const auto& o = options_;
  LATS_CHECK(coords.dim() == 3 && coords.size(2) == o.coordDim(), DimensionMismatchError,
             "encoder: coordinates must be (batch, points, " << o.coordDim() << "), got " << coords.sizes());
  LATS_CHECK(values.dim() == 3 && values.size(2) == o.valueDim() && values.size(0) == coords.size(0) &&
                 values.size(1) == coords.size(1),
             DimensionMismatchError,
             "encoder: values must be (" << coords.size(0) << ", " << coords.size(1) << ", " << o.valueDim()
                                         << ") to match the coordinates, got " << values.sizes());
  auto q = queries_.to(coords.dtype()).unsqueeze(0).expand({coords.size(0), -1, -1});
  if (mask.defined())
    LATS_CHECK(mask.dim() == 2 && mask.size(0) == coords.size(0) && mask.size(1) == coords.size(1),
               DimensionMismatchError,
               "encoder: mask must be (batch, points) = (" << coords.size(0) << ", " << coords.size(1) << "), got "
                                                           << mask.sizes());
  // Points are embedded and attended to chunk by chunk (online softmax), so memory stays
  // bounded by the chunk size whatever the number of points.
  const int64_t n = coords.size(1), chunk = o.chunkSize() > 0 ? o.chunkSize() : std::max<int64_t>(n, 1);
  AttentionPartial acc;
  for (int64_t start = 0; start < n || start == 0; start += chunk) {
    const int64_t len = std::min(chunk, n - start);
    auto x = coords.narrow(1, start, len);
    auto ff = features_(x);
    auto keys = keyEmbed_(ff);
    auto vals = valueEmbed_->forward(torch::cat({ff, values.narrow(1, start, len)}, -1));
    torch::Tensor bias;
    if (mask.defined()) {
      auto m = mask.narrow(1, start, len);
      bias = torch::zeros(m.sizes(), coords.options())
                 .masked_fill(m.logical_not(), -std::numeric_limits<double>::infinity())
                 .view({m.size(0), 1, 1, m.size(1)});
    }
    auto p = attention_->partial(q, keys, vals, bias);
    acc = start == 0 ? p : AttentionPartial::merge(acc, p);
    if (n == 0) break;
  }
  return acc;
}

torch::Tensor CrossAttentionEncoderImpl::finishTokens(const AttentionPartial& merged) {
  auto q = queries_.to(merged.weighted.dtype()).unsqueeze(0).expand({merged.weighted.size(0), -1, -1});
  auto x = norm1_(q + attention_->project(merged.finish()));
  return norm2_(x + mlp_->forward(x));
}

torch::Tensor CrossAttentionEncoderImpl::forward(const torch::Tensor& coords, const torch::Tensor& values,
                                                 const torch::Tensor& mask) {
  return finishTokens(partial(coords, values, mask));
}

}  // namespace lats::solvers::neural
