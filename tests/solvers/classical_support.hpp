#pragma once
// Helpers for the classical-solver tests: error norms against exact solutions, observed
// orders, and single-rank reference runs to compare distributed runs with.
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "lats/core/comm.hpp"
#include "lats/solvers/classical/fv_solver.hpp"

namespace lats::test {

/// Volume-weighted L1 error of component `c` against exact(x, t) at the centroids. Collective.
inline double l1Error(const solvers::FvSolver& s, int c, const std::function<double(const double*, double)>& exact) {
  const auto& g = s.mesh().geometry();
  auto xy = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.centroids);
  auto vol = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.volumes);
  const std::vector<double> v = s.values();
  const int nc = static_cast<int>(v.size() / std::max<std::int64_t>(g.numOwned, 1));
  double err = 0.0, total = 0.0;
  for (std::int64_t k = 0; k < g.numOwned; ++k) {
    double x[3] = {0, 0, 0};
    for (int d = 0; d < g.dimension; ++d) x[d] = xy(k, d);
    err += vol(k) * std::abs(v[k * nc + c] - exact(x, s.time()));
    total += vol(k);
  }
  const Comm comm(s.mesh().comm());
  return comm.sum(err) / comm.sum(total);
}

/// Owned values keyed by rank-independent cell id, gathered on every rank. Collective.
inline std::map<std::int64_t, std::vector<double>> valuesById(const solvers::FvSolver& s) {
  const auto& mesh = *s.mesh().mesh();
  auto ids = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh.globalIds());
  const std::vector<double> v = s.values();
  const int nc = mesh.ownedSize() > 0 ? static_cast<int>(v.size() / mesh.ownedSize()) : 0;
  const Comm comm(mesh.comm());
  const int ncAll = static_cast<int>(comm.max(static_cast<std::int64_t>(nc)));
  std::vector<double> packed;
  for (std::int64_t k = 0; k < mesh.ownedSize(); ++k) {
    packed.push_back(static_cast<double>(ids(k)));
    for (int c = 0; c < nc; ++c) packed.push_back(v[k * nc + c]);
  }
  int n = static_cast<int>(packed.size());
  std::vector<int> counts(comm.size()), displs(comm.size(), 0);
  MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, mesh.comm());
  for (int r = 1; r < comm.size(); ++r) displs[r] = displs[r - 1] + counts[r - 1];
  std::vector<double> all(displs.back() + counts.back());
  MPI_Allgatherv(packed.data(), n, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE, mesh.comm());
  std::map<std::int64_t, std::vector<double>> out;
  for (std::size_t i = 0; i < all.size(); i += 1 + ncAll)
    out[static_cast<std::int64_t>(all[i])] = std::vector<double>(all.begin() + i + 1, all.begin() + i + 1 + ncAll);
  return out;
}

/// Largest absolute difference between two runs' values, matched by cell id.
inline double maxDifference(const std::map<std::int64_t, std::vector<double>>& a,
                            const std::map<std::int64_t, std::vector<double>>& b) {
  double worst = a.size() == b.size() ? 0.0 : INFINITY;
  for (const auto& [id, va] : a) {
    auto it = b.find(id);
    if (it == b.end()) return INFINITY;
    for (std::size_t c = 0; c < va.size(); ++c) worst = std::max(worst, std::abs(va[c] - it->second[c]));
  }
  return worst;
}

}  // namespace lats::test
