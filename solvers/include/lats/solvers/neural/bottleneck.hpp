#pragma once
/// \file bottleneck.hpp
/// Variational bottleneck: tokens -> (mean, log-variance) -> sampled latent, with the KL term.

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace lats::solvers::neural {

struct VariationalBottleneckOptions {
  VariationalBottleneckOptions(int64_t inputDim, int64_t latentDim) : inputDim_(inputDim), latentDim_(latentDim) {}
  TORCH_ARG(int64_t, inputDim);
  TORCH_ARG(int64_t, latentDim);
  /// Initial bias of the log-variance head (-6: standard deviation about 0.05).
  TORCH_ARG(double, initialLogVariance) = -6.0;
  /// No bottleneck: the input is the latent (inputDim == latentDim, no weights), for
  /// encoders whose tokens already are the latent state (Encoder::variational() false).
  TORCH_ARG(bool, identity) = false;
};

struct BottleneckOutput {
  torch::Tensor latent;  ///< mean + exp(logvar/2) * eps when sampling, else mean
  torch::Tensor mean;
  torch::Tensor logVariance;
  /// KL(N(mean, exp(logvar)) || N(0, 1)), averaged over every latent entry.
  torch::Tensor kl() const;
};

class VariationalBottleneckImpl : public torch::nn::Module {
 public:
  explicit VariationalBottleneckImpl(VariationalBottleneckOptions options);
  /// x (..., inputDim). `sample`: draw with torch's generator (seed it for reproducibility);
  /// otherwise latent = mean (inference). `noise` (shaped like the mean), when given, is the
  /// standard normal draw to use (data-parallel training draws it for the global batch).
  BottleneckOutput forward(const torch::Tensor& x, bool sample, const torch::Tensor& noise = {});
  const VariationalBottleneckOptions& options() const { return options_; }

 private:
  VariationalBottleneckOptions options_;
  torch::nn::Linear toMean_{nullptr}, toLogVariance_{nullptr};
};
TORCH_MODULE(VariationalBottleneck);

}  // namespace lats::solvers::neural
