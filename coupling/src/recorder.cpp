// Recording a host's trajectory as a dataset.
#include "lats/coupling/recorder.hpp"

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/strings.hpp"
#include "lats/meshio/dataset.hpp"

namespace lats::coupling {

TrajectoryRecorder::TrajectoryRecorder(std::string path, std::string equation, std::string source,
                                       std::string commandLine)
    : path_(std::move(path)),
      equation_(std::move(equation)),
      source_(std::move(source)),
      commandLine_(std::move(commandLine)) {
  LATS_CHECK(!path_.empty(), InvalidValueError, "recording: no output file given");
}

void TrajectoryRecorder::snapshot(const Mesh& mesh, const State& state) {
  std::vector<std::string> names;
  for (const auto& f : state.fields())
    for (const auto& c : f.componentNames()) names.push_back(state.numFields() == 1 ? c : f.name() + "." + c);
  if (components_.empty()) components_ = names;
  LATS_CHECK(names == components_, DimensionMismatchError,
             "recording '" << path_ << "': the state now has components " << join(names, ", ")
                           << "; the recording started with " << join(components_, ", "));
  const std::int64_t n = mesh.ownedSize();
  std::vector<double> values;
  values.reserve(static_cast<std::size_t>(n) * names.size());
  for (std::int64_t i = 0; i < n; ++i)
    for (const auto& f : state.fields())
      for (int c = 0; c < f.numComponents(); ++c) values.push_back(f.view()(i, c));
  snapshots_.push_back(std::move(values));
  times_.push_back(state.time());
}

void TrajectoryRecorder::write(const Mesh& mesh) {
  if (written_) return;
  collective(mesh.comm(), [&] {
    LATS_CHECK(times_.size() >= 2, InvalidValueError,
               "recording '" << path_ << "': " << times_.size()
                             << " snapshot(s); a dataset needs at least two (take a step before finishing)");
  });
  written_ = true;
  meshio::DatasetHeader h;
  h.equation = equation_;
  h.components = components_;
  h.numTrajectories = 1;
  h.times = times_;
  h.source = source_;
  h.commandLine = commandLine_;
  meshio::DatasetWriter w(path_, h, mesh);
  // Rows of owned entities, components fastest: the layout writeSnapshot reads.
  const std::int64_t n = mesh.ownedSize();
  for (std::size_t j = 0; j < snapshots_.size(); ++j) {
    Field f = Field::wrap("recorded", snapshots_[j].data(), n, components_);
    w.writeSnapshot(0, static_cast<std::int64_t>(j), mesh, f);
  }
  MPI_Barrier(mesh.comm());
  int rank = 0;
  MPI_Comm_rank(mesh.comm(), &rank);
  if (rank == 0) w.markComplete(0);
  MPI_Barrier(mesh.comm());
  w.finish();
  snapshots_.clear();
}

}  // namespace lats::coupling
