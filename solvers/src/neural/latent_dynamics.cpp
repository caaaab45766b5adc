#include "lats/solvers/neural/latent_dynamics.hpp"

#include <torch/torch.h>

#include "detail/dynamics_blocks.hpp"
#include "detail/torchscript_module.hpp"
#include "lats/core/random.hpp"
#include "lats/solvers/neural/diffusion_refiner.hpp"
#include "lats/solvers/neural/latent_transformer.hpp"

namespace lats::solvers::neural {

namespace detail {
const HyperSpec& dynamicsDimSpec() {
  static const HyperSpec spec =
      declareHyper({"dim", "model_dynamics_dim", std::int64_t{64}, "model: width of the latent dynamics", 2, 8192});
  return spec;
}
const HyperSpec& dynamicsDepthSpec() {
  static const HyperSpec spec = declareHyper(
      {"depth", "model_dynamics_depth", std::int64_t{4}, "model: transformer blocks of the latent dynamics", 1, 256});
  return spec;
}
}  // namespace detail

namespace {
[[maybe_unused]] const HyperSpec& kDim = detail::dynamicsDimSpec();
[[maybe_unused]] const HyperSpec& kDepth = detail::dynamicsDepthSpec();
}  // namespace

LatentDynamics::~LatentDynamics() = default;

std::uint64_t memberStream(std::uint64_t seed, std::int64_t member, std::int64_t step) {
  return SplitMix64(seed, static_cast<std::uint64_t>(member) * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(step))
      .next();
}

ComponentRegistry<LatentDynamics, const ModelShape&>& latentDynamics() {
  static ComponentRegistry<LatentDynamics, const ModelShape&> registry = [] {
    ComponentRegistry<LatentDynamics, const ModelShape&> r("latent dynamics");
    registerLatentTransformer(r);
    registerDiffusionRefiner(r);
    detail::registerTorchScriptDynamics(r);
    return r;
  }();
  return registry;
}

}  // namespace lats::solvers::neural
