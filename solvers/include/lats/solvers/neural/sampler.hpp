#pragma once
/// \file sampler.hpp
/// Samplers: from standard normal noise to a sample of a generative latent model, optionally
/// steered by observations (reconstruction guidance). A sampler only sees a Denoiser, the
/// model's estimate of the clean state on its noise path
///     x_l = alpha(l) x0 + sigma(l) eps,    l over levels() from noisiest to cleanest,
/// so one sampler serves every model that can say that much: AROMA's refiner (discrete
/// minimum-noise levels, v-prediction), a flow-matching velocity model (alpha = t,
/// sigma = 1 - t), a score model over windows.
///
/// Registered samplers (-lats_model_sampler):
///   refine    AROMA / PDE-Refiner ancestral refinement: denoise, re-noise to the next level
///             with fresh noise, denoise again (stochastic; the model's training-time sampler)
///   euler     first-order step of the probability-flow ODE in path coordinates
///             (x' = alpha' x0 + sigma' eps: DDIM with eta = 0, the Euler step of flow matching)
///   heun      Euler predictor, trapezoidal corrector (second order)
///   midpoint  Euler half step to the mid level, full step with the midpoint estimate (second order)

#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lats/core/registry.hpp"

namespace lats::solvers::neural {

/// A model's denoised estimate on its noise path.
class Denoiser {
 public:
  virtual ~Denoiser() = default;
  /// The sampling grid, noisiest level first, cleanest last (at least two levels).
  virtual std::vector<double> levels() const = 0;
  virtual double alpha(double level) const = 0;
  virtual double sigma(double level) const = 0;
  /// Estimate of the clean state x0 from x at `level` (differentiable in x for guidance).
  virtual torch::Tensor denoise(const torch::Tensor& x, double level) = 0;
};

/// Log-likelihood of the observations given a clean-state estimate x0 (a scalar tensor,
/// differentiable in x0). `varianceScale` = (sigma / alpha)^2 at the current level: the
/// likelihood should widen by it times its own weight (the denoiser's uncertainty).
using Guidance = std::function<torch::Tensor(const torch::Tensor& x0, double varianceScale)>;

class Sampler {
 public:
  virtual ~Sampler();
  virtual std::string type() const = 0;
  /// A sample of `denoiser`'s distribution. `draw()` returns a fresh standard normal tensor
  /// of the sample's shape: the first call gives the starting noise, stochastic samplers
  /// call it again at each level (so the draws, and the sample, follow from its seed).
  /// With `guidance`, every estimate at a level with alpha > 0 is moved along the gradient
  /// of the log-likelihood (Tweedie: x0 += sigma^2 / alpha * grad_x log p(y | x)).
  virtual torch::Tensor sample(Denoiser& denoiser, const std::function<torch::Tensor()>& draw,
                               const Guidance* guidance = nullptr) const = 0;
};

/// The registry of samplers ("refine", "euler", "heun", "midpoint").
Registry<Sampler>& samplers();

/// The denoised estimate at `level`, guided when `guidance` is given and alpha(level) > 0.
/// What every sampler calls; exposed for samplers registered elsewhere.
torch::Tensor guidedDenoise(Denoiser& denoiser, const torch::Tensor& x, double level, const Guidance* guidance);

}  // namespace lats::solvers::neural
