#pragma once
/// \file trust_policy.hpp
/// Trust policies of the hybrid stepper: which of its two parts takes the next step, and
/// whether a step of the fast part can be kept. A registry (-lats_hybrid_policy) like the
/// steppers': "schedule" (k fast steps, then m reference steps, repeated), "error" (every
/// fast step is judged by trust indicators: conserved integrals, growth of max |u|, ensemble
/// spread, comparison with a reference step; a trip rolls back and falls back to the
/// reference for a while) and "spread" (error control by the ensemble spread alone).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lats/core/mesh.hpp"
#include "lats/core/registry.hpp"
#include "lats/core/state.hpp"

namespace lats {
class TimeStepper;
}

namespace lats::coupling {

/// The parameters of the built-in policies (-lats_hybrid_*). A policy of your own may read
/// options of its own in setFromOptions().
struct HybridSettings {
  std::string policy = "schedule";      ///< the trust policy (registry name)
  std::string fast = "surrogate";       ///< the stepper tried first (registry name)
  std::string reference = "classical";  ///< the stepper that is trusted (registry name)
  std::int64_t surrogateSteps = 4;      ///< schedule: k fast steps ...
  std::int64_t classicalSteps = 1;      ///< ... then m reference steps
  // Error control: each indicator is off when its tolerance is 0.
  double conservedTolerance = 0.0;  ///< relative change of a component's integral per step
  double boundTolerance = 0.25;     ///< relative growth of max |u| per step
  double spreadTolerance = 0.0;     ///< ensemble spread (max) relative to the field's RMS
  std::int64_t residualEvery = 0;   ///< every r-th fast step is checked against a reference step
  double residualTolerance = 0.05;  ///< relative L2 difference allowed in that check
  std::int64_t fallbackSteps = 4;   ///< reference steps after a trip before the fast part is tried again
  /// Begin with reference steps (the schedule's m, or fallbackSteps under error control): the
  /// fast part then starts from a true history window instead of the initial state repeated
  /// (surrogates with history > 1 need this).
  bool startClassical = false;

  /// From -lats_hybrid_policy, -lats_hybrid_fast, -lats_hybrid_reference,
  /// -lats_hybrid_surrogate_steps, -lats_hybrid_classical_steps, -lats_hybrid_conserved_tol,
  /// -lats_hybrid_bound_tol, -lats_hybrid_spread_tol, -lats_hybrid_residual_every,
  /// -lats_hybrid_residual_tol, -lats_hybrid_fallback_steps, -lats_hybrid_start_classical.
  static HybridSettings fromOptions();
  /// InvalidValueError naming the option for counts < 0 (or both 0) and negative or
  /// non-finite tolerances.
  void validate() const;
};

/// The two parts of a hybrid stepper.
enum class HybridPart { Fast, Reference };

/// What a policy may look at when it judges a step of the fast part.
struct TrustCheck {
  const Mesh& mesh;
  const State& before;                     ///< the state the step started from
  const State& after;                      ///< the fast part's new state (fields current)
  const std::vector<std::string>& fields;  ///< the fields both parts evolve
  const TimeStepper& fast;                 ///< for its spread()
  /// A step of the reference part from `before` (taken once, on first call; when the fast
  /// step is then rejected, the hybrid keeps it instead of stepping again). Null when the
  /// reference step failed. Collective.
  std::function<const State*()> reference;
};

/// Decides, step by step, which part of a hybrid stepper runs. Not collective unless said:
/// every rank makes the same decisions from the same (reduced) numbers.
class TrustPolicy {
 public:
  virtual ~TrustPolicy();
  /// Registry name.
  virtual std::string type() const = 0;
  /// The hybrid's settings (-lats_hybrid_*); built-in policies take their parameters from
  /// them. Checks them: InvalidValueError naming the option.
  virtual void setSettings(const HybridSettings& settings) = 0;
  /// Reads options of the policy's own beyond HybridSettings. Default: none.
  virtual void setFromOptions() {}
  /// Starts a run with these parts (counts back to zero); ConfigurationError when the policy
  /// cannot judge them (e.g. "spread" with a fast part that is not an ensemble).
  virtual void start(const TimeStepper& fast, const TimeStepper& reference) = 0;
  /// The part that takes the next step; `why` gets the reason when it differs from the
  /// part of the previous step.
  virtual HybridPart next(std::string& why) = 0;
  /// Whether steps of the fast part are judged (the hybrid then keeps the state before each
  /// to roll back to).
  virtual bool judges() const { return false; }
  /// Empty when the fast step can be kept, else why not. Collective.
  virtual std::string judge(const TrustCheck& /*check*/) { return {}; }
  /// The last fast step was rejected for `why`: it is redone by the reference part, which
  /// counts as the first step of the fall-back.
  virtual void rejected(const std::string& /*why*/) {}
  /// One line for -ts_view and logs, e.g. "schedule of 3 fast + 1 reference steps".
  virtual std::string describe() const = 0;
};

/// The global registry of trust policies (schedule, error, spread).
Registry<TrustPolicy>& trustPolicies();

}  // namespace lats::coupling
