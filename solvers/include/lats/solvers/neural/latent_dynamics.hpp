#pragma once
/// \file latent_dynamics.hpp
/// Latent dynamics: predict the next latent state from the current one. A deterministic
/// transformer, and the AROMA-style conditional diffusion refiner (v-prediction, a few
/// denoising steps on a minimum-noise schedule, seeded sampling of ensembles).

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "lats/solvers/neural/dit_block.hpp"

namespace lats::solvers::neural {

struct LatentTransformerOptions {
  explicit LatentTransformerOptions(int64_t latentDim) : latentDim_(latentDim) {}
  TORCH_ARG(int64_t, latentDim);
  TORCH_ARG(int64_t, dim) = 64;
  TORCH_ARG(int64_t, depth) = 4;
  TORCH_ARG(int64_t, numHeads) = 4;
  /// Number of PDE parameters the dynamics are conditioned on (0: none).
  TORCH_ARG(int64_t, numParameters) = 0;
  /// Number of input states (current plus history), stacked along the feature dimension.
  TORCH_ARG(int64_t, history) = 1;
  /// Number of latent tokens M; when positive, each token gets a learned position embedding.
  TORCH_ARG(int64_t, numTokens) = 0;
};

/// Deterministic step: z_next = z + f(z_history, parameters), f a stack of DiT blocks.
class LatentTransformerImpl : public torch::nn::Module {
 public:
  explicit LatentTransformerImpl(LatentTransformerOptions options);
  /// history (B, history, M, latentDim) oldest first, or (B, M, latentDim) when history is 1;
  /// parameters (B, numParameters) or undefined. Returns (B, M, latentDim).
  torch::Tensor forward(const torch::Tensor& history, const torch::Tensor& parameters = {});
  const LatentTransformerOptions& options() const { return options_; }

 private:
  LatentTransformerOptions options_;
  torch::nn::Linear input_{nullptr}, output_{nullptr}, parameterEmbed_{nullptr};
  torch::Tensor tokenPosition_;
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(LatentTransformer);

/// Noise levels k = 0..K with sigma_k = sigmaMin^(k/K) and alpha_k = sqrt(1 - sigma_k^2):
/// k = 0 is pure noise, k = K the smallest noise (PDE-Refiner / AROMA schedule).
struct NoiseSchedule {
  std::vector<double> alpha, sigma;
  static NoiseSchedule minimumNoise(int steps, double sigmaMin);
  int steps() const { return static_cast<int>(sigma.size()) - 1; }
};

/// The refinement sampler for any v-prediction model v(x_k, k): x0 starts as the k = 0
/// prediction, then for k = 1..K it is noised to level k and denoised again. `noise(k)`
/// returns the standard normal draw used at level k (shape of the sample).
torch::Tensor refine(const NoiseSchedule& schedule, const std::function<torch::Tensor(const torch::Tensor&, int)>& v,
                     const std::function<torch::Tensor(int)>& noise);

struct DiffusionRefinerOptions {
  explicit DiffusionRefinerOptions(int64_t latentDim) : latentDim_(latentDim) {}
  TORCH_ARG(int64_t, latentDim);
  TORCH_ARG(int64_t, dim) = 64;
  TORCH_ARG(int64_t, depth) = 4;
  TORCH_ARG(int64_t, numHeads) = 4;
  TORCH_ARG(int64_t, numParameters) = 0;
  /// Refinement steps K (AROMA uses a handful).
  TORCH_ARG(int64_t, refinementSteps) = 3;
  TORCH_ARG(double, sigmaMin) = 1e-2;
  /// Number of latent tokens M; when positive, each token gets a learned position embedding.
  TORCH_ARG(int64_t, numTokens) = 0;
};

/// Conditional diffusion over the next latent state given the current one.
class DiffusionRefinerImpl : public torch::nn::Module {
 public:
  explicit DiffusionRefinerImpl(DiffusionRefinerOptions options);
  /// v-prediction at noise level k (B) for noisy next state xk (B, M, L) given the current
  /// state (B, M, L) and parameters (B, P) or undefined.
  torch::Tensor predictV(const torch::Tensor& xk, const torch::Tensor& k, const torch::Tensor& current,
                         const torch::Tensor& parameters = {});
  /// Training loss: mean squared error of v at uniformly drawn levels k for target `next`.
  /// `levels` (B, int64 in 0..refinementSteps) and `noise` (like `next`), when given, are
  /// the draws to use (data-parallel training draws them for the global batch).
  torch::Tensor loss(const torch::Tensor& next, const torch::Tensor& current, const torch::Tensor& parameters = {},
                     const torch::Tensor& levels = {}, const torch::Tensor& noise = {});
  /// `numSamples` seeded samples of the next state for each batch entry: returns
  /// (numSamples, B, M, L). Sample i uses seed + i, so an ensemble is one call and
  /// reproducible. Inference mode inside.
  torch::Tensor sample(const torch::Tensor& current, int64_t numSamples, uint64_t seed,
                       const torch::Tensor& parameters = {});
  const NoiseSchedule& schedule() const { return schedule_; }
  const DiffusionRefinerOptions& options() const { return options_; }

 private:
  DiffusionRefinerOptions options_;
  NoiseSchedule schedule_;
  torch::nn::Linear input_{nullptr}, output_{nullptr}, levelEmbed_{nullptr}, parameterEmbed_{nullptr};
  torch::Tensor tokenPosition_;
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(DiffusionRefiner);

}  // namespace lats::solvers::neural
