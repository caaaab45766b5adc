#pragma once
/// \file generator.hpp
/// Training data from the classical solvers: N trajectories of one equation with sampled
/// parameters and initial conditions, saved to a trajectory dataset (lats/meshio/dataset.hpp).
/// `lats generate` is the command-line face of generateDataset().

#include <mpi.h>

#include <cstdint>
#include <string>

namespace lats::solvers {

struct GeneratorSettings {
  std::string equation = "burgers";  ///< a registered equation (-lats_equation)
  std::string output = "lats_dataset.h5";
  std::int64_t trajectories = 8;
  std::int64_t snapshots = 20;   ///< saved snapshots after the initial one
  double finalTime = 1.0;        ///< snapshots are evenly spaced in [0, finalTime]
  double dt = 0.0;               ///< fixed time step; 0: automatic (-lats_fv_cfl)
  std::int64_t every = 0;        ///< with dt > 0: steps between snapshots (finalTime = snapshots x every x dt)
  std::uint64_t seed = 1;        ///< trajectory i uses the stream (seed, i)
  bool sampleParameters = true;  ///< draw each trajectory's parameters from their ranges
  /// Replaced sampling ranges, "name=low:high" separated by commas (e.g. "vx=-5:5,nu=0:0");
  /// empty: the equation's own ranges (doc/equations/).
  std::string ranges;
  /// trajectories: whole trajectories per rank (each rank its own copy of the mesh);
  /// mesh: every trajectory on all ranks (the mesh partitioned); auto: trajectories when
  /// there are at least as many trajectories as ranks.
  std::string parallel = "auto";
  int compression = 4;      ///< deflate level of the finished file
  bool progress = true;     ///< a progress line on rank 0 after each trajectory
  std::string commandLine;  ///< provenance written to the file

  /// From -lats_equation, -lats_generate_output, -lats_generate_trajectories,
  /// -lats_generate_snapshots, -lats_generate_final_time, -lats_generate_dt,
  /// -lats_generate_every, -lats_generate_seed, -lats_generate_sample_parameters,
  /// -lats_generate_ranges,
  /// -lats_generate_parallel, -lats_generate_compression, -lats_generate_progress.
  static GeneratorSettings fromOptions();
};

struct GeneratorReport {
  std::string path;
  std::int64_t generated = 0;  ///< trajectories computed by this call
  std::int64_t resumed = 0;    ///< trajectories found complete in an interrupted file
  double seconds = 0.0;
};

/// Runs the trajectories not yet complete in `settings.output` (a new file, or an
/// interrupted one made with the same settings: resumed), then finishes the file
/// (compression, XDMF sidecar). A finished file with the same settings is left as it is.
/// The mesh comes from -lats_mesh*. Values are the same bit for bit for any rank count and
/// either parallel mode. Collective over `comm`.
GeneratorReport generateDataset(MPI_Comm comm, const GeneratorSettings& settings);

}  // namespace lats::solvers
