#include "lats/solvers/neural/latent_transformer.hpp"

#include <torch/torch.h>

#include "detail/dynamics_blocks.hpp"
#include "lats/core/error.hpp"

namespace lats::solvers::neural {

void registerLatentTransformer(ComponentRegistry<LatentDynamics, const ModelShape&>& registry) {
  registry.add("deterministic", "transformer of DiT blocks: z_next = z + f(window, parameters), trained by MSE",
               {detail::dynamicsDimSpec(), detail::dynamicsDepthSpec(), headsSpec()},
               [](const ComponentConfig& c, const ModelShape& shape) -> std::shared_ptr<LatentDynamics> {
                 return std::make_shared<LatentTransformerImpl>(LatentTransformerOptions(shape.latentDim)
                                                                    .dim(c.integer("dim"))
                                                                    .depth(c.integer("depth"))
                                                                    .numHeads(c.integer("num_heads"))
                                                                    .numParameters(shape.numParameters)
                                                                    .history(shape.history)
                                                                    .numTokens(shape.numTokens));
               });
}

LatentTransformerImpl::LatentTransformerImpl(LatentTransformerOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  LATS_CHECK(o.history() >= 1 && o.depth() >= 1 && o.numHeads() >= 1 && o.dim() >= 1 && o.dim() % o.numHeads() == 0 &&
                 o.latentDim() >= 1 && o.numParameters() >= 0,
             ConfigurationError,
             "LatentTransformer: need history >= 1, depth >= 1, latentDim >= 1 and dim a multiple of numHeads; got "
             "history "
                 << o.history() << ", depth " << o.depth() << ", latentDim " << o.latentDim() << ", dim " << o.dim()
                 << ", heads " << o.numHeads());
  input_ = register_module("input", torch::nn::Linear(o.latentDim() * o.history(), o.dim()));
  if (o.numTokens() > 0)
    tokenPosition_ = register_parameter("token_position", torch::randn({o.numTokens(), o.dim()}) * 0.02);
  if (o.numParameters() > 0)
    parameterEmbed_ = register_module("parameter_embed", torch::nn::Linear(o.numParameters(), o.dim()));
  blocks_ = register_module("blocks", detail::makeBlocks(o.depth(), o.dim(), o.numHeads()));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim()})));
  output_ = register_module("output", torch::nn::Linear(o.dim(), o.latentDim()));
  torch::NoGradGuard g;
  output_->weight.mul_(0.1);
  output_->bias.zero_();
}

ComponentConfig LatentTransformerImpl::config() const {
  return ComponentConfig(type())
      .set("dim", options_.dim())
      .set("depth", options_.depth())
      .set("num_heads", options_.numHeads());
}

torch::Tensor LatentTransformerImpl::forward(const torch::Tensor& history, const torch::Tensor& parameters) {
  const auto& o = options_;
  torch::Tensor h = history.dim() == 3 ? history.unsqueeze(1) : history;
  LATS_CHECK(h.dim() == 4 && h.size(1) == o.history() && h.size(3) == o.latentDim(), DimensionMismatchError,
             "LatentTransformer: expected (batch, " << o.history() << ", tokens, " << o.latentDim() << "), got "
                                                    << history.sizes());
  detail::checkParameters(parameters, o.numParameters(), h.size(0), "LatentTransformer");
  const auto current = h.select(1, o.history() - 1);
  auto x = detail::addPositions(input_(h.permute({0, 2, 1, 3}).reshape({h.size(0), h.size(2), -1})), tokenPosition_,
                                "LatentTransformer");
  auto condition = torch::zeros({h.size(0), o.dim()}, x.options());
  if (o.numParameters() > 0) condition = condition + parameterEmbed_(parameters);
  x = detail::runBlocks(blocks_, x, condition);
  return current + output_(norm_(x));
}

torch::Tensor LatentTransformerImpl::advance(const torch::Tensor& window, const torch::Tensor& parameters,
                                             const std::vector<std::uint64_t>& /*streams*/, const Guidance* guidance) {
  LATS_CHECK(guidance == nullptr, ModelMismatchError,
             "guided sampling needs a generative dynamics (e.g. -lats_model_dynamics diffusion); this model's "
             "dynamics is deterministic");
  torch::NoGradGuard noGrad;
  return forward(window, parameters);
}

torch::Tensor LatentTransformerImpl::loss(const DynamicsBatch& batch) {
  const std::int64_t U = batch.targets.size(1);
  auto window = batch.window;
  torch::Tensor loss = torch::zeros({}, torch::kFloat32);
  for (std::int64_t u = 0; u < U; ++u) {
    const auto next = forward(window, batch.parameters);
    loss = loss + torch::mse_loss(next, batch.targets.select(1, u)) / static_cast<double>(U);
    window = torch::cat({window.slice(1, 1), next.unsqueeze(1)}, 1);
  }
  return loss;
}

}  // namespace lats::solvers::neural
