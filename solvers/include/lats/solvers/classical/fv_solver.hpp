#pragma once
/// \file fv_solver.hpp
/// A PETSc TS integrating a finite-volume operator on a PlexMesh. PETSc owns the vectors,
/// the parallel layout, the ghost exchange and the time integration (any -ts_type); the
/// operator's kernels run over Views wrapping the Vec arrays without copying.

#include <petscts.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lats/core/field.hpp"
#include "lats/core/time_stepper.hpp"
#include "lats/meshio/plex_mesh.hpp"
#include "lats/solvers/classical/fv_operator.hpp"

namespace lats::solvers {

class FvSolver {
 public:
  /// Sets the operator up on `mesh` and creates the TS (default: four-stage SSP RK3 with an automatic
  /// step: -lats_fv_cfl times the operator's stable step, re-evaluated after every step, until
  /// setTimeStep() or -ts_dt fixes it). Collective.
  FvSolver(std::shared_ptr<const meshio::PlexMesh> mesh, std::unique_ptr<FvOperator> op);
  ~FvSolver();
  FvSolver(const FvSolver&) = delete;
  FvSolver& operator=(const FvSolver&) = delete;

  FvOperator& op();
  const meshio::PlexMesh& mesh() const;
  /// The cell DM of the solution (numComponents values per cell).
  DM dm() const;
  TS ts() const;
  /// The solution: a global vector, owned cells in LaTS local order.
  Vec solution() const;
  double time() const;

  /// u(cell) <- f(centroid, u) for every owned cell. Resets the time to `t0` and the step count.
  void setSolution(const std::function<void(const double* x, double* u)>& f, double t0 = 0.0);
  /// Copies values in (owned cells x components, row-major).
  void setSolution(const std::vector<double>& values, double t0 = 0.0);
  /// Reads the operator's options, then -ts_* (TSSetFromOptions). With an IMEX type
  /// (arkimex) and a stiff operator, the stiff part becomes the implicit part.
  void setFromOptions();
  void setTimeStep(double dt);
  double timeStep() const;
  /// The operator's stable explicit time step for the current solution. Collective.
  double stableTimeStep() const;

  /// Integrates to `toTime` (landing on it exactly). A PETSc divergence or non-finite values
  /// give a failed StepResult with the reason; the solution then holds the last state PETSc
  /// reached. Collective.
  StepResult advance(double toTime);

  /// An extra source s(x, t) added to du/dt at every cell centroid (manufactured solutions,
  /// external forcing). Evaluated on the host; pass an empty function to remove it.
  void setSourceTerm(std::function<void(const double* x, double t, double* s)> source);

  /// f <- F(t, u) for global vectors of dm(). Collective.
  void rhs(double t, Vec u, Vec f);
  /// Integral of each component over the domain: sum over owned cells of volume * u. Collective.
  std::vector<double> integrals() const;
  /// Owned values as a Field named after the equation (a copy).
  Field field() const;
  /// Owned values, row-major (a copy).
  std::vector<double> values() const;

 private:
  std::string divergedReason() const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lats::solvers
