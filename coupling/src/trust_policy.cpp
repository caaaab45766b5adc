#include "lats/coupling/trust_policy.hpp"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "lats/core/error.hpp"
#include "lats/core/options.hpp"
#include "lats/core/time_stepper.hpp"

namespace lats::coupling {
namespace {

const StringOption kPolicy{"hybrid_policy", "schedule",
                           "hybrid: the trust policy (schedule: k fast, m reference steps; error: trust indicators; "
                           "spread: the ensemble spread); see lats help"};
const StringOption kFast{"hybrid_fast", "surrogate", "hybrid: the stepper tried first (a registered stepper)"};
const StringOption kReference{"hybrid_reference", "classical",
                              "hybrid: the trusted stepper (a registered stepper; the PETSc TS type and the C API "
                              "answer 'classical' with the host's own step)"};
const IntOption kSurrogateSteps{"hybrid_surrogate_steps", 4, "hybrid schedule: fast (surrogate) steps per cycle"};
const IntOption kClassicalSteps{"hybrid_classical_steps", 1, "hybrid schedule: reference (classical) steps per cycle"};
const RealOption kConservedTol{"hybrid_conserved_tol", 0.0,
                               "hybrid error control: allowed relative change of each component's integral per "
                               "fast step (0: off; for conservative equations)"};
const RealOption kBoundTol{"hybrid_bound_tol", 0.25,
                           "hybrid error control: allowed relative growth of max |u| per fast step (0: off)"};
const RealOption kSpreadTol{"hybrid_spread_tol", 0.0,
                            "hybrid error control: allowed ensemble spread relative to the field's RMS (0: off)"};
const IntOption kResidualEvery{
    "hybrid_residual_every", 0,
    "hybrid error control: check every r-th fast step against a reference step from the same state (0: off)"};
const RealOption kResidualTol{"hybrid_residual_tol", 0.05,
                              "hybrid error control: allowed relative L2 difference in that check"};
const BoolOption kStartClassical{"hybrid_start_classical", false,
                                 "hybrid: begin with reference steps, so the fast part starts from a true history"};
const IntOption kFallbackSteps{"hybrid_fallback_steps", 4,
                               "hybrid error control: reference steps after a trip before the fast part is retried"};

std::string format(double v) {
  std::ostringstream os;
  os.precision(3);
  os << v;
  return os.str();
}

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

}  // namespace

void HybridSettings::validate() const {
  const HybridSettings& s = *this;
  LATS_CHECK(s.surrogateSteps >= 0 && s.classicalSteps >= 0 && s.surrogateSteps + s.classicalSteps > 0,
             InvalidValueError,
             "hybrid schedule of " << s.surrogateSteps << " fast and " << s.classicalSteps
                                   << " reference steps (-lats_hybrid_surrogate_steps, -lats_hybrid_classical_steps); "
                                      "expected counts >= 0, not both 0");
  for (double tol : {s.conservedTolerance, s.boundTolerance, s.spreadTolerance, s.residualTolerance})
    LATS_CHECK(tol >= 0 && std::isfinite(tol), InvalidValueError,
               "hybrid stepper: tolerance " << tol << "; expected a finite value >= 0 (0 switches a check off)");
  LATS_CHECK(s.residualEvery >= 0 && s.fallbackSteps >= 1, InvalidValueError,
             "hybrid stepper: -lats_hybrid_residual_every " << s.residualEvery << " (expected >= 0) and "
                                                            << "-lats_hybrid_fallback_steps " << s.fallbackSteps
                                                            << " (expected >= 1)");
}

namespace {

/// k fast steps, then m reference steps, repeated; nothing is judged.
class SchedulePolicy final : public TrustPolicy {
 public:
  std::string type() const override { return "schedule"; }
  void setSettings(const HybridSettings& s) override {
    s.validate();
    s_ = s;
  }
  void start(const TimeStepper&, const TimeStepper&) override {
    mode_ = s_.surrogateSteps == 0 || s_.startClassical ? HybridPart::Reference : HybridPart::Fast;
    inMode_ = 0;
  }
  HybridPart next(std::string& why) override {
    const std::int64_t k = s_.surrogateSteps, m = s_.classicalSteps;
    if (mode_ == HybridPart::Fast && inMode_ >= k && m > 0) {
      why = "schedule: " + std::to_string(k) + " " + s_.fast + " steps done";
      mode_ = HybridPart::Reference;
      inMode_ = 0;
    } else if (mode_ == HybridPart::Reference && inMode_ >= m && k > 0) {
      why = "schedule: " + std::to_string(m) + " " + s_.reference + " steps done";
      mode_ = HybridPart::Fast;
      inMode_ = 0;
    }
    ++inMode_;
    return mode_;
  }
  std::string describe() const override {
    return "schedule of " + std::to_string(s_.surrogateSteps) + " " + s_.fast + " + " +
           std::to_string(s_.classicalSteps) + " " + s_.reference + " steps";
  }

 private:
  HybridSettings s_;
  HybridPart mode_ = HybridPart::Fast;
  std::int64_t inMode_ = 0;
};

/// Every fast step is judged; a trip rolls back and hands fallbackSteps steps to the
/// reference part. `spreadOnly`: the ensemble spread is the one indicator.
class IndicatorPolicy final : public TrustPolicy {
 public:
  explicit IndicatorPolicy(bool spreadOnly) : spreadOnly_(spreadOnly) {}
  std::string type() const override { return spreadOnly_ ? "spread" : "error"; }
  void setSettings(const HybridSettings& s) override {
    s.validate();
    LATS_CHECK(!spreadOnly_ || s.spreadTolerance > 0, InvalidValueError,
               "hybrid policy 'spread': -lats_hybrid_spread_tol " << s.spreadTolerance
                                                                  << "; expected > 0 (the spread allowed, relative "
                                                                     "to the field's RMS)");
    s_ = s;
  }
  void start(const TimeStepper& fast, const TimeStepper&) override {
    LATS_CHECK(!spreadOnly_ || fast.capabilities().ensemble, ConfigurationError,
               "hybrid policy 'spread' judges the spread of an ensemble, but the fast part '"
                   << fast.type() << "' is a single run; give it members (-lats_surrogate_ensemble 8) or use "
                   << "-lats_hybrid_policy error");
    mode_ = s_.startClassical ? HybridPart::Reference : HybridPart::Fast;
    inMode_ = 0;
    accepted_ = 0;
  }
  HybridPart next(std::string& why) override {
    if (mode_ == HybridPart::Reference && inMode_ >= s_.fallbackSteps) {
      why = std::to_string(s_.fallbackSteps) + " " + s_.reference + " steps since the last trip";
      mode_ = HybridPart::Fast;
      inMode_ = 0;
    }
    ++inMode_;
    return mode_;
  }
  bool judges() const override { return true; }
  std::string judge(const TrustCheck& c) override {
    const Norms b = norms(c.mesh, c.before, c.fields), a = norms(c.mesh, c.after, c.fields);
    if (!std::isfinite(a.sumSquares)) return "non-finite values in the " + s_.fast + " state";
    const bool all = !spreadOnly_;
    if (all && s_.conservedTolerance > 0)
      for (std::size_t k = 0; k < a.integrals.size(); ++k) {
        const double scale = std::max(std::abs(b.integrals[k]), 1e-12 * std::sqrt(b.sumSquares));
        const double change = std::abs(a.integrals[k] - b.integrals[k]) / std::max(scale, 1e-300);
        if (change > s_.conservedTolerance)
          return "the integral of component " + std::to_string(k) + " changed by " + format(change) +
                 " (relative) in one step; tolerance " + format(s_.conservedTolerance) +
                 " (-lats_hybrid_conserved_tol)";
      }
    if (all && s_.boundTolerance > 0 && a.maxAbs > (1.0 + s_.boundTolerance) * b.maxAbs)
      return "max |u| grew from " + format(b.maxAbs) + " to " + format(a.maxAbs) + " in one step; tolerance " +
             format(s_.boundTolerance) + " (-lats_hybrid_bound_tol)";
    if (s_.spreadTolerance > 0 && c.fast.capabilities().ensemble) {
      double worst = c.fast.spread();
      MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPI_DOUBLE, MPI_MAX, c.mesh.comm());
      const double rms = std::sqrt(a.sumSquares / std::max<double>(1.0, static_cast<double>(c.mesh.globalSize())));
      if (worst > s_.spreadTolerance * rms)
        return "ensemble spread " + format(worst) + " exceeds " + format(s_.spreadTolerance) + " x RMS " + format(rms) +
               " (-lats_hybrid_spread_tol)";
    }
    if (all && s_.residualEvery > 0 && (accepted_ + 1) % s_.residualEvery == 0) {
      if (const State* reference = c.reference()) {
        const double diff = relativeDifference(c.mesh, c.after, *reference, c.fields);
        if (diff > s_.residualTolerance)
          return "a " + s_.reference + " step from the same state differs by " + format(diff) +
                 " (relative L2); tolerance " + format(s_.residualTolerance) + " (-lats_hybrid_residual_tol)";
      }
    }
    ++accepted_;
    return {};
  }
  void rejected(const std::string&) override {
    mode_ = HybridPart::Reference;
    inMode_ = 1;  // the redo is the first step of the fall-back
  }
  std::string describe() const override {
    std::ostringstream os;
    if (spreadOnly_) {
      os << "spread control (ensemble spread <= " << s_.spreadTolerance << " x RMS";
    } else {
      os << "error control (";
      const char* sep = "";
      if (s_.conservedTolerance > 0) os << sep << "conserved " << s_.conservedTolerance, sep = ", ";
      if (s_.boundTolerance > 0) os << sep << "bound " << s_.boundTolerance, sep = ", ";
      if (s_.spreadTolerance > 0) os << sep << "spread " << s_.spreadTolerance, sep = ", ";
      if (s_.residualEvery > 0)
        os << sep << "residual " << s_.residualTolerance << " every " << s_.residualEvery << " steps", sep = ", ";
      if (!*sep) os << "no indicator";
    }
    os << "; " << s_.fallbackSteps << " " << s_.reference << " steps after a trip)";
    return os.str();
  }

 private:
  bool spreadOnly_;
  HybridSettings s_;
  HybridPart mode_ = HybridPart::Fast;
  std::int64_t inMode_ = 0, accepted_ = 0;
};

}  // namespace

HybridSettings HybridSettings::fromOptions() {
  HybridSettings s;
  s.policy = kPolicy.get();
  s.fast = kFast.get();
  s.reference = kReference.get();
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

TrustPolicy::~TrustPolicy() = default;

Registry<TrustPolicy>& trustPolicies() {
  static Registry<TrustPolicy> registry = [] {
    Registry<TrustPolicy> r("hybrid trust policy");
    r.add("schedule",
          "k fast steps, then m reference steps, repeated (-lats_hybrid_surrogate_steps, "
          "-lats_hybrid_classical_steps)",
          [] { return std::make_unique<SchedulePolicy>(); });
    r.add("error",
          "every fast step judged by trust indicators (-lats_hybrid_*_tol, -lats_hybrid_residual_every); "
          "a trip rolls back and falls back to the reference",
          [] { return std::make_unique<IndicatorPolicy>(false); });
    r.add("spread",
          "every fast step judged by its ensemble spread (-lats_hybrid_spread_tol); a trip rolls back and "
          "falls back to the reference",
          [] { return std::make_unique<IndicatorPolicy>(true); });
    return r;
  }();
  return registry;
}

}  // namespace lats::coupling
