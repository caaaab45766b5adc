#pragma once
/// \file classical_stepper.hpp
/// The classical stepper: one of LaTS's PETSc finite-volume solvers (any -ts_type) behind the
/// TimeStepper interface. A step of dt integrates from t to t + dt with the solver's own
/// (CFL-limited or -ts_dt) inner steps, so it can be mixed freely with surrogate steps.

#include <memory>
#include <string>

#include "lats/core/time_stepper.hpp"
#include "lats/meshio/plex_mesh.hpp"

namespace lats::solvers {
class FvSolver;
}

namespace lats::coupling {

/// Registry type "classical". The state holds one field named after the equation (e.g.
/// "burgers") with the equation's components; the mesh given to setUp() must be the
/// PlexMesh's mesh (the finite-volume geometry comes from the DMPlex). The equation comes
/// from -lats_equation when the stepper is made by name; its parameters from
/// -lats_<equation>_* or setParameter(); the time integrator from -ts_*.
/// A PETSc failure or non-finite values give a failed StepResult and leave the state unchanged.
class ClassicalStepper : public TimeStepper {
 public:
  ClassicalStepper();
  ClassicalStepper(std::shared_ptr<const meshio::PlexMesh> mesh, std::string equation);
  ~ClassicalStepper() override;
  std::string type() const override { return "classical"; }
  /// -lats_equation (when not given to the constructor), the equation's -lats_ options, -ts_*.
  void setFromOptions() override;
  void setPlexMesh(std::shared_ptr<const meshio::PlexMesh> mesh);
  void setEquation(const std::string& equation);
  const std::string& equation() const { return equation_; }
  std::vector<std::string> evolvedFields() const override { return {equation_}; }
  /// Sets a PDE parameter of the equation (ConfigurationError with a suggestion for unknown
  /// names). Before or after setUp().
  void setParameter(const std::string& name, double value);
  /// The solver (after setUp()).
  solvers::FvSolver& solver();

 protected:
  void doSetUp(const Mesh& mesh, State& state) override;
  StepResult doStep(State& state, double dt) override;

 private:
  std::shared_ptr<const meshio::PlexMesh> plex_;
  std::string equation_;
  bool fromOptions_ = false;
  std::vector<std::pair<std::string, double>> parameters_;
  std::unique_ptr<solvers::FvSolver> solver_;
};

/// Registers "classical" in lats::timeSteppers() (done by registerSteppers(), which runs when
/// the library is loaded).
void registerClassicalStepper();

}  // namespace lats::coupling
