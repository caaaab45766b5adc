#pragma once
/// \file hybrid_stepper.hpp
/// The hybrid stepper: surrogate steps where they can be trusted, classical steps otherwise.
/// Two policies: a fixed schedule (k surrogate steps, then m classical steps, repeated) and
/// error control (surrogate steps checked by trust indicators; when one trips, roll back to
/// the last trusted state and continue classically for a while). Every switch is logged
/// (rank 0) with its reason and kept in switches().

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lats/core/time_stepper.hpp"
#include "lats/coupling/classical_stepper.hpp"
#include "lats/coupling/surrogate_stepper.hpp"

namespace lats::coupling {

struct HybridSettings {
  std::string policy = "schedule";  ///< "schedule" or "error"
  std::int64_t surrogateSteps = 4;  ///< schedule: k surrogate steps ...
  std::int64_t classicalSteps = 1;  ///< ... then m classical steps
  // Error control: each indicator is off when its tolerance is 0.
  double conservedTolerance = 0.0;  ///< relative change of a component's integral per step
  double boundTolerance = 0.25;     ///< relative growth of max |u| per step
  double spreadTolerance = 0.0;     ///< ensemble spread (max) relative to the field's RMS
  std::int64_t residualEvery = 0;   ///< every r-th surrogate step is checked against a classical step
  double residualTolerance = 0.05;  ///< relative L2 difference allowed in that check
  std::int64_t fallbackSteps = 4;   ///< classical steps after a trip before the surrogate is tried again
  /// Begin with the classical steps of the schedule (or, under error control, with
  /// fallbackSteps classical steps): the surrogate then starts from a true history window
  /// instead of the initial state repeated (models with history > 1 need this).
  bool startClassical = false;

  /// From -lats_hybrid_policy, -lats_hybrid_surrogate_steps, -lats_hybrid_classical_steps,
  /// -lats_hybrid_conserved_tol, -lats_hybrid_bound_tol, -lats_hybrid_spread_tol,
  /// -lats_hybrid_residual_every, -lats_hybrid_residual_tol, -lats_hybrid_fallback_steps,
  /// -lats_hybrid_start_classical.
  static HybridSettings fromOptions();
};

/// A change of the kind of step, with why.
struct StepperSwitch {
  std::int64_t step = 0;  ///< state.stepIndex() when it happened
  double time = 0.0;
  std::string from, to, reason;
};

/// Registry type "hybrid" (classical and surrogate parts configured from their options).
/// Steps have the model's time step; classical steps integrate the same interval with the
/// solver's own inner steps, and their states are pushed into the surrogate's history.
class HybridStepper : public TimeStepper {
 public:
  HybridStepper();
  HybridStepper(std::unique_ptr<ClassicalStepper> classical, std::unique_ptr<SurrogateStepper> surrogate,
                HybridSettings settings);
  ~HybridStepper() override;
  std::string type() const override { return "hybrid"; }
  void setFromOptions() override;
  ClassicalStepper& classical() { return *classical_; }
  SurrogateStepper& surrogate() { return *surrogate_; }
  const HybridSettings& settings() const { return settings_; }

  StepperCapabilities capabilities() const override { return surrogate_->capabilities(); }
  /// Brings the fields up to date with the surrogate part's latest state. Collective.
  void synchronize(State& state) override { surrogate_->synchronize(state); }
  /// A host-computed state enters the surrogate part's history window. Collective.
  void pushHistory(const State& state) override { surrogate_->pushHistory(state); }
  /// surrogate_steps, classical_steps, rollbacks.
  std::vector<std::pair<std::string, std::int64_t>> counters() const override;

  const std::vector<StepperSwitch>& switches() const { return switches_; }
  std::int64_t surrogateStepsTaken() const { return surrogateTaken_; }
  std::int64_t classicalStepsTaken() const { return classicalTaken_; }
  /// Surrogate steps rejected by a trust indicator (each was redone classically).
  std::int64_t rollbacks() const { return rollbacks_; }

 protected:
  void doSetUp(const Mesh& mesh, State& state) override;
  StepResult doStep(State& state, double dt) override;

 private:
  StepResult classicalStep(State& state, double dt);
  /// Empty when the surrogate's new state can be trusted, else the reason.
  std::string distrust(const State& before, const State& after);
  void switchTo(const std::string& mode, const State& state, const std::string& reason);
  std::unique_ptr<ClassicalStepper> classical_;
  std::unique_ptr<SurrogateStepper> surrogate_;
  HybridSettings settings_;
  std::string mode_ = "surrogate";
  std::int64_t inMode_ = 0;  // steps taken in the current mode
  std::int64_t surrogateTaken_ = 0, classicalTaken_ = 0, rollbacks_ = 0;
  std::vector<StepperSwitch> switches_;
};

/// Registers "hybrid" in lats::timeSteppers() (done by registerSteppers(), which runs when
/// the library is loaded).
void registerHybridStepper();

}  // namespace lats::coupling
