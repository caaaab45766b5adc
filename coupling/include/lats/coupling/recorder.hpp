#pragma once
/// \file recorder.hpp
/// Records a host's trajectory as a LaTS dataset, so that any host (a PETSc program through
/// the TS plugin, a C or Fortran code through the C API) generates training data.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lats/core/mesh.hpp"
#include "lats/core/state.hpp"

namespace lats::meshio {
class RecordingWriter;
}

namespace lats::coupling {

/// Streams snapshots of a State's fields (owned entities; fields in order, their components
/// concatenated) into a one-trajectory dataset as they are taken (meshio::RecordingWriter):
/// a host killed at any step leaves an in-progress dataset of every snapshot taken before,
/// and the same recording started again continues it from the host's restart time (see
/// RecordingWriter::append). write() finishes the dataset (compressed, XDMF sidecar). A
/// single field keeps its component names; several fields name theirs "field.component".
class TrajectoryRecorder {
 public:
  /// `expectedSnapshots`: room allocated at first (the file grows as needed).
  TrajectoryRecorder(std::string path, std::string equation, std::string source, std::string commandLine,
                     std::int64_t expectedSnapshots = 64);
  ~TrajectoryRecorder();
  TrajectoryRecorder(const TrajectoryRecorder&) = delete;
  TrajectoryRecorder& operator=(const TrajectoryRecorder&) = delete;

  /// Appends the owned values of `state` at its time (the first call creates or reopens the
  /// file). Every snapshot must have the same fields (DimensionMismatchError otherwise).
  /// Collective over the mesh's communicator.
  void snapshot(const Mesh& mesh, const State& state);
  /// Snapshots in the file.
  std::size_t size() const;
  const std::string& path() const { return path_; }
  bool written() const;
  /// Finishes the dataset (InvalidValueError for fewer than two snapshots; the in-progress
  /// file stays); later calls do nothing. Collective.
  void write();

 private:
  std::string path_, equation_, source_, commandLine_;
  std::int64_t expected_ = 64;
  std::vector<std::string> components_;
  std::unique_ptr<meshio::RecordingWriter> writer_;
};

}  // namespace lats::coupling
