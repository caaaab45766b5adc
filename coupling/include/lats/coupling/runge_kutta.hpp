#pragma once
/// \file runge_kutta.hpp
/// Explicit Runge-Kutta steppers over an RhsOperator, on Kokkos fields: a light-weight
/// classical stepper for host codes that hand LaTS a right-hand side but no PETSc TS.

#include <memory>
#include <string>
#include <vector>

#include "lats/core/rhs_operator.hpp"
#include "lats/core/time_stepper.hpp"

namespace lats::coupling {

/// Coefficients of an explicit Runge-Kutta method (strictly lower-triangular a).
struct ButcherTableau {
  std::string name;
  int order = 0;
  std::vector<std::vector<double>> a;
  std::vector<double> b, c;
  int stages() const { return static_cast<int>(b.size()); }
  /// "euler", "ssprk2", "ssprk3" or "rk4"; ConfigurationError with a suggestion otherwise.
  static ButcherTableau byName(const std::string& name);
  static std::vector<std::string> names();
};

/// Registry type "rk". Options: -lats_rk_scheme euler|ssprk2|ssprk3|rk4 (default rk4).
/// A step whose result is not finite returns StepStatus::Diverged, naming the field and
/// entity, and leaves the state unchanged.
class RungeKuttaStepper : public TimeStepper {
 public:
  explicit RungeKuttaStepper(std::shared_ptr<RhsOperator> rhs = nullptr, const std::string& scheme = "rk4");
  std::string type() const override { return "rk"; }
  void setFromOptions() override;
  void setRhs(std::shared_ptr<RhsOperator> rhs);
  void setScheme(const std::string& scheme);
  const ButcherTableau& tableau() const { return tableau_; }

 protected:
  void doSetUp(const Mesh& mesh, State& state) override;
  StepResult doStep(State& state, double dt) override;

 private:
  std::shared_ptr<RhsOperator> rhs_;
  ButcherTableau tableau_;
  std::vector<std::string> evolved_;
  std::vector<State> k_;  // stage derivatives
  State stage_;           // stage values of evolved fields (+ shallow copies of the others)
  State result_;          // new values, copied into the state only if finite
};

/// Registers the steppers of lats::coupling in lats::timeSteppers(). Idempotent; also done
/// automatically when the library is loaded.
void registerSteppers();

}  // namespace lats::coupling
