// Recording a host's trajectory as a dataset, streamed to disk snapshot by snapshot.
#include "lats/coupling/recorder.hpp"

#include <algorithm>

#include "lats/core/error.hpp"
#include "lats/core/log.hpp"
#include "lats/core/strings.hpp"
#include "lats/meshio/dataset.hpp"

namespace lats::coupling {

TrajectoryRecorder::TrajectoryRecorder(std::string path, std::string equation, std::string source,
                                       std::string commandLine, std::int64_t expectedSnapshots)
    : path_(std::move(path)),
      equation_(std::move(equation)),
      source_(std::move(source)),
      commandLine_(std::move(commandLine)),
      expected_(std::max<std::int64_t>(expectedSnapshots, 2)) {
  LATS_CHECK(!path_.empty(), InvalidValueError, "recording: no output file given");
}

TrajectoryRecorder::~TrajectoryRecorder() = default;

std::size_t TrajectoryRecorder::size() const { return writer_ ? writer_->times().size() : 0; }

bool TrajectoryRecorder::written() const { return writer_ && writer_->finished(); }

void TrajectoryRecorder::snapshot(const Mesh& mesh, const State& state) {
  std::vector<std::string> names;
  for (const auto& f : state.fields())
    for (const auto& c : f.componentNames()) names.push_back(state.numFields() == 1 ? c : f.name() + "." + c);
  if (components_.empty()) components_ = names;
  LATS_CHECK(names == components_, DimensionMismatchError,
             "recording '" << path_ << "': the state now has components " << join(names, ", ")
                           << "; the recording started with " << join(components_, ", "));
  if (!writer_) {
    meshio::DatasetHeader h;
    h.equation = equation_;
    h.components = components_;
    h.source = source_;
    h.commandLine = commandLine_;
    writer_ = std::make_unique<meshio::RecordingWriter>(path_, h, mesh, expected_);
    const auto& kept = writer_->times();
    if (!kept.empty()) {
      const auto at = std::find(kept.begin(), kept.end(), state.time());
      if (at != kept.end())
        logInfo() << "recording: '" << path_ << "' holds an interrupted recording of " << kept.size()
                  << " snapshots (t = " << kept.front() << " .. " << kept.back()
                  << "); continuing it from t = " << state.time() << " (snapshot " << (at - kept.begin()) << ")";
    }
  }
  const std::int64_t n = mesh.ownedSize();
  std::vector<double> values;
  values.reserve(static_cast<std::size_t>(std::max<std::int64_t>(n, 1)) * names.size());
  for (std::int64_t i = 0; i < n; ++i)
    for (const auto& f : state.fields())
      for (int c = 0; c < f.numComponents(); ++c) values.push_back(f.view()(i, c));
  if (values.empty()) values.resize(names.size());  // a rank without owned entities
  // Rows of owned entities, components fastest: the layout a Field wraps.
  Field f = Field::wrap("recorded", values.data(), n, components_);
  writer_->append(state.time(), mesh, f);
}

void TrajectoryRecorder::write() {
  LATS_CHECK(writer_ != nullptr, InvalidValueError,
             "recording '" << path_ << "': no snapshot; a dataset needs at least two (take a step before finishing)");
  writer_->finish();
}

}  // namespace lats::coupling
