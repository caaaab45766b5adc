#include "lats/solvers/neural/sampler.hpp"

#include <torch/csrc/autograd/autograd.h>
#include <torch/torch.h>

#include "lats/core/error.hpp"

namespace lats::solvers::neural {

Sampler::~Sampler() = default;

torch::Tensor guidedDenoise(Denoiser& denoiser, const torch::Tensor& x, double level, const Guidance* guidance) {
  const double alpha = denoiser.alpha(level), sigma = denoiser.sigma(level);
  if (!guidance || !(alpha > 0.0)) {
    torch::NoGradGuard noGrad;
    return denoiser.denoise(x, level);
  }
  auto xg = x.detach().requires_grad_(true);
  const auto x0 = denoiser.denoise(xg, level);
  const double r = sigma / alpha;
  const auto logLikelihood = (*guidance)(x0, r * r);
  LATS_CHECK(logLikelihood.numel() == 1, DimensionMismatchError,
             "guidance: the log-likelihood must be a scalar, got shape " << logLikelihood.sizes());
  const auto g = torch::autograd::grad({logLikelihood}, {xg})[0];
  // Tweedie with the guided score: E[x0 | x, y] = x0(x) + sigma^2 / alpha grad_x log p(y | x).
  return (x0 + (sigma * sigma / alpha) * g).detach();
}

namespace {

std::vector<double> gridOf(const Denoiser& d, const char* who) {
  auto levels = d.levels();
  LATS_CHECK(levels.size() >= 2, ConfigurationError,
             who << " sampler: the model's noise path has " << levels.size() << " level(s); need at least 2");
  return levels;
}

/// Noise estimate implied by x and its clean estimate x0 (x = alpha x0 + sigma eps).
torch::Tensor noiseOf(const torch::Tensor& x, const torch::Tensor& x0, double alpha, double sigma) {
  return (x - alpha * x0) / sigma;
}

/// AROMA / PDE-Refiner: denoise from pure noise, then for every cleaner level re-noise the
/// estimate with fresh noise and denoise again. Ends with the estimate at the cleanest level.
class RefineSampler final : public Sampler {
 public:
  std::string type() const override { return "refine"; }
  torch::Tensor sample(Denoiser& d, const std::function<torch::Tensor()>& draw,
                       const Guidance* guidance) const override {
    const auto levels = gridOf(d, "refine");
    torch::Tensor x;
    {
      torch::NoGradGuard noGrad;
      x = draw();
    }
    auto x0 = guidedDenoise(d, x, levels[0], guidance);
    for (std::size_t i = 1; i < levels.size(); ++i) {
      {
        torch::NoGradGuard noGrad;
        x = d.alpha(levels[i]) * x0 + d.sigma(levels[i]) * draw();
      }
      x0 = guidedDenoise(d, x, levels[i], guidance);
    }
    return x0;
  }
};

/// The probability-flow ODE x(l) = alpha(l) x0 + sigma(l) eps with (x0, eps) frozen over a
/// step, taken from the estimate at `method`'s evaluation points.
enum class OdeMethod { Euler, Heun, Midpoint };

class OdeSampler final : public Sampler {
 public:
  explicit OdeSampler(OdeMethod method) : method_(method) {}
  std::string type() const override {
    return method_ == OdeMethod::Euler ? "euler" : method_ == OdeMethod::Heun ? "heun" : "midpoint";
  }
  torch::Tensor sample(Denoiser& d, const std::function<torch::Tensor()>& draw,
                       const Guidance* guidance) const override {
    const auto levels = gridOf(d, type().c_str());
    torch::Tensor x;
    {
      torch::NoGradGuard noGrad;
      x = draw();
    }
    for (std::size_t i = 0; i + 1 < levels.size(); ++i) {
      const double l0 = levels[i], l1 = levels[i + 1];
      const double a0 = d.alpha(l0), s0 = d.sigma(l0), a1 = d.alpha(l1), s1 = d.sigma(l1);
      // Tensors out of guidedDenoise are detached: the steps record no graph.
      const auto x0 = guidedDenoise(d, x, l0, guidance);
      const auto eps = noiseOf(x, x0, a0, s0);
      if (method_ == OdeMethod::Euler) {
        x = x + (a1 - a0) * x0 + (s1 - s0) * eps;
      } else if (method_ == OdeMethod::Heun) {
        const auto predicted = x + (a1 - a0) * x0 + (s1 - s0) * eps;
        torch::Tensor x0b, epsb;
        if (s1 > 0.0) {
          x0b = guidedDenoise(d, predicted, l1, guidance);
          epsb = noiseOf(predicted, x0b, a1, s1);
        } else {  // the clean end of the path: the estimate is the state itself
          x0b = predicted;
          epsb = eps;
        }
        x = x + (a1 - a0) * 0.5 * (x0 + x0b) + (s1 - s0) * 0.5 * (eps + epsb);
      } else {
        const double lm = 0.5 * (l0 + l1), am = d.alpha(lm), sm = d.sigma(lm);
        const auto xm = x + (am - a0) * x0 + (sm - s0) * eps;
        const auto x0m = guidedDenoise(d, xm, lm, guidance);
        const auto epsm = noiseOf(xm, x0m, am, sm);
        x = x + (a1 - a0) * x0m + (s1 - s0) * epsm;
      }
    }
    // The estimate at the cleanest level (the state itself where sigma = 0 there).
    const double last = levels.back();
    if (!(d.sigma(last) > 0.0)) return x.detach();
    return guidedDenoise(d, x, last, guidance);
  }

 private:
  OdeMethod method_;
};

}  // namespace

Registry<Sampler>& samplers() {
  static Registry<Sampler> registry = [] {
    Registry<Sampler> r("sampler");
    r.add("refine", "AROMA/PDE-Refiner ancestral refinement: denoise, re-noise with fresh noise, denoise again",
          [] { return std::make_unique<RefineSampler>(); });
    r.add("euler", "first-order probability-flow ODE step (DDIM with eta = 0; flow matching's Euler step)",
          [] { return std::make_unique<OdeSampler>(OdeMethod::Euler); });
    r.add("heun", "probability-flow ODE, Euler predictor and trapezoidal corrector (second order)",
          [] { return std::make_unique<OdeSampler>(OdeMethod::Heun); });
    r.add("midpoint", "probability-flow ODE, explicit midpoint rule (second order; evaluates between levels)",
          [] { return std::make_unique<OdeSampler>(OdeMethod::Midpoint); });
    return r;
  }();
  return registry;
}

}  // namespace lats::solvers::neural
