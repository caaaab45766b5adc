#include "detail/latent_analysis.hpp"

#include <torch/optim/lbfgs.h>

#include <vector>

namespace lats::solvers::assimilation::detail {

torch::Tensor observationLogLikelihood(const torch::Tensor& predicted, const torch::Tensor& y,
                                       const torch::Tensor& variance, double gamma, double varianceScale) {
  return -0.5 * ((y - predicted).pow(2) / (variance + gamma * varianceScale)).sum();
}

torch::Tensor latentVariationalAnalysis(const torch::Tensor& background,
                                        const std::function<torch::Tensor(const torch::Tensor&)>& observe,
                                        const torch::Tensor& y, const torch::Tensor& variance, double modelError,
                                        int iterations) {
  const auto b = background.detach();
  auto z = b.clone().requires_grad_(true);
  torch::optim::LBFGS opt(std::vector<torch::Tensor>{z},
                          torch::optim::LBFGSOptions(1.0).max_iter(iterations).line_search_fn("strong_wolfe"));
  const double tau2 = modelError * modelError;
  auto closure = [&] {
    opt.zero_grad();
    const auto j = 0.5 * ((y - observe(z)).pow(2) / variance).sum() + 0.5 * (z - b).pow(2).sum() / tau2;
    j.backward();
    return j;
  };
  opt.step(closure);
  return z.detach();
}

}  // namespace lats::solvers::assimilation::detail
