#pragma once
/// \file observation_operator.hpp
/// The observation operator H: the values a set of sensors would read from a state on a
/// partitioned mesh. Each sensor is interpolated from its k nearest mesh points (over all
/// ranks, found with an R-tree) by a weighted least-squares linear fit, so H is exact for
/// fields that are linear in space and second-order accurate for smooth ones.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lats/core/mesh.hpp"
#include "lats/core/state.hpp"
#include "lats/solvers/assimilation/observations.hpp"

namespace lats::solvers::assimilation {

/// Which value of a State a component name refers to.
struct ComponentRef {
  int field = 0;      ///< index in State::fields()
  int component = 0;  ///< index in that field
  int flat = 0;       ///< index among all components of the state, fields in order
};

/// Resolves "u" (a one-component field named u, or a component named u in exactly one field)
/// or "field.component". Throws ConfigurationError naming the available names and the
/// closest one, or the fields between which the name is ambiguous.
ComponentRef resolveComponent(const State& layout, const std::string& name);
/// Total number of components over the fields of `state`.
int totalComponents(const State& state);

class ObservationOperator {
 public:
  /// Builds the interpolation stencils of `sensors` on `mesh` for states shaped like
  /// `layout`. A sensor outside the mesh (beyond the bounding box of the mesh points by more
  /// than one typical spacing, or farther than two spacings from every point) is an
  /// InvalidValueError naming it; a dimension that differs from the mesh's a
  /// DimensionMismatchError; an unknown component a ConfigurationError. Collective over the
  /// mesh's communicator; every rank gets the same error.
  ObservationOperator(std::shared_ptr<const Mesh> mesh, const State& layout, const Sensors& sensors,
                      int neighbours = 0);
  ~ObservationOperator();
  ObservationOperator(ObservationOperator&&) noexcept;
  ObservationOperator& operator=(ObservationOperator&&) noexcept;

  std::int64_t size() const;
  const Sensors& sensors() const;
  const Mesh& mesh() const;
  /// Points per stencil (default 2 * dimension + 1).
  int neighbours() const;
  /// The typical spacing of the mesh points, (bounding-box volume / points)^(1/dimension).
  double spacing() const;

  /// H(state): one value per sensor, the same on every rank. Collective.
  std::vector<double> apply(const State& state) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Sensors at `count` distinct mesh points drawn by `seed` (the same for any rank count),
/// each observing `components` in turn (sensor i sees components[i % size]) with noise
/// `noiseStd`. Collective.
Sensors sensorsAtRandomPoints(const Mesh& mesh, std::int64_t count, const std::vector<std::string>& components,
                              double noiseStd, std::uint64_t seed);

/// Twin experiments: H(truth) plus Gaussian noise of each sensor's standard deviation,
/// drawn from (seed, stream) (the same on every rank and for any rank count). Collective.
Observations observe(const ObservationOperator& h, const State& truth, std::uint64_t seed, std::uint64_t stream);

}  // namespace lats::solvers::assimilation
