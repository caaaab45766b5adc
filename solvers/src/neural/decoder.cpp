#include "lats/solvers/neural/decoder.hpp"

#include <torch/torch.h>

#include "detail/torchscript_module.hpp"
#include "lats/core/error.hpp"

namespace lats::solvers::neural {
namespace {

const HyperSpec kHidden =
    declareHyper({"hidden", "model_decoder_hidden", std::int64_t{64}, "model: hidden width of the decoder", 1, 4096});
const HyperSpec kDepth = declareHyper({"depth", "model_decoder_depth", std::int64_t{0},
                                       "model: self-attention blocks over the latent tokens in the decoder (0: none)",
                                       0, 64, false, HyperValue{std::int64_t{0}}});
const HyperSpec kChunk = [] {
  HyperSpec s{"chunk",
              "model_decoder_chunk",
              std::int64_t{0},
              "model: query points the decoder answers per chunk (0: all; bounds memory, same result)",
              0,
              1e12};
  s.runtime = true;
  return declareHyper(s);
}();

}  // namespace

Decoder::~Decoder() = default;

ComponentRegistry<Decoder, const ModelShape&>& decoders() {
  static ComponentRegistry<Decoder, const ModelShape&> registry = [] {
    ComponentRegistry<Decoder, const ModelShape&> r("decoder");
    detail::registerTorchScriptDecoder(r);
    r.add("local_field", "AROMA: query points' Fourier features attend to the (embedded) tokens, an MLP gives values",
          {kHidden, kDepth, headsSpec(), frequenciesSpec(), kChunk},
          [](const ComponentConfig& c, const ModelShape& shape) -> std::shared_ptr<Decoder> {
            return std::make_shared<LocalFieldDecoderImpl>(
                LocalFieldDecoderOptions(shape.spatialDim, shape.latentDim, shape.numComponents)
                    .hiddenDim(c.integer("hidden"))
                    .depth(c.integer("depth"))
                    .numHeads(c.integer("num_heads"))
                    .numFrequencies(c.integer("num_frequencies"))
                    .chunkSize(c.integer("chunk")));
          });
    return r;
  }();
  return registry;
}

ComponentConfig LocalFieldDecoderImpl::config() const {
  const auto& o = options_;
  return ComponentConfig(type())
      .set("hidden", o.hiddenDim())
      .set("depth", o.depth())
      .set("num_heads", o.numHeads())
      .set("num_frequencies", o.numFrequencies())
      .set("chunk", o.chunkSize());
}

LocalFieldDecoderImpl::LocalFieldDecoderImpl(LocalFieldDecoderOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  LATS_CHECK(o.numHeads() >= 1 && o.hiddenDim() >= 1 && o.hiddenDim() % o.numHeads() == 0, ConfigurationError,
             "LocalFieldDecoder: hiddenDim " << o.hiddenDim() << " must be a positive multiple of numHeads "
                                             << o.numHeads() << " (>= 1)");
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
