#pragma once
/// \file hybrid_stepper.hpp
/// The hybrid stepper: steps of a fast part (a surrogate) where they can be trusted, steps of
/// a reference part (a classical solver) otherwise. Both parts are any TimeStepper; which one
/// runs is decided by a TrustPolicy from its registry (trust_policy.hpp): a fixed schedule,
/// error control by trust indicators with rollback, or the ensemble spread. Every switch is
/// logged (rank 0) with its reason and kept in switches().

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lats/core/time_stepper.hpp"
#include "lats/coupling/trust_policy.hpp"

namespace lats::coupling {

/// A change of the kind of step, with why.
struct StepperSwitch {
  std::int64_t step = 0;  ///< state.stepIndex() when it happened
  double time = 0.0;
  std::string from, to, reason;
};

/// Registry type "hybrid" (parts and policy from -lats_hybrid_fast, -lats_hybrid_reference,
/// -lats_hybrid_policy). Steps have the fast part's time step; the reference part integrates
/// the same interval (the classical stepper and the host's steps with their own inner
/// steps), and its states are pushed into the fast part's history. The parts must evolve
/// the same fields.
class HybridStepper : public TimeStepper {
 public:
  /// Parts and policy made from the options in setFromOptions() (or setUp()).
  HybridStepper();
  HybridStepper(std::unique_ptr<TimeStepper> fast, std::unique_ptr<TimeStepper> reference,
                std::unique_ptr<TrustPolicy> policy);
  /// The built-in policy settings.policy configured by `settings`.
  HybridStepper(std::unique_ptr<TimeStepper> fast, std::unique_ptr<TimeStepper> reference,
                const HybridSettings& settings);
  ~HybridStepper() override;
  std::string type() const override { return "hybrid"; }
  /// Reads -lats_hybrid_*; makes the parts named there that were not given (through the
  /// stepper factory) and lets each read its options.
  void setFromOptions() override;
  void setStepperFactory(StepperFactory factory) override { factory_ = std::move(factory); }
  TimeStepper& fast() { return *fast_; }
  TimeStepper& reference() { return *reference_; }
  const TrustPolicy& policy() const { return *policy_; }

  StepperCapabilities capabilities() const override;
  /// Brings the fields up to date with the fast part's latest state. Collective.
  void synchronize(State& state) override;
  /// A host-computed state enters the fast part's history window. Collective.
  void pushHistory(const State& state) override;
  std::vector<std::string> evolvedFields() const override;
  double spread() const override;
  /// Forwarded to the fast part.
  void setHostReportsChanges(bool reports) override;
  void fieldsChangedByHost() override;
  /// The fast part's.
  double preferredTimeStep() const override { return fast_ ? fast_->preferredTimeStep() : 0.0; }
  /// fast_steps, reference_steps, rollbacks, switches.
  std::vector<std::pair<std::string, std::int64_t>> counters() const override;

  const std::vector<StepperSwitch>& switches() const { return switches_; }
  std::int64_t fastStepsTaken() const { return fastTaken_; }
  std::int64_t referenceStepsTaken() const { return referenceTaken_; }
  /// Fast steps rejected by the policy (each was redone by the reference part).
  std::int64_t rollbacks() const { return rollbacks_; }

 protected:
  void doSetUp(const Mesh& mesh, State& state) override;
  StepResult doStep(State& state, double dt) override;

 private:
  void makeParts(bool fromOptions);
  StepResult referenceStep(State& state, double dt);
  void switchTo(HybridPart part, const State& state, const std::string& reason);
  std::string nameOf(HybridPart part) const;
  std::unique_ptr<TimeStepper> fast_, reference_;
  std::unique_ptr<TrustPolicy> policy_;
  HybridSettings settings_;
  StepperFactory factory_;
  std::vector<std::string> fields_;  // the fields both parts evolve
  HybridPart part_ = HybridPart::Fast;
  bool started_ = false;
  bool hostReports_ = false;
  std::int64_t fastTaken_ = 0, referenceTaken_ = 0, rollbacks_ = 0;
  std::vector<StepperSwitch> switches_;
};

/// Registers "hybrid" in lats::timeSteppers() (done by registerSteppers(), which runs when
/// the library is loaded).
void registerHybridStepper();

}  // namespace lats::coupling
