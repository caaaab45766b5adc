#include "lats/solvers/neural/latent_model.hpp"

#include <torch/torch.h>

#include "lats/core/error.hpp"

namespace lats::solvers::neural {
LatentModelImpl::LatentModelImpl(ModelDescription description, std::string directory)
    : description_(std::move(description)) {
  auto& d = description_;
  d.validate();
  ModelShape shape;
  shape.spatialDim = d.spatialDim;
  shape.numComponents = d.numComponents;
  shape.numParameters = d.numParameters;
  shape.latentDim = d.latentDim;
  shape.history = d.history;
  shape.directory = std::move(directory);
  encoder_ = register_module("encoder", encoders().create(d.encoder, shape));
  shape.numTokens = encoder_->numTokens();
  shape.tokenDim = encoder_->tokenDim();
  bottleneck_ = register_module(
      "bottleneck",
      VariationalBottleneck(
          VariationalBottleneckOptions(shape.tokenDim, shape.latentDim).identity(!encoder_->variational())));
  decoder_ = register_module("decoder", decoders().create(d.decoder, shape));
  dynamics_ = register_module("dynamics", latentDynamics().create(d.dynamics, shape));
  // What the components say they are (the schema's defaults filled in).
  d.encoder = encoder_->config();
  d.decoder = decoder_->config();
  d.dynamics = dynamics_->config();
}

torch::Tensor LatentModelImpl::latentOf(const torch::Tensor& tokens) { return bottleneck_(tokens, false).mean; }

bool LatentModelImpl::trainable() const {
  return encoder_->trainable() && decoder_->trainable() && dynamics_->trainable();
}

BottleneckOutput LatentModelImpl::encodeVariational(const torch::Tensor& coords, const torch::Tensor& values,
                                                    bool sample, const torch::Tensor& mask) {
  return bottleneck_(encoder_->forward(coords, values, mask), sample);
}

torch::Tensor LatentModelImpl::encode(const torch::Tensor& coords, const torch::Tensor& values,
                                      const torch::Tensor& mask) {
  return encodeVariational(coords, values, false, mask).mean;
}

torch::Tensor LatentModelImpl::decode(const torch::Tensor& latent, const torch::Tensor& coords) {
  return decoder_->forward(latent, coords);
}

torch::Tensor LatentModelImpl::advance(const torch::Tensor& window, const torch::Tensor& parameters,
                                       const std::vector<std::uint64_t>& streams) {
  return dynamics_->advance(window.dim() == 3 ? window.unsqueeze(1) : window, parameters, streams);
}

}  // namespace lats::solvers::neural
