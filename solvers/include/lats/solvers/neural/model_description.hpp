#pragma once
/// \file model_description.hpp
/// The architecture of a latent model as data: the sizes the data fixes, the model-level
/// hyper-parameters, and one ComponentConfig per role (encoder, decoder, dynamics). What
/// model.json's "config" holds and what `lats train` builds from the -lats_model_* options.
/// Torch-free, so that tools and hosts can hold one.

#include <cstdint>
#include <string>
#include <vector>

#include "lats/solvers/neural/component.hpp"

namespace lats::solvers::neural {

/// The architecture of a LatentModel.
struct ModelDescription {
  std::int64_t spatialDim = 2;     ///< fixed by the data
  std::int64_t numComponents = 1;  ///< fixed by the data: values per point over all fields
  std::int64_t numParameters = 0;  ///< fixed by the data: PDE parameters per trajectory
  std::int64_t latentDim = 16;     ///< -lats_model_latent_dim
  std::int64_t history = 1;        ///< -lats_model_history: latent states the dynamics sees
  ComponentConfig encoder, decoder, dynamics;

  /// Every component at its defaults (AROMA, deterministic dynamics).
  static ModelDescription defaults();
  /// From the -lats_model_* options (the data sizes keep their defaults: set them after).
  static ModelDescription fromOptions();
  /// Checks the model-level sizes and each component against its registered schema (an
  /// unknown type or key, a wrong type, a value out of bounds: ConfigurationError naming it).
  void validate();
  /// Sets one hyper-parameter by path: "latent_dim", "history", "encoder.num_tokens",
  /// "dynamics.sampler", ... (ConfigurationError for an unknown path).
  ModelDescription& set(const std::string& path, HyperValue value);
  /// Makes `role` ("encoder", "decoder", "dynamics") the registered type `name` with its
  /// default hyper-parameters (ConfigurationError with a suggestion for unknown names).
  ModelDescription& setType(const std::string& role, const std::string& name);
  /// Whether both have the same architecture (run-time settings such as chunk sizes aside).
  bool sameArchitecture(const ModelDescription& other) const;
  /// Whether encoder, bottleneck and decoder have the same architecture (the dynamics may differ).
  bool sameAutoencoder(const ModelDescription& other) const;
  /// "key=value;..." of every architecture value (run-time settings such as chunk sizes
  /// left out): what must match for a training run to resume.
  std::string fingerprint() const;
  bool operator==(const ModelDescription& other) const;
};

/// Names registered for `role`: "encoder", "decoder", "dynamics" or "sampler"
/// (ConfigurationError for another role).
std::vector<std::string> registeredNames(const std::string& role);

}  // namespace lats::solvers::neural
