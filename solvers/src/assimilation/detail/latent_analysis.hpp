#pragma once
// The latent-space variational analysis of guided assimilation (private to solvers/: it works
// on torch tensors, which the public assimilation headers do not expose).
#include <torch/types.h>

#include <functional>

namespace lats::solvers::assimilation::detail {

/// The log-likelihood of observations y (variances `variance`) given the predicted values at
/// the sensors, the variance widened by `gamma * varianceScale` (the denoiser's own
/// uncertainty at the current noise level, for reconstruction guidance):
///   -1/2 sum (y - predicted)^2 / (variance + gamma varianceScale).
torch::Tensor observationLogLikelihood(const torch::Tensor& predicted, const torch::Tensor& y,
                                       const torch::Tensor& variance, double gamma, double varianceScale);

/// The most probable latent state z under the prior N(background, modelError^2) per value and
/// observations y with variances `variance` seen through `observe(z)` (differentiable, the
/// decoder at the sensors): minimises
///   J(z) = 1/2 sum (y - observe(z))^2 / variance + 1/2 |z - background|^2 / modelError^2
/// with L-BFGS (strong Wolfe line search, `iterations` iterations) from the background.
/// Not collective (every rank computes the same analysis from the same inputs).
torch::Tensor latentVariationalAnalysis(const torch::Tensor& background,
                                        const std::function<torch::Tensor(const torch::Tensor&)>& observe,
                                        const torch::Tensor& y, const torch::Tensor& variance, double modelError,
                                        int iterations);

}  // namespace lats::solvers::assimilation::detail
