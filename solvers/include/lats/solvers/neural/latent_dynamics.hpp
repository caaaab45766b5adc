#pragma once
/// \file latent_dynamics.hpp
/// The LatentDynamics interface: what advances a latent state. Every dynamics owns its
/// hyper-parameters (declared once, written to model.json), its training loss, its sampler
/// (stochastic dynamics) and its weights; the trainer, the evaluator, the rollout and the
/// assimilation code hold this interface and never ask which dynamics they have.
///
/// Registered dynamics (-lats_model_dynamics):
///   deterministic  LatentTransformer: z_next = z + f(window, parameters)
///   diffusion      DiffusionRefiner: AROMA's conditional diffusion over the next state given
///                  the window, sampled by a registered Sampler (-lats_model_sampler)
///   torchscript    the step() of an imported TorchScript module (doc/torchscript.md)
/// A new family adds a class derived from LatentDynamics and one registration (see
/// doc/architecture.md, "Adding a model family").

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lats/solvers/neural/component.hpp"
#include "lats/solvers/neural/sampler.hpp"

namespace lats::solvers::neural {

/// A slice of one global batch of dynamics training. Random draws are made for the whole
/// global batch from `generator` and sliced, so the update does not depend on the ranks.
struct DynamicsBatch {
  torch::Tensor window;          ///< (b, history, M, L) latent states, oldest first
  torch::Tensor targets;         ///< (b, U, M, L) the U states that follow the window
  torch::Tensor parameters;      ///< (b, P) normalised PDE parameters, or undefined
  at::Generator generator;       ///< the draws of the global batch
  std::int64_t globalBatch = 0;  ///< B
  std::int64_t begin = 0;        ///< the slice is entries [begin, begin + b) of the global batch
};

/// The seed of ensemble member `member` at latent step `step` of a run seeded with `seed`:
/// independent of how the steps are grouped and of which rank holds the member.
std::uint64_t memberStream(std::uint64_t seed, std::int64_t member, std::int64_t step);

class LatentDynamics : public torch::nn::Module {
 public:
  ~LatentDynamics() override;
  /// Registry name ("deterministic", "diffusion", ...).
  virtual std::string type() const = 0;
  /// Type and hyper-parameters, as written to model.json and read back by the factory.
  virtual ComponentConfig config() const = 0;
  /// Latent states in the window the dynamics reads (the model keeps this many).
  virtual std::int64_t history() const = 0;
  /// Whether advance() draws random numbers (ensemble members then differ).
  virtual bool stochastic() const = 0;
  /// Whether LaTS can train it (false: an imported module, trained elsewhere; loss() throws).
  virtual bool trainable() const { return true; }
  /// Whether advance() accepts guidance (observations that steer the sample).
  virtual bool supportsGuidance() const { return false; }
  /// Next states (B, M, L) from windows (B, history, M, L) and parameters (B, P) or
  /// undefined. A stochastic dynamics draws entry i from the stream streams[i] (one per
  /// entry); a deterministic one ignores them. `guidance` (summed over the entries) steers
  /// the sample where supportsGuidance(); ModelMismatchError otherwise. Runs without
  /// gradient unless guidance needs one.
  virtual torch::Tensor advance(const torch::Tensor& window, const torch::Tensor& parameters,
                                const std::vector<std::uint64_t>& streams, const Guidance* guidance = nullptr) = 0;
  /// Training loss of a batch (mean over its entries, the caller weights by its share).
  virtual torch::Tensor loss(const DynamicsBatch& batch) = 0;
};

/// Dynamics by name: factories take the configuration and the model's shape.
ComponentRegistry<LatentDynamics, const ModelShape&>& latentDynamics();

}  // namespace lats::solvers::neural
