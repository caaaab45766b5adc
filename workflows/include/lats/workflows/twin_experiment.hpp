#pragma once
/// \file twin_experiment.hpp
/// Twin experiments: a truth run of the classical solver, synthetic noisy observations at a
/// fraction of the mesh points, and the same forecast made without assimilation (the free
/// surrogate run), with an EnKF/LETKF over classical members, over surrogate members, and by
/// guided sampling of a diffusion surrogate. Every method is scored against the truth at
/// every observation time (RMSE, spread, spread-skill, CRPS) and timed.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lats/coupling/assimilating_stepper.hpp"
#include "lats/meshio/plex_mesh.hpp"
#include "lats/solvers/assimilation/metrics.hpp"

namespace lats::workflows {

struct TwinSettings {
  std::string equation;     ///< the PDE (-lats_equation)
  std::string model;        ///< deterministic surrogate checkpoint (-lats_twin_model)
  std::string guidedModel;  ///< diffusion surrogate for guided sampling (-lats_twin_guided_model; empty: skip)
  std::vector<double> fractions = {0.01, 0.05, 0.1};  ///< sensors per mesh point (-lats_twin_fractions)
  double noise = 0.01;                                ///< observation noise std (-lats_twin_noise)
  std::int64_t steps = 10;                            ///< model steps, one observation time each (-lats_twin_steps)
  std::uint64_t seed = 101;      ///< truth: parameters and initial condition; the prior's comes from seed + 1
  bool sampleParameters = true;  ///< draw the truth's parameters (-lats_twin_sample_parameters; false: option values)
  std::vector<std::string> methods = {"free", "enkf_classical", "enkf_surrogate", "enkf_latent", "guided"};
  std::string output;                 ///< directory for per-time CSV files and twin.md (-lats_twin_output; empty: none)
  coupling::AssimilationSettings da;  ///< ensemble size, filter type, inflation, localisation (-lats_da_*)

  /// From -lats_equation, -lats_twin_* and the assimilation options.
  static TwinSettings fromOptions();
};

struct TwinResult {
  std::string method;
  double fraction = 0.0;
  std::int64_t sensors = 0;
  solvers::assimilation::ScoreHistory scores;
  double seconds = 0.0;          ///< wall time of the run (forecasts and analyses)
  double forecastSeconds = 0.0;  ///< of which member forecasts
};

/// Runs every method for every sensor fraction on `plex` (collective). Logs each result.
std::vector<TwinResult> runTwinExperiment(std::shared_ptr<const meshio::PlexMesh> plex, const TwinSettings& settings);

/// A Markdown table: fraction, sensors, method, RMSE, RMSE relative to the free run, CRPS,
/// spread-skill, wall and forecast time.
std::string twinTable(const std::vector<TwinResult>& results);

/// Writes twin.md and <method>_<fraction>.csv (score per time) into `dir` (rank 0, atomic
/// renames). Collective.
void writeTwinResults(MPI_Comm comm, const std::string& dir, const std::vector<TwinResult>& results);

}  // namespace lats::workflows
