#pragma once
// A small Burgers model with diffusion dynamics, trained once per test executable (shared by
// the guided-sampling tests and the twin-experiment workflow test), and its mesh.
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>

#include "lats/meshio/plex_mesh.hpp"
#include "lats/solvers/classical/fv_operator.hpp"
#include "lats/solvers/classical/generator.hpp"
#include "lats/solvers/neural/trainer.hpp"
#include "test_support.hpp"

namespace lats::test {

constexpr double kDt = 0.05;
constexpr double kNu = 0.02;

/// Trains the model on first use (collective) and returns its checkpoint directory.
inline const std::string& checkpoint() {
  static std::string dir;
  if (!dir.empty()) return dir;
  lats::solvers::registerFvOperators();
  const std::string tmp = sharedTempDir(MPI_COMM_WORLD, "guided");
  lats::solvers::GeneratorSettings g;
  g.equation = "burgers";
  g.output = tmp + "/burgers.h5";
  g.trajectories = 16;
  g.snapshots = 8;
  g.finalTime = 8 * kDt;
  g.progress = false;
  lats::solvers::generateDataset(MPI_COMM_WORLD, g);
  lats::solvers::neural::TrainerSettings s;
  s.dataset = g.output;
  s.output = tmp + "/model";
  s.autoencoderSteps = 200;
  s.dynamicsSteps = 200;
  s.batchSize = 8;
  s.learningRate = 3e-3;
  s.validateEvery = 1000;
  s.progress = false;
  s.model.setType("dynamics", "diffusion");
  s.model.set("encoder.num_tokens", std::int64_t{8})
      .set("encoder.token_dim", std::int64_t{32})
      .set("dynamics.dim", std::int64_t{32})
      .set("dynamics.depth", std::int64_t{2});
  lats::solvers::neural::trainModel(MPI_COMM_WORLD, s);
  dir = s.output;
  return dir;
}

/// 64 cells on the unit interval.
inline std::shared_ptr<const lats::meshio::PlexMesh> interval(MPI_Comm comm) {
  lats::meshio::IntervalSpec spec;
  spec.cells = 64;
  return lats::meshio::PlexMesh::interval(comm, spec);
}

}  // namespace lats::test
