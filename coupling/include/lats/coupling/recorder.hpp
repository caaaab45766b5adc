#pragma once
/// \file recorder.hpp
/// Records a host's trajectory as a LaTS dataset, so that any host (a PETSc program through
/// the TS plugin, a C or Fortran code through the C API) generates training data.

#include <memory>
#include <string>
#include <vector>

#include "lats/core/mesh.hpp"
#include "lats/core/state.hpp"

namespace lats::coupling {

/// Buffers snapshots of a State's fields (owned entities; fields in order, their components
/// concatenated) and writes them as a one-trajectory dataset (meshio's format, with its XDMF
/// sidecar) when finished. The snapshots stay in memory until then: a dataset's times are
/// fixed when it is created. A single field keeps its component names; several fields name
/// theirs "field.component".
class TrajectoryRecorder {
 public:
  TrajectoryRecorder(std::string path, std::string equation, std::string source, std::string commandLine);
  /// Copies the owned values of `state`. Every snapshot must have the same fields
  /// (DimensionMismatchError otherwise). Not collective.
  void snapshot(const Mesh& mesh, const State& state);
  std::size_t size() const { return times_.size(); }
  const std::string& path() const { return path_; }
  bool written() const { return written_; }
  /// Writes the dataset (InvalidValueError for fewer than two snapshots); later calls do
  /// nothing. Collective over the mesh's communicator.
  void write(const Mesh& mesh);

 private:
  std::string path_, equation_, source_, commandLine_;
  std::vector<std::string> components_;
  std::vector<double> times_;
  std::vector<std::vector<double>> snapshots_;
  bool written_ = false;
};

}  // namespace lats::coupling
