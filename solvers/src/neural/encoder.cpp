#include "lats/solvers/neural/encoder.hpp"

#include <torch/torch.h>

#include <limits>

#include "detail/torchscript_module.hpp"
#include "lats/core/error.hpp"

namespace lats::solvers::neural {
namespace {

const HyperSpec kTokens =
    declareHyper({"num_tokens", "model_tokens", std::int64_t{16}, "model: number of latent tokens", 1, 4096});
const HyperSpec kTokenDim =
    declareHyper({"token_dim", "model_token_dim", std::int64_t{64}, "model: width of the encoder tokens", 1, 4096});
const HyperSpec kChunk = [] {
  HyperSpec s{"chunk",
              "model_encoder_chunk",
              std::int64_t{0},
              "model: points the encoder attends to per chunk (0: all; bounds memory, same result)",
              0,
              1e12};
  s.runtime = true;
  return declareHyper(s);
}();

}  // namespace

Encoder::~Encoder() = default;

EncoderPartial EncoderPartial::merge(const EncoderPartial& a, const EncoderPartial& b) {
  LATS_CHECK(
      a.attention.size() == b.attention.size() && a.sums.size() == b.sums.size() && a.points.size() == b.points.size(),
      DimensionMismatchError,
      "encoder statistics of different layouts cannot be merged ("
          << a.attention.size() << "+" << a.sums.size() << "+" << a.points.size() << " vs " << b.attention.size() << "+"
          << b.sums.size() << "+" << b.points.size() << " tensors)");
  EncoderPartial out;
  for (std::size_t i = 0; i < a.attention.size(); ++i)
    out.attention.push_back(AttentionPartial::merge(a.attention[i], b.attention[i]));
  for (std::size_t i = 0; i < a.sums.size(); ++i) out.sums.push_back(a.sums[i] + b.sums[i]);
  for (std::size_t i = 0; i < a.points.size(); ++i) out.points.push_back(torch::cat({a.points[i], b.points[i]}, 1));
  return out;
}

ComponentRegistry<Encoder, const ModelShape&>& encoders() {
  static ComponentRegistry<Encoder, const ModelShape&> registry = [] {
    ComponentRegistry<Encoder, const ModelShape&> r("encoder");
    detail::registerTorchScriptEncoder(r);
    r.add("cross_attention", "AROMA: learned query tokens cross-attend to the points' Fourier features and values",
          {kTokens, kTokenDim, headsSpec(), frequenciesSpec(), kChunk},
          [](const ComponentConfig& c, const ModelShape& shape) -> std::shared_ptr<Encoder> {
            return std::make_shared<CrossAttentionEncoderImpl>(
                CrossAttentionEncoderOptions(shape.spatialDim, shape.numComponents)
                    .numTokens(c.integer("num_tokens"))
                    .tokenDim(c.integer("token_dim"))
                    .numHeads(c.integer("num_heads"))
                    .numFrequencies(c.integer("num_frequencies"))
                    .chunkSize(c.integer("chunk")));
          });
    return r;
  }();
  return registry;
}

CrossAttentionEncoderImpl::CrossAttentionEncoderImpl(CrossAttentionEncoderOptions options)
    : options_(std::move(options)) {
  const auto& o = options_;
  LATS_CHECK(o.numHeads() >= 1 && o.numTokens() >= 1 && o.tokenDim() >= 1 && o.tokenDim() % o.numHeads() == 0,
             ConfigurationError,
             "CrossAttentionEncoder: need numTokens >= 1, numHeads >= 1 and tokenDim a multiple of numHeads; got "
                 << o.numTokens() << " tokens, tokenDim " << o.tokenDim() << ", " << o.numHeads() << " heads");
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

ComponentConfig CrossAttentionEncoderImpl::config() const {
  const auto& o = options_;
  return ComponentConfig(type())
      .set("num_tokens", o.numTokens())
      .set("token_dim", o.tokenDim())
      .set("num_heads", o.numHeads())
      .set("num_frequencies", o.numFrequencies())
      .set("chunk", o.chunkSize());
}

EncoderPartial CrossAttentionEncoderImpl::emptyPartial(std::int64_t batch, const torch::TensorOptions& options) {
  const auto& o = options_;
  const int64_t H = o.numHeads(), M = o.numTokens(), Dh = o.tokenDim() / o.numHeads();
  AttentionPartial p;
  p.max = torch::full({batch, H, M, 1}, -std::numeric_limits<double>::infinity(), options);
  p.sumExp = torch::zeros({batch, H, M, 1}, options);
  p.weighted = torch::zeros({batch, H, M, Dh}, options);
  return EncoderPartial{{p}, {}, {}};
}

EncoderPartial CrossAttentionEncoderImpl::partial(const torch::Tensor& coords, const torch::Tensor& values,
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
  return EncoderPartial{{acc}, {}, {}};
}

torch::Tensor CrossAttentionEncoderImpl::finish(const EncoderPartial& merged) {
  LATS_CHECK(merged.attention.size() == 1 && merged.sums.empty(), DimensionMismatchError,
             "cross_attention encoder: expected the statistics of one attention, got "
                 << merged.attention.size() << " attention and " << merged.sums.size() << " sum tensors");
  const auto& a = merged.attention[0];
  auto q = queries_.to(a.weighted.dtype()).unsqueeze(0).expand({a.weighted.size(0), -1, -1});
  auto x = norm1_(q + attention_->project(a.finish()));
  return norm2_(x + mlp_->forward(x));
}

}  // namespace lats::solvers::neural
