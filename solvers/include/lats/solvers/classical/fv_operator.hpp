#pragma once
/// \file fv_operator.hpp
/// Cell-centred finite-volume right-hand sides on a PlexMesh ("what to integrate"); the
/// PETSc TS that integrates them lives in FvSolver ("how").

#include <memory>
#include <string>
#include <vector>

#include "lats/core/kokkos.hpp"
#include "lats/core/options.hpp"
#include "lats/core/registry.hpp"
#include "lats/meshio/plex_mesh.hpp"

namespace lats::solvers {

/// Cell values viewed without copying (a PETSc Vec's array): (cells x components).
using CellValues = Kokkos::View<double**, Kokkos::LayoutRight, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
using ConstCellValues =
    Kokkos::View<const double**, Kokkos::LayoutRight, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

/// Slope limiter of the second-order reconstruction (-lats_fv_limiter).
enum class Limiter { None, Barth, Venkatakrishnan };

/// A named physical parameter: its value, the range that families of trajectories sample
/// from, and the option that sets it (-lats_<equation>_<name>).
struct Parameter {
  std::string name;
  double value;
  double low, high;
  const RealOption* option;
  bool integer = false;  ///< sampled as an integer in [low, high] (seeds)
};

/// du/dt = F(t, u) on the owned cells, given u on all local cells (owned and ghost). Split as
/// F = explicit part + stiff part, where the stiff part is linear and homogeneous in u (used
/// implicitly by IMEX time integrators; zero for non-stiff equations).
class FvOperator {
 public:
  virtual ~FvOperator();
  virtual std::string equation() const = 0;
  virtual std::vector<std::string> components() const = 0;
  int numComponents() const { return static_cast<int>(components().size()); }
  /// Spatial dimensions the discretisation supports.
  virtual std::vector<int> dimensions() const = 0;

  const std::vector<Parameter>& parameters() const { return params_; }
  double parameter(const std::string& name) const;
  /// Throws ConfigurationError for an unknown name (with a suggestion), InvalidValueError
  /// for a non-finite value.
  void setParameter(const std::string& name, double value);
  /// Replaces the range [low, high] that sampleParameters() draws `name` from (same errors
  /// as setParameter(), and InvalidValueError unless low <= high).
  void setParameterRange(const std::string& name, double low, double high);
  /// The limiter used unless -lats_fv_limiter or setLimiter() says otherwise: none for
  /// equations whose solutions are smooth, Venkatakrishnan for hyperbolic ones.
  virtual Limiter defaultLimiter() const { return Limiter::Venkatakrishnan; }
  /// Reads the parameters' options and -lats_fv_limiter.
  virtual void setFromOptions();
  Limiter limiter() const { return limiter_; }
  /// Venkatakrishnan's K (-lats_fv_venkatakrishnan_k): larger clips less at smooth extrema.
  double venkatakrishnanK() const { return venkatK_; }
  void setVenkatakrishnanK(double k);
  void setLimiter(Limiter limiter) {
    limiter_ = limiter;
    limiterSet_ = true;
  }

  /// Checks the mesh's dimension (DimensionMismatchError) and allocates work arrays.
  void setUp(std::shared_ptr<const meshio::PlexMesh> mesh);
  const meshio::PlexMesh& mesh() const;

  /// dudt(0..numOwned-1, :) <- explicit part + stiff part.
  virtual void rhs(double t, ConstCellValues u, CellValues dudt);
  virtual void explicitRhs(double t, ConstCellValues u, CellValues dudt) = 0;
  virtual bool hasStiffPart() const { return false; }
  /// dudt(owned) <- stiff part (linear and homogeneous in u). Zero by default.
  virtual void stiffRhs(double t, ConstCellValues u, CellValues dudt);
  /// A stable explicit time step for state u (CFL and diffusion limits). Collective.
  virtual double stableTimeStep(ConstCellValues u) const = 0;
  /// Components whose integral over a periodic domain the scheme conserves exactly.
  virtual std::vector<bool> conservedComponents() const = 0;

 protected:
  explicit FvOperator(std::vector<Parameter> params) : params_(std::move(params)) {}
  /// Called by setUp() once the mesh is known.
  virtual void onSetUp() {}
  std::shared_ptr<const meshio::PlexMesh> mesh_;
  std::vector<Parameter> params_;
  Limiter limiter_ = Limiter::Venkatakrishnan;

 private:
  /// The parameter called `name`; ConfigurationError with a suggestion when there is none.
  Parameter& findParameter(const std::string& name);
  bool limiterSet_ = false;
  double venkatK_ = 5.0;
  CellValues stiffScratch(std::int64_t rows);
  Kokkos::View<double**, Kokkos::LayoutRight, MemSpace> stiffScratch_;
};

/// The registry of equations (-lats_equation): advection_diffusion, burgers, combined,
/// gray_scott, wave, shallow_water, ...
Registry<FvOperator>& fvOperators();
/// Registers the built-in equations (idempotent).
void registerFvOperators();
/// The equation chosen with -lats_equation (default burgers); the one declaration of that
/// option, which the generator, the classical stepper and the twin experiment all read.
std::string equationFromOptions();

}  // namespace lats::solvers
