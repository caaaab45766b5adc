#include "lats/solvers/neural/fourier_features.hpp"

#include <torch/torch.h>

#include <cmath>

#include "lats/core/error.hpp"

namespace lats::solvers::neural {

FourierFeaturesImpl::FourierFeaturesImpl(FourierFeaturesOptions options) : options_(std::move(options)) {
  LATS_CHECK(options_.inputDim() >= 1 && options_.numFrequencies() >= 1, ConfigurationError,
             "FourierFeatures needs inputDim >= 1 and numFrequencies >= 1, got " << options_.inputDim() << " and "
                                                                                 << options_.numFrequencies());
  auto k = torch::arange(options_.numFrequencies(), torch::kFloat64);
  frequencies_ =
      register_buffer("frequencies", M_PI * options_.minFrequency() * torch::pow(2.0, k).to(torch::kFloat32));
}

int64_t FourierFeaturesImpl::outputDim() const {
  return options_.inputDim() * 2 * options_.numFrequencies() + (options_.includeInput() ? options_.inputDim() : 0);
}

torch::Tensor FourierFeaturesImpl::forward(const torch::Tensor& x) {
  LATS_CHECK(x.dim() >= 1 && x.size(-1) == options_.inputDim(), DimensionMismatchError,
             "FourierFeatures expects coordinates with " << options_.inputDim()
                                                         << " components in the last dimension, got " << x.sizes());
  // (..., d, F) -> (..., d*F)
  auto angles = (x.unsqueeze(-1) * frequencies_.to(x.dtype())).flatten(-2);
  std::vector<torch::Tensor> parts = {torch::sin(angles), torch::cos(angles)};
  if (options_.includeInput()) parts.insert(parts.begin(), x);
  return torch::cat(parts, -1);
}

}  // namespace lats::solvers::neural
