#pragma once
/// \file initial_conditions.hpp
/// Seeded random initial conditions and parameters, so that families of trajectories can be
/// sampled reproducibly: a value depends only on the seed and the point's coordinates, never
/// on the partition, so the same seed gives bit-identical fields for any number of ranks.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lats/meshio/plex_mesh.hpp"
#include "lats/solvers/classical/fv_operator.hpp"

namespace lats::solvers {

/// A family of random fields on a domain of size `extent` (the period of a periodic mesh,
/// else its bounding box).
struct RandomFieldSpec {
  std::string family = "grf";  ///< grf | sinusoids | blobs
  double offset = 0.0;         ///< mean value added to the field
  double amplitude = 1.0;      ///< grf: standard deviation; sinusoids/blobs: largest amplitude
  int maxWavenumber = 6;       ///< grf/sinusoids: modes with |k_i| <= maxWavenumber (in periods)
  double decay = 3.0;          ///< grf: spectral variance ~ (1 + |k|^2)^(-decay/2)
  int count = 4;               ///< sinusoids/blobs: number of terms
  double width = 0.08;         ///< blobs: Gaussian width relative to the extent
};

/// One scalar random field, defined everywhere (periodic in the extent where the mesh is).
class RandomField {
 public:
  /// Throws ConfigurationError for an unknown family (with a suggestion), InvalidValueError
  /// for non-positive sizes.
  RandomField(const RandomFieldSpec& spec, std::uint64_t seed, int dimension, std::array<double, 3> extent,
              std::array<double, 3> lower = {0.0, 0.0, 0.0});
  double operator()(const double* x) const;
  static std::vector<std::string> families() { return {"grf", "sinusoids", "blobs"}; }

 private:
  struct Term {
    double k[3];
    double a, b;  // grf/sinusoids: a cos + b sin; blobs: amplitude, unused
    double centre[3];
  };
  RandomFieldSpec spec_;
  int dim_;
  std::array<double, 3> extent_, lower_;
  std::vector<Term> terms_;
};

/// The equation's usual initial condition for trajectory `seed` (grf for advection-diffusion,
/// random sinusoids for the 1D equations, spots for Gray-Scott, humps for the wave and
/// shallow-water equations). With -lats_ic grf|sinusoids|blobs every component is drawn
/// from that family instead. Returns u(x) for FvSolver::setSolution.
std::function<void(const double* x, double* u)> initialCondition(const FvOperator& op, const meshio::PlexMesh& mesh,
                                                                 std::uint64_t seed);

/// Draws every parameter uniformly from its range (integers for integer parameters), sets
/// them on `op` and returns them. The same seed gives the same values everywhere.
std::map<std::string, double> sampleParameters(FvOperator& op, std::uint64_t seed);

}  // namespace lats::solvers
