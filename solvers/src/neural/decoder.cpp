#include "lats/solvers/neural/decoder.hpp"

#include <torch/torch.h>

#include "lats/core/error.hpp"

namespace lats::solvers::neural {

LocalFieldDecoderImpl::LocalFieldDecoderImpl(LocalFieldDecoderOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  LATS_CHECK(o.hiddenDim() % o.numHeads() == 0, ConfigurationError,
             "LocalFieldDecoder: hiddenDim " << o.hiddenDim() << " must be a multiple of numHeads " << o.numHeads());
  features_ = register_module("features", FourierFeatures(FourierFeaturesOptions(o.coordDim(), o.numFrequencies())));
  const int64_t f = features_->outputDim(), d = o.hiddenDim();
  LATS_CHECK(o.depth() >= 0, ConfigurationError, "LocalFieldDecoder: depth must be >= 0, got " << o.depth());
  tokenEmbed_ = register_module("token_embed", torch::nn::Linear(o.latentDim(), d));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.depth(); ++i)
    blocks_->push_back(SelfAttentionBlock(SelfAttentionBlockOptions(d).numHeads(o.numHeads())));
  queryEmbed_ = register_module("query_embed", torch::nn::Linear(f, d));
  attention_ = register_module("attention", Attention(AttentionOptions(d, d, o.numHeads(), d / o.numHeads())));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  head_ = register_module("head",
                          torch::nn::Sequential(torch::nn::Linear(d + f, d), torch::nn::GELU(), torch::nn::Linear(d, d),
                                                torch::nn::GELU(), torch::nn::Linear(d, o.outputDim())));
}

torch::Tensor LocalFieldDecoderImpl::forward(const torch::Tensor& tokens, const torch::Tensor& coords) {
  const auto& o = options_;
  LATS_CHECK(tokens.dim() == 3 && tokens.size(2) == o.latentDim(), DimensionMismatchError,
             "decoder: tokens must be (batch, tokens, " << o.latentDim() << "), got " << tokens.sizes());
  LATS_CHECK(coords.dim() == 3 && coords.size(2) == o.coordDim() && coords.size(0) == tokens.size(0),
             DimensionMismatchError,
             "decoder: query coordinates must be (" << tokens.size(0) << ", points, " << o.coordDim() << "), got "
                                                    << coords.sizes());
  auto kv = tokenEmbed_(tokens);
  for (const auto& block : *blocks_) kv = block->as<SelfAttentionBlockImpl>()->forward(kv);
  auto decodeChunk = [&](const torch::Tensor& x) {
    auto ff = features_(x);
    auto q = queryEmbed_(ff);
    auto local = norm_(q + attention_(q, kv, kv));
    return head_->forward(torch::cat({local, ff}, -1));
  };
  const int64_t n = coords.size(1), chunk = o.chunkSize() > 0 ? o.chunkSize() : std::max<int64_t>(n, 1);
  if (n <= chunk) return decodeChunk(coords);
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < n; start += chunk)
    parts.push_back(decodeChunk(coords.narrow(1, start, std::min(chunk, n - start))));
  return torch::cat(parts, 1);
}

}  // namespace lats::solvers::neural
