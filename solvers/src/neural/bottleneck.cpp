#include "lats/solvers/neural/bottleneck.hpp"

#include <torch/torch.h>

#include "lats/core/error.hpp"

namespace lats::solvers::neural {

torch::Tensor BottleneckOutput::kl() const {
  return -0.5 * torch::mean(1.0 + logVariance - mean.pow(2) - logVariance.exp());
}

VariationalBottleneckImpl::VariationalBottleneckImpl(VariationalBottleneckOptions options)
    : options_(std::move(options)) {
  if (options_.identity()) {
    LATS_CHECK(options_.inputDim() == options_.latentDim(), ModelMismatchError,
               "an identity bottleneck needs tokens as wide as the latent state: the encoder gives "
                   << options_.inputDim() << " values per token, the latent dimension is " << options_.latentDim());
    return;
  }
  toMean_ = register_module("to_mean", torch::nn::Linear(options_.inputDim(), options_.latentDim()));
  toLogVariance_ = register_module("to_logvar", torch::nn::Linear(options_.inputDim(), options_.latentDim()));
  // Start nearly deterministic (sampling standard deviation about e^-3 = 0.05): with the
  // small KL weights of latent operators, unit noise at initialisation drowns the signal
  // and the reconstruction barely trains; the KL term raises the variance where it can.
  torch::NoGradGuard g;
  toLogVariance_->bias.fill_(options_.initialLogVariance());
}

BottleneckOutput VariationalBottleneckImpl::forward(const torch::Tensor& x, bool sample, const torch::Tensor& noise) {
  LATS_CHECK(x.dim() >= 1 && x.size(-1) == options_.inputDim(), DimensionMismatchError,
             "bottleneck: expected inputs with " << options_.inputDim() << " features in the last dimension, got "
                                                 << x.sizes());
  BottleneckOutput out;
  if (options_.identity()) {
    // A point mass (as far as the clamp below allows): sampling returns the mean.
    out.mean = out.latent = x;
    out.logVariance = torch::full_like(x, -30.0);
    return out;
  }
  out.mean = toMean_(x);
  out.logVariance = toLogVariance_(x).clamp(-30.0, 20.0);
  if (sample && noise.defined())
    LATS_CHECK(noise.sizes() == out.mean.sizes(), DimensionMismatchError,
               "bottleneck: noise of shape " << noise.sizes() << "; expected the latent shape " << out.mean.sizes());
  out.latent = sample ? out.mean + torch::exp(0.5 * out.logVariance) *
                                       (noise.defined() ? noise.to(out.mean.dtype()) : torch::randn_like(out.mean))
                      : out.mean;
  return out;
}

}  // namespace lats::solvers::neural
