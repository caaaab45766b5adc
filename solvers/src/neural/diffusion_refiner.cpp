#include "lats/solvers/neural/diffusion_refiner.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <torch/torch.h>

#include <cmath>

#include "detail/dynamics_blocks.hpp"
#include "lats/core/error.hpp"

namespace lats::solvers::neural {
namespace {

const HyperSpec kRefinementSteps = declareHyper({"refinement_steps", "model_refinement_steps", std::int64_t{3},
                                                 "model: denoising steps of the diffusion refiner", 1, 1000});
const HyperSpec kSigmaMin = declareHyper(
    {"sigma_min", "model_sigma_min", 1e-2, "model: minimum noise level of the diffusion refiner", 1e-8, 0.999});
const HyperSpec kConditioning = declareHyper(
    {"conditioning", "model_conditioning", std::int64_t{0},
     "model: latent states of the window that condition the diffusion refiner (0: the whole window)", 0, 64});
const HyperSpec kSampler = declareHyper({"sampler", "model_sampler", std::string("refine"),
                                         "model: sampler of the diffusion dynamics (refine, euler, heun, midpoint)"});
const HyperSpec kTarget = [] {
  HyperSpec s;
  s.key = "target";
  s.option = "model_refiner_target";
  s.defaultValue = std::string("state");
  s.help =
      "model: what the diffusion refiner generates: state (the next latent state) or increment (next minus the "
      "window's last state, as AROMA does for Burgers)";
  s.legacyDefault = std::string("state");  // checkpoints written before the choice existed
  return declareHyper(s);
}();

double sigmaAt(double level, int steps, double sigmaMin) { return std::pow(sigmaMin, level / steps); }
double alphaAt(double sigma) { return std::sqrt(std::max(0.0, 1.0 - sigma * sigma)); }

/// The refiner seen by a sampler: levels 0..K, x0 = alpha x - sigma v(x, level).
class RefinerDenoiser final : public Denoiser {
 public:
  RefinerDenoiser(DiffusionRefinerImpl& model, torch::Tensor conditioning, torch::Tensor parameters)
      : model_(model), conditioning_(std::move(conditioning)), parameters_(std::move(parameters)) {}
  std::vector<double> levels() const override {
    std::vector<double> out;
    for (int k = 0; k <= model_.schedule().steps(); ++k) out.push_back(static_cast<double>(k));
    return out;
  }
  double sigma(double level) const override {
    return sigmaAt(level, model_.schedule().steps(), model_.options().sigmaMin());
  }
  double alpha(double level) const override { return alphaAt(sigma(level)); }
  torch::Tensor denoise(const torch::Tensor& x, double level) override {
    const auto k = torch::full({x.size(0)}, level, torch::TensorOptions().dtype(torch::kFloat64));
    return alpha(level) * x - sigma(level) * model_.predictV(x, k, conditioning_, parameters_);
  }

 private:
  DiffusionRefinerImpl& model_;
  torch::Tensor conditioning_, parameters_;
};

}  // namespace

NoiseSchedule NoiseSchedule::minimumNoise(int steps, double sigmaMin) {
  LATS_CHECK(steps >= 1 && sigmaMin > 0.0 && sigmaMin < 1.0, ConfigurationError,
             "noise schedule: need steps >= 1 and 0 < sigmaMin < 1, got " << steps << " and " << sigmaMin);
  NoiseSchedule s;
  for (int k = 0; k <= steps; ++k) {
    const double sigma = sigmaAt(static_cast<double>(k), steps, sigmaMin);
    s.sigma.push_back(sigma);
    s.alpha.push_back(alphaAt(sigma));
  }
  return s;
}

void registerDiffusionRefiner(ComponentRegistry<LatentDynamics, const ModelShape&>& registry) {
  registry.add("diffusion",
               "AROMA's conditional diffusion refiner over the next state given the window (v-prediction, "
               "minimum-noise levels), sampled per member by -lats_model_sampler",
               {detail::dynamicsDimSpec(), detail::dynamicsDepthSpec(), headsSpec(), kRefinementSteps, kSigmaMin,
                kConditioning, kSampler, kTarget},
               [](const ComponentConfig& c, const ModelShape& shape) -> std::shared_ptr<LatentDynamics> {
                 return std::make_shared<DiffusionRefinerImpl>(DiffusionRefinerOptions(shape.latentDim)
                                                                   .dim(c.integer("dim"))
                                                                   .depth(c.integer("depth"))
                                                                   .numHeads(c.integer("num_heads"))
                                                                   .numParameters(shape.numParameters)
                                                                   .refinementSteps(c.integer("refinement_steps"))
                                                                   .sigmaMin(c.real("sigma_min"))
                                                                   .numTokens(shape.numTokens)
                                                                   .history(shape.history)
                                                                   .conditioning(c.integer("conditioning"))
                                                                   .sampler(c.text("sampler"))
                                                                   .target(c.text("target")));
               });
}

DiffusionRefinerImpl::DiffusionRefinerImpl(DiffusionRefinerOptions options)
    : options_(std::move(options)),
      schedule_(NoiseSchedule::minimumNoise(static_cast<int>(options_.refinementSteps()), options_.sigmaMin())) {
  const auto& o = options_;
  LATS_CHECK(o.depth() >= 1 && o.numHeads() >= 1 && o.dim() >= 2 && o.dim() % o.numHeads() == 0 && o.dim() % 2 == 0 &&
                 o.latentDim() >= 1 && o.numParameters() >= 0,
             ConfigurationError,
             "DiffusionRefiner: need depth >= 1, latentDim >= 1 and an even dim that is a multiple of numHeads; got "
             "depth "
                 << o.depth() << ", latentDim " << o.latentDim() << ", dim " << o.dim() << ", heads " << o.numHeads());
  LATS_CHECK(o.history() >= 1 && o.conditioning() >= 0 && o.conditioning() <= o.history(), ConfigurationError,
             "DiffusionRefiner: conditioning on " << o.conditioning() << " states of a window of " << o.history()
                                                  << "; give 0 (the whole window) up to the history");
  LATS_CHECK(o.target() == "state" || o.target() == "increment", ConfigurationError,
             "DiffusionRefiner: target '" << o.target()
                                          << "' is unknown; give state or increment (-lats_model_refiner_target)");
  sampler_ = samplers().create(o.sampler());
  input_ = register_module("input", torch::nn::Linear((1 + conditioningStates()) * o.latentDim(), o.dim()));
  if (o.numTokens() > 0)
    tokenPosition_ = register_parameter("token_position", torch::randn({o.numTokens(), o.dim()}) * 0.02);
  levelEmbed_ = register_module("level_embed", torch::nn::Linear(o.dim(), o.dim()));
  if (o.numParameters() > 0)
    parameterEmbed_ = register_module("parameter_embed", torch::nn::Linear(o.numParameters(), o.dim()));
  blocks_ = register_module("blocks", detail::makeBlocks(o.depth(), o.dim(), o.numHeads()));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim()})));
  output_ = register_module("output", torch::nn::Linear(o.dim(), o.latentDim()));
}

std::int64_t DiffusionRefinerImpl::conditioningStates() const {
  return options_.conditioning() > 0 ? options_.conditioning() : options_.history();
}

ComponentConfig DiffusionRefinerImpl::config() const {
  const auto& o = options_;
  return ComponentConfig(type())
      .set("dim", o.dim())
      .set("depth", o.depth())
      .set("num_heads", o.numHeads())
      .set("refinement_steps", o.refinementSteps())
      .set("sigma_min", o.sigmaMin())
      .set("conditioning", o.conditioning())
      .set("sampler", o.sampler())
      .set("target", o.target());
}

torch::Tensor DiffusionRefinerImpl::predictV(const torch::Tensor& xk, const torch::Tensor& k,
                                             const torch::Tensor& conditioning, const torch::Tensor& parameters) {
  const auto& o = options_;
  const std::int64_t c = conditioningStates();
  const auto cond = conditioning.dim() == 3 ? conditioning.unsqueeze(1) : conditioning;
  LATS_CHECK(xk.dim() == 3 && xk.size(2) == o.latentDim() && cond.dim() == 4 && cond.size(1) == c &&
                 cond.select(1, 0).sizes() == xk.sizes(),
             DimensionMismatchError,
             "DiffusionRefiner: the noisy state must be (batch, tokens, "
                 << o.latentDim() << ") and the conditioning (batch, " << c << ", tokens, " << o.latentDim()
                 << "); got " << xk.sizes() << " and " << conditioning.sizes());
  LATS_CHECK(k.dim() == 1 && k.size(0) == xk.size(0), DimensionMismatchError,
             "DiffusionRefiner: expected one noise level per batch entry, got " << k.sizes());
  detail::checkParameters(parameters, o.numParameters(), xk.size(0), "DiffusionRefiner");
  std::vector<torch::Tensor> inputs{xk};
  for (std::int64_t j = 0; j < c; ++j) inputs.push_back(cond.select(1, j));
  auto x = detail::addPositions(input_(torch::cat(inputs, -1)), tokenPosition_, "DiffusionRefiner");
  // Levels are embedded on a 0..1000 scale like DDPM time steps.
  auto level = k.to(x.dtype()) * (1000.0 / std::max<int64_t>(1, o.refinementSteps()));
  auto condition = levelEmbed_(sinusoidalEmbedding(level, o.dim()).to(x.dtype()));
  if (o.numParameters() > 0) condition = condition + parameterEmbed_(parameters);
  x = detail::runBlocks(blocks_, x, torch::silu(condition));
  return output_(norm_(x));
}

torch::Tensor DiffusionRefinerImpl::loss(const DynamicsBatch& batch) {
  const std::int64_t B = batch.globalBatch, b = batch.window.size(0);
  const auto last = batch.window.select(1, batch.window.size(1) - 1);
  const auto next = increment() ? batch.targets.select(1, 0) - last : batch.targets.select(1, 0);
  // Draws for the global batch, then this slice of them.
  const auto levels = at::randint(0, schedule_.steps() + 1, {B}, batch.generator, at::TensorOptions().dtype(at::kLong))
                          .slice(0, batch.begin, batch.begin + b);
  const auto noise =
      at::randn({B, next.size(1), next.size(2)}, batch.generator, at::TensorOptions().dtype(next.scalar_type()))
          .slice(0, batch.begin, batch.begin + b);
  auto alpha = torch::tensor(schedule_.alpha, next.options()).index_select(0, levels).view({b, 1, 1});
  auto sigma = torch::tensor(schedule_.sigma, next.options()).index_select(0, levels).view({b, 1, 1});
  auto xk = alpha * next + sigma * noise;
  auto target = alpha * noise - sigma * next;
  const auto cond = batch.window.slice(1, batch.window.size(1) - conditioningStates());
  return torch::mse_loss(predictV(xk, levels, cond, batch.parameters), target);
}

torch::Tensor DiffusionRefinerImpl::advance(const torch::Tensor& window, const torch::Tensor& parameters,
                                            const std::vector<std::uint64_t>& streams, const Guidance* guidance) {
  const auto& o = options_;
  LATS_CHECK(window.dim() == 4 && window.size(1) == o.history() && window.size(3) == o.latentDim(),
             DimensionMismatchError,
             "DiffusionRefiner: expected a window (batch, " << o.history() << ", tokens, " << o.latentDim() << "), got "
                                                            << window.sizes());
  const std::int64_t B = window.size(0);
  LATS_CHECK(static_cast<std::int64_t>(streams.size()) == B, DimensionMismatchError,
             "DiffusionRefiner: " << streams.size() << " random streams for " << B << " batch entries");
  detail::checkParameters(parameters, o.numParameters(), B, "DiffusionRefiner");
  std::optional<c10::InferenceMode> inference;
  if (!guidance) inference.emplace();
  const auto cond = window.slice(1, o.history() - conditioningStates());
  std::vector<torch::Tensor> out;
  // One entry at a time, each from its own stream: a member's draws do not depend on the
  // ensemble size or on which other members are computed.
  for (std::int64_t i = 0; i < B; ++i) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(streams[static_cast<std::size_t>(i)]);
    const auto c = cond.slice(0, i, i + 1).clone();
    const auto p = parameters.defined() ? parameters.slice(0, i, i + 1).clone() : torch::Tensor();
    RefinerDenoiser denoiser(*this, c, p);
    const auto shape = c.select(1, 0).sizes().vec();
    auto draw = [&] { return at::randn(shape, gen, c.options()); };
    if (!increment()) {
      out.push_back(sampler_->sample(denoiser, draw, guidance));
      continue;
    }
    // The sample is an increment; the observations judge the state it leads to.
    const auto last = window.select(1, o.history() - 1).slice(0, i, i + 1);
    Guidance shifted;
    if (guidance) shifted = [&](const torch::Tensor& x0, double scale) { return (*guidance)(last + x0, scale); };
    out.push_back(last + sampler_->sample(denoiser, draw, guidance ? &shifted : nullptr));
  }
  return torch::cat(out, 0);
}

}  // namespace lats::solvers::neural
