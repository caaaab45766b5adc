#pragma once
/// \file fourier_features.hpp
/// Fourier position features of coordinates (NeRF-style multi-scale sin/cos encoding).

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace lats::solvers::neural {

struct FourierFeaturesOptions {
  FourierFeaturesOptions(int64_t inputDim, int64_t numFrequencies)
      : inputDim_(inputDim), numFrequencies_(numFrequencies) {}
  TORCH_ARG(int64_t, inputDim);
  TORCH_ARG(int64_t, numFrequencies);
  /// Frequencies are pi * 2^k * minFrequency for k = 0 .. numFrequencies-1 (log-spaced).
  TORCH_ARG(double, minFrequency) = 1.0;
  /// Append the raw coordinates to the features.
  TORCH_ARG(bool, includeInput) = true;
};

/// x (..., inputDim) -> (..., outputDim()) with sin and cos of every frequency and
/// coordinate. Has no trainable parameters; the frequencies are a registered buffer.
class FourierFeaturesImpl : public torch::nn::Module {
 public:
  explicit FourierFeaturesImpl(FourierFeaturesOptions options);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t outputDim() const;
  const FourierFeaturesOptions& options() const { return options_; }

 private:
  FourierFeaturesOptions options_;
  torch::Tensor frequencies_;
};
TORCH_MODULE(FourierFeatures);

}  // namespace lats::solvers::neural
