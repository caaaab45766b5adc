#include "lats/solvers/neural/latent_model.hpp"

#include <torch/torch.h>

#include "lats/core/error.hpp"

namespace lats::solvers::neural {

bool LatentModelConfig::operator==(const LatentModelConfig& o) const {
  return architecture == o.architecture && spatialDim == o.spatialDim && numComponents == o.numComponents &&
         numTokens == o.numTokens && tokenDim == o.tokenDim && latentDim == o.latentDim && numHeads == o.numHeads &&
         numFrequencies == o.numFrequencies && decoderHidden == o.decoderHidden && decoderDepth == o.decoderDepth &&
         dynamicsDim == o.dynamicsDim && dynamicsDepth == o.dynamicsDepth && numParameters == o.numParameters &&
         history == o.history && dynamics == o.dynamics && refinementSteps == o.refinementSteps &&
         sigmaMin == o.sigmaMin && encoderChunk == o.encoderChunk;
}

bool LatentModelConfig::sameAutoencoder(const LatentModelConfig& o) const {
  return architecture == o.architecture && spatialDim == o.spatialDim && numComponents == o.numComponents &&
         numTokens == o.numTokens && tokenDim == o.tokenDim && latentDim == o.latentDim && numHeads == o.numHeads &&
         numFrequencies == o.numFrequencies && decoderHidden == o.decoderHidden && decoderDepth == o.decoderDepth;
}

LatentModelImpl::LatentModelImpl(LatentModelConfig config) : config_(std::move(config)) {
  const auto& c = config_;
  LATS_CHECK(c.architecture == "aroma", ConfigurationError,
             "unknown latent model architecture '" << c.architecture << "'; available: aroma");
  LATS_CHECK(c.dynamics == "deterministic" || c.dynamics == "diffusion", ConfigurationError,
             "unknown latent dynamics '" << c.dynamics << "'; expected deterministic or diffusion");
  encoder_ =
      register_module("encoder", CrossAttentionEncoder(CrossAttentionEncoderOptions(c.spatialDim, c.numComponents)
                                                           .numTokens(c.numTokens)
                                                           .tokenDim(c.tokenDim)
                                                           .numHeads(c.numHeads)
                                                           .numFrequencies(c.numFrequencies)
                                                           .chunkSize(c.encoderChunk)));
  bottleneck_ =
      register_module("bottleneck", VariationalBottleneck(VariationalBottleneckOptions(c.tokenDim, c.latentDim)));
  decoder_ =
      register_module("decoder", LocalFieldDecoder(LocalFieldDecoderOptions(c.spatialDim, c.latentDim, c.numComponents)
                                                       .hiddenDim(c.decoderHidden)
                                                       .depth(c.decoderDepth)
                                                       .numHeads(c.numHeads)
                                                       .numFrequencies(c.numFrequencies)));
  dynamics_ = register_module("dynamics", LatentTransformer(LatentTransformerOptions(c.latentDim)
                                                                .dim(c.dynamicsDim)
                                                                .depth(c.dynamicsDepth)
                                                                .numHeads(c.numHeads)
                                                                .numParameters(c.numParameters)
                                                                .history(c.history)
                                                                .numTokens(c.numTokens)));
  if (c.dynamics == "diffusion")
    refiner_ = register_module("refiner", DiffusionRefiner(DiffusionRefinerOptions(c.latentDim)
                                                               .dim(c.dynamicsDim)
                                                               .depth(c.dynamicsDepth)
                                                               .numHeads(c.numHeads)
                                                               .numParameters(c.numParameters)
                                                               .refinementSteps(c.refinementSteps)
                                                               .sigmaMin(c.sigmaMin)
                                                               .numTokens(c.numTokens)));
}

BottleneckOutput LatentModelImpl::encodeVariational(const torch::Tensor& coords, const torch::Tensor& values,
                                                    bool sample, const torch::Tensor& mask) {
  return bottleneck_(encoder_(coords, values, mask), sample);
}

torch::Tensor LatentModelImpl::encode(const torch::Tensor& coords, const torch::Tensor& values,
                                      const torch::Tensor& mask) {
  return encodeVariational(coords, values, false, mask).mean;
}

torch::Tensor LatentModelImpl::decode(const torch::Tensor& latent, const torch::Tensor& coords) {
  return decoder_(latent, coords);
}

torch::Tensor LatentModelImpl::step(const torch::Tensor& history, const torch::Tensor& parameters) {
  return dynamics_(history, parameters);
}

}  // namespace lats::solvers::neural
