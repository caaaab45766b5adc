#pragma once
/// \file ensemble.hpp
/// Ensembles spread over MPI ranks. Members live where they are forecast: each rank holds
/// some members, each on its partition of a mesh (a member may be spread over a group of
/// ranks). The analysis works point by point, so the exchange moves the values into a
/// point-major layout in which each rank holds every member and component of a contiguous
/// block of points (by global id), and back.

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "lats/core/mesh.hpp"
#include "lats/core/state.hpp"

namespace lats::solvers::assimilation {

/// Values of an ensemble on a block of points: value(p, i, c) = values[(p * members + i) *
/// components + c] for block point p (global id begin + p), member i, component c.
struct PointBlock {
  std::int64_t begin = 0, end = 0;  ///< global ids [begin, end)
  std::int64_t members = 0;
  int components = 0;
  int dimension = 0;
  std::vector<double> values;
  std::vector<double> coordinates;  ///< (end - begin) * dimension
  std::int64_t size() const { return end - begin; }
  double& operator()(std::int64_t p, std::int64_t i, int c) {
    return values[static_cast<std::size_t>((p * members + i) * components + c)];
  }
  double operator()(std::int64_t p, std::int64_t i, int c) const {
    return values[static_cast<std::size_t>((p * members + i) * components + c)];
  }
};

class EnsembleExchange {
 public:
  /// `members`: the indices (in [0, ensembleSize)) of the members this rank holds, each on
  /// `mesh` (this rank's partition; global ids number the points 0..N-1); `layout` gives
  /// the fields. Every member must be held, and each of its points owned exactly once over
  /// the ranks that hold it (ConfigurationError otherwise, on every rank). Collective over
  /// `comm`, which contains the mesh's communicator.
  EnsembleExchange(MPI_Comm comm, std::shared_ptr<const Mesh> mesh, const State& layout,
                   std::vector<std::int64_t> members, std::int64_t ensembleSize);
  ~EnsembleExchange();
  EnsembleExchange(EnsembleExchange&&) noexcept;
  EnsembleExchange& operator=(EnsembleExchange&&) noexcept;

  MPI_Comm comm() const;
  const Mesh& mesh() const;
  const std::vector<std::int64_t>& members() const;
  std::int64_t ensembleSize() const;
  std::int64_t numPoints() const;
  int numComponents() const;

  /// The owned values of `states` (one per member this rank holds, in members() order) as
  /// this rank's point block. Collective.
  PointBlock gather(const std::vector<const State*>& states) const;
  /// Writes a point block back into `states`, owned and ghost entities. Collective.
  void scatter(const PointBlock& block, const std::vector<State*>& states) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Adds a smooth seeded perturbation to `state`: for every component, `amplitude` times the
/// component's RMS over the mesh times a sum of `modes` random sinusoids of the coordinates
/// (wave numbers 1..3 over the mesh's extent), scaled to unit RMS in expectation. The same
/// (seed, member) gives the same perturbation for any rank count. Collective.
void perturb(State& state, const Mesh& mesh, double amplitude, std::uint64_t seed, std::uint64_t member, int modes = 6);

}  // namespace lats::solvers::assimilation
