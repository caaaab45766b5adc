#pragma once
/// \file checkpoint.hpp
/// Model checkpoints: a directory holding
///   model.json   format name and version, the architecture configuration, the fields and
///                components the model expects, the spatial dimension, the normalisation
///                statistics and the training provenance (written last: its presence marks
///                a complete checkpoint);
///   weights.pt   the parameters and buffers as a pickled {name: tensor} dictionary, which
///                PyTorch reads with torch.load("weights.pt").
/// Files are written under temporary names and renamed, so an interrupted save never leaves
/// a checkpoint that loads with wrong weights. Layout documented in doc/checkpoint-format.md.

#include <map>
#include <string>
#include <vector>

#include "lats/core/mesh.hpp"
#include "lats/core/state.hpp"
#include "lats/solvers/neural/latent_model.hpp"

namespace lats::solvers::neural {

/// Version 2: model.json's "config" holds one block per component (type + hyper-parameters).
/// Version-1 files (the flat AROMA configuration) still load, with identical outputs.
constexpr int kCheckpointFormatVersion = 2;

struct FieldSignature {
  std::string name;
  std::vector<std::string> components;
};

/// Everything about a model except its weights and architecture.
struct ModelMetadata {
  std::vector<FieldSignature> fields;
  int spatialDim = 0;
  /// Per component (in field order): values are normalised as (u - mean) / std.
  std::vector<double> mean, std;
  /// Coordinates are given to the model as (x - coordOffset) / coordScale per axis (empty:
  /// as they are), so the Fourier features see [0, 1] whatever the domain.
  std::vector<double> coordOffset, coordScale;
  /// PDE parameters are given to the dynamics as (p - parameterMean) / parameterStd (empty:
  /// as they are).
  std::vector<double> parameterMean, parameterStd;
  /// Time between the states the dynamics maps (the training data's snapshot interval);
  /// 0: not recorded.
  double timeStep = 0.0;
  /// Free-form provenance: lats_version, command_line, dataset, seed, steps, created, ...
  std::map<std::string, std::string> provenance;
  int64_t numComponents() const;
};

struct Checkpoint {
  LatentModel model{nullptr};
  ModelDescription description;
  ModelMetadata metadata;
};

/// Writes `dir` (created if missing). Not collective: call it on one rank.
/// Throws ModelMismatchError if the metadata disagrees with the configuration.
void saveCheckpoint(const std::string& dir, LatentModel& model, const ModelMetadata& metadata);
/// Reads a checkpoint; FileFormatError naming the file and what is wrong for missing files,
/// bad JSON, an unknown format version or weights that do not fit the configuration.
Checkpoint loadCheckpoint(const std::string& dir);
/// Throws ModelMismatchError unless the mesh's spatial dimension and the state's fields
/// (names and component counts) are what the model expects, saying which differs.
void validateAgainst(const ModelMetadata& metadata, const Mesh& mesh, const State& state);

}  // namespace lats::solvers::neural
