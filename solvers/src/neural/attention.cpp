#include "lats/solvers/neural/attention.hpp"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "lats/core/error.hpp"

namespace lats::solvers::neural {

AttentionPartial AttentionPartial::merge(const AttentionPartial& a, const AttentionPartial& b) {
  auto m = torch::maximum(a.max, b.max);
  // exp(-inf - (-inf)) would be NaN when every key of both parts is masked; keep those at 0.
  auto safe = torch::where(torch::isinf(m), torch::zeros_like(m), m);
  auto wa = torch::exp(a.max - safe), wb = torch::exp(b.max - safe);
  return {m, a.sumExp * wa + b.sumExp * wb, a.weighted * wa + b.weighted * wb};
}

torch::Tensor AttentionPartial::finish() const { return weighted / sumExp; }

AttentionImpl::AttentionImpl(AttentionOptions options) : options_(std::move(options)) {
  auto& o = options_;
  LATS_CHECK(o.numHeads() >= 1 && o.headDim() >= 1 && o.queryDim() >= 1 && o.keyDim() >= 1, ConfigurationError,
             "Attention needs positive dimensions and heads, got queryDim "
                 << o.queryDim() << ", keyDim " << o.keyDim() << ", heads " << o.numHeads() << ", headDim "
                 << o.headDim());
  if (o.valueDim() == 0) o.valueDim(o.keyDim());
  if (o.outputDim() == 0) o.outputDim(o.queryDim());
  const int64_t inner = o.numHeads() * o.headDim();
  toQ_ = register_module("to_q", torch::nn::Linear(torch::nn::LinearOptions(o.queryDim(), inner).bias(false)));
  toK_ = register_module("to_k", torch::nn::Linear(torch::nn::LinearOptions(o.keyDim(), inner).bias(false)));
  toV_ = register_module("to_v", torch::nn::Linear(torch::nn::LinearOptions(o.valueDim(), inner).bias(false)));
  toOut_ = register_module("to_out", torch::nn::Linear(inner, o.outputDim()));
}

namespace {
// (B, N, H*Dh) -> (B, H, N, Dh)
torch::Tensor splitHeads(const torch::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, -1}).transpose(1, 2);
}
}  // namespace

AttentionPartial AttentionImpl::partial(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                        const torch::Tensor& bias) {
  const auto& o = options_;
  LATS_CHECK(q.dim() == 3 && q.size(2) == o.queryDim(), DimensionMismatchError,
             "Attention: queries must be (batch, n, " << o.queryDim() << "), got " << q.sizes());
  LATS_CHECK(k.dim() == 3 && k.size(2) == o.keyDim() && k.size(0) == q.size(0), DimensionMismatchError,
             "Attention: keys must be (" << q.size(0) << ", n, " << o.keyDim() << "), got " << k.sizes());
  LATS_CHECK(v.dim() == 3 && v.size(2) == o.valueDim() && v.size(1) == k.size(1) && v.size(0) == k.size(0),
             DimensionMismatchError,
             "Attention: values must be (" << k.size(0) << ", " << k.size(1) << ", " << o.valueDim() << "), got "
                                           << v.sizes());
  const int64_t H = o.numHeads(), nk = k.size(1);
  LATS_CHECK(nk >= 1, DimensionMismatchError, "Attention: at least one key is needed, got " << k.sizes());
  const double scale = 1.0 / std::sqrt(static_cast<double>(o.headDim()));
  auto qh = splitHeads(toQ_(q), H) * scale;  // (B, H, Nq, Dh)
  const int64_t chunk = o.chunkSize() > 0 ? o.chunkSize() : nk;
  AttentionPartial acc;
  bool first = true;
  for (int64_t start = 0; start < nk; start += chunk) {
    const int64_t len = std::min(chunk, nk - start);
    auto kc = k.narrow(1, start, len), vc = v.narrow(1, start, len);
    auto logits = torch::matmul(qh, splitHeads(toK_(kc), H).transpose(-2, -1));  // (B, H, Nq, len)
    if (bias.defined()) {
      auto b = bias.size(-1) == nk ? bias.narrow(-1, start, len) : bias;
      logits = logits + b;
    }
    AttentionPartial p;
    p.max = std::get<0>(logits.max(-1, true));
    auto safe = torch::where(torch::isinf(p.max), torch::zeros_like(p.max), p.max);
    auto e = torch::exp(logits - safe);
    p.sumExp = e.sum(-1, true);
    p.weighted = torch::matmul(e, splitHeads(toV_(vc), H));
    acc = first ? p : AttentionPartial::merge(acc, p);
    first = false;
  }
  return acc;
}

torch::Tensor AttentionImpl::project(const torch::Tensor& heads) {
  // (B, H, Nq, Dh) -> (B, Nq, H*Dh) -> output
  auto x = heads.transpose(1, 2).contiguous();
  return toOut_(x.view({x.size(0), x.size(1), -1}));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     const torch::Tensor& bias) {
  return project(partial(q, k, v, bias).finish());
}

SelfAttentionBlockImpl::SelfAttentionBlockImpl(SelfAttentionBlockOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  LATS_CHECK(o.dim() >= 1 && o.numHeads() >= 1 && o.dim() % o.numHeads() == 0 && o.mlpRatio() > 0, ConfigurationError,
             "SelfAttentionBlock: dim " << o.dim() << " must be a positive multiple of numHeads " << o.numHeads()
                                        << " and mlpRatio positive, got " << o.mlpRatio());
  const int64_t d = o.dim(), hidden = static_cast<int64_t>(o.mlpRatio() * static_cast<double>(d));
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  attention_ = register_module("attention", Attention(AttentionOptions(d, d, o.numHeads(), d / o.numHeads())));
  mlp_ = register_module(
      "mlp", torch::nn::Sequential(torch::nn::Linear(d, hidden), torch::nn::GELU(), torch::nn::Linear(hidden, d)));
}

torch::Tensor SelfAttentionBlockImpl::forward(const torch::Tensor& x) {
  LATS_CHECK(x.dim() == 3 && x.size(2) == options_.dim(), DimensionMismatchError,
             "SelfAttentionBlock: input must be (batch, tokens, " << options_.dim() << "), got " << x.sizes());
  auto n = norm1_(x);
  auto y = x + attention_(n, n, n);
  return y + mlp_->forward(norm2_(y));
}

}  // namespace lats::solvers::neural
