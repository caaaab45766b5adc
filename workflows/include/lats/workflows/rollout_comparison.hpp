#pragma once
/// \file rollout_comparison.hpp
/// Classical, surrogate and hybrid rollouts from the initial states of a dataset's
/// trajectories, each compared with the dataset's own trajectory (the reference) at every
/// snapshot, and timed on the same mesh in the same run. `lats rollout` and `lats bench`
/// print it, the demo reports it.

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lats/core/field.hpp"
#include "lats/core/mesh.hpp"
#include "lats/coupling/hybrid_stepper.hpp"
#include "lats/meshio/plex_mesh.hpp"

namespace lats::workflows {

struct RolloutSettings {
  std::string model;                       ///< surrogate checkpoint (-lats_rollout_model)
  std::string dataset;                     ///< initial states, parameters and reference (-lats_rollout_dataset)
  std::vector<std::int64_t> trajectories;  ///< which of its trajectories (-lats_rollout_trajectories; empty: all)
  std::vector<std::string> modes = {"classical", "surrogate", "hybrid"};  ///< -lats_rollout_modes
  std::int64_t repeats = 1;         ///< runs per mode, the fastest is reported (-lats_rollout_repeats)
  coupling::HybridSettings hybrid;  ///< the hybrid's policy (-lats_hybrid_*)
  /// Directory for <mode>.h5 (predicted trajectories, with an XDMF sidecar), <mode>_final.pvtu
  /// (first trajectory at the last snapshot: reference, prediction, error), errors.csv and
  /// rollout.md (-lats_rollout_output; empty: nothing written).
  std::string output;
  std::string commandLine;  ///< provenance of the files written

  /// From -lats_rollout_* and -lats_hybrid_*.
  static RolloutSettings fromOptions();
};

/// One mode's rollouts over all the chosen trajectories.
struct ModeRollout {
  std::string mode;
  double seconds = 0.0;       ///< wall time of the steps, all trajectories (fastest repeat)
  double setupSeconds = 0.0;  ///< wall time of creating and setting up the steppers (loading the model)
  /// Wall time of the same steps with the state read only at the end of each trajectory
  /// (the surrogate decodes once instead of at every snapshot), in the same repeat.
  double horizonSeconds = 0.0;
  /// Largest relative L2 difference between the end states of the two ways (0 expected:
  /// when the state is decoded does not change the latent trajectory).
  double horizonDifference = 0.0;
  std::vector<double> error;  ///< relative L2 error against the reference at each snapshot (mean over trajectories)
  std::int64_t surrogateSteps = 0, classicalSteps = 0, rollbacks = 0;  ///< hybrid only
};

struct RolloutComparison {
  std::string equation, mesh, dataset;
  std::int64_t cells = 0;
  int ranks = 1;
  std::vector<double> times;               ///< snapshot times; the rollouts start at times[0]
  std::vector<std::int64_t> trajectories;  ///< dataset trajectories used
  std::vector<double> persistenceError;    ///< error of keeping the initial state (a baseline)
  std::vector<ModeRollout> modes;

  double simulatedTime() const { return times.size() < 2 ? 0.0 : (times.back() - times.front()); }
  /// The mode named `name`; nullptr when it was not run.
  const ModeRollout* find(const std::string& name) const;
};

/// Relative L2 difference |a - b| / |b| of the owned values of two fields on `mesh` (the
/// absolute norm when b is 0). Collective over the mesh's communicator.
double relativeL2(const Mesh& mesh, const Field& a, const Field& b);

/// Runs each mode from the initial state of each trajectory to the dataset's last snapshot,
/// one step per snapshot interval (the model's time step must equal it), and compares with
/// the dataset. `plex` must be the mesh the dataset was made on (same -lats_mesh* options):
/// anything else is a DimensionMismatchError that says so. Collective.
RolloutComparison compareRollouts(std::shared_ptr<const meshio::PlexMesh> plex, const RolloutSettings& settings);

/// Markdown table: mode, stepping and set-up time, simulated time per stepping second, speed-up over classical,
/// the same with the state read at the end only, error at the last snapshot, mean error over the horizon, and
/// the hybrid's step counts.
std::string rolloutTable(const RolloutComparison& comparison);

/// Writes errors.csv (time, then one column per mode and persistence) and rollout.md into
/// `dir` on rank 0 (atomic renames). Collective.
void writeRolloutResults(MPI_Comm comm, const std::string& dir, const RolloutComparison& comparison);

}  // namespace lats::workflows
