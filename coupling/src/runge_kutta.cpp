#include "lats/coupling/runge_kutta.hpp"

#include "lats/coupling/assimilating_stepper.hpp"
#include "lats/coupling/classical_stepper.hpp"
#include "lats/coupling/hybrid_stepper.hpp"
#include "lats/coupling/surrogate_stepper.hpp"

#include "lats/core/error.hpp"
#include "lats/core/options.hpp"
#include "lats/core/strings.hpp"

namespace lats::coupling {
namespace {
const EnumOption kScheme{
    "rk_scheme", "rk4", {"euler", "ssprk2", "ssprk3", "rk4"}, "explicit Runge-Kutta scheme of the 'rk' stepper"};

// out = base + dt * sum_j w_j k_j, over all entities and components.
void combine(const FieldView& out, const FieldView& base, double dt, const std::vector<double>& w,
             const std::vector<FieldView>& k) {
  const auto n = out.extent(0), nc = out.extent(1);
  Kokkos::parallel_for(
      "lats::RungeKuttaStepper::combine", Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {n, nc}),
      KOKKOS_LAMBDA(const std::size_t i, const std::size_t c) { out(i, c) = base(i, c); });
  for (std::size_t j = 0; j < w.size(); ++j) {
    if (w[j] == 0.0) continue;
    const double h = dt * w[j];
    const auto kj = k[j];
    Kokkos::parallel_for(
        "lats::RungeKuttaStepper::axpy", Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {n, nc}),
        KOKKOS_LAMBDA(const std::size_t i, const std::size_t c) { out(i, c) += h * kj(i, c); });
  }
}
}  // namespace

std::vector<std::string> ButcherTableau::names() { return {"euler", "ssprk2", "ssprk3", "rk4"}; }

ButcherTableau ButcherTableau::byName(const std::string& name) {
  if (name == "euler") return {"euler", 1, {{}}, {1.0}, {0.0}};
  if (name == "ssprk2") return {"ssprk2", 2, {{}, {1.0}}, {0.5, 0.5}, {0.0, 1.0}};
  if (name == "ssprk3") return {"ssprk3", 3, {{}, {1.0}, {0.25, 0.25}}, {1.0 / 6, 1.0 / 6, 2.0 / 3}, {0.0, 1.0, 0.5}};
  if (name == "rk4")
    return {
        "rk4", 4, {{}, {0.5}, {0.0, 0.5}, {0.0, 0.0, 1.0}}, {1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6}, {0.0, 0.5, 0.5, 1.0}};
  LATS_THROW(ConfigurationError, "unknown Runge-Kutta scheme '" << name << "'." << didYouMean(name, names())
                                                                << " Available: " << join(names(), ", "));
}

RungeKuttaStepper::RungeKuttaStepper(std::shared_ptr<RhsOperator> rhs, const std::string& scheme)
    : rhs_(std::move(rhs)), tableau_(ButcherTableau::byName(scheme)) {}

void RungeKuttaStepper::setFromOptions() { tableau_ = ButcherTableau::byName(kScheme.get()); }
void RungeKuttaStepper::setRhs(std::shared_ptr<RhsOperator> rhs) { rhs_ = std::move(rhs); }
void RungeKuttaStepper::setScheme(const std::string& scheme) { tableau_ = ButcherTableau::byName(scheme); }

void RungeKuttaStepper::doSetUp(const Mesh& mesh, State& state) {
  LATS_CHECK(rhs_ != nullptr, ConfigurationError,
             "time stepper 'rk' has no right-hand side; call setRhs() with an RhsOperator before setUp()");
  evolved_ = rhs_->fieldNames();
  LATS_CHECK(!evolved_.empty(), ConfigurationError, "the right-hand side of the 'rk' stepper evolves no field");
  State evolvedOnly;
  for (const auto& name : evolved_) {
    const Field& f = state.field(name);  // throws with a suggestion if absent
    LATS_CHECK(f.size() == mesh.size(), DimensionMismatchError,
               "field '" << name << "' has " << f.size() << " entities but the mesh has " << mesh.size());
    evolvedOnly.add(f);
  }
  rhs_->setUp(mesh, state);
  k_.clear();
  for (int s = 0; s < tableau_.stages(); ++s) k_.push_back(evolvedOnly.zerosLike());
  result_ = evolvedOnly.zerosLike();
  stage_ = State();
  const State scratch = evolvedOnly.zerosLike();
  for (const auto& f : state.fields()) {
    const bool evolved = scratch.has(f.name());
    stage_.add(evolved ? scratch.field(f.name()) : f);
  }
}

StepResult RungeKuttaStepper::doStep(State& state, double dt) {
  const double t = state.time();
  const int s = tableau_.stages();
  LATS_CHECK(static_cast<int>(k_.size()) == s, ConfigurationError,
             "the Runge-Kutta scheme changed after setUp(); call setUp() again");
  for (int i = 0; i < s; ++i) {
    for (const auto& name : evolved_) {
      std::vector<FieldView> k;
      for (int j = 0; j < i; ++j) k.push_back(k_[j].field(name).view());
      combine(stage_.field(name).view(), state.field(name).view(), dt, tableau_.a[i], k);
    }
    stage_.setTime(t + tableau_.c[i] * dt);
    rhs_->apply(t + tableau_.c[i] * dt, stage_, k_[i]);
  }
  for (const auto& name : evolved_) {
    std::vector<FieldView> k;
    for (int j = 0; j < s; ++j) k.push_back(k_[j].field(name).view());
    combine(result_.field(name).view(), state.field(name).view(), dt, tableau_.b, k);
    const std::int64_t bad = result_.field(name).firstNonFinite();
    if (bad >= 0) {
      StepResult r;
      r.status = StepStatus::Diverged;
      r.reason = "non-finite value in field '" + name + "' at local entity " + std::to_string(bad) + " after an " +
                 tableau_.name + " step of " + std::to_string(dt) + " from t = " + std::to_string(t);
      return r;
    }
  }
  for (const auto& name : evolved_) state.field(name).copyFrom(result_.field(name));
  StepResult r;
  r.dtTaken = dt;
  r.dtNext = dt;
  return r;
}

void registerSteppers() {
  timeSteppers().addIfAbsent("rk", "explicit Runge-Kutta (euler, ssprk2, ssprk3, rk4) over an RhsOperator",
                             [] { return std::make_unique<RungeKuttaStepper>(); });
  registerSurrogateStepper();
  registerClassicalStepper();
  registerHybridStepper();
  registerAssimilatingStepper();
}

namespace {
struct Registrar {
  Registrar() { registerSteppers(); }
};
const Registrar kRegistrar;
}  // namespace

}  // namespace lats::coupling
