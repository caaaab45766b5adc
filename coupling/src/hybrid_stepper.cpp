#include "lats/coupling/hybrid_stepper.hpp"

#include <algorithm>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/log.hpp"
#include "lats/core/strings.hpp"

namespace lats::coupling {

HybridStepper::HybridStepper() = default;

HybridStepper::HybridStepper(std::unique_ptr<TimeStepper> fast, std::unique_ptr<TimeStepper> reference,
                             std::unique_ptr<TrustPolicy> policy)
    : fast_(std::move(fast)), reference_(std::move(reference)), policy_(std::move(policy)) {
  LATS_CHECK(fast_ && reference_ && policy_, ConfigurationError,
             "hybrid stepper: needs a fast part, a reference part and a trust policy");
  settings_.fast = fast_->type();
  settings_.reference = reference_->type();
  settings_.policy = policy_->type();
}

HybridStepper::HybridStepper(std::unique_ptr<TimeStepper> fast, std::unique_ptr<TimeStepper> reference,
                             const HybridSettings& settings)
    : fast_(std::move(fast)), reference_(std::move(reference)), settings_(settings) {
  LATS_CHECK(fast_ && reference_, ConfigurationError, "hybrid stepper: needs a fast part and a reference part");
  settings_.fast = fast_->type();
  settings_.reference = reference_->type();
}

HybridStepper::~HybridStepper() = default;

void HybridStepper::makeParts(bool fromOptions) {
  auto make = [&](const std::string& name) {
    LATS_CHECK(name != "hybrid", ConfigurationError,
               "hybrid stepper: a part of a hybrid cannot be a hybrid itself (-lats_hybrid_fast, "
               "-lats_hybrid_reference)");
    auto part = factory_ ? factory_(name) : timeSteppers().create(name);
    LATS_CHECK(part != nullptr, ConfigurationError, "hybrid stepper: no stepper '" << name << "' could be made");
    if (fromOptions) part->setFromOptions();
    return part;
  };
  if (!fast_) fast_ = make(settings_.fast);
  if (!reference_) reference_ = make(settings_.reference);
}

void HybridStepper::setFromOptions() {
  const bool given = fast_ && reference_;
  const auto fast = settings_.fast, reference = settings_.reference;
  settings_ = HybridSettings::fromOptions();
  if (given) {  // parts given in code keep their names
    settings_.fast = fast;
    settings_.reference = reference;
    fast_->setFromOptions();
    reference_->setFromOptions();
  }
  makeParts(true);
  policy_.reset();
}

StepperCapabilities HybridStepper::capabilities() const {
  StepperCapabilities c = fast_ ? fast_->capabilities() : StepperCapabilities{};
  c.internalState = true;  // the policy's counts and the parts' states
  return c;
}

void HybridStepper::synchronize(State& state) { fast_->synchronize(state); }

void HybridStepper::pushHistory(const State& state) { fast_->pushHistory(state); }

std::vector<std::string> HybridStepper::evolvedFields() const { return fields_; }

double HybridStepper::spread() const { return part_ == HybridPart::Fast && fast_ ? fast_->spread() : 0.0; }

void HybridStepper::setHostReportsChanges(bool reports) {
  hostReports_ = reports;
  if (fast_) fast_->setHostReportsChanges(reports);
}

void HybridStepper::fieldsChangedByHost() {
  if (fast_) fast_->fieldsChangedByHost();
}

std::string HybridStepper::nameOf(HybridPart part) const {
  return part == HybridPart::Fast ? settings_.fast : settings_.reference;
}

void HybridStepper::doSetUp(const Mesh& /*mesh*/, State& state) {
  makeParts(true);
  if (!policy_) policy_ = trustPolicies().create(settings_.policy);
  policy_->setSettings(settings_);
  policy_->setFromOptions();
  fast_->setHostReportsChanges(hostReports_);
  fast_->setUp(mesh(), state);
  reference_->setUp(mesh(), state);
  // Both parts must evolve the same fields; a part that names none evolves them all.
  auto fields = [&](const TimeStepper& part) {
    auto f = part.evolvedFields();
    if (f.empty()) f = state.fieldNames();
    std::sort(f.begin(), f.end());
    return f;
  };
  const auto f = fields(*fast_), r = fields(*reference_);
  LATS_CHECK(f == r, ModelMismatchError,
             "hybrid stepper: the " << settings_.fast << " part evolves the field(s) '" << join(f, "', '")
                                    << "' but the " << settings_.reference << " part evolves '" << join(r, "', '")
                                    << "'; train the model on data of the same equation");
  fields_ = f;
  policy_->start(*fast_, *reference_);
  part_ = HybridPart::Fast;
  started_ = false;
  fastTaken_ = referenceTaken_ = rollbacks_ = 0;
  switches_.clear();
}

void HybridStepper::switchTo(HybridPart part, const State& state, const std::string& reason) {
  switches_.push_back({state.stepIndex(), state.time(), nameOf(part_), nameOf(part), reason});
  if (Comm(mesh()->comm()).rank() == 0)
    logInfo() << "hybrid: " << nameOf(part_) << " -> " << nameOf(part) << " at step " << state.stepIndex()
              << ", t = " << state.time() << ": " << reason;
  part_ = part;
}

StepResult HybridStepper::referenceStep(State& state, double dt) {
  fast_->synchronize(state);  // the reference step starts from the fast part's latest state
  StepResult r = reference_->step(state, dt);
  // step() advanced the time and index; ours are advanced again by the base class.
  if (r.ok()) {
    state.setTime(state.time() - r.dtTaken);
    state.setStepIndex(state.stepIndex() - 1);
    fast_->pushHistory(state);
    ++referenceTaken_;
  }
  return r;
}

StepResult HybridStepper::doStep(State& state, double dt) {
  std::string why;
  const HybridPart part = policy_->next(why);
  if (!started_)
    part_ = part;  // the policy's first choice is not a switch
  else if (part != part_)
    switchTo(part, state, why.empty() ? "the trust policy " + policy_->type() + " says so" : why);
  started_ = true;
  if (part == HybridPart::Reference) return referenceStep(state, dt);

  // A fast step; judged before it is kept when the policy judges.
  const bool judged = policy_->judges();
  State before = judged ? state.clone() : State();
  if (judged) fast_->saveState();
  StepResult r = fast_->step(state, dt);
  if (r.ok()) {
    state.setTime(state.time() - r.dtTaken);
    state.setStepIndex(state.stepIndex() - 1);
    // The policy reads the current state; unjudged steps decode as the fast part says
    // (-lats_surrogate_decode_every), and before the next reference step.
    if (judged) fast_->synchronize(state);
  }
  if (!judged) {
    if (r.ok()) {
      ++fastTaken_;
      return r;
    }
    // A failed fast step (non-finite latent state, a step it cannot take) left the state
    // as it was: the reference part takes this step, under every policy.
    ++rollbacks_;
    switchTo(HybridPart::Reference, state, "the " + settings_.fast + " step failed: " + r.reason);
    return referenceStep(state, dt);
  }
  State reference;
  bool referenceTried = false;
  StepResult referenceResult;
  std::string reason;
  if (!r.ok()) {
    reason = "the " + settings_.fast + " step failed: " + r.reason;
  } else {
    TrustCheck check{*mesh(), before, state, fields_, *fast_, [&]() -> const State* {
                       if (!referenceTried) {
                         referenceTried = true;
                         reference = before.clone();
                         referenceResult = reference_->step(reference, r.dtTaken);
                       }
                       return referenceResult.ok() ? &reference : nullptr;
                     }};
    reason = policy_->judge(check);
  }
  if (reason.empty()) {
    ++fastTaken_;
    return r;
  }
  // Roll back to the trusted state and take the step with the reference part.
  ++rollbacks_;
  fast_->restoreState();
  state.copyFrom(before);
  policy_->rejected(reason);
  switchTo(HybridPart::Reference, state, reason);
  if (referenceTried && referenceResult.ok()) {  // the policy's check already took this step
    reference.setTime(before.time());
    reference.setStepIndex(before.stepIndex());
    state.copyFrom(reference);
    fast_->pushHistory(state);
    ++referenceTaken_;
    return referenceResult;
  }
  return referenceStep(state, dt);
}

std::vector<std::pair<std::string, std::int64_t>> HybridStepper::counters() const {
  return {{"fast_steps", fastTaken_},
          {"reference_steps", referenceTaken_},
          {"rollbacks", rollbacks_},
          {"switches", static_cast<std::int64_t>(switches_.size())}};
}

void registerHybridStepper() {
  timeSteppers().addIfAbsent("hybrid",
                             "steps of a fast stepper where a trust policy trusts them, of a reference stepper "
                             "otherwise (-lats_hybrid_policy schedule|error|spread)",
                             [] { return std::make_unique<HybridStepper>(); });
}

}  // namespace lats::coupling
