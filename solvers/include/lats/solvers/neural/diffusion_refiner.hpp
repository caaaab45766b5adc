#pragma once
/// \file diffusion_refiner.hpp
/// AROMA's latent dynamics ("diffusion"): a conditional diffusion model over the next latent
/// state given the window of previous ones, v-prediction on a minimum-noise schedule of a
/// few levels (PDE-Refiner). Level 0 is pure noise, so the first denoising step is the
/// model's deterministic prediction; the following levels refine it. Sampled by any
/// registered Sampler ("refine", AROMA's, by default), seeded per ensemble member.

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <vector>

#include "lats/solvers/neural/latent_dynamics.hpp"

namespace lats::solvers::neural {

/// Noise levels k = 0..K with sigma_k = sigmaMin^(k/K) and alpha_k = sqrt(1 - sigma_k^2):
/// k = 0 is pure noise, k = K the smallest noise (PDE-Refiner / AROMA schedule). Defined for
/// fractional levels too.
struct NoiseSchedule {
  std::vector<double> alpha, sigma;
  static NoiseSchedule minimumNoise(int steps, double sigmaMin);
  int steps() const { return static_cast<int>(sigma.size()) - 1; }
};

struct DiffusionRefinerOptions {
  explicit DiffusionRefinerOptions(int64_t latentDim) : latentDim_(latentDim) {}
  TORCH_ARG(int64_t, latentDim);
  TORCH_ARG(int64_t, dim) = 64;
  TORCH_ARG(int64_t, depth) = 4;
  TORCH_ARG(int64_t, numHeads) = 4;
  TORCH_ARG(int64_t, numParameters) = 0;
  /// Refinement steps K (AROMA uses a handful) and the smallest noise level.
  TORCH_ARG(int64_t, refinementSteps) = 3;
  TORCH_ARG(double, sigmaMin) = 1e-2;
  /// Number of latent tokens M; when positive, each token gets a learned position embedding.
  TORCH_ARG(int64_t, numTokens) = 0;
  /// Latent states of the model's window (the window the dynamics is given).
  TORCH_ARG(int64_t, history) = 1;
  /// The last `conditioning` states of the window condition the model (0: the whole window).
  /// Checkpoints written before this option condition on the last state only (1).
  TORCH_ARG(int64_t, conditioning) = 0;
  /// Registered sampler used by advance().
  TORCH_ARG(std::string, sampler) = "refine";
  /// What is generated: "state" (the next latent state) or "increment" (the next state minus
  /// the window's last one; the sample is added to it).
  TORCH_ARG(std::string, target) = "state";
};

class DiffusionRefinerImpl : public LatentDynamics {
 public:
  explicit DiffusionRefinerImpl(DiffusionRefinerOptions options);
  /// v-prediction at noise levels `k` (B, any real dtype; fractional levels allowed) for the
  /// noisy next state xk (B, M, L) given the conditioning states (B, c, M, L) or (B, M, L)
  /// when c = 1, and parameters (B, P) or undefined.
  torch::Tensor predictV(const torch::Tensor& xk, const torch::Tensor& k, const torch::Tensor& conditioning,
                         const torch::Tensor& parameters = {});
  const NoiseSchedule& schedule() const { return schedule_; }
  const DiffusionRefinerOptions& options() const { return options_; }
  /// States of the window that condition the model.
  std::int64_t conditioningStates() const;
  /// Whether the refiner generates increments over the window's last state.
  bool increment() const { return options_.target() == "increment"; }

  std::string type() const override { return "diffusion"; }
  ComponentConfig config() const override;
  std::int64_t history() const override { return options_.history(); }
  bool stochastic() const override { return true; }
  bool supportsGuidance() const override { return true; }
  torch::Tensor advance(const torch::Tensor& window, const torch::Tensor& parameters,
                        const std::vector<std::uint64_t>& streams, const Guidance* guidance = nullptr) override;
  /// Mean squared error of v at levels drawn uniformly from 0..K, for the first target.
  torch::Tensor loss(const DynamicsBatch& batch) override;

 private:
  DiffusionRefinerOptions options_;
  NoiseSchedule schedule_;
  std::unique_ptr<Sampler> sampler_;
  torch::nn::Linear input_{nullptr}, output_{nullptr}, levelEmbed_{nullptr}, parameterEmbed_{nullptr};
  torch::Tensor tokenPosition_;
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(DiffusionRefiner);

/// Adds it to the dynamics registry (latentDynamics() does at first use).
void registerDiffusionRefiner(ComponentRegistry<LatentDynamics, const ModelShape&>& registry);

}  // namespace lats::solvers::neural
