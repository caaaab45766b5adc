#include "lats/coupling/hybrid_stepper.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/log.hpp"
#include "lats/core/options.hpp"

namespace lats::coupling {
namespace {

const EnumOption kPolicy{
    "hybrid_policy",
    "schedule",
    {"schedule", "error"},
    "hybrid: fixed schedule (k surrogate, m classical steps) or error control by trust indicators"};
const IntOption kSurrogateSteps{"hybrid_surrogate_steps", 4, "hybrid schedule: surrogate steps per cycle"};
const IntOption kClassicalSteps{"hybrid_classical_steps", 1, "hybrid schedule: classical steps per cycle"};
const RealOption kConservedTol{"hybrid_conserved_tol", 0.0,
                               "hybrid error control: allowed relative change of each component's integral per "
                               "surrogate step (0: off; for conservative equations)"};
const RealOption kBoundTol{"hybrid_bound_tol", 0.25,
                           "hybrid error control: allowed relative growth of max |u| per surrogate step (0: off)"};
const RealOption kSpreadTol{"hybrid_spread_tol", 0.0,
                            "hybrid error control: allowed ensemble spread relative to the field's RMS (0: off)"};
const IntOption kResidualEvery{
    "hybrid_residual_every", 0,
    "hybrid error control: check every r-th surrogate step against a classical step from the same state (0: off)"};
const RealOption kResidualTol{"hybrid_residual_tol", 0.05,
                              "hybrid error control: allowed relative L2 difference in that check"};
const BoolOption kStartClassical{"hybrid_start_classical", false,
                                 "hybrid: begin with classical steps, so the surrogate starts from a true history"};
const IntOption kFallbackSteps{"hybrid_fallback_steps", 4,
                               "hybrid error control: classical steps after a trip before the surrogate is retried"};

/// Global sums over the owned entities of `fields` of `state`.
struct Norms {
  std::vector<double> integrals;  // per component, volume-weighted
  double maxAbs = 0.0, sumSquares = 0.0;
};

Norms norms(const Mesh& mesh, const State& state, const std::vector<std::string>& fields) {
  Norms n;
  const auto vol = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh.volumes());
  for (const auto& name : fields) {
    const Field& f = state.field(name);
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), f.view());
    for (int c = 0; c < f.numComponents(); ++c) {
      double integral = 0.0;
      for (std::int64_t i = 0; i < mesh.ownedSize(); ++i) {
        const double v = h(i, c);
        integral += (mesh.hasVolumes() ? vol(i) : 1.0) * v;
        n.maxAbs = std::max(n.maxAbs, std::abs(v));
        n.sumSquares += v * v;
      }
      n.integrals.push_back(integral);
    }
  }
  MPI_Allreduce(MPI_IN_PLACE, n.integrals.data(), static_cast<int>(n.integrals.size()), MPI_DOUBLE, MPI_SUM,
                mesh.comm());
  MPI_Allreduce(MPI_IN_PLACE, &n.maxAbs, 1, MPI_DOUBLE, MPI_MAX, mesh.comm());
  MPI_Allreduce(MPI_IN_PLACE, &n.sumSquares, 1, MPI_DOUBLE, MPI_SUM, mesh.comm());
  return n;
}

/// || a - b || / || b || over the owned entities of `fields`, all ranks.
double relativeDifference(const Mesh& mesh, const State& a, const State& b, const std::vector<std::string>& fields) {
  double s[2] = {0.0, 0.0};
  for (const auto& name : fields) {
    auto ha = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.field(name).view());
    auto hb = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b.field(name).view());
    for (std::int64_t i = 0; i < mesh.ownedSize(); ++i)
      for (std::size_t c = 0; c < ha.extent(1); ++c) {
        s[0] += (ha(i, c) - hb(i, c)) * (ha(i, c) - hb(i, c));
        s[1] += hb(i, c) * hb(i, c);
      }
  }
  MPI_Allreduce(MPI_IN_PLACE, s, 2, MPI_DOUBLE, MPI_SUM, mesh.comm());
  return std::sqrt(s[0] / std::max(s[1], 1e-300));
}

std::string format(double v) {
  std::ostringstream os;
  os.precision(3);
  os << v;
  return os.str();
}

}  // namespace

HybridSettings HybridSettings::fromOptions() {
  HybridSettings s;
  s.policy = kPolicy.get();
  s.surrogateSteps = kSurrogateSteps.get();
  s.classicalSteps = kClassicalSteps.get();
  s.conservedTolerance = kConservedTol.get();
  s.boundTolerance = kBoundTol.get();
  s.spreadTolerance = kSpreadTol.get();
  s.residualEvery = kResidualEvery.get();
  s.residualTolerance = kResidualTol.get();
  s.fallbackSteps = kFallbackSteps.get();
  s.startClassical = kStartClassical.get();
  return s;
}

HybridStepper::HybridStepper()
    : classical_(std::make_unique<ClassicalStepper>()), surrogate_(std::make_unique<SurrogateStepper>()) {}

HybridStepper::HybridStepper(std::unique_ptr<ClassicalStepper> classical, std::unique_ptr<SurrogateStepper> surrogate,
                             HybridSettings settings)
    : classical_(std::move(classical)), surrogate_(std::move(surrogate)), settings_(std::move(settings)) {
  LATS_CHECK(classical_ && surrogate_, ConfigurationError, "hybrid stepper: needs a classical and a surrogate stepper");
}

HybridStepper::~HybridStepper() = default;

void HybridStepper::setFromOptions() {
  classical_->setFromOptions();
  surrogate_->setFromOptions();
  settings_ = HybridSettings::fromOptions();
}

void HybridStepper::doSetUp(const Mesh& /*mesh*/, State& state) {
  const auto& s = settings_;
  LATS_CHECK(s.policy == "schedule" || s.policy == "error", ConfigurationError,
             "hybrid stepper: policy '" << s.policy << "'; expected schedule or error (-lats_hybrid_policy)");
  LATS_CHECK(s.surrogateSteps >= 0 && s.classicalSteps >= 0 && s.surrogateSteps + s.classicalSteps > 0,
             InvalidValueError,
             "hybrid stepper: schedule of " << s.surrogateSteps << " surrogate and " << s.classicalSteps
                                            << " classical steps; expected counts >= 0, not both 0");
  for (double tol : {s.conservedTolerance, s.boundTolerance, s.spreadTolerance, s.residualTolerance})
    LATS_CHECK(tol >= 0 && std::isfinite(tol), InvalidValueError,
               "hybrid stepper: tolerance " << tol << "; expected a finite value >= 0 (0 switches a check off)");
  LATS_CHECK(s.residualEvery >= 0 && s.fallbackSteps >= 1, InvalidValueError,
             "hybrid stepper: -lats_hybrid_residual_every " << s.residualEvery << " (expected >= 0) and "
                                                            << "-lats_hybrid_fallback_steps " << s.fallbackSteps
                                                            << " (expected >= 1)");
  classical_->setUp(mesh(), state);
  surrogate_->setUp(mesh(), state);
  const auto& fields = surrogate_->rollout().info().fieldNames;
  LATS_CHECK(fields.size() == 1 && fields[0] == classical_->equation(), ModelMismatchError,
             "hybrid stepper: the model evolves the field(s) '"
                 << fields.front() << "' but the classical solver evolves '" << classical_->equation()
                 << "'; train the model on data of the same equation");
  mode_ = (s.policy == "schedule" && s.surrogateSteps == 0) || s.startClassical ? "classical" : "surrogate";
  inMode_ = 0;
  surrogateTaken_ = classicalTaken_ = rollbacks_ = 0;
  switches_.clear();
}

void HybridStepper::switchTo(const std::string& mode, const State& state, const std::string& reason) {
  switches_.push_back({state.stepIndex(), state.time(), mode_, mode, reason});
  if (Comm(mesh()->comm()).rank() == 0)
    logInfo() << "hybrid: " << mode_ << " -> " << mode << " at step " << state.stepIndex() << ", t = " << state.time()
              << ": " << reason;
  mode_ = mode;
  inMode_ = 0;
}

StepResult HybridStepper::classicalStep(State& state, double dt) {
  surrogate_->synchronize(state);  // the classical step starts from the surrogate's latest state
  StepResult r = classical_->step(state, dt);
  // step() advanced the time and index; ours are advanced again by the base class.
  if (r.ok()) {
    state.setTime(state.time() - r.dtTaken);
    state.setStepIndex(state.stepIndex() - 1);
    surrogate_->pushHistory(state);
    ++classicalTaken_;
  }
  return r;
}

std::string HybridStepper::distrust(const State& before, const State& after) {
  const auto& s = settings_;
  const auto& fields = surrogate_->rollout().info().fieldNames;
  const Norms b = norms(*mesh(), before, fields), a = norms(*mesh(), after, fields);
  if (!std::isfinite(a.sumSquares)) return "non-finite values in the surrogate's state";
  if (s.conservedTolerance > 0)
    for (std::size_t c = 0; c < a.integrals.size(); ++c) {
      const double scale = std::max(std::abs(b.integrals[c]), 1e-12 * std::sqrt(b.sumSquares));
      const double change = std::abs(a.integrals[c] - b.integrals[c]) / std::max(scale, 1e-300);
      if (change > s.conservedTolerance)
        return "the integral of component " + std::to_string(c) + " changed by " + format(change) +
               " (relative) in one step; tolerance " + format(s.conservedTolerance) + " (-lats_hybrid_conserved_tol)";
    }
  if (s.boundTolerance > 0 && a.maxAbs > (1.0 + s.boundTolerance) * b.maxAbs)
    return "max |u| grew from " + format(b.maxAbs) + " to " + format(a.maxAbs) + " in one step; tolerance " +
           format(s.boundTolerance) + " (-lats_hybrid_bound_tol)";
  if (s.spreadTolerance > 0 && surrogate_->rollout().members() > 1) {
    double worst = 0.0;
    for (double v : surrogate_->rollout().spread()) worst = std::max(worst, v);
    MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPI_DOUBLE, MPI_MAX, mesh()->comm());
    const double rms = std::sqrt(a.sumSquares / std::max<double>(1.0, static_cast<double>(mesh()->globalSize())));
    if (worst > s.spreadTolerance * rms)
      return "ensemble spread " + format(worst) + " exceeds " + format(s.spreadTolerance) + " x RMS " + format(rms) +
             " (-lats_hybrid_spread_tol)";
  }
  return {};
}

StepResult HybridStepper::doStep(State& state, double dt) {
  const auto& s = settings_;
  if (s.policy == "schedule") {
    if (mode_ == "surrogate" && inMode_ >= s.surrogateSteps && s.classicalSteps > 0)
      switchTo("classical", state, "schedule: " + std::to_string(s.surrogateSteps) + " surrogate steps done");
    else if (mode_ == "classical" && inMode_ >= s.classicalSteps && s.surrogateSteps > 0)
      switchTo("surrogate", state, "schedule: " + std::to_string(s.classicalSteps) + " classical steps done");
  } else if (mode_ == "classical" && inMode_ >= s.fallbackSteps) {
    switchTo("surrogate", state, std::to_string(s.fallbackSteps) + " classical steps since the last trip");
  }
  ++inMode_;
  if (mode_ == "classical") return classicalStep(state, dt);

  // A surrogate step; under error control, checked before it is accepted.
  const bool check = s.policy == "error";
  State before = check ? state.clone() : State();
  if (check) surrogate_->saveState();
  StepResult r = surrogate_->step(state, dt);
  if (r.ok()) {
    state.setTime(state.time() - r.dtTaken);
    state.setStepIndex(state.stepIndex() - 1);
    // The checks read the decoded state; a schedule decodes as the surrogate's own
    // -lats_surrogate_decode_every says, and before the next classical step.
    if (check) surrogate_->synchronize(state);
  }
  if (!check) {
    if (r.ok()) ++surrogateTaken_;
    return r;
  }
  std::string reason = r.ok() ? distrust(before, state) : "the surrogate step failed: " + r.reason;
  State reference;
  if (reason.empty() && s.residualEvery > 0 && (surrogateTaken_ + 1) % s.residualEvery == 0) {
    reference = before.clone();
    const StepResult c = classical_->step(reference, r.dtTaken);
    if (c.ok()) {
      const double diff = relativeDifference(*mesh(), state, reference, {classical_->equation()});
      if (diff > s.residualTolerance)
        reason = "a classical step from the same state differs by " + format(diff) + " (relative L2); tolerance " +
                 format(s.residualTolerance) + " (-lats_hybrid_residual_tol)";
    }
  }
  if (reason.empty()) {
    ++surrogateTaken_;
    return r;
  }
  // Roll back to the trusted state and take the step classically.
  ++rollbacks_;
  surrogate_->restoreState();
  state.copyFrom(before);
  switchTo("classical", state, reason);
  ++inMode_;
  if (reference.numFields() > 0) {  // the residual check already took this classical step
    reference.setTime(before.time());
    reference.setStepIndex(before.stepIndex());
    state.copyFrom(reference);
    surrogate_->pushHistory(state);
    ++classicalTaken_;
    return r;
  }
  return classicalStep(state, dt);
}

std::vector<std::pair<std::string, std::int64_t>> HybridStepper::counters() const {
  return {{"surrogate_steps", surrogateTaken_}, {"classical_steps", classicalTaken_}, {"rollbacks", rollbacks_}};
}

void registerHybridStepper() {
  timeSteppers().addIfAbsent("hybrid",
                             "surrogate steps where trusted, classical otherwise (-lats_hybrid_policy schedule|error)",
                             [] { return std::make_unique<HybridStepper>(); });
}

}  // namespace lats::coupling
